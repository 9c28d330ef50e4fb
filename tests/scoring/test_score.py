"""Tests for behavemodel.scoring: score_parquet against the in-memory results."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from behavemodel import schema
from behavemodel.exceptions import SchemaError
from behavemodel.io import write_events
from behavemodel.models import BaselineDetector, alerts, score_batch
from behavemodel.scoring import SCORES_SCHEMA, ScoreSummary, score_parquet, scores_path_for

OPTIONAL_ALERT_COLUMNS = [alerts.ANCESTRY] if hasattr(alerts, "ANCESTRY") else []


def _without_ancestry(table: pa.Table) -> pa.Table:
    drop = [c for c in OPTIONAL_ALERT_COLUMNS if c in table.column_names]
    return table.drop_columns(drop)


def test_alert_rows_equal_score_batch_on_everything(
    tmp_path: Path, model: BaselineDetector, events: pa.Table, dump: dict[str, Any]
) -> None:
    dest = tmp_path / "alerts.parquet"
    summary = score_parquet(model, dump["folder"], dest, batch_size=500, progress=False)
    expected = score_batch(events, model)
    got = pq.read_table(dest)
    assert expected.num_rows > 20  # the data have deviations to find
    assert got.schema.equals(alerts.ALERT_SCHEMA)
    assert got.schema.metadata == alerts.ALERT_SCHEMA.metadata
    assert got.equals(expected)
    # columns read lazily for deviating rows only are filled in from the files
    assert got.column("process_cmdline").null_count == 0
    assert got.column("process_pid").null_count == 0
    assert summary.rows == events.num_rows
    assert summary.alerts == got.num_rows
    assert sum(summary.alerts_by_feature.values()) == got.num_rows
    assert summary.files == tuple(str(p) for p in dump["paths"])


def test_one_row_per_key_equals_explain(
    tmp_path: Path, model: BaselineDetector, events: pa.Table, dump: dict[str, Any]
) -> None:
    dest = tmp_path / "keys.parquet"
    summary = score_parquet(
        model, dump["paths"], dest, batch_size=333, one_row_per="key", progress=False
    )
    expected = pa.Table.from_pandas(model.explain(events), preserve_index=False)
    got = pq.read_table(dest)
    assert got.num_rows == summary.alerts > 0
    assert got.schema.equals(alerts.ALERT_SCHEMA)
    assert got.schema.metadata == alerts.ALERT_SCHEMA.metadata
    expected = _without_ancestry(expected).cast(_without_ancestry(got).schema)
    assert _without_ancestry(got).equals(expected)
    assert int(pq.read_table(dest).column("events").to_numpy().sum()) == len(
        model.explain(events, one_row_per="event")
    )


def test_all_rows_scores_in_read_order(
    tmp_path: Path, model: BaselineDetector, events: pa.Table, dump: dict[str, Any]
) -> None:
    dest = tmp_path / "out" / "alerts.parquet"
    summary = score_parquet(model, dump["folder"], dest, all_rows=True, progress=False)
    assert summary.scores_path == str(scores_path_for(dest))
    scores = pq.read_table(summary.scores_path)
    assert scores.schema.equals(SCORES_SCHEMA)
    assert scores.column("event_id").to_pylist() == events.column("event_id").to_pylist()
    np.testing.assert_array_equal(scores.column("score").to_numpy(), model.anomaly_score(events))
    assert summary.deviating_events == int((model.anomaly_score(events) >= 0.5).sum())


def test_all_rows_to_a_chosen_path(
    tmp_path: Path, model: BaselineDetector, dump: dict[str, Any]
) -> None:
    target = tmp_path / "every-event.parquet"
    summary = score_parquet(
        model, dump["paths"][0], tmp_path / "a.parquet", all_rows=target, progress=False
    )
    assert summary.scores_path == str(target)
    assert pq.read_metadata(target).num_rows == summary.rows == 2500


def test_glob_list_and_batches_agree(
    tmp_path: Path, model: BaselineDetector, events: pa.Table, dump: dict[str, Any]
) -> None:
    by_glob = score_parquet(
        model, str(dump["folder"] / "part-*.parquet"), tmp_path / "g.parquet", progress=False
    )
    in_memory = score_parquet(
        model, iter(events.to_batches(max_chunksize=900)), tmp_path / "m.parquet"
    )
    assert by_glob.rows == in_memory.rows == events.num_rows
    a = pq.read_table(tmp_path / "g.parquet")
    b = pq.read_table(tmp_path / "m.parquet")
    assert a.equals(b)


def test_counts_per_event_type(
    tmp_path: Path, model: BaselineDetector, events: pa.Table, dump: dict[str, Any]
) -> None:
    summary = score_parquet(model, dump["folder"], tmp_path / "a.parquet", progress=False)
    expected = pd.Series(events.column("event_type").to_pylist()).value_counts().to_dict()
    assert summary.rows_by_event_type == dict(sorted(expected.items()))
    assert isinstance(summary, ScoreSummary)
    assert summary.peak_rss is None or summary.peak_rss > 0
    assert f"Scored {events.num_rows:,} events from 3 file(s)" in str(summary)


def test_hive_partition_gives_the_group(tmp_path: Path, events: pa.Table) -> None:
    plain = events.drop_columns(["host_group"])
    folder = tmp_path / "by-group"
    for group, hosts in {"frontend": ["web-01", "web-02", "web-03"], "db": ["db-01"]}.items():
        keep = pa.compute.is_in(plain.column("host_name"), pa.array(hosts))
        part = folder / f"host_group={group}"
        part.mkdir(parents=True)
        pq.write_table(plain.filter(keep), part / "events.parquet")
    model = BaselineDetector(features=["ProcessOwners"], alert_while_learning=True).fit(
        plain.slice(0, 10).append_column("host_group", pa.array(["frontend"] * 10))
    )
    score_parquet(model, folder, tmp_path / "a.parquet", progress=False)
    found = pq.read_table(tmp_path / "a.parquet").to_pandas()
    groups = dict(zip(found["host_name"], found["host_group"], strict=True))
    assert groups["db-01"] == "db" and groups["web-02"] == "frontend"


def test_batches_are_bounded(
    tmp_path: Path, model: BaselineDetector, dump: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    original = BaselineDetector._score_table

    def spy(self: BaselineDetector, table: pa.Table, **kwargs: Any) -> Any:
        seen.append(table.num_rows)
        return original(self, table, **kwargs)

    monkeypatch.setattr(BaselineDetector, "_score_table", spy)
    score_parquet(model, dump["folder"], tmp_path / "a.parquet", batch_size=256, progress=False)
    assert max(seen) <= 256
    assert sum(seen) == 6000


def test_alert_columns_of_a_row_group_are_decoded_once(
    tmp_path: Path,
    model: BaselineDetector,
    events: pa.Table,
    dump: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Batches of half a row group that both deviate continue one read of its slices."""
    from behavemodel.scoring import _read

    monkeypatch.setattr(_read, "_FETCH_ROWS", 100)
    decoded: dict[tuple[int, int], int] = {}
    original = pq.ParquetFile.iter_batches

    def counting(self: pq.ParquetFile, *args: Any, **kwargs: Any) -> Any:
        (group,) = kwargs["row_groups"]
        for chunk in original(self, *args, **kwargs):
            key = (id(self), group)  # one reader per file
            decoded[key] = decoded.get(key, 0) + chunk.num_rows
            yield chunk

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", counting)
    dest = tmp_path / "alerts.parquet"
    score_parquet(model, dump["folder"], dest, batch_size=350, progress=False)  # 2 per group
    assert pq.read_table(dest).equals(score_batch(events, model))
    assert len(decoded) > 4  # several row groups deviate
    assert max(decoded.values()) <= 700  # the row group size: no slice decoded twice


def test_missing_column_names_file_and_feature(
    tmp_path: Path, model: BaselineDetector, events: pa.Table
) -> None:
    good, bad = tmp_path / "good.parquet", tmp_path / "bad.parquet"
    pq.write_table(events.slice(0, 100), good)
    pq.write_table(events.slice(0, 100).drop_columns(["net_direction"]), bad)
    dest = tmp_path / "alerts.parquet"
    with pytest.raises(SchemaError) as caught:
        score_parquet(model, [good, bad], dest, progress=False)
    message = str(caught.value)
    assert str(bad) in message and "'net_direction'" in message
    assert "needed by NetworkProcesses" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.parquet", "good.parquet"]


def test_failure_leaves_no_partial_output(
    tmp_path: Path, model: BaselineDetector, events: pa.Table
) -> None:
    good = tmp_path / "a.parquet"
    write_events(events.slice(0, 3000), good)
    broken = tmp_path / "b.parquet"  # time as text: the file opens, its batches cannot be scored
    pq.write_table(events.slice(0, 10).set_column(0, "time", pa.array(["yesterday"] * 10)), broken)
    dest = tmp_path / "out" / "alerts.parquet"
    with pytest.raises(
        SchemaError, match=rf"^{re.escape(str(broken))}: .*timestamp 'time' column"
    ):
        score_parquet(model, [good, broken], dest, all_rows=True, progress=False)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_other_schemas_go_through_iter_events(
    tmp_path: Path, model: BaselineDetector, events: pa.Table
) -> None:
    lines = tmp_path / "events.jsonl"
    part = events.slice(3000, 400)
    rows = part.to_pylist()
    with lines.open("w") as handle:
        for row in rows:
            row["time"] = row["time"].isoformat()
            handle.write(json.dumps(row) + "\n")
    summary = score_parquet(model, lines, tmp_path / "a.parquet", progress=False)
    assert summary.rows == 400
    expected = score_batch(part, model)
    got = pq.read_table(tmp_path / "a.parquet")
    assert got.column("event_id").to_pylist() == expected.column("event_id").to_pylist()
    assert got.column("score").equals(expected.column("score"))


def test_unknown_schema_is_refused(
    tmp_path: Path, model: BaselineDetector, dump: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="schema"):
        score_parquet(model, dump["folder"], tmp_path / "a.parquet", schema="nope")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, "'batch_size' parameter of score_parquet must be a positive"),
        ({"one_row_per": "host"}, "'one_row_per' parameter of score_parquet must be"),
        ({"all_rows": 3}, "'all_rows' parameter of score_parquet must be True, False or a"),
    ],
)
def test_parameter_errors(
    tmp_path: Path,
    model: BaselineDetector,
    dump: dict[str, Any],
    kwargs: dict[str, Any],
    match: str,
) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        score_parquet(model, dump["folder"], tmp_path / "a.parquet", **kwargs)


def test_unfitted_model_and_missing_source(tmp_path: Path, dump: dict[str, Any]) -> None:
    from behavemodel.models import NotFittedError

    with pytest.raises(NotFittedError, match="score_parquet"):
        score_parquet(BaselineDetector(), dump["folder"], tmp_path / "a.parquet")
    fitted = BaselineDetector(features=["ProcessOwners"]).fit(
        schema.conform(
            pd.DataFrame(
                {
                    "time": pd.to_datetime(["2024-01-01"], utc=True),
                    "host_name": ["a"],
                    "event_type": ["process_start"],
                    "process_exe": ["/bin/sh"],
                    "event_id": ["x"],
                    "source_format": ["canonical"],
                }
            ),
            fill_missing=True,
        )
    )
    with pytest.raises(FileNotFoundError, match="No such file"):
        score_parquet(fitted, tmp_path / "nothing-here", tmp_path / "a.parquet")
    with pytest.raises(FileNotFoundError, match="No file matches"):
        score_parquet(fitted, str(tmp_path / "*.parquet"), tmp_path / "a.parquet")


def test_progress_bar_only_when_asked(
    tmp_path: Path,
    model: BaselineDetector,
    dump: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    score_parquet(model, dump["folder"], tmp_path / "a.parquet", progress=True)
    assert "scoring" in capsys.readouterr().err
    score_parquet(model, dump["folder"], tmp_path / "b.parquet")  # stderr is not a terminal
    assert capsys.readouterr().err == ""
