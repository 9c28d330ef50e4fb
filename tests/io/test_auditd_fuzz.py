"""Hostile and damaged input for behavemodel/io/_auditd.py: both engines, every line.

Audit logs are attacker-controlled, so the reader is fuzzed on realistic lines
(SYSCALL, EXECVE, PATH, SOCKADDR, PROCTITLE, user-space records, ENRICHED
text) with bytes replaced, inserted, deleted and fields swapped for odd
numbers. Whatever the damage, in ``skip`` and ``collect`` mode:

- nothing raises;
- every line read is used or reported (``lines_read == lines_used + lines_reported``);
- the compiled scanner and the pure-Python engine give the same table and the
  same reported lines.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from behavemodel.io import ParseReport, iter_auditd
from behavemodel.io._auditd_front import scanner_available

pytestmark = pytest.mark.skipif(
    not scanner_available(), reason="numba not installed: only one engine to compare"
)

GS = b"\x1d"
SYSCALL = (
    b"node=web-1 type=SYSCALL msg=audit(1700000000.%(ms)b:%(serial)b): arch=c000003e "
    b"syscall=%(sc)b success=yes exit=%(exit)b a0=3 a1=0 a2=241 a3=0 items=2 ppid=%(ppid)b "
    b"pid=%(pid)b auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 "
    b'ses=3 comm="sh" '
    b'exe="/usr/bin/sh" key=(null)' + GS + b'ARCH=x86_64 SYSCALL=execve AUID="alice" UID="root"'
)
RECORDS = [
    b'node=web-1 type=EXECVE msg=audit(1700000000.%(ms)b:%(serial)b): argc=3 a0="sh" a1="-c" '
    b"a2=6563686F2022686922",
    b'node=web-1 type=EXECVE msg=audit(1700000000.%(ms)b:%(serial)b): argc=2 a0="x" a1_len=6 '
    b'a1[0]="abc" a1[1]=646566',
    b'node=web-1 type=CWD msg=audit(1700000000.%(ms)b:%(serial)b): cwd="/srv/app"',
    b"node=web-1 type=PATH msg=audit(1700000000.%(ms)b:%(serial)b): item=0 name=2F746D702F782079 "
    b"inode=12 dev=08:01 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=CREATE cap_fp=0",
    b"node=web-1 type=SOCKADDR msg=audit(1700000000.%(ms)b:%(serial)b): "
    b"saddr=02000050C0A80001000000000000000000",
    b"node=web-1 type=SOCKADDR msg=audit(1700000000.%(ms)b:%(serial)b): "
    b"saddr=01002F72756E2F646F636B65722E736F636B00",
    b"node=web-1 type=PROCTITLE msg=audit(1700000000.%(ms)b:%(serial)b): "
    b"proctitle=7368002D63006563686F",
    b"node=web-1 type=USER_LOGIN msg=audit(1700000000.%(ms)b:%(serial)b): pid=%(pid)b uid=0 "
    b'auid=1000 ses=7 msg=\'op=login id=1000 exe="/usr/sbin/sshd" hostname=? addr=10.0.0.9 '
    b"terminal=/dev/pts/1 res=success'" + GS + b'UID="root" AUID="alice" ID="alice"',
    b"node=web-1 type=USER_CMD msg=audit(1700000000.%(ms)b:%(serial)b): pid=%(pid)b uid=0 "
    b"auid=1000 ses=7 msg='cwd=\"/\" cmd=6C73202D6C terminal=pts/0 res=success'",
]
#: Numbers the kernel never writes, in the places numbers go.
ODD_NUMBERS = [
    b"0", b"-1", b"+7", b"--5", b"1_000", b"0x10", b"", b"9" * 19, b"9" * 25, b"-" + b"9" * 19,
    b"4294967295", b"18446744073709551615", b" 5", b"\xff",
]  # fmt: skip
#: Bytes that damage does: quotes and braces, separators, controls, signs, digits,
#: hex and ENRICHED letters, non-ASCII.
DAMAGE = list(b"\"'{}= ()\x1d\x00\r\t:.\\\xff-+09aAfFzZ_")
HEADER_NUMBERS = [b"123", b"9" * 12, b"9" * 18, b"9" * 19, b"9" * 30, b"0"]


def _events(draw: st.DrawFn) -> list[bytes]:
    lines: list[bytes] = []
    for serial in range(1, draw(st.integers(1, 6)) + 1):
        values = {
            b"ms": b"%03d" % draw(st.integers(0, 999)),
            b"serial": str(serial).encode(),
            b"sc": draw(st.sampled_from([b"59", b"42", b"43", b"257", b"49", b"9999"])),
            b"exit": draw(st.sampled_from([b"0", b"-115", *ODD_NUMBERS])),
            b"ppid": draw(st.sampled_from([b"100", *ODD_NUMBERS])),
            b"pid": draw(st.sampled_from([b"200", *ODD_NUMBERS])),
        }

        def fill(template: bytes, values: dict[bytes, bytes] = values) -> bytes:
            return template % values

        lines.append(fill(SYSCALL))
        for template in draw(st.lists(st.sampled_from(RECORDS), max_size=4)):
            lines.append(fill(template))
    return lines


@st.composite
def damaged_logs(draw: st.DrawFn) -> bytes:
    lines = _events(draw)
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        line = bytearray(lines[i])
        at = draw(st.integers(0, len(line)))
        action = draw(
            st.sampled_from(["replace", "insert", "binary", "delete", "header", "truncate"])
        )
        if action == "replace" and at < len(line):
            line[at] = draw(st.sampled_from(DAMAGE))
        elif action == "insert":
            line[at:at] = bytes(draw(st.lists(st.sampled_from(DAMAGE), min_size=1, max_size=4)))
        elif action == "binary":
            line[at:at] = draw(st.binary(min_size=1, max_size=6).filter(lambda b: b"\n" not in b))
        elif action == "delete":
            del line[at : at + draw(st.integers(1, 8))]
        elif action == "truncate":
            del line[at:]
        else:  # odd numbers in the header's seconds, fraction or serial
            number = draw(st.sampled_from(HEADER_NUMBERS))
            part = draw(st.sampled_from([b"1700000000.", b"."]))
            line = bytearray(bytes(line).replace(part, number + b".", 1))
        lines[i] = bytes(line)
    if draw(st.booleans()):
        lines.insert(
            draw(st.integers(0, len(lines))), draw(st.sampled_from([b"", b"# c", b"junk"]))
        )
    return b"\n".join(lines) + b"\n"


def _parse(data: bytes, engine: str, on_error: str) -> tuple[pa.Table | None, ParseReport]:
    report = ParseReport()
    batches = list(iter_auditd(io.BytesIO(data), engine=engine, on_error=on_error, report=report))
    return (pa.Table.from_batches(batches) if batches else None), report


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(data=damaged_logs(), on_error=st.sampled_from(["skip", "collect"]))
def test_engines_agree_and_account_for_every_line(data: bytes, on_error: str) -> None:
    scan_table, scan_report = _parse(data, "scan", on_error)
    regex_table, regex_report = _parse(data, "regex", on_error)
    for report in (scan_report, regex_report):
        assert report.lines_read == data.count(b"\n")
        assert report.lines_read == report.lines_used + report.lines_reported
    assert scan_report.lines_reported == regex_report.lines_reported
    assert [(e.line, e.reason) for e in scan_report.errors] == [
        (e.line, e.reason) for e in regex_report.errors
    ]
    if scan_table is None or regex_table is None:
        assert scan_table is regex_table is None
    else:
        assert scan_table.equals(regex_table)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            b"node=a type=USER_END msg=audit(1234567890123456789012.100:5): pid=5 uid=0",
            "timestamp",
        ),
        (b"node=a type=USER_END msg=audit(12345678901234.100:5): pid=5 uid=0", "timestamp"),
    ],
)
@pytest.mark.parametrize("engine", ["scan", "regex"])
def test_out_of_range_seconds_are_reported_not_dropped(
    line: bytes, reason: str, engine: str
) -> None:
    table, report = _parse(line + b"\n", engine, "collect")
    assert table is None
    assert report.lines_reported == 1
    assert reason in report.errors[0].reason


@pytest.mark.parametrize("engine", ["scan", "regex"])
def test_numbers_the_kernel_never_writes_are_null(engine: str) -> None:
    lines = [
        SYSCALL % {b"ms": b"100", b"serial": b"1", b"sc": b"59", b"exit": b"0",
                   b"ppid": b"+100", b"pid": b"--200"},
        RECORDS[7] % {b"ms": b"100", b"serial": b"2", b"pid": b"--5"},
        RECORDS[7] % {b"ms": b"100", b"serial": b"3", b"pid": b"9" * 25},
    ]  # fmt: skip
    table, report = _parse(b"\n".join(lines) + b"\n", engine, "raise")
    assert table is not None and report.lines_reported == 0
    assert table.column("process_pid").to_pylist() == [None, None, None]
    assert table.column("parent_pid").to_pylist()[0] is None


@pytest.mark.parametrize("engine", ["scan", "regex"])
def test_hex_argument_with_a_stray_quote_is_decoded(engine: str) -> None:
    lines = [
        SYSCALL % {b"ms": b"100", b"serial": b"1", b"sc": b"59", b"exit": b"0",
                   b"ppid": b"1", b"pid": b"2"},
        b'node=web-1 type=EXECVE msg=audit(1700000000.100:1): argc=2 a0="id" a1=414243"',
    ]  # fmt: skip
    table, _ = _parse(b"\n".join(lines) + b"\n", engine, "raise")
    assert table is not None
    assert table.column("process_cmdline").to_pylist() == ["id ABC"]
