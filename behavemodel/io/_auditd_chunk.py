"""Turn a block of raw audit log lines into canonical events, in bulk.

The work is shaped for speed in pure Python: one regular expression splits every
line of the block into header and body at once, records are grouped into events
by ``(node, timestamp, serial)`` with a hash factorisation, and each record type's
fields are pulled out with one regular expression over all bodies of that type.
Values are decoded once per *distinct* value, not once per row. Only EXECVE
arguments and the rare records that do not fit the common kernel layouts are
handled line by line.

Records of one event are grouped wherever they appear in the block, in any
order. Across blocks, an event stays open (its lines are carried into the next
block) until it sees a closing record (EOE, PROCTITLE), is a stand-alone record,
is older than ``window`` seconds of event time, or the input ends.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel import schema as s
from behavemodel.io import _audit_tables as tables
from behavemodel.io._auditd_front import Coded, Front, make_front
from behavemodel.io._auditd_values import (
    decode_bytes,
    decode_encoded,
    decode_encoded_bytes,
    decode_plain,
    decode_sockaddrs,
    join_argv,
    split_proctitle,
)

__all__ = ["BadLine", "ChunkResult", "LineBlock", "parse_block"]

UNSET_ID = 4294967295

_CLOSING_TYPES = frozenset({"EOE", "PROCTITLE"})
_SYSCALL_EVENT_TYPES = {
    "execve": "process_start",
    "execveat": "process_start",
    "connect": "net_connect",
    "accept": "net_accept",
    "accept4": "net_accept",
    "bind": "net_listen",
    "listen": "net_listen",
}
_SOCKETCALL = {
    2: "net_listen",
    3: "net_connect",
    4: "net_listen",
    5: "net_accept",
    18: "net_accept",
}
_FILE_WRITE_SYSCALLS = frozenset(
    """creat truncate truncate64 ftruncate ftruncate64 unlink unlinkat rename renameat
    renameat2 chmod fchmod fchmodat fchmodat2 chown fchown lchown fchownat chown32
    fchown32 lchown32 link linkat symlink symlinkat mkdir mkdirat rmdir mknod
    mknodat""".split()
)
# open(path, flags) has the flags in a1; openat(dirfd, path, flags) in a2.
_OPEN_FLAG_ARG = {"open": 1, "openat": 2, "open_by_handle_at": 2}
_WRITE_INTENT = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000  # WRONLY RDWR CREAT TRUNC APPEND
_OUTBOUND_SENDS = frozenset({"sendto", "sendmsg", "sendmmsg"})
_INBOUND_RECVS = frozenset({"recvfrom", "recvmsg", "recvmmsg"})
_PATH_PRIORITY = {b"CREATE": 0, b"DELETE": 1, b"NORMAL": 2, b"UNKNOWN": 3, b"PARENT": 4}
_ACCOUNT_RECORDS = frozenset(
    """USER_LOGIN USER_LOGOUT USER_START USER_END USER_ACCT USER_AUTH USER_ERR
    USER_CHAUTHTOK CRED_ACQ CRED_DISP CRED_REFR USER_ROLE_CHANGE ADD_USER DEL_USER
    USER_MGMT ACCT_LOCK ACCT_UNLOCK""".split()
)
_DIRECTION_OF_TYPE = {"net_connect": "outbound", "net_accept": "inbound", "net_listen": "listen"}
_SUCCESS_WORDS = {b"success": True, b"yes": True, b"1": True, b"failed": False, b"no": False}
_SUCCESS_WORDS[b"0"] = False


@dataclass(frozen=True)
class BadLine:
    """A line the reader could not use, with where it came from and why."""

    file: str
    line: int
    reason: str
    text: str


@dataclass
class LineBlock:
    """Complete lines of one stream plus where each line came from.

    ``data`` holds the lines joined by ``\\n`` without a final newline;
    ``line_file[i]`` indexes ``files`` and ``line_no[i]`` is the 1-based line
    number of line ``i`` in that file. ``line_ends``, when known, is where each
    line ends in ``data`` (its newline, or ``len(data)`` for the last line).
    The serial reader's blocks hold their text in a reused ``bytearray``
    instead of ``bytes``: valid while :func:`parse_block` runs, whose results
    never refer to it.
    """

    data: bytes
    line_file: np.ndarray
    line_no: np.ndarray
    files: list[str]
    line_ends: np.ndarray | None = None

    @property
    def n_lines(self) -> int:
        return len(self.line_no)


@dataclass
class ChunkResult:
    """What :func:`parse_block` made of a block."""

    table: pa.Table | None
    carry: LineBlock | None
    errors: list[BadLine] = field(default_factory=list)
    records: int = 0
    blank_lines: int = 0
    comment_lines: int = 0


@dataclass(frozen=True)
class ParseOptions:
    """Options of one parse that every block needs."""

    host: str | None = None
    window: float = 2.0
    users: Mapping[int, str] | None = None
    provenance: bool = False
    engine: str = "auto"


def _type_name(text: str) -> str:
    if text.isdigit():
        return tables.record_type_name(int(text)) or text
    if text.startswith("UNKNOWN[") and text.endswith("]") and text[8:-1].isdigit():
        return tables.record_type_name(int(text[8:-1])) or text
    return text


def _name_or_none(raw: bytes) -> str | None:
    if not raw or raw in (b"unset", b"?", b"(null)") or raw.startswith(b"unknown("):
        return None
    return decode_bytes(raw)


def _key_value(raw: bytes) -> str | None:
    value = decode_encoded_bytes(raw)
    if value is None:
        return None
    return decode_bytes(value).replace("\x01", ",")


def _tty_value(raw: bytes) -> str | None:
    text = decode_plain(raw)
    if text is None:
        return None
    if text.startswith("/dev/"):
        text = text[5:]
    if text.startswith(("pts/", "tty/")):
        text = text.replace("/", "")
    return text


class _Strings:
    """A string column of a block: per event a code into a growing value table.

    Values are added a table at a time (the distinct decoded values of a
    field, or an object array of values); a code of -1, or a value of None,
    is an empty cell. The column becomes Arrow with one ``take`` on its table
    instead of a conversion of one Python object per event.
    """

    def __init__(self, n: int) -> None:
        self.codes = np.full(n, -1, np.int64)
        self.table: list[Any] = []

    def set(
        self,
        idx: np.ndarray,
        codes: np.ndarray | None,
        table: list[Any],
        *,
        fill: bool,
        absent: np.ndarray | None = None,
    ) -> None:
        """Set cells ``idx`` to ``table[codes]`` (-1: empty), only empty ones if ``fill``.

        ``codes`` None: cell ``idx[k]`` gets ``table[k]``. ``absent`` marks the
        None entries of ``table`` when the caller knows them.
        """
        offset = len(self.table)
        lookup = np.arange(offset, offset + len(table) + 1, dtype=np.int64)
        lookup[-1] = -1  # code -1 stays empty
        if absent is None:
            absent = np.array([value is None for value in table], bool)
        if fill and absent.all():  # nothing to fill
            return
        lookup[:-1][absent] = -1
        new = lookup[:-1] if codes is None else lookup[codes]
        if fill:
            empty = self.codes[idx] < 0
            idx, new = idx[empty], new[empty]
        self.codes[idx] = new
        self.table.extend(table)

    def objects(self) -> np.ndarray:
        """The column as an object array (None where empty)."""
        values = np.empty(len(self.table) + 1, dtype=object)
        values[:-1] = self.table
        values[-1] = None
        return values[self.codes]

    def arrow(self) -> pa.Array:
        """The column as an Arrow string array."""
        if 2 * len(self.table) > len(self.codes):  # mostly values of one event each
            return pa.array(self.objects(), pa.string())
        indices = pa.array(self.codes, pa.int64(), mask=self.codes < 0)
        return pa.array(self.table, pa.string()).take(indices)


class _Events:
    """Column buffers for the events of one block, filled by record type."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.strings: dict[str, _Strings] = {}
        self.ints: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        #: EXECVE command lines as Arrow (null: none), when the front gave them so
        self.argv: pa.Array | None = None

    @property
    def obj(self) -> dict[str, np.ndarray]:
        """Every string column set so far, as object arrays."""
        return {name: col.objects() for name, col in self.strings.items()}

    def _column(self, name: str) -> _Strings:
        col = self.strings.get(name)
        if col is None:
            col = self.strings[name] = _Strings(self.n)
        return col

    def set_obj(
        self, name: str, idx: np.ndarray, values: np.ndarray, *, fill: bool = False
    ) -> None:
        """Set events ``idx`` to ``values`` (only where still empty if ``fill``)."""
        absent = values == None  # noqa: E711 (elementwise on an object array)
        col = self._column(name)
        if fill and absent.all():  # nothing to fill (the column exists all the same)
            return
        col.set(idx, None, values.tolist(), fill=fill, absent=absent)

    def set_coded(
        self, name: str, idx: np.ndarray, raw: Coded, decoder: Any, *, fill: bool = False
    ) -> None:
        """Set events ``idx`` to ``decoder`` of each raw value (decoded once per distinct one)."""
        self.set_codes(name, idx, raw.codes, [decoder(u) for u in raw.uniques], fill=fill)

    def set_codes(
        self,
        name: str,
        idx: np.ndarray,
        codes: np.ndarray,
        table: list[Any],
        *,
        fill: bool = False,
        absent: np.ndarray | None = None,
    ) -> None:
        """Set events ``idx`` to ``table[codes]`` (-1: empty).

        ``absent`` marks the None entries of ``table`` when the caller knows them.
        """
        self._column(name).set(idx, codes, table, fill=fill, absent=absent)

    def has(self, name: str) -> bool:
        """Whether string column ``name`` was set at all."""
        return name in self.strings

    def set_int(
        self,
        name: str,
        idx: np.ndarray,
        values: np.ndarray,
        valid: np.ndarray,
        *,
        fill: bool = False,
    ) -> None:
        entry = self.ints.get(name)
        if entry is None:
            entry = (np.zeros(self.n, np.int64), np.zeros(self.n, bool))
            self.ints[name] = entry
        col, mask = entry
        if fill:
            empty = ~mask[idx]
            idx, values, valid = idx[empty], values[empty], valid[empty]
        col[idx] = values
        mask[idx] = valid

    def get_obj(self, name: str) -> np.ndarray:
        col = self.strings.get(name)
        return col.objects() if col is not None else np.full(self.n, None, dtype=object)

    def arrow(self, name: str) -> pa.Array:
        """String column ``name`` as Arrow (all null if never set)."""
        col = self.strings.get(name)
        return col.arrow() if col is not None else pa.nulls(self.n, pa.string())

    def get_int(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        entry = self.ints.get(name)
        return entry if entry is not None else (np.zeros(self.n, np.int64), np.zeros(self.n, bool))


#: Record types parse_block reads elsewhere (or not at all), and those read by
#: their own field: every other type is read as a generic record.
_SKIPPED_TYPES = frozenset({"SYSCALL", "EXECVE", "PATH", "EOE"})
_OWN_FIELD_TYPES = frozenset({"PROCTITLE", "CWD", "SOCKADDR", "CONTAINER_ID"})


class _GenericRecords:
    """The generic records of a block (every type not read by its own rules).

    Their fields are read and decoded in one go for all their types, then
    :meth:`fill` applies each type's records in turn.
    """

    def __init__(self, front: Front, rows_of: Mapping[str, np.ndarray]) -> None:
        names = [
            name
            for name, rows in rows_of.items()
            if len(rows) and name not in _SKIPPED_TYPES and name not in _OWN_FIELD_TYPES
        ]
        self._at: dict[str, slice] = {}
        if not names:
            return
        start = 0
        for name in names:
            self._at[name] = slice(start, start + len(rows_of[name]))
            start += len(rows_of[name])
        rows = np.concatenate([rows_of[name] for name in names])
        account = np.concatenate(
            [np.full(len(rows_of[name]), name in _ACCOUNT_RECORDS) for name in names]
        )
        self._rows = rows
        self._values = _generic_values(front.generic_fields(rows), account)

    def fill(self, events: _Events, ev: np.ndarray, record_type: str) -> None:
        """Fill events ``ev`` from the records of ``record_type``."""
        _apply_generic(events, ev, self._values, self._at[record_type])

    def fill_all_at_once(
        self, events: _Events, ev_of_row: np.ndarray, rows_of: Mapping[str, np.ndarray]
    ) -> bool:
        """Fill the events of all generic records in one go, when that changes nothing.

        Filled type by type (:meth:`fill`, in the order of ``rows_of``), the
        first type of an event to have a value wins, and a CWD record read
        after a generic one replaces its cwd. When no event has two generic
        records nor a CWD record besides one, the order cannot matter, and
        one fill per column instead of one per column and record type saves
        most of the per-call cost (a block has a few records of many types).
        Returns False, having filled nothing, when the order could matter.
        """
        if not self._at:
            return True
        ev = ev_of_row[self._rows]
        seen = np.bincount(ev, minlength=events.n)  # generic records per event
        if seen.max(initial=0) > 1:
            return False
        cwd_rows = rows_of.get("CWD")
        if cwd_rows is not None and len(cwd_rows) and seen[ev_of_row[cwd_rows]].any():
            return False
        _apply_generic(events, ev, self._values, slice(None))
        return True


def parse_block(block: LineBlock, *, final: bool, options: ParseOptions) -> ChunkResult:
    """Parse complete lines into canonical events; carry open events onwards.

    Parameters
    ----------
    block : LineBlock
        Lines of one stream, oldest first.
    final : bool
        True at the end of the stream: every event is emitted.
    options : ParseOptions
        Host name fallback, closing window, uid->name map, engine
        (:mod:`._auditd_front`; "auto" prefers the compiled scanner).

    Returns
    -------
    ChunkResult
        The events (without ``parent_exe``/``parent_name``, which need the
        stream's history), the lines to carry, and the lines reported.
    """
    if block.n_lines == 0 or (block.n_lines == 1 and not block.data.strip()):
        return ChunkResult(None, None, blank_lines=block.n_lines)
    front = make_front(block.data, block.n_lines, engine=options.engine, line_ends=block.line_ends)
    result = ChunkResult(None, None, blank_lines=front.blank, comment_lines=front.comment)
    if front.bad:
        bad_text = front.lines(np.array(front.bad, dtype=np.int64))
        for i, text in zip(front.bad, bad_text, strict=True):
            result.errors.append(_bad(block, i, "no audit record header", text))
    if len(front.line_idx) == 0:
        return result
    codes, first_record = front.group()
    n_events = len(first_record)
    type_names = [_type_name(t) for t in front.type_names]

    # Event time from its first record (all records of an event share it).
    secs = front.sec[first_record]
    bad_time = (secs < 0) | (secs > 253402300799)  # after 9999-12-31
    event_us = np.where(bad_time, 0, secs) * 1_000_000 + front.frac_us[first_record]

    # Which events are complete? The rest is carried into the next block.
    closed = np.zeros(n_events, bool)
    closing = np.array(
        [name in _CLOSING_TYPES or tables.is_standalone_record(name) for name in type_names],
        dtype=bool,
    )
    closed[codes[closing[front.type_codes]]] = True
    keep = np.ones(n_events, bool)
    if not final:
        horizon = event_us[~bad_time].max(initial=0) - int(options.window * 1_000_000)
        keep = closed | (event_us < horizon)
    if bad_time.any():
        reported = bad_time & keep
        bad_records = np.flatnonzero(reported[codes])
        texts = front.lines(front.line_idx[bad_records])
        for j, text in zip(bad_records.tolist(), texts, strict=True):
            result.errors.append(
                _bad(block, int(front.line_idx[j]), "timestamp out of range", text)
            )
        keep &= ~bad_time
        carry_events = ~keep & ~reported
    else:
        carry_events = ~keep
    if carry_events.any():
        carry_lines = front.line_idx[carry_events[codes]]
        result.carry = LineBlock(
            data=b"\n".join(front.lines(carry_lines)),
            line_file=block.line_file[carry_lines],
            line_no=block.line_no[carry_lines],
            files=block.files,
        )
    if not keep.any():
        return result

    # Re-index the kept events compactly; rows are records (header lines).
    new_index = np.cumsum(keep) - 1
    kept_rows = np.flatnonzero(keep[codes])
    ev_of_row = np.full(len(codes), -1, np.int64)
    ev_of_row[kept_rows] = new_index[codes[kept_rows]]
    first_kept = first_record[keep]
    event_us = event_us[keep]
    n = int(keep.sum())
    result.records = len(kept_rows)
    events = _Events(n)
    rows_of: dict[str, np.ndarray] = {}
    kept_types = front.type_codes[kept_rows]
    by_type = kept_rows[_stable_order(kept_types, len(type_names))]  # rows grouped by type
    bounds = np.concatenate([[0], np.cumsum(np.bincount(kept_types, minlength=len(type_names)))])
    for k, name in enumerate(type_names):
        sel = by_type[bounds[k] : bounds[k + 1]]
        if len(sel):
            rows_of[name] = np.concatenate([rows_of[name], sel]) if name in rows_of else sel

    # Primary record type: SYSCALL, else the first record's type.
    primary_names = [*type_names, "SYSCALL"]
    primary = front.type_codes[first_kept].astype(np.int64)  # codes into primary_names
    arch_big_endian = np.zeros(n, bool)
    sys_rows = rows_of.get("SYSCALL")
    if sys_rows is not None:
        primary[ev_of_row[sys_rows]] = len(type_names)
        arch_big_endian = _fill_syscall(events, front, sys_rows, ev_of_row[sys_rows])
    # syscall names as codes into a table of names (-1: none), compared name by name
    syscalls = events.strings[s.SYSCALL] if events.has(s.SYSCALL) else _Strings(n)
    if "EXECVE" in rows_of:
        rows = rows_of["EXECVE"]
        cmd, has = front.cmdlines(rows, ev_of_row[rows], n)
        if isinstance(cmd, pa.Array):
            events.argv = cmd
        else:
            events.set_obj("argv_cmdline", np.flatnonzero(has), cmd[has])
        if "PROCTITLE" in rows_of:  # the complete argv wins over the truncated title
            title_rows = rows_of["PROCTITLE"]
            rows_of["PROCTITLE"] = title_rows[~has[ev_of_row[title_rows]]]
    generic = _GenericRecords(front, rows_of)
    generic_done = generic.fill_all_at_once(events, ev_of_row, rows_of)
    for name, rows in rows_of.items():
        ev = ev_of_row[rows]
        if name in _SKIPPED_TYPES or len(rows) == 0:
            continue
        if name == "PROCTITLE":
            events.set_coded(
                "proctitle", ev, front.strings(rows, name, "proctitle"), _proctitle_value
            )
        elif name == "CWD":
            events.set_coded(s.CWD, ev, front.strings(rows, name, "cwd"), decode_encoded)
        elif name == "SOCKADDR":
            addrs = _sockaddr_columns(front.strings(rows, name, "saddr"), arch_big_endian[ev])
            events.set_codes("sock_family", ev, addrs.codes, addrs.family)
            events.set_codes("sock_address", ev, addrs.codes, addrs.address)
            events.set_int("sock_port", ev, addrs.port, addrs.port_ok)
        elif name == "CONTAINER_ID":
            events.set_coded(s.CONTAINER_ID, ev, front.strings(rows, name, "contid"), decode_plain)
        elif not generic_done:
            # Other records: fill process facts only where no SYSCALL gave them.
            generic.fill(events, ev, name)
    login = np.isin(primary, [k for k, t in enumerate(primary_names) if t == "USER_LOGIN"])
    event_type, direction = _classify(events, syscalls, login)
    if "PATH" in rows_of:
        _fill_file_paths(events, front, rows_of["PATH"], ev_of_row, event_type, syscalls)
    tskeys = front.tskeys(first_kept)
    nodes = _Strings(n)
    nodes.set(
        np.arange(n),
        front.node_codes[first_kept],
        [decode_plain(u) for u in front.node_uniques],
        fill=False,
    )
    result.table = _finish(
        events,
        options,
        event_us,
        nodes,
        tskeys,
        event_type,
        direction,
        _dictionary(primary, primary_names),
    )
    if options.provenance:
        first_lines = front.line_idx[first_kept]
        result.table = result.table.append_column(
            "source_file",
            pa.array([block.files[int(f)] for f in block.line_file[first_lines]], pa.string()),
        ).append_column("source_line", pa.array(block.line_no[first_lines], pa.int64()))
    return result


def _stable_order(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """``np.argsort(codes, kind="stable")`` of codes in ``[0, n_codes)``.

    Small codes are sorted as bytes, which numpy does with a radix sort.
    """
    if n_codes <= 256:
        codes = codes.astype(np.uint8)
    return np.argsort(codes, kind="stable")


def _bad(block: LineBlock, i: int, reason: str, text: bytes) -> BadLine:
    return BadLine(
        file=block.files[int(block.line_file[i])],
        line=int(block.line_no[i]),
        reason=reason,
        text=decode_bytes(text[:300]),
    )


@lru_cache(maxsize=16384)  # daemons log the same titles block after block
def _proctitle_value(raw: bytes) -> str | None:
    value = decode_encoded_bytes(raw)
    if value is None:
        return None
    return join_argv(split_proctitle(value))


@dataclass
class _Sockaddrs:
    """SOCKADDR records decoded: family and address as codes into value tables."""

    codes: np.ndarray
    family: list[str | None]
    address: list[str | None]
    port: np.ndarray
    port_ok: np.ndarray


def _sockaddr_columns(raw: Coded, big_endian: np.ndarray) -> _Sockaddrs:
    """SOCKADDR family, address, port and port validity per record.

    The family is stored in the byte order of the arch of the record's event:
    each distinct value is decoded in the orders its records need, and a
    record's code points at the decoding of its order.
    """
    codes = np.asarray(raw.codes, np.int64)
    family, address, port = decode_sockaddrs(raw.uniques, big_endian=False)
    if big_endian.any():
        big_family, big_address, big_port = decode_sockaddrs(raw.uniques, big_endian=True)
        codes = np.where(big_endian & (codes >= 0), codes + len(raw.uniques), codes)
        family, address, port = family + big_family, address + big_address, port + big_port
    ports = np.array([0 if p is None else p for p in port] + [0], np.int64)
    valid = np.array([p is not None for p in port] + [False], bool)
    return _Sockaddrs(codes, family, address, ports[codes], valid[codes])


#: Integer fields of SYSCALL records -> their base.
_SYSCALL_INTS = {
    "syscall": 10,
    "exit": 10,
    "ppid": 10,
    "pid": 10,
    "uid": 10,
    "auid": 10,
    "ses": 10,
    "a1": 16,
    "a2": 16,
}


def _fill_syscall(events: _Events, front: Front, rows: np.ndarray, ev: np.ndarray) -> np.ndarray:
    """Fill events ``ev`` from their SYSCALL records ``rows``.

    Returns whether the arch of each event of the block is big-endian.
    """
    n = events.n
    rt = "SYSCALL"
    arch = front.strings(rows, rt, "arch")
    infos = [tables.arch_info(a.decode("ascii", "replace")) for a in arch.uniques] + [None]
    big_by_code = np.array([bool(i and i.big_endian) for i in infos], dtype=bool)
    big_endian = np.zeros(n, bool)
    big_endian[ev] = big_by_code[arch.codes]
    fields = list(_SYSCALL_INTS.items())
    ints = dict(zip(_SYSCALL_INTS, front.integer_fields(rows, rt, fields), strict=True))
    numbers, num_ok = ints["syscall"]
    # syscall name per distinct (arch, number)
    pair = (arch.codes + 1) * 1_000_000 + np.where(num_ok & (numbers < 999_999), numbers, 999_999)
    inverse, uniq = pd.factorize(pair)  # (hashing: no sort)
    inverse = inverse.astype(np.int64, copy=False)
    lookup = np.empty(len(uniq), dtype=object)
    for j, p in enumerate(uniq.tolist()):
        info = infos[p // 1_000_000 - 1]
        number = p % 1_000_000
        if number == 999_999:
            lookup[j] = None
        elif info is None:
            lookup[j] = str(number)
        else:
            lookup[j] = tables.syscall_name(info, number) or str(number)
    # socketcall(2) multiplexes the socket calls: the real one is in a0.
    is_socketcall = np.array([name == "socketcall" for name in lookup.tolist()], bool)[inverse]
    if is_socketcall.any():
        a0, a0_ok = front.integers(rows, rt, "a0", base=16)
        kind = np.array(
            [_SOCKETCALL.get(int(v)) if ok else None for v, ok in zip(a0, a0_ok, strict=True)],
            dtype=object,
        )
        kind[~is_socketcall] = None
        events.set_obj("socketcall_type", ev, kind)
    events.set_codes(s.SYSCALL, ev, inverse, lookup.tolist())
    events.set_coded("success_raw", ev, front.strings(rows, rt, "success"), _unquote)
    events.set_int(s.EXIT_CODE, ev, *ints["exit"])
    for col, field_name in ((s.PARENT_PID, "ppid"), (s.PROCESS_PID, "pid"), (s.USER_UID, "uid")):
        events.set_int(col, ev, *ints[field_name])
    for col, field_name in ((s.LOGIN_UID, "auid"), (s.SESSION_ID, "ses")):
        values, valid = ints[field_name]
        events.set_int(col, ev, values, valid & (values != UNSET_ID) & (values != -1))
    events.set_coded(s.TTY, ev, front.strings(rows, rt, "tty"), _tty_value)
    events.set_coded(s.PROCESS_NAME, ev, front.strings(rows, rt, "comm"), decode_encoded)
    events.set_coded(s.PROCESS_EXE, ev, front.strings(rows, rt, "exe"), decode_encoded)
    events.set_coded(s.AUDIT_KEY, ev, front.strings(rows, rt, "key"), _key_value)
    events.set_coded(s.USER_NAME, ev, front.strings(rows, rt, "UID"), _enriched_name)
    events.set_coded(s.LOGIN_NAME, ev, front.strings(rows, rt, "AUID"), _enriched_name)
    for arg in ("a1", "a2"):
        events.set_int(arg, ev, *ints[arg])
    return big_endian


def _unquote(raw: bytes) -> bytes:
    return raw[1:-1] if len(raw) >= 2 and raw[:1] == b'"' and raw[-1:] == b'"' else raw


def _enriched_name(raw: bytes) -> str | None:
    if raw[:1] == b'"' and raw[-1:] == b'"':
        raw = raw[1:-1]
    return _name_or_none(raw)


#: Integer fields of non-SYSCALL records -> canonical column.
_GENERIC_INTS = (
    (b"pid", s.PROCESS_PID),
    (b"ppid", s.PARENT_PID),
    (b"uid", s.USER_UID),
    (b"auid", s.LOGIN_UID),
    (b"ses", s.SESSION_ID),
    (b"exit", s.EXIT_CODE),
    (b"rport", s.SRC_PORT),  # CRYPTO_SESSION: the remote end is the source
    (b"lport", s.DST_PORT),
)
_GENERIC_TEXT = (
    (b"exe", s.PROCESS_EXE, "encoded"),
    (b"comm", s.PROCESS_NAME, "encoded"),
    (b"cwd", s.CWD, "encoded"),
    (b"cmd", "user_cmd", "encoded"),
    (b"addr", s.SRC_IP, "plain"),
    (b"laddr", s.DST_IP, "plain"),
)


@dataclass
class _GenericValues:
    """Canonical values of non-SYSCALL records, one entry per record."""

    ints: dict[str, tuple[np.ndarray, np.ndarray]]
    obj: dict[str, np.ndarray]


#: Object columns that non-SYSCALL records fill, in the order they are filled.
_GENERIC_OBJ_COLUMNS = (
    *(c for _, c, _ in _GENERIC_TEXT),
    s.TTY,
    s.USER_NAME,
    s.LOGIN_NAME,
    "success_raw",
)


def _fill_generic(
    events: _Events, ev: np.ndarray, fields: Mapping[bytes, Coded], record_type: str
) -> None:
    """Process facts from records of one type that is not SYSCALL (user-space, AVC...).

    ``fields`` holds the records' ``GENERIC_FIELDS`` as columns (see
    ``Front.generic_fields``). The same as :func:`_generic_values` then
    :func:`_apply_generic`, which a block runs for all such records at once.
    """
    account = np.full(len(ev), record_type in _ACCOUNT_RECORDS)
    _apply_generic(events, ev, _generic_values(fields, account), slice(None))


def _generic_values(fields: Mapping[bytes, Coded], account: np.ndarray) -> _GenericValues:
    """Canonical values of non-SYSCALL records (user-space, AVC, URINGOP...).

    Account records (``account``: logins, PAM, user management) describe the
    account acted on: their user is ``id=`` (or ``acct=``, with the uid then
    unknown), not the uid of the daemon writing the record, so that user_name
    always names user_uid.

    ``fields`` holds the records' ``GENERIC_FIELDS`` as columns (see
    ``Front.generic_fields``); each distinct raw value is decoded once.
    """
    ints = {col: _generic_ints(fields[raw_name]) for raw_name, col in _GENERIC_INTS}
    obj = {
        col: fields[raw_name].decode(decode_encoded if kind == "encoded" else decode_plain)
        for raw_name, col, kind in _GENERIC_TEXT
    }
    user_name = fields[b"UID"].decode(_enriched_name)
    if account.any():
        acct = fields[b"acct"].decode(_account_name)
        id_name = fields[b"ID"].decode(_enriched_name)
        id_values, id_ok = _uniques_map(fields[b"id"], _account_id)
        id_ok &= account
        uid_values, uid_valid = ints[s.USER_UID]
        uid_values[id_ok] = id_values[id_ok]
        uid_valid[id_ok] = True
        named = id_ok & (id_name != None)  # noqa: E711
        user_name[id_ok] = acct[id_ok]
        user_name[named] = id_name[named]
        by_acct = account & ~id_ok & (acct != None)  # noqa: E711
        uid_valid[by_acct] = False
        user_name[by_acct] = acct[by_acct]
    obj[s.TTY] = _coalesce(fields[b"terminal"], fields[b"tty"]).decode(_tty_value)
    obj[s.USER_NAME] = user_name
    obj[s.LOGIN_NAME] = fields[b"AUID"].decode(_enriched_name)
    obj["success_raw"] = _coalesce(fields[b"res"], fields[b"success"]).decode(_strip_quotes)
    for col, (values, valid) in ints.items():
        if col in (s.LOGIN_UID, s.SESSION_ID):
            ints[col] = (values, valid & (values != UNSET_ID) & (values != -1))
        if col in (s.SRC_PORT, s.DST_PORT):
            ints[col] = (values, valid & (values > 0))
    return _GenericValues(ints, obj)


def _apply_generic(
    events: _Events, ev: np.ndarray, values: _GenericValues, records: slice
) -> None:
    """Fill events ``ev`` from ``values[records]``, only what is still empty.

    Values only fill what no SYSCALL record (or earlier record type) of the
    same event gave.
    """
    for col, (ints, valid) in values.ints.items():
        events.set_int(col, ev, ints[records], valid[records], fill=True)
    for col in _GENERIC_OBJ_COLUMNS:
        events.set_obj(col, ev, values.obj[col][records], fill=True)


def _strip_quotes(raw: bytes) -> bytes:
    return raw.strip(b"'\"")


_SIGNED_DECIMAL = re.compile(rb"-?[0-9]{1,18}")


def _generic_int(raw: bytes) -> tuple[int, bool]:
    """A signed decimal field of a user-space record; anything else (``--5``) is invalid."""
    if len(raw) < 19 and _SIGNED_DECIMAL.fullmatch(raw):
        return int(raw), True
    return 0, False


def _account_id(raw: bytes) -> tuple[int, bool]:
    if raw.isdigit() and len(raw) < 19:
        return int(raw), True
    return 0, False


def _uniques_map(coded: Coded, parse: Any) -> tuple[np.ndarray, np.ndarray]:
    """(values, valid) per row from ``parse`` of each distinct value; absent is invalid."""
    values = np.zeros(len(coded.uniques) + 1, np.int64)
    valid = np.zeros(len(coded.uniques) + 1, bool)
    for i, raw in enumerate(coded.uniques):
        values[i], valid[i] = parse(raw)
    return values[coded.codes], valid[coded.codes]


def _generic_ints(coded: Coded) -> tuple[np.ndarray, np.ndarray]:
    """(values, valid) of an optional signed decimal field."""
    return _uniques_map(coded, _generic_int)


def _account_name(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    name = decode_encoded(raw)
    return None if name in (None, "?", "") else name


#: event_type and net_direction values, coded by position; "other" is code 0, what
#: an event is until classified. (Columns keep first-seen order, not this one.)
_EVENT_TYPES = ("other", *(t for t in s.EVENT_TYPES if t != "other"))
_EVENT_CODE = {name: k for k, name in enumerate(_EVENT_TYPES)}
_FILE_WRITE = _EVENT_CODE["file_write"]
_DIRECTIONS = s.NET_DIRECTIONS
_INBOUND = _DIRECTIONS.index("inbound")
_DIRECTION_OF_CODE = np.array(
    [
        _DIRECTIONS.index(_DIRECTION_OF_TYPE[t]) if t in _DIRECTION_OF_TYPE else -1
        for t in _EVENT_TYPES
    ],
    np.int64,
)


def _classify(
    events: _Events, syscalls: _Strings, login: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """event_type and net_direction from the syscall (and open flags, login records).

    Both are codes: into :data:`_EVENT_TYPES` and :data:`_DIRECTIONS` (-1: none).
    ``syscalls`` is the SYSCALL column: each name of its table is looked at
    once, and events get the outcome of their name by its code.
    """
    names = syscalls.table
    type_of = np.zeros(len(names) + 1, np.int64)  # the last entry: code -1, no syscall
    direction_of = np.full(len(names) + 1, -1, np.int64)
    flags_arg = np.zeros(len(names) + 1, np.int64)  # open-like calls: where their flags are
    for k, name in enumerate(names):
        kind = _SYSCALL_EVENT_TYPES.get(name)
        if kind is not None:
            type_of[k] = _EVENT_CODE[kind]
        elif name in _FILE_WRITE_SYSCALLS:
            type_of[k] = _FILE_WRITE
        elif name in _OPEN_FLAG_ARG:
            flags_arg[k] = _OPEN_FLAG_ARG[name]
        elif name in _OUTBOUND_SENDS:
            direction_of[k] = _DIRECTIONS.index("outbound")
        elif name in _INBOUND_RECVS:
            direction_of[k] = _INBOUND
    event_type = type_of[syscalls.codes]
    direction = direction_of[syscalls.codes]
    arg_of_event = flags_arg[syscalls.codes]
    for arg in (1, 2):
        where = arg_of_event == arg
        if where.any():
            flags, valid = events.get_int(f"a{arg}")
            writes = where & valid & ((flags & _WRITE_INTENT) != 0)
            event_type[writes] = _FILE_WRITE
    if events.has("socketcall_type"):
        socketcall = events.strings["socketcall_type"]
        kinds = np.array([_EVENT_CODE[t] if t else -1 for t in socketcall.table] + [-1], np.int64)
        socket_kind = kinds[socketcall.codes]
        has = socket_kind >= 0
        event_type[has] = socket_kind[has]
    event_type[login] = _EVENT_CODE["login"]
    side = _DIRECTION_OF_CODE[event_type]
    direction = np.where(side >= 0, side, direction)
    return event_type, direction


def _fill_file_paths(
    events: _Events,
    front: Front,
    path_rows: np.ndarray,
    ev_of_row: np.ndarray,
    event_type: np.ndarray,
    syscalls: _Strings,
) -> None:
    """file_path for file events: the created, deleted or written PATH item."""
    open_like = ("open", "openat", "openat2", "open_by_handle_at")
    is_open_like = np.array([name in open_like for name in syscalls.table] + [False])[
        syscalls.codes
    ]
    wanted = (event_type == _FILE_WRITE) | is_open_like
    rows = path_rows[wanted[ev_of_row[path_rows]]]
    if len(rows) == 0:
        return
    ev = ev_of_row[rows]
    nametype = front.strings(rows, "PATH", "nametype")
    if (nametype.codes < 0).any():  # RHEL 7 and older say objtype=
        objtype = front.strings(rows, "PATH", "objtype")
        nametype = _coalesce(nametype, objtype)
    rank_of = np.array([_PATH_PRIORITY.get(u, 3) for u in nametype.uniques] + [3], np.int64)
    rank = rank_of[nametype.codes]
    item, item_ok = front.integers(rows, "PATH", "item")
    item = np.where(item_ok, np.minimum(item, 1 << 20), 0)
    # best item per event: lowest (rank, item)
    order = np.lexsort((item, rank, ev))
    ev_sorted = ev[order]
    first = np.ones(len(order), bool)
    first[1:] = ev_sorted[1:] != ev_sorted[:-1]
    best_rows = order[first]
    best_ev = ev[best_rows]
    raw_names = front.strings(rows[best_rows], "PATH", "name")
    decoded = [decode_encoded(u) for u in raw_names.uniques]
    names = np.array([*decoded, None], dtype=object)[raw_names.codes]
    # relative names, found once per distinct name: joined to the event's cwd below
    relative = np.array([p is not None and not p.startswith("/") for p in decoded] + [False])
    creates = np.array([u == b"CREATE" for u in nametype.uniques] + [False], dtype=bool)[
        nametype.codes[best_rows]
    ]
    cwd = events.get_obj(s.CWD)
    for j in np.flatnonzero(relative[raw_names.codes]).tolist():
        base = cwd[best_ev[j]]
        if base:
            names[j] = posixpath.normpath(posixpath.join(base, names[j]))
    # An open that created a file is a write whatever its flags said.
    event_type[best_ev[creates]] = _FILE_WRITE
    keep = event_type[best_ev] == _FILE_WRITE
    events.set_obj(s.FILE_PATH, best_ev[keep], names[keep])


def _coalesce(first: Coded, second: Coded) -> Coded:
    """Values of ``first``, and of ``second`` where ``first`` is absent."""
    uniques = list(first.uniques) + list(second.uniques)
    offset = len(first.uniques)
    codes = np.where(
        first.codes >= 0, first.codes, np.where(second.codes >= 0, second.codes + offset, -1)
    )
    return Coded(codes, uniques)


def _finish(
    events: _Events,
    options: ParseOptions,
    event_us: np.ndarray,
    nodes: _Strings,
    tskeys: pa.Array,
    event_type: np.ndarray,
    direction: np.ndarray,
    record_type: pa.Array,
) -> pa.Table:
    """The canonical table of a block's events.

    ``event_type`` and ``direction`` are codes (see :func:`_classify`); the
    string columns go to Arrow from their codes (see :class:`_Strings`).
    """
    n = events.n
    if options.host is not None:  # the host of events without node=
        missing = np.flatnonzero(nodes.codes < 0)
        nodes.set(missing, np.zeros(len(missing), np.int64), [options.host], fill=False)
    hosts = nodes.arrow()  # the host group defaults to the host name
    host_prefix = pc.fill_null(hosts, "")
    event_id = pc.binary_join_element_wise(host_prefix, tskeys.cast(pa.string()), ":")

    cmdline, source = _command_lines(events)

    # Socket addresses by direction.
    src_port = events.get_int(s.SRC_PORT)
    dst_port = events.get_int(s.DST_PORT)
    if events.has("sock_family"):
        src_ip, dst_ip = _socket_ends(events, direction, src_port, dst_port)
    else:
        src_ip, dst_ip = events.arrow(s.SRC_IP), events.arrow(s.DST_IP)
    success, success_ok = _success(events)

    uid, uid_ok = events.get_int(s.USER_UID)
    auid, auid_ok = events.get_int(s.LOGIN_UID)
    user_name = _user_names(events, s.USER_NAME, uid, uid_ok, options.users)
    login_name = _user_names(events, s.LOGIN_NAME, auid, auid_ok, options.users)

    def ints(values: np.ndarray, valid: np.ndarray, typ: pa.DataType) -> pa.Array:
        if typ == pa.int32():
            valid = valid & (values >= -(2**31)) & (values < 2**31)
            values = np.where(valid, values, 0)
        return pa.array(values, typ, mask=~valid)

    columns: dict[str, pa.Array] = {
        s.TIME: pa.array(event_us, pa.timestamp("us", tz="UTC")),
        s.HOST_NAME: hosts,
        s.HOST_GROUP: hosts,
        s.EVENT_TYPE: _dictionary(event_type, list(_EVENT_TYPES)),
        s.RECORD_TYPE: record_type,
        s.SYSCALL: events.arrow(s.SYSCALL),
        s.SUCCESS: pa.array(success, pa.bool_(), mask=~success_ok),
        s.EXIT_CODE: ints(*events.get_int(s.EXIT_CODE), pa.int64()),
        s.PROCESS_PID: ints(*events.get_int(s.PROCESS_PID), pa.int64()),
        s.PARENT_PID: ints(*events.get_int(s.PARENT_PID), pa.int64()),
        s.PROCESS_NAME: events.arrow(s.PROCESS_NAME),
        s.PROCESS_EXE: events.arrow(s.PROCESS_EXE),
        s.PROCESS_CMDLINE: cmdline,
        s.CMDLINE_SOURCE: source,
        s.PARENT_EXE: pa.nulls(n, pa.string()),
        s.PARENT_NAME: pa.nulls(n, pa.string()),
        s.USER_NAME: user_name,
        s.USER_UID: ints(uid, uid_ok, pa.int64()),
        s.LOGIN_UID: ints(auid, auid_ok, pa.int64()),
        s.LOGIN_NAME: login_name,
        s.SESSION_ID: ints(*events.get_int(s.SESSION_ID), pa.int64()),
        s.TTY: events.arrow(s.TTY),
        s.CWD: events.arrow(s.CWD),
        s.FILE_PATH: events.arrow(s.FILE_PATH),
        s.SRC_IP: src_ip,
        s.SRC_PORT: ints(*src_port, pa.int32()),
        s.DST_IP: dst_ip,
        s.DST_PORT: ints(*dst_port, pa.int32()),
        s.NET_FAMILY: _dictionary_of(events, "sock_family"),
        s.NET_DIRECTION: _dictionary(direction, list(_DIRECTIONS)),
        s.CONTAINER_ID: events.arrow(s.CONTAINER_ID),
        s.AUDIT_KEY: events.arrow(s.AUDIT_KEY),
        s.EVENT_ID: event_id,
        s.SOURCE_FORMAT: pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(n, np.int32)), pa.array(["auditd"])
        ),
    }
    return pa.table(columns, schema=s.CANONICAL_SCHEMA)


_CMDLINE_SOURCES = (
    ("argv_cmdline", "execve"),
    ("proctitle", "proctitle"),
    ("user_cmd", "user_cmd"),
    (s.PROCESS_NAME, "comm"),
)


def _command_lines(events: _Events) -> tuple[pa.Array, pa.Array]:
    """Command line and its source: EXECVE argv, else PROCTITLE, USER_CMD, comm."""
    cmdline = _Strings(events.n)
    source = np.full(events.n, -1, np.int64)
    filled = np.zeros(events.n, bool)
    if events.argv is not None:
        filled = events.argv.is_valid().to_numpy(zero_copy_only=False)
        source[filled] = 0
    for k, (name, _label) in enumerate(_CMDLINE_SOURCES):
        col = events.strings.get(name)
        if col is not None:
            has = ~filled & (col.codes >= 0)
            cmdline.codes[has] = col.codes[has] + len(cmdline.table)
            cmdline.table.extend(col.table)
            source[has] = k
            filled |= has
    labels = [label for _name, label in _CMDLINE_SOURCES]
    text = cmdline.arrow()
    if events.argv is not None:
        text = pc.coalesce(events.argv, text)
    return text, _dictionary(source, labels)


def _socket_ends(
    events: _Events,
    direction: np.ndarray,
    src_port: tuple[np.ndarray, np.ndarray],
    dst_port: tuple[np.ndarray, np.ndarray],
) -> tuple[pa.Array, pa.Array]:
    """Source and destination IP (ports filled in place) with the SOCKADDR address.

    The address is the source of inbound events and the destination of the others.
    """
    where = np.flatnonzero(events.strings["sock_family"].codes >= 0)
    address = events.strings["sock_address"]
    port, port_ok = (values[where] for values in events.get_int("sock_port"))
    inbound = direction[where] == _INBOUND
    absent = np.array([value is None for value in address.table], bool)  # once for both ends
    for name, (port_values, port_valid), side in (
        (s.SRC_IP, src_port, inbound),
        (s.DST_IP, dst_port, ~inbound),
    ):
        rows = where[side]
        events.set_codes(name, rows, address.codes[rows], address.table, absent=absent)
        with_port = side & port_ok
        port_values[where[with_port]] = port[with_port]
        port_valid[where[with_port]] = True
    return events.arrow(s.SRC_IP), events.arrow(s.DST_IP)


def _success(events: _Events) -> tuple[np.ndarray, np.ndarray]:
    """success and whether it is known, from the raw success/res words."""
    col = events.strings.get("success_raw")
    if col is None:
        return np.zeros(events.n, bool), np.zeros(events.n, bool)
    meaning = [_SUCCESS_WORDS.get(w) for w in col.table] + [None]  # type: ignore[call-overload]
    success = np.array([m is True for m in meaning], bool)[col.codes]
    known = np.array([m is not None for m in meaning], bool)[col.codes]
    return success, known


def _user_names(
    events: _Events,
    name: str,
    ids: np.ndarray,
    valid: np.ndarray,
    users: Mapping[int, str] | None,
) -> pa.Array:
    """User name column ``name``, completed from ``users`` where the log gave none."""
    if not users:
        return events.arrow(name)
    names = events.get_obj(name)
    _names_from_map(names, ids, valid, users)
    return pa.array(names, pa.string())


def _dictionary_of(events: _Events, name: str) -> pa.Array:
    """String column ``name`` dictionary-encoded (see :func:`_dictionary`)."""
    col = events.strings.get(name)
    if col is None:
        return _dictionary(np.full(events.n, -1, np.int64), [])
    return _dictionary(col.codes, col.table)


def _dictionary(codes: np.ndarray, names: list[Any]) -> pa.Array:
    """``names[codes]`` (-1 or None: null) as a string dictionary array.

    The same as ``pa.array(values).dictionary_encode()``: each distinct value
    once, in order of first appearance.
    """
    merged, distinct = _distinct_names(names)
    codes = merged[codes]
    valid = codes >= 0
    used = _first_seen(codes, len(distinct))
    renumber = np.zeros(len(distinct) + 1, np.int32)  # code -1: a null index
    renumber[used] = np.arange(len(used), dtype=np.int32)
    indices = pa.array(renumber[codes], pa.int32(), mask=~valid)
    return pa.DictionaryArray.from_arrays(
        indices, pa.array([distinct[k] for k in used], pa.string())
    )


def _distinct_names(names: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """(code of each name in the distinct names, with -1 appended for code -1; distinct names).

    None has code -1.
    """
    if len(names) > 64:
        values = np.empty(len(names) + 1, dtype=object)
        values[:-1] = names
        values[-1] = None
        codes, uniques = pd.factorize(values)
        return codes.astype(np.int64), list(uniques)
    index: dict[Any, int] = {}
    merged = [-1 if v is None else index.setdefault(v, len(index)) for v in names]
    return np.array([*merged, -1], np.int64), list(index)


def _first_seen(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """The codes in ``[0, n_codes)`` that occur in ``codes``, in order of first occurrence.

    ``pd.unique`` hashes once and keeps the order of appearance: no sort, and
    no pass per distinct code.
    """
    present = pd.unique(np.asarray(codes, np.int64))
    return present[(present >= 0) & (present < n_codes)]  # type: ignore[no-any-return]


def _names_from_map(
    names: np.ndarray, ids: np.ndarray, valid: np.ndarray, users: Mapping[int, str]
) -> None:
    missing = np.flatnonzero((names == None) & valid)  # noqa: E711
    if len(missing) == 0:
        return
    uniq, inverse = np.unique(ids[missing], return_inverse=True)
    mapped = np.array([users.get(int(u)) for u in uniq], dtype=object)
    names[missing] = mapped[inverse]
