"""The one-pass scorer against the reference path, and its kernels against their numpy twins."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from behavemodel import schema
from behavemodel.features import Extractor, GroupMap
from behavemodel.models import BaselineDetector, _fused, _kernels

needs_numba = pytest.mark.skipif(not _kernels.COMPILED, reason="numba is not installed")
FEATURES = ["NetworkProcesses", "ProcessOwners", "ParentNames", "NetworkPorts"]
TWINS = [False, pytest.param(True, marks=needs_numba)]


def _events(seed: int, n: int, *, dictionary: bool) -> pa.Table:
    """Events with nulls, fallbacks, failures, terminals, unknown hosts and odd ports."""
    rng = np.random.default_rng(seed)

    def pick(values: list[Any], p: list[float] | None = None) -> list[Any]:
        return [values[i] for i in rng.choice(len(values), n, p=p)]

    kinds = ["net_connect", "net_accept", "net_listen", "process_start", "file_write"]
    table = pa.table(
        {
            "time": pa.array(np.sort(rng.integers(0, 4 * 86400 * 10**6, n))).cast(
                pa.timestamp("us", "UTC")
            ),
            "host_name": pa.array(pick(["a1", "a2", "b1", "b2", "c1", None], [0.2] * 5 + [0.0])),
            "host_group": pa.array(pick(["a", "b", None, ""])),
            "event_type": pa.array(pick(kinds)),
            "success": pa.array(pick([True, True, True, False, None])),
            "exit_code": pa.array(pick([0, 0, -115, None]), pa.int64()),
            "process_exe": pa.array(
                pick(["/bin/sh", "/usr/bin/nc", "/usr/lib/app-1.2.3/bin/app", None, "/tmp/x"])
            ),
            "process_name": pa.array(pick(["sh", "nc", None])),
            "user_name": pa.array(pick(["root", "www", None])),
            "user_uid": pa.array(pick(["0", "33", None])),
            "parent_exe": pa.array(pick(["/sbin/init", "/usr/sbin/sshd", None])),
            "parent_name": pa.array(pick(["init", None])),
            "net_family": pa.array(pick(["inet", "inet6", "unix", None])),
            "net_direction": pa.array(pick(["outbound", "inbound", "listen", None])),
            "dst_port": pa.array(pick([22, 443, 8080, None, 65535]), pa.int32()),
            "tty": pa.array(pick([None, None, "pts0", "tty1", "?"])),
            "file_path": pa.array(pick(["/etc/x", "rel/y", None])),
            "cwd": pa.array(pick(["/srv", None])),
            "event_id": pa.array([f"e{i}" for i in range(n)]),
            "source_format": pa.array(["canonical"] * n),
        }
    )
    table = schema.conform(table, fill_missing=True)
    if dictionary:
        for i, field in enumerate(table.schema):
            if pa.types.is_string(field.type) and field.name not in ("event_id",):
                table = table.set_column(i, field.name, table.column(i).dictionary_encode())
    return table


def _compare(model: BaselineDetector, table: pa.Table, monkeypatch: pytest.MonkeyPatch) -> None:
    scores, found = model.anomaly_score(table), model.explain(table, one_row_per="event")
    monkeypatch.setattr(_fused, "ENABLED", False)
    np.testing.assert_array_equal(model.anomaly_score(table), scores)
    pd.testing.assert_frame_equal(model.explain(table, one_row_per="event"), found)
    monkeypatch.setattr(_fused, "ENABLED", True)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dictionary", [False, True])
@pytest.mark.parametrize("compiled", TWINS)
def test_fused_scores_and_alerts_equal_the_reference_path(
    seed: int, dictionary: bool, compiled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_kernels, "COMPILED", compiled)
    monkeypatch.setattr(_kernels, "_SPLIT_ROWS", 500)  # two threads on these small batches
    learn = _events(seed, 3000, dictionary=dictionary)
    model = BaselineDetector(
        features=FEATURES,
        min_span="1h",
        novelty_threshold=0.5,
        alert_while_learning=bool(seed % 2),
    ).fit(learn)
    table = _events(seed + 100, 2000, dictionary=dictionary)
    assert (
        _fused.score_fused(
            model._baseline,
            model._events(table, model.config_, reset=False, who="t"),
            model.config_,
        )
        is not None
    )
    _compare(model, table, monkeypatch)
    _compare(model, table.slice(7, 900), monkeypatch)  # offsets into the Arrow buffers
    _compare(model, pa.concat_tables([table.slice(0, 500), table.slice(500)]), monkeypatch)
    _compare(model, table.slice(0, 0), monkeypatch)


def test_tables_of_reordered_dictionaries_are_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    # each row group of a dump has the same values in another order: the per-value
    # tables of the last batch are reordered, not computed again, and scores do not change
    model = BaselineDetector(features=FEATURES, min_span="1h", novelty_threshold=0.5)
    model.fit(_events(3, 3000, dictionary=True))
    plain = _events(103, 2000, dictionary=False)

    def encoded(table: pa.Table) -> pa.Table:
        for i, field in enumerate(table.schema):
            if pa.types.is_string(field.type) and field.name != "event_id":
                table = table.set_column(i, field.name, table.column(i).dictionary_encode())
        return table

    first = encoded(plain)
    second = encoded(plain.take(pa.array(np.arange(plain.num_rows)[::-1])))
    assert (
        not first.column("process_exe")
        .chunk(0)
        .dictionary.equals(second.column("process_exe").chunk(0).dictionary)
    )
    reordered: list[bool] = []
    original = _fused._reordered

    def spy(*args: Any) -> Any:
        found = original(*args)
        reordered.append(found is not None)
        return found

    monkeypatch.setattr(_fused, "_reordered", spy)
    _compare(model, first, monkeypatch)
    _compare(model, second, monkeypatch)
    assert any(reordered)
    fresh = _fused.score_fused(
        model._baseline,
        model._events(second, model.config_, reset=False, who="t"),
        model.config_,
    )
    model._baseline.__dict__.pop(_fused._CACHE)  # the same batch, every table computed anew
    again = _fused.score_fused(
        model._baseline,
        model._events(second, model.config_, reset=False, who="t"),
        model.config_,
    )
    assert fresh is not None and again is not None
    for x, y in zip(fresh, again, strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize(
    "params",
    [
        {"groups": GroupMap.per_host()},
        {"groups": GroupMap.from_regex(r"^([a-z])")},
        {"groups": GroupMap.from_mapping({"a1": "x", "b2": "x"})},
        {
            "features": [
                Extractor(
                    "Where",
                    keys=["process_exe", "dst_port"],
                    where={"net_family": ["inet", None], "dst_port": [22, 443]},
                ),
                Extractor("Users", keys=["user_name"], interactive="exclude"),
            ]
        },
    ],
)
def test_fused_follows_groups_and_custom_extractors(
    params: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = BaselineDetector(min_span="1h", novelty_threshold=0.5, **params)
    model.fit(_events(1, 3000, dictionary=True))
    _compare(model, _events(2, 2000, dictionary=True), monkeypatch)


def test_relative_paths_use_the_reference_path(monkeypatch: pytest.MonkeyPatch) -> None:
    model = BaselineDetector(features=["FileWriters"], min_span="1h").fit(
        _events(3, 2000, dictionary=False)
    )
    table = model._events(_events(4, 500, dictionary=False), model.config_, reset=False, who="t")
    assert _fused.score_fused(model._baseline, table, model.config_) is None
    _compare(model, _events(4, 500, dictionary=False), monkeypatch)


def test_lookup_tables_are_not_pickled() -> None:
    import pickle

    model = BaselineDetector(features=["ProcessOwners"], min_span="1h")
    model.fit(_events(5, 1000, dictionary=False))
    model.anomaly_score(_events(6, 100, dictionary=False))
    assert _fused._CACHE in model._baseline.__dict__
    copy = pickle.loads(pickle.dumps(model))
    assert _fused._CACHE not in copy._baseline.__dict__
    table = _events(6, 100, dictionary=False)
    np.testing.assert_array_equal(copy.anomaly_score(table), model.anomaly_score(table))


# -- the kernels and their numpy twins ----------------------------------------------------
@needs_numba
@pytest.mark.parametrize("seed", range(3))
def test_score_events_twins_agree(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[np.ndarray, _kernels.ScoreTables]] = []
    original = _kernels.score_events

    def spy(codes: np.ndarray, tables: _kernels.ScoreTables, **kwargs: Any) -> Any:
        seen.append((codes.copy(), tables))
        return original(codes, tables, **kwargs)

    monkeypatch.setattr(_fused, "score_events", spy)
    model = BaselineDetector(
        features=FEATURES, min_span="1h", novelty_threshold=0.5, alert_while_learning=True
    )
    model.fit(_events(seed, 2000, dictionary=True))
    model.anomaly_score(_events(seed + 1, 3000, dictionary=True))
    codes, tables = seen[-1]
    monkeypatch.setattr(_kernels, "_SPLIT_ROWS", 100)
    compiled = _kernels.score_events(codes, tables, compiled=True)
    plain = _kernels.score_events(codes, tables, compiled=False)
    for x, y in zip(compiled, plain, strict=True):
        np.testing.assert_array_equal(x, y)
    assert len(compiled[1])
    assert (tables.d_off >= 0).any()  # features keyed in one lookup (small dictionaries)
    by_part = _kernels.score_events(codes, tables._replace(d_off=None), compiled=True)
    plain_by_part = _kernels.score_events(codes, tables._replace(d_off=None), compiled=False)
    for x, y, z in zip(by_part, plain, plain_by_part, strict=True):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(z, y)
    # the numpy twin goes in blocks: blocks of a few events give the same results
    monkeypatch.setattr(_kernels, "_NUMPY_BLOCK", 7)
    for x, y in zip(_kernels.score_events(codes, tables, compiled=False), plain, strict=True):
        np.testing.assert_array_equal(x, y)
    # the loop goes in blocks of 1024 events: ranges that start and stop inside blocks
    n = codes.shape[1]
    loop = _kernels._jit(_kernels._score_events_loop)
    for start, stop in [(0, 1), (1, 1025), (1023, 2049), (700, n), (0, 0)]:
        row_score, out_rows, out_mask = (
            np.full(n, -1.0),
            np.zeros(n, np.int64),
            np.zeros(n, np.int64),
        )
        found = loop(
            *_kernels._loop_tables(codes, tables),
            row_score,
            out_rows,
            out_mask,
            start,
            stop,
        )
        np.testing.assert_array_equal(row_score[start:stop], plain[0][start:stop])
        inside = (plain[1] >= start) & (plain[1] < stop)
        np.testing.assert_array_equal(out_rows[start:found], plain[1][inside])
        np.testing.assert_array_equal(out_mask[start:found], plain[2][inside])


@pytest.mark.parametrize("compiled", TWINS)
def test_fill_codes_of_short_and_unaligned_arrays(compiled: bool) -> None:
    rng = np.random.default_rng(5)
    for length in range(0, 26):
        for offset in range(0, 11):
            values = rng.integers(0, 100, length + offset)
            array = pa.array(values, pa.int32(), mask=rng.random(length + offset) < 0.5)
            array = array.slice(offset)
            out = np.empty(len(array), dtype=np.int32)
            _kernels.fill_codes(array, out, compiled=compiled)
            assert out.tolist() == [-1 if v is None else v for v in array.to_pylist()]


@needs_numba
def test_integer_codes_of_short_and_unaligned_arrays() -> None:
    rng = np.random.default_rng(6)
    for length in range(0, 26):
        for offset in range(0, 11):
            values = rng.integers(-50, 50, length + offset)
            array = pa.array(values, pa.int32(), mask=rng.random(length + offset) < 0.4)
            array = array.slice(offset)
            compiled = np.empty(len(array), dtype=np.int32)
            plain = np.empty(len(array), dtype=np.int32)
            found = _kernels.integer_codes(array, compiled, 1 << 22, compiled=True)
            expected = _kernels.integer_codes(array, plain, 1 << 22, compiled=False)
            if expected is None:
                assert found is None
                continue
            assert found is not None and found.equals(expected)
            np.testing.assert_array_equal(compiled, plain)


@pytest.mark.parametrize("compiled", TWINS)
@pytest.mark.parametrize("offset", [0, 3, 13])
def test_fill_codes(compiled: bool, offset: int) -> None:
    rng = np.random.default_rng(offset)
    for dtype in (pa.int8(), pa.int16(), pa.int32(), pa.int64()):
        values = rng.integers(0, 100, 1000)
        array = pa.array(values, dtype, mask=rng.random(1000) < 0.3).slice(offset)
        out = np.empty(len(array), dtype=np.int32)
        _kernels.fill_codes(array, out, compiled=compiled)
        expected = [-1 if v is None else v for v in array.to_pylist()]
        assert out.tolist() == expected
        full = pa.array(values, dtype).slice(offset)
        _kernels.fill_codes(full, out, compiled=compiled)
        assert out.tolist() == full.to_pylist()


@pytest.mark.parametrize("compiled", TWINS)
@pytest.mark.parametrize("offset", [0, 5])
def test_integer_codes_number_like_encode(compiled: bool, offset: int) -> None:
    from behavemodel.features._codes import encode

    rng = np.random.default_rng(offset)
    for dtype, low, high in ((pa.int16(), -300, 300), (pa.int32(), 0, 70000), (pa.int64(), 5, 9)):
        array = pa.array(rng.integers(low, high, 2000), dtype, mask=rng.random(2000) < 0.2).slice(
            offset
        )
        out = np.empty(len(array), dtype=np.int32)
        values = _kernels.integer_codes(array, out, 1 << 22, compiled=compiled)
        assert values is not None
        codes, expected = encode(array)
        assert values.equals(expected)
        np.testing.assert_array_equal(out, codes)
    out = np.empty(3, dtype=np.int32)
    wide = pa.array([0, 10**9, None], pa.int64())
    assert _kernels.integer_codes(wide, out, 1 << 22, compiled=compiled) is None
    assert _kernels.integer_codes(pa.nulls(3, pa.int32()), out, 10, compiled=compiled) is None
    assert _kernels.integer_codes(pa.array([1, 2, 3], pa.uint8()), out, 10) is None


@pytest.mark.parametrize("compiled", TWINS)
def test_integer_codes_ignore_the_data_under_nulls(compiled: bool) -> None:
    """A null's slot may hold any number (here far outside the values' range)."""
    data = np.array([7, 2**31 - 1, 9, -(2**31), 7], dtype=np.int32)
    validity = pa.py_buffer(np.packbits([1, 0, 1, 0, 1], bitorder="little").tobytes())
    array = pa.Array.from_buffers(pa.int32(), 5, [validity, pa.py_buffer(data.tobytes())])
    for out in (np.empty(5, dtype=np.int32), np.empty(5, dtype=np.int64)):
        values = _kernels.integer_codes(array, out, 1 << 22, compiled=compiled)
        assert values is not None and values.to_pylist() == ["7", "9"]
        assert out.tolist() == [0, -1, 1, -1, 0]


@pytest.mark.parametrize("compiled", TWINS)
def test_mark_pairs(compiled: bool) -> None:
    rng = np.random.default_rng(0)
    first = rng.integers(-1, 20, 5000).astype(np.int32)
    second = rng.integers(-1, 7, 5000).astype(np.int32)
    seen = np.zeros(21 * 8, dtype=bool)
    _kernels.mark_pairs(first, second, 8, seen, compiled=compiled)
    expected = np.zeros_like(seen)
    expected[(first.astype(np.int64) + 1) * 8 + second + 1] = True
    np.testing.assert_array_equal(seen, expected)
    alone = np.zeros(21, dtype=bool)
    _kernels.mark_pairs(first, None, 1, alone, compiled=compiled)
    assert np.flatnonzero(alone).tolist() == sorted(set((first + 1).tolist()))


def test_convergence_counts_equal_a_pandas_groupby() -> None:
    from behavemodel.models._index import _per_group_feature

    model = BaselineDetector(features=FEATURES, min_span="1h").fit(
        _events(8, 4000, dictionary=True)
    )
    keys = model._baseline.keys
    expected = (
        keys.assign(single=keys["observations"] == 1)
        .groupby(["host_group", "feature"])
        .agg(
            observations=("observations", "sum"),
            distinct_keys=("key", "size"),
            singletons=("single", "sum"),
            key_hosts=("hosts", "max"),
        )
    )
    group_values = pa.array(sorted(set(keys["host_group"])))
    feature_values = pa.array(sorted(set(keys["feature"])))
    group = np.array([group_values.to_pylist().index(g) for g in keys["host_group"]])
    feature = np.array([feature_values.to_pylist().index(f) for f in keys["feature"]])
    got = _per_group_feature(keys, group, feature, group_values, feature_values)
    assert got is not None
    pd.testing.assert_frame_equal(
        got.astype(np.int64), expected.astype(np.int64), check_index_type=False
    )


@needs_numba
@pytest.mark.parametrize(
    "column",
    [
        pa.array([3, None, 2**31 - 1, 5, 3], pa.int32()),
        pa.array([-(2**31), 7, None], pa.int32()),
        pa.array([5_000_000_000, None, 5_000_000_003], pa.int64()).slice(1),
        pa.array([1, 2, 2], pa.uint8()),
        pa.DictionaryArray.from_arrays(pa.array([0, None, 1, 1], pa.int8()), pa.array(["a", "b"])),
        pa.DictionaryArray.from_arrays(pa.array([1, None, 0], pa.uint32()), pa.array(["a", "b"])),
        pa.DictionaryArray.from_arrays(
            pa.array([2, None, 0, 1, None], pa.int32()), pa.array(["x", "y", "x"])
        ).slice(1),
    ],
)
def test_encode_does_not_depend_on_the_compiled_loops(
    column: pa.Array, monkeypatch: pytest.MonkeyPatch
) -> None:
    from behavemodel.features import _loops
    from behavemodel.features._codes import encode

    codes, values = encode(column)
    monkeypatch.setattr(_loops, "COMPILED", False)
    plain_codes, plain_values = encode(column)
    np.testing.assert_array_equal(codes, plain_codes)
    assert values.equals(plain_values)


@needs_numba
def test_permute_runs_twins_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    from behavemodel.models import _count

    rng = np.random.default_rng(3)
    runs = np.bincount(rng.integers(0, 50, 400), minlength=60)
    start, end = rng.integers(0, 100, 400), rng.integers(100, 200, 400)
    order = rng.permutation(60)
    compiled = _count.permute_runs(runs, start, end, order, 7)
    monkeypatch.setattr(_kernels, "COMPILED", False)
    plain = _count.permute_runs(runs, start, end, order, 7)
    assert compiled[0].equals(plain[0])
    np.testing.assert_array_equal(compiled[1], plain[1])
    np.testing.assert_array_equal(compiled[2], plain[2])


@pytest.mark.parametrize("compiled", TWINS)
@pytest.mark.parametrize("negate", [False, True])
def test_and_lookup(compiled: bool, negate: bool) -> None:
    from behavemodel.features import _loops

    rng = np.random.default_rng(int(negate))
    for dtype in (np.int32, np.int64):
        codes = rng.integers(-1, 6, 3000).astype(dtype)
        codes.flags.writeable = False  # codes are often read-only views of Arrow buffers
        lookup = rng.random(7) < 0.5
        keep = rng.random(3000) < 0.7
        expected = keep & (~lookup[codes] if negate else lookup[codes])
        _loops.and_lookup(keep, codes, lookup, negate=negate, compiled=compiled)
        np.testing.assert_array_equal(keep, expected)


@pytest.mark.parametrize("dictionary", [False, True])
def test_threads_sharing_a_cold_model_score_as_one_thread(dictionary: bool) -> None:
    """The lookup tables are built lazily and shared: threads (a Dask threaded
    scheduler, a web server) scoring with one model at once get the serial scores."""
    from concurrent.futures import ThreadPoolExecutor

    learn = _events(7, 4000, dictionary=dictionary)
    slices = [_events(200 + i, 1500, dictionary=dictionary) for i in range(6)]
    params = {"features": FEATURES, "min_span": "1h", "novelty_threshold": 0.5}
    serial = BaselineDetector(**params).fit(learn)
    expected = [serial.anomaly_score(s) for s in slices]
    for _ in range(3):
        shared = BaselineDetector(**params).fit(learn)  # its lookup tables not built yet
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(shared.anomaly_score, slices * 3))
        for i, scores in enumerate(got):
            np.testing.assert_array_equal(scores, expected[i % len(slices)])
