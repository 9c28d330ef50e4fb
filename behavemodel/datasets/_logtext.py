"""Shared pieces of the audit-log writer: column access, constants, line collection."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel.datasets._catalog import USERS

__all__ = [
    "CRON_GRANTORS",
    "GROUP_OF_UID",
    "GS",
    "LD_SO",
    "MAX_EXECVE",
    "O_CREAT",
    "PAM",
    "UNSET",
    "Lines",
    "col",
    "encode_value",
    "ints",
    "opt",
    "owner_name",
]


GS = "\x1d"


UNSET = 4294967295


MAX_EXECVE = 7500


LD_SO = {"x86_64": "/lib64/ld-linux-x86-64.so.2", "aarch64": "/lib/ld-linux-aarch64.so.1"}


GROUP_OF_UID = {u.uid: (u.gid, u.group) for u in USERS}


O_CREAT = 0o100


# PAM operation and grantors per user-space record type, as sshd / cron / sudo log them.
PAM = {
    "USER_AUTH": ("PAM:authentication", "pam_permit"),
    "USER_ACCT": ("PAM:accounting", "pam_permit"),
    "CRED_ACQ": ("PAM:setcred", "pam_permit,pam_cap"),
    "CRED_REFR": ("PAM:setcred", "pam_permit,pam_cap"),
    "CRED_DISP": ("PAM:setcred", "pam_permit,pam_cap"),
    "USER_START": (
        "PAM:session_open",
        "pam_selinux,pam_loginuid,pam_keyinit,pam_permit,pam_umask,pam_unix,pam_systemd,"
        "pam_mail,pam_limits,pam_env,pam_env,pam_selinux",
    ),
    "USER_END": (
        "PAM:session_close",
        "pam_selinux,pam_loginuid,pam_keyinit,pam_permit,pam_umask,pam_unix,pam_systemd,"
        "pam_mail,pam_limits,pam_env,pam_env,pam_selinux",
    ),
}


CRON_GRANTORS = {
    "USER_ACCT": "pam_permit",
    "CRED_ACQ": "pam_permit",
    "CRED_DISP": "pam_permit",
    "USER_START": "pam_loginuid,pam_env,pam_env,pam_permit,pam_unix,pam_limits",
    "USER_END": "pam_loginuid,pam_env,pam_env,pam_permit,pam_unix,pam_limits",
}


def col(table: pa.Table, name: str, *, decode: bool = True) -> pa.Array:
    """One column as a single array (dictionaries decoded unless ``decode=False``)."""
    c = table.column(name)
    c = c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c
    if decode and pa.types.is_dictionary(c.type):
        c = c.dictionary_decode()
    return c


def opt(extras: pa.Table | None, name: str, *, decode: bool = True) -> pa.Array | None:
    """An optional private column of the simulator, or None."""
    if extras is None or name not in extras.column_names:
        return None
    return col(extras, name, decode=decode)


def non_null_strings(arr: pa.Array) -> pa.Array:
    """Nulls replaced by "" (dictionary arrays kept as they are when they hold no null)."""
    if arr.null_count == 0:
        return arr
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return pc.fill_null(arr, "")


def ints(values: pa.Array | np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values) if isinstance(values, np.ndarray) else values, pa.string())


class Lines:
    """Collects rendered lines with their sort keys."""

    def __init__(self) -> None:
        self.lines: list[pa.Array] = []
        self.keys: list[np.ndarray] = []

    def add(self, lines: pa.Array, keys: np.ndarray) -> None:
        if len(lines):
            self.lines.append(lines.cast(pa.large_string()))
            self.keys.append(keys)

    def buffer(self) -> pa.Buffer:
        """The log text, records in key order (a zero-copy slice of one Arrow buffer)."""
        if not self.lines:
            return pa.py_buffer(b"")
        allk = np.concatenate(self.keys)
        order = np.argsort(allk, kind="stable")
        arr = pa.concat_arrays(self.lines).take(pa.array(order))
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[
            arr.offset : arr.offset + len(arr) + 1
        ]
        data = arr.buffers()[2]
        return data.slice(int(offsets[0]), int(offsets[-1]) - int(offsets[0]))


@lru_cache(maxsize=1024)
def owner_name(uid: int) -> str:
    for u in USERS:
        if u.uid == uid:
            return u.name
    return f"unknown({uid})"


@lru_cache(maxsize=65536)
def encode_value(value: str) -> str:
    raw = value.encode("utf-8", "surrogateescape")
    if any(b < 0x21 or b > 0x7E or b == 0x22 for b in raw):
        return raw.hex().upper()
    return '"' + value + '"'
