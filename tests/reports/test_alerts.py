"""AlertReport (behavemodel/reports/_alerts.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from behavemodel import reports
from behavemodel.exceptions import SchemaError
from behavemodel.models import BaselineDetector
from behavemodel.reports import DISPLAY_ROWS


@pytest.fixture(scope="module")
def alert_rows(hostile_model: BaselineDetector, hostile_events: pa.Table) -> pd.DataFrame:
    return hostile_model.explain(hostile_events)


def test_same_report_from_frame_table_and_parquet(
    alert_rows: pd.DataFrame, tmp_path: Path
) -> None:
    table = pa.Table.from_pandas(alert_rows, preserve_index=False)
    path = tmp_path / "alerts.parquet"
    pq.write_table(table, path)
    texts = {
        str(reports.alerts(alert_rows)),
        str(reports.alerts(table)),
        str(reports.alerts(path)),
        str(reports.alerts(str(path))),
    }
    assert len(texts) == 1
    report = reports.alerts(alert_rows)
    assert reports.alerts(report) is report
    assert report.frame is alert_rows


def test_text_and_html_columns(alert_rows: pd.DataFrame) -> None:
    report = reports.alerts(alert_rows)
    header = report.to_text().split("\n")[1].split()
    assert header == ["time", "host", "group", "feature", "score", "key", "ancestry"]
    markup = report.to_html()
    for heading in ("reason", "command line", "events"):
        assert f">{heading}</th>" in markup


def test_heading_counts_features_and_hosts(alert_rows: pd.DataFrame) -> None:
    heading = reports.alerts(alert_rows).heading()
    assert heading.startswith(f"{len(alert_rows)} alerts on 1 host (web-01<script>")
    assert "ProcessOwners 2" in heading


def test_repr_shows_at_most_display_rows() -> None:
    n = DISPLAY_ROWS + 7
    rows = pd.DataFrame(
        {
            "time": pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC"),
            "host_name": "web-01",
            "feature": "NetworkProcesses",
            "score": 1.0,
        }
    )
    report = reports.alerts(rows)
    assert repr(report).endswith("… 7 more rows")
    assert "… 7 more rows" in report._repr_html_()
    assert len(str(report).split("\n")) == n + 2


def test_empty_and_invalid_input() -> None:
    empty = pd.DataFrame({"time": [], "host_name": [], "feature": []})
    assert str(reports.alerts(empty)) == "no alerts"
    assert reports.alerts(empty).to_html() == "<p>no alerts</p>"
    with pytest.raises(SchemaError, match=r"\['host_name', 'feature'\]"):
        reports.alerts(pd.DataFrame({"time": []}))
    with pytest.raises(TypeError, match="Got list instead"):
        reports.alerts([1, 2])
