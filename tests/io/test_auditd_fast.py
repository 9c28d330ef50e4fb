"""Tests for the fast paths of the auditd reader: each must equal its simple form.

Covers the scanner's in-line decoding and early stop, the columnar user-space
record fill, the vectorised process history, the parallel reader (ranges,
shared-memory transfer, head split) and their pure-Python fallbacks.
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from behavemodel import schema as s
from behavemodel.io import ParseReport, iter_auditd
from behavemodel.io import _auditd as reader
from behavemodel.io import _auditd_chunk as chunk
from behavemodel.io import _auditd_parallel as parallel
from behavemodel.io import _auditd_transfer as transfer
from behavemodel.io._auditd_chunk import LineBlock
from behavemodel.io._auditd_fields import parse_fields
from behavemodel.io._auditd_front import ScanFront, generic_columns, scanner_available
from behavemodel.io._auditd_history import ProcessHistory, latest_earlier
from behavemodel.io._auditd_values import decode_encoded, decode_plain

needs_numba = pytest.mark.skipif(not scanner_available(), reason="numba not installed")
GS = "\x1d"


def _tables(data: bytes, engine: str, **kwargs: object) -> tuple[pa.Table, ParseReport]:
    report = ParseReport()
    batches = list(
        iter_auditd(io.BytesIO(data), engine=engine, on_error="skip", report=report, **kwargs)  # type: ignore[arg-type]
    )
    return pa.Table.from_batches(batches, schema=batches[0].schema), report


# --- scanner: values decoded in the scan, early stop per record type ----------------


@needs_numba
def test_engines_agree_on_many_distinct_values_and_odd_field_orders() -> None:
    """More distinct strings than the scanner's first hash table; fields out of order."""
    lines = []
    for serial in range(1, 3000):
        t = f"1700{serial:06d}.250"
        head = f"node=h{serial % 7} type=SYSCALL msg=audit({t}:{serial}): "
        fields = (
            f"arch=c000003e syscall={59 if serial % 3 else 2} success=yes exit={serial} a0=1 "
            f"a1={serial:x} a2=241 a3=0 items=2 ppid={serial - 1} pid={serial} "
            f"auid={serial % 5} uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 "
            f'tty=pts{serial % 9} ses=3 comm="c{serial}" exe="/bin/e{serial}" key=k{serial % 11}'
            f'{GS}ARCH=x86_64 AUID="u{serial % 5}" UID="root" GID="root"'
        )
        if serial % 4 == 0:  # the wanted fields again after all of them: first wins
            fields += ' pid=1 comm="late" UID="late" exe="/late"'
        if serial % 5 == 0:  # ENRICHED names before the kernel fields
            fields = 'UID="first" AUID="first" ' + fields
        lines.append(head + fields)
        if serial % 3 == 0:  # RHEL 7 PATH: objtype, no nametype (no early stop)
            lines.append(
                f"node=h{serial % 7} type=PATH msg=audit({t}:{serial}): item=0 "
                f'name="/tmp/f{serial}" inode=1 objtype=CREATE cap_fp=0 nametype=BOGUS'
            )
        else:
            lines.append(
                f"node=h{serial % 7} type=PATH msg=audit({t}:{serial}): item=1 "
                f'name="/etc/g{serial}" nametype=CREATE objtype=NORMAL item=0 name="/x"'
            )
        lines.append(
            f'node=h{serial % 7} type=EXECVE msg=audit({t}:{serial}): argc=2 a0="x{serial}" '
            f'a1="-v" a2="ignored-by-argc-is-still-read"'
        )
        lines.append(
            f"node=h{serial % 7} type=SOCKADDR msg=audit({t}:{serial}): "
            f"saddr=0200{serial % 65536:04X}0A00000{serial % 10}0000000000000000 "
            f"SADDR={{ fam=inet laddr=10.0.0.1 lport=1 }}"
        )
        lines.append(f'node=h{serial % 7} type=CWD msg=audit({t}:{serial}): cwd="/w{serial}"')
        lines.append(
            f"node=h{serial % 7} type=PROCTITLE msg=audit({t}:{serial}): proctitle=7800{serial:x}"
        )
    data = ("\n".join(lines) + "\n").encode()
    scan, scan_report = _tables(data, "scan")
    regex, regex_report = _tables(data, "regex")
    assert scan.num_rows == 2999
    assert scan.equals(regex)
    assert scan_report.lines_reported == regex_report.lines_reported == 0
    assert scan.column("process_name").to_pylist()[3] == "c4"  # not "late"
    files = scan.column("file_path").to_pylist()
    assert files[2] == "/tmp/f3"  # objtype=CREATE, found after the nametype-less PATH


@needs_numba
def test_scanner_integers_reject_what_the_regex_engine_rejects() -> None:
    values = ["-5", "--5", "99999999999999999999", "12a", "", "0", "007", "-"]
    lines = [
        f"type=SYSCALL msg=audit(1700000000.{i:03d}:{i}): arch=c000003e syscall=42 "
        f"success=no exit={v} a0=3 a1={v} a2=10 a3=0 items=0 ppid={v} pid={i} auid=0 "
        f'uid=0 gid=0 tty=(none) ses=1 comm="x" exe="/x" key=(null)'
        for i, v in enumerate(values, start=1)
    ]
    data = ("\n".join(lines) + "\n").encode()
    scan, _ = _tables(data, "scan")
    regex, _ = _tables(data, "regex")
    assert scan.column("exit_code").equals(regex.column("exit_code"))
    assert scan.column("parent_pid").equals(regex.column("parent_pid"))
    assert scan.column("exit_code").to_pylist()[:3] == [-5, None, None]
    # (A leading "+" is a known difference: the regex engine's fallback accepts it.)


# --- user-space records: columnar fill equals the record-by-record rules ------------


def _reference_fill_generic(
    events: chunk._Events, ev: np.ndarray, bodies: list[bytes], record_type: str
) -> None:
    """The record-by-record form of ``_fill_generic`` (the definition of its result)."""
    m = len(bodies)
    ints = {col: (np.zeros(m, np.int64), np.zeros(m, bool)) for _, col in chunk._GENERIC_INTS}
    text_columns = [col for _, col, _ in chunk._GENERIC_TEXT]
    obj = {
        col: np.full(m, None, dtype=object)
        for col in (*text_columns, s.TTY, s.USER_NAME, s.LOGIN_NAME, "success_raw")
    }
    account = record_type in chunk._ACCOUNT_RECORDS
    for j, body in enumerate(bodies):
        f = parse_fields(body)
        for raw_name, col in chunk._GENERIC_INTS:
            value = f.get(raw_name)
            if value is not None and value.lstrip(b"-").isdigit() and len(value) < 19:
                ints[col][0][j] = int(value)
                ints[col][1][j] = True
        for raw_name, col, kind in chunk._GENERIC_TEXT:
            value = f.get(raw_name)
            if value is not None:
                obj[col][j] = decode_encoded(value) if kind == "encoded" else decode_plain(value)
        user_name = chunk._enriched_name(f.get(b"UID", b""))
        if account:
            ident = f.get(b"id")
            acct = chunk._account_name(f.get(b"acct"))
            uid_values, uid_valid = ints[s.USER_UID]
            if ident is not None and ident.isdigit() and len(ident) < 19:
                uid_values[j], uid_valid[j] = int(ident), True
                user_name = chunk._enriched_name(f.get(b"ID", b"")) or acct
            elif acct is not None:
                uid_valid[j] = False
                user_name = acct
        obj[s.USER_NAME][j] = user_name
        obj[s.LOGIN_NAME][j] = chunk._enriched_name(f.get(b"AUID", b""))
        terminal = f.get(b"terminal", f.get(b"tty"))
        if terminal is not None:
            obj[s.TTY][j] = chunk._tty_value(terminal)
        res = f.get(b"res", f.get(b"success"))
        if res is not None:
            obj["success_raw"][j] = res.strip(b"'\"")
    for col, (values, valid) in ints.items():
        if col in (s.LOGIN_UID, s.SESSION_ID):
            valid = valid & (values != chunk.UNSET_ID) & (values != -1)
        if col in (s.SRC_PORT, s.DST_PORT):
            valid = valid & (values > 0)
        events.set_int(col, ev, values, valid, fill=True)
    for col, values in obj.items():
        events.set_obj(col, ev, values, fill=True)


_USER_BODIES = [
    b'pid=7 uid=0 auid=1000 ses=2 msg=\'op=login id=1000 exe="/usr/sbin/sshd" '
    b'addr=10.0.0.9 terminal=/dev/pts/1 res=success\'\x1dUID="root" AUID="alice" ID="alice"',
    b"pid=8 uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:accounting grantors=pam_permit "
    b'acct="root" exe="/usr/sbin/cron" hostname=? addr=? terminal=cron res=success\'',
    b"pid=9 uid=0 auid=-1 ses=-1 msg='op=useradd id=abc acct=\"bob\" res=failed'",
    b"pid=-3 uid=01 msg='acct=2F746D70 id=12 exe=2F62696E cmd=6C73202D6C terminal=? res=1'",
    b"login pid=1 uid=0 old auid=4294967295 new auid=0 old ses=4294967295 new ses=5 res=1",
    b"pid=10 uid=0 lport=22 rport=0 laddr=10.0.0.1 addr=10.0.0.2 success=yes tty=tty1",
    b'pid=11 comm="x" exe="/x" key=(null)AUID="glued" UID="glued2"',
    b"pid=12 msg='(hostname=?, addr=?, terminal=cron res=success)' acct=\"?\" id=",
    b"",
    b"garbage without fields",
    b'pid=13 pid=14 uid=99999999999999999999 ses=0 msg=\'pid=99 exe="/inner"\' exe="/outer"',
]


@pytest.mark.parametrize("record_type", ["USER_LOGIN", "USER_START", "AVC", "CRYPTO_SESSION"])
def test_columnar_user_record_fill_equals_record_by_record(record_type: str) -> None:
    rng = random.Random(7)
    bodies = [rng.choice(_USER_BODIES) for _ in range(200)] + _USER_BODIES
    n = len(bodies) + 5
    ev = np.array(rng.sample(range(n), len(bodies)), dtype=np.int64)
    expected, got = chunk._Events(n), chunk._Events(n)
    for events in (expected, got):  # something a SYSCALL record gave before
        events.set_obj(s.PROCESS_EXE, np.array([0, 1]), np.array(["/sys", None], dtype=object))
        events.set_int(s.USER_UID, np.array([0]), np.array([5]), np.array([True]))
    _reference_fill_generic(expected, ev, bodies, record_type)
    chunk._fill_generic(got, ev, generic_columns(bodies), record_type)
    assert expected.obj.keys() == got.obj.keys()
    for name, values in expected.obj.items():
        assert values.tolist() == got.obj[name].tolist(), name
    assert expected.ints.keys() == got.ints.keys()
    for name, (values, valid) in expected.ints.items():
        assert np.array_equal(valid, got.ints[name][1]), name
        assert np.array_equal(values[valid], got.ints[name][0][valid]), name


# --- process history -----------------------------------------------------------------


def test_latest_earlier_equals_brute_force() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        hist_order = np.sort(rng.choice(500, size=rng.integers(0, 200), replace=False))
        hist_keys = rng.integers(0, 30, len(hist_order)) << 32 | rng.integers(
            0, 5, len(hist_order)
        )
        query_order = rng.integers(0, 500, rng.integers(0, 100))
        query_keys = rng.integers(0, 30, len(query_order)) << 32 | rng.integers(
            0, 5, len(query_order)
        )
        got = latest_earlier(hist_keys, hist_order, query_keys, query_order)
        for q in range(len(query_keys)):
            earlier = np.flatnonzero((hist_keys == query_keys[q]) & (hist_order < query_order[q]))
            assert got[q] == (earlier[-1] if len(earlier) else -1)


def test_history_state_in_bulk_equals_row_by_row() -> None:
    source = ProcessHistory("s")
    source.merge_state([("a", 1, "/a1", "a1"), (None, 2, "/n2", None), ("b", 1, "/b1", "b1")])
    source.merge_state([("a", 1, "/a1-new", "a1"), ("c", 4294967295, None, "c")])
    by_rows, in_bulk = ProcessHistory("t"), ProcessHistory("t", max_processes=3)
    by_rows_bounded = ProcessHistory("t", max_processes=3)
    for target in (by_rows, in_bulk, by_rows_bounded):
        target.merge_state([("z", 9, "/z", "z"), ("a", 1, "/old", "old")])
    by_rows.merge_state(source.export_state())
    by_rows_bounded.merge_state(source.export_state())
    in_bulk.merge_arrays(source.export_arrays())
    assert in_bulk.export_state() == by_rows_bounded.export_state()
    unbounded = ProcessHistory("t")
    unbounded.merge_state([("z", 9, "/z", "z"), ("a", 1, "/old", "old")])
    unbounded.merge_arrays(source.export_arrays())
    assert unbounded.export_state() == by_rows.export_state()


# --- parallel reading (more in test_auditd_parallel.py) -----------------------------


def test_split_head_fast_path_equals_line_by_line(monkeypatch: pytest.MonkeyPatch) -> None:
    text = b"\n".join(
        [
            b"junk",
            b"",
            b"x audit(12.5:1) audit(13.7:2):",
            b"type=SYSCALL msg=audit(1700000000.9999999:5): a=1",
            b"audit(x audit(5.:) audit(6.25:",
            b"type=PATH msg=audit(1700000001.5:6): item=0",
            b"type=PATH msg=audit(1700000000.000001:7): item=0",
        ]
    )
    block = LineBlock(text, np.zeros(7, np.int32), np.arange(1, 8), ["f"])
    split = _split_head_both_ways(monkeypatch, block, 1_700_000_001_000_000)
    assert split[1].line_no.tolist() == [3, 4, 5, 7]
    # the usual case: the head is the first lines (taken by slicing)
    lines = [f"type=PATH msg=audit(17000000{i // 10:02d}.5:{i}): a=0".encode() for i in range(40)]
    block = LineBlock(b"\n".join(lines), np.zeros(40, np.int32), np.arange(1, 41), ["f"])
    split = _split_head_both_ways(monkeypatch, block, 1_700_000_002_000_000)
    assert split[1].line_no.tolist() == list(range(1, 21))


def _split_head_both_ways(
    monkeypatch: pytest.MonkeyPatch, block: LineBlock, until_us: int
) -> tuple[LineBlock, LineBlock]:
    """``_split_head`` with the compiled line times and line by line: the same blocks."""
    fast = parallel._split_head(block, until_us)
    with monkeypatch.context() as patch:
        patch.setattr(parallel, "_line_times", lambda data, n: None)
        slow = parallel._split_head(block, until_us)
    for a, b in zip(fast, slow, strict=True):
        assert a.data == b.data
        assert a.line_no.tolist() == b.line_no.tolist()
    return fast


@needs_numba
def test_line_times_equal_a_regex_search_of_each_line() -> None:
    rng = random.Random(5)
    pieces = [
        b"audit(",
        b"1700000000",
        b".",
        b"123",
        b":",
        b"x",
        b" ",
        b"9",
        b")",
        b"(",
        b"12345678901234",
    ]
    lines = [b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    data = b"\n".join(lines)
    times = parallel._line_times(data, len(lines))
    if times is None:  # a too long seconds value: the slow path is taken instead
        lines = [line for line in lines if b"12345678901234" not in line]
        data = b"\n".join(lines)
        times = parallel._line_times(data, len(lines))
    assert times is not None
    for line, got in zip(lines, times.tolist(), strict=True):
        m = parallel._TIME_IN_LINE.search(line)
        want = int(m.group(1)) * 1_000_000 + int((m.group(2) + b"000000")[:6]) if m else -1
        assert got == want, line


def test_shared_table_round_trip_keeps_chunks_and_dictionaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = pa.table({"k": pa.array(["a", "b", None]).dictionary_encode(), "v": [1, 2, 3]})
    second = pa.table({"k": pa.array(["c", "a"]).dictionary_encode(), "v": [4, None]})
    table = pa.concat_tables([first, second])
    monkeypatch.setattr(transfer, "_SHM_DIR", str(tmp_path))
    sent = transfer.send(table, transfer.reserve())
    assert isinstance(sent, transfer.SharedTable)
    received = transfer.receive(sent)
    assert received is not None and received.equals(table)
    assert [c.dictionary.to_pylist() for c in received.column("k").chunks] == [
        ["a", "b"],
        ["c", "a"],
    ]
    assert not list(tmp_path.iterdir())
    path = transfer.reserve()
    transfer.send(table, path)
    transfer.discard(path)
    transfer.discard(path)  # twice is fine
    assert not list(tmp_path.iterdir())
    monkeypatch.setattr(transfer, "_SHM_DIR", str(tmp_path / "missing"))
    assert transfer.reserve() is None
    assert transfer.send(table, None) is table
    assert transfer.send(None, None) is None
    assert transfer.send(table, str(tmp_path / "missing" / "x.arrows")) is table  # write fails


_PIECES = [
    "pid=1", " ", "uid=0", "msg='", "'", "op=PAM:x", 'acct="ro ot"', "acct=726F6F74", "\x1d",
    'UID="root"', "AUID=unset", "res=success", "res=failed)", "terminal=/dev/pts/1,",
    "(hostname=?,", "old", "new", "auid=5", "id=1000", 'exe="/bin/x"', "exe=/a=b", "{",
    "SADDR={ fam=inet }", '"', "=", "tty=", "ID=bob", "x.y=1", "\t", "caf\xc3\xa9=1",
    "addr=::1", "laddr=10.0.0.1", "lport=22", "ses=4294967295", 'key=(null)AUID="x"',
]  # fmt: skip


@needs_numba
def test_compiled_user_record_fields_equal_parse_fields() -> None:
    rng = random.Random(11)
    bodies = ["".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 14))) for _ in range(3000)]
    bodies += [
        "pid=8 uid=0 auid=4294967295 ses=4294967295 subj=unconfined msg='op=PAM:accounting "
        'grantors=pam_permit acct="root" exe="/usr/sbin/cron" hostname=? addr=? terminal=cron '
        'res=success\'\x1dUID="root" AUID="unset"',
        "msg=''",
        "msg='a=1' pid=2",
        "pid=3 msg='pid=4 uid=5'uid=6",
    ]
    lines = [
        f"type=USER_ACCT msg=audit(1700000000.{i % 1000:03d}:{i}): {b}"
        for i, b in enumerate(bodies)
    ]
    data = "\n".join(lines).encode("utf-8", "surrogateescape")
    front = ScanFront(data, len(lines))
    rows = np.arange(len(front.line_idx))
    got = front.generic_fields(rows)
    want = generic_columns(front.bodies(rows))
    for name, coded in want.items():
        table = [*coded.uniques, None]
        expected = [table[c] for c in coded.codes]
        table = [*got[name].uniques, None]
        assert [table[c] for c in got[name].codes] == expected, name


def test_packed_sort_of_execve_tokens_equals_lexsort() -> None:
    from behavemodel.io._auditd_front import _sort_order

    rng = np.random.default_rng(1)
    for _ in range(100):
        n = int(rng.integers(0, 300))
        ev, piece = rng.integers(0, 50, n), rng.integers(-1, 3, n)
        for index in (rng.integers(0, 5, n), rng.integers(0, 2**30, n)):  # packed, fallback
            assert np.array_equal(_sort_order(ev, index, piece), np.lexsort((piece, index, ev)))


# --- line ends, read blocks, code renumbering, grouping by type ----------------------


def _python_line_ends(data: bytes) -> list[int]:
    return [i for i, c in enumerate(data) if c == 10] + [len(data)]


@needs_numba
def test_line_ends_equal_a_python_search_whatever_the_expected_count() -> None:
    from behavemodel.io import _auditd_scan as scan

    rng = random.Random(11)
    samples = [b"", b"\n", b"\n\n", b"a\nb", bytes(range(256)) * 3]
    samples += [
        bytes(rng.choice(b"ab\n\x0a\x8a\x0b ") for _ in range(rng.randint(0, 90)))
        for _ in range(500)
    ]
    for data in samples:
        expected = _python_line_ends(data)
        for offset in (0, 3):  # word reads that do not start on a word boundary
            buf = np.frombuffer(b"x" * offset + data, np.uint8)[offset:]
            for hint in (0, 1, len(expected), len(expected) + 7):
                assert scan.line_ends(buf, hint).tolist() == expected


@needs_numba
def test_scan_recomputes_line_ends_that_do_not_fit() -> None:
    from behavemodel.io import _auditd_scan as scan

    data = (
        b'type=CWD msg=audit(1.000:1): cwd="/"\n\n'
        b'type=CWD msg=audit(1.000:2): cwd="/tmp"\ngarbage\n'
    )
    buf = np.frombuffer(data, np.uint8)
    good = np.array(_python_line_ends(data), np.int64)

    def scanned(ends: np.ndarray) -> list[Any]:
        out = scan.scan(
            buf, ends, scan.FIELD_TABLE, scan.FIELD_NAME_BYTES, scan.FIELD_NAME_OFFSETS,
            scan.LIT_NODE, scan.LIT_TYPE, scan.LIT_MSG, scan.LIT_EXECVE, scan.FIELD_KINDS,
            scan.TYPE_LITS, scan.TYPE_LENS, scan.TYPE_NEED_FIELDS,
        )  # fmt: skip
        return [a.tolist() for a in out]

    expected = scanned(good)
    for wrong in (good[:-1], good + 1, np.zeros(0, np.int64), good[::-1].copy()):
        assert scanned(np.ascontiguousarray(wrong)) == expected


@needs_numba
def test_word_compares_and_hashes_equal_bytes_compares_near_any_end() -> None:
    """Word-at-a-time equality and hashing agree with the bytes, up to the buffer's end."""
    from behavemodel.io import _auditd_scan as scan

    rng = random.Random(3)
    for _ in range(300):
        data = bytes(rng.choice(b"ab") for _ in range(rng.randint(1, 40)))
        buf = np.frombuffer(data, np.uint8)
        n = len(data)
        for _ in range(10):
            length = rng.randint(0, n)
            a, b = rng.randint(0, n - length), rng.randint(0, n - length)
            same = data[a : a + length] == data[b : b + length]
            assert scan._same_bytes(buf, a, b, length) == same
            if same:
                assert scan._hash_range(buf, a, a + length, 7) == scan._hash_range(
                    buf, b, b + length, 7
                )


@needs_numba
def test_encode_ranges_equals_first_seen_codes_with_python() -> None:
    from behavemodel.io import _auditd_scan as scan

    rng = np.random.default_rng(9)
    data = bytes(rng.choice(list(b"xy\x00\xff"), 300).tolist())
    buf = np.frombuffer(data, np.uint8)
    starts = rng.integers(-1, 280, 500)
    ends = np.minimum(starts + rng.integers(0, 20, 500), len(data))
    codes, first = scan.encode_ranges(buf, starts, ends)
    seen: dict[bytes, int] = {}
    expected = [
        -1 if s < 0 else seen.setdefault(data[s:e], len(seen))
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
    ]
    assert codes.tolist() == expected
    assert [data[starts[k] : ends[k]] for k in first.tolist()] == list(seen)


@needs_numba
def test_scan_headers_like_the_line_before_equal_headers_read_alone() -> None:
    """A node or timestamp equal to the line before's is taken from it: same as reading it."""
    from behavemodel.io import _auditd_scan as scan

    heads = [
        b"node=a type=CWD msg=audit(1.5:7): ",
        b"node=a type=CWD msg=audit(1.5:7): ",
        b"node=ab type=CWD msg=audit(1.5:71): ",
        b"node=ab type=CWD msg=audit(1.5:7): ",
        b"node=a type=CWD msg=audit(1.5:7)x ",
        b"type=CWD msg=audit(1.5:7): ",
        b"node=a type=CWD msg=audit(1.5:7",
        b"node=a type=CWD msg=audit(1.5:7): ",
        b"node=a type=CWD msg=audit(12.5:7): ",
        b"node=a type=CWD msg=audit(2.5:7): ",
        b"node=a type=CWD msg=audit(99999999999999999999.123456789:1): ",
        b"node=a type=CWD msg=audit(99999999999999999999.123456789:1): ",
        b"node=a type=CWD msg=audit(1.5:7):",
    ]

    def scanned(lines: list[bytes]) -> list[list[Any]]:
        data = b"\n".join(line + b'cwd="/"' for line in lines)
        buf = np.frombuffer(data, np.uint8)
        out = scan.scan(
            buf, scan.line_ends(buf, 0), scan.FIELD_TABLE, scan.FIELD_NAME_BYTES,
            scan.FIELD_NAME_OFFSETS, scan.LIT_NODE, scan.LIT_TYPE, scan.LIT_MSG,
            scan.LIT_EXECVE, scan.FIELD_KINDS, scan.TYPE_LITS, scan.TYPE_LENS,
            scan.TYPE_NEED_FIELDS,
        )  # fmt: skip
        ok, sec, frac, serial, scode = out[2], out[5], out[6], out[7], out[14]
        node = scode[:, scan.FIELD_SLOTS[scan.NODE_FIELD]]
        st_s, st_e, st_code = out[15], out[16], out[18]
        names = {
            int(c): data[a:b]
            for a, b, c, f in zip(st_s, st_e, st_code, out[17], strict=True)
            if f == scan.NODE_FIELD
        }
        return [
            [int(ok[i]), names.get(int(node[i])), int(sec[i]), int(frac[i]), int(serial[i])]
            for i in range(len(lines))
        ]

    together = scanned(heads)
    alone = [scanned([head])[0] for head in heads]
    assert together == alone
    assert together[0] == [1, b"a", 1, 500000, 7]


@needs_numba
def test_used_codes_equal_renumbering_with_numpy() -> None:
    from behavemodel.io import _auditd_scan as scan

    rng = np.random.default_rng(5)
    for _ in range(50):
        n_codes = int(rng.integers(0, 40))
        scode = rng.integers(-1, max(n_codes, 1), size=(60, 3)).astype(np.int32)
        if n_codes == 0:
            scode[:] = -1
        lines = rng.choice(60, size=int(rng.integers(0, 60)), replace=False).astype(np.int64)
        codes = scode[lines, 1].astype(np.int64)
        used = np.zeros(n_codes + 1, bool)
        used[codes] = True
        used = used[:-1]
        renumber = np.append(np.cumsum(used) - 1, -1)
        got_codes, kept = scan.used_codes(scode, lines, 1, n_codes)
        assert got_codes.tolist() == renumber[codes].tolist()
        assert kept.tolist() == np.flatnonzero(used).tolist()


@pytest.mark.parametrize("n_codes", [1, 7, 256, 300])
def test_stable_order_equals_a_stable_argsort(n_codes: int) -> None:
    codes = np.random.default_rng(n_codes).integers(0, n_codes, 5000)
    expected = np.argsort(codes, kind="stable")
    assert np.array_equal(chunk._stable_order(codes, n_codes), expected)


def _log_with_long_lines(n: int) -> bytes:
    lines = []
    for i in range(1, n + 1):
        lines.append(f'type=CWD msg=audit(1700000000.{i % 1000:03d}:{i}): cwd="/d{i}"')
        if i % 97 == 0:  # longer than the reads below
            lines.append(
                f"type=USER_CMD msg=audit(1700000000.{i % 1000:03d}:{i}): cmd=" + "6C" * 6000
            )
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("chunk_bytes", [1000, 4096, 100_000, 1 << 20])
def test_reads_give_the_lines_and_line_ends_of_their_block(
    tmp_path: Path, chunk_bytes: int
) -> None:
    data = _log_with_long_lines(3000)
    path = tmp_path / "audit.log"
    path.write_bytes(data)
    with open(path, "rb") as fh:
        reads = list(reader._iter_reads(fh, 0, [str(path)], chunk_bytes))
    carry = LineBlock(
        b"type=EOE msg=audit(1.0:1): \nx", np.zeros(2, np.int32), np.array([5, 9]), []
    )
    texts = []
    line = 1
    with_ends = 0
    for k, read in enumerate(reads):
        assert read.first_line == line
        block = read.block(carry if k % 2 else None)
        if k % 2:
            assert block.data.startswith(carry.data + b"\n")
            assert block.line_no[:2].tolist() == [5, 9]
            texts.append(block.data[len(carry.data) + 1 :])
        else:
            texts.append(block.data)
        assert block.n_lines == block.data.count(b"\n") + 1
        assert block.line_no[-read.n_lines :].tolist() == list(range(line, line + read.n_lines))
        if block.line_ends is not None:
            assert block.line_ends.tolist() == _python_line_ends(block.data)
            with_ends += 1
        line += read.n_lines
    assert b"\n".join(texts) + b"\n" == data
    if scanner_available() and chunk_bytes > 1 << 16:  # large reads: lines found compiled
        assert with_ends >= max(1, len(reads) - 1)  # (a short last read may be counted)


def test_reads_are_the_same_blocks_from_any_file_object(tmp_path: Path) -> None:
    data = _log_with_long_lines(1500)
    path = tmp_path / "audit.log"
    path.write_bytes(data)
    for chunk_bytes in (1000, 50_000):
        with open(path, "rb") as fh:
            from_file = [r.block().data for r in reader._iter_reads(fh, 0, [], chunk_bytes)]
        from_memory = [
            r.block().data for r in reader._iter_reads(io.BytesIO(data), 0, [], chunk_bytes)
        ]
        assert from_file == from_memory


def test_generic_records_of_a_block_equal_one_type_at_a_time() -> None:
    """Reading every generic record type of a block at once changes nothing."""
    rng = random.Random(9)
    types = ["USER_LOGIN", "AVC", "USER_START", "CRYPTO_SESSION", "USER_ACCT", "ANOM_ABEND"]
    n = 400
    bodies = {t: [rng.choice(_USER_BODIES) for _ in range(rng.randint(1, 60))] for t in types}
    rows_of = {}
    start = 0
    for t in types:
        rows_of[t] = np.arange(start, start + len(bodies[t]))
        start += len(bodies[t])
    all_bodies = [b for t in types for b in bodies[t]]

    class _Front:
        def generic_fields(self, rows: np.ndarray) -> dict[bytes, Any]:
            return generic_columns([all_bodies[i] for i in rows.tolist()])

    ev_of_row = np.array([rng.randrange(n) for _ in all_bodies], dtype=np.int64)
    expected, got = chunk._Events(n), chunk._Events(n)
    for t in types:
        rows = rows_of[t]
        chunk._fill_generic(expected, ev_of_row[rows], generic_columns(bodies[t]), t)
    generic = chunk._GenericRecords(_Front(), rows_of)  # type: ignore[arg-type]
    for t in types:
        generic.fill(got, ev_of_row[rows_of[t]], t)
    assert expected.obj.keys() == got.obj.keys()
    for name, values in expected.obj.items():
        assert values.tolist() == got.obj[name].tolist(), name
    for name, (values, valid) in expected.ints.items():
        assert np.array_equal(valid, got.ints[name][1]), name
        assert np.array_equal(values, got.ints[name][0]), name


@needs_numba
def test_compiled_history_pass_equals_latest_earlier_and_unique() -> None:
    from behavemodel.io import _auditd_scan as scan

    rng = np.random.default_rng(21)
    for _ in range(200):
        n = int(rng.integers(0, 120))
        rows = np.flatnonzero(rng.random(n) < 0.7)
        queries = np.flatnonzero(rng.random(n) < 0.6)
        keys = rng.integers(-3, 6, size=len(rows)) * (1 << 40) + rng.integers(0, 4, len(rows))
        query_keys = rng.integers(-3, 6, size=len(queries)) * (1 << 40)
        query_keys += rng.integers(0, 4, len(queries))
        match, last = scan.latest_rows(keys, rows, query_keys, queries)
        assert match.tolist() == latest_earlier(keys, rows, query_keys, queries).tolist()
        _, rev_first = np.unique(keys[::-1], return_index=True)
        assert last.tolist() == np.sort(len(rows) - 1 - rev_first).tolist()
