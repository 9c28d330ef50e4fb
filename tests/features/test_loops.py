"""The per-event coding loops against their numpy twins."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from behavemodel.features import _loops

needs_numba = pytest.mark.skipif(not _loops.COMPILED, reason="numba is not installed")
TWINS = [False, pytest.param(True, marks=needs_numba)]


@pytest.mark.parametrize("compiled", TWINS)
@pytest.mark.parametrize("nulls", [0.0, 0.4, 1.0])
def test_count_codes_counts_valid_indices(compiled: bool, nulls: float) -> None:
    rng = np.random.default_rng(7)
    for length in (0, 1, 7, 8, 9, 1000):
        for offset in (0, 3, 11):
            values = rng.integers(0, 5, length + offset)
            mask = rng.random(length + offset) < nulls
            for dtype in (pa.int8(), pa.int32(), pa.int64()):
                array = pa.array(values, dtype, mask=mask).slice(offset)
                found = _loops.count_codes(array, 6, compiled=compiled)
                valid = [v for v in array.to_pylist() if v is not None]
                expected = np.bincount(np.array(valid, dtype=np.intp), minlength=6)
                assert found.dtype == np.int64
                np.testing.assert_array_equal(found, expected)


@needs_numba
def test_count_codes_twins_agree_on_null_slots_out_of_range() -> None:
    # the values under nulls may be anything: neither twin reads them as codes
    data = pa.py_buffer(np.array([1, 900, 0, -5, 1], dtype=np.int32).tobytes())
    bitmap = pa.py_buffer(np.packbits([1, 0, 1, 0, 1], bitorder="little").tobytes())
    array = pa.Array.from_buffers(pa.int32(), 5, [bitmap, data], null_count=2)
    for compiled in (False, True):
        assert _loops.count_codes(array, 2, compiled=compiled).tolist() == [1, 2]


@pytest.mark.parametrize("compiled", TWINS)
def test_fill_codes_of_all_null_indices(compiled: bool) -> None:
    array = pa.nulls(20, pa.int32()).slice(3)
    out = np.zeros(len(array), dtype=np.int32)
    _loops.fill_codes(array, out, compiled=compiled)
    assert out.tolist() == [-1] * 17


def _fill_loop(data: np.ndarray, bitmap: np.ndarray, offset: int, out: np.ndarray) -> None:
    """Named as the features' loop, in another module: it must not be taken for it."""
    out[:] = 7


@needs_numba
def test_a_loop_named_as_another_modules_loop_is_compiled_on_its_own() -> None:
    ours = _loops._jit(_fill_loop)
    theirs = _loops._jit(_loops._fill_loop)
    assert ours is not theirs
    out = np.zeros(3, np.int32)
    ours(np.zeros(3, np.int32), np.zeros(1, np.uint8), 0, out)
    assert out.tolist() == [7, 7, 7]
    theirs(np.arange(3, dtype=np.int32), np.full(1, 0b101, np.uint8), 0, out)
    assert out.tolist() == [0, -1, 2]


def test_loops_for_picks_numpy_for_small_inputs_before_numba_is_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_loops, "numba_loaded", lambda: False)
    with _loops.loops_for(9, below=10):
        assert not _loops.use_compiled(True)
        assert _loops.use_compiled(True, compiled=True)  # a forced engine stays forced
        with _loops.loops_for(None, below=10):  # an inner default keeps the outer choice
            assert not _loops.use_compiled(True)
    for rows in (None, 10, 11):  # unknown size, or not small: the default
        with _loops.loops_for(rows, below=10):
            assert _loops.use_compiled(True)
    assert _loops.use_compiled(True)  # the choice ends with its block
    monkeypatch.setattr(_loops, "numba_loaded", lambda: True)  # start-up already paid
    with _loops.loops_for(1, below=10):
        assert _loops.use_compiled(True)


def test_numpy_loops_hold_per_thread() -> None:
    import threading

    seen: list[bool] = []
    with _loops.numpy_loops():
        worker = threading.Thread(target=lambda: seen.append(_loops.use_compiled(True)))
        worker.start()
        worker.join()
        assert not _loops.use_compiled(True)
    assert seen == [True]  # a thread started elsewhere keeps the default
