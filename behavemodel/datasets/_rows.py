"""Column builders for generated event rows: interned strings and typed row batches.

The engine builds each window's rows from many small pieces (one per template
event). Strings are kept as codes into a shared vocabulary wherever they are
static and as Arrow arrays where they vary per instance; :class:`Rows` turns all
the pieces into one time-sorted Arrow table with a single gather per column.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["ROW_SCHEMA", "SV", "Rows", "Vocab"]


class Vocab:
    """Interned strings: code <-> value, with a cached Arrow array of all values."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self.index: dict[str, int] = {}
        self._array: pa.Array | None = None

    def code(self, value: str | None) -> int:
        if value is None:
            return -1
        c = self.index.get(value)
        if c is None:
            c = len(self.values)
            self.values.append(value)
            self.index[value] = c
            self._array = None
        return c

    def array(self) -> pa.Array:
        if self._array is None or len(self._array) != len(self.values):
            self._array = pa.array(self.values, pa.string())
        return self._array


class SV:
    """A vector of strings: vocabulary codes (``-1`` = null) or an Arrow array."""

    __slots__ = ("arr", "codes")

    def __init__(self, codes: np.ndarray | None = None, arr: pa.Array | None = None) -> None:
        self.codes = codes
        self.arr = arr

    @staticmethod
    def const(code: int, n: int) -> SV:
        return SV(codes=np.full(n, code, np.int32))

    def __len__(self) -> int:
        return len(self.codes) if self.codes is not None else len(self.arr)  # type: ignore[arg-type]

    def take(self, idx: np.ndarray) -> SV:
        if self.codes is not None:
            return SV(codes=self.codes[idx])
        return SV(arr=self.arr.take(pa.array(idx)))  # type: ignore[union-attr]

    def to_arrow(self, vocab: Vocab) -> pa.Array:
        if self.arr is not None:
            return self.arr
        assert self.codes is not None
        idx = pa.array(self.codes.astype(np.int64), mask=self.codes < 0)
        return vocab.array().take(idx)


_STR_COLS = (
    "event_type record_type syscall comm exe argv0 title0 pexe pcomm tty cwd file_path "
    "name old_path old_name nametype src_ip dst_ip family direction container key "
    "scenario step path0 interp acct terminal op"
).split()


_INT_COLS = (
    "t host tie pid ppid exit user euser auid ses src_port dst_port flags mode id_user".split()
)


_BOOL_COLS = ("success",)


#: Long, very repetitive strings kept dictionary-encoded (never copied per row).
DICT_COLS = frozenset({"argv0", "title0"})
_DICT_TYPE = pa.dictionary(pa.int32(), pa.string())

ROW_SCHEMA = pa.schema(
    [pa.field(c, pa.int64()) for c in _INT_COLS]
    + [pa.field(c, pa.int8()) for c in _BOOL_COLS]
    + [pa.field(c, _DICT_TYPE if c in DICT_COLS else pa.string()) for c in _STR_COLS]
)


_NULL_INT = np.iinfo(np.int64).min
_STR_SET = frozenset(_STR_COLS)


class Rows:
    """Column builders for the rows of one window.

    Only the values given are recorded, as (offset, value) segments per column;
    each column is then filled once, so a template event that sets five columns
    costs five small records, not one array per column of the schema.
    """

    def __init__(self) -> None:
        self.segments: dict[str, list[tuple[int, int, Any]]] = {
            c: [] for c in (*_INT_COLS, *_BOOL_COLS, *_STR_COLS)
        }
        self.n = 0

    def add(self, n: int, **cols: Any) -> None:
        """Append ``n`` rows; missing columns are null, scalars broadcast."""
        if n == 0:
            return
        offset = self.n
        segments = self.segments
        for c, v in cols.items():
            if v is None:
                continue
            if isinstance(v, SV):
                segments[c].append((offset, n, v))
            elif isinstance(v, (int, np.integer, bool)) and not isinstance(v, np.ndarray):
                if int(v) != -1 or c not in _STR_SET:
                    segments[c].append((offset, n, int(v)))
            else:
                segments[c].append((offset, n, v))
        self.n += n

    def _numeric(self, c: str, null: int, dtype: Any, carry: pa.Table | None) -> np.ndarray:
        lead = 0 if carry is None else carry.num_rows
        out = np.full(lead + self.n, null, dtype)
        if carry is not None and lead:
            out[:lead] = pc.fill_null(carry.column(c), null).to_numpy()
        for offset, n, v in self.segments[c]:
            out[lead + offset : lead + offset + n] = v
        return out

    def _strings(
        self, c: str, vocab: Vocab, carry: pa.Table | None, order: np.ndarray
    ) -> pa.Array:
        lead = 0 if carry is None else carry.num_rows
        idx = np.full(lead + self.n, -1, np.int64)
        base = vocab.array()
        chunks = [base]
        next_code = len(base)
        if carry is not None and lead:
            arr = carry.column(c)
            arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
            if pa.types.is_dictionary(arr.type):
                arr = arr.dictionary_decode()
            chunks.append(arr)
            carried = np.arange(next_code, next_code + lead)
            if arr.null_count:
                carried[np.asarray(arr.is_null())] = -1
            idx[:lead] = carried
            next_code += lead
        for offset, n, v in self.segments[c]:
            lo = lead + offset
            if isinstance(v, SV):
                if v.codes is not None:
                    idx[lo : lo + n] = v.codes
                    continue
                arr = v.arr
                if isinstance(arr, pa.ChunkedArray):
                    arr = arr.combine_chunks()
                if arr.type != pa.string():  # type: ignore[union-attr]
                    arr = arr.cast(pa.string())  # type: ignore[union-attr]
                chunks.append(arr)
                idx[lo : lo + n] = np.arange(next_code, next_code + n)
                next_code += n
            else:
                idx[lo : lo + n] = v
        idx = idx[order]
        values = pa.concat_arrays(chunks) if len(chunks) > 1 else base
        if c in DICT_COLS:
            # a compact dictionary of the values used; the rows only hold indices
            valid = idx >= 0
            used, inverse = np.unique(idx[valid], return_inverse=True)
            codes = np.zeros(len(idx), np.int32)
            codes[valid] = inverse
            return pa.DictionaryArray.from_arrays(
                pa.array(codes, pa.int32(), mask=~valid), values.take(pa.array(used))
            )
        return values.take(pa.array(idx, mask=idx < 0))

    def table(
        self, vocab: Vocab, carry: pa.Table | None = None, host_rank: np.ndarray | None = None
    ) -> pa.Table:
        """All rows (carried rows first), sorted by time, host and generation order.

        ``host_rank`` orders hosts (by name) when several events share a millisecond.
        """
        ints = {c: self._numeric(c, _NULL_INT, np.int64, carry) for c in _INT_COLS}
        host_key = ints["host"] if host_rank is None else host_rank[ints["host"]]
        order = np.lexsort((ints["tie"], host_key, ints["t"]))
        arrays = []
        for c in _INT_COLS:
            a = ints[c][order]
            arrays.append(pa.array(a, pa.int64(), mask=a == _NULL_INT))
        for c in _BOOL_COLS:
            b = self._numeric(c, -1, np.int8, carry)[order]
            arrays.append(pa.array(b, pa.int8(), mask=b < 0))
        for c in _STR_COLS:
            arrays.append(self._strings(c, vocab, carry, order))
        return pa.Table.from_arrays(arrays, schema=ROW_SCHEMA)
