"""Parallel reading of one audit log: byte ranges parsed by worker processes.

:func:`_parse_stream_parallel` hands ranges of each file to a process pool,
then stitches the seams (events open across a range boundary) and the process
history (parents seen in an earlier range) in the parent, so the result equals
the serial reader's.
"""

from __future__ import annotations

import itertools
import multiprocessing
import re
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from behavemodel.io._auditd import OnError, ParseReport, _iter_reads, _join
from behavemodel.io._auditd_chunk import BadLine, ChunkResult, LineBlock, ParseOptions, parse_block
from behavemodel.io._auditd_front import scanner_available
from behavemodel.io._auditd_history import HistoryState
from behavemodel.io._auditd_history import ProcessHistory as _ProcessHistory
from behavemodel.io._auditd_transfer import SharedTable, discard, receive, reserve, send
from behavemodel.io._sources import Stream

_TIME_IN_LINE = re.compile(rb"audit\((\d+)\.(\d+):")


def _splittable(stream: Stream) -> bool:
    for part in stream.parts:
        if not isinstance(part, Path):
            return False
        with open(part, "rb") as fh:
            if fh.read(2) == b"\x1f\x8b":
                return False
    return True


@dataclass
class _RangeResult:
    table: pa.Table | SharedTable | None  # see behavemodel.io._auditd_transfer
    missing: np.ndarray  # rows whose parent this worker could not see
    state: HistoryState
    head: LineBlock | None
    tail: LineBlock | None
    results: list[ChunkResult]
    lines: int


def _parse_range(
    path: str,
    start: int,
    end: int,
    options: ParseOptions,
    chunk_bytes: int,
    is_first: bool,
    stream_name: str,
    out_path: str | None = None,
) -> _RangeResult:
    """Worker: parse bytes [start, end) of a file (line numbers relative, from 1).

    The events go to ``out_path`` (see :mod:`._auditd_transfer`) when given.
    """
    files = [path]
    history = _ProcessHistory(stream_name)
    missing: list[np.ndarray] = []
    tables: list[pa.Table] = []
    results: list[ChunkResult] = []
    carry: LineBlock | None = None
    head: LineBlock | None = None
    lines = 0
    rows = 0
    head_until: int | None = None
    with open(path, "rb") as fh:
        fh.seek(start)
        reader = _BoundedReader(fh, end - start)
        for read in _iter_reads(reader, 0, files, chunk_bytes):
            lines += read.n_lines
            block = read.block(carry)
            if head_until is None and not is_first:
                m = _TIME_IN_LINE.search(block.data)
                if m is not None:
                    head_until = int(m.group(1)) * 1_000_000 + int(options.window * 1_000_000)
            if head_until is not None and not is_first and head is None:
                block, head = _split_head(block, head_until)
            result = parse_block(block, final=False, options=options)
            carry = result.carry
            if result.table is not None:
                table, unresolved = history.apply_local(result.table)
                tables.append(table)
                missing.append(unresolved + rows)
                rows += table.num_rows
                result.table = None
            results.append(result)
    return _RangeResult(
        send(pa.concat_tables(tables) if tables else None, out_path),
        np.concatenate(missing) if missing else np.zeros(0, np.int64),
        history.export_arrays(),
        head,
        carry,
        results,
        lines,
    )


def _split_head(block: LineBlock, head_until_us: int) -> tuple[LineBlock, LineBlock]:
    """Separate the events that start a range (they may continue the previous one)."""
    times = _line_times(block.data, block.n_lines)
    lines: list[bytes] | None = None
    if times is None:
        lines = block.data.split(b"\n")
        times = np.zeros(len(lines), np.int64)
        for i, line in enumerate(lines):
            m = _TIME_IN_LINE.search(line)
            if m is not None:
                times[i] = int(m.group(1)) * 1_000_000 + int((m.group(2) + b"000000")[:6])
            else:
                times[i] = -1
    in_head = (times >= 0) & (times < head_until_us)
    # lines without a header stay with the body
    head_idx = np.flatnonzero(in_head)
    body_idx = np.flatnonzero(~in_head)
    n_head = len(head_idx)
    if lines is None and 0 < n_head < len(times) and head_idx[-1] == n_head - 1:
        # the usual case, the head is the first lines: two slices
        data, cut = block.data, -1
        for _ in range(n_head):
            cut = data.index(b"\n", cut + 1)
        file_of, number = block.line_file, block.line_no
        body = LineBlock(data[cut + 1 :], file_of[n_head:], number[n_head:], block.files)
        return body, LineBlock(data[:cut], file_of[:n_head], number[:n_head], block.files)
    if lines is None:
        lines = block.data.split(b"\n")
    all_lines = lines

    def pick(idx: np.ndarray) -> LineBlock:
        return LineBlock(
            data=b"\n".join(all_lines[i] for i in idx.tolist()),
            line_file=block.line_file[idx],
            line_no=block.line_no[idx],
            files=block.files,
        )

    return pick(body_idx), pick(head_idx)


def _line_times(data: bytes, n_lines: int) -> np.ndarray | None:
    """Microsecond time of each line as :data:`_TIME_IN_LINE` finds it (-1: none).

    Compiled when numba is there; None when that fast path does not apply (then
    each line is searched on its own).
    """
    if not scanner_available():
        return None
    from behavemodel.io import _auditd_scan

    times, exact = _auditd_scan.line_times(np.frombuffer(data, np.uint8), _auditd_scan.LIT_AUDIT)
    if not exact or len(times) != n_lines:
        return None
    return times  # type: ignore[no-any-return]


class _BoundedReader:
    def __init__(self, fh: Any, size: int) -> None:
        self._fh = fh
        self._left = size

    def read(self, n: int) -> bytes:
        if self._left <= 0:
            return b""
        data = self._fh.read(min(n, self._left))
        self._left -= len(data)
        return data


#: Largest byte range one worker task parses (bounds the parent's memory).
MAX_RANGE_BYTES = 256 << 20


def _ranges(
    path: Path, jobs: int, min_bytes: int = 4 << 20, max_bytes: int = MAX_RANGE_BYTES
) -> list[tuple[int, int]]:
    """Split a file at line starts into one range per worker (more for huge files)."""
    size = path.stat().st_size
    pieces = max(1, min(jobs, size // min_bytes))
    if pieces == jobs:
        pieces *= max(1, -(-size // (jobs * max_bytes)))
    bounds = [0]
    with open(path, "rb") as fh:
        for k in range(1, pieces):
            fh.seek(size * k // pieces)
            fh.readline()
            pos = fh.tell()
            if bounds[-1] < pos < size:
                bounds.append(pos)
    bounds.append(size)
    return list(itertools.pairwise(bounds))


def _offset(block: LineBlock | None, delta: int) -> LineBlock | None:
    if block is None:
        return None
    return LineBlock(block.data, block.line_file, block.line_no + delta, block.files)


def _parse_stream_parallel(
    stream: Stream,
    options: ParseOptions,
    jobs: int,
    report: ParseReport,
    on_error: OnError,
    chunk_bytes: int,
    history: _ProcessHistory,
) -> Iterator[pa.Table]:
    """Ranges of each file parsed by workers; seams and process history stitched here.

    At most ``jobs`` ranges are in flight, so the parent holds a bounded number
    of results whatever the size of the file.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["behavemodel.io._auditd_warm"])
    files: list[str] = []
    carry: LineBlock | None = None
    futures: deque[Future[_RangeResult]] = deque()
    reserved: list[str] = []  # result files, removed at the end whatever happens
    state: HistoryState | None = None  # the last range's processes, merged when needed

    def merged() -> _ProcessHistory:
        nonlocal state
        if state is not None:
            history.merge_arrays(state)
            state = None
        return history

    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
    try:
        for part in stream.parts:
            name = str(part)
            files.append(name)
            report.files.append(name)
            file_id = len(files) - 1
            ranges = _ranges(part, jobs)
            line_offset = 0
            while ranges or futures:
                while ranges and len(futures) < jobs:
                    a, b = ranges.pop(0)
                    out = reserve()
                    if out is not None:
                        reserved.append(out)
                    futures.append(
                        pool.submit(
                            _parse_range,
                            *(name, a, b, options, chunk_bytes, a == 0, stream.name, out),
                        )
                    )
                res = futures.popleft().result()
                received = receive(res.table)
                for r in res.results:
                    _relocate_errors(r, line_offset, name)
                # Seam: the previous range's open events plus this range's head.
                head = _retarget(_offset(res.head, line_offset), file_id, files)
                # (Without a head, e.g. at the start of the next file, the open events
                # are emitted on their own rather than lost.)
                seam_lines = carry
                if head is not None:
                    report.lines_read += head.n_lines
                    seam_lines = _join(carry, head)
                if seam_lines is not None:
                    seam = parse_block(seam_lines, final=True, options=options)
                    report._absorb(seam, on_error)
                    if seam.table is not None:
                        yield merged().apply(seam.table)
                    carry = None
                report.lines_read += res.lines - (res.head.n_lines if res.head else 0)
                for r in res.results:
                    report._absorb(r, on_error)
                if received is not None:
                    table = merged().fill_missing(received, res.missing)
                    yield _fix_provenance(table, line_offset)
                merged()
                state = res.state
                carry = _retarget(_offset(res.tail, line_offset), file_id, files)
                line_offset += res.lines
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for path in reserved:  # results not stitched (an error, or iteration stopped)
            discard(path)
    if carry is not None and carry.n_lines:
        result = parse_block(carry, final=True, options=options)
        report._absorb(result, on_error)
        if result.table is not None:
            yield merged().apply(result.table)


def _retarget(block: LineBlock | None, file_id: int, files: list[str]) -> LineBlock | None:
    if block is None:
        return None
    return LineBlock(block.data, np.full(block.n_lines, file_id, np.int32), block.line_no, files)


def _relocate_errors(result: ChunkResult, delta: int, name: str) -> None:
    result.errors = [BadLine(name, e.line + delta, e.reason, e.text) for e in result.errors]


def _fix_provenance(table: pa.Table, delta: int) -> pa.Table:
    if "source_line" not in table.column_names or delta == 0:
        return table
    import pyarrow.compute as pc

    idx = table.column_names.index("source_line")
    return table.set_column(idx, "source_line", pc.add(table.column("source_line"), delta))
