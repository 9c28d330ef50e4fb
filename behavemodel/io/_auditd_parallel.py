"""Parallel reading of one audit log: the parent and worker processes share its pieces.

Each file is cut at line starts into pieces (:func:`_ranges`), handled in groups
that bound the memory held (:func:`_groups`). Each process has a share of a
group's pieces (:class:`_Board`): the parent parses the first share exactly as
the serial reader would (its tables stream out as they are made), each worker
parses its share in one go (:func:`_parse_share`), and a process done with its
share takes the last pieces of the others (:func:`_parse_taken`). So a worker
that starts late (the fork server still loading the parser on a first call) or
runs slower costs little, and a worker's share (most of its work) comes back
as one result. The parent then adds the workers' results in file order
(:class:`_Stitcher`), stitching the seams (events open across a piece
boundary) and the process history (parents seen in an earlier piece), so the
result equals the serial reader's.

The worker processes live on between calls (:func:`_lease_pool`): a later call
finds them started, their heaps already grown.
"""

from __future__ import annotations

import atexit
import dataclasses
import itertools
import multiprocessing
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from behavemodel.io._auditd import (
    OnError,
    ParseReport,
    _Buffers,
    _direct_blocks,
    _Held,
    _join,
)
from behavemodel.io._auditd_chunk import BadLine, ChunkResult, LineBlock, ParseOptions, parse_block
from behavemodel.io._auditd_front import scanner_available
from behavemodel.io._auditd_history import HistoryState
from behavemodel.io._auditd_history import ProcessHistory as _ProcessHistory
from behavemodel.io._auditd_transfer import SharedTable, discard, receive, reserve, send
from behavemodel.io._sources import Stream

_TIME_IN_LINE = re.compile(rb"audit\((\d+)\.(\d+):")


def _splittable(stream: Stream) -> bool:
    """Whether the parallel reader applies: plain files, one of them in several pieces.

    A stream of single pieces gives the workers nothing to do; the serial reader
    parses it (and, parsing its last block as final, keeps the log order there).
    """
    several = False
    for part in stream.parts:
        if not isinstance(part, Path):
            return False
        with open(part, "rb") as fh:
            if fh.read(2) == b"\x1f\x8b":
                return False
        several = several or len(_ranges(part, 2)) > 1
    return several


@dataclass
class _RangeResult:
    table: pa.Table | SharedTable | None  # see behavemodel.io._auditd_transfer
    missing: np.ndarray  # rows whose parent this worker could not see
    state: HistoryState
    head: LineBlock | None
    tail: LineBlock | None
    results: list[ChunkResult]
    lines: int


def _parse_reads(
    reader: _ShareReader, group: _Group, out_path: str | None, buffers: _Buffers
) -> _RangeResult:
    """Parse what ``reader`` reads of ``group``'s file on its own (lines numbered from 1).

    The events go to ``out_path`` (see :mod:`._auditd_transfer`) when given.
    When the reads reach ``group.stream_end`` (the stream ends in this file),
    the events still open are complete: nothing is left to stitch. The events
    that start the range may continue the previous one: they are kept apart
    (``head``) for the parent to stitch.
    """
    options = group.options
    history = _ProcessHistory(group.stream_name)
    missing: list[np.ndarray] = []
    tables: list[pa.Table] = []
    results: list[ChunkResult] = []
    held = _Held()
    head: LineBlock | None = None
    lines = 0
    rows = 0
    head_until: int | None = None
    # Blocks are read into reused memory, as by the serial reader; which block
    # is the last does not matter here (the stream's end is completed below).
    blocks = _direct_blocks(reader, [group.path], group.chunk_bytes, buffers, held)
    for block, n_read, _ in blocks:
        lines += n_read
        if head_until is None:
            m = _TIME_IN_LINE.search(block.data)
            if m is not None:
                head_until = int(m.group(1)) * 1_000_000 + int(options.window * 1_000_000)
        if head_until is not None and head is None:
            block, head = _split_head(block, head_until)
        result = parse_block(block, final=False, options=options)
        held.carry = result.carry
        rows = _keep(result, history, tables, missing, rows)
        results.append(result)
    carry = held.carry
    if carry is not None and group.stream_end is not None and reader.tell() >= group.stream_end:
        # The end of the stream, as at the serial reader's: the open events are
        # complete, and the parent does not wait for this worker's history to
        # parse them.
        result = parse_block(carry, final=True, options=options)
        carry = result.carry
        rows = _keep(result, history, tables, missing, rows)
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


def _keep(
    result: ChunkResult,
    history: _ProcessHistory,
    tables: list[pa.Table],
    missing: list[np.ndarray],
    rows: int,
) -> int:
    """Move a block's events to ``tables`` (parents filled where known); return the rows."""
    if result.table is None:
        return rows
    table, unresolved = history.apply_local(result.table)
    tables.append(table)
    missing.append(unresolved + rows)
    result.table = None
    return rows + table.num_rows


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
        with memoryview(data) as view:  # copies: ``data`` may be a reused buffer
            body_data, head_data = view[cut + 1 :].tobytes(), view[:cut].tobytes()
        body = LineBlock(body_data, file_of[n_head:], number[n_head:], block.files)
        return body, LineBlock(head_data, file_of[:n_head], number[:n_head], block.files)
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

    view = np.frombuffer(data, np.uint8)
    view.flags.writeable = False  # one compiled variant for bytes and bytearray
    times, exact = _auditd_scan.line_times(view, _auditd_scan.LIT_AUDIT)
    if not exact or len(times) != n_lines:
        return None
    return times  # type: ignore[no-any-return]


#: Largest share of a group one process parses (bounds the parent's memory).
MAX_RANGE_BYTES = 256 << 20
#: Pieces per process in a group: more pieces balance the processes better (the
#: last piece is what one may wait for), each costs a seam and a result transfer.
PIECES_PER_JOB = 16


def _ranges(
    path: Path, jobs: int, min_bytes: int = 4 << 20, max_bytes: int = MAX_RANGE_BYTES
) -> list[tuple[int, int]]:
    """Cut a file at line starts into the pieces the parent and the workers take.

    :data:`PIECES_PER_JOB` per process for every ``jobs * max_bytes`` bytes (a
    group, see :func:`_groups`), none smaller than ``min_bytes``.
    """
    size = path.stat().st_size
    groups = max(1, -(-size // (jobs * max_bytes)))
    pieces = max(1, min(jobs * PIECES_PER_JOB * groups, size // min_bytes))
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


def _groups(pieces: list[tuple[int, int]], jobs: int) -> list[list[tuple[int, int]]]:
    """Consecutive pieces shared out together; a group ends before the next starts."""
    size = jobs * PIECES_PER_JOB
    return [pieces[i : i + size] for i in range(0, len(pieces), size)]


class _Board:
    """Which pieces of a group each process parses.

    Process ``p`` (the parent is 0) has a share of consecutive pieces, which it
    parses in order: pieces ``next[p]`` to ``end[p] - 1`` are still to come. A
    process that runs out takes the last piece of the share with the most left
    (lowering its ``end``), so the shares end together whatever the speeds.
    The slots live in shared memory, under one lock.
    """

    def __init__(self, context: BaseContext, parties: int) -> None:
        self.parties = parties
        self._slots: Any = context.Array("q", 2 * parties)

    def open(self, n_pieces: int) -> None:
        """A new group of ``n_pieces`` (at least 2): equal shares, the first piece taken."""
        bounds = [0, *(max(1, n_pieces * p // self.parties) for p in range(1, self.parties))]
        bounds.append(n_pieces)
        with self._slots.get_lock():
            for p in range(self.parties):
                self._slots[2 * p] = bounds[p]
                self._slots[2 * p + 1] = bounds[p + 1]
            self._slots[0] = 1  # the parent starts on its first piece at once

    def take_next(self, party: int) -> int | None:
        """The next piece of ``party``'s share (None: the share is done)."""
        with self._slots.get_lock():
            index, end = self._slots[2 * party], self._slots[2 * party + 1]
            if index >= end:
                return None
            self._slots[2 * party] = index + 1
            return int(index)

    def take_last(self, party: int) -> int | None:
        """For ``party``, the last piece of the share with the most left (None: all done)."""
        with self._slots.get_lock():
            left = [
                (self._slots[2 * q + 1] - self._slots[2 * q], q)
                for q in range(self.parties)
                if q != party
            ]
            most, victim = max(left)
            if most <= 0:
                return None
            self._slots[2 * victim + 1] -= 1
            return int(self._slots[2 * victim + 1])

    def close(self) -> None:
        """Give out no more pieces (the workers stop after the ones they parse)."""
        with self._slots.get_lock():
            for p in range(self.parties):
                self._slots[2 * p + 1] = self._slots[2 * p]


_worker_board: _Board | None = None


def _init_worker(board: _Board, parent: int) -> None:
    """Worker start: keep the pool's board (shared memory travels only at start)."""
    global _worker_board
    _worker_board = board
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


#: Seconds between a worker's checks that its parent is alive.
_PARENT_CHECK_SECONDS = 1.0


def _exit_with(parent: int) -> None:
    # A kept worker waits for tasks forever: if the parent dies without shutting
    # the pool down (SIGKILL, os._exit), nothing else would end it.
    while True:
        time.sleep(_PARENT_CHECK_SECONDS)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(0)
        except OSError:
            pass  # alive, not ours to signal


@dataclass(frozen=True)
class _Group:
    """What a process needs to parse pieces of one group of a file."""

    path: str
    pieces: list[tuple[int, int]]
    outs: list[str | None]  # result file of a worker's result starting at each piece
    options: ParseOptions
    chunk_bytes: int
    stream_name: str
    stream_end: int | None  # where the stream ends, if in this file (see _parse_reads)

    def parse_share(
        self, first: int, take: Callable[[], int | None], buffers: _Buffers
    ) -> _RangeResult:
        """Pieces from ``first`` on, as long as ``take`` gives the next (one result)."""
        with open(self.path, "rb") as fh:
            reader = _ShareReader(fh, self.pieces, first, take)
            return _parse_reads(reader, self, self.outs[first], buffers)

    def parse_piece(self, index: int, buffers: _Buffers) -> _RangeResult:
        """One piece on its own (taken from another share)."""
        return self.parse_share(index, lambda: None, buffers)


def _parse_share(party: int, group: _Group) -> list[tuple[int, _RangeResult]]:
    """Worker: parse this share of a group in one go (one result, one seam to stitch).

    Returns (first piece, result), or nothing when the share was taken by others.
    """
    board = _worker_board
    assert board is not None, "worker started without _init_worker"
    first = board.take_next(party)
    if first is None:
        return []
    buffers = _kept_buffers(group.chunk_bytes)
    return [(first, group.parse_share(first, lambda: board.take_next(party), buffers))]


def _parse_others(party: int, group: _Group) -> list[tuple[int, _RangeResult]]:
    """Worker, after its share: pieces taken from the other shares.

    A task of its own, so that the share's result reaches the parent meanwhile.
    """
    board = _worker_board
    assert board is not None, "worker started without _init_worker"
    return _parse_taken(board, party, group, _kept_buffers(group.chunk_bytes))


def _parse_taken(
    board: _Board, party: int, group: _Group, buffers: _Buffers
) -> list[tuple[int, _RangeResult]]:
    """Parse pieces taken from the ends of other shares until none is left."""
    done: list[tuple[int, _RangeResult]] = []
    while (index := board.take_last(party)) is not None:
        done.append((index, group.parse_piece(index, buffers)))
    return done


_worker_buffers: _Buffers | None = None


def _kept_buffers(chunk_bytes: int) -> _Buffers:
    """Worker: the block memory kept from one task to the next (its pages stay mapped)."""
    global _worker_buffers
    if _worker_buffers is None or _worker_buffers.chunk_bytes != chunk_bytes:
        _worker_buffers = _Buffers(chunk_bytes)
    return _worker_buffers


@dataclass
class _Pool:
    """Worker processes and their board, used by one call at a time (``busy``)."""

    executor: ProcessPoolExecutor
    board: _Board
    workers: int
    busy: threading.Lock = field(default_factory=threading.Lock)
    broken: bool = False


def _new_pool(workers: int) -> _Pool:
    # Workers forked from a server that imported the parser and loaded its
    # compiled kernels (_auditd_warm), rather than from this process, whose
    # threads (Arrow's, the caller's) a plain fork would copy in any state.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["behavemodel.io._auditd_warm"])
    board = _Board(context, workers + 1)
    executor = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(board, os.getpid()),
    )
    return _Pool(executor, board, workers)


#: Seconds the kept workers wait for another call before they are stopped: a
#: notebook's or a script's calls in a row share them, an idle process does not
#: keep their memory (about 270 MiB each after the benchmark log).
WORKER_IDLE_SECONDS = 60.0

_shared: _Pool | None = None
_shared_lock = threading.Lock()
_idle_timer: threading.Timer | None = None
_inherited: list[_Pool] = []  # pools of the parent of a fork: never used nor shut down here


def _take_shared(workers: int) -> _Pool | None:
    """The shared pool, made or resized for ``workers``; None when another call uses it."""
    global _shared
    with _shared_lock:
        pool = _shared
        if pool is not None and not pool.busy.acquire(blocking=False):
            return None
        if pool is not None and (pool.workers != workers or pool.broken):
            pool.executor.shutdown(wait=True)
            pool = _shared = None
        if pool is None:
            pool = _shared = _new_pool(workers)
            pool.busy.acquire()
        return pool


@contextmanager
def _lease_pool(workers: int) -> Iterator[_Pool]:
    """Worker processes for one call: the shared pool if free, else a pool of its own.

    The shared pool outlives the call, so the next call skips starting workers
    and finds their heaps grown; a pool of its own (two calls at once, in
    threads) is shut down at the end.
    """
    pool = _take_shared(workers)
    own = pool is None
    if pool is None:
        pool = _new_pool(workers)
    try:
        yield pool
    except BrokenProcessPool:
        pool.broken = True
        raise
    finally:
        if own:
            pool.executor.shutdown(wait=True, cancel_futures=True)
        else:
            pool.busy.release()
            _stop_when_idle(pool)


def _stop_when_idle(pool: _Pool) -> None:
    """Stop ``pool`` after :data:`WORKER_IDLE_SECONDS` unless a call uses it again."""
    global _idle_timer
    with _shared_lock:
        if _idle_timer is not None:
            _idle_timer.cancel()
        _idle_timer = threading.Timer(WORKER_IDLE_SECONDS, _stop_if_idle, args=(pool,))
        _idle_timer.daemon = True
        _idle_timer.start()


def _stop_if_idle(pool: _Pool) -> None:
    global _shared
    with _shared_lock:
        if _shared is not pool or not pool.busy.acquire(blocking=False):
            return  # replaced, or in use again (that call sets a new timer)
        _shared = None
    pool.executor.shutdown(wait=True, cancel_futures=True)


def shutdown_workers() -> None:
    """Stop the worker processes kept for parallel parsing (done at exit anyway)."""
    global _shared
    with _shared_lock:
        pool, _shared = _shared, None
        if _idle_timer is not None:
            _idle_timer.cancel()
    if pool is not None:
        pool.executor.shutdown(wait=True, cancel_futures=True)


def _forget_pools_after_fork() -> None:
    # The child of a fork shares the parent's pool processes but not its threads:
    # leave them to the parent, and start afresh if this process parses too.
    global _shared, _shared_lock, _idle_timer
    if _shared is not None:
        _inherited.append(_shared)
    _shared = None
    _shared_lock = threading.Lock()
    _idle_timer = None  # the parent's timer thread is not in this process
    _forget_fork_server()


def _forget_fork_server() -> None:
    """Let a forked child start its own fork server: the parent's is not its child.

    Otherwise multiprocessing asks the parent's server for its exit status and
    fails with ChildProcessError (CPython keeps this state in private fields;
    left alone if they are not there).
    """
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    if server is None or getattr(server, "_forkserver_pid", None) is None:
        return
    alive_fd = getattr(server, "_forkserver_alive_fd", None)
    if alive_fd is not None:
        try:
            os.close(alive_fd)  # the parent's copy keeps its server alive
        except OSError:
            pass
    server._forkserver_alive_fd = None
    server._forkserver_address = None
    server._forkserver_pid = None


atexit.register(shutdown_workers)
os.register_at_fork(after_in_child=_forget_pools_after_fork)


class _ShareReader:
    """Reads consecutive pieces from ``first`` on, taking the next whenever a read reaches it.

    ``take`` returns the index of the next piece, or None when there is none.
    """

    def __init__(
        self,
        fh: Any,
        pieces: list[tuple[int, int]],
        first: int,
        take: Callable[[], int | None],
    ) -> None:
        self._fh = fh
        self._pieces = pieces
        self._take_piece = take
        self._next = first + 1
        self._pos, self._end = pieces[first]
        fh.seek(self._pos)

    def readinto(self, buffer: memoryview, /) -> int:
        """Read into ``buffer`` until it is full or the share ends; return how many bytes."""
        # Take pieces before a read crosses into them: reads keep their size, so
        # blocks (and the order of events open at their ends) are the serial
        # reader's.
        while self._pos + len(buffer) > self._end and self._take():
            pass
        size = min(len(buffer), self._end - self._pos)
        if size <= 0:
            return 0
        n = self._fh.readinto(buffer[:size]) or 0
        self._pos += n
        return n

    def peek(self, size: int = 0, /) -> bytes:
        """Bytes ahead in the pieces taken so far (none at their end; none is taken here)."""
        if self._pos >= self._end:
            return b""
        return self._fh.peek(size)[: self._end - self._pos]  # type: ignore[no-any-return]

    def tell(self) -> int:
        return self._pos

    def _take(self) -> bool:
        index = self._take_piece()
        if index is None:
            return False
        assert index == self._next, (index, self._next)
        self._next += 1
        self._end = self._pieces[index][1]
        return True


def _in_order(first: int, n_pieces: int) -> Callable[[], int | None]:
    """A ``take`` for :class:`_ShareReader` that gives every piece after ``first``."""
    following = iter(range(first + 1, n_pieces))
    return lambda: next(following, None)


class _Stitcher:
    """Puts one stream's pieces together in file order, as the serial reader has them.

    It keeps what crosses a piece boundary: the events still open (``held``),
    the line count (a worker numbers its lines from 1) and the process history;
    a worker's processes are merged only when the next piece needs them.
    """

    def __init__(
        self,
        options: ParseOptions,
        report: ParseReport,
        on_error: OnError,
        history: _ProcessHistory,
        chunk_bytes: int,
    ) -> None:
        self.options = options
        self.report = report
        self.on_error: OnError = on_error
        self.history = history
        self.chunk_bytes = chunk_bytes
        self.files: list[str] = []
        self.held = _Held()  # the open events, as the serial reader holds them
        self.line_offset = 0
        self._state: HistoryState | None = None
        self.buffers = _Buffers(chunk_bytes)  # this call's block memory, as the serial reader's

    def start_file(self, name: str) -> None:
        """The next part of the stream begins."""
        self.files.append(name)
        self.report.files.append(name)
        self.line_offset = 0

    def _merged(self) -> _ProcessHistory:
        if self._state is not None:
            self.history.merge_arrays(self._state)
            self._state = None
        return self.history

    def parse_front(self, reader: _ShareReader) -> Iterator[pa.Table]:
        """The parent's pieces: parsed on from the open events, as the serial reader does."""
        held = self.held
        blocks = _direct_blocks(
            reader,
            self.files,
            self.chunk_bytes,
            self.buffers,
            held,
            file_id=len(self.files) - 1,
            first_line=self.line_offset + 1,
        )
        for block, n_read, _ in blocks:
            self.report.lines_read += n_read
            self.line_offset += n_read
            result = parse_block(block, final=False, options=self.options)
            held.carry = result.carry
            self.report._absorb(result, self.on_error)
            if result.table is not None:
                yield self._merged().apply(result.table)

    def add(self, res: _RangeResult) -> Iterator[pa.Table]:
        """A worker's piece, the next in file order: first its seam, then its events."""
        report, offset = self.report, self.line_offset
        name, file_id = self.files[-1], len(self.files) - 1
        received = receive(res.table)
        for r in res.results:
            _relocate_errors(r, offset, name)
        # Seam: the events open before the piece plus the piece's head, which
        # may hold their last records.
        head = _retarget(_offset(res.head, offset), file_id, self.files)
        seam_lines = self.held.carry
        if head is not None:
            report.lines_read += head.n_lines
            seam_lines = _join(self.held.carry, head)
        if seam_lines is not None:
            seam = parse_block(seam_lines, final=True, options=self.options)
            report._absorb(seam, self.on_error)
            if seam.table is not None:
                yield self._merged().apply(seam.table)
            self.held.carry = None
        report.lines_read += res.lines - (res.head.n_lines if res.head else 0)
        for r in res.results:
            report._absorb(r, self.on_error)
        if received is not None:
            table = self._merged().fill_missing(received, res.missing)
            yield _fix_provenance(table, offset)
        self._merged()
        self._state = res.state
        self.held.carry = _retarget(_offset(res.tail, offset), file_id, self.files)
        self.line_offset += res.lines

    def finish(self) -> Iterator[pa.Table]:
        """End of the stream: the events still open are complete."""
        carry, self.held.carry = self.held.carry, None
        if carry is not None and carry.n_lines:
            result = parse_block(carry, final=True, options=self.options)
            self.report._absorb(result, self.on_error)
            if result.table is not None:
                yield self._merged().apply(result.table)


def _offset(block: LineBlock | None, delta: int) -> LineBlock | None:
    if block is None:
        return None
    return LineBlock(block.data, block.line_file, block.line_no + delta, block.files)


class _Submitting:
    """The workers' tasks of a group, submitted in a background thread."""

    def __init__(
        self,
        pool: _Pool,
        tasks: Sequence[tuple[Callable[[int, _Group], list[tuple[int, _RangeResult]]], int]],
        group: _Group,
        futures: list[Future[list[tuple[int, _RangeResult]]]],
    ) -> None:
        self.error: BaseException | None = None

        def submit() -> None:
            try:
                for task, party in tasks:
                    futures.append(pool.executor.submit(task, party, group))
            except BaseException as exc:  # raised in the parent by finish()
                self.error = exc

        self.thread = threading.Thread(target=submit, name="behavemodel-submit", daemon=True)
        self.thread.start()

    def finish(self) -> None:
        """Wait until every task is submitted; raise what submitting raised."""
        self.thread.join()
        if self.error is not None:
            raise self.error


def _parse_group(stitcher: _Stitcher, pool: _Pool, group: _Group) -> Iterator[pa.Table]:
    """The parent parses its share of the group while the workers parse theirs."""
    board = pool.board
    board.open(len(group.pieces))
    # Every worker's share first, then what each takes from others: a worker
    # starts on the second task as soon as it sends the first one's result.
    tasks = [(_parse_share, party) for party in range(1, board.parties)]
    tasks += [(_parse_others, party) for party in range(1, board.parties)]
    futures: list[Future[list[tuple[int, _RangeResult]]]] = []
    # Submitted from a thread: the first submit starts the workers and waits for
    # the fork server to import the parser (about 0.8 s in a fresh process, as
    # with the CLI), which this process spends parsing instead.
    submitting = _Submitting(pool, tasks, group, futures)
    try:
        with open(group.path, "rb") as fh:
            reader = _ShareReader(fh, group.pieces, 0, lambda: board.take_next(0))
            yield from stitcher.parse_front(reader)
        # The parent's parses of other pieces keep their tables in memory.
        in_memory = dataclasses.replace(group, outs=[None] * len(group.pieces))
        results = _parse_taken(board, 0, in_memory, stitcher.buffers)
        submitting.finish()
        for future in futures:
            results += future.result()
        for _, result in sorted(results, key=lambda pair: pair[0]):
            yield from stitcher.add(result)
    finally:
        # Workers stop after their current piece; wait, so that the board is not
        # opened for the next group under them.
        board.close()
        submitting.thread.join()
        wait_futures(futures)
        for out in group.outs:  # results not stitched (an error, or iteration stopped)
            discard(out)


def _parse_stream_parallel(
    stream: Stream,
    options: ParseOptions,
    jobs: int,
    report: ParseReport,
    on_error: OnError,
    chunk_bytes: int,
    history: _ProcessHistory,
) -> Iterator[pa.Table]:
    """The parent and ``jobs - 1`` workers share each file's pieces; stitched here.

    A group of pieces is done before the next starts, so the parent holds a
    bounded number of results whatever the size of the file.
    """
    stitcher = _Stitcher(options, report, on_error, history, chunk_bytes)
    with _lease_pool(jobs - 1) as pool:
        for part in stream.parts:
            stitcher.start_file(str(part))
            pieces = _ranges(part, jobs)
            stream_end = pieces[-1][1] if part is stream.parts[-1] else None
            for share in _groups(pieces, jobs):
                if len(share) == 1:
                    with open(part, "rb") as fh:
                        reader = _ShareReader(fh, share, 0, _in_order(0, len(share)))
                        yield from stitcher.parse_front(reader)
                    continue
                # Result files of the workers (removed at the end whatever
                # happens); the first piece is the parent's.
                outs: list[str | None] = [None, *(reserve() for _ in share[1:])]
                group = _Group(
                    str(part), share, outs, options, chunk_bytes, stream.name, stream_end
                )
                yield from _parse_group(stitcher, pool, group)
    yield from stitcher.finish()


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
