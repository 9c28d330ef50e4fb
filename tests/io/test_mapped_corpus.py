"""laurel's own JSON output read with schema="laurel" equals read_auditd on the raw log.

Each ``laurel/*.json`` in the shared corpus is what laurel wrote for the ``*.txt``
beside it (see ``../shared/corpus/auditlogs/SOURCES.md``), so the two readers must
agree on every canonical column both can fill. Two are left out, on purpose:
``source_format`` (it names the reader) and ``parent_exe``/``parent_name``, which
laurel takes from its own process table (``PARENT_INFO``) and the raw reader from
the log's earlier events; they need not agree.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from behavemodel import schema as s
from behavemodel.io import read_auditd
from behavemodel.io._mapped import ReadReport, read_events

pytestmark = pytest.mark.corpus

#: The laurel goldens of the corpus (laurel/<name>.json beside laurel/<name>.txt).
GOLDENS = (
    "record-adjntpval",
    "record-anom-promiscuous",
    "record-execve",
    "record-ptrace",
    "record-syscall-key",
    "record-syscall-nullkey",
    "record-uringop",
    "record-weblogic",
)
NOT_COMPARED = (s.SOURCE_FORMAT, s.PARENT_EXE, s.PARENT_NAME)


def _rows(df: pd.DataFrame) -> list[dict[str, object]]:
    columns = [c for c in df.columns if c not in NOT_COMPARED]
    return [
        {c: None if pd.isna(v) else v for c, v in zip(columns, row, strict=True)}
        for row in df[columns].itertuples(index=False)
    ]


@pytest.mark.parametrize("name", GOLDENS)
def test_laurel_json_matches_the_raw_log(corpus_dir: Path, name: str) -> None:
    golden = corpus_dir / "laurel" / f"{name}.json"
    report = ReadReport()
    from_json = read_events(golden, schema="laurel", report=report)
    from_log = read_auditd(golden.with_suffix(".txt"))
    assert report.rows_reported == 0
    assert len(from_json) == len(from_log) > 0
    for got, want in zip(_rows(from_json), _rows(from_log), strict=True):
        assert got == want
    assert set(from_json[s.SOURCE_FORMAT]) == {"laurel"}


def test_every_laurel_golden_is_compared(corpus_dir: Path) -> None:
    present = sorted(p.stem for p in (corpus_dir / "laurel").glob("*.json"))
    assert present == sorted(GOLDENS)
