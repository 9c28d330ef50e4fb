"""Tests for how the parallel reader shares a log's pieces (behavemodel.io._auditd_parallel).

The parent parses its share of each group of pieces as the serial reader does,
workers parse theirs, and whoever is done first takes pieces from the others'
shares; the result must equal the serial parse whichever way the pieces went.
The worker processes are kept between calls.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from behavemodel.exceptions import ParseError
from behavemodel.io import ParseReport, iter_auditd
from behavemodel.io import _auditd_parallel as parallel
from behavemodel.io import _auditd_transfer as transfer

ORDER = [("source_file", "ascending"), ("source_line", "ascending")]


def _chain_log(n: int, start: int = 1, bad_every: int = 50) -> list[str]:
    """Events three to a second (so events are open at piece ends), parents two back."""
    lines = []
    for serial in range(start, start + n):
        t = f"1700{serial // 3:06d}.{serial % 1000:03d}"
        lines += [
            f"node=h{serial % 2} type=SYSCALL msg=audit({t}:{serial}): arch=c000003e syscall=59 "
            f"success=yes exit=0 a0=1 a1=2 a2=3 a3=0 items=1 ppid={max(serial - 2, 1)} "
            f'pid={serial} auid=0 uid=0 tty=(none) ses=1 comm="p{serial}" exe="/bin/p{serial}" '
            "key=(null)",
            f'node=h{serial % 2} type=EXECVE msg=audit({t}:{serial}): argc=1 a0="p{serial}"',
        ]
        if bad_every and serial % bad_every == 0:
            lines.append("not an audit line")
    return lines


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces of 10 kB at least, so that a small log has several."""
    original = parallel._ranges

    def small(part: Path, jobs: int) -> list[tuple[int, int]]:
        return original(part, jobs, min_bytes=10_000)

    monkeypatch.setattr(parallel, "_ranges", small)


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    path = tmp_path / "audit.log"
    path.write_text("\n".join(_chain_log(1500, start=1000)) + "\n")
    return path


def _read(source: Any, **kwargs: Any) -> tuple[pa.Table, ParseReport]:
    report = ParseReport()
    options = {"on_error": "collect", "provenance": True, "chunk_bytes": 1 << 14, **kwargs}
    batches = list(iter_auditd(source, report=report, **options))
    return pa.Table.from_batches(batches).sort_by(ORDER), report


def _assert_equal_reads(source: Any, **kwargs: Any) -> None:
    """``jobs=2`` (or as ``kwargs`` say) gives the serial parse's events and report."""
    serial, serial_report = _read(source)
    shared, shared_report = _read(source, **{"jobs": 2, **kwargs})
    assert shared.equals(serial)
    assert shared_report.lines_read == serial_report.lines_read
    assert shared_report.records == serial_report.records
    assert shared_report.lines_reported == serial_report.lines_reported
    assert shared_report.errors == serial_report.errors
    assert shared_report.files == serial_report.files


def _shared_files() -> set[Path]:
    shared = Path(transfer._SHM_DIR)
    return set(shared.glob("behavemodel-*")) if shared.is_dir() else set()


def test_board_gives_shares_then_takes_from_the_largest() -> None:
    board = parallel._Board(multiprocessing.get_context("spawn"), 2)
    board.open(6)  # parent: pieces 0-2 (0 taken), worker: 3-5
    assert board.take_next(0) == 1
    assert board.take_next(1) == 3
    assert board.take_last(0) == 5  # the worker's share has 4 and 5 left
    assert board.take_last(1) == 2  # the parent's has 2 left
    assert board.take_next(0) is None
    assert board.take_next(1) == 4
    assert board.take_next(1) is None
    assert board.take_last(0) is None
    board.open(3)
    board.close()
    assert board.take_next(0) is None
    assert board.take_last(1) is None


def test_board_shares_of_few_pieces_start_with_the_parent() -> None:
    board = parallel._Board(multiprocessing.get_context("spawn"), 3)
    board.open(2)  # the parent keeps its first piece, one worker has none
    assert board.take_next(0) is None
    assert board.take_next(1) is None
    assert board.take_next(2) == 1


def test_kept_pool_is_reused_and_equals_the_serial_parse(
    tmp_path: Path, log_path: Path, small_pieces: None
) -> None:
    """Two calls use the same workers; several files (one stream), errors, provenance."""
    older = tmp_path / "audit.log.1"
    # Earlier times: the seams assume time goes forward from one part to the next.
    older.write_text("\n".join(_chain_log(400)) + "\n")
    before = _shared_files()
    _assert_equal_reads([older, log_path])
    pool = parallel._shared
    assert pool is not None
    _assert_equal_reads([older, log_path])
    assert parallel._shared is pool
    assert _shared_files() <= before


def test_a_different_jobs_replaces_the_kept_pool(log_path: Path, small_pieces: None) -> None:
    _assert_equal_reads(log_path)
    _assert_equal_reads(log_path, jobs=3)
    pool = parallel._shared
    assert pool is not None and pool.workers == 2
    parallel.shutdown_workers()
    assert parallel._shared is None
    _assert_equal_reads(log_path)  # and a new pool starts on demand


def test_kept_workers_stop_when_no_call_comes(
    log_path: Path, small_pieces: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "WORKER_IDLE_SECONDS", 0.3)
    _assert_equal_reads(log_path)
    pool = parallel._shared
    assert pool is not None
    processes = list(pool.executor._processes.values())
    assert processes and all(p.is_alive() for p in processes)
    deadline = time.monotonic() + 30
    while parallel._shared is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert parallel._shared is None
    for process in processes:
        process.join(timeout=10)
        assert not process.is_alive()
    _assert_equal_reads(log_path)  # a new pool starts on demand


def test_a_call_in_time_keeps_the_workers(
    log_path: Path, small_pieces: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "WORKER_IDLE_SECONDS", 30.0)
    _assert_equal_reads(log_path)
    pool = parallel._shared
    _assert_equal_reads(log_path)
    assert parallel._shared is pool
    timer = parallel._idle_timer
    assert timer is not None and timer.is_alive()  # one timer, set by the last call
    parallel.shutdown_workers()
    assert not timer.is_alive() or timer.finished.is_set()


def test_small_files_are_read_by_the_serial_reader(tmp_path: Path) -> None:
    """One piece gives workers nothing: no pool, same table in the same order."""
    path = tmp_path / "audit.log"
    path.write_text("\n".join(_chain_log(300)) + "\n")
    serial = pa.Table.from_batches(list(iter_auditd(path, on_error="skip")))
    parallel_read = pa.Table.from_batches(list(iter_auditd(path, jobs=2, on_error="skip")))
    assert parallel_read.equals(serial)


class _InlineExecutor:
    """Runs a task in this process: at submit (``eager``) or when its result is asked."""

    def __init__(self, eager: bool) -> None:
        self.eager = eager

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = _LazyFuture(functools.partial(fn, *args))
        if self.eager:
            future.result()
        return future


class _SubmitNow(parallel._Submitting):
    """Tasks submitted before the parent parses (the real ones go in a thread)."""

    def __init__(self, pool: Any, tasks: Any, group: Any, futures: list[Any]) -> None:
        self.error = None
        for task, party in tasks:
            futures.append(pool.executor.submit(task, party, group))
        self.thread = threading.Thread(target=lambda: None)
        self.thread.start()


class _LazyFuture(Future[Any]):
    def __init__(self, call: Callable[[], Any]) -> None:
        super().__init__()
        self._call = call

    def result(self, timeout: float | None = None) -> Any:
        if not self.done():
            self.set_result(self._call())
        return super().result(timeout)


@pytest.mark.parametrize("worker_first", [True, False])
def test_pieces_taken_from_the_other_share_equal_the_serial_parse(
    monkeypatch: pytest.MonkeyPatch, log_path: Path, small_pieces: None, worker_first: bool
) -> None:
    """A worker done first takes the parent's pieces; a parent done first, the worker's."""
    board = parallel._Board(multiprocessing.get_context("spawn"), 2)
    pool = parallel._Pool(_InlineExecutor(eager=worker_first), board, 1)  # type: ignore[arg-type]

    @contextmanager
    def lease(workers: int) -> Iterator[parallel._Pool]:
        yield pool

    monkeypatch.setattr(parallel, "_lease_pool", lease)
    monkeypatch.setattr(parallel, "_worker_board", board)
    monkeypatch.setattr(parallel, "_Submitting", _SubmitNow)
    taken: dict[int, list[int]] = {0: [], 1: []}
    original = parallel._parse_taken

    def spy(board: parallel._Board, party: int, *args: Any) -> Any:
        done = original(board, party, *args)
        taken[party] += [index for index, _ in done]
        return done

    monkeypatch.setattr(parallel, "_parse_taken", spy)
    _assert_equal_reads(log_path)
    n_pieces = len(parallel._ranges(log_path, 2))
    if worker_first:  # the parent was left its first piece only
        assert taken == {0: [], 1: list(range(n_pieces // 2 - 1, 0, -1))}
    else:  # the worker found nothing left
        assert taken == {0: list(range(n_pieces - 1, n_pieces // 2 - 1, -1)), 1: []}


def test_the_parent_parses_while_the_workers_start(
    monkeypatch: pytest.MonkeyPatch, log_path: Path, small_pieces: None
) -> None:
    """A first submit waits for the fork server (about 0.8 s): the parent parses meanwhile."""
    board = parallel._Board(multiprocessing.get_context("spawn"), 2)
    parsing = threading.Event()
    waited: list[bool] = []

    class _SlowToStart(_InlineExecutor):
        def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
            waited.append(parsing.wait(timeout=30))  # not set if the parent waits for us
            return super().submit(fn, *args)

    pool = parallel._Pool(_SlowToStart(eager=False), board, 1)  # type: ignore[arg-type]

    @contextmanager
    def lease(workers: int) -> Iterator[parallel._Pool]:
        yield pool

    class _Reader(parallel._ShareReader):
        def readinto(self, buffer: memoryview, /) -> int:
            parsing.set()
            return super().readinto(buffer)

    monkeypatch.setattr(parallel, "_lease_pool", lease)
    monkeypatch.setattr(parallel, "_worker_board", board)
    monkeypatch.setattr(parallel, "_ShareReader", _Reader)
    _assert_equal_reads(log_path)
    assert waited and all(waited)


def test_errors_in_a_worker_piece_raise_with_their_line(
    tmp_path: Path, small_pieces: None
) -> None:
    lines = _chain_log(1500, bad_every=0)
    lines[-100] = "garbage in the second half"
    path = tmp_path / "audit.log"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ParseError) as serial:
        list(iter_auditd(path, on_error="raise"))
    before = _shared_files()
    with pytest.raises(ParseError) as shared:
        list(iter_auditd(path, on_error="raise", jobs=2))
    assert (shared.value.file, shared.value.line) == (serial.value.file, serial.value.line)
    assert shared.value.line == len(lines) - 99
    assert _shared_files() <= before
    _assert_equal_reads(path)  # the kept pool still works after the error


def test_a_second_call_while_the_pool_is_busy_gets_its_own(
    log_path: Path, small_pieces: None
) -> None:
    serial, _ = _read(log_path)
    first = iter_auditd(log_path, jobs=2, on_error="skip", provenance=True)
    head = next(first)  # the kept pool is held until this read ends
    assert parallel._shared is not None and parallel._shared.busy.locked()
    second, _ = _read(log_path, jobs=2, on_error="skip")
    assert second.equals(serial)
    rest = pa.Table.from_batches([head, *first]).sort_by(ORDER)
    assert rest.equals(serial)
    assert not parallel._shared.busy.locked()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_parses_with_its_own_workers(log_path: Path, small_pieces: None) -> None:
    expected, _ = _read(log_path, jobs=2)  # the parent's pool and fork server run
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        code = 1
        try:
            code = 0 if _read(log_path, jobs=2)[0].equals(expected) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    again, _ = _read(log_path, jobs=2)
    assert again.equals(expected)


def test_a_dead_worker_fails_the_call_and_the_next_call_starts_anew(
    log_path: Path, small_pieces: None
) -> None:
    expected, _ = _read(log_path, jobs=2)
    pool = parallel._shared
    assert pool is not None
    for process in list(pool.executor._processes.values()):  # as if the OOM killer struck
        process.kill()
        process.join()
    before = _shared_files()
    with pytest.raises(BrokenProcessPool):
        _read(log_path, jobs=2)
    assert pool.broken
    assert _shared_files() <= before
    again, _ = _read(log_path, jobs=2)
    assert again.equals(expected)
    assert parallel._shared is not pool


# --- ranges, shared-memory results (moved from test_auditd_fast.py) ------------------


def _small_ranges(monkeypatch: pytest.MonkeyPatch, max_bytes: int) -> Any:
    """Split files into ranges of 10 kB to ``max_bytes``: several ranges on small logs."""
    original = parallel._ranges

    def small_ranges(part: Path, jobs: int) -> list[tuple[int, int]]:
        return original(part, jobs, min_bytes=10_000, max_bytes=max_bytes)

    monkeypatch.setattr(parallel, "_ranges", small_ranges)
    return small_ranges


@pytest.mark.parametrize("max_bytes", [1 << 30, 40_000])
def test_parallel_ranges_equal_the_serial_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, max_bytes: int
) -> None:
    """Several ranges (more than workers, too): same events, parents and accounting."""
    lines = _chain_log(1500, start=1000)
    path = tmp_path / "audit.log"
    path.write_text("\n".join(lines) + "\n")
    second = tmp_path / "audit.log.1"  # the older, rotated part: read first, as one stream
    older = _chain_log(300)
    second.write_text("\n".join(older) + "\n")
    small_ranges = _small_ranges(monkeypatch, max_bytes)
    assert len(small_ranges(path, 2)) >= 2
    serial_report, parallel_report = ParseReport(), ParseReport()
    kwargs = {"on_error": "skip", "provenance": True, "chunk_bytes": 1 << 14}
    serial = pa.Table.from_batches(
        list(iter_auditd([second, path], report=serial_report, **kwargs))  # type: ignore[arg-type]
    )
    parallel_read = pa.Table.from_batches(
        list(iter_auditd([second, path], jobs=2, report=parallel_report, **kwargs))  # type: ignore[arg-type]
    )
    order = [("source_file", "ascending"), ("source_line", "ascending")]
    assert parallel_read.sort_by(order).equals(serial.sort_by(order))
    assert parallel_report.lines_read == serial_report.lines_read == len(lines) + len(older)
    assert parallel_report.lines_reported == serial_report.lines_reported == 36
    assert parallel_report.records == serial_report.records
    assert parallel_read.column("parent_exe").null_count == serial.column("parent_exe").null_count
    assert (
        not list(Path(transfer._SHM_DIR).glob("behavemodel-*"))
        if Path(transfer._SHM_DIR).is_dir()
        else True
    )


def test_share_reader_takes_the_next_piece_before_a_read_crosses_into_it(
    tmp_path: Path,
) -> None:
    data = bytes(range(256)) * 4
    path = tmp_path / "bytes"
    path.write_bytes(data)
    pieces = [(0, 100), (100, 300), (300, 1024)]
    given = iter([1])  # the share: pieces 0 and 1; piece 2 is someone else's
    with open(path, "rb") as fh:
        reader = parallel._ShareReader(fh, pieces, 0, lambda: next(given, None))
        assert reader.peek(1)[:1] == data[:1]
        buffer = bytearray(150)
        assert reader.readinto(memoryview(buffer)) == 150  # took piece 1 first
        assert bytes(buffer) == data[:150]
        rest = bytearray(500)
        assert reader.readinto(memoryview(rest)) == 150  # the share ends: piece 2 is not taken
        assert bytes(rest[:150]) == data[150:300]
        assert reader.tell() == 300
        assert reader.peek(1) == b""
        assert reader.readinto(memoryview(buffer)) == 0


def test_pieces_parsed_in_reused_memory_equal_fresh_parses(log_path: Path) -> None:
    """One process reuses its block memory from piece to piece: nothing it returns refers to it."""
    from behavemodel.io._auditd import _Buffers
    from behavemodel.io._auditd_chunk import ParseOptions

    pieces = parallel._ranges(log_path, 2, min_bytes=10_000)
    assert len(pieces) >= 4
    chunk = 1 << 14
    name = str(log_path)
    group = parallel._Group(
        name, pieces, [None] * len(pieces), ParseOptions(provenance=True), chunk, name, None
    )
    buffers = _Buffers(chunk)

    def parse(i: int, buffers: _Buffers | None) -> parallel._RangeResult:
        return group.parse_piece(i, buffers or _Buffers(chunk))

    reused = [parse(i, buffers) for i in range(len(pieces))]  # all before any is compared
    for i, got in enumerate(reused):
        expected = parse(i, None)
        assert isinstance(got.table, pa.Table) and isinstance(expected.table, pa.Table)
        assert got.table.equals(expected.table)
        assert got.lines == expected.lines
        assert got.missing.tolist() == expected.missing.tolist()
        for mine, theirs in ((got.head, expected.head), (got.tail, expected.tail)):
            assert (mine is None) == (theirs is None)
            if mine is not None and theirs is not None:
                assert type(mine.data) is bytes
                assert mine.data == theirs.data
                assert mine.line_no.tolist() == theirs.line_no.tolist()
    assert any(r.head is not None for r in reused[1:])
    assert any(r.tail is not None for r in reused)


def test_parallel_error_leaves_no_shared_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Results of the ranges after a failing one are discarded, not left in /dev/shm."""
    path = tmp_path / "audit.log"
    path.write_text("\n".join(_chain_log(1500)) + "\n")
    _small_ranges(monkeypatch, 30_000)
    shared = Path(transfer._SHM_DIR)
    before = set(shared.glob("behavemodel-*")) if shared.is_dir() else set()
    with pytest.raises(Exception, match="no audit record header"):
        list(iter_auditd(path, jobs=2, on_error="raise"))
    after = set(shared.glob("behavemodel-*")) if shared.is_dir() else set()
    assert after <= before


def test_files_of_a_killed_parent_are_removed_by_the_next_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL leaves no chance to clean up: the next parallel parse sweeps the files."""
    import subprocess
    import sys

    shared = tmp_path / "shm"
    shared.mkdir()
    monkeypatch.setattr(transfer, "_SHM_DIR", str(shared))
    monkeypatch.setattr(transfer, "_swept", False)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid = int(gone.stdout)
    stale = shared / f"behavemodel-{dead_pid}-abc.arrows"
    stale.write_bytes(b"left by a killed parent")
    unrelated = shared / "other-program.arrows"
    unrelated.write_bytes(b"")
    path = tmp_path / "audit.log"
    path.write_text("\n".join(_chain_log(1500)) + "\n")
    _small_ranges(monkeypatch, 30_000)
    table = pa.Table.from_batches(list(iter_auditd(path, jobs=2, on_error="skip")))
    assert table.num_rows > 0
    assert not stale.exists()
    assert unrelated.exists()
    assert sorted(p.name for p in shared.iterdir()) == ["other-program.arrows"]
