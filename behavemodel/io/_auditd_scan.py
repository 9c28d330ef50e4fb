"""Compiled byte scanner for audit logs (used when numba is installed).

One pass over a block of log bytes finds, for every line, the record header
(node, type, timestamp, serial) and the byte offsets of the fields the canonical
table needs; later kernels parse integers, gather strings into Arrow arrays,
group records into events and build EXECVE command lines. Nothing becomes a
Python object per field; Python only sees distinct values.

The kernels treat the input as untrusted: every index is checked against the
line end before it is read, and malformed input only makes a line fail its
header check (it is then handled, and reported if need be, by the caller).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from behavemodel.io._auditd_fields import GENERIC_FIELDS

__all__ = [
    "FIELD_NAMES",
    "build_cmdlines",
    "decimal_at",
    "encode_ranges",
    "gather",
    "group_events",
    "hex_at",
    "latest_rows",
    "line_ends",
    "map_get",
    "map_put",
    "parse_decimal",
    "parse_hex",
    "scan",
    "scan_execve_args",
    "used_codes",
]

#: Fields whose value offsets the scanner records, in column order.
FIELD_NAMES = (
    "arch",
    "syscall",
    "success",
    "exit",
    "a0",
    "a1",
    "a2",
    "ppid",
    "pid",
    "auid",
    "uid",
    "tty",
    "ses",
    "comm",
    "exe",
    "key",
    "AUID",
    "UID",
    "proctitle",
    "cwd",
    "saddr",
    "item",
    "name",
    "nametype",
    "objtype",
    "contid",
    "argc",
)
FIELD_INDEX = {name: i for i, name in enumerate(FIELD_NAMES)}


def _field_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lookup table by (length, first byte, last byte) -> field, checked unique."""
    encoded = [n.encode() for n in FIELD_NAMES]
    table = np.full(16 * 128 * 128, -1, np.int32)
    for i, n in enumerate(encoded):
        key = (len(n) & 15) * 16384 + (n[0] & 127) * 128 + (n[-1] & 127)
        if len(n) >= 16 or table[key] != -1:  # pragma: no cover - guarded by tests
            raise RuntimeError(f"field table clash for {n!r}")
        table[key] = i
    offsets = np.zeros(len(FIELD_NAMES) + 1, np.int32)
    for i, n in enumerate(encoded):
        offsets[i + 1] = offsets[i] + len(n)
    return table, np.frombuffer(b"".join(encoded), np.uint8).copy(), offsets


FIELD_TABLE, FIELD_NAME_BYTES, FIELD_NAME_OFFSETS = _field_tables()

_SPACE, _GS, _EQ, _DQ, _SQ, _LBRACE, _RBRACE = 32, 0x1D, 61, 34, 39, 123, 125
_NL, _CR = 10, 13
#: Bytes that end a field name or a plain value (space, 0x1D, "="), marked 1.
_STOPS = np.zeros(256, np.uint8)
_STOPS[[_SPACE, _GS, _EQ]] = 1

#: How the scanner decodes each field (FIELD_KINDS has two more entries: node, type).
KIND_NONE, KIND_DEC, KIND_HEX, KIND_STR = 0, 1, 2, 3
_DECIMAL_FIELDS = ("syscall", "exit", "ppid", "pid", "auid", "uid", "ses", "item")
_HEX_FIELDS = ("a0", "a1", "a2")
# (PATH names and PROCTITLE values are mostly not needed: encoded later, on demand.)
_STRING_FIELDS = (
    "arch", "success", "tty", "comm", "exe", "key", "AUID", "UID", "cwd", "saddr",
    "nametype", "objtype", "contid",
)  # fmt: skip
FIELD_KINDS = np.array(
    [
        KIND_DEC
        if n in _DECIMAL_FIELDS
        else KIND_HEX
        if n in _HEX_FIELDS
        else KIND_STR
        if n in _STRING_FIELDS
        else KIND_NONE
        for n in FIELD_NAMES
    ]
    + [KIND_STR, KIND_STR],
    np.int64,
)
#: Rows of the scanner's node and record type in its field arrays.
NODE_FIELD, TYPE_FIELD = len(FIELD_NAMES), len(FIELD_NAMES) + 1


def _field_slots(kinds: np.ndarray) -> np.ndarray:
    """Each field's column in the scanner output of its kind (ints share one array)."""
    slots = np.zeros(len(kinds), np.int64)
    for group in ((KIND_STR,), (KIND_NONE,), (KIND_DEC, KIND_HEX)):
        members = np.flatnonzero(np.isin(kinds, group))
        slots[members] = np.arange(len(members))
    return slots


FIELD_SLOTS = _field_slots(FIELD_KINDS)


@njit(cache=True, nogil=True)
def _hash(buf, s, e, f):  # type: ignore[no-untyped-def]
    """Hash of field ``f``'s value ``buf[s:e]`` (see :func:`_hash_range`)."""
    return _hash_range(buf, s, e, 1469598103934665603 ^ f)


@njit(cache=True, nogil=True)
def _find(buf, s, e, h, f, slots, size, st_s, st_e, st_field, st_hash):  # type: ignore[no-untyped-def]
    """Distinct string equal to field ``f``'s bytes [s, e): (its id or -1, slot)."""
    mask = size - 1
    at = h & mask
    while True:
        g = slots[at]
        if g < 0:
            return -1, at
        if st_hash[g] == h and st_field[g] == f and st_e[g] - st_s[g] == e - s:
            if _same_bytes(buf, st_s[g], s, e - s):
                return g, at
        at = (at + 1) & mask


@njit(cache=True, nogil=True)
def _rehash(slots, size, st_hash, n_st):  # type: ignore[no-untyped-def]
    """Re-insert the ``n_st`` distinct strings into ``slots[:size]``."""
    slots[:size] = -1
    mask = size - 1
    for g in range(n_st):
        at = st_hash[g] & mask
        while slots[at] >= 0:
            at = (at + 1) & mask
        slots[at] = g


@njit(cache=True, nogil=True)
def _starts_with(buf: np.ndarray, p: int, e: int, lit: np.ndarray) -> bool:
    m = lit.shape[0]
    if p + m > e:
        return False
    for k in range(m):
        if buf[p + k] != lit[k]:
            return False
    return True


@njit(cache=True, nogil=True)
def _bytes_equal(x, xi, y, yi, n):  # type: ignore[no-untyped-def]
    """Whether x[xi:xi+n] and y[yi:yi+n] hold the same bytes."""
    for k in range(n):
        if x[xi + k] != y[yi + k]:
            return False
    return True


_ALL_BITS = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(cache=True, nogil=True)
def _word_at(buf, p):  # type: ignore[no-untyped-def]
    """``buf[p:p+8]`` as a little-endian uint64; the caller checks ``p + 8 <= len(buf)``.

    Written byte by byte, which LLVM turns into one unaligned load.
    """
    q = np.uint64(p)  # (unsigned indices: no negative-index wraparound to defeat that)
    v = np.uint64(0)
    for k in range(8):
        v |= np.uint64(buf[q + np.uint64(k)]) << np.uint64(8 * k)
    return v


@njit(cache=True, nogil=True)
def _same_bytes(buf, a, b, n):  # type: ignore[no-untyped-def]
    """Whether ``buf[a:a+n]`` and ``buf[b:b+n]`` hold the same bytes, compared 8 at a time."""
    if max(a, b) + n + 8 > buf.shape[0]:  # too near the end of buf for whole words
        return _bytes_equal(buf, a, buf, b, n)
    k = 0
    while k + 8 <= n:
        if _word_at(buf, a + k) != _word_at(buf, b + k):
            return False
        k += 8
    if k == n:
        return True
    # the last n - k bytes are the low bytes of the next words (little-endian)
    mask = _ALL_BITS >> np.uint64(8 * (8 - (n - k)))
    return ((_word_at(buf, a + k) ^ _word_at(buf, b + k)) & mask) == 0


_FNV_PRIME = np.uint64(1099511628211)


@njit(cache=True, nogil=True)
def _hash_range(buf, s, e, seed):  # type: ignore[no-untyped-def]
    """A hash of ``buf[s:e]``: FNV-1a a word at a time, then folded.

    A multiply carries a word's bits only upwards, so the high half is folded
    into the low one that picks a slot.
    """
    h = np.uint64(seed)
    p = s
    while p + 8 <= e:
        h = (h ^ _word_at(buf, p)) * _FNV_PRIME
        p += 8
    if p < e:
        if p + 8 <= buf.shape[0]:
            tail = _word_at(buf, p) & (_ALL_BITS >> np.uint64(8 * (8 - (e - p))))
        else:  # the end of buf: byte by byte
            tail = np.uint64(0)
            for k in range(e - p):
                tail |= np.uint64(buf[p + k]) << np.uint64(8 * k)
        h = (h ^ tail) * _FNV_PRIME
    h ^= np.uint64(e - s)
    h = (h ^ (h >> np.uint64(32))) * _FNV_PRIME
    return np.int64(h ^ (h >> np.uint64(32)))


@njit(cache=True, nogil=True)
def _digit_run(buf, p, e, limit):  # type: ignore[no-untyped-def]
    """Value of the first ``limit`` digits at p, and (end, count) of the whole digit run."""
    value = 0
    q = p
    while q < e and 48 <= buf[q] <= 57:
        if q - p < limit:
            value = value * 10 + (buf[q] - 48)
        q += 1
    return value, q, q - p


@njit(cache=True, nogil=True)
def _digits(buf, p, e, limit):  # type: ignore[no-untyped-def]
    """Parse up to ``limit`` decimal digits at p; return (value, end, count)."""
    value = 0
    q = p
    while q < e and q - p < limit and 48 <= buf[q] <= 57:
        value = value * 10 + (buf[q] - 48)
        q += 1
    return value, q, q - p


_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_HIGH = np.uint64(0x8080808080808080)
_NEWLINES = np.uint64(0x0A0A0A0A0A0A0A0A)
#: Multiplying ``1 << 8k`` by this puts ``k`` in the top byte (little-endian byte index).
_BYTE_INDEX = np.uint64(0x0001020304050607)


@njit(cache=True, nogil=True)
def count_newlines(buf):  # type: ignore[no-untyped-def]
    """Number of ``\\n`` bytes (a vectorised loop, several times faster than bytes.count)."""
    count = 0
    for i in range(buf.shape[0]):
        count += buf[i] == _NL
    return count


@njit(cache=True, nogil=True)
def _newlines_into(buf, ends):  # type: ignore[no-untyped-def]
    """Positions of the newlines of ``buf`` into ``ends`` as far as it has room; their count.

    Newlines are found a little-endian 8-byte word at a time:
    ``~(((v & 0x7F..) + 0x7F..) | v) & 0x80..`` marks exactly the zero bytes of
    ``v`` (the word XOR newlines), without the false hits of the shorter borrow
    trick, and each mark's byte index comes from one multiply.
    """
    n = buf.shape[0]
    n_words = n // 8
    words = buf[: n_words * 8].view(np.uint64)
    room = ends.shape[0]
    count = 0
    for w in range(n_words):
        v = words[w] ^ _NEWLINES
        marks = ~(((v & _LOW7) + _LOW7) | v) & _HIGH
        while marks != 0:
            lowest = marks & (~marks + np.uint64(1))
            if count < room:
                byte = np.int64(((lowest >> np.uint64(7)) * _BYTE_INDEX) >> np.uint64(56))
                ends[count] = w * 8 + byte
            count += 1
            marks ^= lowest
    for i in range(n_words * 8, n):
        if buf[i] == _NL:
            if count < room:
                ends[count] = i
            count += 1
    return count


@njit(cache=True, nogil=True)
def line_ends(buf, n_lines):  # type: ignore[no-untyped-def]
    """Where each line of ``buf`` ends: its newline, or ``len(buf)`` for the last line.

    ``n_lines`` is the expected number of lines (0 when unknown). The ends are
    first found into room for that many or a line per 32 bytes, whichever is
    more; when there are more lines than that, they are found again into room
    for exactly as many. No input can make this write past its arrays.
    """
    n = buf.shape[0]
    room = min(max(n_lines, n // 32 + 16), n + 1)
    ends = np.empty(room, np.int64)
    count = _newlines_into(buf, ends[: room - 1])
    if count + 1 > room:
        ends = np.empty(count + 1, np.int64)
        _newlines_into(buf, ends)
    ends[count] = n
    if 2 * (count + 1) < room:  # do not keep much unused room alive with the ends
        return ends[: count + 1].copy()
    return ends[: count + 1]


@njit(cache=True, nogil=True)
def _are_line_ends(buf, ends):  # type: ignore[no-untyped-def]
    """Whether ``ends`` is what :func:`line_ends` gives for ``buf``, as far as cheap to see.

    Every end but the last is a newline, in increasing order, and the last is
    ``len(buf)``: enough for the scan to read only inside ``buf``.
    """
    n = buf.shape[0]
    m = ends.shape[0]
    if m == 0 or ends[m - 1] != n:
        return False
    previous = -1
    for k in range(m - 1):
        q = ends[k]
        if q <= previous or q >= n or buf[q] != _NL:
            return False
        previous = q
    return True


@njit(cache=True, nogil=True)
def scan(  # type: ignore[no-untyped-def]
    buf, ends, table, name_bytes, name_offsets, lit_node, lit_type, lit_msg, lit_execve,
    kinds, type_lits, type_lens, needs,
):  # fmt: skip
    """Scan every line of ``buf``: header, field offsets and values.

    ``ends`` is :func:`line_ends` of ``buf`` (checked, and recomputed when it
    does not fit). Returns arrays indexed by line. ``ok[i]`` is 1
    when the line has a ``type=... msg=audit(SEC.FRAC:SERIAL):`` header at its
    start (optionally after ``node=NAME ``). While a header line is hot in
    cache, the first value of each field is decoded by ``kinds``
    (:data:`FIELD_KINDS`, with two more entries for the node and the record
    type): integers into ``ival[i, slot]`` / ``iok``, strings
    dictionary-encoded into ``scode[i, slot]`` (distinct values in ``st_*``,
    codes per field in first-seen order), and for the other fields the value's
    bounds into ``fs[i, slot]`` / ``fe`` (-1: absent); :data:`FIELD_SLOTS`
    gives each field's slot. A line of a record type in ``type_lits`` is read
    only until it has the fields ``needs`` marks for that type (see
    :data:`TYPE_NEEDS`).
    """
    nl_pos = ends if _are_line_ends(buf, ends) else line_ends(buf, ends.shape[0])
    max_lines = nl_pos.shape[0]
    n_fields = name_offsets.shape[0] - 1
    line_s = np.empty(max_lines, np.int64)
    line_e = np.empty(max_lines, np.int64)
    ok = np.zeros(max_lines, np.uint8)
    ts_s = np.zeros(max_lines, np.int64)
    ts_e = np.zeros(max_lines, np.int64)
    sec = np.zeros(max_lines, np.int64)
    frac = np.zeros(max_lines, np.int64)
    serial = np.zeros(max_lines, np.int64)
    body_s = np.zeros(max_lines, np.int64)
    execve = np.zeros(max_lines, np.uint8)
    # per field: its slot among the fields of its kind
    slot_of = np.full(n_fields + 2, -1, np.int64)
    n_int = 0
    n_str = 0
    n_off = 0
    for f in range(n_fields + 2):
        if kinds[f] == KIND_STR:
            slot_of[f] = n_str
            n_str += 1
        elif kinds[f] == KIND_NONE:
            slot_of[f] = n_off
            n_off += 1
        else:
            slot_of[f] = n_int
            n_int += 1
    fs = np.full((max_lines, n_off), -1, np.int64)
    fe = np.full((max_lines, n_off), -1, np.int64)
    ival = np.zeros((max_lines, n_int), np.int64)
    iok = np.zeros((max_lines, n_int), np.bool_)
    scode = np.full((max_lines, n_str), -1, np.int32)
    # the current line's field bounds
    lf_s = np.full(n_fields + 2, -1, np.int64)
    lf_e = np.full(n_fields + 2, -1, np.int64)
    found = np.empty(n_fields + 2, np.int64)  # the fields the current line has
    # distinct strings: (start, end, field, code, hash) of each first occurrence
    cap = n_str * max_lines + 1
    st_s = np.empty(cap, np.int64)
    st_e = np.empty(cap, np.int64)
    st_field = np.empty(cap, np.int64)
    st_code = np.empty(cap, np.int64)
    st_hash = np.empty(cap, np.int64)
    counts = np.zeros(n_fields + 2, np.int64)
    last_of = np.full(n_fields + 2, -1, np.int64)  # each field's last distinct string
    # per type of ``type_lits``: how many fields it needs, and its distinct string
    # (lines of one such type have the same type bytes: no hashing for them)
    n_types = type_lens.shape[0]
    need_count = np.zeros(n_types, np.int64)
    for t in range(n_types):
        for f in range(n_fields):
            need_count[t] += needs[t, f]
    type_string = np.full(n_types, -1, np.int64)
    # each field name's first 8 bytes as a word (and which bytes those are), to
    # confirm a name with one comparison
    name_word = np.zeros(n_fields, np.uint64)
    name_mask = np.zeros(n_fields, np.uint64)
    for f in range(n_fields):
        a = name_offsets[f]
        for k in range(min(name_offsets[f + 1] - a, 8)):
            name_word[f] |= np.uint64(name_bytes[a + k]) << np.uint64(8 * k)
            name_mask[f] |= np.uint64(255) << np.uint64(8 * k)
    # open addressing over slots[:size]; grown in place (reassigning an array in
    # this loop would cost numba reference counting on every line)
    max_size = 1
    while max_size < 2 * cap:
        max_size *= 2
    slots = np.empty(max_size, np.int64)
    size = min(1024, max_size)
    slots[:size] = -1
    n_st = 0

    last_node_s = -1  # the node of the last line with one
    last_node_e = -1
    ts_line = -1  # the last line with a whole timestamp
    line = 0
    i = 0
    while line < max_lines:
        j = nl_pos[line]
        e = j
        if e > i and buf[e - 1] == _CR:
            e -= 1
        line_s[line] = i
        line_e[line] = e
        # --- header ---
        p = i
        node_s = -1
        node_e = -1
        type_s = 0
        type_e = 0
        good = True
        if _starts_with(buf, p, e, lit_node):
            node_s = p + lit_node.shape[0]
            # most lines have the node of the line before: compare, not search
            q = node_s + last_node_e - last_node_s
            if not (
                last_node_s >= 0
                and q < e
                and buf[q] == _SPACE
                and _same_bytes(buf, last_node_s, node_s, q - node_s)
            ):
                q = node_s
                while q < e and buf[q] != _SPACE:
                    q += 1
            node_e = q
            last_node_s, last_node_e = node_s, node_e
            p = q + 1
        if not _starts_with(buf, p, e, lit_type):
            good = False
        else:
            p += lit_type.shape[0]
            type_s = p
            while p < e and buf[p] != _SPACE:
                p += 1
            type_e = p
            if type_e == type_s:
                good = False
            p += 1
            if not _starts_with(buf, p, e, lit_msg):
                good = False
            else:
                p += lit_msg.shape[0]
                ts_s[line] = p
                close = -1  # where the timestamp's ")" is, once it is read
                # The records of an event are lines in a row with the same
                # "SEC.FRAC:SERIAL)": the bytes of the last timestamp read, when
                # equal, give its values.
                length = ts_e[ts_line] - ts_s[ts_line] + 1 if ts_line >= 0 else 0
                if ts_line >= 0 and p + length <= e and _same_bytes(buf, ts_s[ts_line], p, length):
                    sec[line] = sec[ts_line]
                    frac[line] = frac[ts_line]
                    serial[line] = serial[ts_line]
                    close = p + length - 1
                else:
                    # Digit runs of any length are a header (like the Python engine's
                    # (\d+)); seconds or serials of 19 digits or more are -1 (out of
                    # range, reported by the caller), fractions keep microseconds.
                    v, q, cnt = _digit_run(buf, p, e, 18)
                    if cnt == 0 or q >= e or buf[q] != 46:  # '.'
                        good = False
                    else:
                        sec[line] = v if cnt <= 18 else -1
                        v, q2, cnt = _digit_run(buf, q + 1, e, 6)
                        if cnt == 0 or q2 >= e or buf[q2] != 58:  # ':'
                            good = False
                        else:
                            scale = 1
                            for _ in range(6 - min(cnt, 6)):
                                scale *= 10
                            frac[line] = v * scale
                            v, q3, cnt = _digit_run(buf, q2 + 1, e, 18)
                            if cnt == 0 or q3 >= e or buf[q3] != 41:  # ')'
                                good = False
                            else:
                                serial[line] = v if cnt <= 18 else -1
                                close = q3
                if close >= 0:
                    ts_e[line] = close
                    ts_line = line
                    p = close + 1
                    if p < e and buf[p] == 58:  # ':'
                        p += 1
                    else:
                        good = False
                    if p < e and buf[p] == _SPACE:
                        p += 1
        if good:
            ok[line] = 1
            body_s[line] = p
            if type_e - type_s == lit_execve.shape[0] and _starts_with(
                buf, type_s, type_e, lit_execve
            ):
                execve[line] = 1
            # --- fields ---
            n_found = 0
            known = -1
            for t in range(type_lens.shape[0]):
                length = type_lens[t]
                if type_e - type_s == length and _bytes_equal(
                    buf, type_s, type_lits[t], 0, length
                ):
                    known = t
                    break
            wanted = 0
            if known >= 0:
                wanted = need_count[known]
                if wanted == 0:
                    p = e
            while p < e:
                c = buf[p]
                if c == _SPACE or c == _GS:
                    p += 1
                    continue
                ns = p
                while p < e and _STOPS[buf[p]] == 0:
                    p += 1
                if p >= e or buf[p] != _EQ:
                    continue
                ne = p
                p += 1
                vs = p
                if p < e and (buf[p] == _DQ or buf[p] == _SQ or buf[p] == _LBRACE):
                    close = buf[p]
                    if close == _LBRACE:
                        close = _RBRACE
                    p += 1
                    while p < e and buf[p] != close:
                        p += 1
                    if p < e:
                        p += 1
                else:
                    while p < e and _STOPS[buf[p]] == 0:  # the common case, one test a byte
                        p += 1
                    while p < e and buf[p] != _SPACE and buf[p] != _GS:
                        if buf[p] == _EQ:
                            # An upper-case ENRICHED name glued to this value (its 0x1D
                            # byte lost): the value ends where that name begins.
                            q = p
                            while q > vs and (65 <= buf[q - 1] <= 90 or buf[q - 1] == 95):
                                q -= 1
                            if q < p and q > vs and 65 <= buf[q] <= 90:
                                p = q
                                break
                        p += 1
                ve = p
                # field id by (length, first, last byte), then confirm the name
                fid = -1
                length = ne - ns
                if length < 16:
                    fid = table[length * 16384 + (buf[ns] & 127) * 128 + (buf[ne - 1] & 127)]
                    if fid >= 0:
                        a = name_offsets[fid]
                        if name_offsets[fid + 1] - a != length:
                            fid = -1
                        elif length <= 8 and ns + 8 <= buf.shape[0]:
                            if (_word_at(buf, ns) & name_mask[fid]) != name_word[fid]:
                                fid = -1
                        else:
                            for k in range(length):
                                if buf[ns + k] != name_bytes[a + k]:
                                    fid = -1
                                    break
                if fid >= 0:
                    if lf_s[fid] < 0:
                        lf_s[fid] = vs
                        lf_e[fid] = ve
                        found[n_found] = fid
                        n_found += 1
                        if known >= 0 and needs[known, fid]:
                            wanted -= 1
                            if wanted == 0:
                                break
            # --- values, while the line is in cache ---
            if node_s >= 0:
                lf_s[n_fields] = node_s
                lf_e[n_fields] = node_e
                found[n_found] = n_fields
                n_found += 1
            lf_s[n_fields + 1] = type_s
            lf_e[n_fields + 1] = type_e
            found[n_found] = n_fields + 1
            n_found += 1
            for m in range(n_found):
                f = found[m]
                vs = lf_s[f]
                ve = lf_e[f]
                lf_s[f] = -1  # ready for the next line
                kind = kinds[f]
                k = slot_of[f]
                if kind == KIND_NONE:
                    fs[line, k] = vs
                    fe[line, k] = ve
                elif kind == KIND_DEC:
                    ival[line, k], iok[line, k] = decimal_at(buf, vs, ve)
                elif kind == KIND_HEX:
                    ival[line, k], iok[line, k] = hex_at(buf, vs, ve)
                else:
                    # most values repeat the field's previous one (same node, arch,
                    # user...): compare with it before hashing
                    g = last_of[f]
                    if f == n_fields + 1 and known >= 0 and type_string[known] >= 0:
                        g = type_string[known]
                    elif (
                        g < 0
                        or st_e[g] - st_s[g] != ve - vs
                        or not _same_bytes(buf, st_s[g], vs, ve - vs)
                    ):
                        h = _hash(buf, vs, ve, f)
                        g, at = _find(
                            buf, vs, ve, h, f, slots, size, st_s, st_e, st_field, st_hash
                        )
                        if g < 0:
                            g = n_st
                            st_s[g] = vs
                            st_e[g] = ve
                            st_field[g] = f
                            st_hash[g] = h
                            st_code[g] = counts[f]
                            counts[f] += 1
                            slots[at] = g
                            n_st += 1
                            if 2 * n_st > size:
                                size *= 2
                                _rehash(slots, size, st_hash, n_st)
                        last_of[f] = g
                        if f == n_fields + 1 and known >= 0:
                            type_string[known] = g
                    scode[line, k] = st_code[g]
        line += 1
        i = j + 1
    return (
        line_s,
        line_e,
        ok,
        ts_s,
        ts_e,
        sec,
        frac,
        serial,
        fs,
        fe,
        body_s,
        execve,
        ival,
        iok,
        scode,
        st_s[:n_st],
        st_e[:n_st],
        st_field[:n_st],
        st_code[:n_st],
    )


@njit(cache=True, nogil=True)
def latest_rows(row_keys, rows, query_keys, queries):  # type: ignore[no-untyped-def]
    """Process history of one table in a pass: ``latest_earlier`` and the last row per key.

    ``rows`` and ``queries`` are increasing positions. Returns, for each query,
    the index in ``rows`` of the latest row strictly before it with the same
    key (-1: none), and the index of the last row of each distinct key, in
    increasing order.
    """
    m = row_keys.shape[0]
    size = 1
    while size < 2 * m + 2:
        size *= 2
    mask = size - 1
    slot_row = np.full(size, -1, np.int64)  # latest row index of the key in the slot
    match = np.full(queries.shape[0], -1, np.int64)
    a = 0
    for b in range(queries.shape[0]):
        while a < m and rows[a] < queries[b]:
            _remember_row(row_keys, a, slot_row, mask)
            a += 1
        key = query_keys[b]
        at = (key * -7046029254386353131) & mask
        while slot_row[at] >= 0:
            if row_keys[slot_row[at]] == key:
                match[b] = slot_row[at]
                break
            at = (at + 1) & mask
    while a < m:
        _remember_row(row_keys, a, slot_row, mask)
        a += 1
    last = np.sort(slot_row[slot_row >= 0])
    return match, last


@njit(cache=True, nogil=True)
def _remember_row(row_keys, a, slot_row, mask):  # type: ignore[no-untyped-def]
    key = row_keys[a]
    at = (key * -7046029254386353131) & mask
    while slot_row[at] >= 0 and row_keys[slot_row[at]] != key:
        at = (at + 1) & mask
    slot_row[at] = a


@njit(cache=True, nogil=True)
def map_get(slot_keys, slot_values, keys):  # type: ignore[no-untyped-def]
    """Values of ``keys`` in an open-addressing map (-1: not there).

    The map is ``slot_keys`` / ``slot_values`` of a power-of-two length, a slot
    being empty where its value is -1, and never more than half full (see
    :func:`map_put`): every probe ends at an empty slot.
    """
    size = min(slot_keys.shape[0], slot_values.shape[0])
    out = np.full(keys.shape[0], -1, np.int64)
    if size == 0 or size & (size - 1) != 0:  # not a map of map_put
        return out
    mask = size - 1
    for k in range(keys.shape[0]):
        key = keys[k]
        at = (key * -7046029254386353131) & mask
        for _ in range(size):  # (a full map, not made by map_put, still ends)
            if slot_values[at] < 0:
                break
            if slot_keys[at] == key:
                out[k] = slot_values[at]
                break
            at = (at + 1) & mask
    return out


@njit(cache=True, nogil=True)
def map_put(slot_keys, slot_values, slot_order, keys, values, n_used):  # type: ignore[no-untyped-def]
    """Set ``keys[k]`` to ``values[k]`` (>= 0; later ones win) in the map of :func:`map_get`.

    A key new to the map gets the next insertion number in ``slot_order``
    (from ``n_used``, the number of keys in the map); a known key keeps its
    own, as a dict keeps its order. Returns the new number of keys, or -1,
    changing nothing, when the keys could make the map more than half full.
    """
    size = min(slot_keys.shape[0], slot_values.shape[0], slot_order.shape[0])
    if size & (size - 1) != 0 or values.shape[0] < keys.shape[0]:
        return -1
    if n_used < 0 or 2 * (n_used + keys.shape[0]) > size:
        return -1
    mask = size - 1
    for k in range(keys.shape[0]):
        key = keys[k]
        at = (key * -7046029254386353131) & mask
        while slot_values[at] >= 0 and slot_keys[at] != key:
            at = (at + 1) & mask
        if slot_values[at] < 0:
            slot_keys[at] = key
            slot_order[at] = n_used
            n_used += 1
        slot_values[at] = values[k]
    return n_used


@njit(cache=True, nogil=True)
def used_codes(scode, lines, slot, n_codes):  # type: ignore[no-untyped-def]
    """The codes ``scode[lines, slot]`` renumbered to the ones used there.

    Codes keep their order (the first-seen order of the block); -1 (absent)
    stays -1. Returns (new code per line, old code of each new code).
    """
    m = lines.shape[0]
    new_of = np.full(n_codes, -1, np.int64)
    codes = np.empty(m, np.int64)
    for k in range(m):  # the lines' codes read once (scattered reads), then renumbered
        c = scode[lines[k], slot]
        codes[k] = c
        if c >= 0:
            new_of[c] = 0
    kept = np.empty(n_codes, np.int64)
    n_kept = 0
    for c in range(n_codes):
        if new_of[c] == 0:
            new_of[c] = n_kept
            kept[n_kept] = c
            n_kept += 1
    for k in range(m):
        c = codes[k]
        codes[k] = new_of[c] if c >= 0 else -1
    return codes, kept[:n_kept]


@njit(cache=True, nogil=True)
def scan_execve_args(buf, lines, body_s, line_e):  # type: ignore[no-untyped-def]
    """Argument tokens ``aN=`` / ``aN[i]=`` of the given EXECVE lines.

    Returns (line, index, piece, value start, value end) per token; piece is -1
    for an argument logged whole. ``aN_len`` and ``argc`` are not arguments.
    """
    # Room for every token a body can hold: a kept token takes at least four bytes
    # ("aN=" and a separator), so no pass over the bytes is needed to count them.
    total = 0
    for k in range(lines.shape[0]):
        total += max(line_e[lines[k]] - body_s[lines[k]], 0) // 4 + 1
    arg_line = np.empty(total, np.int64)
    arg_index = np.empty(total, np.int64)
    arg_piece = np.empty(total, np.int64)
    arg_s = np.empty(total, np.int64)
    arg_e = np.empty(total, np.int64)
    n_args = 0
    for k in range(lines.shape[0]):
        line = lines[k]
        p = body_s[line]
        e = line_e[line]
        while p < e:
            if buf[p] == _SPACE or buf[p] == _GS:
                p += 1
                continue
            ns = p
            while p < e and buf[p] != _EQ and buf[p] != _SPACE and buf[p] != _GS:
                p += 1
            if p >= e or buf[p] != _EQ:
                continue
            ne = p
            p += 1
            vs = p
            if p < e and buf[p] == _DQ:
                p += 1
                while p < e and buf[p] != _DQ:
                    p += 1
                if p < e:
                    p += 1
            else:
                while p < e and buf[p] != _SPACE and buf[p] != _GS:
                    p += 1
            if ne - ns < 2 or buf[ns] != 97:  # 'a'
                continue
            v, q, cnt = _digits(buf, ns + 1, ne, 9)
            piece = -2
            if cnt > 0 and q == ne:
                piece = -1
            elif cnt > 0 and q < ne and buf[q] == 91 and buf[ne - 1] == 93:  # aN[i]
                pv, q2, pc = _digits(buf, q + 1, ne - 1, 9)
                if pc > 0 and q2 == ne - 1:
                    piece = pv
            if piece >= -1 and n_args < total:
                arg_line[n_args] = line
                arg_index[n_args] = v
                arg_piece[n_args] = piece
                arg_s[n_args] = vs
                arg_e[n_args] = p
                n_args += 1
    return (
        arg_line[:n_args],
        arg_index[:n_args],
        arg_piece[:n_args],
        arg_s[:n_args],
        arg_e[:n_args],
    )


_INT64_MAX = np.int64(2**63 - 1)


@njit(cache=True, nogil=True)
def decimal_at(buf, s, e):  # type: ignore[no-untyped-def]
    """Signed decimal integer at [s, e): (value, valid); absent (s < 0) is invalid."""
    if s < 0 or e <= s:
        return 0, False
    neg = False
    if buf[s] == 45:  # '-'
        neg = True
        s += 1
    if e - s > 19 or e <= s:
        return 0, False
    v = 0
    if e - s <= 18:  # (the usual case) 18 digits always fit: no overflow test per digit
        for p in range(s, e):
            c = buf[p]
            if c < 48 or c > 57:
                return 0, False
            v = v * 10 + (c - 48)
        return (-v if neg else v), True
    for p in range(s, e):
        c = buf[p]
        if c < 48 or c > 57:
            return 0, False
        d = c - 48
        if v > (_INT64_MAX - d) // 10:  # would not fit in int64: invalid, never wrapped
            return 0, False
        v = v * 10 + d
    return (-v if neg else v), True


#: Value of each byte as a hexadecimal digit, -1 for bytes that are none.
_HEX_DIGIT = np.full(256, -1, np.int64)
_HEX_DIGIT[48:58] = np.arange(10)
_HEX_DIGIT[97:103] = np.arange(10, 16)
_HEX_DIGIT[65:71] = np.arange(10, 16)


@njit(cache=True, nogil=True)
def hex_at(buf, s, e):  # type: ignore[no-untyped-def]
    """Unsigned hexadecimal integer (at most 15 digits) at [s, e): (value, valid)."""
    if s < 0 or e <= s or e - s > 15:
        return 0, False
    v = 0
    for p in range(s, e):
        d = _HEX_DIGIT[buf[p] & 255]  # one load a digit instead of three range tests
        if d < 0:
            return 0, False
        v = v * 16 + d
    return v, True


@njit(cache=True, nogil=True)
def parse_decimal(buf, starts, ends):  # type: ignore[no-untyped-def]
    """Signed decimal integers at [starts[k], ends[k]); invalid or absent -> valid=False."""
    m = starts.shape[0]
    values = np.zeros(m, np.int64)
    valid = np.zeros(m, np.bool_)
    for k in range(m):
        values[k], valid[k] = decimal_at(buf, starts[k], ends[k])
    return values, valid


@njit(cache=True, nogil=True)
def parse_hex(buf, starts, ends):  # type: ignore[no-untyped-def]
    """Unsigned hexadecimal integers (at most 15 digits); invalid -> valid=False."""
    m = starts.shape[0]
    values = np.zeros(m, np.int64)
    valid = np.zeros(m, np.bool_)
    for k in range(m):
        values[k], valid[k] = hex_at(buf, starts[k], ends[k])
    return values, valid


@njit(cache=True, nogil=True)
def gather(buf, starts, ends):  # type: ignore[no-untyped-def]
    """Copy byte ranges into Arrow binary layout: (int32 offsets, data, present)."""
    m = starts.shape[0]
    offsets = np.zeros(m + 1, np.int32)
    present = np.zeros(m, np.bool_)
    total = 0
    for k in range(m):
        if starts[k] >= 0 and ends[k] >= starts[k]:
            total += ends[k] - starts[k]
    data = np.empty(total, np.uint8)
    pos = 0
    for k in range(m):
        s = starts[k]
        e = ends[k]
        if s >= 0 and e >= s:
            present[k] = True
            for p in range(s, e):
                data[pos] = buf[p]
                pos += 1
        offsets[k + 1] = pos
    return offsets, data, present


@njit(cache=True, nogil=True)
def encode_ranges(buf, starts, ends):  # type: ignore[no-untyped-def]
    """Dictionary-encode byte ranges: (code per range, index of each code's first range).

    Absent ranges (start < 0) get code -1. Equal bytes get equal codes, in
    first-seen order; nothing is copied.
    """
    m = starts.shape[0]
    size = 1
    while size < 2 * m + 2:
        size *= 2
    mask = size - 1
    slots = np.full(size, -1, np.int64)
    codes = np.full(m, -1, np.int64)
    first = np.empty(m, np.int64)
    n_codes = 0
    for k in range(m):
        s = starts[k]
        e = ends[k]
        if s < 0 or e < s:
            continue
        h = _hash_range(buf, s, e, 1469598103934665603) & mask
        while True:
            c = slots[h]
            if c < 0:
                slots[h] = n_codes
                codes[k] = n_codes
                first[n_codes] = k
                n_codes += 1
                break
            f = first[c]
            fs = starts[f]
            if ends[f] - fs == e - s and _same_bytes(buf, fs, s, e - s):
                codes[k] = c
                break
            h = (h + 1) & mask
    return codes, first[:n_codes]


@njit(cache=True, nogil=True)
def group_events(node, sec, frac, serial):  # type: ignore[no-untyped-def]
    """Event code per record, by (node, sec, frac, serial), in first-seen order."""
    m = node.shape[0]
    size = 1
    while size < 2 * m + 2:
        size *= 2
    mask = size - 1
    slot_code = np.full(size, -1, np.int64)
    codes = np.empty(m, np.int64)
    first = np.empty(m, np.int64)
    n_events = 0
    for k in range(m):
        h = (
            node[k] * 0x9E3779B1
            + sec[k] * 0x85EBCA77
            + frac[k] * 0xC2B2AE3D
            + serial[k] * 0x27D4EB2F
        ) & mask
        while True:
            c = slot_code[h]
            if c < 0:
                slot_code[h] = n_events
                codes[k] = n_events
                first[n_events] = k
                n_events += 1
                break
            f = first[c]
            if (
                node[f] == node[k]
                and sec[f] == sec[k]
                and frac[f] == frac[k]
                and serial[f] == serial[k]
            ):
                codes[k] = c
                break
            h = (h + 1) & mask
    return codes, first[:n_events]


_SAFE = np.zeros(256, np.bool_)
for _c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-":
    _SAFE[_c] = True


@njit(cache=True, nogil=True)
def _hexval(c):  # type: ignore[no-untyped-def]
    if 48 <= c <= 57:
        return c - 48
    if 97 <= c <= 102:
        return c - 87
    if 65 <= c <= 70:
        return c - 55
    return -1


@njit(cache=True, nogil=True)
def _is_null_marker(buf, s, e):  # type: ignore[no-untyped-def]
    """(null), (none) and ? stand for no value."""
    length = e - s
    if length == 1:
        return buf[s] == 63
    if length != 6 or buf[s] != 40 or buf[e - 1] != 41:
        return False
    a, b, c, d = buf[s + 1], buf[s + 2], buf[s + 3], buf[s + 4]
    return (a == 110 and b == 117 and c == 108 and d == 108) or (
        a == 110 and b == 111 and c == 110 and d == 101
    )


@njit(cache=True, nogil=True)
def _decode_value_into(buf, s, e, out, pos):  # type: ignore[no-untyped-def]
    """Decode one encoded field value (quoted, hex or null marker) into out[pos:]."""
    if e - s >= 2 and buf[s] == _DQ:
        end = e - 1 if buf[e - 1] == _DQ else e
        for p in range(s + 1, end):
            out[pos] = buf[p]
            pos += 1
        return pos
    length = e - s
    if length == 0 or _is_null_marker(buf, s, e):
        return pos
    hex_end = e
    if length % 2 == 1 and length > 1 and buf[e - 1] == _DQ:
        hex_end = e - 1  # a stray quote after hex (seen in the wild), as decode_encoded_bytes
    if (hex_end - s) % 2 == 0:
        is_hex = True
        for p in range(s, hex_end):
            if _hexval(buf[p]) < 0:
                is_hex = False
                break
        if is_hex:
            for p in range(s, hex_end, 2):
                out[pos] = _hexval(buf[p]) * 16 + _hexval(buf[p + 1])
                pos += 1
            return pos
    for p in range(s, e):
        out[pos] = buf[p]
        pos += 1
    return pos


@njit(cache=True, nogil=True)
def build_cmdlines(buf, ev, idx, starts, ends, n_events, safe):  # type: ignore[no-untyped-def]
    """EXECVE command lines per event, quoted like ``shlex.join``.

    ``ev, idx, starts, ends`` describe argument tokens sorted by (event, index,
    piece). Arguments are joined in index order; pieces of a split argument
    (``aN[0]``, ``aN[1]``...) are concatenated after decoding. Indices missing
    from the log (lost records) are skipped, never invented, so a forged
    ``argc`` or index cannot inflate the output. Returns Arrow binary layout
    (offsets, data) and whether each event had EXECVE arguments.
    """
    m = ev.shape[0]
    total = 0
    for k in range(m):
        total += ends[k] - starts[k]
    out = np.empty(5 * total + 3 * m + 16, np.uint8)
    tmp = np.empty(total + 16, np.uint8)
    offsets = np.zeros(n_events + 1, np.int32)
    has = np.zeros(n_events, np.bool_)
    pos = 0
    k = 0
    for e_ in range(n_events):
        offsets[e_] = pos
        first = True
        while k < m and ev[k] == e_:
            has[e_] = True
            a = idx[k]
            tlen = 0
            while k < m and ev[k] == e_ and idx[k] == a:
                tlen = _decode_value_into(buf, starts[k], ends[k], tmp, tlen)
                k += 1
            if not first:
                out[pos] = _SPACE
                pos += 1
            first = False
            needs_quote = tlen == 0
            for p in range(tlen):
                if not safe[tmp[p]]:
                    needs_quote = True
                    break
            if not needs_quote:
                for p in range(tlen):
                    out[pos] = tmp[p]
                    pos += 1
                continue
            out[pos] = _SQ
            pos += 1
            for p in range(tlen):
                if tmp[p] == _SQ:  # ' becomes '"'"'
                    out[pos] = _SQ
                    out[pos + 1] = _DQ
                    out[pos + 2] = _SQ
                    out[pos + 3] = _DQ
                    out[pos + 4] = _SQ
                    pos += 5
                else:
                    out[pos] = tmp[p]
                    pos += 1
            out[pos] = _SQ
            pos += 1
        offsets[e_ + 1] = pos
    return offsets, out[:pos], has


SAFE_BYTES = _SAFE

#: Fields the parse reads from records of these types: the scanner stops reading
#: such a line once it has them all (PATH's objtype matters only without a
#: nametype, EXECVE arguments have their own kernel). Every other record type is
#: read to its end.
TYPE_NEEDS = {
    "SYSCALL": (
        "arch", "syscall", "success", "exit", "a0", "a1", "a2", "ppid", "pid", "auid", "uid",
        "tty", "ses", "comm", "exe", "key", "AUID", "UID",
    ),
    "PATH": ("item", "name", "nametype"),
    "PROCTITLE": ("proctitle",),
    "CWD": ("cwd",),
    "SOCKADDR": ("saddr",),
    "CONTAINER_ID": ("contid",),
    "EXECVE": (),
}  # fmt: skip


def _type_needs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    names = [t.encode() for t in TYPE_NEEDS]
    lits = np.zeros((len(names), max(map(len, names))), np.uint8)
    for i, n in enumerate(names):
        lits[i, : len(n)] = np.frombuffer(n, np.uint8)
    lens = np.array([len(n) for n in names], np.int64)
    needs = np.zeros((len(names), len(FIELD_NAMES)), np.int64)
    for i, fields in enumerate(TYPE_NEEDS.values()):
        needs[i, [FIELD_INDEX[f] for f in fields]] = 1
    return lits, lens, needs


TYPE_LITS, TYPE_LENS, TYPE_NEED_FIELDS = _type_needs()
LIT_NODE = np.frombuffer(b"node=", np.uint8).copy()
LIT_TYPE = np.frombuffer(b"type=", np.uint8).copy()
LIT_MSG = np.frombuffer(b"msg=audit(", np.uint8).copy()
LIT_EXECVE = np.frombuffer(b"EXECVE", np.uint8).copy()


@njit(cache=True, nogil=True)
def line_times(buf, lit_audit):  # type: ignore[no-untyped-def]
    """Per line, the time (microseconds) of its first ``audit(SEC.FRAC:``, or -1.

    The same as searching each line with ``rb"audit\\((\\d+)\\.(\\d+):"``, the
    fraction cut or padded to 6 digits. Returns (times, ok); ok is False when a
    seconds value is too long to be exact here (over 12 digits).
    """
    n = buf.shape[0]
    max_lines = 1
    for i in range(n):
        if buf[i] == _NL:
            max_lines += 1
    times = np.full(max_lines, -1, np.int64)
    m = lit_audit.shape[0]
    line = 0
    i = 0
    while line < max_lines:
        j = i
        while j < n and buf[j] != _NL:
            j += 1
        p = i
        while p + m <= j:
            if buf[p] == lit_audit[0] and _starts_with(buf, p, j, lit_audit):
                q = p + m
                sec_s = q
                while q < j and 48 <= buf[q] <= 57:
                    q += 1
                n_sec = q - sec_s
                if n_sec > 0 and q < j and buf[q] == 46:  # '.'
                    frac_s = q + 1
                    q = frac_s
                    while q < j and 48 <= buf[q] <= 57:
                        q += 1
                    n_frac = q - frac_s
                    if n_frac > 0 and q < j and buf[q] == 58:  # ':'
                        if n_sec > 12:
                            return times, False
                        sec = 0
                        for k in range(sec_s, sec_s + n_sec):
                            sec = sec * 10 + (buf[k] - 48)
                        frac = 0
                        for k in range(6):
                            frac = frac * 10 + (buf[frac_s + k] - 48 if k < n_frac else 0)
                        times[line] = sec * 1_000_000 + frac
                        break
            p += 1
        line += 1
        i = j + 1
    return times, True


LIT_AUDIT = np.frombuffer(b"audit(", np.uint8).copy()


GENERIC_NAME_BYTES = np.frombuffer(b"".join(GENERIC_FIELDS), np.uint8).copy()
GENERIC_NAME_OFFSETS = np.cumsum([0] + [len(n) for n in GENERIC_FIELDS]).astype(np.int64)
LIT_MSG_QUOTE = np.frombuffer(b"msg='", np.uint8).copy()


@njit(cache=True, nogil=True)
def _is_space(c):  # type: ignore[no-untyped-def]
    return c == 32 or 9 <= c <= 13  # what \s means in a bytes pattern


@njit(cache=True, nogil=True)
def _is_name_char(c):  # type: ignore[no-untyped-def]
    return (
        (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122) or c == 95 or c == 45
        or c == 91 or c == 93
    )  # fmt: skip


@njit(cache=True, nogil=True)
def _generic_tokens(buf, a, b, inner, k, vs, ve, names, offsets):  # type: ignore[no-untyped-def]
    """Tokens ``name=value`` of buf[a:b] into vs/ve row k (first wins); False: not simple.

    Simple means what ``_auditd_fields._tokens_into`` reads the same way without
    its special cases: no bare words (``old``/``new`` prefixes), no glued
    ENRICHED names, every quote and brace closed, no value that ``_trim_bare``
    would trim. Anything else is left to the Python tokenizer.
    """
    n_names = offsets.shape[0] - 1
    p = a
    while p < b:
        c = buf[p]
        if _is_space(c) or c == _GS:
            p += 1
            continue
        if not ((65 <= c <= 90) or (97 <= c <= 122) or c == 95):
            return False
        ns = p
        while p < b and _is_name_char(buf[p]):
            p += 1
        if p >= b or buf[p] != _EQ:
            return False
        ne = p
        p += 1
        start = p
        if p < b and (buf[p] == _DQ or buf[p] == _LBRACE):
            close = _DQ if buf[p] == _DQ else _RBRACE
            p += 1
            while p < b and buf[p] != close:
                p += 1
            if p >= b:
                return False
            p += 1
        else:
            while p < b and not _is_space(buf[p]) and buf[p] != _GS:
                if buf[p] == _EQ:
                    return False
                p += 1
            if inner and p > start and (buf[p - 1] == 44 or buf[p - 1] == 41):  # , )
                return False
        length = ne - ns
        for g in range(n_names):
            o = offsets[g]
            if offsets[g + 1] - o == length and _bytes_equal(buf, ns, names, o, length):
                if vs[k, g] < 0:
                    vs[k, g] = start
                    ve[k, g] = p
                break
    return True


@njit(cache=True, nogil=True)
def scan_generic(buf, starts, ends, names, offsets, lit_msg):  # type: ignore[no-untyped-def]
    """The ``GENERIC_FIELDS`` of record bodies buf[starts[k]:ends[k]].

    Follows ``_auditd_fields.parse_fields``: a user-space ``msg='...'`` (up to
    its last quote before any 0x1D byte) is cut out and its fields come after
    the others'. Returns (vs, ve) per body and field (-1: absent) and whether
    each body was simple enough to be read here (else its row is left empty).
    """
    m = starts.shape[0]
    n_names = offsets.shape[0] - 1
    vs = np.full((m, n_names), -1, np.int64)
    ve = np.full((m, n_names), -1, np.int64)
    simple = np.ones(m, np.bool_)
    for k in range(m):
        s = starts[k]
        e = ends[k]
        msg = -1
        for p in range(s, e - lit_msg.shape[0] + 1):
            if buf[p] == lit_msg[0] and _starts_with(buf, p, e, lit_msg):
                msg = p
                break
        inner_s = -1
        inner_e = -1
        if msg >= 0 and (msg == s or buf[msg - 1] == _SPACE or buf[msg - 1] == _GS):
            stop = e
            for p in range(msg, e):
                if buf[p] == _GS:
                    stop = p
                    break
            for p in range(stop - 1, msg + 4, -1):
                if buf[p] == _SQ:
                    inner_s = msg + 5
                    inner_e = p
                    break
        ok = True
        if inner_s >= 0:
            ok = _generic_tokens(buf, s, msg, False, k, vs, ve, names, offsets)
            ok = ok and _generic_tokens(buf, inner_e + 1, e, False, k, vs, ve, names, offsets)
            ok = ok and _generic_tokens(buf, inner_s, inner_e, True, k, vs, ve, names, offsets)
        else:
            ok = _generic_tokens(buf, s, e, False, k, vs, ve, names, offsets)
        if not ok:
            simple[k] = False
            vs[k, :] = -1
            ve[k, :] = -1
    return vs, ve, simple


@njit(cache=True, nogil=True)
def encode_columns(buf, starts, ends):  # type: ignore[no-untyped-def]
    """:func:`encode_ranges` of each column of (rows, columns) ranges, in one call.

    Returns codes (rows, columns) and, for column j, the first range of each of
    its codes in ``firsts[bounds[j]:bounds[j + 1]]``.
    """
    m, n_cols = starts.shape
    codes = np.full((m, n_cols), -1, np.int64)
    firsts = np.empty(m * n_cols, np.int64)
    bounds = np.zeros(n_cols + 1, np.int64)
    for j in range(n_cols):
        col_codes, first = encode_ranges(buf, starts[:, j].copy(), ends[:, j].copy())
        codes[:, j] = col_codes
        firsts[bounds[j] : bounds[j] + first.shape[0]] = first
        bounds[j + 1] = bounds[j] + first.shape[0]
    return codes, firsts[: bounds[n_cols]], bounds
