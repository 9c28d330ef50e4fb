"""behavemodel.dask on a 2-worker LocalCluster: results equal the single-process ones.

The cluster uses worker processes (one thread each), so models, configurations
and Arrow tables really travel by pickling, as on a real cluster. It starts once
for the module (about half a second).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import behavemodel.dask as bmdask  # noqa: E402 - after the importorskip of the extra
from behavemodel import schema  # noqa: E402
from behavemodel.exceptions import SchemaError  # noqa: E402
from behavemodel.io import write_events  # noqa: E402
from behavemodel.models import BaselineDetector, NoEventsError, alerts, score_batch  # noqa: E402

FEATURES = ["NetworkProcesses", "ProcessOwners", "ParentNames", "NetworkPorts", "FileWriters"]
PARAMS: dict[str, Any] = {"features": FEATURES, "min_span": "6h", "novelty_threshold": 0.2}


def make_events(n: int, seed: int) -> pa.Table:
    """``n`` canonical events of 5 hosts over two days; the second half has odd ones."""
    rng = np.random.default_rng(seed)
    hosts = np.array(["web-01", "web-02", "db-01", "db-02", "bastion"])
    exes = np.array(["/usr/sbin/nginx", "/usr/bin/curl", "/usr/bin/psql", "/opt/app-2.3.1/srv"])
    kinds = np.array(["net_connect", "net_accept", "process_start", "file_write"])
    host, kind, exe = (rng.integers(0, len(v), n) for v in (hosts, kinds, exes))
    names = exes[exe].astype(object)
    names[(np.arange(n) > n // 2) & (rng.random(n) < 0.02)] = "/tmp/.x/nc"
    start = pd.Timestamp("2024-01-01", tz="UTC").value // 1000
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(
                np.sort(start + rng.integers(0, 2 * 86400 * 10**6, n)), unit="us", utc=True
            ),
            "host_name": hosts[host],
            "host_group": np.where(host < 2, "web", None),
            "event_type": kinds[kind],
            "success": True,
            "process_exe": names,
            "process_cmdline": [f"{e} -v" for e in names],
            "parent_exe": np.where(exe % 2 == 0, "/sbin/init", "/usr/sbin/nginx"),
            "user_name": np.where(exe == 2, "postgres", "www"),
            "net_family": np.where(kind < 2, "inet", None),
            "net_direction": np.where(kind == 0, "outbound", np.where(kind == 1, "inbound", None)),
            "dst_port": pd.array(np.where(kind < 2, 443 + exe % 2, 0), dtype="Int32"),
            "file_path": np.where(kind == 3, "/srv/app/current/config.yml", None),
            "event_id": [f"e{i}" for i in range(n)],
            "source_format": "canonical",
        }
    )
    frame.loc[kind >= 2, "dst_port"] = pd.NA
    return schema.conform(frame, fill_missing=True)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            worker_dashboard_address=":0",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def events() -> pa.Table:
    return make_events(4000, seed=3)


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory, events: pa.Table) -> Path:
    """One file of four row groups and one of two."""
    folder = tmp_path_factory.mktemp("dask-dump")
    write_events(events.slice(0, 2400), folder / "a.parquet", row_group_size=600)
    write_events(events.slice(2400), folder / "b.parquet", row_group_size=800)
    return folder


@pytest.fixture(scope="module")
def model(events: pa.Table) -> BaselineDetector:
    return BaselineDetector(**PARAMS).fit(events.slice(0, 2000))


def test_fit_from_files_equals_one_process(client: Any, events: pa.Table, dump: Path) -> None:
    fitted = bmdask.fit(dump, **PARAMS)
    single = BaselineDetector(**PARAMS).fit(events)
    assert fitted.stats_.equals(single.stats_)
    pd.testing.assert_frame_equal(fitted.convergence_report(), single.convergence_report())
    assert list(fitted.feature_names_in_) == list(single.feature_names_in_)
    np.testing.assert_array_equal(fitted.anomaly_score(events), single.anomaly_score(events))


def test_one_file_is_split_by_row_group(client: Any, dump: Path) -> None:
    columns = ["time", "host_name"]
    assert (
        bmdask._frame(dump / "a.parquet", "canonical", columns, [], {}, True, "t").npartitions == 4
    )
    assert (
        bmdask._frame(dump / "a.parquet", "canonical", columns, [], {}, False, "t").npartitions
        == 1
    )


def test_fit_from_a_dataframe_with_float_ports(client: Any, events: pa.Table) -> None:
    frame = events.to_pandas()  # pandas makes the nullable port a float: 443.0
    assert frame["dst_port"].dtype == np.float64
    ddf = dd.from_pandas(frame, npartitions=5)
    model = BaselineDetector(**PARAMS)
    fitted = bmdask.fit(ddf, model)
    assert not hasattr(model, "stats_")  # a template: fit returns a new detector
    assert fitted.stats_.equals(BaselineDetector(**PARAMS).fit(events).stats_)
    assert "443" in set(fitted.baseline_["key"].str.extract(r"port=(\d+)")[0].dropna())


def test_score_equals_score_batch(
    client: Any, model: BaselineDetector, events: pa.Table, dump: Path
) -> None:
    result = bmdask.score(model, dump)
    computed = result.compute()
    expected = score_batch(events, model).to_pandas(types_mapper=pd.ArrowDtype)
    assert len(expected) > 10
    # a wrong meta would be accepted silently: check it against what partitions give
    assert list(result.columns) == list(alerts.ALERT_COLUMNS)
    pd.testing.assert_series_equal(result.dtypes, computed.dtypes)
    pd.testing.assert_series_equal(computed.dtypes, bmdask.ALERTS_META.dtypes)
    order = ["event_id", "feature"]
    pd.testing.assert_frame_equal(
        computed.sort_values(order).reset_index(drop=True),
        expected.sort_values(order).reset_index(drop=True),
    )


def test_empty_partitions_keep_the_meta(
    client: Any, model: BaselineDetector, events: pa.Table
) -> None:
    quiet = events.slice(0, 500)  # learning rows: no deviation
    ddf = dd.from_pandas(schema.to_pandas(quiet), npartitions=2)
    computed = bmdask.score(model, ddf).compute()
    assert computed.empty
    pd.testing.assert_series_equal(computed.dtypes, bmdask.ALERTS_META.dtypes)


def test_all_rows_scores(
    client: Any, model: BaselineDetector, events: pa.Table, dump: Path
) -> None:
    result = bmdask.score(model, dump, all_rows=True)
    computed = result.compute()
    pd.testing.assert_series_equal(result.dtypes, computed.dtypes)
    pd.testing.assert_series_equal(computed.dtypes, bmdask.SCORES_META.dtypes)
    assert computed["event_id"].tolist() == events.column("event_id").to_pylist()
    np.testing.assert_array_equal(
        computed["score"].to_numpy(np.float64), model.anomaly_score(events)
    )


def test_json_lines_in_another_reader(client: Any, tmp_path: Path, events: pa.Table) -> None:
    part = events.slice(0, 300)
    path = tmp_path / "events.jsonl"
    with path.open("w") as handle:
        for row in part.to_pylist():
            row["time"] = row["time"].isoformat()
            handle.write(json.dumps(row) + "\n")
    fitted = bmdask.fit(path, **PARAMS)
    assert fitted.stats_.equals(BaselineDetector(**PARAMS).fit(part).stats_)


def test_errors(client: Any, tmp_path: Path, events: pa.Table) -> None:
    bad = tmp_path / "bad.parquet"
    pq.write_table(events.slice(0, 10).drop_columns(["user_name"]), bad)
    with pytest.raises(
        SchemaError,
        match=rf"{re.escape(str(bad))} has no column 'user_name' \(needed by ProcessOwners\)",
    ):
        bmdask.fit(bad, **PARAMS)
    ddf = dd.from_pandas(
        schema.to_pandas(events.slice(0, 10)).drop(columns=["user_name"]), npartitions=1
    )
    with pytest.raises(SchemaError, match="'user_name' \\(needed by ProcessOwners\\)"):
        bmdask.fit(ddf, **PARAMS)
    empty = dd.from_pandas(schema.to_pandas(events.slice(0, 0)), npartitions=1)
    with pytest.raises(NoEventsError, match="0 events"):
        bmdask.fit(empty, **PARAMS)
    with pytest.raises(TypeError, match="either a model or"):
        bmdask.fit(empty, BaselineDetector(), bucket="2h")


def test_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)
    with pytest.raises(ImportError, match=r"pip install 'behavemodel\[dask\]'"):
        bmdask._dask()
