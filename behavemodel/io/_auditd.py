"""Read raw Linux audit logs into the canonical event table.

Public entry points: :func:`read_auditd` (a pandas DataFrame) and
:func:`iter_auditd` (pyarrow record batches in bounded memory), plus
:class:`ParseReport`, which accounts for every line read.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

import numpy as np
import pandas as pd
import pyarrow as pa

from behavemodel import schema as s
from behavemodel.exceptions import ParseError
from behavemodel.io._auditd_chunk import (
    BadLine,
    ChunkResult,
    LineBlock,
    ParseOptions,
    parse_block,
)
from behavemodel.io._auditd_front import BlockData, scanner_available
from behavemodel.io._auditd_history import ProcessHistory as _ProcessHistory
from behavemodel.io._sources import Source, Stream, open_input, resolve_streams

__all__ = ["AuditdParser", "ParseReport", "iter_auditd", "read_auditd"]

OnError = Literal["raise", "skip", "collect"]
_ON_ERROR = ("raise", "skip", "collect")
Engine = Literal["auto", "scan", "regex"]
_ENGINES = ("auto", "scan", "regex")
DEFAULT_CHUNK_BYTES = 8 << 20
ERROR_COLUMNS = ("file", "line", "reason", "text")


@dataclass
class ParseReport:
    """Accounts for every line a reader saw.

    ``lines_read == lines_used + lines_reported`` always holds, where used lines
    are the records that went into events plus blank and ``#`` comment lines.

    Attributes
    ----------
    lines_read : int
        Lines read from all inputs.
    records : int
        Audit records that went into events.
    blank_lines, comment_lines : int
        Lines counted but not parsed.
    lines_reported : int
        Lines that could not be used (kept in ``errors`` when collecting).
    events : int
        Events emitted.
    errors : list of BadLine
        The reported lines with file, line number and reason (only with
        ``on_error="collect"``).

    Examples
    --------
    >>> import io
    >>> from behavemodel.io import iter_auditd
    >>> log = io.BytesIO(b"type=EOE msg=audit(1.000:1): \\n# note\\ngarbage\\n")
    >>> report = ParseReport()
    >>> _ = list(iter_auditd(log, on_error="collect", report=report))
    >>> report.lines_read, report.records, report.comment_lines, report.lines_reported
    (3, 1, 1, 1)
    >>> report.errors[0].reason
    'no audit record header'
    """

    lines_read: int = 0
    records: int = 0
    blank_lines: int = 0
    comment_lines: int = 0
    lines_reported: int = 0
    events: int = 0
    files: list[str] = field(default_factory=list)
    errors: list[BadLine] = field(default_factory=list)

    @property
    def lines_used(self) -> int:
        """Records plus blank and comment lines."""
        return self.records + self.blank_lines + self.comment_lines

    def errors_frame(self) -> pd.DataFrame:
        """The collected bad lines as a DataFrame (file, line, reason, text)."""
        return pd.DataFrame(
            {
                "file": pd.array([e.file for e in self.errors], dtype="string"),
                "line": pd.array([e.line for e in self.errors], dtype="int64"),
                "reason": pd.array([e.reason for e in self.errors], dtype="string"),
                "text": pd.array([e.text for e in self.errors], dtype="string"),
            }
        )

    def _absorb(self, result: ChunkResult, on_error: OnError) -> None:
        self.records += result.records
        self.blank_lines += result.blank_lines
        self.comment_lines += result.comment_lines
        if result.errors:
            if on_error == "raise":
                first = result.errors[0]
                raise ParseError(first.reason, file=first.file, line=first.line, text=first.text)
            self.lines_reported += len(result.errors)
            if on_error == "collect":
                self.errors.extend(result.errors)


def _check_on_error(on_error: str) -> None:
    if on_error not in _ON_ERROR:
        raise ValueError(
            f"The 'on_error' parameter must be one of {list(_ON_ERROR)}. Got {on_error!r} instead."
        )


def iter_auditd(
    source: Source | Sequence[Source],
    *,
    host: str | None = None,
    batch_size: int = 65_536,
    on_error: OnError = "raise",
    users: Mapping[int, str] | None = None,
    window: float = 2.0,
    jobs: int = 1,
    provenance: bool = False,
    report: ParseReport | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    engine: Engine = "auto",
) -> Iterator[pa.RecordBatch]:
    """Stream canonical events from raw audit logs as Arrow record batches.

    Memory stays flat in the size of the input: logs are read in blocks of
    ``chunk_bytes``, and only events still open at a block's end are carried.

    Parameters
    ----------
    source : path, directory, open binary file, "-" or a list of these
        Rotated files of one log (``audit.log.2``, ``audit.log.1``,
        ``audit.log``) are read oldest first as one stream; a directory is read
        recursively; gzip files are recognised by their magic bytes.
    host : str, optional
        Host name for records without ``node=``. Never taken from the machine
        running the parser.
    batch_size : int, default 65536
        Largest number of rows per batch.
    on_error : {"raise", "skip", "collect"}, default "raise"
        ``raise`` stops at the first unusable line with a :class:`ParseError`
        naming file and line; ``skip`` counts such lines in ``report``;
        ``collect`` also keeps them in ``report.errors``.
    users : mapping of int to str, optional
        uid -> user name, used where the log has no ENRICHED names. The
        parsing machine's own user database is never consulted.
    window : float, default 2.0
        Seconds of event time after which an event without a closing record
        (auditd writes no EOE to disk) is considered complete.
    jobs : int, default 1
        Processes that parse large uncompressed files, this one included
        (``jobs - 1`` workers): files are cut at line boundaries into pieces,
        events at the seams stitched back together. The workers are kept for
        the next call for ``_auditd_parallel.WORKER_IDLE_SECONDS`` (60 s), then
        stopped. Files smaller than about 8 MB are read by this process alone.
    provenance : bool, default False
        Add ``source_file`` and ``source_line`` columns (the event's first
        record) after the canonical columns.
    report : ParseReport, optional
        Filled with line accounting and, when collecting, the bad lines.
    chunk_bytes : int
        Bytes read per block.
    engine : {"auto", "scan", "regex"}, default "auto"
        ``scan`` is the compiled byte scanner (needs numba, installed with
        ``behavemodel[fast]``); ``regex`` is pure Python (about 4x slower);
        ``auto`` uses the scanner when numba is importable. Both give the same
        table.

    Yields
    ------
    pyarrow.RecordBatch
        Rows conforming to :data:`behavemodel.schema.CANONICAL_SCHEMA`.

    Examples
    --------
    >>> import io
    >>> log = io.BytesIO(
    ...     b'type=SYSCALL msg=audit(1700000000.123:7): arch=c000003e syscall=42 '
    ...     b'success=yes exit=0 a0=3 a1=7ffd a2=10 a3=0 items=0 ppid=1 pid=812 '
    ...     b'auid=4294967295 uid=33 gid=33 euid=33 suid=33 fsuid=33 egid=33 sgid=33 '
    ...     b'fsgid=33 tty=(none) ses=4294967295 comm="curl" exe="/usr/bin/curl" key=(null)\\n'
    ...     b'type=SOCKADDR msg=audit(1700000000.123:7): saddr=020001BBC0A80001'
    ...     b'0000000000000000\\n')
    >>> batch = next(iter_auditd(log, host="web-1"))
    >>> row = batch.to_pylist()[0]
    >>> row["event_type"], row["process_exe"], row["dst_ip"], row["dst_port"], row["login_uid"]
    ('net_connect', '/usr/bin/curl', '192.168.0.1', 443, None)
    >>> row["event_id"]
    'web-1:1700000000.123:7'
    """
    _check_on_error(on_error)
    if batch_size < 1:
        raise ValueError(
            f"The 'batch_size' parameter must be a positive integer. Got {batch_size}."
        )
    if jobs < 1:
        raise ValueError(f"The 'jobs' parameter must be a positive integer. Got {jobs}.")
    report = report if report is not None else ParseReport()
    if engine not in _ENGINES:
        raise ValueError(
            f"The 'engine' parameter must be one of {list(_ENGINES)}. Got {engine!r} instead."
        )
    options = ParseOptions(
        host=host, window=window, users=users, provenance=provenance, engine=engine
    )
    from behavemodel.io import _auditd_parallel  # imports this module

    for stream in resolve_streams(source):
        history = _ProcessHistory(stream.name)
        if jobs > 1 and _auditd_parallel._splittable(stream):
            tables = _auditd_parallel._parse_stream_parallel(
                stream, options, jobs, report, on_error, chunk_bytes, history
            )
        else:
            serial = _parse_stream(stream, options, report, on_error, chunk_bytes)
            tables = (history.apply(table) for table in serial)
        for table in tables:
            report.events += table.num_rows
            yield from table.to_batches(max_chunksize=batch_size)


def read_auditd(
    source: Source | Sequence[Source],
    *,
    host: str | None = None,
    on_error: OnError = "raise",
    users: Mapping[int, str] | None = None,
    window: float = 2.0,
    jobs: int = 1,
    provenance: bool = False,
    report: ParseReport | None = None,
    engine: Engine = "auto",
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Read raw Linux audit logs into a canonical events DataFrame.

    Parameters are those of :func:`iter_auditd`. Columns use Arrow-backed
    dtypes (categoricals for the low-cardinality ones).

    Returns
    -------
    pandas.DataFrame
        One row per event, in log order (the order of each event's first
        record; an event still waiting for records when a block of input ends
        comes out with the next block).
    (pandas.DataFrame, pandas.DataFrame)
        With ``on_error="collect"``: the events and the bad lines
        (file, line, reason, text).

    Examples
    --------
    >>> import io
    >>> log = io.BytesIO(
    ...     b'node=web-1 type=SYSCALL msg=audit(1700000000.5:9): arch=c000003e syscall=59 '
    ...     b'success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=2 ppid=100 pid=101 auid=1000 '
    ...     b'uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=4 '
    ...     b'comm="id" exe="/usr/bin/id" key=(null)\\n'
    ...     b'node=web-1 type=EXECVE msg=audit(1700000000.5:9): argc=2 a0="id" a1="-u"\\n'
    ...     b'oops\\n')
    >>> events, errors = read_auditd(log, on_error="collect", users={1000: "alice"})
    >>> events[["event_type", "process_exe", "process_cmdline", "login_name"]]
          event_type process_exe process_cmdline login_name
    0  process_start /usr/bin/id           id -u      alice
    >>> errors[["line", "reason"]]
       line                   reason
    0     3  no audit record header
    """
    _check_on_error(on_error)
    report = report if report is not None else ParseReport()
    batches = list(
        iter_auditd(
            source,
            host=host,
            on_error=on_error,
            users=users,
            window=window,
            jobs=jobs,
            provenance=provenance,
            report=report,
            engine=engine,
        )
    )
    if batches:
        table = pa.Table.from_batches(batches).unify_dictionaries()
    else:
        table = s.empty_table()
    events = s.to_pandas(table)
    if on_error == "collect":
        return events, report.errors_frame()
    return events


# --- incremental parsing ----------------------------------------------------------


class AuditdParser:
    """Parse an audit log that arrives piece by piece (a followed file, a socket).

    :meth:`feed` takes any bytes (lines may be cut anywhere) and returns the
    events completed so far; :meth:`flush` ends the input. Events still waiting
    for records and the process history live in the parser, and
    :meth:`checkpoint` / :meth:`restore` save and restore them as plain JSON
    data, so a restarted reader continues exactly where it stopped.

    Parameters
    ----------
    host, users, window, engine
        As in :func:`iter_auditd`.
    on_error : {"skip", "collect", "raise"}, default "skip"
        A long-running reader usually reports bad lines and goes on.
    name : str
        Shown as the file name of reported lines.
    max_processes : int, default 65536
        Processes remembered for parent_exe; the least recently seen are
        forgotten first, so memory stays bounded over days of input.

    Examples
    --------
    >>> parser = AuditdParser(host="web-1")
    >>> line = (b'type=SYSCALL msg=audit(1700000000.1:7): arch=c000003e syscall=42 '
    ...         b'success=yes exit=0 a0=3 a1=0 a2=10 a3=0 items=0 ppid=1 pid=9 auid=0 '
    ...         b'uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) '
    ...         b'ses=1 comm="nc" exe="/usr/bin/nc" key=(null)\\n')
    >>> parser.feed(line[:50]) is None  # half a line: nothing yet
    True
    >>> parser.feed(line[50:]) is None  # complete, but may still get records
    True
    >>> parser.flush().column("process_exe").to_pylist()
    ['/usr/bin/nc']
    """

    def __init__(
        self,
        *,
        host: str | None = None,
        users: Mapping[int, str] | None = None,
        window: float = 2.0,
        engine: Engine = "auto",
        on_error: OnError = "skip",
        name: str = "<stream>",
        max_processes: int = 65_536,
    ) -> None:
        _check_on_error(on_error)
        self.options = ParseOptions(host=host, window=window, users=users, engine=engine)
        self.on_error: OnError = on_error
        self.report = ParseReport(files=[name])
        self._files = [name]
        self._partial = b""
        self._line = 1
        self._carry: LineBlock | None = None
        self._history = _ProcessHistory(name, max_processes=max_processes)

    def feed(self, data: bytes) -> pa.Table | None:
        """Add bytes; return the events they completed (or None)."""
        data = self._partial + data
        cut = data.rfind(b"\n")
        if cut < 0:
            self._partial = data
            return None
        self._partial = data[cut + 1 :]
        return self._parse(data[:cut], final=False)

    def flush(self) -> pa.Table | None:
        """End of input: return every remaining event, complete or not."""
        data, self._partial = self._partial, b""
        if data:
            return self._parse(data, final=True)
        if self._carry is not None and self._carry.n_lines:
            block, self._carry = self._carry, None
            return self._finish(parse_block(block, final=True, options=self.options))
        return None

    def _parse(self, data: bytes, *, final: bool) -> pa.Table | None:
        block = _lines_block(data, 0, self._line, self._files)
        self._line += block.n_lines
        self.report.lines_read += block.n_lines
        result = parse_block(_join(self._carry, block), final=final, options=self.options)
        self._carry = result.carry
        return self._finish(result)

    def _finish(self, result: ChunkResult) -> pa.Table | None:
        self.report._absorb(result, self.on_error)
        if result.table is None or result.table.num_rows == 0:
            return None
        table = self._history.apply(result.table)
        self.report.events += table.num_rows
        return table

    @property
    def pending_lines(self) -> int:
        """Lines held for events that are not complete yet (plus a cut line)."""
        return (self._carry.n_lines if self._carry is not None else 0) + bool(self._partial)

    def checkpoint(self) -> dict[str, Any]:
        """The parser's state as JSON-able data (see :meth:`restore`)."""
        carry = self._carry
        return {
            "version": 1,
            "partial": self._partial.decode("latin-1"),
            "line": self._line,
            "carry": None if carry is None else carry.data.decode("latin-1"),
            "carry_lines": None if carry is None else carry.line_no.tolist(),
            "processes": [list(row) for row in self._history.export_state()],
        }

    def restore(self, state: Mapping[str, Any]) -> AuditdParser:
        """Continue from a :meth:`checkpoint` (returns self)."""
        if state.get("version") != 1:
            raise ValueError(
                f"Cannot restore an AuditdParser checkpoint of version {state.get('version')!r};"
                " this version reads version 1."
            )
        self._partial = str(state["partial"]).encode("latin-1")
        self._line = int(state["line"])
        if state.get("carry") is not None:
            lines = np.asarray(state["carry_lines"], dtype=np.int64)
            self._carry = LineBlock(
                data=str(state["carry"]).encode("latin-1"),
                line_file=np.zeros(len(lines), np.int32),
                line_no=lines,
                files=self._files,
            )
        self._history.merge_state(
            [(row[0], int(row[1]), row[2], row[3]) for row in state.get("processes", [])]
        )
        return self


# --- serial parsing ---------------------------------------------------------------


def _count_lines(data: bytes) -> int:
    if len(data) > 1 << 16 and scanner_available():
        from behavemodel.io import _auditd_scan

        return int(_auditd_scan.count_newlines(np.frombuffer(data, np.uint8))) + 1
    return data.count(b"\n") + 1


def _lines_block(data: bytes, file_id: int, first_line: int, files: list[str]) -> LineBlock:
    n = _count_lines(data)
    return LineBlock(
        data=data,
        line_file=np.full(n, file_id, np.int32),
        line_no=np.arange(first_line, first_line + n, dtype=np.int64),
        files=files,
    )


def _join(carry: LineBlock | None, block: LineBlock) -> LineBlock:
    if carry is None or carry.n_lines == 0:
        return block
    line_file, line_no = _after_carry(carry, block.line_file, block.line_no)
    return LineBlock(b"".join((carry.data, b"\n", block.data)), line_file, line_no, block.files)


def _after_carry(
    carry: LineBlock | None, line_file: np.ndarray, line_no: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The numbering of a block's lines with the ``carry`` lines in front."""
    if carry is None or carry.n_lines == 0:
        return line_file, line_no
    return np.concatenate([carry.line_file, line_file]), np.concatenate([carry.line_no, line_no])


@dataclass
class _ReadLines:
    """Complete lines just read from one file, not yet copied into one ``bytes``.

    The lines are ``head`` (the end of a line cut by the previous read, without
    a newline) followed by ``body[:cut]``; ``ends`` is where each line ends in
    ``body`` when the compiled scanner found them. They are copied once,
    together with the lines carried from the previous block, by :meth:`block`.
    """

    head: bytes
    body: BlockData
    cut: int
    ends: np.ndarray | None
    file_id: int
    first_line: int
    n_lines: int
    files: list[str]

    def block(self, carry: LineBlock | None = None) -> LineBlock:
        """The lines as a :class:`LineBlock`, after the ``carry`` lines if any."""
        parts, line_file, line_no, ends = self._layout(carry)
        data = b"".join([*parts, memoryview(self.body)[: self.cut]])
        return LineBlock(data, line_file, line_no, self.files, ends)

    def block_into(self, carry: LineBlock | None, buffers: _Buffers) -> LineBlock:
        """Like :meth:`block`, the text copied into ``buffers``' reused block buffer.

        The block's ``data`` is then that ``bytearray``: it is valid until the
        next call, which is enough for :func:`parse_block`, whose results never
        refer to it (carried lines and values are copied out as ``bytes``).
        """
        parts, line_file, line_no, ends = self._layout(carry)
        data = buffers.fill(parts, self.body, self.cut)
        # The reused buffer stands in for bytes: nothing downstream keeps or changes it.
        return LineBlock(cast(bytes, data), line_file, line_no, self.files, ends)

    def _layout(
        self, carry: LineBlock | None
    ) -> tuple[list[BlockData], np.ndarray, np.ndarray, np.ndarray | None]:
        """What comes before ``body[:cut]`` in the block, and the block's line numbering."""
        line_file = np.full(self.n_lines, self.file_id, np.int32)
        line_no = np.arange(self.first_line, self.first_line + self.n_lines, dtype=np.int64)
        line_file, line_no = _after_carry(carry, line_file, line_no)
        ends = None if self.ends is None else self.ends + len(self.head)
        if ends is not None and carry is not None and carry.n_lines:
            ends = np.concatenate(
                [_line_ends(carry.data, carry.n_lines), ends + len(carry.data) + 1]
            )
        return _prefix(carry, self.head), line_file, line_no, ends


class _Buffers:
    """Memory the serial reader reuses: two read buffers taken in turn, and the block.

    Reading into warm memory instead of a new ``bytes`` per read and per block
    saves the page faults of fresh memory, about as much as the copies cost.
    A read buffer is reused only after the next read's lines were handed out,
    so the lines of one read stay valid while the next one is read ahead.
    Read buffers are made on first use: an input of one read never needs them.
    """

    def __init__(self, chunk_bytes: int) -> None:
        self.chunk_bytes = chunk_bytes
        self.reads: list[bytearray | None] = [None, None]
        self.turn = 0
        self.block = bytearray()

    def read_buffer(self) -> bytearray:
        """The read buffer whose lines were handed out longest ago."""
        buf = self.reads[self.turn]
        if buf is None:
            buf = self.reads[self.turn] = bytearray(self.chunk_bytes)
        return buf

    def handed_out(self) -> None:
        """The current read buffer's lines were handed out: read into the other next."""
        self.turn ^= 1

    def sized(self, size: int) -> bytearray:
        """The block buffer, made ``size`` bytes long (its memory kept when it shrinks)."""
        block = self.block
        try:
            if len(block) > size:
                del block[size:]
            elif len(block) < size:
                block.extend(bytes(size - len(block)))
        except BufferError:  # still exported somewhere (never in this module): start anew
            block = self.block = bytearray(size)
        return block

    def fill(self, parts: list[BlockData], body: BlockData, cut: int) -> bytearray:
        """The block buffer holding ``parts`` then ``body[:cut]``, and nothing more."""
        block = self.sized(sum(len(p) for p in parts) + cut)
        with memoryview(block) as out, memoryview(body) as src:
            pos = _put(out, parts)
            out[pos:] = src[:cut]
        return block


def _put(out: memoryview, parts: list[BlockData]) -> int:
    """Copy ``parts`` one after the other to the start of ``out``; return where they end."""
    pos = 0
    for part in parts:
        out[pos : pos + len(part)] = part
        pos += len(part)
    return pos


def _line_ends(buf: BlockData, n_lines: int, end: int | None = None) -> np.ndarray:
    """Where each line of ``buf[:end]`` ends (compiled scanner only)."""
    from behavemodel.io import _auditd_scan

    view = np.frombuffer(buf, np.uint8, count=len(buf) if end is None else end)
    view.flags.writeable = False  # one compiled variant for bytes and bytearray
    return _auditd_scan.line_ends(view, n_lines)  # type: ignore[no-any-return]


def _lines_in(buf: BlockData, end: int) -> tuple[int, np.ndarray | None]:
    """How many lines ``buf[:end]`` holds, and where they end when found compiled.

    Large blocks are scanned by the compiled scanner, whose line ends the
    parse then reuses; small ones are counted.
    """
    if end > 1 << 16 and scanner_available():
        ends = _line_ends(buf, 0, end)
        return len(ends), ends
    return buf.count(b"\n", 0, end) + 1, None


def _read_lines(
    head: bytes, body: BlockData, cut: int, file_id: int, first_line: int, files: list[str]
) -> _ReadLines:
    """``head`` + ``body[:cut]`` as :class:`_ReadLines` (``head`` holds no newline)."""
    n_lines, ends = _lines_in(body, cut)
    return _ReadLines(head, body, cut, ends, file_id, first_line, n_lines, files)


def _readinto(fh: Any, view: memoryview) -> int:
    """Fill ``view`` as ``fh.read(len(view))`` would (same bytes); return how many."""
    if isinstance(fh, io.BufferedReader):  # reads until full or at the end, like read
        return fh.readinto(view) or 0
    data = fh.read(len(view))
    if not data:
        return 0
    view[: len(data)] = data
    return len(data)


def _iter_reads(
    fh: Any,
    file_id: int,
    files: list[str],
    chunk_bytes: int,
    start_line: int = 1,
    buffers: _Buffers | None = None,
) -> Iterator[_ReadLines]:
    """Complete lines of one open file, a read of ``chunk_bytes`` at a time.

    With ``buffers``, reads go into its reused read buffers (the same lines,
    fewer copies): a yielded read then refers to its buffer, valid until the
    next read is yielded. Reads are plain ones until one fills ``chunk_bytes``:
    a small input (read once, then found at its end) never makes the reused
    buffers, whose zeroing would cost it more than they save.
    """
    remainder = b""
    line = start_line
    plain = True
    while True:
        buf: BlockData
        if plain or buffers is None:
            buf = fh.read(chunk_bytes) or b""
            n = len(buf)
            plain = n < chunk_bytes
        else:
            buf = buffers.read_buffer()
            with memoryview(buf) as view:
                n = _readinto(fh, view[:chunk_bytes])
        if not n:
            break
        cut = buf.rfind(b"\n", 0, n)
        if cut < 0:  # no line ends here: the same buffer takes the next read
            remainder += buf[:n]
            continue
        lines = _read_lines(remainder, buf, cut, file_id, line, files)
        with memoryview(buf) as view:
            remainder = view[cut + 1 : n].tobytes()
        if buffers is not None:
            buffers.handed_out()
        yield lines
        line += lines.n_lines
    if remainder:
        yield _read_lines(b"", remainder, len(remainder), file_id, line, files)


def _open_parts(
    stream: Stream, report: ParseReport, files: list[str]
) -> Generator[Any, None, None]:
    """Each part of a stream opened in turn (closed when the next is asked for).

    The name of each part goes to ``files`` (its file id is its position) and
    to the report's files as the part is opened.
    """
    for part in stream.parts:
        with open_input(part) as (name, fh):
            files.append(name)
            report.files.append(name)
            yield fh


def _stream_blocks(
    stream: Stream,
    report: ParseReport,
    chunk_bytes: int,
    buffers: _Buffers,
    opened: tuple[Iterator[Any], list[str]] | None = None,
) -> Iterator[tuple[_ReadLines, bool]]:
    """Reads of every part of a stream, each with whether it is the stream's last.

    ``opened`` gives the parts already being opened (see :func:`_open_parts`)
    with their list of names.
    """
    files: list[str] = []
    parts = _open_parts(stream, report, files) if opened is None else opened[0]
    files = files if opened is None else opened[1]
    pending: _ReadLines | None = None
    for fh in parts:
        for lines in _iter_reads(fh, len(files) - 1, files, chunk_bytes, buffers=buffers):
            if pending is not None:
                yield pending, False
            pending = lines
    if pending is not None:
        yield pending, True


@dataclass
class _Held:
    """The lines the parse carries from one block into the next (set between blocks)."""

    carry: LineBlock | None = None


def _serial_blocks(
    stream: Stream, report: ParseReport, chunk_bytes: int, held: _Held
) -> Iterator[tuple[LineBlock, int, bool]]:
    """The blocks of a stream: (block, lines read for it, whether it is the last).

    Each block starts with ``held.carry`` as set after the previous block was
    parsed. A block's text is a reused buffer, valid until the next block.
    """
    buffers = _Buffers(chunk_bytes)
    files: list[str] = []
    opened = _open_parts(stream, report, files)
    try:
        parts: Iterator[Any] = opened
        if len(stream.parts) == 1:  # a plain file (the usual case) is read directly
            fh = next(opened)
            if isinstance(fh, io.BufferedReader):
                yield from _direct_blocks(fh, files, chunk_bytes, buffers, held)
                return
            parts = itertools.chain([fh], opened)
        reads = _stream_blocks(stream, report, chunk_bytes, buffers, (parts, files))
        for lines, last in reads:
            yield lines.block_into(held.carry, buffers), lines.n_lines, last
    finally:
        opened.close()  # the open part, if any, is closed at once


class _DirectReader(Protocol):
    """What :func:`_direct_blocks` reads from: a buffered file, or a share of one."""

    def readinto(self, buffer: memoryview, /) -> int | None: ...  # until full or at the end

    def peek(self, size: int = 0, /) -> bytes: ...


def _direct_blocks(
    fh: _DirectReader,
    files: list[str],
    chunk_bytes: int,
    buffers: _Buffers,
    held: _Held,
    *,
    file_id: int = 0,
    first_line: int = 1,
) -> Iterator[tuple[LineBlock, int, bool]]:
    """The blocks of one buffered file, each read straight after its carried lines.

    The same blocks as :func:`_stream_blocks` then :meth:`_ReadLines.block_into`
    (a read of ``chunk_bytes`` each, cut after its last newline), without the
    copy from a read buffer: whether a block is the last is seen by peeking at
    the file (a read of nothing more), not by reading the next block ahead.
    The lines are numbered from ``first_line`` in file ``file_id`` of ``files``.
    """
    head = b""  # the end of a line cut by the previous read
    line = first_line
    while True:
        prefix = _prefix(held.carry, head)
        start = sum(len(p) for p in prefix)
        block = buffers.sized(start + chunk_bytes)
        with memoryview(block) as view:
            _put(view, prefix)
            n = fh.readinto(view[start:]) or 0
        if not n:
            break
        cut = block.rfind(b"\n", start, start + n)
        with memoryview(block) as view:
            if cut < 0:  # no line ends in this read: all of it joins the cut line
                head += view[start : start + n].tobytes()
                continue
            head = view[cut + 1 : start + n].tobytes()
        del block[cut:]
        lines = _block_of_buffer(block, held.carry, line, files, file_id)
        n_read = lines.n_lines - _n_lines(held.carry)
        yield lines, n_read, not head and not fh.peek(1)
        line += n_read
    if head:  # a last line without a newline: a block of its own, as in _iter_reads
        prefix = _prefix(held.carry, head)
        block = buffers.sized(sum(len(p) for p in prefix))
        with memoryview(block) as view:
            _put(view, prefix)
        lines = _block_of_buffer(block, held.carry, line, files, file_id)
        yield lines, lines.n_lines - _n_lines(held.carry), True


def _n_lines(carry: LineBlock | None) -> int:
    return 0 if carry is None else carry.n_lines


def _prefix(carry: LineBlock | None, head: bytes) -> list[BlockData]:
    """What comes before a read's bytes in its block: the carried lines, the cut line."""
    return [carry.data, b"\n", head] if carry is not None and carry.n_lines else [head]


def _block_of_buffer(
    block: bytearray, carry: LineBlock | None, first_line: int, files: list[str], file_id: int
) -> LineBlock:
    """``block``, the carried lines then lines of ``file_id`` from ``first_line``."""
    n_lines, ends = _lines_in(block, len(block))
    n_read = n_lines - _n_lines(carry)
    line_file, line_no = _after_carry(
        carry,
        np.full(n_read, file_id, np.int32),
        np.arange(first_line, first_line + n_read, dtype=np.int64),
    )
    # The reused buffer stands in for bytes: nothing downstream keeps or changes it.
    return LineBlock(cast(bytes, block), line_file, line_no, files, ends)


def _parse_stream(
    stream: Stream,
    options: ParseOptions,
    report: ParseReport,
    on_error: OnError,
    chunk_bytes: int,
) -> Iterator[pa.Table]:
    """Serial parse; the last block is parsed as final so small logs keep log order."""
    held = _Held()
    for block, n_read, last in _serial_blocks(stream, report, chunk_bytes, held):
        report.lines_read += n_read
        result = parse_block(block, final=last, options=options)
        held.carry = result.carry
        report._absorb(result, on_error)
        if result.table is not None:
            yield result.table
    carry = held.carry
    if carry is not None and carry.n_lines:  # pragma: no cover - final blocks carry nothing
        result = parse_block(carry, final=True, options=options)
        report._absorb(result, on_error)
        if result.table is not None:
            yield result.table
