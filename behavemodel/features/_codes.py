"""Dictionary codes: the integer plumbing behind extraction, fitting and scoring.

Everything that touches one row per event works on ``int64`` codes into small
dictionaries of distinct values; strings are only handled once per distinct value.
These helpers are private; their contract is documented for the models package.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel.features import _loops

__all__ = [
    "ColumnCodes",
    "combine_codes",
    "encode",
    "recode",
    "to_string_array",
]

# Pairs of code spaces up to this size are combined with a dense table (O(n)),
# larger ones with a hash factorisation.
_DENSE_LIMIT = 1 << 22


def to_string_array(values: pa.Array) -> pa.Array:
    """Return ``values`` as a plain ``string`` array (dictionaries decoded, numbers cast)."""
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    return values


def encode(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Dictionary-encode a column into codes and distinct values.

    Parameters
    ----------
    column : pyarrow.Array or pyarrow.ChunkedArray
        Any type; dictionary columns reuse their dictionary.

    Returns
    -------
    codes : numpy.ndarray of int32 or int64
        One per row, ``-1`` for nulls; may be a read-only view of the column.
    values : pyarrow.Array of string
        The distinct values (no duplicates, no nulls), indexed by ``codes``.
    """
    if isinstance(column, pa.ChunkedArray):
        if column.num_chunks == 1:
            column = column.chunk(0)
        elif pa.types.is_dictionary(column.type) and column.num_chunks:
            column = column.unify_dictionaries()
            dictionary = column.chunk(0).dictionary
            indices = pa.chunked_array([c.indices for c in column.chunks]).combine_chunks()
            column = pa.DictionaryArray.from_arrays(indices, dictionary)
        else:
            column = column.combine_chunks()
    if pa.types.is_integer(column.type):
        dense = _encode_integers(column)
        if dense is not None:
            return dense
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    indices = column.indices
    if len(indices) and indices.null_count == len(indices):  # no value: no pass over the rows
        _, values = recode(np.empty(0, dtype=np.int32), to_string_array(column.dictionary), None)
        return np.full(len(indices), -1, dtype=np.int32), values
    if indices.null_count:
        if _loops.use_compiled(_loops.COMPILED):
            codes = np.empty(
                len(indices), dtype=np.int32 if indices.type.bit_width <= 32 else np.int64
            )
            _loops.fill_codes(indices, codes)
        else:
            codes = _with_nulls(indices)
    else:
        # int32/int64 indices are used in place (read-only); others widen so that
        # code arithmetic cannot overflow
        codes = indices.to_numpy(zero_copy_only=False)
        if codes.dtype not in (np.dtype(np.int32), np.dtype(np.int64)):
            codes = codes.astype(np.int64 if codes.dtype.itemsize >= 4 else np.int32)
    values = to_string_array(column.dictionary)
    # Dictionaries may carry duplicates or nulls (Arrow allows both): canonicalise.
    return recode(codes, values, None)


def _with_nulls(indices: pa.Array) -> np.ndarray:
    """Integer indices with nulls as codes, ``-1`` for nulls (bitmap read directly)."""
    if indices.type.bit_width < 32 or not pa.types.is_signed_integer(indices.type):
        indices = indices.cast(pa.int32() if indices.type.bit_width < 32 else pa.int64())
    n, offset = len(indices), indices.offset
    bitmap, data = indices.buffers()[:2]
    raw = np.frombuffer(data, dtype=indices.type.to_pandas_dtype(), count=offset + n)[offset:]
    valid = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")
    return np.where(valid[offset : offset + n].view(bool), raw, -1)


def _encode_integers(column: pa.Array) -> tuple[np.ndarray, pa.Array] | None:
    """Integers within a small range (ports, uids): dense numbering instead of hashing."""
    if column.null_count == len(column):
        return None
    if _loops.use_compiled(_loops.COMPILED) and pa.types.is_signed_integer(column.type):
        codes = np.empty(len(column), dtype=np.int32)
        values = _loops.integer_codes(column, codes, _DENSE_LIMIT)
        return None if values is None else (codes, values)
    low, high = (v.as_py() for v in pc.min_max(column).values())
    if high - low >= _DENSE_LIMIT:
        return None
    # nulls take the slot just above the range, whose rank is -1
    try:
        filled = pc.fill_null(column, high + 1) if column.null_count else column
    except (pa.ArrowInvalid, OverflowError):  # the range ends at the type's maximum
        return None
    small = -(2**31) <= low and high < 2**31 - 1  # values (and the null slot) fit in int32
    offset = np.subtract(
        filled.to_numpy(zero_copy_only=False), low, dtype=np.int32 if small else np.int64
    )
    present = np.zeros(high - low + 2, dtype=bool)
    present[offset] = True
    present[-1] = False
    uniq = np.flatnonzero(present)
    rank = np.full(len(present), -1, dtype=np.int32)
    rank[uniq] = np.arange(len(uniq), dtype=np.int32)
    return rank[offset], pa.array(uniq + low, pa.int64()).cast(pa.string())


def recode(
    codes: np.ndarray,
    values: pa.Array,
    transform: Callable[[pa.Array], pa.Array] | None,
) -> tuple[np.ndarray, pa.Array]:
    """Apply ``transform`` to the distinct values and merge values that become equal.

    ``transform`` maps a string array to a string array of the same length (nulls
    allowed, meaning "no key"). Work is proportional to the number of distinct
    values plus one integer gather per row.
    """
    return _recode(codes, values, transform)[:2]


def _recode(
    codes: np.ndarray,
    values: pa.Array,
    transform: Callable[[pa.Array], pa.Array] | None,
) -> tuple[np.ndarray, pa.Array, bool]:
    """:func:`recode`, also saying whether the transform turned some values null."""
    if transform is not None:
        values = transform(values)
    encoded = pc.dictionary_encode(values)
    mapping = pc.fill_null(encoded.indices.cast(pa.int64()), -1).to_numpy(zero_copy_only=False)
    new_values = to_string_array(encoded.dictionary)
    if len(mapping) == 0:
        return np.full(len(codes), -1, dtype=np.int64), new_values, True
    identity = len(new_values) == len(values) and bool(
        np.array_equal(mapping, np.arange(len(mapping)))
    )
    if identity:
        return codes, new_values, False
    # code -1 (null) indexes the appended -1: one gather, nulls stay null
    table = np.append(mapping, -1).astype(np.int32 if codes.dtype == np.int32 else np.int64)
    return table[codes], new_values, bool((mapping < 0).any())


def combine_codes(
    codes: Sequence[np.ndarray], sizes: Sequence[int]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Number the distinct tuples of several code columns.

    Parameters
    ----------
    codes : sequence of numpy.ndarray
        Non-negative integer codes, all of the same length.
    sizes : sequence of int
        The size of each code space (max code + 1 at least).

    Returns
    -------
    ids : numpy.ndarray of int64
        One per row, in ``[0, n_distinct)``, numbering the tuples in
        lexicographic order of their codes.
    parts : list of numpy.ndarray
        For each input column, its code in each distinct tuple (length ``n_distinct``).

    Notes
    -----
    Columns are folded into one mixed-radix integer while its range stays small
    enough for a dense table; only then are the tuples so far numbered, so a few
    small code spaces cost one numbering pass.
    """
    if not codes:
        raise ValueError("combine_codes needs at least one column")
    n_rows = len(codes[0])
    limit = max(_DENSE_LIMIT, n_rows)
    combined = np.array(codes[0], dtype=np.int64)  # a copy: folded in place below
    size = max(int(sizes[0]), 1)
    digits: list[int] = [size]  # radices folded into ``combined`` since the last numbering
    parts: list[np.ndarray] | None = None  # codes of earlier columns, per numbered id
    for column, column_size in zip(codes[1:], sizes[1:], strict=True):
        column_size = max(int(column_size), 1)
        if size * column_size > limit:
            combined, size, parts = _number(combined, size, digits, parts)
            digits = [size]
        combined *= column_size
        combined += column
        size *= column_size
        digits.append(column_size)
    ids, _, parts = _number(combined, size, digits, parts)
    if n_rows == 0:
        parts = [np.empty(0, dtype=np.int64) for _ in codes]
    return ids, parts


def _number(
    combined: np.ndarray, size: int, digits: list[int], parts: list[np.ndarray] | None
) -> tuple[np.ndarray, int, list[np.ndarray]]:
    """Number the distinct values of a mixed-radix code and split them into digits."""
    ids, uniq = _compress(combined, size)
    split = []
    rest = uniq
    for radix in reversed(digits[1:]):
        split.append(rest % radix)
        rest = rest // radix
    split.append(rest)
    split.reverse()
    if parts is None:
        new_parts = split
    else:  # the first digit numbers the tuples of the earlier columns
        new_parts = [p[split[0]] for p in parts] + split[1:]
    return ids, len(uniq), new_parts


def _compress(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Map values in ``[0, size)`` to dense ids; return ids and the sorted distinct values."""
    if len(values) == 0:
        return values.astype(np.int64), np.empty(0, dtype=np.int64)
    # an int64 rank per slot: dense while that table is no bigger than the input
    if size <= max(_DENSE_LIMIT, len(values)):
        present = np.zeros(size, dtype=bool)
        present[values] = True
        uniq = np.flatnonzero(present)
        if len(uniq) == size:
            return np.asarray(values, dtype=np.int64), uniq
        rank = np.zeros(size, dtype=np.int64)
        rank[uniq] = np.arange(len(uniq), dtype=np.int64)
        return rank[values], uniq
    ids, uniq = pd.factorize(values, sort=True)
    return ids.astype(np.int64), np.asarray(uniq, dtype=np.int64)


class ColumnCodes:
    """The columns of one event table, each encoded once and shared by every extractor.

    Calling the object with a column name returns :func:`encode` of that column,
    computed on first use. ``memo`` holds other per-table results (row
    selections, key codes) keyed by whoever computes them.
    """

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        # asked for every key and filter of every batch: column_names builds a list
        self._names = frozenset(table.column_names)
        self._encoded: dict[str, tuple[np.ndarray, pa.Array]] = {}
        self.memo: dict[object, object] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __call__(self, name: str) -> tuple[np.ndarray, pa.Array]:
        found = self._encoded.get(name)
        if found is None:
            found = self._encoded[name] = encode(self.table.column(name))
        return found

    def all_null(self, name: str) -> bool:
        """Whether every event has a null in ``name`` (so all its codes are ``-1``)."""
        column = self.table.column(name)
        return len(column) > 0 and column.null_count == len(column)

    def complete(self, name: str) -> bool:
        """Whether no event has a null in ``name`` (so its codes hold no ``-1``).

        Read from Arrow's null counts, without a pass over the codes.
        """
        column = self.table.column(name)
        if column.null_count:
            return False
        if pa.types.is_dictionary(column.type):
            return all(chunk.dictionary.null_count == 0 for chunk in column.chunks)
        return True
