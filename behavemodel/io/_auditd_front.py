"""The front half of block parsing: headers, grouping, raw field values.

Two interchangeable implementations produce the same :class:`Front`:

- :class:`ScanFront` runs the compiled byte scanner (:mod:`._auditd_scan`,
  needs numba): one pass over the bytes, offsets instead of Python objects.
- :class:`RegexFront` is pure Python: one regular expression per record type
  over all bodies of that type.

The rest of the parse (:mod:`._auditd_chunk`) works on what a front returns:
per-record arrays and *coded* string columns (codes into a list of distinct raw
values), so values are decoded once per distinct value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from behavemodel.io._auditd_fields import (
    GENERIC_FIELDS,
    PLAIN_BODY,
    SYSCALL_FIELDS,
    extract_single,
    extract_syscall,
    parse_fields,
    plain_bodies,
)
from behavemodel.io._auditd_values import decode_bytes, decode_encoded_bytes, join_argv

__all__ = [
    "Coded",
    "Front",
    "RegexFront",
    "generic_columns",
    "make_front",
    "scanner_available",
]

#: A block's text: ``bytes``, or the serial reader's reused ``bytearray``.
BlockData = bytes | bytearray

_SCANNER: Any = None
_SCANNER_CHECKED = False


def _scanner() -> Any:
    """The compiled scanner module, imported on first use (numba is slow to import)."""
    global _SCANNER, _SCANNER_CHECKED
    if not _SCANNER_CHECKED:
        _SCANNER_CHECKED = True
        try:  # the compiled scanner is optional: pip install 'behavemodel[fast]'
            from behavemodel.io import _auditd_scan
        except ImportError:  # pragma: no cover - exercised where numba is absent
            _auditd_scan = None  # type: ignore[assignment]
        _SCANNER = _auditd_scan
    return _SCANNER


def scanner_available() -> bool:
    """Whether the compiled scanner (numba) can be used."""
    return _scanner() is not None


@dataclass
class Coded:
    """A string column as codes into distinct raw values (-1: absent)."""

    codes: np.ndarray
    uniques: list[bytes]

    def decode(self, decoder: Any) -> np.ndarray:
        """Object array of ``decoder(value)`` per row (None where absent)."""
        return self.decode_all(lambda uniques: [decoder(u) for u in uniques])

    def decode_all(self, decoder: Any) -> np.ndarray:
        """Like :meth:`decode`; ``decoder`` maps the list of distinct values at once."""
        table = np.empty(len(self.uniques) + 1, dtype=object)
        table[:-1] = decoder(self.uniques)
        table[-1] = None
        return table[self.codes]


def _coded_from_list(values: list[bytes]) -> Coded:
    if not values:
        return Coded(np.zeros(0, np.int64), [])
    codes, uniques = pd.factorize(np.array(values, dtype=object))
    uniq = list(uniques)
    empty = [i for i, u in enumerate(uniq) if u == b""]
    codes = codes.astype(np.int64)
    if empty:
        codes[codes == empty[0]] = -1
    return Coded(codes, uniq)


def _coded_keep_empty(values: list[bytes | None]) -> Coded:
    """Codes of values in first-seen order; None is absent, b"" a value like any other."""
    index: dict[bytes, int] = {}
    codes = np.fromiter(
        (-1 if v is None else index.setdefault(v, len(index)) for v in values),
        np.int64,
        count=len(values),
    )
    return Coded(codes, list(index))


def generic_columns(bodies: list[bytes]) -> dict[bytes, Coded]:
    """The ``GENERIC_FIELDS`` of record bodies, one column each (via ``parse_fields``)."""
    parsed = [parse_fields(body) for body in bodies]
    return {name: _coded_keep_empty([f.get(name) for f in parsed]) for name in GENERIC_FIELDS}


#: What the kernel writes for integer fields, as the compiled scanner reads them:
#: signed decimal of at most 19 digits, unsigned hex of at most 15. Python's
#: ``int`` would also take ``+``, ``_``, spaces and ``0x``: those are not valid here.
_STRICT_INTEGER = {
    10: re.compile(rb"-?[0-9]{1,19}"),
    16: re.compile(rb"[0-9A-Fa-f]{1,15}"),
}


def _parse_uniques(coded: Coded, base: int) -> tuple[np.ndarray, np.ndarray]:
    values = np.zeros(len(coded.uniques) + 1, np.int64)
    valid = np.zeros(len(coded.uniques) + 1, bool)
    strict = _STRICT_INTEGER[base]
    for i, u in enumerate(coded.uniques):
        if strict.fullmatch(u):
            value = int(u, base)
            if -(2**63) < value < 2**63:  # the magnitude fits in int64, as in decimal_at
                values[i], valid[i] = value, True
    return values[coded.codes], valid[coded.codes]


class Front:
    """Headers and field access for the lines of one block.

    Attributes (per record, i.e. per line that has a header)
    ---------------------------------------------------------
    line_idx : line index in the block
    type_codes, type_names : record type per record
    node_codes, node_uniques : node name per record (-1: none)
    sec, frac_us, serial : timestamp and serial per record
    bad, blank, comment : block lines without a header
    """

    line_idx: np.ndarray
    type_codes: np.ndarray
    type_names: list[str]
    node_codes: np.ndarray
    node_uniques: list[bytes]
    sec: np.ndarray
    frac_us: np.ndarray
    serial: np.ndarray
    bad: list[int]
    blank: int
    comment: int

    def group(self) -> tuple[np.ndarray, np.ndarray]:
        """(event code per record, first record of each event), first-seen order."""
        raise NotImplementedError

    def tskeys(self, rows: np.ndarray) -> pa.Array:
        """The ``SEC.FRAC:SERIAL`` header text of the given records (Arrow binary)."""
        raise NotImplementedError

    def strings(self, rows: np.ndarray, record_type: str, field: str) -> Coded:
        """Raw values of one field for the given records of one type."""
        raise NotImplementedError

    def integers(
        self, rows: np.ndarray, record_type: str, field: str, base: int = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """One integer field: (values, valid)."""
        return _parse_uniques(self.strings(rows, record_type, field), base)

    def integer_fields(
        self, rows: np.ndarray, record_type: str, fields: Sequence[tuple[str, int]]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`integers` of several ``(field, base)`` of the same records."""
        return [self.integers(rows, record_type, field, base) for field, base in fields]

    def bodies(self, rows: np.ndarray) -> list[bytes]:
        """Record bodies (after the header), for the general tokenizer."""
        raise NotImplementedError

    def generic_fields(self, rows: np.ndarray) -> dict[bytes, Coded]:
        """The ``GENERIC_FIELDS`` of records, as ``parse_fields`` reads them."""
        return generic_columns(self.bodies(rows))

    def lines(self, block_lines: np.ndarray) -> list[bytes]:
        """Raw text of block lines."""
        raise NotImplementedError

    def cmdlines(
        self, rows: np.ndarray, events: np.ndarray, n_events: int
    ) -> tuple[np.ndarray | pa.Array, np.ndarray]:
        """EXECVE command lines: (values per event, has-EXECVE mask).

        The values are an object array, or an Arrow string array null exactly
        where the mask is False.
        """
        raise NotImplementedError


# --- pure Python ----------------------------------------------------------------------

_HEADER = re.compile(
    rb"^(?:node=([^ \n]*) )?type=([^ \n]+) msg=audit\((\d+)\.(\d+):(\d+)\):[ ]?([^\n]*)"
    rb"|^([^\n]*)",
    re.M,
)
_HEADER_LOOSE = re.compile(
    rb"(?:node=(\S+) )?type=(\S+) (?:msg=)?audit\((\d+)\.(\d+):(\d+)\):?[ ]?(.*?)\r?$"
)


def _frac_micros(frac: bytes) -> int:
    return int((frac + b"000000")[:6])


class RegexFront(Front):
    """Pure-Python front: regular expressions over whole blocks."""

    def __init__(self, data: BlockData, n_lines: int) -> None:
        rows = _HEADER.findall(data)
        if len(rows) != n_lines:  # defensive: keep lines and matches aligned
            rows = [_HEADER.match(line).groups(b"") for line in data.split(b"\n")]  # type: ignore[union-attr]
        self._data = data
        self.bad, self.blank, self.comment = [], 0, 0
        node, rtype, sec, frac, serial, body, rest = (list(c) for c in zip(*rows, strict=True))
        ok = np.fromiter(map(bool, rtype), dtype=bool, count=len(rows))
        for i in np.flatnonzero(~ok).tolist():
            line = rest[i].rstrip(b"\r")
            stripped = line.strip()
            if not stripped:
                self.blank += 1
            elif stripped[:1] == b"#":
                self.comment += 1
            else:
                m = _HEADER_LOOSE.search(line)
                if m is None:
                    self.bad.append(i)
                    continue
                node[i], rtype[i], sec[i], frac[i], serial[i], body[i] = m.groups(b"")
                ok[i] = True
        self.line_idx = np.flatnonzero(ok)
        take = self.line_idx.tolist()
        self._body = [body[i] for i in take]
        if any(b.endswith(b"\r") for b in self._body):
            self._body = [b.rstrip(b"\r") for b in self._body]
        nodes = _coded_from_list([node[i] for i in take])
        self.node_codes, self.node_uniques = nodes.codes, nodes.uniques
        types = _coded_from_list([rtype[i] for i in take])
        self.type_codes = types.codes
        self.type_names = [t.decode("ascii", "replace") for t in types.uniques]
        self._sec = [sec[i] for i in take]
        self._frac = [frac[i] for i in take]
        self._serial = [serial[i] for i in take]
        self.sec = _to_int(self._sec)
        self.frac_us = np.array([_frac_micros(f) for f in self._frac], dtype=np.int64)
        self.serial = _to_int(self._serial)
        self._cache: dict[tuple[str, int], dict[str, Coded]] = {}
        self._plain: np.ndarray | None = None

    def group(self) -> tuple[np.ndarray, np.ndarray]:
        keys = np.empty(len(self._sec), dtype=object)
        keys[:] = list(
            zip(self.node_codes.tolist(), self._sec, self._frac, self._serial, strict=True)
        )
        codes, _ = pd.factorize(keys)
        _, first = np.unique(codes, return_index=True)
        return codes.astype(np.int64), first

    def tskeys(self, rows: np.ndarray) -> pa.Array:
        return pa.array(
            [self._sec[i] + b"." + self._frac[i] + b":" + self._serial[i] for i in rows.tolist()],
            pa.binary(),
        )

    def strings(self, rows: np.ndarray, record_type: str, field: str) -> Coded:
        if record_type == "SYSCALL" and field in SYSCALL_FIELDS:
            key = (record_type, id(rows))
            cached = self._cache.get(key)
            if cached is None:
                extracted = extract_syscall(self.bodies(rows))
                columns = (
                    list(zip(*extracted, strict=True))
                    if extracted
                    else [() for _ in SYSCALL_FIELDS]
                )
                cached = {
                    name: _coded_from_list(list(col))
                    for name, col in zip(SYSCALL_FIELDS, columns, strict=True)
                }
                self._cache[key] = cached
            return cached[field]
        if self._plain is None:
            self._plain = np.full(len(self._body), -1, np.int8)  # -1: not looked at yet
        unknown = rows[self._plain[rows] < 0]
        if len(unknown):  # each body once, however many of its fields are asked for
            self._plain[unknown] = plain_bodies(self.bodies(unknown))
        plain = (self._plain[rows] == 1).tolist()
        return _coded_from_list(extract_single(self.bodies(rows), field.encode(), plain))

    def bodies(self, rows: np.ndarray) -> list[bytes]:
        body = self._body
        return [body[i] for i in rows.tolist()]

    def lines(self, block_lines: np.ndarray) -> list[bytes]:
        lines = self._data.split(b"\n")
        return [bytes(lines[i]) for i in block_lines.tolist()]

    def cmdlines(
        self, rows: np.ndarray, events: np.ndarray, n_events: int
    ) -> tuple[np.ndarray, np.ndarray]:
        out = np.full(n_events, None, dtype=object)
        has = np.zeros(n_events, bool)
        for e, argv in execve_argv(events.tolist(), self.bodies(rows)).items():
            out[e] = join_argv(argv)
            has[e] = True
        return out, has


def _to_int(values: list[bytes]) -> np.ndarray:
    if not values:
        return np.zeros(0, np.int64)
    try:
        return np.array(values, dtype="S").astype(np.int64)
    except (ValueError, OverflowError):
        return np.array([int(v) if len(v) < 19 else -1 for v in values], dtype=np.int64)


#: ``name=value`` tokens of an EXECVE record as the compiled scanner reads them:
#: separated by spaces or 0x1D; a value that opens a double quote runs to the
#: closing quote (or the end of the record), any other to the next separator.
_EXECVE_TOKEN = re.compile(rb'([^= \x1d]*)=("[^"]*"?|[^ \x1d]*)')
_plain_body = PLAIN_BODY.fullmatch


def execve_argv(events: list[int], bodies: list[bytes]) -> dict[int, list[str]]:
    """argv per event from EXECVE records (split arguments, several records).

    Arguments are taken in index order; indices missing from the log are
    skipped, never invented (a forged ``argc`` cannot inflate the result).

    Examples
    --------
    >>> execve_argv([0, 0], [b'argc=3 a0="sh" a1="-c"', b'a2_len=4 a2[0]="ec" a2[1]=686F'])
    {0: ['sh', '-c', 'echo']}
    """
    parts: dict[int, dict[tuple[int, int], bytes]] = {}
    for e, body in zip(events, bodies, strict=True):
        args = parts.setdefault(e, {})
        if b"\x1d" not in body and _plain_body(body):  # splitting on spaces reads the same
            tokens = [token.partition(b"=")[::2] for token in body.split(b" ") if b"=" in token]
        else:
            tokens = _EXECVE_TOKEN.findall(body)
        for name, value in tokens:
            if name[:1] != b"a":
                continue
            rest = name[1:]
            if rest.isdigit() and len(rest) <= 9:
                args.setdefault((int(rest), -1), decode_encoded_bytes(value) or b"")
            elif rest.endswith(b"]") and b"[" in rest:
                index_text, _, piece_text = rest[:-1].partition(b"[")
                if (
                    index_text.isdigit()
                    and piece_text.isdigit()
                    and len(index_text) <= 9
                    and len(piece_text) <= 9
                ):
                    key = (int(index_text), int(piece_text))
                    args.setdefault(key, decode_encoded_bytes(value) or b"")
    out: dict[int, list[str]] = {}
    for e, args in parts.items():
        if not args:  # EXECVE records without one argument: no command line from them
            continue
        argv: dict[int, bytes] = {}
        for (index, _piece), chunk in sorted(args.items()):
            argv[index] = argv.get(index, b"") + chunk
        out[e] = [decode_bytes(argv[i]) for i in sorted(argv)]
    return out


# --- compiled scanner -----------------------------------------------------------------


def byte_slices(data: BlockData, starts: list[int], ends: list[int]) -> list[bytes]:
    """``data[a:b]`` as ``bytes`` for each range.

    A bytearray's slices are copied out as ``bytes``: values must be hashable,
    and must not change when the serial reader reuses the buffer.
    """
    if isinstance(data, bytes):
        return [data[a:b] for a, b in zip(starts, ends, strict=True)]
    with memoryview(data) as view:
        return [view[a:b].tobytes() for a, b in zip(starts, ends, strict=True)]


def _readonly_view(data: BlockData) -> np.ndarray:
    """``data`` as a read-only uint8 array (the kernels are compiled for read-only input)."""
    buf = np.frombuffer(data, np.uint8)
    buf.flags.writeable = False
    return buf


def _binary_array(offsets: np.ndarray, data: np.ndarray, present: np.ndarray) -> pa.Array:
    n = len(offsets) - 1
    validity = pa.array(present, pa.bool_()).buffers()[1] if not present.all() else None
    return pa.Array.from_buffers(
        pa.binary(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


class ScanFront(Front):
    """Front over the compiled byte scanner."""

    def __init__(self, data: BlockData, n_lines: int, line_ends: np.ndarray | None = None) -> None:
        _scan = _scanner()
        scanned = self._scan(data, n_lines, line_ends)
        ok = scanned[2].astype(bool)
        self.bad, self.blank, self.comment = [], 0, 0
        rewritten: dict[int, bytes] = {}
        if not ok.all():
            line_s, line_e = scanned[0], scanned[1]
            for i in np.flatnonzero(~ok).tolist():
                line = bytes(data[line_s[i] : line_e[i]])
                stripped = line.strip()
                if not stripped:
                    self.blank += 1
                elif stripped[:1] == b"#":
                    self.comment += 1
                else:
                    m = _HEADER_LOOSE.search(line)
                    if m is None:
                        self.bad.append(i)
                    else:  # a prefix (syslog, dmesg) or odd spacing: rewrite canonically
                        g_node, g_type, g_sec, g_frac, g_serial, g_body = m.groups(b"")
                        head = b"node=" + g_node + b" " if g_node else b""
                        rewritten[i] = (
                            head
                            + b"type="
                            + g_type
                            + b" msg=audit("
                            + g_sec
                            + b"."
                            + g_frac
                            + b":"
                            + g_serial
                            + b"): "
                            + g_body
                        )
        if rewritten:  # (rare: a copy of a reused buffer's text is fine here)
            lines = bytes(data).split(b"\n")
            for i, text in rewritten.items():
                lines[i] = text
            data = b"\n".join(lines)
            scanned = self._scan(data, n_lines)
            ok = scanned[2].astype(bool)
            # Never lose a line: one the loose header took but the scanner still
            # refuses is reported, not dropped.
            self.bad += [i for i in rewritten if not ok[i]]
            self.bad.sort()
        (line_s, line_e, _ok, ts_s, ts_e, sec, frac,
         serial, fs, fe, body_s, execve, ival, iok, scode, st_s, st_e, st_field,
         st_code) = scanned  # fmt: skip
        a_line, a_index, a_piece, a_s, a_e = _scan.scan_execve_args(
            self._buf, np.flatnonzero(execve & ok), body_s, line_e
        )
        self._data = data
        self._line_s, self._line_e = line_s, line_e
        self.line_idx = li = np.flatnonzero(ok)
        self._fs, self._fe = fs, fe  # indexed through line_idx: no copies
        self._ival, self._iok, self._scode = ival, iok, scode
        self._st_s, self._st_e, self._st_field, self._st_code = st_s, st_e, st_field, st_code
        self._uniques: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if len(li) == len(ok):  # every line has a header (the usual case): no copies
            self._ts_s, self._ts_e = ts_s, ts_e
            self.sec, self.frac_us, self.serial = sec, frac, serial
        else:
            self._ts_s, self._ts_e = ts_s[li], ts_e[li]
            self.sec, self.frac_us, self.serial = sec[li], frac[li], serial[li]
        nodes = self._scanned_coded(_scan.NODE_FIELD, li)
        self.node_codes, self.node_uniques = nodes.codes, nodes.uniques
        types = self._scanned_coded(_scan.TYPE_FIELD, li)
        self.type_codes = types.codes
        self.type_names = [t.decode("ascii", "replace") for t in types.uniques]
        # EXECVE argument tokens, by record (position among the header lines)
        if len(li) == len(ok):  # records are the lines
            self._arg_rec = a_line
        else:
            pos_of_line = np.full(len(line_s), -1, np.int64)
            pos_of_line[li] = np.arange(len(li))
            self._arg_rec = pos_of_line[a_line]
        self._arg_index, self._arg_piece, self._arg_s, self._arg_e = a_index, a_piece, a_s, a_e

    def _scan(
        self, data: BlockData, n_lines: int, line_ends: np.ndarray | None = None
    ) -> tuple[np.ndarray, ...]:
        _scan = _scanner()
        self._buf = _readonly_view(data)
        if line_ends is None:
            line_ends = _scan.line_ends(self._buf, n_lines)
        return _scan.scan(  # type: ignore[no-any-return]
            self._buf, line_ends, _scan.FIELD_TABLE, _scan.FIELD_NAME_BYTES,
            _scan.FIELD_NAME_OFFSETS, _scan.LIT_NODE, _scan.LIT_TYPE, _scan.LIT_MSG,
            _scan.LIT_EXECVE, _scan.FIELD_KINDS, _scan.TYPE_LITS, _scan.TYPE_LENS,
            _scan.TYPE_NEED_FIELDS,
        )  # fmt: skip

    def _gather_coded(self, starts: np.ndarray, ends: np.ndarray) -> Coded:
        _scan = _scanner()
        codes, first = _scan.encode_ranges(self._buf, starts, ends)
        return Coded(codes, byte_slices(self._data, starts[first].tolist(), ends[first].tolist()))

    def _scanned_coded(self, f: int, lines: np.ndarray) -> Coded:
        """Field ``f`` of ``lines`` from the scanner's dictionary encoding.

        Codes are renumbered to the distinct values these lines use, in the
        order of their first occurrence in the block.
        """
        _scan = _scanner()
        if f not in self._uniques:
            ids = np.flatnonzero(self._st_field == f)  # in code order
            self._uniques[f] = (self._st_s[ids], self._st_e[ids])
        starts, ends = self._uniques[f]
        codes, keep = _scan.used_codes(self._scode, lines, _scan.FIELD_SLOTS[f], len(starts))
        return Coded(codes, byte_slices(self._data, starts[keep].tolist(), ends[keep].tolist()))

    def group(self) -> tuple[np.ndarray, np.ndarray]:
        _scan = _scanner()
        return _scan.group_events(self.node_codes, self.sec, self.frac_us, self.serial)

    def tskeys(self, rows: np.ndarray) -> pa.Array:
        _scan = _scanner()
        offsets, data, present = _scan.gather(self._buf, self._ts_s[rows], self._ts_e[rows])
        return _binary_array(offsets, data, present)

    def _field(self, field: str, record_type: str) -> int:
        _scan = _scanner()
        needs = _scan.TYPE_NEEDS.get(record_type, (field,))
        if field not in needs and (record_type, field) != ("PATH", "objtype"):
            # The scanner stops reading such lines once it has the fields in TYPE_NEEDS.
            raise RuntimeError(f"Add {field!r} to TYPE_NEEDS[{record_type!r}] to read it.")
        return _scan.FIELD_INDEX[field]  # type: ignore[no-any-return]

    def strings(self, rows: np.ndarray, record_type: str, field: str) -> Coded:
        _scan = _scanner()
        f = self._field(field, record_type)
        lines = self.line_idx[rows]
        kind, slot = _scan.FIELD_KINDS[f], _scan.FIELD_SLOTS[f]
        if kind == _scan.KIND_STR:
            return self._scanned_coded(f, lines)
        if kind != _scan.KIND_NONE:
            raise ValueError(f"The scanner parses {field!r} as a number.")
        return self._gather_coded(self._fs[:, slot][lines], self._fe[:, slot][lines])

    def integers(
        self, rows: np.ndarray, record_type: str, field: str, base: int = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        _scan = _scanner()
        f = self._field(field, record_type)
        lines = self.line_idx[rows]
        kind, slot = _scan.FIELD_KINDS[f], _scan.FIELD_SLOTS[f]
        if (kind == _scan.KIND_DEC and base == 10) or (kind == _scan.KIND_HEX and base == 16):
            # a column, then its rows: much faster than a 2-D fancy index
            return self._ival[:, slot][lines], self._iok[:, slot][lines]
        if kind != _scan.KIND_NONE:
            raise ValueError(f"The scanner parses {field!r} in another base than {base}.")
        parse = _scan.parse_decimal if base == 10 else _scan.parse_hex
        return parse(self._buf, self._fs[:, slot][lines], self._fe[:, slot][lines])  # type: ignore[no-any-return]

    def integer_fields(
        self, rows: np.ndarray, record_type: str, fields: Sequence[tuple[str, int]]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`integers` of several fields, the scanned ones from one gather of rows.

        The scanner keeps a line's integers side by side: taking the rows once
        reads each line's integers once, where a column at a time reads the
        same lines again for every field.
        """
        _scan = _scanner()
        lines = self.line_idx[rows]
        gathered: tuple[np.ndarray, np.ndarray] | None = None
        out = []
        for field, base in fields:
            f = self._field(field, record_type)
            kind, slot = _scan.FIELD_KINDS[f], _scan.FIELD_SLOTS[f]
            if (kind == _scan.KIND_DEC and base == 10) or (kind == _scan.KIND_HEX and base == 16):
                if gathered is None:
                    gathered = self._ival[lines], self._iok[lines]
                out.append((gathered[0][:, slot], gathered[1][:, slot]))
            else:
                out.append(self.integers(rows, record_type, field, base))
        return out

    def bodies(self, rows: np.ndarray) -> list[bytes]:
        data = self._data
        out = []
        for k in rows.tolist():
            line = int(self.line_idx[k])
            start, end = int(self._ts_e[k]) + 1, int(self._line_e[line])
            body = bytes(data[start:end])
            if body[:1] == b":":
                body = body[1:]
            if body[:1] == b" ":
                body = body[1:]
            out.append(body)
        return out

    def lines(self, block_lines: np.ndarray) -> list[bytes]:
        return byte_slices(
            self._data,
            self._line_s[block_lines].tolist(),
            self._line_e[block_lines].tolist(),
        )

    def generic_fields(self, rows: np.ndarray) -> dict[bytes, Coded]:
        """Compiled for simple bodies; the others go through ``parse_fields``."""
        _scan = _scanner()
        buf = self._buf
        ends = self._line_e[self.line_idx[rows]]
        starts = np.minimum(self._ts_e[rows] + 1, ends)
        for skip in (58, 32):  # an optional ":" then an optional " ", as in bodies()
            at = starts < ends
            at[at] = buf[starts[at]] == skip
            starts = starts + at
        vs, ve, simple = _scan.scan_generic(
            buf, starts, ends, _scan.GENERIC_NAME_BYTES, _scan.GENERIC_NAME_OFFSETS,
            _scan.LIT_MSG_QUOTE,
        )  # fmt: skip
        slow = np.flatnonzero(~simple)
        parsed = [parse_fields(body) for body in self.bodies(rows[slow])]
        all_codes, firsts, bounds = _scan.encode_columns(buf, vs, ve)
        columns = {}
        for g, name in enumerate(GENERIC_FIELDS):
            first = firsts[bounds[g] : bounds[g + 1]]
            uniques = byte_slices(self._data, vs[first, g].tolist(), ve[first, g].tolist())
            coded = Coded(all_codes[:, g], uniques)
            if parsed:
                codes, uniques = coded.codes.copy(), list(coded.uniques)
                for row, fields in zip(slow.tolist(), parsed, strict=True):
                    value = fields.get(name)
                    if value is not None:
                        codes[row] = len(uniques)
                        uniques.append(value)
                coded = Coded(codes, uniques)
            columns[name] = coded
        return columns

    def cmdlines(
        self, rows: np.ndarray, events: np.ndarray, n_events: int
    ) -> tuple[np.ndarray | pa.Array, np.ndarray]:
        _scan = _scanner()
        event_of_record = np.full(len(self.line_idx), -1, np.int64)
        event_of_record[rows] = events
        ev = event_of_record[self._arg_rec] if len(self._arg_rec) else np.zeros(0, np.int64)
        keep = ev >= 0
        ev = ev[keep]
        index, piece = self._arg_index[keep], self._arg_piece[keep]
        starts, ends = self._arg_s[keep], self._arg_e[keep]
        order = _sort_order(ev, index, piece)
        if len(order) > 1:  # a repeated aN / aN[i] of an event: the first one wins
            e_s, i_s, p_s = ev[order], index[order], piece[order]
            repeat = (e_s[1:] == e_s[:-1]) & (i_s[1:] == i_s[:-1]) & (p_s[1:] == p_s[:-1])
            if repeat.any():
                order = order[np.concatenate(([True], ~repeat))]
        offsets, data, has = _scan.build_cmdlines(
            self._buf,
            ev[order],
            index[order],
            starts[order],
            ends[order],
            n_events,
            _scan.SAFE_BYTES,
        )
        arr = _binary_array(offsets, data, has)
        try:
            return arr.cast(pa.string()), has
        except pa.ArrowInvalid:  # not UTF-8: keep the bytes as \\xNN escapes
            out = np.array(
                [None if b is None else decode_bytes(b) for b in arr.to_pylist()], dtype=object
            )
        return out, has


def _sort_order(ev: np.ndarray, index: np.ndarray, piece: np.ndarray) -> np.ndarray:
    """``np.lexsort((piece, index, ev))``, as one stable sort of packed keys when they fit."""
    if len(ev) and ev.min() >= 0 and index.min() >= 0 and piece.min() >= -1:
        if ev.max() < 1 << 22 and index.max() < 1 << 20 and piece.max() < (1 << 20) - 1:
            packed = (ev << 40) | (index << 20) | (piece + 1)
            return np.argsort(packed, kind="stable")
    return np.lexsort((piece, index, ev))


def make_front(
    data: BlockData, n_lines: int, *, engine: str = "auto", line_ends: np.ndarray | None = None
) -> Front:
    """The scanner front when numba is there (or asked for), else the regex front.

    ``line_ends`` (where each line ends, see ``_auditd_scan.line_ends``) saves
    the scanner a pass when the caller already has it.
    """
    if engine == "regex" or (engine == "auto" and not scanner_available()):
        return RegexFront(data, n_lines)
    if not scanner_available():
        raise ImportError("The 'scan' parse engine needs numba: pip install 'behavemodel[fast]'.")
    return ScanFront(data, n_lines, line_ends)
