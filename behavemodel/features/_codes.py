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

__all__ = [
    "combine_codes",
    "encode",
    "recode",
    "to_string_array",
    "unique_pairs",
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
    codes : numpy.ndarray of int64
        One per row, ``-1`` for nulls.
    values : pyarrow.Array of string
        The distinct values (no duplicates, no nulls), indexed by ``codes``.
    """
    if isinstance(column, pa.ChunkedArray):
        if pa.types.is_dictionary(column.type) and column.num_chunks:
            column = column.unify_dictionaries()
            dictionary = column.chunk(0).dictionary
            indices = pa.chunked_array([c.indices for c in column.chunks]).combine_chunks()
            column = pa.DictionaryArray.from_arrays(indices, dictionary)
        else:
            column = column.combine_chunks()
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    codes = pc.fill_null(column.indices.cast(pa.int64()), -1).to_numpy(zero_copy_only=False)
    values = to_string_array(column.dictionary)
    # Dictionaries may carry duplicates or nulls (Arrow allows both): canonicalise.
    return recode(codes, values, None)


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
    if transform is not None:
        values = transform(values)
    encoded = pc.dictionary_encode(values)
    mapping = pc.fill_null(encoded.indices.cast(pa.int64()), -1).to_numpy(zero_copy_only=False)
    new_values = to_string_array(encoded.dictionary)
    if len(mapping) == 0:
        return np.full(len(codes), -1, dtype=np.int64), new_values
    identity = len(new_values) == len(values) and bool(
        np.array_equal(mapping, np.arange(len(mapping)))
    )
    if identity:
        return codes, new_values
    out = np.where(codes >= 0, mapping[np.maximum(codes, 0)], -1)
    return out, new_values


def combine_codes(
    codes: Sequence[np.ndarray], sizes: Sequence[int]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Number the distinct tuples of several code columns.

    Parameters
    ----------
    codes : sequence of numpy.ndarray
        Non-negative int64 codes, all of the same length.
    sizes : sequence of int
        The size of each code space (max code + 1 at least).

    Returns
    -------
    ids : numpy.ndarray of int64
        One per row, in ``[0, n_distinct)``.
    parts : list of numpy.ndarray
        For each input column, its code in each distinct tuple (length ``n_distinct``).
    """
    if not codes:
        raise ValueError("combine_codes needs at least one column")
    n_rows = len(codes[0])
    ids = np.asarray(codes[0], dtype=np.int64)
    size = max(int(sizes[0]), 1)
    ids, uniq = _compress(ids, size)
    parts = [uniq]
    for column, column_size in zip(codes[1:], sizes[1:], strict=True):
        column_size = max(int(column_size), 1)
        combined = ids * column_size + np.asarray(column, dtype=np.int64)
        ids, uniq = _compress(combined, len(parts[0]) * column_size)
        previous = uniq // column_size
        parts = [p[previous] for p in parts]
        parts.append(uniq % column_size)
    if n_rows == 0:
        parts = [np.empty(0, dtype=np.int64) for _ in codes]
    return ids, parts


def unique_pairs(a: np.ndarray, b: np.ndarray, b_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (a, b) pairs, sorted by a then b, without a per-row inverse."""
    if len(a) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    b_size = max(int(b_size), 1)
    combined = np.asarray(a, dtype=np.int64) * b_size + np.asarray(b, dtype=np.int64)
    size = (int(a.max()) + 1) * b_size
    if size <= _DENSE_LIMIT:
        present = np.zeros(size, dtype=bool)
        present[combined] = True
        uniq = np.flatnonzero(present)
    else:
        uniq = np.sort(pd.unique(combined))
    return uniq // b_size, uniq % b_size


def _compress(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Map values in ``[0, size)`` to dense ids; return ids and the sorted distinct values."""
    if len(values) == 0:
        return values.astype(np.int64), np.empty(0, dtype=np.int64)
    if size <= _DENSE_LIMIT:
        present = np.zeros(size, dtype=bool)
        present[values] = True
        uniq = np.flatnonzero(present)
        rank = np.cumsum(present, dtype=np.int64) - 1
        return rank[values], uniq.astype(np.int64)
    ids, uniq = pd.factorize(values, sort=True)
    return ids.astype(np.int64), np.asarray(uniq, dtype=np.int64)
