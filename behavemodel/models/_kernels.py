"""Inner loops over events, compiled with numba when it is installed (``behavemodel[fast]``).

Each function has a numpy twin giving identical results; :data:`COMPILED` says
which one runs. numpy needs several passes over the events (gathers, a
maximum, a scatter, a mask); the compiled loop makes one.
"""

from __future__ import annotations

import importlib.util
from typing import Any, NamedTuple

import numpy as np

__all__ = ["COMPILED", "Counts", "apply_scores", "count_cells"]

#: Whether the compiled loops are used: numba is installed (``pip install
#: 'behavemodel[fast]'``). It is imported, and the loops loaded from numba's
#: cache or compiled, on first use.
COMPILED = importlib.util.find_spec("numba") is not None
_JITTED: dict[str, Any] = {}


def _jit(function: Any) -> Any:
    """The compiled version of ``function`` (numba imported on first use)."""
    found = _JITTED.get(function.__name__)
    if found is None:
        import numba

        found = _JITTED[function.__name__] = numba.njit(cache=True, nogil=True)(function)
    return found


def _apply_numpy(
    rows: np.ndarray,
    index: np.ndarray,
    score: np.ndarray,
    deviating: np.ndarray,
    row_score: np.ndarray,
) -> np.ndarray:
    s = score[index]
    np.maximum(row_score[rows], s, out=s)
    row_score[rows] = s
    return np.flatnonzero(deviating[index])


def _apply_loop(
    rows: np.ndarray,
    index: np.ndarray,
    score: np.ndarray,
    deviating: np.ndarray,
    row_score: np.ndarray,
    out: np.ndarray,
) -> int:  # pragma: no cover - compiled by numba; its numpy twin is tested against it
    found = 0
    for i in range(rows.shape[0]):
        j = index[i]
        s = score[j]
        r = rows[i]
        if s > row_score[r]:
            row_score[r] = s
        if deviating[j]:
            out[found] = i
            found += 1
    return found


def apply_scores(
    rows: np.ndarray,
    index: np.ndarray,
    score: np.ndarray,
    deviating: np.ndarray,
    row_score: np.ndarray,
    *,
    compiled: bool | None = None,
) -> np.ndarray:
    """Raise ``row_score[rows[i]]`` to ``score[index[i]]``; return the ``i`` that deviate.

    Parameters
    ----------
    rows : numpy.ndarray of int64
        Event rows, one per scored (event, key).
    index : numpy.ndarray of int64
        Per row, its position in ``score`` and ``deviating``.
    score : numpy.ndarray of float64
    deviating : numpy.ndarray of bool
    row_score : numpy.ndarray of float64
        Updated in place: each event keeps the highest score of its features.
    compiled : bool, optional
        Force the compiled loop (True) or numpy (False); default :data:`COMPILED`.

    Returns
    -------
    numpy.ndarray of int64
        Positions ``i`` (ascending) whose ``deviating[index[i]]`` is true.

    Examples
    --------
    >>> import numpy as np
    >>> from behavemodel.models._kernels import apply_scores
    >>> row_score = np.array([0.0, 0.7, 0.0])
    >>> apply_scores(np.array([0, 1, 2]), np.array([1, 0, 1]), np.array([0.2, 0.9]),
    ...              np.array([False, True]), row_score)
    array([0, 2])
    >>> row_score
    array([0.9, 0.7, 0.9])
    """
    use = COMPILED if compiled is None else compiled
    if not use:
        return _apply_numpy(rows, index, score, deviating, row_score)
    out = np.empty(len(rows), dtype=np.int64)
    found = _jit(_apply_loop)(
        np.ascontiguousarray(rows, dtype=np.int64),
        np.ascontiguousarray(index, dtype=np.int64),
        np.ascontiguousarray(score, dtype=np.float64),
        np.ascontiguousarray(deviating, dtype=np.bool_),
        row_score,
        out,
    )
    return out[:found]


class Counts(NamedTuple):
    """Per distinct code (ascending): events, first and last time, runs of buckets."""

    codes: np.ndarray
    events: np.ndarray
    first: np.ndarray
    last: np.ndarray
    run_owner: np.ndarray
    run_start: np.ndarray
    run_end: np.ndarray


def _count_numpy(
    index: np.ndarray, size: int, time: np.ndarray, bucket: np.ndarray, n_buckets: int
) -> Counts:
    from behavemodel.features._codes import _compress

    ids, codes = _compress(index, size)
    n = len(codes)
    events = np.bincount(ids, minlength=n).astype(np.int64, copy=False)
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first, ids, time)
    np.maximum.at(last, ids, time)
    return Counts(codes, events, first, last, *_bucket_runs(ids, bucket, n_buckets))


def _bucket_runs(
    ids: np.ndarray, bucket: np.ndarray, n_buckets: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of consecutive buckets in which each id occurs, sorted by id then start."""
    if len(ids) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    width = max(int(n_buckets), 1)
    cell = ids * width
    cell += bucket
    span = (int(ids.max()) + 1) * width
    if span <= _cells_limit(len(cell)):
        present = np.zeros(span, dtype=bool)
        present[cell] = True
        del cell
        cells = np.flatnonzero(present)
    else:
        cells = np.unique(cell)
    within = cells % width
    # a run breaks where the next cell is not the next bucket of the same id
    breaks = np.flatnonzero((np.diff(cells) != 1) | (within[1:] == 0)) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks - 1, [len(cells) - 1]])
    return cells[starts] // width, within[starts], within[ends]


def _cells_limit(n: int) -> int:
    """Largest (id, bucket) table worth a dense byte per cell (64 MiB, or the input's size)."""
    return max(1 << 26, 8 * n)


def _count_loop(
    index: np.ndarray,
    size: int,
    time: np.ndarray,
    bucket: np.ndarray,
    n_buckets: int,
    limit: int,
) -> Any:  # pragma: no cover - compiled by numba; its numpy twin is tested
    slot = np.full(size, -1, dtype=np.int64)
    for i in range(index.shape[0]):
        slot[index[i]] = 0
    n = 0
    for c in range(size):
        if slot[c] == 0:
            slot[c] = n
            n += 1
    empty = np.empty(0, dtype=np.int64)
    if n * n_buckets > limit:  # too many (row, bucket) cells for a dense table
        return False, empty, empty, empty, empty, empty, empty, empty
    codes = np.empty(n, dtype=np.int64)
    for c in range(size):
        if slot[c] >= 0:
            codes[slot[c]] = c
    events = np.zeros(n, dtype=np.int64)
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    cells = np.zeros(n * n_buckets, dtype=np.bool_)
    for i in range(index.shape[0]):
        s = slot[index[i]]
        events[s] += 1
        t = time[i]
        if t < first[s]:
            first[s] = t
        if t > last[s]:
            last[s] = t
        cells[s * n_buckets + bucket[i]] = True
    runs = 0
    for s in range(n):
        base = s * n_buckets
        for b in range(n_buckets):
            if cells[base + b] and (b == 0 or not cells[base + b - 1]):
                runs += 1
    owner = np.empty(runs, dtype=np.int64)
    start = np.empty(runs, dtype=np.int64)
    end = np.empty(runs, dtype=np.int64)
    r = -1
    for s in range(n):
        base = s * n_buckets
        for b in range(n_buckets):
            if cells[base + b]:
                if b == 0 or not cells[base + b - 1]:
                    r += 1
                    owner[r] = s
                    start[r] = b
                end[r] = b
    return True, codes, events, first, last, owner, start, end


def count_cells(
    index: np.ndarray,
    size: int,
    time: np.ndarray,
    bucket: np.ndarray,
    n_buckets: int,
    *,
    compiled: bool | None = None,
) -> Counts:
    """Count events per distinct ``index`` code: the inner loop of fitting.

    Parameters
    ----------
    index : numpy.ndarray of int64
        A code in ``[0, size)`` per event (a (group, host, key) combination).
    size : int
        The size of the code space.
    time : numpy.ndarray of int64
        Event times (microseconds).
    bucket : numpy.ndarray of int64
        Event buckets, in ``[0, n_buckets)``.
    n_buckets : int
    compiled : bool, optional
        Force the compiled loop (True) or numpy (False); default :data:`COMPILED`.

    Returns
    -------
    Counts
        Rows in ascending code order; runs sorted by row, then start.

    Examples
    --------
    >>> import numpy as np
    >>> from behavemodel.models._kernels import count_cells
    >>> counts = count_cells(np.array([3, 1, 3, 3]), 4, np.array([10, 20, 30, 40]),
    ...                      np.array([0, 0, 2, 3]), 4)
    >>> counts.codes, counts.events, counts.first, counts.last
    (array([1, 3]), array([1, 3]), array([20, 10]), array([20, 40]))
    >>> counts.run_owner, counts.run_start, counts.run_end
    (array([0, 1, 1]), array([0, 0, 2]), array([0, 0, 3]))
    """
    use = COMPILED if compiled is None else compiled
    n_buckets = max(int(n_buckets), 1)
    if use and size <= max(1 << 22, len(index)):
        done, *found = _jit(_count_loop)(
            np.ascontiguousarray(index, dtype=np.int64),
            int(size),
            np.ascontiguousarray(time, dtype=np.int64),
            np.ascontiguousarray(bucket, dtype=np.int64),
            n_buckets,
            _cells_limit(len(index)),
        )
        if done:
            return Counts(*found)
    return _count_numpy(index, size, time, bucket, n_buckets)
