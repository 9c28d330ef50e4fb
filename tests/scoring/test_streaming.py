"""fit_parquet against fit, and score_parquet's fast paths against the reference path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from behavemodel.exceptions import SchemaError
from behavemodel.models import BaselineDetector, NoEventsError, _fused, _kernels, _stats
from behavemodel.scoring import _fit, _score, fit_parquet, score_parquet

FEATURES = ["NetworkProcesses", "ProcessOwners", "ParentNames", "NetworkPorts", "FileWriters"]
FAST = FEATURES[:-1]  # FileWriters keys relative paths: the reference path scores them


@pytest.mark.parametrize("batch_size", [400, 2500, 100_000])
def test_fit_parquet_equals_fit(
    batch_size: int,
    events: pa.Table,
    dump: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_fit, "_MERGE_ROWS", 1000)  # merge several times on the way
    monkeypatch.setattr(_fit, "_CHUNK_ROWS", 1000)
    params = {"features": FEATURES, "min_span": "6h", "novelty_threshold": 0.2}
    streamed = fit_parquet(
        BaselineDetector(**params), dump["folder"], batch_size=batch_size, progress=False
    )
    whole = BaselineDetector(**params).fit(events)
    assert streamed.stats_.equals(whole.stats_)
    assert list(streamed.feature_names_in_) == list(whole.feature_names_in_)
    np.testing.assert_array_equal(streamed.anomaly_score(events), whole.anomaly_score(events))


def test_fit_parquet_refuses_empty_dumps_and_bad_batch_sizes(
    tmp_path: Path, events: pa.Table
) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(events.slice(0, 0), path)
    with pytest.raises(NoEventsError, match="0 events"):
        fit_parquet(BaselineDetector(features=FAST), path, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        fit_parquet(BaselineDetector(features=FAST), path, batch_size=0)
    with pytest.raises(SchemaError, match="process_exe"):
        fit_parquet(BaselineDetector(features=FAST), [events.drop_columns(["process_exe"])])


def test_counting_on_two_threads_gives_the_same_statistics(
    events: pa.Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = BaselineDetector(features=FEATURES, min_span="6h").fit(events)
    monkeypatch.setattr(_stats, "_THREAD_ROWS", 10)
    assert (
        BaselineDetector(features=FEATURES, min_span="6h").fit(events).stats_.equals(model.stats_)
    )


@pytest.mark.parametrize(
    "compiled",
    [
        False,
        pytest.param(
            True, marks=pytest.mark.skipif(not _kernels.COMPILED, reason="numba is not installed")
        ),
    ],
)
def test_score_parquet_fast_path_equals_reference(
    tmp_path: Path,
    events: pa.Table,
    dump: dict[str, Any],
    compiled: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_kernels, "COMPILED", compiled)
    monkeypatch.setattr(_score, "NUMPY_BELOW_ROWS", 0)  # no engine chosen by size
    model = BaselineDetector(features=FAST, min_span="6h", novelty_threshold=0.2)
    model.fit(events.slice(0, 3000))
    results = []
    for enabled in (True, False):
        monkeypatch.setattr(_fused, "ENABLED", enabled)
        for one_row_per in ("event", "key"):
            dest = tmp_path / f"{enabled}-{one_row_per}.parquet"
            summary = score_parquet(
                model,
                dump["folder"],
                dest,
                batch_size=700,
                all_rows=True,
                one_row_per=one_row_per,  # type: ignore[arg-type]
                progress=False,
            )
            assert summary.alerts > 10
            results.append((pq.read_table(dest), pq.read_table(summary.scores_path), summary.rows))
    for fast, reference in zip(results[:2], results[2:], strict=True):
        assert fast[0].equals(reference[0])
        assert fast[1].equals(reference[1])
        assert fast[2] == reference[2]


def _no_compiled_loop(function: Any) -> Any:
    raise AssertionError(f"compiled loop {function.__qualname__} called under numpy_loops")


def test_small_dumps_run_the_numpy_loops_everywhere_with_equal_results(
    tmp_path: Path,
    events: pa.Table,
    dump: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Below NUMPY_BELOW_ROWS in a process without numba, no compiled loop runs, in
    any thread (the counting pool included), and the outputs are the same."""
    from behavemodel.features import _loops

    monkeypatch.setattr(_stats, "_THREAD_ROWS", 10)  # count on the second thread too
    params = {"features": FAST, "min_span": "6h", "novelty_threshold": 0.2}
    outputs = []
    for small in (False, True):
        with monkeypatch.context() as patch:
            if small:
                patch.setattr(_loops, "numba_loaded", lambda: False)
                patch.setattr(_loops, "_jit", _no_compiled_loop)
                patch.setattr(_kernels, "_jit", _no_compiled_loop)
            else:
                patch.setattr(_score, "NUMPY_BELOW_ROWS", 0)
                patch.setattr(_fit, "NUMPY_BELOW_ROWS", 0)
            model = fit_parquet(BaselineDetector(**params), dump["paths"][0], progress=False)
            dest = tmp_path / f"{small}.parquet"
            summary = score_parquet(model, dump["folder"], dest, all_rows=True, progress=False)
            assert summary.alerts > 10
            outputs.append((model.stats_, pq.read_table(dest), pq.read_table(summary.scores_path)))
    for before, after in zip(*outputs, strict=True):
        assert before.equals(after)


def test_streams_and_large_dumps_keep_the_default_loops(monkeypatch: pytest.MonkeyPatch) -> None:
    from behavemodel.features import _loops

    monkeypatch.setattr(_loops, "numba_loaded", lambda: False)
    for rows in (None, _score.NUMPY_BELOW_ROWS):
        with _score.loops_for(rows):
            assert _loops.use_compiled(True)
    with _score.loops_for(_score.NUMPY_BELOW_ROWS - 1):
        assert not _loops.use_compiled(True)
