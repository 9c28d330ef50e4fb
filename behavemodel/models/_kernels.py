"""Inner loops over events, compiled with numba when it is installed (``behavemodel[fast]``).

Each function has a numpy twin giving identical results; :data:`COMPILED` says
which one runs. numpy needs several passes over the events (gathers, a
maximum, a scatter, a mask); the compiled loop makes one.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import numpy as np

from behavemodel.features._loops import (
    _jit,
    fill_codes,
    integer_codes,
    mark_pairs,
    use_compiled,
)

__all__ = [
    "COMPILED",
    "Counts",
    "ScoreTables",
    "apply_scores",
    "count_cells",
    "fill_codes",
    "fold_codes",
    "integer_codes",
    "mark_pairs",
    "model_keys",
    "move_runs",
    "score_events",
    "union_runs",
]

#: Whether the compiled loops are used: numba is installed (``pip install
#: 'behavemodel[fast]'``). It is imported, and the loops loaded from numba's
#: cache or compiled, on first use. :func:`~behavemodel.features._loops.numpy_loops`
#: runs the numpy twins for a while.
COMPILED = importlib.util.find_spec("numba") is not None


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
    use = use_compiled(COMPILED, compiled)
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
    slot = np.full(size, -1, dtype=np.int32)
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
    # events, first and last time of a code side by side (one cache line); the cells
    # bucket-major, so that events close in time mark cells close in memory
    acc = np.empty(3 * n, dtype=np.int64)
    for s in range(n):
        acc[3 * s] = 0
        acc[3 * s + 1] = np.iinfo(np.int64).max
        acc[3 * s + 2] = np.iinfo(np.int64).min
    cells = np.zeros(n_buckets * n, dtype=np.bool_)
    for i in range(index.shape[0]):
        s = slot[index[i]]
        a = 3 * s
        acc[a] += 1
        t = time[i]
        if t < acc[a + 1]:
            acc[a + 1] = t
        if t > acc[a + 2]:
            acc[a + 2] = t
        cells[bucket[i] * n + s] = True
    # runs, sorted by code then start. First how many, counted along the bucket-major
    # cells (a run starts at a cell set after one that is not; no branch); then the
    # runs themselves, in order, from blocks of 64 codes turned code-major in a buffer
    starts = np.zeros(n, dtype=np.int64)
    for s in range(n):
        starts[s] = cells[s]
    for b in range(1, n_buckets):
        base = b * n
        for s in range(n):
            starts[s] += cells[base + s] > cells[base - n + s]
    runs = starts.sum()
    owner = np.empty(runs, dtype=np.int64)
    start = np.empty(runs, dtype=np.int64)
    end = np.empty(runs, dtype=np.int64)
    block = np.empty(64 * n_buckets, dtype=np.bool_)
    j = -1
    for s0 in range(0, n, 64):
        width = min(64, n - s0)
        for b in range(n_buckets):
            base = b * n + s0
            for k in range(width):
                block[k * n_buckets + b] = cells[base + k]
        for k in range(width):
            line = k * n_buckets
            for b in range(n_buckets):
                if block[line + b]:
                    if b == 0 or not block[line + b - 1]:
                        j += 1
                        owner[j] = s0 + k
                        start[j] = b
                    end[j] = b
    return True, codes, acc[0::3].copy(), acc[1::3].copy(), acc[2::3].copy(), owner, start, end


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
    index : numpy.ndarray of int32 or int64
        A code in ``[0, size)`` per event (a (group, host, key) combination).
    size : int
        The size of the code space.
    time : numpy.ndarray of int64
        Event times (microseconds).
    bucket : numpy.ndarray of int32 or int64
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
    use = use_compiled(COMPILED, compiled)
    n_buckets = max(int(n_buckets), 1)
    # the loop numbers the codes in int32
    if use and size <= max(1 << 22, len(index)) and size < 2**31:
        done, *found = _jit(_count_loop)(
            _integers(index),
            int(size),
            np.ascontiguousarray(time, dtype=np.int64),
            _integers(bucket),
            n_buckets,
            _cells_limit(len(index)),
        )
        if done:
            return Counts(*found)
    return _count_numpy(index, size, time, bucket, n_buckets)


def _integers(codes: np.ndarray) -> np.ndarray:
    """``codes`` as contiguous int32 or int64, whichever it is (others widen to int64)."""
    if codes.dtype in (np.int32, np.int64):
        return np.ascontiguousarray(codes)
    return np.ascontiguousarray(codes, dtype=np.int64)


def _union_loop(
    owner: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    n_owners: int,
    out_owner: np.ndarray,
    out_start: np.ndarray,
    out_end: np.ndarray,
) -> int:  # pragma: no cover - compiled by numba; union_runs' numpy code is its twin
    # the runs grouped by owner (a counting sort, stable), then each owner's sorted
    # by start (few per owner: insertion sort) and swept once
    first = np.zeros(n_owners + 1, dtype=np.int64)
    for i in range(owner.shape[0]):
        first[owner[i] + 1] += 1
    for o in range(n_owners):
        first[o + 1] += first[o]
    fill = first[:-1].copy()
    order = np.empty(owner.shape[0], dtype=np.int64)
    for i in range(owner.shape[0]):
        order[fill[owner[i]]] = i
        fill[owner[i]] += 1
    j = 0
    for o in range(n_owners):
        lo, hi = first[o], first[o + 1]
        if hi - lo > 32:
            within = order[lo:hi]
            order[lo:hi] = within[np.argsort(start[within], kind="mergesort")]
        else:
            for k in range(lo + 1, hi):
                i = order[k]
                m = k - 1
                while m >= lo and start[order[m]] > start[i]:
                    order[m + 1] = order[m]
                    m -= 1
                order[m + 1] = i
        for k in range(lo, hi):
            i = order[k]
            if k > lo and start[i] <= out_end[j - 1] + 1:  # overlaps or touches the last
                if end[i] > out_end[j - 1]:
                    out_end[j - 1] = end[i]
                continue
            out_owner[j] = o
            out_start[j] = start[i]
            out_end[j] = end[i]
            j += 1
    return j


def union_runs(
    owner: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coalesce inclusive intervals per owner in compiled passes, without a global sort.

    The compiled loop of :func:`behavemodel.models._stats._union_runs`, whose
    numpy code (one sort of every run) is its twin. ``owner`` is non-negative.

    Examples
    --------
    >>> import numpy as np
    >>> from behavemodel.models._kernels import union_runs
    >>> union_runs(np.array([1, 0, 1, 1]), np.array([5, 2, 1, 3]), np.array([6, 2, 2, 3]))
    (array([0, 1, 1]), array([2, 1, 5]), array([2, 3, 6]))
    """
    n = len(owner)
    out = [np.empty(n, dtype=np.int64) for _ in range(3)]
    found = _jit(_union_loop)(
        np.ascontiguousarray(owner, dtype=np.int64),
        np.ascontiguousarray(start, dtype=np.int64),
        np.ascontiguousarray(end, dtype=np.int64),
        int(owner.max()) + 1 if n else 0,
        *out,
    )
    return out[0][:found], out[1][:found], out[2][:found]


def _fold_loop(
    first: np.ndarray, part: np.ndarray, size: int, out: np.ndarray
) -> None:  # pragma: no cover - compiled by numba; its numpy twin is tested against it
    for i in range(out.shape[0]):
        out[i] = first[i] * size + part[i]


def fold_codes(
    first: np.ndarray,
    part: np.ndarray,
    size: int,
    *,
    out: np.ndarray | None = None,
    compiled: bool | None = None,
) -> np.ndarray:
    """``first * size + part``: one more digit of a mixed-radix code, in one pass.

    Parameters
    ----------
    first, part : numpy.ndarray of int
        Codes so far, and the next digit (in ``[0, size)``), of the same length.
    size : int
    out : numpy.ndarray of int32 or int64, optional
        Where to write (may be ``first`` itself); a new int64 array by default.
        int32 only when every result fits.
    compiled : bool, optional
        Force the compiled loop (True) or numpy (False); default :data:`COMPILED`.

    Returns
    -------
    numpy.ndarray
        ``out``.

    Examples
    --------
    >>> import numpy as np
    >>> from behavemodel.models._kernels import fold_codes
    >>> fold_codes(np.array([0, 1, 2]), np.array([2, 0, 1], dtype=np.int32), 3)
    array([2, 3, 7])
    """
    if out is None:
        out = np.empty(len(first), dtype=np.int64)
    use = use_compiled(COMPILED, compiled)
    if use and len(out):
        _jit(_fold_loop)(first, part, int(size), out)
        return out
    np.multiply(first, size, out=out, dtype=out.dtype)
    out += part
    return out


class ScoreTables(NamedTuple):
    """Everything :func:`score_events` looks up, as flat arrays (see :mod:`._fused`).

    Per event, ``gtab[(codes[host] + 1) * width + codes[group] + 1]`` is its model
    group (``-1``: not in the model, ``-2``: the event is invalid). Selection
    ``s`` holds the events whose every filter ``e`` in
    ``sel_start[s]:sel_start[s + 1]`` passes: ``ftab[f_off[e] + code + 1]`` for
    the code of column ``f_col[e]``. Feature ``f`` looks at selection
    ``feat_sel[f]``; its key components ``q`` in ``q_start[f]:q_start[f + 1]``
    read column ``q_col[q]``, else (null) the fallback ``q_fb[q]`` shifted by
    ``q_n[q]``, and map that code through ``ptab[q_off[q] + code + 1]`` to a
    model component (``-1``: not in the model, ``-2``: no key). The components
    in mixed radix ``q_radix`` index ``ktab[k_off[f]:]``, the model key (or
    ``-1``); ``stab`` / ``dtab`` at ``s_off[f] + (group + 1) * (k_n[f] + 1) +
    key + 1`` hold the score and whether it is a deviation.

    Optionally, feature ``f`` with ``d_off[f] >= 0`` skips those steps: its key is
    ``ctab[d_off[f] + sum((code_q + 1) * q_stride[q])]`` over its components (the
    code after the fallback, as above; ``-2``: no key), one table over every
    combination of the codes (see :mod:`._fused`). Both the loop and its numpy
    twin use it; without it they give the same keys.
    """

    host: int
    group: int
    width: int
    gtab: np.ndarray
    sel_start: np.ndarray
    f_col: np.ndarray
    f_off: np.ndarray
    ftab: np.ndarray
    feat_sel: np.ndarray
    q_start: np.ndarray
    q_col: np.ndarray
    q_fb: np.ndarray
    q_n: np.ndarray
    q_off: np.ndarray
    q_radix: np.ndarray
    ptab: np.ndarray
    k_off: np.ndarray
    ktab: np.ndarray
    k_n: np.ndarray
    s_off: np.ndarray
    stab: np.ndarray
    dtab: np.ndarray
    d_off: np.ndarray | None = None
    q_stride: np.ndarray | None = None
    ctab: np.ndarray | None = None


def model_keys(
    lookups: Sequence[np.ndarray], radices: Sequence[int], ktab: np.ndarray
) -> np.ndarray:
    """A feature's model key from what its key components' tables give.

    ``-2`` when a component has no key, ``-1`` when a component or the
    combination is not in the model, else ``ktab`` at the mixed-radix
    combination. The lookups broadcast together: one per event, or a grid of
    every combination of codes.

    Examples
    --------
    >>> import numpy as np
    >>> from behavemodel.models._kernels import model_keys
    >>> ktab = np.array([-1, 7, 8, -1])  # combination (0, 1) is key 7, (1, 0) is key 8
    >>> model_keys([np.array([0, 1, -1, -2]), np.array([1, 0, 0, 1])], [2, 2], ktab)
    array([ 7,  8, -1, -2])
    """
    keyed: Any = True
    known: Any = True
    radix: Any = 0
    for lookup, base in zip(lookups, radices, strict=True):
        keyed = keyed & (lookup != -2)
        known = known & (lookup >= 0)  # so no key (-2) is not known either
        radix = radix * base + np.maximum(lookup, 0)
    key = np.where(known, ktab[np.where(known, radix, 0)], -1)
    return np.where(keyed, key, -2).astype(np.int64)


def _score_events_numpy(
    codes: np.ndarray, t: ScoreTables
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = codes.shape[1]
    row_score = np.zeros(n, dtype=np.float64)
    mask = np.zeros(n, dtype=np.int64)
    for start in range(0, n, _NUMPY_BLOCK):  # blocks whose temporaries stay in cache
        stop = min(n, start + _NUMPY_BLOCK)
        _score_block_numpy(codes[:, start:stop], t, row_score[start:stop], mask[start:stop])
    rows = np.flatnonzero(mask)
    return row_score, rows, mask[rows]


#: Events per block of the numpy scoring twin.
_NUMPY_BLOCK = 1 << 16


def _score_block_numpy(
    codes: np.ndarray, t: ScoreTables, row_score: np.ndarray, mask: np.ndarray
) -> None:
    """:func:`_score_events_numpy` of one block, into ``row_score`` and ``mask``.

    Each feature is looked up for the events its selection keeps only.
    """
    place = (codes[t.host].astype(np.int64) + 1) * t.width
    if t.group >= 0:
        place += codes[t.group]
        place += 1
    mg = t.gtab[place]
    valid = mg != -2
    selections = []
    for s in range(len(t.sel_start) - 1):
        ok = valid.copy()
        for e in range(t.sel_start[s], t.sel_start[s + 1]):
            ok &= t.ftab[codes[t.f_col[e]].astype(np.int64) + (t.f_off[e] + 1)]
        selections.append(ok)
    for f in range(len(t.feat_sel)):
        rows = np.flatnonzero(selections[t.feat_sel[f]])
        if not len(rows):
            continue
        parts = range(t.q_start[f], t.q_start[f + 1])
        components = []
        for q in parts:
            c = codes[t.q_col[q]][rows].astype(np.int64)
            if t.q_fb[q] >= 0:
                b = codes[t.q_fb[q]][rows].astype(np.int64)
                c = np.where(c < 0, np.where(b >= 0, b + t.q_n[q], -1), c)
            components.append(c)
        if (
            t.d_off is not None
            and t.d_off[f] >= 0
            and t.q_stride is not None
            and t.ctab is not None
        ):
            at = np.full(len(rows), t.d_off[f], dtype=np.int64)
            for q, c in zip(parts, components, strict=True):
                at += (c + 1) * t.q_stride[q]
            key = t.ctab[at]
        else:
            lookups = [t.ptab[t.q_off[q] + c + 1] for q, c in zip(parts, components, strict=True)]
            key = model_keys(
                lookups, t.q_radix[parts.start : parts.stop].tolist(), t.ktab[t.k_off[f] :]
            )
        keyed = key != -2
        rows, key = rows[keyed], key[keyed]
        at = t.s_off[f] + (mg[rows] + 1) * (t.k_n[f] + 1) + key + 1
        row_score[rows] = np.maximum(row_score[rows], t.stab[at])
        mask[rows[t.dtab[at]]] |= np.int64(1) << f


def _score_events_loop(
    codes: np.ndarray,
    host: int,
    group: int,
    width: int,
    gtab: np.ndarray,
    sel_start: np.ndarray,
    f_col: np.ndarray,
    f_off: np.ndarray,
    ftab: np.ndarray,
    feat_sel: np.ndarray,
    q_start: np.ndarray,
    q_col: np.ndarray,
    q_fb: np.ndarray,
    q_n: np.ndarray,
    q_off: np.ndarray,
    q_radix: np.ndarray,
    ptab: np.ndarray,
    k_off: np.ndarray,
    ktab: np.ndarray,
    k_n: np.ndarray,
    s_off: np.ndarray,
    stab: np.ndarray,
    dtab: np.ndarray,
    d_off: np.ndarray,
    q_stride: np.ndarray,
    ctab: np.ndarray,
    row_score: np.ndarray,
    out_rows: np.ndarray,
    out_mask: np.ndarray,
    start: int,
    stop: int,
) -> int:  # pragma: no cover - compiled by numba; its numpy twin is tested against it
    # Events go in blocks that stay in L1: first the model group and the
    # selections of the whole block, one column at a time (tight loops, no
    # branch), then per event only the features it is selected for. Checking
    # the filters event by event cost about as much as all the key lookups.
    # Table and column indices are non-negative: unsigned, they skip numba's
    # wraparound test.
    block = 1024
    n_sel = sel_start.shape[0] - 1
    n_feat = feat_sel.shape[0]
    mg = np.empty(block, dtype=np.int64)
    ok = np.empty((max(n_sel, 1), block), dtype=np.bool_)
    chosen = np.empty(block, dtype=np.int64)  # per event, a bit per feature that selects it
    hosts = codes[host]
    groups = codes[max(group, 0)]
    found = start
    for b0 in range(start, stop, block):
        m = min(block, stop - b0)
        h = hosts[b0 : b0 + m]
        if group >= 0:
            g = groups[b0 : b0 + m]
            for k in range(m):
                mg[k] = gtab[np.uint64((h[k] + 1) * width + g[k] + 1)]
        else:
            for k in range(m):
                mg[k] = gtab[np.uint64((h[k] + 1) * width)]
        for s in range(n_sel):
            oks = ok[s]
            for k in range(m):
                oks[k] = mg[k] != -2  # invalid events are in no selection
            for e in range(sel_start[s], sel_start[s + 1]):
                column = codes[np.uint64(f_col[e])][b0 : b0 + m]
                off = f_off[e] + 1
                for k in range(m):
                    oks[k] &= ftab[np.uint64(off + column[k])]
        for k in range(m):
            chosen[k] = 0
        for f in range(n_feat):
            okf = ok[feat_sel[f]]
            for k in range(m):
                chosen[k] |= np.int64(okf[k]) << f
        for k in range(m):
            i = b0 + k
            features = chosen[k]
            if features == 0:
                row_score[i] = 0.0
                continue
            best = 0.0
            mask = 0
            for f in range(n_feat):
                if not (features >> f) & 1:
                    continue
                if d_off[f] >= 0:  # one lookup over the combined codes
                    idx = 0
                    for q in range(q_start[f], q_start[f + 1]):
                        c = codes[np.uint64(q_col[q]), i]
                        if c < 0 and q_fb[q] >= 0:
                            b = codes[np.uint64(q_fb[q]), i]
                            c = b + q_n[q] if b >= 0 else -1
                        idx += (c + 1) * q_stride[q]
                    key = ctab[np.uint64(d_off[f] + idx)]
                    if key == -2:
                        continue
                else:
                    radix = 0
                    known = True
                    keyed = True
                    for q in range(q_start[f], q_start[f + 1]):
                        c = codes[np.uint64(q_col[q]), i]
                        if c < 0 and q_fb[q] >= 0:
                            b = codes[np.uint64(q_fb[q]), i]
                            c = b + q_n[q] if b >= 0 else -1
                        v = ptab[np.uint64(q_off[q] + c + 1)]
                        if v == -2:
                            keyed = False
                            break
                        if v < 0:
                            known = False
                        else:
                            radix = radix * q_radix[q] + v
                    if not keyed:
                        continue
                    key = ktab[np.uint64(k_off[f] + radix)] if known else -1
                at = s_off[f] + (mg[k] + 1) * (k_n[f] + 1) + key + 1
                score = stab[np.uint64(at)]
                if score > best:
                    best = score
                if dtab[np.uint64(at)]:
                    mask |= 1 << f
            row_score[i] = best
            if mask:
                out_rows[found] = i
                out_mask[found] = mask
                found += 1
    return found


def score_events(
    codes: np.ndarray, tables: ScoreTables, *, compiled: bool | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score every event in one pass: filters, keys, model lookups, the maximum over features.

    Parameters
    ----------
    codes : numpy.ndarray of int32, shape (columns, events)
        Dictionary codes of the columns the tables refer to (``-1``: null).
    tables : ScoreTables
    compiled : bool, optional
        Force the compiled loop (True) or numpy (False); default :data:`COMPILED`.

    Returns
    -------
    row_score : numpy.ndarray of float64
        Per event, the highest score of its features (0 when none looks at it).
    rows : numpy.ndarray of int64
        The events (ascending) that deviate in at least one feature.
    features : numpy.ndarray of int64
        Per such event, a bit mask of the features in which it deviates.

    Examples
    --------
    One feature with one key component, two model groups and two model keys:

    >>> import numpy as np
    >>> from behavemodel.models._kernels import ScoreTables, score_events
    >>> i = lambda *v: np.array(v, dtype=np.int64)
    >>> tables = ScoreTables(
    ...     host=0, group=-1, width=1, gtab=i(-2, 0, 1),       # host code -> group
    ...     sel_start=i(0, 0), f_col=i(), f_off=i(), ftab=np.zeros(0, bool),
    ...     feat_sel=i(0), q_start=i(0, 1), q_col=i(1), q_fb=i(-1), q_n=i(2),
    ...     q_off=i(0), q_radix=i(2), ptab=i(-2, 0, -1),      # key code -> model part
    ...     k_off=i(0), ktab=i(0, 1), k_n=i(2), s_off=i(0),
    ...     stab=np.arange(9) / 10, dtab=np.arange(9) % 4 == 0)
    >>> codes = np.array([[0, 1, 1, 0], [0, 0, 1, -1]], dtype=np.int32)
    >>> score_events(codes, tables, compiled=False)
    (array([0.4, 0.7, 0.6, 0. ]), array([0]), array([1]))
    """
    use = use_compiled(COMPILED, compiled)
    if not use:
        return _score_events_numpy(codes, tables)
    n = codes.shape[1]
    row_score = np.empty(n, dtype=np.float64)
    out_rows = np.empty(n, dtype=np.int64)
    out_mask = np.empty(n, dtype=np.int64)
    loop = _jit(_score_events_loop)
    args = (*_loop_tables(codes, tables), row_score, out_rows, out_mask)
    # the loop releases the GIL: halves of a large batch run on two threads
    middle = n // 2 if n >= _SPLIT_ROWS and _CPUS > 1 else n
    other = _pool().submit(lambda: loop(*args, middle, n)) if middle < n else None
    found = loop(*args, 0, middle)
    rows, mask = out_rows[:found], out_mask[:found]
    if other is not None:
        end = other.result()
        rows = np.concatenate([rows, out_rows[middle:end]])
        mask = np.concatenate([mask, out_mask[middle:end]])
    return row_score, rows, mask


def _loop_tables(codes: np.ndarray, tables: ScoreTables) -> tuple[Any, ...]:
    """The arguments of :func:`_score_events_loop` before its outputs (no direct keys: -1)."""
    n_feat = len(tables.feat_sel)
    d_off = np.full(n_feat, -1, dtype=np.int64) if tables.d_off is None else tables.d_off
    q_stride = np.zeros(len(tables.q_col), dtype=np.int64)
    if tables.q_stride is not None:
        q_stride = tables.q_stride
    ctab = np.zeros(1, dtype=np.int64) if tables.ctab is None else tables.ctab
    return (
        np.ascontiguousarray(codes, dtype=np.int32),
        int(tables.host),
        int(tables.group),
        int(tables.width),
        *(np.ascontiguousarray(a) for a in tables[3:22]),
        *(np.ascontiguousarray(a, dtype=np.int64) for a in (d_off, q_stride, ctab)),
    )


#: Batches of at least this many events are scored on two threads.
_SPLIT_ROWS = 100_000
_CPUS = os.cpu_count() or 1
_POOL: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    """The second scoring thread of this process (a forked child makes its own)."""
    pid = os.getpid()
    if pid not in _POOL:
        _POOL.clear()  # a parent's pool has no thread in a forked child
        _POOL[pid] = ThreadPoolExecutor(1, thread_name_prefix="behavemodel-score")
    return _POOL[pid]


def _move_loop(
    old: np.ndarray,
    new: np.ndarray,
    order: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    shift: int,
    new_start: np.ndarray,
    new_end: np.ndarray,
) -> None:  # pragma: no cover - compiled by numba; permute_runs' numpy code is its twin
    for i in range(order.shape[0]):
        source = old[order[i]]
        target = new[i]
        for j in range(new[i + 1] - target):
            new_start[target + j] = start[source + j] + shift
            new_end[target + j] = end[source + j] + shift


def move_runs(
    old: np.ndarray,
    new: np.ndarray,
    order: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    shift: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Copy the runs of row ``order[i]`` (``old`` offsets) to row ``i`` (``new`` offsets).

    ``shift`` is added to every start and end on the way.

    The compiled loop of :func:`behavemodel.models._count.permute_runs`, whose
    numpy code (a gather) is its twin.

    Examples
    --------
    >>> import numpy as np
    >>> from behavemodel.models._kernels import move_runs
    >>> old, new = np.array([0, 2, 3]), np.array([0, 1, 3])
    >>> move_runs(old, new, np.array([1, 0]), np.array([5, 6, 7]), np.array([5, 6, 9]))
    (array([7, 5, 6]), array([9, 5, 6]))
    """
    new_start = np.empty(int(new[-1]), dtype=np.int64)
    new_end = np.empty(int(new[-1]), dtype=np.int64)
    _jit(_move_loop)(
        np.ascontiguousarray(old, dtype=np.int64),
        np.ascontiguousarray(new, dtype=np.int64),
        np.ascontiguousarray(order, dtype=np.int64),
        np.ascontiguousarray(start, dtype=np.int64),
        np.ascontiguousarray(end, dtype=np.int64),
        int(shift),
        new_start,
        new_end,
    )
    return new_start, new_end
