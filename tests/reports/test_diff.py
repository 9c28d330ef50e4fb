"""DiffReport (behavemodel/reports/_diff.py)."""

from __future__ import annotations

import pyarrow as pa
import pytest

import behavemodel as bm
from behavemodel import reports
from behavemodel.models import BaselineDetector


@pytest.fixture(scope="module")
def candidate(hostile_model: BaselineDetector, hostile_events: pa.Table) -> BaselineDetector:
    return BaselineDetector(groups=dict(hostile_model.groups), min_span="2h").fit(hostile_events)


def test_additions_fail_the_gate(hostile_model: BaselineDetector, candidate: BaselineDetector):
    result = bm.diff(hostile_model, candidate)
    report = reports.diff(result)
    assert report.frame.equals(result.changes)
    assert report.summary.equals(result.summary)
    assert "--fail-on-new fails" in report.heading()
    text = report.to_text()
    assert "settings that differ" in text and "min_span" in text
    assert text.count("\nadded ") == result.added
    assert report.to_html().count("rgba(255,80,80,0.12)") == result.added


def test_removals_only_pass(hostile_model: BaselineDetector, candidate: BaselineDetector):
    report = reports.diff(bm.diff(candidate, hostile_model))
    assert report.heading().endswith("nothing new: the gate passes")
    assert "removed" in report.to_text()


def test_identical_baselines(hostile_model: BaselineDetector) -> None:
    report = reports.diff(bm.diff(hostile_model, hostile_model))
    assert str(report) == (
        "the candidate has 0 keys the approved baseline lacks and lacks 0 of its keys: the "
        "baselines hold the same keys: the gate passes"
    )
    assert len(report) == 0
    assert reports.diff(report) is report


def test_rejects_other_objects() -> None:
    with pytest.raises(TypeError, match="BaselineDiff"):
        reports.diff(object())
