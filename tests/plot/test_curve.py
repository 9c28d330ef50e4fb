"""Learning curves (behavemodel/plot/_curve.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from behavemodel.models import BaselineDetector, NotFittedError
from behavemodel.plot import CURVE_COLUMNS, learning_curve, learning_curve_data

Make = Callable[[list[dict[str, object]]], pa.Table]
T0 = pd.Timestamp("2024-01-01T00:00Z")


def owners(make: Make, spec: list[tuple[float, str, str]]) -> pa.Table:
    """process_start events from (hours, host, exe)."""
    return make(
        [
            {
                "time": T0 + pd.Timedelta(hours=h),
                "host_name": host,
                "event_type": "process_start",
                "process_exe": exe,
                "user_name": "root",
            }
            for h, host, exe in spec
        ]
    )


def final_rows(curve: pd.DataFrame) -> pd.DataFrame:
    return curve.groupby(["host_group", "feature"], sort=False).tail(1).reset_index(drop=True)


def test_last_point_equals_the_convergence_report(fleet: tuple[BaselineDetector, Any]) -> None:
    model, _ = fleet
    curve = learning_curve_data(model)
    assert tuple(curve.columns) == CURVE_COLUMNS
    report = model.convergence_report()
    joined = report.merge(final_rows(curve), on=["host_group", "feature"], suffixes=("", "_c"))
    assert len(joined) == len(report)
    for column in ("observations", "distinct_keys", "singletons", "span"):
        assert (joined[column] == joined[f"{column}_c"]).all(), column
    np.testing.assert_allclose(joined["novelty_rate"], joined["novelty_rate_c"], equal_nan=True)
    assert ((joined["state"] == "monitoring") == joined["converged"]).all()
    assert (joined["converged"] == joined["monitoring"]).all()


def test_curves_are_cumulative_and_bounded(fleet: tuple[BaselineDetector, Any]) -> None:
    model, _ = fleet
    curve = learning_curve_data(model, group="web")
    for _, part in curve.groupby("feature"):
        assert part["time"].is_monotonic_increasing
        assert (np.diff(part["observations"]) >= 0).all()
        assert (np.diff(part["distinct_keys"]) >= 0).all()
        assert (part["singletons"] <= part["distinct_keys"]).all()
        assert (part["distinct_keys"] <= part["observations"]).all()
    assert set(curve["host_group"]) == {"web"}


def test_every_bucket_counted_exactly(make_events: Make) -> None:
    # a: hours 0 and 3 on web-01; b: hour 1 on web-01 and web-02 (two observations at once);
    # c: once at hour 2 and never again.
    events = owners(
        make_events,
        [
            *[(0, "web-01", "/a"), (1, "web-01", "/b"), (1, "web-02", "/b")],
            *[(2, "web-01", "/c"), (3, "web-01", "/a"), (3.5, "web-01", "/a")],
        ],
    )
    model = BaselineDetector(
        features=["ProcessOwners"], groups={"web-01": "web", "web-02": "web"}, min_span="2h"
    ).fit(events)
    curve = learning_curve_data(model)
    assert curve["observations"].tolist() == [1, 3, 4, 5]
    assert curve["distinct_keys"].tolist() == [1, 2, 3, 3]
    assert curve["singletons"].tolist() == [1, 1, 2, 1]
    assert curve["time"].iloc[-1] == T0 + pd.Timedelta(hours=3.5)  # the last event, not the bucket
    assert curve["span"].tolist()[:3] == [pd.Timedelta(hours=h) for h in (1, 2, 3)]


def test_monitoring_starts_after_the_last_relapse(make_events: Make) -> None:
    spec = [(h, "web-01", "/a") for h in range(12)] + [(6, "web-01", "/new")]
    model = BaselineDetector(features=["ProcessOwners"], min_span="1h", novelty_threshold=0.1).fit(
        owners(make_events, spec)
    )
    curve = learning_curve_data(model)
    converged = curve["converged"].tolist()
    assert converged[1] and not converged[6]  # converged, then a new key, then again
    since = curve.loc[curve["monitoring"], "time"].min()
    relapse_end = curve.loc[~curve["converged"], "time"].max()
    assert since > relapse_end
    assert since == T0 + pd.Timedelta(hours=9)  # end of bucket 8: 1 singleton / 10 = 0.1
    assert curve["monitoring"].iloc[-1]


def test_from_events_matches_the_model(
    fleet: tuple[BaselineDetector, Any], make_events: Make
) -> None:
    model, _ = fleet
    from behavemodel.datasets import load_sample

    week = load_sample("fleet-week")
    pd.testing.assert_frame_equal(
        learning_curve_data(model, week.events, group="db", feature="NetworkPorts"),
        learning_curve_data(model, group="db", feature="NetworkPorts"),
    )


def test_max_points_keeps_the_last_point(fleet: tuple[BaselineDetector, Any]) -> None:
    model, _ = fleet
    full = learning_curve_data(model, group="web", feature="NetworkProcesses")
    thin = learning_curve_data(model, group="web", feature="NetworkProcesses", max_points=10)
    assert len(thin) <= 11
    pd.testing.assert_series_equal(
        thin.iloc[-1].drop("monitoring"), full.iloc[-1].drop("monitoring"), check_names=False
    )
    merged = thin.merge(full, on="time", suffixes=("", "_full"))
    assert len(merged) == len(thin)
    assert (merged["observations"] == merged["observations_full"]).all()


def test_errors(fleet: tuple[BaselineDetector, Any]) -> None:
    model, _ = fleet
    with pytest.raises(ValueError, match="group 'nope' is not in this model; it has 'bastion'"):
        learning_curve_data(model, group="nope")
    with pytest.raises(ValueError, match="feature 'Nope'"):
        learning_curve_data(model, feature="Nope")
    with pytest.raises(ValueError, match="max_points"):
        learning_curve_data(model, max_points=1)
    with pytest.raises(NotFittedError):
        learning_curve_data(BaselineDetector())


def test_plot_marks_threshold_span_and_monitoring(fleet: tuple[BaselineDetector, Any]) -> None:
    model, _ = fleet
    fig, ax = plt.subplots()
    assert learning_curve(model, "web", "NetworkProcesses", ax=ax) is ax
    assert ax.get_title() == "web / NetworkProcesses: monitoring"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == ["distinct keys", "novelty rate (Good-Turing)", "threshold 0.01"]
    assert "minimum span" in labels
    assert any(label.startswith("monitoring since ") for label in labels)
    (twin,) = [a for a in fig.axes if a is not ax]
    assert twin.get_yscale() == "log"
    fig.canvas.draw()


def test_plot_of_a_pair_still_learning(fleet: tuple[BaselineDetector, Any]) -> None:
    model, _ = fleet
    learning = model.convergence_report().query("state == 'learning'").iloc[0]
    ax = learning_curve(model, learning["host_group"], learning["feature"])
    assert "still learning" in ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert not any(label.startswith("monitoring since") for label in labels)


def test_plot_default_feature_and_hostile_labels(
    hostile_model: BaselineDetector,
    drawn_texts: Callable[[Any], list[str]],
    check_safe: Callable[[list[str]], None],
) -> None:
    group = hostile_model.convergence_report()["host_group"].iloc[0]
    ax = learning_curve(hostile_model, group)
    assert "NetworkProcesses" in ax.get_title()
    check_safe(drawn_texts(ax))
