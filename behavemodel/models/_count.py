"""Counting one batch of events per (group, host, feature key): the inner loop of fitting.

Everything here works on integer codes into the batch's small dictionaries:
per event there are only gathers, multiply-adds, one numbering pass, ``bincount``
and ``minimum.at`` / ``maximum.at``; strings are touched once per distinct value.
:func:`behavemodel.models.partial_stats` turns the :class:`Piece` objects into
the statistics table.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel.features._codes import _DENSE_LIMIT, combine_codes
from behavemodel.features._loops import use_compiled
from behavemodel.features._observe import EventCodes, KeyedEvents, join_parts
from behavemodel.models import _kernels
from behavemodel.models._kernels import Counts, count_cells, fold_codes

__all__ = [
    "Piece",
    "Selection",
    "count",
    "dense",
    "digits",
    "mixed_radix",
    "permute_runs",
    "ranks",
    "tuple_ranks",
]

#: Largest product of component dictionary sizes ranked as one int64.
_RANK_LIMIT = 2.0**62


class Selection:
    """The pair, time and bucket of some events, gathered on first use and shared by features.

    ``rows`` None selects every event. Features counted on two threads may ask at
    once: the values are gathered once.
    """

    def __init__(self, codes: EventCodes, bucket: np.ndarray, rows: np.ndarray | None) -> None:
        self.rows = rows
        self._codes = codes
        self._bucket = bucket
        self._lock = threading.Lock()
        self._values: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def values(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per selected event: its (group, host) pair, time and bucket."""
        with self._lock:
            if self._values is None:
                codes, bucket, rows = self._codes, self._bucket, self.rows
                if rows is None:
                    self._values = (codes.pair, codes.time, bucket)
                else:
                    self._values = (codes.pair[rows], codes.time[rows], bucket[rows])
            return self._values


@dataclass(frozen=True)
class Piece:
    """Counts of one feature (or of the coverage rows when ``part_values`` is empty).

    Row ``i`` is the (group, host) pair ``pair[i]`` with key components
    ``parts[j][i]`` (codes into ``part_values[j]``). Runs of consecutive buckets
    are sorted by owner row, then start; their buckets count from the batch's
    first bucket (:func:`permute_runs` shifts them).
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
    def of(cls, unique: list[np.ndarray], part_values: list[pa.Array], counts: Counts) -> Piece:
        """A piece from the (pair, key components) codes of ``counts``' rows."""
        return cls(
            unique[0],
            unique[1:],
            part_values,
            counts.events,
            counts.first,
            counts.last,
            counts.run_owner,
            counts.run_start,
            counts.run_end,
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
) -> Piece:
    """Events, first/last time and bucket runs per (pair, key) of the selected events.

    ``keyed`` None counts the coverage rows (no key); otherwise ``selection``
    holds the rows ``keyed.selected``.
    """
    pair, time, bucket = selection.values()
    parts: list[np.ndarray] = []
    part_values: list[pa.Array] = []
    if keyed is not None:
        if keyed.kept is not None:
            pair, time, bucket = pair[keyed.kept], time[keyed.kept], bucket[keyed.kept]
        parts, part_values = keyed.parts, keyed.part_values
    sizes = [max(n_pairs, 1), *(max(len(v), 1) for v in part_values)]
    if dense(sizes, len(pair)):
        # a small code space: the mixed-radix code itself numbers the combinations
        index = mixed_radix(pair, parts, sizes)  # coverage rows: ``pair`` itself, no copy
        counts = count_cells(index, _product(sizes), time, bucket, bucket_size)
        return Piece.of(digits(counts.codes, sizes), part_values, counts)
    ids, unique = combine_codes([pair, *parts], sizes)
    counts = count_cells(ids, len(unique[0]), time, bucket, bucket_size)
    return Piece.of(unique, part_values, counts)


def dense(sizes: list[int], n: int) -> bool:
    """Whether codes in mixed radix ``sizes`` are counted directly (not renumbered first)."""
    return float(np.prod([float(x) for x in sizes])) <= max(_DENSE_LIMIT, n)


def _product(sizes: list[int]) -> int:
    return int(np.prod(sizes, dtype=np.int64))


def mixed_radix(first: np.ndarray, parts: list[np.ndarray], sizes: list[int]) -> np.ndarray:
    """The mixed-radix code of ``first`` and ``parts`` in ``sizes``, the first digit first.

    int32 when the product of ``sizes`` fits, else int64. One pass per part;
    ``first`` is never written (without parts it is returned as it is when
    already int32 or int64). :func:`digits` splits the codes again.

    Examples
    --------
    >>> import numpy as np
    >>> from behavemodel.models._count import digits, mixed_radix
    >>> code = mixed_radix(np.array([0, 1]), [np.array([2, 0])], [2, 3])
    >>> code.tolist(), [d.tolist() for d in digits(code, [2, 3])], code.dtype
    ([2, 3], [[0, 1], [2, 0]], dtype('int32'))
    """
    index = np.asarray(first)
    if index.dtype not in (np.int32, np.int64):
        index = index.astype(np.int64)
    # int32 when every code fits: half the memory, and so half the page faults
    dtype = np.int32 if _product(sizes) < 2**31 else np.int64
    for i, (part, size) in enumerate(zip(parts, sizes[1:], strict=True)):
        out = index if i else np.empty(len(index), dtype=dtype)
        index = fold_codes(index, part, size, out=out)
    return index


def digits(index: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """Split mixed-radix codes in ``sizes`` into their digits, the first one first."""
    out, rest = [], index
    for size in reversed(sizes[1:]):
        out.append(rest % size)
        rest = rest // size
    out.append(rest)
    out.reverse()
    return out


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
    runs: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    order: np.ndarray,
    shift: int = 0,
) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Reorder runs grouped by row so that row ``order[i]`` becomes row ``i``.

    Row ``j`` owns ``runs[j]`` runs, stored after those of the rows before it.
    Returns the list offsets (int32) of the new rows and the run starts and
    ends in the new order, plus ``shift``.
    """
    n = len(runs)
    old = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(runs, out=old[1:])
    moved = runs[order]
    new = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(moved, out=new[1:])
    if use_compiled(_kernels.COMPILED):
        new_start, new_end = _kernels.move_runs(old, new, order, start, end, shift)
        return pa.array(new, pa.int32()), new_start, new_end
    gather = np.repeat(old[:-1][order] - new[:-1], moved)
    gather += np.arange(len(gather), dtype=np.int64)
    new_start, new_end = start[gather], end[gather]
    new_start += shift
    new_end += shift
    return pa.array(new, pa.int32()), new_start, new_end
