"""Audit semantics shared by the mappings, as the raw audit-log reader applies them.

The syscall -> event type tables are the reader's own (``_auditd_chunk``), so a
syscall means the same event type whichever format it arrived in.

Examples
--------
>>> import pyarrow as pa
>>> kinds, directions = classify(pa.array(["execve", "connect", "openat", "read", None]),
...                              flags=pa.array([None, None, 0o101, None, None]))
>>> kinds.to_pylist()
['process_start', 'net_connect', 'file_write', 'other', 'other']
>>> directions.to_pylist()
[None, 'outbound', None, None, None]
"""

from __future__ import annotations

import posixpath
import urllib.parse
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel.io._auditd_chunk import (
    _FILE_WRITE_SYSCALLS,
    _INBOUND_RECVS,
    _OPEN_FLAG_ARG,
    _OUTBOUND_SENDS,
    _SYSCALL_EVENT_TYPES,
    _WRITE_INTENT,
)
from behavemodel.io._mappings import _arrow as A

__all__ = [
    "OPEN_FLAG_ARG",
    "classify",
    "family_of_ip",
    "join_cwd",
    "percent_decode",
    "unquote_bytes",
    "when",
]

#: Which syscall argument holds the open flags (``open``: a1, ``openat``: a2).
OPEN_FLAG_ARG = dict(_OPEN_FLAG_ARG)
_DIRECTION_OF_TYPE = {"net_connect": "outbound", "net_accept": "inbound", "net_listen": "listen"}


def when(condition: pa.Array, then: Any, otherwise: Any) -> pa.Array:
    """``if_else`` where a null condition means false."""
    return pc.if_else(condition.fill_null(False), then, otherwise)


def classify(syscall: pa.Array, *, flags: pa.Array | None = None) -> tuple[pa.Array, pa.Array]:
    """event_type and net_direction from syscall names (and open flags).

    Parameters
    ----------
    syscall : pyarrow.Array of str
        Syscall names; null or unknown names are ``other``.
    flags : pyarrow.Array of int, optional
        The open flags of ``open``-like calls (the caller picks a1 or a2); a write,
        create, truncate or append intent makes the event a ``file_write``.
    """
    n = len(syscall)
    names = A.to_string(syscall)
    table = {**{k: v for k, v in _SYSCALL_EVENT_TYPES.items()}}
    table.update({name: "file_write" for name in _FILE_WRITE_SYSCALLS})
    keys = pa.array(list(table))
    index = pc.index_in(names, keys)
    kind = pc.take(pa.array(list(table.values())), index).fill_null("other")
    if flags is not None:
        opens = pc.is_in(names, pa.array(list(OPEN_FLAG_ARG)))
        writes = pc.not_equal(pc.bit_wise_and(A.to_int(flags), _WRITE_INTENT), 0)
        kind = when(pc.and_kleene(opens, writes), "file_write", kind)
    direction = pc.take(
        pa.array(list(_DIRECTION_OF_TYPE.values())),
        pc.index_in(kind, pa.array(list(_DIRECTION_OF_TYPE))),
    )
    direction = when(pc.is_in(names, pa.array(sorted(_OUTBOUND_SENDS))), "outbound", direction)
    direction = when(pc.is_in(names, pa.array(sorted(_INBOUND_RECVS))), "inbound", direction)
    assert len(kind) == n
    return kind, direction


def family_of_ip(ip: pa.Array) -> pa.Array:
    """``inet6`` for addresses with a colon, ``inet`` for dotted ones, else null."""
    ip = A.to_string(ip)
    v6 = A.numpy_bool(pc.match_substring(ip, ":"))
    v4 = A.numpy_bool(pc.match_substring(ip, "."))
    return A.codes_to_strings(np.where(v6, 1, np.where(v4, 2, 0)), [None, "inet6", "inet"])


def unquote_bytes(text: str) -> bytes:
    """The bytes behind a percent-encoded string (``+`` stays ``+``)."""
    return urllib.parse.unquote_to_bytes(text)


def _unquote(text: str) -> str:
    raw = unquote_bytes(text)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


def percent_decode(arr: pa.Array) -> pa.Array:
    """Undo laurel's percent-encoding (``%2b`` for ``+``, ``%25`` for ``%``...).

    Only values that contain ``%`` are touched, once per distinct value.

    Examples
    --------
    >>> import pyarrow as pa
    >>> percent_decode(pa.array(["/usr/bin/g%2b%2b", "/bin/sh", None])).to_pylist()
    ['/usr/bin/g++', '/bin/sh', None]
    """
    text = A.to_string(arr)
    has = pc.match_substring(text, "%").fill_null(False)
    if not pc.any(has).as_py():
        return text
    decoded = A.per_unique(pc.if_else(has, text, None), _unquote, pa.string())
    return pc.if_else(has, decoded, text)


def join_cwd(path: pa.Array, cwd: pa.Array) -> pa.Array:
    """Resolve relative paths against the working directory (as the reader does)."""
    path = A.to_string(path)
    relative = pc.and_kleene(
        pc.invert(pc.starts_with(path, "/")), pc.is_valid(A.to_string(cwd))
    ).fill_null(False)
    if not pc.any(relative).as_py():
        return path
    base = pc.utf8_rtrim(A.to_string(cwd), "/")  # "/" + "/" + "x" would be "//x"
    joined = pc.binary_join_element_wise(base, path, "/")
    normal = A.per_unique(pc.if_else(relative, joined, None), posixpath.normpath, pa.string())
    return pc.if_else(relative, normal, path)
