"""ConvergenceReport (behavemodel/reports/_convergence.py)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from behavemodel import reports
from behavemodel.models import BaselineDetector, NotFittedError


def test_frame_is_the_models_report(hostile_model: BaselineDetector) -> None:
    report = reports.convergence(hostile_model)
    pd.testing.assert_frame_equal(report.frame, hostile_model.convergence_report())
    assert report.to_pandas() is report.frame
    assert len(report) == len(report.frame)
    assert "novelty threshold 0.01" in report.heading()


def test_learning_rows_are_explained_and_shaded(training_events: pa.Table) -> None:
    model = BaselineDetector(min_span="30D").fit(training_events)
    report = reports.convergence(model)
    text = report.to_text()
    assert "why still learning" in text
    assert "watched for" in text
    assert "0 of 5 (group, feature) pairs monitoring, 5 learning" in text
    assert report.to_html().count("rgba(255,200,0,0.12)") == 5


def test_without_learning_rows_there_is_no_why_column(hostile_model: BaselineDetector) -> None:
    assert "why still learning" not in str(reports.convergence(hostile_model))


def test_empty_table() -> None:
    report = reports.ConvergenceReport(pd.DataFrame({"state": pd.Series([], dtype=object)}))
    assert "no (group, feature) pairs" in str(report)
    assert "no (group, feature) pairs" in report._repr_html_()


def test_unfitted_model_raises_the_models_error() -> None:
    with pytest.raises(NotFittedError):
        reports.convergence(BaselineDetector())
