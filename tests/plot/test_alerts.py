"""Alerts over time (behavemodel/plot/_alerts.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from behavemodel import reports
from behavemodel.exceptions import SchemaError
from behavemodel.models import BaselineDetector
from behavemodel.plot import alerts_over_time
from behavemodel.scoring import score_parquet


@pytest.fixture(scope="module")
def alerts(fleet: tuple[BaselineDetector, pa.Table]) -> pd.DataFrame:
    model, day = fleet
    return model.explain(day)


def test_one_band_per_host_first_on_top(alerts: pd.DataFrame) -> None:
    fig, ax = plt.subplots()
    assert alerts_over_time(alerts, ax=ax) is ax
    hosts = sorted(alerts["host_name"].unique())
    assert [t.get_text() for t in ax.get_yticklabels()] == hosts
    bottom, top = ax.get_ylim()
    assert bottom > top  # inverted: the first host on top
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == sorted(alerts["feature"].unique())
    points = sum(len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_sizes"))
    assert points >= len(alerts)
    assert ax.get_title().startswith(f"{len(alerts)} alerts on {len(hosts)} hosts")
    fig.canvas.draw()


def test_rows_with_several_events_draw_a_line_to_the_last(alerts: pd.DataFrame) -> None:
    ax = alerts_over_time(alerts)
    lines = [c for c in ax.collections if type(c).__name__ == "LineCollection"]
    assert lines  # the miner on worker-01 keeps connecting for hours


def test_chosen_hosts_and_inputs(alerts: pd.DataFrame, tmp_path: Path) -> None:
    ax = alerts_over_time(reports.alerts(alerts), hosts=["web-01", "quiet-01"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["web-01", "quiet-01"]
    path = tmp_path / "alerts.parquet"
    pq.write_table(pa.Table.from_pandas(alerts, preserve_index=False), path)
    ax = alerts_over_time(path)
    assert len(ax.get_yticklabels()) == alerts["host_name"].nunique()


def test_score_parquet_output(fleet: tuple[BaselineDetector, pa.Table], tmp_path: Path) -> None:
    model, day = fleet
    events = tmp_path / "day.parquet"
    pq.write_table(day, events)
    score_parquet(model, events, tmp_path / "alerts.parquet", progress=False)
    ax = alerts_over_time(tmp_path / "alerts.parquet")
    assert "alerts on" in ax.get_title()


def test_no_alerts_and_bad_input() -> None:
    empty = pd.DataFrame({"time": [], "host_name": [], "feature": []})
    ax = alerts_over_time(empty)
    assert any(t.get_text() == "no alerts" for t in ax.texts)
    ax.figure.canvas.draw()
    with pytest.raises(SchemaError, match="feature"):
        alerts_over_time(pd.DataFrame({"time": [], "host_name": []}))
    with pytest.raises(TypeError, match="alerts_over_time takes alert rows"):
        alerts_over_time(42)


def test_hostile_labels(
    drawn_texts: Callable[[Any], list[str]], check_safe: Callable[[list[str]], None]
) -> None:
    rows = pd.DataFrame(
        {
            "time": pd.to_datetime(["2024-01-01T00:00Z", "2024-01-01T01:00Z"]),
            "host_name": ["web $\\frac{1}{0}$ \x1b[2J", "db\n$x$"],
            "feature": ["Net$works$", "\u2028"],
            "score": [1.0, 0.7],
        }
    )
    check_safe(drawn_texts(alerts_over_time(rows)))
