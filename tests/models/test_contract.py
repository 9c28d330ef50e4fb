"""The scikit-learn estimator contract, for every detector.

``parametrize_with_checks`` runs scikit-learn's own checks. Those that feed
numeric arrays cannot apply to a model over event tables: they are listed in
:data:`EXPECTED_FAILED` with the reason, and the property each one guards is
tested on event tables below.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import sklearn.exceptions
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from behavemodel import schema
from behavemodel.exceptions import SchemaError
from behavemodel.models import BaselineDetector, NotFittedError

Make = Callable[..., pa.Table]

_NUMERIC = (
    "fits numeric arrays; BaselineDetector learns from canonical event tables and refuses "
    "other input with SchemaError. The property is tested on events in "
    "tests/models/test_contract.py::{}"
)
_WORDING = (
    "expects scikit-learn's check_array wording for a numeric-array problem; "
    "BaselineDetector refuses any non-event input with a SchemaError (a ValueError) naming "
    "the event table it expects, and empty event tables with NoEventsError (tests/models/"
    "test_baseline.py::test_errors)"
)

EXPECTED_FAILED: dict[str, str] = {
    "check_fit_score_takes_y": _NUMERIC.format("test_fit_returns_self_and_keeps_params"),
    "check_estimators_overwrite_params": _NUMERIC.format("test_fit_returns_self_and_keeps_params"),
    "check_dont_overwrite_parameters": _NUMERIC.format("test_fit_returns_self_and_keeps_params"),
    "check_estimators_fit_returns_self": _NUMERIC.format("test_fit_returns_self_and_keeps_params"),
    "check_readonly_memmap_input": _NUMERIC.format("test_input_is_not_modified"),
    "check_n_features_in_after_fitting": _NUMERIC.format("test_n_features_in"),
    "check_n_features_in": _NUMERIC.format("test_n_features_in"),
    "check_positive_only_tag_during_fit": _NUMERIC.format("test_string_flavours_agree")
    + " (event tables have no sign)",
    "check_estimators_dtypes": _NUMERIC.format("test_string_flavours_agree"),
    "check_dtype_object": _NUMERIC.format("test_string_flavours_agree"),
    "check_pipeline_consistency": _NUMERIC.format("test_pipeline_consistency"),
    "check_estimators_pickle": _NUMERIC.format("test_pickle_round_trip"),
    "check_f_contiguous_array_estimator": _NUMERIC.format("test_string_flavours_agree")
    + " (memory layout of numeric arrays does not arise)",
    "check_outliers_fit_predict": _NUMERIC.format("test_outlier_api"),
    "check_outliers_train": _NUMERIC.format("test_outlier_api")
    + "; it also expects a contamination-sized share of outliers on Gaussian blobs, which a "
    "set model does not produce by design",
    "check_classifier_data_not_an_array": _NUMERIC.format("test_string_flavours_agree"),
    "check_methods_sample_order_invariance": _NUMERIC.format("test_subset_and_order_invariance"),
    "check_methods_subset_invariance": _NUMERIC.format("test_subset_and_order_invariance"),
    "check_dict_unchanged": _NUMERIC.format("test_methods_do_not_change_state"),
    "check_fit_idempotent": _NUMERIC.format("test_fit_idempotent"),
    "check_fit_check_is_fitted": _NUMERIC.format("test_fit_check_is_fitted"),
    "check_fit2d_predict1d": _NUMERIC.format("test_n_features_in")
    + " (a 1-D array is not an event table either)",
    "check_complex_data": _WORDING,
    "check_estimators_empty_data_messages": _WORDING,
    "check_fit2d_1sample": _WORDING,
    "check_fit2d_1feature": _WORDING,
}


def _expected_failed(estimator: Any) -> dict[str, str]:
    return EXPECTED_FAILED


@parametrize_with_checks([BaselineDetector()], expected_failed_checks=_expected_failed)
def test_sklearn_compatible(estimator: Any, check: Callable[[Any], None]) -> None:
    check(estimator)


# -- the same properties, on event tables ---------------------------------------------


def _rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for hour in range(30):
        for host in ("web-01", "web-02"):
            rows.append(
                {
                    "host_name": host,
                    "host_group": "web",
                    "minutes": hour * 60,
                    "process_exe": "/usr/sbin/nginx",
                    "user_name": "www-data",
                    "parent_exe": "/sbin/init",
                }
            )
        rows.append(
            {
                "host_name": "db-01",
                "host_group": "db",
                "minutes": hour * 60 + 1,
                "event_type": "net_accept",
                "net_family": "inet",
                "net_direction": "inbound",
                "dst_port": 5432,
                "process_exe": "/usr/bin/postgres",
                "user_name": "postgres",
            }
        )
    return rows


@pytest.fixture(scope="module")
def train(make_events: Make) -> pa.Table:
    return make_events(_rows())


@pytest.fixture(scope="module")
def test_events(make_events: Make) -> pa.Table:
    return make_events(
        [
            {
                "host_name": "web-01",
                "host_group": "web",
                "process_exe": "/usr/sbin/nginx",
                "user_name": "www-data",
                "parent_exe": "/sbin/init",
            },
            {
                "host_name": "web-01",
                "host_group": "web",
                "process_exe": "/bin/sh",
                "user_name": "www-data",
                "parent_exe": "/usr/sbin/nginx",
            },
            {
                "host_name": "web-02",
                "host_group": "web",
                "process_exe": "/usr/bin/postgres",
                "user_name": "postgres",
                "parent_exe": "/sbin/init",
            },
            {
                "host_name": "db-01",
                "host_group": "db",
                "event_type": "net_connect",
                "net_family": "inet",
                "net_direction": "outbound",
                "dst_port": 443,
                "process_exe": "/usr/bin/curl",
                "user_name": "postgres",
            },
            {"host_name": "db-01", "host_group": "db", "event_type": "other"},
        ],
        start="2024-01-03T00:00:00Z",
    )


METHODS = ("predict", "decision_function", "score_samples", "anomaly_score")


def test_fit_returns_self_and_keeps_params(train: pa.Table) -> None:
    estimator = BaselineDetector(min_span="2h", max_age="30D")
    before = {
        k: (v if not isinstance(v, list) else list(v)) for k, v in estimator.get_params().items()
    }
    assert estimator.fit(train, y=None) is estimator
    assert estimator.partial_fit(train, None) is estimator
    assert estimator.get_params() == before
    public = {k for k in vars(estimator) if not k.startswith("_")}
    assert {k for k in public if not k.endswith("_")} == set(before)


def test_methods_do_not_change_state(train: pa.Table, test_events: pa.Table) -> None:
    estimator = BaselineDetector().fit(train)
    before = dict(vars(estimator))
    for method in (*METHODS, "explain", "convergence_report"):
        getattr(estimator, method)(*([test_events] if method != "convergence_report" else []))
        assert vars(estimator).keys() == before.keys()
        assert all(vars(estimator)[k] is before[k] for k in before), method


def test_input_is_not_modified(train: pa.Table, test_events: pa.Table) -> None:
    frame = schema.to_pandas(test_events)
    copy = frame.copy(deep=True)
    estimator = BaselineDetector().fit(schema.to_pandas(train))
    estimator.explain(frame)
    assert frame.equals(copy)


def test_pickle_round_trip(train: pa.Table, test_events: pa.Table) -> None:
    estimator = BaselineDetector().fit(train)
    loaded = pickle.loads(pickle.dumps(estimator))
    for method in METHODS:
        np.testing.assert_array_equal(
            getattr(loaded, method)(test_events), getattr(estimator, method)(test_events)
        )


def test_fit_idempotent(train: pa.Table, test_events: pa.Table) -> None:
    estimator = BaselineDetector()
    first = estimator.fit(train).anomaly_score(test_events)
    stats = estimator.stats_
    second = estimator.fit(train).anomaly_score(test_events)
    np.testing.assert_array_equal(first, second)
    assert estimator.stats_.equals(stats)


def test_subset_and_order_invariance(train: pa.Table, test_events: pa.Table) -> None:
    estimator = BaselineDetector().fit(train)
    order = np.array([3, 0, 4, 2, 1])
    for method in METHODS:
        full = getattr(estimator, method)(test_events)
        shuffled = getattr(estimator, method)(test_events.take(pa.array(order)))
        np.testing.assert_array_equal(shuffled, full[order])
        halves = [getattr(estimator, method)(test_events.slice(i, 2)) for i in (0, 2, 4)]
        np.testing.assert_array_equal(np.concatenate(halves), full)
    reversed_fit = BaselineDetector().fit(train.take(pa.array(np.arange(train.num_rows)[::-1])))
    assert reversed_fit.stats_.equals(estimator.stats_)


def test_fit_check_is_fitted(train: pa.Table, test_events: pa.Table) -> None:
    estimator = BaselineDetector()
    with pytest.raises(sklearn.exceptions.NotFittedError):
        check_is_fitted(estimator)
    for method in (*METHODS, "explain"):
        with pytest.raises(NotFittedError, match=f"so {method} has no baseline"):
            getattr(estimator, method)(test_events)
    check_is_fitted(estimator.fit(train))


def test_n_features_in(train: pa.Table, test_events: pa.Table) -> None:
    estimator = BaselineDetector(features=["ProcessOwners"]).fit(train)
    assert estimator.n_features_in_ == len(estimator.feature_names_in_)
    assert list(estimator.feature_names_in_) == [
        "time",
        "host_name",
        "event_type",
        "process_exe",
        "user_name",
    ]
    with pytest.raises(SchemaError, match="without the column"):
        estimator.predict(test_events.drop_columns(["process_exe"]))
    with pytest.raises(SchemaError, match="Got a ndarray of shape"):
        estimator.predict(np.zeros(5))


def test_outlier_api(train: pa.Table, test_events: pa.Table) -> None:
    estimator = BaselineDetector()
    predicted = clone(estimator).fit_predict(test_events)
    np.testing.assert_array_equal(
        predicted, clone(estimator).fit(test_events).predict(test_events)
    )
    estimator.fit(train)
    decision = estimator.decision_function(test_events)
    np.testing.assert_array_equal(
        decision, estimator.score_samples(test_events) - estimator.offset_
    )
    np.testing.assert_array_equal(estimator.predict(test_events), np.where(decision < 0, -1, 1))
    assert estimator.predict(test_events).tolist() == [1, -1, -1, -1, 1]
    assert estimator.predict(test_events).dtype.kind == "i"
    scores = estimator.anomaly_score(test_events)
    assert ((scores >= 0) & (scores <= 1)).all() and scores.dtype == np.float64


def test_pipeline_consistency(train: pa.Table, test_events: pa.Table) -> None:
    pipeline = make_pipeline(BaselineDetector()).fit(train)
    direct = BaselineDetector().fit(train)
    np.testing.assert_array_equal(pipeline.predict(test_events), direct.predict(test_events))
    np.testing.assert_array_equal(
        pipeline.score_samples(test_events), direct.score_samples(test_events)
    )


def test_string_flavours_agree(train: pa.Table, test_events: pa.Table) -> None:
    estimator = BaselineDetector().fit(train)
    expected = estimator.anomaly_score(test_events)

    def recast(table: pa.Table, kind: str) -> pa.Table:
        columns = []
        for field, column in zip(table.schema, table.columns, strict=True):
            if pa.types.is_dictionary(field.type):
                column = column.cast(pa.string())
            if pa.types.is_string(column.type):
                if kind == "large":
                    column = column.cast(pa.large_string())
                elif kind == "dictionary":
                    column = column.dictionary_encode()
            columns.append(column)
        return pa.table(columns, names=table.column_names)

    for kind in ("plain", "large", "dictionary"):
        np.testing.assert_array_equal(estimator.anomaly_score(recast(test_events, kind)), expected)
        assert BaselineDetector().fit(recast(train, kind)).stats_.equals(estimator.stats_)
    frame = schema.to_pandas(test_events).astype({"process_exe": object, "host_name": object})
    np.testing.assert_array_equal(estimator.anomaly_score(frame), expected)
