"""Per-event loops of dictionary coding, compiled with numba when it is installed.

Each function has a numpy twin giving identical results (``compiled=False``);
:data:`COMPILED` says which one runs by default. They live with the features
because :func:`behavemodel.features._codes.encode` uses them; the models'
loops (:mod:`behavemodel.models._kernels`) share :func:`_jit`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "COMPILED",
    "and_lookup",
    "count_codes",
    "fill_codes",
    "integer_codes",
    "load_compiled",
    "loops_for",
    "mark_pairs",
    "numpy_loops",
    "pair_lookup",
    "use_compiled",
]

#: Whether the compiled loops are used: numba is installed (``pip install
#: 'behavemodel[fast]'``). It is imported, and the loops loaded from numba's
#: cache or compiled, on first use. :func:`numpy_loops` runs the numpy twins
#: for a while.
COMPILED = importlib.util.find_spec("numba") is not None
_JITTED: dict[tuple[str, str], Any] = {}
_NUMPY_ONLY: ContextVar[bool] = ContextVar("behavemodel_numpy_loops", default=False)


def use_compiled(default: bool, compiled: bool | None = None) -> bool:
    """Whether a loop runs compiled: ``compiled`` when given, else ``default``
    (a module's :data:`COMPILED`) unless :func:`numpy_loops` is in force.

    Examples
    --------
    >>> from behavemodel.features._loops import numpy_loops, use_compiled
    >>> use_compiled(True), use_compiled(True, False)
    (True, False)
    >>> with numpy_loops():
    ...     use_compiled(True), use_compiled(True, True)
    (False, True)
    """
    if compiled is not None:
        return compiled
    return default and not _NUMPY_ONLY.get()


@contextlib.contextmanager
def numpy_loops() -> Iterator[None]:
    """Run the numpy twins, in this thread or task, where no call forces an engine.

    Loading numba and its cached loops takes about 0.3 s once per process,
    more than the compiled loops save on a few million events.
    """
    token = _NUMPY_ONLY.set(True)
    try:
        yield
    finally:
        _NUMPY_ONLY.reset(token)


def loops_for(rows: int | None, below: int) -> contextlib.AbstractContextManager[None]:
    """The loops for ``rows`` events: numpy below ``below`` rows while numba is not imported.

    Numba's start-up costs more than its loops save on small inputs. Both give
    the same results; only the time differs. With ``rows`` unknown (a stream),
    or numba already imported, the default stands.

    Examples
    --------
    >>> from behavemodel.features._loops import loops_for, numba_loaded, use_compiled
    >>> with loops_for(1000, below=10**6):  # numpy, unless numba is already imported
    ...     use_compiled(True) == numba_loaded()
    True
    >>> with loops_for(None, below=10**6), loops_for(10**9, below=10**6):
    ...     use_compiled(True)
    True
    """
    if rows is None or rows >= below or numba_loaded():
        return contextlib.nullcontext()
    return numpy_loops()


def load_compiled() -> None:
    """Import numba and load a cached loop now, if the compiled loops are to run.

    The first loop sets up numba's compiler (about 0.3 s with the import, once
    per process); :func:`behavemodel.scoring.score_parquet` has it done while
    the first row group is read rather than after.

    Examples
    --------
    >>> from behavemodel.features._loops import load_compiled, numpy_loops
    >>> with numpy_loops():
    ...     load_compiled()  # nothing to load
    """
    if use_compiled(COMPILED):
        count_codes(pa.array([0], pa.int32()), 1)


def numba_loaded() -> bool:
    """Whether numba is imported in this process (its start-up is then paid)."""
    return "numba" in sys.modules


def _jit(function: Any) -> Any:
    """The compiled version of ``function`` (numba imported on first use).

    Keyed by module and qualified name: loops of the same name in two modules
    are two loops.
    """
    key = (function.__module__, function.__qualname__)
    found = _JITTED.get(key)
    if found is None:
        import numba

        found = _JITTED[key] = numba.njit(cache=True, nogil=True)(function)
    return found


def _fill_loop(
    data: np.ndarray, bitmap: np.ndarray, offset: int, out: np.ndarray
) -> None:  # pragma: no cover - compiled by numba; its numpy twin is tested against it
    n = out.shape[0]
    i = 0
    while i < n and (i + offset) & 7:  # single values up to a bitmap byte boundary
        j = i + offset
        valid = (bitmap[j >> 3] >> (j & 7)) & 1  # no branch: nulls are not predictable
        out[i] = data[i] * valid + (valid - 1)
        i += 1
    while i + 8 <= n:  # then eight values per bitmap byte (unrolled, vectorised)
        byte = np.int32(bitmap[(i + offset) >> 3])
        for q in range(8):
            valid = (byte >> q) & 1
            out[i + q] = data[i + q] * valid + (valid - 1)
        i += 8
    while i < n:
        j = i + offset
        valid = (bitmap[j >> 3] >> (j & 7)) & 1
        out[i] = data[i] * valid + (valid - 1)
        i += 1


def _buffer(array: pa.Array, dtype: Any) -> np.ndarray:
    """The values buffer of a fixed-width array, as numpy (``array.offset`` applied)."""
    data = array.buffers()[1]
    n, offset = len(array), array.offset
    return np.frombuffer(data, dtype=dtype, count=offset + n)[offset:]


def _valid_bits(array: pa.Array) -> np.ndarray:
    return np.frombuffer(array.buffers()[0], dtype=np.uint8)


def fill_codes(indices: pa.Array, out: np.ndarray, *, compiled: bool | None = None) -> None:
    """Write integer ``indices`` (a dictionary's) into ``out``, ``-1`` for nulls.

    One pass over the validity bitmap and the values, in place of unpacking the
    bitmap and selecting (numpy's three passes and two temporary arrays).

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> from behavemodel.features._loops import fill_codes
    >>> out = np.empty(4, dtype=np.int32)
    >>> fill_codes(pa.array([2, None, 0, 1], pa.int8()), out)
    >>> out
    array([ 2, -1,  0,  1], dtype=int32)
    """
    if indices.null_count == len(indices):  # all null (an absent optional column): no read
        out.fill(-1)
        return
    data = _buffer(indices, indices.type.to_pandas_dtype())
    if indices.null_count == 0:
        out[:] = data
        return
    use = use_compiled(COMPILED, compiled)
    if use:
        _jit(_fill_loop)(data, _valid_bits(indices), indices.offset, out)
        return
    n, offset = len(indices), indices.offset
    valid = np.unpackbits(_valid_bits(indices), bitorder="little", count=offset + n)[offset:]
    out[:] = np.where(valid.view(bool), data, -1)


def _tally_loop(  # not _count_loop: _jit keys by name and _kernels has one
    data: np.ndarray, bitmap: np.ndarray, offset: int, counts: np.ndarray
) -> None:  # pragma: no cover - compiled by numba; its numpy twin is tested against it
    if bitmap.shape[0] == 0:
        for i in range(data.shape[0]):
            counts[data[i]] += 1
        return
    last = counts.shape[0] - 1  # nulls count in the spare last slot (their data may be anything)
    for i in range(data.shape[0]):
        j = i + offset
        valid = (bitmap[j >> 3] >> (j & 7)) & 1
        counts[data[i] * valid + (1 - valid) * last] += 1


def count_codes(indices: pa.Array, size: int, *, compiled: bool | None = None) -> np.ndarray:
    """How often each code ``0 .. size - 1`` occurs in ``indices`` (nulls not counted).

    ``indices`` are a dictionary's (every valid value below ``size``). One pass
    over the buffers; ``np.bincount`` first converts them to int64 and scans
    for the largest.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from behavemodel.features._loops import count_codes
    >>> count_codes(pa.array([2, None, 0, 2], pa.int32()), 4)
    array([1, 0, 2, 0])
    """
    data = _buffer(indices, indices.type.to_pandas_dtype())
    use = use_compiled(COMPILED, compiled)
    if use and len(indices):
        counts = np.zeros(size + 1, dtype=np.int64)
        bitmap = _valid_bits(indices) if indices.null_count else np.zeros(0, dtype=np.uint8)
        _jit(_tally_loop)(data, bitmap, indices.offset, counts)
        return counts[:size]
    valid = _valid_numpy(indices)
    return np.bincount(data[valid].astype(np.intp), minlength=size)[:size].astype(np.int64)


def _range_loop(
    data: np.ndarray, bitmap: np.ndarray, offset: int
) -> tuple[int, int]:  # pragma: no cover - compiled by numba; its numpy twin is tested
    low: Any = np.iinfo(np.int64).max
    high: Any = np.iinfo(np.int64).min
    for i in range(data.shape[0]):
        j = i + offset
        if bitmap.shape[0] == 0 or (bitmap[j >> 3] >> (j & 7)) & 1:
            x = np.int64(data[i])
            low = min(low, x)
            high = max(high, x)
    return low, high


def _present_loop(
    data: np.ndarray, bitmap: np.ndarray, offset: int, low: int, present: np.ndarray
) -> None:  # pragma: no cover - compiled by numba; its numpy twin is tested against it
    if bitmap.shape[0] == 0:
        for i in range(data.shape[0]):
            present[data[i] - low] = True
        return
    last = present.shape[0] - 1  # nulls mark the spare last slot
    n = data.shape[0]
    i = 0
    while i < n and (i + offset) & 7:  # single values up to a bitmap byte boundary
        j = i + offset
        valid = (bitmap[j >> 3] >> (j & 7)) & 1
        present[(data[i] - low) * valid + (1 - valid) * last] = True
        i += 1
    while i + 8 <= n:  # then eight values per bitmap byte
        byte = np.int64(bitmap[(i + offset) >> 3])
        for q in range(8):
            valid = (byte >> q) & 1
            present[(data[i + q] - low) * valid + (1 - valid) * last] = True
        i += 8
    while i < n:
        j = i + offset
        valid = (bitmap[j >> 3] >> (j & 7)) & 1
        present[(data[i] - low) * valid + (1 - valid) * last] = True
        i += 1


def _rank_loop(
    data: np.ndarray, bitmap: np.ndarray, offset: int, low: int, rank: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - compiled by numba; its numpy twin is tested against it
    if bitmap.shape[0] == 0:
        for i in range(data.shape[0]):
            out[i] = rank[data[i] - low]
        return
    n = data.shape[0]
    i = 0
    while i < n and (i + offset) & 7:  # single values up to a bitmap byte boundary
        j = i + offset
        valid = (bitmap[j >> 3] >> (j & 7)) & 1
        out[i] = rank[(data[i] - low) * valid] * valid + (valid - 1)
        i += 1
    while i + 8 <= n:  # then eight values per bitmap byte
        byte = np.int64(bitmap[(i + offset) >> 3])
        for q in range(8):
            valid = (byte >> q) & 1
            out[i + q] = rank[(data[i + q] - low) * valid] * valid + (valid - 1)
        i += 8
    while i < n:
        j = i + offset
        valid = (bitmap[j >> 3] >> (j & 7)) & 1
        out[i] = rank[(data[i] - low) * valid] * valid + (valid - 1)
        i += 1


def integer_codes(
    values: pa.Array, out: np.ndarray, limit: int, *, compiled: bool | None = None
) -> pa.Array | None:
    """Codes of small-range integers, as :func:`behavemodel.features._codes.encode` numbers them.

    Writes into ``out`` the rank of each value among the distinct values
    (``-1`` for nulls) and returns those values as strings; None (``out``
    untouched) when the range is ``limit`` or wider, or every value is null.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> from behavemodel.features._loops import integer_codes
    >>> out = np.empty(4, dtype=np.int32)
    >>> integer_codes(pa.array([443, None, 22, 443], pa.int32()), out, 1 << 22).to_pylist()
    ['22', '443']
    >>> out
    array([ 1, -1,  0,  1], dtype=int32)
    """
    if values.null_count == len(values) or not pa.types.is_signed_integer(values.type):
        return None
    data = _buffer(values, values.type.to_pandas_dtype())
    bitmap = _valid_bits(values) if values.null_count else np.zeros(0, dtype=np.uint8)
    use = use_compiled(COMPILED, compiled)
    if use:
        low, high = (int(v) for v in _jit(_range_loop)(data, bitmap, values.offset))
    else:
        low, high = (v.as_py() for v in pc.min_max(values).values())
    if high - low >= limit:
        return None
    present = np.zeros(high - low + 2, dtype=bool)
    rank = np.full(len(present), -1, dtype=np.int32)
    if use:
        _jit(_present_loop)(data, bitmap, values.offset, low, present)
        uniq = np.flatnonzero(present[:-1])
        rank[uniq] = np.arange(len(uniq), dtype=np.int32)
        _jit(_rank_loop)(data, bitmap, values.offset, low, rank, out)
    else:
        # nulls (whatever their data) point at the spare last slot, which stays -1
        at = np.subtract(data, low, dtype=np.int64)
        if values.null_count:
            at[~_valid_numpy(values)] = len(present) - 1
        present[at] = True
        present[-1] = False
        uniq = np.flatnonzero(present[:-1])
        rank[uniq] = np.arange(len(uniq), dtype=np.int32)
        if out.dtype == rank.dtype:  # every index is in range: "clip" only skips a buffer
            np.take(rank, at, out=out, mode="clip")
        else:
            out[:] = rank[at]
    return pa.array(uniq + low, pa.int64()).cast(pa.string())


def _valid_numpy(values: pa.Array) -> np.ndarray:
    n, offset = len(values), values.offset
    if not values.null_count:
        return np.ones(n, dtype=bool)
    bits = np.unpackbits(_valid_bits(values), bitorder="little", count=offset + n)
    return bits[offset:].view(bool)


def _and_lookup_loop(
    keep: np.ndarray, codes: np.ndarray, lookup: np.ndarray, negate: bool
) -> None:  # pragma: no cover - compiled by numba; its numpy twin is tested against it
    last = lookup.shape[0] - 1
    for i in range(keep.shape[0]):
        c = codes[i]
        hit = lookup[c + (c < 0) * (last + 1)]  # code -1: the last slot, without a branch
        keep[i] &= hit != negate


def and_lookup(
    keep: np.ndarray,
    codes: np.ndarray,
    lookup: np.ndarray,
    *,
    negate: bool = False,
    compiled: bool | None = None,
) -> None:
    """``keep &= lookup[codes]`` in place (``~lookup`` with ``negate``); code ``-1``: last slot.

    One pass instead of numpy's gather into a temporary and the ``&``.

    Examples
    --------
    >>> import numpy as np
    >>> from behavemodel.features._loops import and_lookup
    >>> keep = np.array([True, True, True, False])
    >>> and_lookup(keep, np.array([0, 1, -1, 0]), np.array([True, False, True]))
    >>> keep
    array([ True, False,  True, False])
    """
    use = use_compiled(COMPILED, compiled)
    if use and len(keep):
        _jit(_and_lookup_loop)(keep, codes, np.ascontiguousarray(lookup, dtype=np.bool_), negate)
        return
    hit = np.asarray(lookup, dtype=bool)[codes]
    if negate:
        np.invert(hit, out=hit)
    keep &= hit


def _pair_take_loop(
    first: np.ndarray, second: np.ndarray, width: int, table: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - compiled by numba; its numpy twin is tested against it
    for i in range(first.shape[0]):
        out[i] = table[(first[i] + 1) * width + second[i] + 1]


def _pairs_loop(
    first: np.ndarray, second: np.ndarray, width: int, seen: np.ndarray
) -> None:  # pragma: no cover - compiled by numba; its numpy twin is tested against it
    for i in range(first.shape[0]):
        seen[(first[i] + 1) * width + second[i] + 1] = True


def mark_pairs(
    first: np.ndarray,
    second: np.ndarray | None,
    width: int,
    seen: np.ndarray,
    *,
    compiled: bool | None = None,
) -> None:
    """Set ``seen[(first + 1) * width + second + 1]`` (``second`` None: ``first + 1``).

    Examples
    --------
    >>> import numpy as np
    >>> from behavemodel.features._loops import mark_pairs
    >>> seen = np.zeros(9, dtype=bool)
    >>> mark_pairs(np.array([0, 1, -1]), np.array([1, -1, 0]), 3, seen)
    >>> np.flatnonzero(seen)
    array([1, 5, 6])
    """
    use = use_compiled(COMPILED, compiled)
    if second is None:
        seen[np.asarray(first, dtype=np.int64) + 1] = True
        return
    if use:
        _jit(_pairs_loop)(first, second, int(width), seen)
        return
    code = np.asarray(first, dtype=np.int64) + 1
    code *= width
    code += second
    code += 1
    seen[code] = True


def pair_lookup(
    first: np.ndarray,
    second: np.ndarray | None,
    width: int,
    size: int,
    number: Callable[[np.ndarray], np.ndarray],
    *,
    compiled: bool | None = None,
) -> np.ndarray:
    """Per row, a number for its pair of codes: two passes over the rows, no temporary.

    The pair of codes ``a, b`` (``-1``: null) is ``(a + 1) * width + b + 1``
    (``second`` None: ``a + 1``), below ``size``. The first pass marks the
    pairs present; ``number(pairs)`` gets them ascending and returns their
    numbers (one each); the second pass gives every row its pair's number, as
    int32 when every number fits (else int64).

    Examples
    --------
    >>> import numpy as np
    >>> from behavemodel.features._loops import pair_lookup
    >>> pair_lookup(np.array([0, 1, 0, -1]), np.array([2, -1, 2, 0]), 4, 12,
    ...             lambda pairs: pairs * 10)
    array([70, 80, 70, 10], dtype=int32)
    """
    use = use_compiled(COMPILED, compiled)
    seen = np.zeros(size, dtype=np.bool_)
    mark_pairs(first, second, width, seen, compiled=use)
    pairs = np.flatnonzero(seen)
    numbers = number(pairs)
    # int32 when the numbers fit: half the memory of the per-row result
    wide = len(numbers) > 0 and (int(numbers.max()) >= 2**31 or int(numbers.min()) < -(2**31))
    table = np.full(size, -1, dtype=np.int64 if wide else np.int32)
    table[pairs] = numbers
    if second is not None and use and len(first):
        out = np.empty(len(first), dtype=table.dtype)
        _jit(_pair_take_loop)(first, second, int(width), table, out)
        return out
    code = np.asarray(first, dtype=np.int64) + 1
    if second is not None:
        code *= width
        code += second
        code += 1
    return table[code]
