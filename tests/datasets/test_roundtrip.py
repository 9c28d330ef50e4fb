"""Raw audit logs written by the simulator parse back into the simulated events.

Every canonical column is compared except ``source_format`` (``auditd`` versus
``canonical``) and ``host_group`` (the reader sets it to the host name; the
simulation knows the group). ``container_id`` is not in mainline audit logs, so the
reader must return it null, or equal when the optional CONTAINER_ID records are
written.
"""

from __future__ import annotations

import pandas as pd
import pytest

from behavemodel import schema as s
from behavemodel.datasets import Simulation, simulate_fleet
from behavemodel.io import iter_auditd, read_auditd

SKIP = {s.SOURCE_FORMAT, s.HOST_GROUP}


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate_fleet(hosts_per_group=1, days=0.75, seed=21, scenarios="all")


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    out = df.set_index(s.EVENT_ID).sort_index()
    return out.astype(object).where(out.notna(), None)


def compare(expected: pd.DataFrame, got: pd.DataFrame, *, container: str) -> None:
    exp = _normalise(expected)
    back = _normalise(got)
    assert len(back) == len(exp)
    assert back.index.equals(exp.index)
    problems = []
    for column in exp.columns:
        if column in SKIP:
            continue
        e, b = exp[column], back[column]
        if column == s.CONTAINER_ID and container == "null":
            bad = b.notna()
        else:
            bad = ~((e == b) | (e.isna() & b.isna()))
        if bad.any():
            first = bad[bad].index[0]
            problems.append(
                f"{column}: {int(bad.sum())} differ, e.g. {first}: {e[first]!r} != {b[first]!r}"
            )
    assert not problems, "\n".join(problems)


def test_audit_logs_read_back_as_the_simulated_events(tmp_path, sim: Simulation) -> None:
    sim.write_audit_logs(tmp_path, max_bytes=3_000_000)  # rotated files on busy hosts
    assert any(p.name == "audit.log.1" for p in tmp_path.rglob("audit.log.*"))
    back = read_auditd(tmp_path)
    compare(sim.to_pandas(), back, container="null")
    assert set(back[s.SOURCE_FORMAT].astype(str)) == {"auditd"}


def test_streaming_reader_gives_the_same(tmp_path, sim: Simulation) -> None:
    sim.write_audit_logs(tmp_path)
    batches = list(iter_auditd(tmp_path, batch_size=5000))
    df = pd.concat([s.to_pandas(pa_table(b)) for b in batches], ignore_index=True)
    compare(sim.to_pandas(), df, container="null")


def test_container_records_carry_the_container_id(tmp_path) -> None:
    sim = simulate_fleet(groups=["worker"], hosts_per_group=1, days=0.2, seed=4)
    sim.write_audit_logs(tmp_path, container_records=True)
    compare(sim.to_pandas(), read_auditd(tmp_path), container="equal")


def pa_table(batch):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    return pa.Table.from_batches([batch])
