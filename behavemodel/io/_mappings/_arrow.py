"""Vectorised value conversions shared by the mappings.

Every function takes and returns Arrow arrays of one batch. Work that needs Python
(percent-decoding, hex flags, socket addresses) runs once per *distinct* value via
:func:`per_unique`, never once per row.

Examples
--------
>>> import pyarrow as pa
>>> to_int(pa.array(["12", " 7", "x", None])).to_pylist()
[12, 7, None, None]
>>> join_argv(pa.array([["ls", "-l", "a b"], [], None])).to_pylist()
["ls -l 'a b'", '', None]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "TIME_UNITS",
    "UNSET_ID",
    "as_array",
    "codes_to_strings",
    "event_key",
    "join_argv",
    "null_if_in",
    "numpy_bool",
    "per_unique",
    "time_key",
    "to_bool",
    "to_int",
    "to_string",
    "to_time",
    "unset_id",
]

#: Multipliers from a numeric epoch in these units to microseconds.
TIME_UNITS = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": None}
_TRUE = ("yes", "true", "success", "succeeded", "1", "t", "y")
_FALSE = ("no", "false", "fail", "failed", "failure", "0", "f", "n")
_INT_TEXT = r"^\s*[-+]?\d{1,19}\s*$"
# shlex.quote leaves these alone (Python's shlex: [^\w@%+=:,./-] with re.ASCII).
_SHELL_UNSAFE = r"[^A-Za-z0-9_@%+=:,./-]"
UNSET_ID = 4294967295


def as_array(values: Any, n: int | None = None) -> pa.Array:
    """One contiguous array from an array, chunked array or scalar repeated ``n`` times."""
    if isinstance(values, pa.ChunkedArray):
        if values.num_chunks == 1:
            return values.chunk(0)
        return values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    if isinstance(values, pa.Array):
        return values
    if isinstance(values, pa.Scalar):
        if n is None:
            raise ValueError("as_array needs a length to repeat a scalar")
        return pa.repeat(values, n)
    return pa.array(values)


def _decoded(arr: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(arr.type):
        return arr.dictionary_decode()
    return arr


def _is_text(t: pa.DataType) -> bool:
    return (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    )


def _nested(t: pa.DataType) -> bool:
    return pa.types.is_nested(t) or pa.types.is_map(t)


def to_string(arr: pa.Array) -> pa.Array:
    """Any scalar array as ``string`` (numbers written in decimal, nulls kept).

    Raises
    ------
    TypeError
        For lists, structs and maps, which have no single text value.

    Examples
    --------
    >>> import pyarrow as pa
    >>> to_string(pa.array([1, None])).to_pylist()
    ['1', None]
    """
    arr = _decoded(arr)
    t = arr.type
    if pa.types.is_string(t):
        return arr
    if pa.types.is_null(t):
        return pa.nulls(len(arr), pa.string())
    if _nested(t):
        raise TypeError(f"a {t} value has no single text value")
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return pc.cast(arr, pa.string(), safe=False)
    if pa.types.is_floating(t):
        # 1.0 -> "1", as the source most likely wrote an integer.
        ints = to_int(arr)
        whole = pc.and_kleene(pc.is_valid(ints), pc.equal(pc.cast(ints, t), arr))
        return pc.if_else(whole, pc.cast(ints, pa.string()), pc.cast(arr, pa.string()))
    return pc.cast(arr, pa.string())


def to_int(arr: pa.Array) -> pa.Array:
    """Integers as ``int64``; decimal text is parsed, anything else becomes null.

    Examples
    --------
    >>> import pyarrow as pa
    >>> to_int(pa.array([1.0, 2.5, None])).to_pylist()
    [1, None, None]
    """
    arr = _decoded(arr)
    t = arr.type
    if pa.types.is_int64(t):
        return arr
    if pa.types.is_null(t):
        return pa.nulls(len(arr), pa.int64())
    if pa.types.is_integer(t):
        if pa.types.is_uint64(t):
            too_big = pc.greater(arr, pa.scalar(2**63 - 1, pa.uint64()))
            arr = pc.if_else(too_big, pa.scalar(None, t), arr)
        return pc.cast(arr, pa.int64())
    if pa.types.is_boolean(t):
        return pc.cast(arr, pa.int64())
    if pa.types.is_floating(t):
        ok = pc.and_kleene(
            pc.equal(pc.floor(arr), arr),
            pc.and_kleene(pc.less(pc.abs(arr), 2.0**63), pc.is_finite(arr)),
        )
        return pc.cast(pc.if_else(ok, arr, pa.scalar(None, t)), pa.int64())
    if _is_text(t):
        text = pc.cast(arr, pa.string(), safe=False) if not pa.types.is_string(t) else arr
        try:  # the common case: every value is a plain decimal
            return pc.cast(text, pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        ok = pc.match_substring_regex(text, _INT_TEXT)
        cleaned = pc.if_else(ok, pc.utf8_trim_whitespace(text), pa.scalar(None, pa.string()))
        try:
            return pc.cast(cleaned, pa.int64())
        except pa.ArrowInvalid:  # 19 digits beyond int64
            as_float = pc.cast(cleaned, pa.float64())
            return to_int(pc.if_else(pc.less(pc.abs(as_float), 2.0**63), cleaned, None))
    if pa.types.is_timestamp(t):
        return pc.cast(arr, pa.int64())
    return pa.nulls(len(arr), pa.int64())


def to_bool(arr: pa.Array) -> pa.Array:
    """Booleans from bool, numbers (non-zero is true) or words (yes/no, success/fail...).

    Examples
    --------
    >>> import pyarrow as pa
    >>> to_bool(pa.array(["yes", "FAIL", "maybe", None])).to_pylist()
    [True, False, None, None]
    """
    arr = _decoded(arr)
    t = arr.type
    if pa.types.is_boolean(t):
        return arr
    if pa.types.is_null(t):
        return pa.nulls(len(arr), pa.bool_())
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return pc.not_equal(arr, 0)
    if _is_text(t):
        text = pc.utf8_lower(pc.utf8_trim(to_string(arr), " \"'"))
        true = pc.is_in(text, pa.array(_TRUE))
        false = pc.is_in(text, pa.array(_FALSE))
        return pc.if_else(true, True, pc.if_else(false, False, pa.scalar(None, pa.bool_())))
    return pa.nulls(len(arr), pa.bool_())


def to_time(arr: pa.Array, unit: str | None) -> tuple[pa.Array, str | None]:
    """Event times as ``timestamp[us, UTC]``.

    Timestamps are converted (no time zone means UTC); numbers are epochs in
    ``unit``; text is ISO 8601 (``Z`` or an offset; none means UTC) or, with
    ``unit``, a decimal epoch. Unparseable values become null.

    Returns
    -------
    (pyarrow.Array, str or None)
        The times, and a problem with the column as a whole (a number without a
        unit), or None.

    Examples
    --------
    >>> import pyarrow as pa
    >>> times, problem = to_time(pa.array([1700000000123, None]), "ms")
    >>> times.to_pylist()[0].isoformat(), problem
    ('2023-11-14T22:13:20.123000+00:00', None)
    >>> to_time(pa.array(["2024-01-01T00:00:00Z", "garbage"]), None)[0].null_count
    1
    """
    target = pa.timestamp("us", tz="UTC")
    arr = _decoded(arr)
    t = arr.type
    if pa.types.is_null(t):
        return pa.nulls(len(arr), target), None
    if pa.types.is_timestamp(t):
        if t.tz is None:
            arr = pc.cast(arr, pa.timestamp(t.unit, tz="UTC"))
        return pc.cast(arr, target, safe=False), None
    if pa.types.is_date(t):
        return pc.cast(pc.cast(arr, pa.timestamp("s")), target).cast(target), None
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        if unit is None:
            return pa.nulls(len(arr), target), (
                f"holds numbers ({t}) and no time unit was given; "
                "give one, e.g. {'path': ..., 'unit': 'ms'}"
            )
        return _epoch(arr, unit), None
    if _is_text(t):
        text = to_string(arr)
        if unit is not None:
            numeric = pc.match_substring_regex(text, r"^\s*[-+]?\d+(\.\d+)?\s*$")
            if pc.all(pc.or_kleene(numeric, pc.is_null(text))).as_py():
                as_float = pc.cast(pc.if_else(numeric, text, None), pa.float64())
                return _epoch(as_float, unit), None
        try:
            return pc.cast(text, target), None
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            parsed = pd.to_datetime(text.to_pandas(), utc=True, errors="coerce", format="ISO8601")
            return pa.array(parsed.astype("datetime64[us, UTC]"), target, from_pandas=True), None
    return pa.nulls(len(arr), target), f"holds {t} values, which are not times"


def _epoch(arr: pa.Array, unit: str) -> pa.Array:
    target = pa.timestamp("us", tz="UTC")
    if unit not in TIME_UNITS:
        raise ValueError(f"The time unit must be one of {list(TIME_UNITS)}. Got {unit!r} instead.")
    values = pc.cast(arr, pa.float64()) if pa.types.is_floating(arr.type) else arr
    if unit == "ns":
        micros = pc.divide(pc.cast(values, pa.float64()), 1000.0)
    else:
        micros = pc.multiply(pc.cast(values, pa.float64()), float(TIME_UNITS[unit] or 1))
    ok = pc.and_kleene(pc.is_finite(micros), pc.less(pc.abs(micros), 2.5e17))
    micros = pc.if_else(ok, pc.round(micros), None)
    return pc.cast(pc.cast(micros, pa.int64()), target)


def null_if_in(arr: pa.Array, values: Iterable[Any]) -> pa.Array:
    """Replace the given sentinel values by null (e.g. ``"(none)"``, ``"?"``)."""
    hit = pc.is_in(arr, pa.array(list(values), arr.type))
    return pc.if_else(hit, pa.scalar(None, arr.type), arr)


def unset_id(arr: pa.Array) -> pa.Array:
    """auid/ses as logged: 4294967295 and -1 mean "unset", which is null."""
    ints = to_int(arr)
    return null_if_in(ints, (UNSET_ID, -1))


def per_unique(arr: pa.Array, func: Callable[[Any], Any], out_type: pa.DataType) -> pa.Array:
    """Apply a Python function once per distinct value; nulls stay null.

    Examples
    --------
    >>> import pyarrow as pa
    >>> per_unique(pa.array(["a", "b", "a", None]), str.upper, pa.string()).to_pylist()
    ['A', 'B', 'A', None]
    """
    arr = _decoded(arr)
    if len(arr) == 0 or arr.null_count == len(arr):
        return pa.nulls(len(arr), out_type)
    encoded = pc.dictionary_encode(arr)
    mapped = pa.array([func(v) for v in encoded.dictionary.to_pylist()], out_type)
    return pc.take(mapped, encoded.indices)


def _quote(arr: pa.Array) -> pa.Array:
    unsafe = pc.or_kleene(
        pc.match_substring_regex(arr, _SHELL_UNSAFE), pc.equal(pc.utf8_length(arr), 0)
    )
    escaped = pc.replace_substring(arr, "'", "'\"'\"'")
    quoted = pc.binary_join_element_wise("'", escaped, "'", "")
    return pc.if_else(unsafe, quoted, arr)


def join_argv(lists: pa.Array) -> pa.Array:
    """``shlex.join`` of every argv list (a null element counts as an empty argument).

    The result splits back into exactly the same arguments with ``shlex.split``.
    """
    lists = _decoded(lists)
    if pa.types.is_null(lists.type):
        return pa.nulls(len(lists), pa.string())
    if isinstance(lists, pa.LargeListArray):
        lists = lists.cast(pa.list_(lists.type.value_type))
    values = to_string(lists.values).fill_null("")
    quoted = _quote(values)
    rebuilt = pa.ListArray.from_arrays(lists.offsets, quoted, mask=pc.is_null(lists))
    return pc.binary_join(rebuilt, " ")


def numpy_bool(arr: pa.Array) -> np.ndarray:
    """A boolean array as numpy with nulls as False."""
    return np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def time_key(time: pa.Array) -> pa.Array:
    """``seconds.millis`` of each time, as in audit event ids (null stays null).

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.array([1700000000123456, None], pa.timestamp("us", tz="UTC"))
    >>> time_key(t).to_pylist()
    ['1700000000.123', None]
    """
    micros = pc.cast(time, pa.int64())
    values = micros.fill_null(0).to_numpy(zero_copy_only=False)
    seconds = pa.array(values // 1_000_000).cast(pa.string())
    millis = pc.utf8_lpad(pa.array((values % 1_000_000) // 1_000).cast(pa.string()), 3, "0")
    key = pc.binary_join_element_wise(seconds, millis, ".")
    return pc.if_else(pc.is_valid(micros), key, pa.scalar(None, pa.string()))


def event_key(host: pa.Array, time: pa.Array, serial: pa.Array) -> pa.Array:
    """Event ids ``host:seconds.millis:serial`` (an unknown host is empty)."""
    host = to_string(host).fill_null("")
    return pc.binary_join_element_wise(host, time_key(time), to_string(serial), ":")


def codes_to_strings(codes: np.ndarray, labels: list[str | None]) -> pa.Array:
    """Small-int codes -> a dictionary array of ``labels`` (a ``None`` label is null).

    Examples
    --------
    >>> import numpy as np
    >>> codes_to_strings(np.array([1, 0, 1]), [None, "x"]).to_pylist()
    ['x', None, 'x']
    """
    indices = np.asarray(codes, dtype=np.int32)
    null_codes = [i for i, label in enumerate(labels) if label is None]
    mask = np.isin(indices, null_codes) if null_codes else None
    dictionary = pa.array([label if label is not None else "" for label in labels], pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(indices, mask=mask), dictionary)
