"""Vectorised string helpers shared by the simulator and the audit-log writer.

Everything here works on whole Arrow arrays at once (no per-row Python), so that a
month of fleet events can be generated and rendered at hundreds of thousands of
rows per second. Inputs must not contain nulls unless a function says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "audit_encode",
    "by_unique",
    "hex_encode",
    "int_hex",
    "needs_hex",
    "offsets_data",
    "shlex_join_nul",
    "string_take",
    "truncate_proctitle",
]

_HEX_DIGITS = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
_LOWER_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# shlex.quote leaves a word alone when it only holds these (re.ASCII \w plus @%+=:,./-).
_SHLEX_SAFE = r"^[A-Za-z0-9_@%+=:,./-]+$"
# The kernel writes a value in quotes unless it holds '"', a byte < 0x21 or > 0x7e
# (audit_string_contains_control); such values are written as uppercase hex.
_NEEDS_HEX = r'[^!-~]|"'


def offsets_data(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (int64, sliced to the array) and the raw data bytes of a string/binary array."""
    large = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    buffers = arr.buffers()
    off_type = np.int64 if large else np.int32
    offsets = np.frombuffer(buffers[1], dtype=off_type)[arr.offset : arr.offset + len(arr) + 1]
    data = (
        np.frombuffer(buffers[2], dtype=np.uint8)
        if buffers[2] is not None
        else np.zeros(0, np.uint8)
    )
    return offsets.astype(np.int64), data


def hex_encode(arr: pa.Array) -> pa.Array:
    """Uppercase hex of the bytes of every value, as the kernel encodes fields.

    Parameters
    ----------
    arr : pyarrow.Array
        String or binary values, no nulls.

    Returns
    -------
    pyarrow.StringArray

    Examples
    --------
    >>> import pyarrow as pa
    >>> hex_encode(pa.array(["a b", "", "é"])).to_pylist()
    ['612062', '', 'C3A9']
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    offsets, data = offsets_data(arr)
    start, end = int(offsets[0]), int(offsets[-1])
    raw = data[start:end]
    out = np.empty(2 * len(raw), dtype=np.uint8)
    out[0::2] = _HEX_DIGITS[raw >> 4]
    out[1::2] = _HEX_DIGITS[raw & 15]
    new_offsets = (offsets - start) * 2
    if new_offsets[-1] < 2**31:
        return pa.Array.from_buffers(
            pa.string(),
            len(arr),
            [None, pa.py_buffer(new_offsets.astype(np.int32)), pa.py_buffer(out)],
        )
    return pa.Array.from_buffers(
        pa.large_string(), len(arr), [None, pa.py_buffer(new_offsets), pa.py_buffer(out)]
    )


def needs_hex(arr: pa.Array) -> pa.Array:
    """Boolean mask: does the kernel hex-encode this value?

    Examples
    --------
    >>> import pyarrow as pa
    >>> needs_hex(pa.array(["/usr/bin/id", "a b", 'say"hi"', "café", ""])).to_pylist()
    [False, True, True, True, False]
    """
    return pc.match_substring_regex(arr, _NEEDS_HEX)


def audit_encode(arr: pa.Array) -> pa.Array:
    """Encode values as the kernel writes untrusted strings: ``"value"`` or hex.

    Examples
    --------
    >>> import pyarrow as pa
    >>> audit_encode(pa.array(["/usr/bin/curl", "/tmp/a b"])).to_pylist()
    ['"/usr/bin/curl"', '2F746D702F612062']
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if len(arr) == 0:
        return pa.array([], pa.string())
    mask = needs_hex(arr)
    quoted = pc.binary_join_element_wise('"', arr, '"', "")
    if not pc.any(mask).as_py():
        return quoted
    return pc.if_else(mask, hex_encode(arr).cast(quoted.type), quoted)


def shlex_quote(arr: pa.Array) -> pa.Array:
    """Vectorised :func:`shlex.quote`.

    Examples
    --------
    >>> import pyarrow as pa
    >>> shlex_quote(pa.array(["ls", "", "a b", "it's"])).to_pylist()
    ['ls', "''", "'a b'", '\\'it\\'"\\'"\\'s\\'']
    """
    safe = pc.match_substring_regex(arr, _SHLEX_SAFE)
    escaped = pc.replace_substring(arr, "'", "'\"'\"'")
    quoted = pc.binary_join_element_wise("'", escaped, "'", "")
    return pc.if_else(safe, arr, quoted)


def shlex_join_nul(arr: pa.Array) -> pa.Array:
    """``shlex.join(value.split("\\0"))`` for every value: argv joined as a command line.

    Examples
    --------
    >>> import pyarrow as pa
    >>> values = pa.array(["ls\\x00-la", "sh\\x00-c\\x00echo hi", "nginx: worker"])
    >>> shlex_join_nul(values).to_pylist()
    ['ls -la', "sh -c 'echo hi'", "'nginx: worker'"]
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if len(arr) == 0:
        return pa.array([], pa.string())
    parts = pc.split_pattern(arr, "\x00")
    flat = pc.list_flatten(parts)
    quoted = shlex_quote(flat)
    offsets = parts.offsets
    if parts.offset or offsets[0].as_py() != 0:
        parts = pa.ListArray.from_arrays(
            pc.subtract(offsets, offsets[0]), flat, type=pa.list_(flat.type)
        )
        offsets = parts.offsets
    rebuilt = pa.ListArray.from_arrays(offsets, quoted)
    return pc.binary_join(rebuilt, " ")


def truncate_proctitle(arr: pa.Array, limit: int = 128) -> pa.Array:
    """What the kernel logs as PROCTITLE for a NUL-joined argv: the first ``limit``
    bytes of ``/proc/PID/cmdline`` with trailing NULs removed.

    Values whose cut would split a multi-byte character are returned as binary
    only through :func:`truncate_proctitle_bytes`; here the input must be such
    that the result is valid UTF-8 (ASCII, or shorter than the limit).

    Examples
    --------
    >>> import pyarrow as pa
    >>> truncate_proctitle(pa.array(["a\\x00b", "x" * 130]), limit=4).to_pylist()
    ['a\\x00b', 'xxxx']
    >>> truncate_proctitle(pa.array(["abc\\x00def"]), limit=4).to_pylist()
    ['abc']
    """
    out = truncate_proctitle_bytes(arr, limit)
    return out.cast(pa.string())


def truncate_proctitle_bytes(arr: pa.Array, limit: int = 128) -> pa.Array:
    """Like :func:`truncate_proctitle` but returns binary (safe for any input).

    Examples
    --------
    >>> import pyarrow as pa
    >>> truncate_proctitle_bytes(pa.array(["é\\x00é"]), limit=3).to_pylist()
    [b'\\xc3\\xa9']
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    raw = arr.cast(pa.binary()) if not pa.types.is_binary(arr.type) else arr
    cut = pc.binary_slice(raw, 0, limit)
    offsets, data = offsets_data(cut)
    ends = offsets[1:]
    starts = offsets[:-1]
    nonempty = ends > starts
    last = np.zeros(len(cut), np.uint8)
    last[nonempty] = data[ends[nonempty] - 1]
    fix = np.flatnonzero(nonempty & (last == 0))
    if len(fix) == 0:
        return cut
    values = cut.to_pylist()
    for i in fix.tolist():
        values[i] = values[i].rstrip(b"\x00")
    return pa.array(values, pa.binary())


def int_hex(values: np.ndarray, *, lower: bool = True, width: int = 0) -> pa.Array:
    """Hexadecimal text of unsigned integers, without leading zeros (or zero-padded).

    Examples
    --------
    >>> import numpy as np
    >>> int_hex(np.array([0, 10, 0xFFFFFF9C, 2**63], dtype=np.uint64)).to_pylist()
    ['0', 'a', 'ffffff9c', '8000000000000000']
    >>> int_hex(np.array([80, 443], dtype=np.uint64), lower=False, width=4).to_pylist()
    ['0050', '01BB']
    """
    v = np.asarray(values).astype(np.uint64)
    n = len(v)
    digits_table = _LOWER_HEX if lower else _HEX_DIGITS
    ndig = 16 if width == 0 else width
    shifts = np.arange(ndig - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    nib = ((v[:, None] >> shifts[None, :]) & np.uint64(15)).astype(np.uint8)
    chars = digits_table[nib]
    if width:
        buf = np.ascontiguousarray(chars).reshape(-1)
        offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
        return pa.Array.from_buffers(
            pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf)]
        )
    # strip leading zeros, keep at least one digit
    nz = nib != 0
    first = np.where(nz.any(axis=1), nz.argmax(axis=1), ndig - 1)
    lengths = ndig - first
    mask = np.arange(ndig)[None, :] >= first[:, None]
    buf = chars[mask]
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf)])


def string_take(values: list[str], codes: np.ndarray) -> pa.Array:
    """Strings ``values[code]`` for each code; a negative code gives null.

    Examples
    --------
    >>> import numpy as np
    >>> string_take(["a", "b"], np.array([1, -1, 0])).to_pylist()
    ['b', None, 'a']
    """
    vocab = pa.array(values, pa.string())
    idx = pa.array(codes.astype(np.int64), mask=codes < 0)
    return vocab.take(idx)


def by_unique(arr: pa.Array, fn: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """Apply a vectorised string function to the distinct values only, then expand.

    Command lines, paths and names repeat a lot, so this is much faster than
    transforming every row. Nulls stay null.

    Examples
    --------
    >>> import pyarrow as pa, pyarrow.compute as pc
    >>> by_unique(pa.array(["a", "b", "a", None]), pc.utf8_upper).to_pylist()
    ['A', 'B', 'A', None]
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if len(arr) == 0:
        return fn(arr)
    enc = pc.dictionary_encode(arr) if not pa.types.is_dictionary(arr.type) else arr
    values = fn(enc.dictionary)
    return values.take(enc.indices)
