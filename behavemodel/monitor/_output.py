"""Alerts as JSON lines, written to a file or a stream so that none is written twice.

Every alert is one line of ASCII JSON (``json.dumps`` with ``ensure_ascii``):
control characters, quotes, backslashes, U+2028/U+2029 and any other
non-ASCII character in event text are escaped, so a hostile command line can
neither break a line nor forge another alert.

Exactly once across crashes: an alert is identified by ``(event_id,
feature)``. At a checkpoint the sink records where its output stood; after a
crash the alerts written since then are read back (from the alerts file past
the recorded offset, or from a journal beside the checkpoint when writing to a
stream) and skipped when the replay produces them again.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
import pyarrow as pa

from behavemodel import schema
from behavemodel.models import alerts as alert_columns

__all__ = ["FileSink", "StreamSink", "alert_key", "alert_records", "to_json_line"]

AlertKey = tuple[str, str]
Report = Callable[[str], None]


def _ignore(message: str) -> None:
    """Default report: say nothing."""


def _value(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_value(v) for v in value]
    return value


def alert_records(found: pd.DataFrame | pa.Table) -> list[dict[str, Any]]:
    """Alert rows (from :meth:`BaselineDetector.explain`) as JSON-ready dicts.

    Times become ISO 8601 strings in UTC (``2024-03-04T10:00:00.000000Z``);
    missing values become None.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"time": pd.to_datetime(["2024-03-04T10:00:01Z"]),
    ...                       "score": [1.0], "host_name": [None]})
    >>> alert_records(frame)
    [{'time': '2024-03-04T10:00:01.000000Z', 'score': 1.0, 'host_name': None}]
    """
    if isinstance(found, pd.DataFrame):
        if set(alert_columns.ALERT_COLUMNS) <= set(found.columns):
            table = pa.Table.from_pandas(
                found[list(alert_columns.ALERT_COLUMNS)],
                schema=alert_columns.ALERT_SCHEMA,
                preserve_index=False,
            )
        else:
            table = pa.Table.from_pandas(found, preserve_index=False)
    else:
        table = found
    return [{k: _value(v) for k, v in row.items()} for row in table.to_pylist()]


def to_json_line(record: Mapping[str, Any]) -> str:
    """One alert as one line of ASCII JSON, newline included.

    Examples
    --------
    >>> line = to_json_line({"process_cmdline": "sh -c 'x'\\n\\u2028\\x1b[2J"})
    >>> line
    '{"process_cmdline":"sh -c \\'x\\'\\\\n\\\\u2028\\\\u001b[2J"}\\n'
    >>> line.count("\\n"), line.isascii()
    (1, True)
    """
    return json.dumps(record, ensure_ascii=True, separators=(",", ":"), allow_nan=False) + "\n"


def alert_key(record: Mapping[str, Any]) -> AlertKey:
    """``(event_id, feature)``: what makes an alert line unique."""
    return (str(record.get(schema.EVENT_ID)), str(record.get(alert_columns.FEATURE)))


def _keys_of_lines(data: bytes) -> set[AlertKey]:
    keys: set[AlertKey] = set()
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            keys.add(alert_key(record))
    return keys


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class FileSink:
    """Append alert lines to a file (created ``0600``); recoverable after a crash.

    Parameters
    ----------
    path : str or path-like
        The JSON lines file. If it is renamed while running (rotated), the
        sink reopens ``path`` at the next checkpoint.
    report : callable, optional
        Called with one line of text about recovery.
    """

    def __init__(self, path: str | os.PathLike[str], *, report: Report | None = None) -> None:
        self.path = Path(path)
        self._report = report or _ignore
        self._fd: int | None = None

    def recover(self, saved: Mapping[str, Any] | None, generation: int) -> set[AlertKey]:
        """Alerts written after the checkpoint ``saved``; cuts a half-written last line."""
        if not saved or saved.get("kind") != "file":
            return set()
        identity = (int(saved["dev"]), int(saved["ino"]))
        offset = int(saved["offset"])
        target: Path | None = None
        try:
            st = self.path.stat()
            if (st.st_dev, st.st_ino) == identity:
                target = self.path
                if st.st_size < offset:  # truncated (copytruncate) since
                    offset = 0
        except FileNotFoundError:
            pass
        if target is None:
            with contextlib.suppress(OSError):
                for entry in os.scandir(self.path.parent):
                    est = entry.stat(follow_symlinks=False)
                    if (est.st_dev, est.st_ino) == identity:
                        target = Path(entry.path)
                        break
        if target is None:
            self._report(
                f"cannot find the alerts file of the checkpoint ({saved.get('path')}); alerts "
                "written just before the restart may be written again"
            )
            return set()
        with open(target, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
        cut = data.rfind(b"\n") + 1
        if cut < len(data) and target == self.path:
            os.truncate(target, offset + cut)
            self._report(f"{target}: removed a half-written last alert line")
        return _keys_of_lines(data[:cut])

    def open(self) -> None:
        """Open (create) the file for appending."""
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def write(self, lines: list[str], keys: Iterable[AlertKey]) -> None:
        """Append the lines in one write."""
        if self._fd is None:
            self.open()
        assert self._fd is not None
        _write_all(self._fd, "".join(lines).encode("ascii"))

    def sync(self) -> None:
        """Make the written alerts durable, and follow a rotation of the file."""
        if self._fd is None:
            return
        os.fsync(self._fd)
        try:
            st = self.path.stat()
            moved = (st.st_dev, st.st_ino) != self._identity()
        except FileNotFoundError:
            moved = True
        if moved:
            os.close(self._fd)
            self.open()

    def _identity(self) -> tuple[int, int]:
        assert self._fd is not None
        st = os.fstat(self._fd)
        return (st.st_dev, st.st_ino)

    def state(self) -> dict[str, Any]:
        """Where the output stands, for the checkpoint."""
        if self._fd is None:
            self.open()
        assert self._fd is not None
        st = os.fstat(self._fd)
        return {
            "kind": "file",
            "path": str(self.path),
            "dev": st.st_dev,
            "ino": st.st_ino,
            "offset": st.st_size,
        }

    def checkpointed(self, generation: int) -> None:
        """Nothing to do: the file itself tells what was written."""

    def close(self) -> None:
        """Close the file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class StreamSink:
    """Write alert lines to a stream (standard output), flushed after every batch.

    Parameters
    ----------
    stream : binary file
        Where the lines go.
    journal : path, optional
        With a checkpoint, the alerts written since it are listed here (one
        ``[event_id, feature]`` per line after a ``{"generation": n}`` header),
        because lines already sent down a pipe cannot be read back.
    """

    def __init__(self, stream: BinaryIO, *, journal: str | os.PathLike[str] | None = None):
        self.stream = stream
        self.journal = None if journal is None else Path(journal)
        self._journal_fd: int | None = None

    def recover(self, saved: Mapping[str, Any] | None, generation: int) -> set[AlertKey]:
        """Alerts listed in the journal of checkpoint ``generation``."""
        if self.journal is None or saved is None:
            return set()
        try:
            data = self.journal.read_bytes()
        except FileNotFoundError:
            return set()
        header, _, rest = data.partition(b"\n")
        try:
            if json.loads(header).get("generation") != generation:
                return set()  # written before the checkpoint: already covered by it
        except (ValueError, AttributeError):
            return set()
        keys: set[AlertKey] = set()
        for line in rest.split(b"\n"):
            with contextlib.suppress(ValueError, TypeError):
                event_id, feature = json.loads(line)
                keys.add((str(event_id), str(feature)))
        return keys

    def open(self) -> None:
        """Nothing to open: the stream is open and the journal starts at a checkpoint."""

    def write(self, lines: list[str], keys: Iterable[AlertKey]) -> None:
        """Write and flush the lines, then list them in the journal."""
        self.stream.write("".join(lines).encode("ascii"))
        self.stream.flush()
        if self._journal_fd is not None:
            entries = "".join(
                json.dumps(list(k), ensure_ascii=True, separators=(",", ":")) + "\n" for k in keys
            )
            _write_all(self._journal_fd, entries.encode("ascii"))

    def sync(self) -> None:
        """Flush the stream and make the journal durable."""
        self.stream.flush()
        if self._journal_fd is not None:
            os.fsync(self._journal_fd)

    def state(self) -> dict[str, Any]:
        """A stream has no position; the journal stands in for it."""
        return {"kind": "stream"}

    def checkpointed(self, generation: int) -> None:
        """Start a new journal for the alerts after checkpoint ``generation``."""
        if self.journal is None:
            return
        if self._journal_fd is not None:
            os.close(self._journal_fd)
        self._journal_fd = os.open(
            self.journal, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC, 0o600
        )
        _write_all(self._journal_fd, (json.dumps({"generation": generation}) + "\n").encode())

    def close(self) -> None:
        """Flush the stream and close the journal."""
        with contextlib.suppress(OSError, ValueError):
            self.stream.flush()
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None
