"""Tests for the serial reader's reused buffers: the same blocks as plain reads.

The serial path reads into two reused buffers and copies each block into a
third; a block's text is then a ``bytearray``. Everything it gives must equal
what plain ``read`` calls and ``bytes`` blocks give.
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from behavemodel.io import ParseReport
from behavemodel.io import _auditd as reader
from behavemodel.io._auditd_chunk import LineBlock, ParseOptions, parse_block
from behavemodel.io._auditd_front import byte_slices, make_front, scanner_available
from behavemodel.io._auditd_values import decode_sockaddr, decode_sockaddrs
from behavemodel.io._sources import Stream

needs_numba = pytest.mark.skipif(not scanner_available(), reason="numba not installed")


def _log(n: int, seed: int = 3) -> bytes:
    """Lines of mixed length, some longer than the smallest reads, no final newline."""
    rng = random.Random(seed)
    lines = []
    for i in range(1, n + 1):
        stamp = f"1700000000.{i % 1000:03d}:{i}"
        kind = rng.random()
        if kind < 0.05:
            lines.append(f"type=USER_CMD msg=audit({stamp}): cmd=" + "6C" * rng.randint(1, 3000))
        elif kind < 0.1:
            lines.append("")  # blank
        elif kind < 0.12:
            lines.append("garbage without a header")
        else:
            lines.append(f'type=CWD msg=audit({stamp}): cwd="/d{i}"')
    return "\n".join(lines).encode()


class _ReadOnly:
    """A file object with nothing but ``read`` (no ``readinto``, no ``peek``)."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._inner.read(size)


def _plain_blocks(data: bytes, chunk_bytes: int, carries: list[LineBlock | None]) -> list[Any]:
    with io.BytesIO(data) as fh:
        reads = list(reader._iter_reads(fh, 0, ["f"], chunk_bytes))
    return [_facts(r.block(c)) for r, c in zip(reads, carries, strict=False)]


def _facts(block: LineBlock) -> tuple[Any, ...]:
    ends = None if block.line_ends is None else block.line_ends.tolist()
    return bytes(block.data), block.line_file.tolist(), block.line_no.tolist(), ends


def _carries(n: int) -> list[LineBlock | None]:
    carry = LineBlock(
        b"type=EOE msg=audit(1.0:1): \nx", np.zeros(2, np.int32), np.array([5, 9]), ["f"]
    )
    return [carry if k % 3 == 1 else None for k in range(n)]


@pytest.mark.parametrize("chunk_bytes", [7, 1000, 4096, 100_000, 1 << 20])
@pytest.mark.parametrize("opener", ["file", "bytesio", "read-only"])
def test_buffered_reads_give_the_blocks_of_plain_reads(
    tmp_path: Path, chunk_bytes: int, opener: str
) -> None:
    data = _log(1200)
    path = tmp_path / "audit.log"
    path.write_bytes(data)
    carries = _carries(len(data) // chunk_bytes + 3)
    expected = _plain_blocks(data, chunk_bytes, carries)
    fh: Any = {"file": lambda: open(path, "rb"), "bytesio": lambda: io.BytesIO(data)}.get(
        opener, lambda: _ReadOnly(data)
    )()
    buffers = reader._Buffers(chunk_bytes)
    got = []
    try:
        reads = reader._iter_reads(fh, 0, ["f"], chunk_bytes, buffers=buffers)
        pending = next(reads, None)
        k = 0
        for read in reads:  # one read ahead, as the stream reader does
            assert pending is not None
            got.append(_facts(pending.block_into(carries[k], buffers)))
            k += 1
            pending = read
        if pending is not None:
            got.append(_facts(pending.block_into(carries[k], buffers)))
    finally:
        if hasattr(fh, "close"):
            fh.close()
    assert got == expected


def test_a_stream_of_parts_reads_the_same_blocks_and_files(tmp_path: Path) -> None:
    """Parts (one empty, one without a final newline) read through one pair of buffers."""
    parts = []
    for k, data in enumerate([_log(300, seed=1), b"", _log(200, seed=2) + b"\n", b"tail"]):
        path = tmp_path / f"part{k}.log"
        path.write_bytes(data)
        parts.append(path)
    chunk_bytes = 2000
    report = ParseReport()
    buffers = reader._Buffers(chunk_bytes)
    got = [
        (_facts(lines.block_into(None, buffers)), last)
        for lines, last in reader._stream_blocks(
            Stream("s", tuple(parts)), report, chunk_bytes, buffers
        )
    ]
    expected = []
    for file_id, path in enumerate(parts):
        with open(path, "rb") as fh:
            for read in reader._iter_reads(fh, file_id, [], chunk_bytes):
                expected.append(_facts(read.block()))
    assert [facts for facts, _last in got] == expected
    assert [last for _facts, last in got] == [False] * (len(got) - 1) + [True]
    assert report.files == [str(p) for p in parts]


def test_the_block_buffer_is_replaced_while_something_still_views_it() -> None:
    buffers = reader._Buffers(16)
    first = buffers.fill([b"abc"], bytearray(b"defgh"), 5)
    with memoryview(first) as view:  # a resize would raise BufferError
        second = buffers.fill([b"x"], bytearray(b"yz"), 2)
        assert view.tobytes() == b"abcdefgh"
    assert second is not first and second == b"xyz"
    assert buffers.fill([], bytearray(b"0123"), 3) == b"012"


@pytest.mark.parametrize("engine", ["regex", pytest.param("scan", marks=needs_numba)])
def test_a_bytearray_block_parses_as_its_bytes(engine: str) -> None:
    """Same table, carry and bad lines; values come out as bytes, never as views."""
    data = _fleet_log()
    data += b"\n" + _log(400) + b"\nnode=x  type=CWD msg=audit(1.0:2): cwd=/\n\xff\xfe bad"
    n = data.count(b"\n") + 1
    options = ParseOptions(engine=engine, provenance=True)

    def parsed(text: bytes | bytearray) -> tuple[Any, ...]:
        block = LineBlock(text, np.zeros(n, np.int32), np.arange(1, n + 1), ["f"])  # type: ignore[arg-type]
        result = parse_block(block, final=False, options=options)
        carry = result.carry
        return (
            result.table,
            None if carry is None else (type(carry.data), carry.data, carry.line_no.tolist()),
            result.errors,
            result.records,
        )

    from_bytes = parsed(data)
    from_bytearray = parsed(bytearray(data))
    assert from_bytes[0] is not None and from_bytes[0].equals(from_bytearray[0])
    assert from_bytes[1:] == from_bytearray[1:]
    lines = make_front(bytearray(data), n, engine=engine).lines(np.arange(n))
    assert all(type(line) is bytes for line in lines)
    assert lines == make_front(data, n, engine=engine).lines(np.arange(n))


def _fleet_log() -> bytes:
    """Every record type the benchmark log has (SYSCALL, EXECVE, PATH, PAM...)."""
    from behavemodel.datasets import render_auditd, simulate_fleet

    sim = simulate_fleet(hosts_per_group=1, days=0.02, seed=3, scenarios="all")
    data = render_auditd(sim.events.slice(0, 400))
    assert isinstance(data, bytes)
    return data.rstrip(b"\n")


def test_byte_slices_are_bytes_from_bytes_and_bytearray() -> None:
    data = b"0123456789"
    for text in (data, bytearray(data)):
        out = byte_slices(text, [0, 3, 9, 5], [2, 3, 10, 9])
        assert out == [b"01", b"", b"9", b"5678"]
        assert all(type(v) is bytes for v in out)


def test_ipv4_socket_addresses_decode_as_one_at_a_time() -> None:
    rng = random.Random(5)
    hosts = [f"{rng.randrange(256):02X}{rng.randrange(256):02X}0A01" for _ in range(7)]
    raws = [
        b"0200" + f"{rng.randrange(65536):04X}".encode() + rng.choice(hosts).encode() + b"0" * 16
        for _ in range(300)
    ]
    raws += [
        b"",
        b"0200",
        b"02001F9",
        b"0100002F746D7000",
        b"0A00" + b"0" * 52,
        b"0200ZZZZ7F000001",
        b"02001F907F00000",  # one hex digit short of an address
        b"02001F907F000001",  # exactly the port and address
        b"02001F90\x007F0000",  # a NUL byte among the first 16
    ]
    rng.shuffle(raws)
    family, address, port = decode_sockaddrs(raws)
    for raw, f, a, p in zip(raws, family, address, port, strict=True):
        if raw:
            one = decode_sockaddr(raw)
            assert (f, a, p) == (one.family, one.address, one.port)
        else:
            assert (f, a, p) == (None, None, None)
    assert all(type(p) is int for p in port if p is not None)


@needs_numba
def test_line_ends_find_every_newline_among_any_bytes() -> None:
    from behavemodel.io import _auditd_scan as scan

    rng = random.Random(17)
    for _ in range(300):
        data = rng.randbytes(rng.randint(0, 200))
        if rng.random() < 0.5:  # many newlines next to their bit neighbours
            data = bytes(
                b if rng.random() < 0.5 else rng.choice(b"\n\x0b\x8a\x00\xff") for b in data
            )
        expected = [i for i, c in enumerate(data) if c == 10] + [len(data)]
        for offset in (0, 1, 5):
            buf = np.frombuffer(bytes(offset) + data, np.uint8)[offset:]
            assert scan.line_ends(buf, 0).tolist() == expected


def test_serial_parse_equals_a_parse_of_bytes_blocks(tmp_path: Path) -> None:
    """The whole serial path with reused buffers equals parsing each plain block."""
    data = _log(3000) + b"\n"
    path = tmp_path / "audit.log"
    path.write_bytes(data)
    options = ParseOptions()
    stream = Stream("s", (path,))
    got = list(reader._parse_stream(stream, options, ParseReport(), "skip", 5000))
    expected = []
    carry = None
    with open(path, "rb") as fh:
        reads = list(reader._iter_reads(fh, 0, [str(path)], 5000))
    for k, read in enumerate(reads):
        result = parse_block(read.block(carry), final=k == len(reads) - 1, options=options)
        carry = result.carry
        if result.table is not None:
            expected.append(result.table)
    assert pa.concat_tables(got).equals(pa.concat_tables(expected))


def test_an_input_of_one_read_makes_no_read_buffers() -> None:
    for data, n_reads in ((_log(50) + b"\n", 1), (_log(50), 2)):  # (+ the cut last line)
        buffers = reader._Buffers(1 << 20)
        reads = list(reader._iter_reads(io.BytesIO(data), 0, [], 1 << 20, buffers=buffers))
        assert len(reads) == n_reads and all(type(r.body) is bytes for r in reads)
        assert buffers.reads == [None, None]


def _blocks_with_carries(blocks: Any, held: reader._Held) -> list[Any]:
    """Facts of each block, setting a carry between blocks as a parse would."""
    out = []
    for k, (block, n_read, last) in enumerate(blocks):
        out.append((_facts(block), n_read, last))
        held.carry = _carries(k + 2)[k + 1]
    return out


@pytest.mark.parametrize("chunk_bytes", [5, 999, 4096, 70_000, 1 << 20])
@pytest.mark.parametrize(
    "data",
    [_log(1500), _log(1500) + b"\n", b"", b"\n", b"no newline at all", _log(3) + b"\n\n"],
    ids=["cut", "newline", "empty", "one-newline", "one-line", "blank-end"],
)
def test_direct_reads_give_the_blocks_of_buffered_reads(
    tmp_path: Path, chunk_bytes: int, data: bytes
) -> None:
    path = tmp_path / "audit.log"
    path.write_bytes(data)
    report = ParseReport()
    held = reader._Held()
    with open(path, "rb") as fh:
        direct = _blocks_with_carries(
            reader._direct_blocks(
                fh, [str(path)], chunk_bytes, reader._Buffers(chunk_bytes), held
            ),
            held,
        )
    held = reader._Held()
    buffers = reader._Buffers(chunk_bytes)
    staged = _blocks_with_carries(
        (
            (lines.block_into(held.carry, buffers), lines.n_lines, last)
            for lines, last in reader._stream_blocks(
                Stream("s", (path,)), report, chunk_bytes, buffers
            )
        ),
        held,
    )
    assert direct == staged


def test_one_part_files_are_read_directly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A single file goes the direct way; several parts or other file objects the other."""
    path = tmp_path / "audit.log"
    path.write_bytes(_log(200) + b"\n")
    calls: list[str] = []
    direct, staged = reader._direct_blocks, reader._stream_blocks
    monkeypatch.setattr(reader, "_direct_blocks", lambda *a: calls.append("direct") or direct(*a))
    monkeypatch.setattr(reader, "_stream_blocks", lambda *a: calls.append("staged") or staged(*a))
    expected = None
    for source in ([path], [path, path], [io.BytesIO(path.read_bytes())]):
        report = ParseReport()
        stream = Stream("s", tuple(source))
        tables = list(reader._parse_stream(stream, ParseOptions(), report, "skip", 3000))
        if expected is None:
            expected = pa.concat_tables(tables)
            assert report.files == [str(path)]
        elif len(source) == 1:
            assert pa.concat_tables(tables).equals(expected)
    assert calls == ["direct", "staged", "staged"]


def test_a_gzip_file_is_opened_once_and_reads_as_its_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gzip

    from behavemodel.io import _sources

    data = _log(800) + b"\n"
    plain, packed = tmp_path / "audit.log", tmp_path / "audit.log.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    opened: list[Any] = []
    real_open = _sources.open_input

    def counting_open(part: Any) -> Any:
        opened.append(part)
        return real_open(part)

    monkeypatch.setattr(reader, "open_input", counting_open)
    tables = {}
    for path in (plain, packed):
        report = ParseReport()
        stream = Stream("s", (path,))
        tables[path] = pa.concat_tables(
            reader._parse_stream(stream, ParseOptions(), report, "skip", 3000)
        )
        assert report.files == [str(path)] and report.lines_read == 800
    assert tables[plain].equals(tables[packed])
    assert opened == [plain, packed]


@needs_numba
@pytest.mark.parametrize("line", [b"", b"a", b"ab", b"x" * 31, b"y" * 40])
def test_line_ends_of_lines_shorter_than_the_first_guess(line: bytes) -> None:
    """Lines shorter than 32 bytes overflow the first room: they are found again."""
    from behavemodel.io import _auditd_scan as scan

    data = (line + b"\n") * 700 + line
    expected = [i for i, c in enumerate(data) if c == 10] + [len(data)]
    buf = np.frombuffer(data, np.uint8)
    for hint in (0, 5, len(expected), 10 * len(expected)):
        assert scan.line_ends(buf, hint).tolist() == expected
