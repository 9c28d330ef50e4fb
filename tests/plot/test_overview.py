"""Baseline overview heat map (behavemodel/plot/_overview.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest

from behavemodel.models import BaselineDetector
from behavemodel.plot import baseline_matrix, baseline_overview


def test_matrix_covers_every_group_and_orders_shared_rows_first(
    fleet: tuple[BaselineDetector, Any],
) -> None:
    model, _ = fleet
    matrix = baseline_matrix(model)
    groups = sorted(model.convergence_report()["host_group"].unique())
    assert list(matrix.columns) == groups
    shared = (matrix > 0).sum(axis=1).to_numpy()
    assert (np.diff(shared) <= 0).all()
    keys = model.baseline_.query("feature == 'NetworkProcesses'")
    assert set(matrix.index) == {v[0] for v in keys["key_values"]}
    assert matrix.to_numpy().max() == 1  # one host per group in the sample


def test_matrix_values_and_components(fleet: tuple[BaselineDetector, Any]) -> None:
    model, _ = fleet
    keys = model.baseline_.query("feature == 'NetworkProcesses'")
    observations = baseline_matrix(model, value="observations")
    assert observations.to_numpy().sum() == keys["observations"].sum()
    directions = baseline_matrix(model, component=1)
    assert set(directions.index) <= {"outbound", "inbound", "listen"}
    ports = baseline_matrix(model, "NetworkPorts", component=-1)
    assert "22" in ports.index


def test_matrix_errors(fleet: tuple[BaselineDetector, Any]) -> None:
    model, _ = fleet
    with pytest.raises(ValueError, match="'value' parameter"):
        baseline_matrix(model, value="keys")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no feature 'Nope'"):
        baseline_matrix(model, "Nope")
    with pytest.raises(ValueError, match=r"2 key part\(s\) of NetworkProcesses"):
        baseline_matrix(model, component=2)
    with pytest.raises(ValueError, match="max_rows"):
        baseline_overview(model, max_rows=0)


def test_heat_map(fleet: tuple[BaselineDetector, Any]) -> None:
    model, _ = fleet
    fig, ax = plt.subplots()
    assert baseline_overview(model, max_rows=10, value="observations", ax=ax) is ax
    n = len(baseline_matrix(model))
    assert ax.get_title() == f"NetworkProcesses: exe per group (top 10 of {n})"
    assert len(ax.get_yticklabels()) == 10
    assert len(ax.images) == 1
    assert ax.images[0].norm.__class__.__name__ == "LogNorm"
    fig.canvas.draw()


def test_empty_feature(fleet: tuple[BaselineDetector, Any]) -> None:
    model, _ = fleet
    empty = BaselineDetector(features=["FileWriters"], groups=dict(model.groups))
    from behavemodel.datasets import load_sample

    empty.fit(load_sample("fleet-week").events.slice(0, 10))
    ax = baseline_overview(empty, "FileWriters")
    assert any(t.get_text() == "nothing learned" for t in ax.texts)


def test_hostile_labels(
    hostile_model: BaselineDetector,
    drawn_texts: Callable[[Any], list[str]],
    check_safe: Callable[[list[str]], None],
) -> None:
    check_safe(drawn_texts(baseline_overview(hostile_model)))
