"""The live monitor: follow a log, parse, score, emit one JSON line per deviation.

One loop, in one thread, every ``poll_interval`` seconds (immediately again
while there is a backlog):

1. read the complete lines appended since the last round (:mod:`._follow`);
2. feed them to an :class:`~behavemodel.io.AuditdParser`, which returns the
   events that are complete (a closing record, or ``window`` seconds of event
   time older than the newest record); when no line has arrived for
   ``idle_flush`` seconds, the events still open are completed too (auditd
   writes the records of one event together, so a second of silence means
   they are whole);
3. score them with :meth:`BaselineDetector.explain(..., one_row_per="event")
   <behavemodel.models.BaselineDetector.explain>` and write one JSON line per
   alert row (:mod:`._output`), flushed at once; pass each to the
   ``--on-alert`` hook (:mod:`._hooks`);
4. every ``checkpoint_interval`` seconds (and when stopping), write the
   checkpoint (:mod:`._checkpoint`): file positions, the parser's open events
   and process history, where the alerts output stands.

Exactly once: the checkpoint and the parser agree byte for byte (only complete
lines are fed, and the position counts exactly those), so a restart replays
precisely the events that were not yet emitted *as of the checkpoint*; alerts
written after it are read back from the output and skipped when the replay
produces them again. With ``alerts`` (a file) this is exact, even for a line
cut in half by the kill (it is removed and written again). On a stream the
alerts are listed in ``<checkpoint>.emitted`` right after each write, so only
a kill between those two writes repeats them (at least once, never lost).
Hooks are at most once: runs queued when the process dies are not replayed.
Limits: events whose records arrive more than ``idle_flush`` seconds apart
are split; with ``learn``, a kill loses what was learned since the last
model save (at most ``save_interval`` seconds of observations of pairs still
learning; the checkpoint written with each save keeps the two in step).

Memory is bounded: reads are capped, the parser keeps only open events and a
bounded process history, the hook queue is bounded, and the replay list
expires.
"""

from __future__ import annotations

import collections
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from behavemodel import schema
from behavemodel.io import AuditdParser
from behavemodel.models import BaselineDetector
from behavemodel.monitor._checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    CheckpointError,
    StateLock,
    read_checkpoint,
    write_json_atomic,
)
from behavemodel.monitor._follow import FileFollower, Start
from behavemodel.monitor._hooks import AlertHook
from behavemodel.monitor._learn import Learner
from behavemodel.monitor._output import (
    AlertKey,
    FileSink,
    StreamSink,
    alert_key,
    alert_records,
    to_json_line,
)
from behavemodel.monitor._stream import StreamFollower

__all__ = ["Monitor", "MonitorStats"]

#: Replayed alerts to skip are forgotten once events this much newer were seen.
_SKIP_HORIZON_US = 600 * 1_000_000
#: Malformed lines reported one by one per minute; the rest are counted.
_LINE_REPORTS_PER_MINUTE = 20
_MAX_READ = 8 << 20


@dataclass
class MonitorStats:
    """Counts of one :meth:`Monitor.run`.

    Attributes
    ----------
    lines : int
        Lines read.
    events : int
        Events parsed and scored.
    alerts : int
        Alert lines written.
    replayed : int
        Alerts produced again after a restart and skipped (already written).
    malformed_lines : int
        Lines reported and skipped.
    unscored_events : int
        Events whose scoring failed (reported).
    checkpoints, model_saves : int
        Checkpoints written, model files saved (``learn``).
    hook_runs, hook_failures, hook_dropped : int
        ``on_alert`` runs, failed runs, alerts not passed to the hook.
    """

    lines: int = 0
    events: int = 0
    alerts: int = 0
    replayed: int = 0
    malformed_lines: int = 0
    unscored_events: int = 0
    checkpoints: int = 0
    model_saves: int = 0
    hook_runs: int = 0
    hook_failures: int = 0
    hook_dropped: int = 0

    def summary(self) -> str:
        """One line for logs."""
        return ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in asdict(self).items())


def _printable(text: str, limit: int = 2000) -> str:
    """Escape control characters of text that came from the data."""
    out = [
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    ]
    rendered = "".join(out)
    return rendered if len(rendered) <= limit else rendered[: limit - 1] + "…"


def _stderr_report() -> Callable[[str], None]:
    lock = threading.Lock()

    def report(message: str) -> None:
        with lock:
            sys.stderr.write(f"behavemodel: monitor: {_printable(message)}\n")
            sys.stderr.flush()

    return report


def _event_time_us(event_id: str) -> int | None:
    """Event time from ``node:seconds.millis:serial`` (None for other forms)."""
    parts = event_id.rsplit(":", 2)
    if len(parts) != 3:
        return None
    try:
        return int(float(parts[1]) * 1_000_000)
    except ValueError:
        return None


class Monitor:
    """Watch a live audit log with a fitted model; one JSON line per deviation.

    Parameters
    ----------
    model : BaselineDetector
        Fitted. Groups still learning do not alert unless the model was made
        with ``alert_while_learning=True``.
    follow : path, "-" or binary stream
        The audit log to follow like ``tail -F``; ``"-"`` or a stream reads
        until the stream ends (an audisp plugin, a pipe).
    alerts : path, optional
        JSON lines file to append alerts to; default: ``stdout``.
    checkpoint : path, optional
        State file making restarts lose and repeat nothing (needs a followed
        file, not a stream). Next to it: ``<checkpoint>.lock`` and, when alerts
        go to a stream, ``<checkpoint>.emitted``.
    host : str, optional
        Host name for records without ``node=`` (never used to look anything up).
    on_alert : str or sequence of str, optional
        Command run per alert with its JSON line on standard input
        (:class:`AlertHook`; no shell, no event text in its arguments).
    hook_timeout : float, default 10.0
        Seconds a hook run may take.
    hide_env : iterable of str
        Environment variables not passed to the hook (such as the key's).
    learn : bool, default False
        Pairs still learning keep learning (:class:`Learner`); with
        ``model_path``, the model file is replaced atomically every
        ``save_interval`` seconds and at the end.
    model_path : path, optional
        Where the model lives (``learn``).
    key : bytes, optional
        Signing key for saving the learned model.
    start : {"end", "beginning"}, default "end"
        Where to start in the file without a checkpoint.
    poll_interval : float, default 0.5
        Seconds between reads (the main part of alert latency).
    checkpoint_interval : float, default 5.0
        Seconds between checkpoints (they cost a JSON dump of the process history).
    save_interval : float, default 60.0
        Seconds between model saves with ``learn``.
    idle_flush : float, default 1.0
        Seconds without a new line after which open events are completed.
    window : float, default 2.0
        The parser's event-time window for events without a closing record.
    max_processes : int, default 65536
        Processes remembered for ``parent_exe`` (bounds memory and checkpoints).
    report : callable, optional
        Receives one line of text per notable thing (rotation, malformed line,
        hook failure); defaults to standard error.
    stdout, stdin : binary streams, optional
        Replace ``sys.stdout.buffer`` / ``sys.stdin.buffer``.

    Examples
    --------
    >>> import io, pathlib, tempfile, threading
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector
    >>> train = schema.conform(pd.DataFrame({
    ...     "time": pd.to_datetime(["2024-01-01T00:00Z", "2024-01-03T00:00Z"]),
    ...     "host_name": ["web-1"] * 2, "event_type": ["net_connect"] * 2,
    ...     "success": [True] * 2, "process_exe": ["/usr/bin/curl"] * 2,
    ...     "net_direction": ["outbound"] * 2, "dst_port": [443] * 2,
    ...     "event_id": ["a", "b"], "source_format": ["canonical"] * 2,
    ... }), fill_missing=True)
    >>> model = BaselineDetector(features=["NetworkProcesses"], min_span="1D").fit(train)
    >>> log = io.BytesIO(
    ...     b'node=web-1 type=SYSCALL msg=audit(1704300000.000:5): arch=c000003e syscall=42 '
    ...     b'success=yes exit=0 a0=3 a1=0 a2=10 a3=0 items=0 ppid=1 pid=77 auid=0 uid=0 '
    ...     b'gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm="nc" '
    ...     b'exe="/usr/bin/nc" key=(null)\\n'
    ...     b'node=web-1 type=SOCKADDR msg=audit(1704300000.000:5): '
    ...     b'saddr=0200115C0A0000010000000000000000\\n')
    >>> out = io.BytesIO()
    >>> stats = Monitor(model, log, stdout=out, poll_interval=0.01, report=print).run()
    >>> import json
    >>> alert = json.loads(out.getvalue())
    >>> alert["process_exe"], alert["dst_port"], alert["deviation"], stats.alerts
    ('/usr/bin/nc', 4444, 'new_everywhere', 1)
    """

    def __init__(
        self,
        model: BaselineDetector,
        follow: str | os.PathLike[str] | BinaryIO,
        *,
        alerts: str | os.PathLike[str] | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        host: str | None = None,
        on_alert: str | Sequence[str] | None = None,
        hook_timeout: float = 10.0,
        hide_env: Iterable[str] = (),
        learn: bool = False,
        model_path: str | os.PathLike[str] | None = None,
        key: bytes | None = None,
        start: Start = "end",
        poll_interval: float = 0.5,
        checkpoint_interval: float = 5.0,
        save_interval: float = 60.0,
        idle_flush: float = 1.0,
        window: float = 2.0,
        max_processes: int = 65_536,
        report: Callable[[str], None] | None = None,
        stdout: BinaryIO | None = None,
        stdin: BinaryIO | None = None,
    ) -> None:
        self.model = model
        self.follow = follow
        self.alerts = alerts
        self.checkpoint = checkpoint
        self.host = host
        self.on_alert = on_alert
        self.hook_timeout = hook_timeout
        self.hide_env = tuple(hide_env)
        self.learn = learn
        self.model_path = model_path
        self.key = key
        self.start = start
        self.poll_interval = poll_interval
        self.checkpoint_interval = checkpoint_interval
        self.save_interval = save_interval
        self.idle_flush = idle_flush
        self.window = window
        self.max_processes = max_processes
        self.report = report
        self.stdout = stdout
        self.stdin = stdin
        self.stats = MonitorStats()
        self._stop_event = threading.Event()

    # -- public ----------------------------------------------------------------------
    def stop(self) -> None:
        """Ask :meth:`run` to finish (safe from signal handlers and other threads)."""
        self._stop_event.set()

    def run(self, *, handle_signals: bool = False) -> MonitorStats:
        """Monitor until :meth:`stop` (or SIGTERM/SIGINT with ``handle_signals``) or the
        end of a followed stream; write a last checkpoint and return the counts.

        Raises
        ------
        CheckpointError
            The checkpoint is damaged, of another version, for another file, or
            in use by another monitor.
        """
        previous: dict[signal.Signals, Any] = {}
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, lambda *_: self.stop())
        try:
            try:
                self._open()
                self._loop()
                self._finish()
            finally:
                self._close()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self.stats

    # -- setup -----------------------------------------------------------------------
    def _open(self) -> None:
        self._report = self.report or _stderr_report()
        self._lock: StateLock | None = None
        self._hook: AlertHook | None = None
        self._follower: FileFollower | StreamFollower | None = None
        self._sink: FileSink | StreamSink | None = None
        self._validate()
        self._generation = 0
        self._fed_lines = 0
        self._latest_us: int | None = None
        self._skip: set[AlertKey] = set()
        self._recent: collections.deque[tuple[int, int, str, int]] = collections.deque(maxlen=64)
        self._line_reports = 0
        self._line_reports_since = time.monotonic()
        self._suppressed = 0
        self._learner: Learner | None = None
        is_stream = (
            not isinstance(self.follow, (str, os.PathLike)) or os.fspath(self.follow) == "-"
        )
        state = None
        if self.checkpoint is not None:
            if is_stream:
                raise CheckpointError(
                    "A checkpoint needs a file to follow: a stream cannot be re-read after a "
                    "restart. Follow the log file, or run without a checkpoint."
                )
            self._lock = StateLock(self.checkpoint)
            state = read_checkpoint(self.checkpoint)
        self._parser = AuditdParser(
            host=self.host,
            window=self.window,
            on_error="collect",
            name=str(self.follow) if not is_stream else "<stdin>",
            max_processes=self.max_processes,
        )
        position = None
        if state is not None:
            position = self._restore(state)
        if is_stream:
            stream = self.follow if not isinstance(self.follow, (str, os.PathLike)) else None
            self._follower = StreamFollower(
                stream if stream is not None else (self.stdin or sys.stdin.buffer)
            )
        else:
            assert isinstance(self.follow, (str, os.PathLike))
            self._follower = FileFollower(
                self.follow, start=self.start, position=position, report=self._report
            )
        if self.alerts is not None:
            self._sink = FileSink(self.alerts, report=self._report)
        else:
            journal = None if self.checkpoint is None else f"{os.fspath(self.checkpoint)}.emitted"
            self._sink = StreamSink(self.stdout or sys.stdout.buffer, journal=journal)
        if state is not None:
            recovered = self._sink.recover(state.get("alerts"), self._generation)
            if recovered:
                self._report(
                    f"{len(recovered)} alert(s) were written after the last checkpoint; they "
                    "are not written again"
                )
            self._skip |= recovered
        self._sink.open()
        if self.on_alert is not None:
            self._hook = AlertHook(
                self.on_alert,
                timeout=self.hook_timeout,
                hide_env=self.hide_env,
                report=self._report,
            )
            self._hook.start()
        if self.learn:
            self._learner = Learner(
                self.model, self.model_path, key=self.key, save_interval=self.save_interval
            )
        now = time.monotonic()
        self._last_data = now
        self._last_checkpoint = now
        self._dirty = True
        self._write_checkpoint()

    def _validate(self) -> None:
        for name in ("poll_interval", "checkpoint_interval", "save_interval", "hook_timeout"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"The {name!r} parameter must be positive. Got {value!r}.")
        if not self.idle_flush >= 0:
            raise ValueError(f"The 'idle_flush' parameter must be >= 0. Got {self.idle_flush!r}.")
        if self.start not in ("end", "beginning"):
            raise ValueError(
                f"The 'start' parameter must be 'end' or 'beginning'. Got {self.start!r}."
            )
        self.model._check_fitted("Monitor")

    def _restore(self, state: Mapping[str, Any]) -> Mapping[str, Any] | None:
        follow = state.get("follow") or {}
        path = os.path.abspath(os.fspath(self.follow))  # type: ignore[arg-type]
        if follow.get("path") != path:
            raise CheckpointError(
                f"{self.checkpoint} was written while following {follow.get('path')!r}, not "
                f"{path!r}. Use another checkpoint for this file, or move it away to start over."
            )
        try:
            self._parser.restore(state["parser"])
            self._generation = int(state["generation"])
            self._fed_lines = int(state["fed_lines"])
            latest = state.get("latest_event_us")
            self._latest_us = None if latest is None else int(latest)
            self._skip = {(str(e), str(f)) for e, f in state.get("skip", [])}
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(
                f"{self.checkpoint} is damaged ({type(exc).__name__}: {exc}). Move it away to "
                "start over."
            ) from None
        position = follow.get("position")
        return position if isinstance(position, Mapping) else None

    # -- the loop ----------------------------------------------------------------------
    def _loop(self) -> None:
        assert self._follower is not None
        while not self._stop_event.is_set():
            began = time.monotonic()
            got = self._step()
            if self._follower.eof:
                return
            if got * 2 >= _MAX_READ:
                # A backlog: read on. Only whole lines count in ``got``, so a full
                # read is a little under the cap; half of it is backlog enough
                # (waiting a poll interval there capped the rate at ~16 MB/s).
                continue
            self._stop_event.wait(max(0.0, self.poll_interval - (time.monotonic() - began)))

    def _step(self) -> int:
        assert self._follower is not None
        chunks = self._follower.read(_MAX_READ)
        got = 0
        tables: list[pa.Table] = []
        for chunk in chunks:
            got += len(chunk.data)
            first = self._fed_lines + 1
            table = self._parser.feed(chunk.data)
            count = chunk.data.count(b"\n")
            self._fed_lines += count
            self.stats.lines += count
            self._recent.append((first, self._fed_lines, chunk.source, chunk.first_line))
            self._drain_errors()
            if table is not None:
                tables.append(table)
        now = time.monotonic()
        if got:
            self._last_data = now
            self._dirty = True
        elif self._parser.pending_lines and now - self._last_data >= self.idle_flush:
            table = self._parser.flush()  # only whole lines were fed: nothing cut is lost
            self._drain_errors()
            self._dirty = True
            if table is not None:
                tables.append(table)
        for table in tables:
            self._process(table)
        if self._learner is not None and self._learner.step():
            self.stats.model_saves += 1
            self._write_checkpoint()  # pair the saved model with a checkpoint
        if now - self._last_checkpoint >= self.checkpoint_interval:
            self._periodic()
        return got

    def _process(self, table: pa.Table) -> None:
        assert self._sink is not None
        self.stats.events += table.num_rows
        latest = pc.max(table.column(schema.TIME)).cast(pa.int64()).as_py()
        if latest is not None and (self._latest_us is None or latest > self._latest_us):
            self._latest_us = latest
        try:
            found = self.model.explain(table, one_row_per="event")
        except Exception as exc:  # a daemon reports and goes on; the events are counted
            self.stats.unscored_events += table.num_rows
            self._report(f"could not score {table.num_rows} event(s): {type(exc).__name__}: {exc}")
        else:
            self._emit(found)
        if self._learner is not None:  # after scoring: what is learned alerts no more later
            try:
                self._learner.observe(table)
            except Exception as exc:
                self._report(f"could not learn from {table.num_rows} event(s): {exc}")

    def _emit(self, found: Any) -> None:
        assert self._sink is not None
        if found.empty:
            return
        lines: list[str] = []
        keys: list[AlertKey] = []
        for record in alert_records(found):
            key = alert_key(record)
            if self._skip and key in self._skip:
                self._skip.discard(key)
                self.stats.replayed += 1
                continue
            lines.append(to_json_line(record))
            keys.append(key)
        if not lines:
            return
        self._sink.write(lines, keys)
        self.stats.alerts += len(lines)
        if self._hook is not None:
            for line in lines:
                self._hook.submit(line)

    def _drain_errors(self) -> None:
        errors = self._parser.report.errors
        if not errors:
            return
        self.stats.malformed_lines += len(errors)
        now = time.monotonic()
        if now - self._line_reports_since >= 60:
            if self._suppressed:
                self._report(f"{self._suppressed} more malformed line(s) skipped")
            self._line_reports, self._suppressed = 0, 0
            self._line_reports_since = now
        for error in errors:
            if self._line_reports >= _LINE_REPORTS_PER_MINUTE:
                self._suppressed += 1
                continue
            self._line_reports += 1
            self._report(
                f"skipped malformed line {self._where(error.line)}: {error.reason}: "
                f"{error.text[:200]}"
            )
        errors.clear()

    def _where(self, stream_line: int) -> str:
        for first, last, source, first_line in reversed(self._recent):
            if first <= stream_line <= last:
                if first_line:
                    return f"{source}:{first_line + stream_line - first}"
                return source
        return f"(line {stream_line} of the stream)"

    # -- checkpoints and the end -----------------------------------------------------------
    def _periodic(self) -> None:
        assert self._sink is not None
        if self.checkpoint is not None and self._dirty:
            self._write_checkpoint()
        else:
            self._sink.sync()
            self._last_checkpoint = time.monotonic()

    def _write_checkpoint(self) -> None:
        assert self._sink is not None and self._follower is not None
        self._sink.sync()
        self._last_checkpoint = time.monotonic()
        if self.checkpoint is None:
            return
        self._expire_skip()
        self._generation += 1
        position = self._follower.position()
        document = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "generation": self._generation,
            "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "follow": {
                "path": None if position is None else position["path"],
                "position": position,
            },
            "fed_lines": self._fed_lines,
            "parser": self._parser.checkpoint(),
            "alerts": self._sink.state(),
            "skip": sorted([e, f] for e, f in self._skip),
            "latest_event_us": self._latest_us,
        }
        write_json_atomic(self.checkpoint, document)
        self._sink.checkpointed(self._generation)
        self._dirty = False
        self.stats.checkpoints += 1

    def _expire_skip(self) -> None:
        if not self._skip or self._latest_us is None:
            return
        horizon = self._latest_us - _SKIP_HORIZON_US
        self._skip = {k for k in self._skip if (t := _event_time_us(k[0])) is None or t >= horizon}

    def _finish(self) -> None:
        assert self._follower is not None
        if self.checkpoint is None or self._follower.eof:
            # Nothing will resume these events: complete them now.
            self._step()
            table = self._parser.flush()
            self._drain_errors()
            if table is not None:
                self._process(table)
        if self._learner is not None and self._learner.step(force=True):
            self.stats.model_saves += 1
        if self._hook is not None:
            self._hook.close(wait=self.hook_timeout)
        self._dirty = True
        self._write_checkpoint()

    def _close(self) -> None:
        if self._hook is not None:
            self._hook.close()
            stats = self._hook.stats
            self.stats.hook_runs = stats.runs
            self.stats.hook_failures = stats.failures
            self.stats.hook_dropped = stats.dropped
        for part in (self._follower, self._sink):
            if part is not None:
                part.close()
        if self._lock is not None:
            self._lock.release()
