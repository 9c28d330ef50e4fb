"""Counting one batch of events per (group, host, feature key): the inner loop of fitting.

Everything here works on integer codes into the batch's small dictionaries:
per event there are only gathers, multiply-adds, one numbering pass, ``bincount``
and ``minimum.at`` / ``maximum.at``; strings are touched once per distinct value.
:func:`behavemodel.models.partial_stats` turns the :class:`Piece` objects into
the statistics table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel.features._codes import _DENSE_LIMIT, combine_codes
from behavemodel.features._observe import EventCodes, KeyedEvents, join_parts
from behavemodel.models import _kernels
from behavemodel.models._kernels import Counts, count_cells

__all__ = [
    "Piece",
    "Selection",
    "count",
    "count_index",
    "dense",
    "permute_runs",
    "ranks",
    "tuple_ranks",
]

#: Largest product of component dictionary sizes ranked as one int64.
_RANK_LIMIT = 2.0**62


@dataclass
class Selection:
    """Per-event values gathered once for a set of rows and shared by features."""

    rows: np.ndarray | None  # None: every event
    pair: np.ndarray
    time: np.ndarray
    bucket: np.ndarray

    @classmethod
    def gather(cls, codes: EventCodes, bucket: np.ndarray, rows: np.ndarray | None) -> Selection:
        if rows is None:
            return cls(None, codes.pair, codes.time, bucket)
        return cls(rows, codes.pair[rows], codes.time[rows], bucket[rows])


@dataclass(frozen=True)
class Piece:
    """Counts of one feature (or of the coverage rows when ``part_values`` is empty).

    Row ``i`` is the (group, host) pair ``pair[i]`` with key components
    ``parts[j][i]`` (codes into ``part_values[j]``). Runs of consecutive buckets
    are sorted by owner row, then start.
    """

    pair: np.ndarray
    parts: list[np.ndarray]
    part_values: list[pa.Array]
    events: np.ndarray
    first: np.ndarray
    last: np.ndarray
    run_owner: np.ndarray
    run_start: np.ndarray
    run_end: np.ndarray

    @classmethod
    def of(
        cls, unique: list[np.ndarray], part_values: list[pa.Array], counts: Counts, origin: int
    ) -> Piece:
        """A piece from the (pair, key components) codes of ``counts``' rows."""
        return cls(
            unique[0],
            unique[1:],
            part_values,
            counts.events,
            counts.first,
            counts.last,
            counts.run_owner,
            counts.run_start + origin,
            counts.run_end + origin,
        )

    def keys(self) -> pa.Array:
        """The joined key of every row (nulls for coverage rows)."""
        if not self.part_values:
            return pa.nulls(len(self.pair), pa.string())
        return join_parts(self.part_values, self.parts)


def count(
    selection: Selection,
    keyed: KeyedEvents | None,
    n_pairs: int,
    bucket_size: int,
    bucket_origin: int,
) -> Piece:
    """Events, first/last time and bucket runs per (pair, key) of the selected events.

    ``keyed`` None counts the coverage rows (no key); otherwise ``selection``
    holds the rows ``keyed.selected``.
    """
    pair, time, bucket = selection.pair, selection.time, selection.bucket
    parts: list[np.ndarray] = []
    part_values: list[pa.Array] = []
    if keyed is not None:
        if keyed.kept is not None:
            pair, time, bucket = pair[keyed.kept], time[keyed.kept], bucket[keyed.kept]
        parts, part_values = keyed.parts, keyed.part_values
    sizes = [max(n_pairs, 1), *(max(len(v), 1) for v in part_values)]
    if dense(sizes, len(pair)):
        # a small code space: the mixed-radix code itself numbers the combinations
        index = np.array(pair, dtype=np.int64)
        for part, size in zip(parts, sizes[1:], strict=True):
            index *= size
            index += part
        return count_index(index, sizes, part_values, time, bucket, bucket_size, bucket_origin)
    ids, unique = combine_codes([pair, *parts], sizes)
    counts = count_cells(ids, len(unique[0]), time, bucket, bucket_size)
    return Piece.of(unique, part_values, counts, bucket_origin)


def dense(sizes: list[int], n: int) -> bool:
    """Whether codes in mixed radix ``sizes`` are counted directly (not renumbered first)."""
    return float(np.prod([float(x) for x in sizes])) <= max(_DENSE_LIMIT, n)


def count_index(
    index: np.ndarray,
    sizes: list[int],
    part_values: list[pa.Array],
    time: np.ndarray,
    bucket: np.ndarray,
    bucket_size: int,
    bucket_origin: int,
) -> Piece:
    """:func:`count` for events given as mixed-radix codes of (pair, key components)."""
    counts = count_cells(index, int(np.prod(sizes)), time, bucket, bucket_size)
    unique, rest = [], counts.codes
    for size in reversed(sizes[1:]):
        unique.append(rest % size)
        rest = rest // size
    unique.append(rest)
    unique.reverse()
    return Piece.of(unique, part_values, counts, bucket_origin)


def ranks(values: pa.Array) -> np.ndarray:
    """The rank of each value of ``values`` in Arrow's sort order (values are distinct)."""
    order = pc.array_sort_indices(values).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    return rank


def tuple_ranks(parts: list[np.ndarray], part_values: list[pa.Array]) -> np.ndarray:
    """An int64 per row ordered like the joined keys (component by component).

    Joining with NUL, the smallest byte, keeps the order of the component
    tuples, so the order of the joined strings comes from the small
    dictionaries of the components.
    """
    if not parts:
        return np.zeros(0, dtype=np.int64)
    sizes = [len(v) for v in part_values]
    if np.prod([float(s) for s in sizes]) < _RANK_LIMIT:
        out = np.zeros(len(parts[0]), dtype=np.int64)
        for codes, values, size in zip(parts, part_values, sizes, strict=True):
            out *= size
            out += ranks(values)[codes]
        return out
    # too many combinations for one integer: number the sorted distinct tuples
    columns = [ranks(v)[c] for c, v in zip(parts, part_values, strict=True)]
    order = np.lexsort(columns[::-1])
    changed = np.zeros(len(order), dtype=bool)
    for column in columns:
        ordered = column[order]
        changed[1:] |= ordered[1:] != ordered[:-1]
    out = np.empty(len(order), dtype=np.int64)
    out[order] = np.cumsum(changed)
    return out


def permute_runs(
    owner: np.ndarray, start: np.ndarray, end: np.ndarray, n: int, order: np.ndarray
) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Reorder runs grouped by owner row so that row ``order[i]`` becomes row ``i``.

    ``owner`` must be sorted. Returns the list offsets (int32) of the new rows
    and the run starts and ends in the new order.
    """
    counts = np.bincount(owner, minlength=n)
    old = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=old[1:])
    moved = counts[order]
    new = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(moved, out=new[1:])
    if _kernels.COMPILED:
        new_start, new_end = _kernels.move_runs(old, new, order, start, end)
        return pa.array(new, pa.int32()), new_start, new_end
    gather = np.repeat(old[:-1][order] - new[:-1], moved)
    gather += np.arange(len(gather), dtype=np.int64)
    return pa.array(new, pa.int32()), start[gather], end[gather]
