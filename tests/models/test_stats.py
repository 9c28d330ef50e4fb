"""Tests for behavemodel.models._stats: partial_stats / merge_stats."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from behavemodel.exceptions import SchemaError
from behavemodel.features._loops import numpy_loops
from behavemodel.models import STATS_SCHEMA, StatsConfig, _kernels, merge_stats, partial_stats
from behavemodel.models._stats import _buckets, _union_runs, observations

Make = Callable[..., pa.Table]

CONFIG = StatsConfig(["ProcessOwners", "NetworkProcesses"])


def test_runs_are_coalesced_and_counted(make_events: Make) -> None:
    # buckets 0, 1, 2 (adjacent: one run), 5, and 5 again on the same host
    events = make_events(
        [
            {"process_exe": "/bin/sh", "user_name": "root", "minutes": m}
            for m in (0, 61, 130, 300, 310)
        ]
    )
    stats = partial_stats(events, StatsConfig(["ProcessOwners"]))
    row = stats.filter(pa.compute.equal(stats["feature"], "ProcessOwners")).to_pylist()[0]
    start = row["run_start"][0]
    assert [s - start for s in row["run_start"]] == [0, 5]
    assert [e - start for e in row["run_end"]] == [2, 5]
    assert row["events"] == 5
    assert observations(stats).tolist() == [4, 4]  # coverage row and key row


def test_union_runs_merges_overlaps_and_adjacency() -> None:
    owner = np.array([0, 0, 0, 1, 1])
    start = np.array([5, 1, 3, 1, 4])
    end = np.array([6, 2, 4, 2, 4])
    o, s, e = _union_runs(owner, start, end)
    assert o.tolist() == [0, 1, 1] and s.tolist() == [1, 1, 4] and e.tolist() == [6, 2, 4]


@pytest.mark.skipif(not _kernels.COMPILED, reason="numba is not installed")
@pytest.mark.parametrize(("n", "owners", "span"), [(1, 1, 3), (500, 40, 30), (20000, 90, 400)])
def test_union_runs_twins_agree(n: int, owners: int, span: int) -> None:
    # few and many runs per owner (the loop sorts more than 32 another way),
    # overlapping, touching, repeated and negative intervals
    rng = np.random.default_rng(n)
    owner = rng.integers(0, owners, n)
    start = rng.integers(-span, span, n)
    end = start + rng.geometric(0.4, n) - 1
    compiled = _union_runs(owner, start, end)
    with numpy_loops():
        plain = _union_runs(owner, start, end)
    for x, y in zip(compiled, plain, strict=True):
        np.testing.assert_array_equal(x, y)
        assert x.dtype == y.dtype
    covered = {(o, b) for o, s, e in zip(owner, start, end, strict=True) for b in range(s, e + 1)}
    o, s, e = compiled
    assert covered == {(o, b) for o, s, e in zip(o, s, e, strict=True) for b in range(s, e + 1)}
    assert ((np.diff(o) > 0) | (s[1:] > e[:-1] + 1)).all()  # sorted, disjoint, not touching


def test_empty_inputs(make_events: Make) -> None:
    events = make_events([{"process_exe": "/bin/sh"}]).slice(0, 0)
    assert partial_stats(events, CONFIG).num_rows == 0
    assert merge_stats([]).schema.equals(STATS_SCHEMA)


def test_merge_rejects_foreign_tables() -> None:
    with pytest.raises(SchemaError, match=r"lacks the column\(s\)"):
        merge_stats([pa.table({"host_group": ["a"]})])
    with pytest.raises(SchemaError, match="must be a pyarrow Table"):
        merge_stats([pd.DataFrame()])  # type: ignore[list-item]


HOSTS = ["web-01", "web-02", "db-01"]
EXES = ["/usr/sbin/nginx", "/bin/sh", "/usr/bin/curl", "/opt/app-1.2.3/bin/app"]


@st.composite
def event_rows(draw: st.DrawFn) -> list[dict[str, object]]:
    n = draw(st.integers(min_value=1, max_value=25))
    rows = []
    for _ in range(n):
        kind = draw(st.sampled_from(["process_start", "net_connect"]))
        rows.append(
            {
                "host_name": draw(st.sampled_from(HOSTS)),
                "host_group": draw(st.sampled_from(["web", "db", None])),
                "event_type": kind,
                "process_exe": draw(st.sampled_from(EXES)),
                "user_name": draw(st.sampled_from(["root", "www-data", None])),
                "net_family": "inet" if kind == "net_connect" else None,
                "net_direction": "outbound" if kind == "net_connect" else None,
                "minutes": draw(st.integers(min_value=0, max_value=600)),
            }
        )
    return rows


@settings(max_examples=40, deadline=None)
@given(rows=event_rows(), data=st.data())
def test_merge_of_any_split_in_any_order_equals_the_whole(
    make_events: Make, rows: list[dict[str, object]], data: st.DataObject
) -> None:
    events = make_events(rows)
    whole = partial_stats(events, CONFIG)
    labels = data.draw(st.lists(st.integers(0, 3), min_size=len(rows), max_size=len(rows)))
    parts = [
        partial_stats(events.filter(pa.array([label == k for label in labels])), CONFIG)
        for k in range(4)
    ]
    order = data.draw(st.permutations(range(4)))
    merged = merge_stats([parts[i] for i in order])
    assert merged.equals(whole)
    # associativity: merging merged halves changes nothing
    assert merge_stats([merge_stats(parts[:2]), merge_stats(parts[2:])]).equals(whole)
    assert merge_stats([whole]).equals(whole)


def test_observations_follow_list_offsets_of_sliced_and_chunked_tables() -> None:
    rng = np.random.default_rng(0)
    counts = rng.integers(1, 4, 40)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    start = rng.integers(0, 100, int(counts.sum()))
    end = start + rng.integers(0, 5, len(start))
    table = pa.table(
        {
            "run_start": pa.ListArray.from_arrays(offsets, pa.array(start, pa.int64())),
            "run_end": pa.ListArray.from_arrays(offsets, pa.array(end, pa.int64())),
        }
    )
    expected = [
        int(sum(e - s + 1 for s, e in zip(ss, ee, strict=True)))
        for ss, ee in zip(
            table.column("run_start").to_pylist(), table.column("run_end").to_pylist(), strict=True
        )
    ]
    assert observations(table).tolist() == expected
    assert observations(table.slice(5, 20)).tolist() == expected[5:25]
    chunked = pa.concat_tables([table.slice(0, 7), table.slice(7)])
    assert observations(chunked).tolist() == expected


@pytest.mark.parametrize("bucket_us", [1, 7, 3_600_000_000])
def test_buckets_count_from_the_first(bucket_us: int) -> None:
    rng = np.random.default_rng(bucket_us)
    # before and after 1970, and more events than one slice of the fill
    time = rng.integers(-(10**13), 10**13, (1 << 20) + 5) if bucket_us > 1 else None
    if time is None:
        time = rng.integers(10**15, 10**15 + 2**30, 1000)
    bucket, first, size = _buckets(time, bucket_us)
    plain = time // bucket_us
    assert first == plain.min() and size == plain.max() - plain.min() + 1
    np.testing.assert_array_equal(bucket, plain - plain.min())
    assert bucket.dtype == (np.int32 if size < 2**31 else np.int64)


def test_buckets_widen_when_they_do_not_fit_int32() -> None:
    bucket, first, size = _buckets(np.array([5, 2**33, 7]), 1)
    assert bucket.dtype == np.int64
    assert (bucket.tolist(), first, size) == ([0, 2**33 - 5, 2], 5, 2**33 - 4)
