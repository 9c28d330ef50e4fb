"""The compiled inner loops (numba) against their numpy twins, and the code plumbing."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pytest

from behavemodel.features._codes import combine_codes, encode
from behavemodel.models import StatsConfig, _count, _kernels, partial_stats

needs_numba = pytest.mark.skipif(not _kernels.COMPILED, reason="numba is not installed")


@needs_numba
@pytest.mark.parametrize("seed", range(3))
def test_apply_scores_twins_agree(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m, k = 500, 300, 40
    rows = np.sort(rng.choice(n, m, replace=False))
    index = rng.integers(0, k, m)
    score = rng.random(k)
    deviating = rng.random(k) < 0.2
    start = rng.random(n)
    a, b = start.copy(), start.copy()
    hits_compiled = _kernels.apply_scores(rows, index, score, deviating, a, compiled=True)
    hits_numpy = _kernels.apply_scores(rows, index, score, deviating, b, compiled=False)
    np.testing.assert_array_equal(hits_compiled, hits_numpy)
    np.testing.assert_array_equal(a, b)
    assert (a >= start).all()


@needs_numba
@pytest.mark.parametrize(
    ("m", "size", "n_buckets"),
    [(0, 5, 3), (1, 1, 1), (1000, 30, 1), (5000, 200, 48), (3000, 4000, 700)],
)
def test_count_cells_twins_agree(m: int, size: int, n_buckets: int) -> None:
    rng = np.random.default_rng(m + size)
    index = rng.integers(0, size, m)
    time = rng.integers(0, 10**9, m)
    bucket = rng.integers(0, n_buckets, m)
    compiled = _kernels.count_cells(index, size, time, bucket, n_buckets, compiled=True)
    plain = _kernels.count_cells(index, size, time, bucket, n_buckets, compiled=False)
    for name, x, y in zip(compiled._fields, compiled, plain, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=name)
    if m:
        assert compiled.events.sum() == m
        lengths = compiled.run_end - compiled.run_start + 1
        observed = np.bincount(compiled.run_owner, weights=lengths)
        expected = [len(set(bucket[index == c])) for c in compiled.codes]
        np.testing.assert_array_equal(observed, expected)


def test_count_cells_falls_back_when_cells_do_not_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_kernels, "_cells_limit", lambda n: 10)
    counts = _kernels.count_cells(
        np.array([0, 1, 1, 2]), 3, np.array([5, 6, 7, 8]), np.array([0, 5, 6, 9]), 10
    )
    assert counts.run_start.tolist() == [0, 5, 9] and counts.run_end.tolist() == [0, 6, 9]


@pytest.fixture
def events() -> pa.Table:
    from behavemodel import schema

    rng = np.random.default_rng(7)
    n = 3000
    kinds = np.array(["net_connect", "net_accept", "process_start", "file_write"])
    return schema.conform(
        pa.table(
            {
                "time": pa.array(rng.integers(0, 3 * 86400 * 10**6, n)).cast(
                    pa.timestamp("us", "UTC")
                ),
                "host_name": pa.array(rng.choice(["a", "b", "c", "d"], n)),
                "event_type": pa.array(kinds[rng.integers(0, 4, n)]),
                "process_exe": pa.array(rng.choice(["/bin/sh", "/usr/bin/nc", None], n)),
                "process_name": pa.array(rng.choice(["sh", "nc"], n)),
                "user_name": pa.array(rng.choice(["root", "www", None], n)),
                "parent_exe": pa.array(rng.choice(["/sbin/init", None], n)),
                "net_direction": pa.array(rng.choice(["outbound", "inbound"], n)),
                "dst_port": pa.array(rng.choice([22, 443, 8080], n), pa.int32()),
                "file_path": pa.array(rng.choice(["/etc/x", "rel/y", None], n)),
                "cwd": pa.array(rng.choice(["/srv", None], n)),
                "event_id": pa.array([str(i) for i in range(n)]),
                "source_format": pa.array(["canonical"] * n),
            }
        ),
        fill_missing=True,
    )


@needs_numba
def test_partial_stats_do_not_depend_on_the_kernels(
    events: pa.Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = StatsConfig(bucket="2h")
    compiled = partial_stats(events, config)
    monkeypatch.setattr(_kernels, "COMPILED", False)
    assert partial_stats(events, config).equals(compiled)


def test_tuple_ranks_when_the_product_is_too_big(monkeypatch: pytest.MonkeyPatch) -> None:
    values = [pa.array(["b", "a", "c"]), pa.array(["y", "x"])]
    parts = [np.array([0, 1, 0, 2, 1]), np.array([1, 0, 0, 1, 0])]
    expected = _count.tuple_ranks(parts, values)
    monkeypatch.setattr(_count, "_RANK_LIMIT", 1.0)
    fallback = _count.tuple_ranks(parts, values)
    np.testing.assert_array_equal(
        np.argsort(expected, kind="stable"), np.argsort(fallback, kind="stable")
    )
    # equal tuples share a rank; order is by component strings
    assert fallback.tolist() == [1, 0, 2, 3, 0]  # (b,x) (a,y) (b,y) (c,x) (a,y)


Encoded = Callable[[pa.Array], tuple[np.ndarray, pa.Array]]


@pytest.mark.parametrize(
    "column",
    [
        pa.array([3, None, 2**31 - 1, 5, 3], pa.int32()),
        pa.array([5_000_000_000, None, 5_000_000_003], pa.int64()),
        pa.array([-(2**31), 7, None], pa.int32()),
        pa.array([1, 2, 2], pa.uint8()),
        pa.array([None, None], pa.int16()),
        pa.array([10**12, 1, None], pa.int64()),  # a wide range: hashed
        pa.DictionaryArray.from_arrays(pa.array([0, None, 1, 1], pa.int8()), pa.array(["a", "b"])),
        pa.DictionaryArray.from_arrays(pa.array([1, None, 0], pa.uint32()), pa.array(["a", "b"])),
        pa.DictionaryArray.from_arrays(
            pa.array([0, 1, 2, 3], pa.int32()), pa.array(["a", None, "a", "c"])
        ),
        pa.chunked_array(
            [
                pa.DictionaryArray.from_arrays(pa.array([0, 1]), pa.array(["x", "y"])),
                pa.DictionaryArray.from_arrays(pa.array([1, None]), pa.array(["z", "x"])),
            ]
        ),
        pa.array(["q", None, "r", "q"]).slice(1),
        pa.array([None, None, None], pa.string()),  # no value at all
        pa.DictionaryArray.from_arrays(pa.array([None, None], pa.int32()), pa.array(["b", "a"])),
    ],
)
def test_encode_round_trips(column: pa.Array | pa.ChunkedArray) -> None:
    codes, values = encode(column)
    expected = column.to_pylist()
    got = [None if c < 0 else values[int(c)].as_py() for c in codes]
    assert got == [None if v is None else str(v) for v in expected]
    assert len(set(values.to_pylist())) == len(values) and values.null_count == 0
    assert codes.dtype.kind == "i"


def test_combine_codes_folds_and_numbers_in_lexicographic_order() -> None:
    rng = np.random.default_rng(1)
    for sizes in ([5], [5, 7], [3, 1, 4], [1 << 21, 5, 1 << 21], [100, 321, 2, 5]):
        columns = [rng.integers(0, s, 4000) for s in sizes]
        ids, parts = combine_codes(columns, sizes)
        for column, part in zip(columns, parts, strict=True):
            np.testing.assert_array_equal(part[ids], column)
        tuples = sorted(set(zip(*[c.tolist() for c in columns], strict=True)))
        assert [tuple(int(p[i]) for p in parts) for i in range(len(tuples))] == tuples


def test_encode_keeps_the_dictionary_of_a_column_without_values() -> None:
    column = pa.DictionaryArray.from_arrays(
        pa.array([None] * 5, pa.int32()), pa.array(["b", None, "a", "b"])
    )
    codes, values = encode(column)
    assert codes.tolist() == [-1] * 5
    assert values.to_pylist() == ["b", "a"]  # as with values: distinct, no null


@pytest.mark.parametrize("compiled", [False, pytest.param(True, marks=needs_numba)])
def test_fold_codes(compiled: bool) -> None:
    rng = np.random.default_rng(4)
    first = rng.integers(0, 50, 1000)
    part = rng.integers(0, 7, 1000).astype(np.int32)
    folded = _kernels.fold_codes(first, part, 7, compiled=compiled)
    assert folded.dtype == np.int64
    np.testing.assert_array_equal(folded, first * 7 + part)
    again = _kernels.fold_codes(folded, part, 7, out=folded, compiled=compiled)
    assert again is folded
    np.testing.assert_array_equal(folded, (first * 7 + part) * 7 + part)
    assert len(_kernels.fold_codes(first[:0], part[:0], 7, compiled=compiled)) == 0
    narrow = _kernels.fold_codes(first, part, 7, out=np.empty(1000, np.int32), compiled=compiled)
    assert narrow.dtype == np.int32
    np.testing.assert_array_equal(narrow, first * 7 + part)


def test_mixed_radix_is_int32_while_the_codes_fit() -> None:
    first = np.array([0, 1, 2], dtype=np.int32)
    part = np.array([4, 0, 3], dtype=np.int32)
    small = _count.mixed_radix(first, [part, part], [3, 5, 5])
    assert small.dtype == np.int32 and small.tolist() == [24, 25, 68]
    large = _count.mixed_radix(first, [part, part], [3, 2**20, 2**20])
    assert large.dtype == np.int64
    expected = [
        (int(f) * 2**20 + int(p)) * 2**20 + int(p) for f, p in zip(first, part, strict=True)
    ]
    assert large.tolist() == expected
    alone = _count.mixed_radix(first, [], [3])
    assert alone is first  # no part: no copy


@pytest.mark.parametrize("compiled", [False, pytest.param(True, marks=needs_numba)])
def test_count_cells_takes_int32_codes_and_buckets(compiled: bool) -> None:
    rng = np.random.default_rng(9)
    index = rng.integers(0, 300, 5000)
    time = rng.integers(0, 10**9, 5000)
    bucket = rng.integers(0, 40, 5000)
    wide = _kernels.count_cells(index, 300, time, bucket, 40, compiled=compiled)
    narrow = _kernels.count_cells(
        index.astype(np.int32), 300, time, bucket.astype(np.int32), 40, compiled=compiled
    )
    for name, x, y in zip(wide._fields, wide, narrow, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=name)
        assert y.dtype == np.int64, name


def test_recode_keeps_int32_codes() -> None:
    from behavemodel.features._codes import _recode

    codes = np.array([0, 2, -1, 1, 2], dtype=np.int32)
    values = pa.array(["/usr/bin/a", "/usr/bin/b", "/usr/bin/a"])
    recoded, distinct, emptied = _recode(codes, values, None)
    assert recoded.dtype == np.int32 and recoded.tolist() == [0, 0, -1, 1, 0]
    assert distinct.to_pylist() == ["/usr/bin/a", "/usr/bin/b"] and not emptied


@needs_numba
@pytest.mark.parametrize(("m", "n_codes", "n_buckets"), [(20000, 150, 130), (500, 65, 65)])
def test_count_cells_twins_agree_across_tiles(m: int, n_codes: int, n_buckets: int) -> None:
    # more codes and buckets than one 64 x 64 tile of the cells' transposition
    rng = np.random.default_rng(m)
    index = rng.integers(0, n_codes, m) * 3
    time = rng.integers(0, 10**9, m)
    bucket = np.minimum(rng.geometric(0.05, m) - 1, n_buckets - 1)
    compiled = _kernels.count_cells(index, 3 * n_codes, time, bucket, n_buckets, compiled=True)
    plain = _kernels.count_cells(index, 3 * n_codes, time, bucket, n_buckets, compiled=False)
    for name, x, y in zip(compiled._fields, compiled, plain, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=name)


def test_counting_runs_counts_in_order_whichever_thread_takes_them() -> None:
    import threading
    import time

    from behavemodel.models._stats import _Counting

    started = threading.Event()

    def slow(i: int) -> tuple[int, str]:
        started.set()
        time.sleep(0.2)
        return i, threading.current_thread().name

    def fast(i: int) -> tuple[int, str]:
        return i, threading.current_thread().name

    with _Counting(10**9) as counting:
        if counting.pool is None:
            pytest.skip("one CPU: no second thread")
        counting.submit(None, slow, 0)
        started.wait()
        for i in range(1, 4):
            counting.submit(f"f{i}", fast, i)
        results = counting.results()
    assert [f for f, _ in results] == [None, "f1", "f2", "f3"]
    assert [p[0] for _, p in results] == [0, 1, 2, 3]
    here = threading.current_thread().name
    assert results[0][1][1] != here
    assert all(p[1] == here for _, p in results[1:])
