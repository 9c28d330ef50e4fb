"""Follow an audit log like ``tail -F``, or read a stream such as standard input.

:class:`FileFollower` hands out *complete lines* and remembers exactly how far
it got in each file, so a checkpoint of its :meth:`~FileFollower.position`
lets a restarted reader continue at the same byte. It survives the two ways
logs are rotated:

- **rename** (auditd's own rotation, logrotate's ``create``): the path names a
  new file. The old file is drained to its end first and kept open for a
  ``grace`` period (a writer may append to it until it reopens), then the new
  file is read from its start.
- **copy and truncate** (logrotate's ``copytruncate``): the file shrinks below
  the position read, or its first bytes change. The rest of the old content
  is read from the copy (a sibling file such as ``audit.log.1`` that begins
  with the same bytes), then the truncated file from its start.

A file is recognised by its identity ``(st_dev, st_ino)`` *and* a SHA-256 of
its first bytes, so a reused inode is not mistaken for the old file. After a
restart, a checkpointed file that was rotated meanwhile is found again among
its siblings, finished from the checkpointed offset, followed by any newer
rotated files and the current one.

Standard input and pipes are read by :class:`~behavemodel.monitor.StreamFollower`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Chunk", "FileFollower"]

#: Bytes of a file's beginning that identify it (an audit record header is unique).
HEAD_BYTES = 256
#: Longest line accepted; auditd records are at most about 8 KiB.
MAX_LINE = 1 << 16
_READ = 1 << 20
_POSITION_VERSION = 1

Report = Callable[[str], None]
Start = Literal["end", "beginning"]


def _ignore(message: str) -> None:
    """Default report: say nothing."""


@dataclass(frozen=True)
class Chunk:
    """Complete lines read from one file.

    Attributes
    ----------
    data : bytes
        One or more lines, each ending with ``\\n``.
    source : str
        The file they came from (for messages).
    first_line : int
        1-based number of the first line in that file (0 when unknown).
    """

    data: bytes
    source: str
    first_line: int


class _File:
    """An open file and how far it has been handed out."""

    def __init__(self, fd: int, name: str, st: os.stat_result, offset: int, line: int) -> None:
        self.fd = fd
        self.name = name
        self.dev = st.st_dev
        self.ino = st.st_ino
        self.offset = offset  # bytes handed out; always at a line start
        self.line = line  # lines handed out
        self.partial = b""  # bytes read past ``offset`` without a newline yet
        self.skipping = False  # inside an over-long line, dropped up to its newline
        self.head = ""  # hex SHA-256 of the first ``head_len`` bytes
        self.head_len = 0
        self.idle_since = time.monotonic()

    @property
    def read_pos(self) -> int:
        return self.offset + len(self.partial)

    def identity(self) -> tuple[int, int]:
        return (self.dev, self.ino)

    def entry(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dev": self.dev,
            "ino": self.ino,
            "offset": self.offset,
            "line": self.line,
            "head_len": self.head_len,
            "head": self.head,
        }

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _open_regular(path: str) -> tuple[int, os.stat_result]:
    # O_NONBLOCK: opening a FIFO would otherwise wait for a writer (no effect on files).
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise ValueError(
            f"{path}: --follow needs a regular file (a pipe or socket can be read with "
            "--follow - from standard input)."
        )
    return fd, st


class FileFollower:
    """Read the complete lines appended to a file, across rotations.

    Parameters
    ----------
    path : str or path-like
        The log to follow (``/var/log/audit/audit.log``). It may not exist yet.
    start : {"end", "beginning"}, default "end"
        Where to start without a ``position``: after the last complete line
        already in the file (like ``tail -F`` with no backlog), or at its start.
    position : mapping, optional
        A :meth:`position` saved earlier; reading resumes exactly there.
    grace : float, default 2.0
        Seconds a rotated file stays open after it stops growing.
    report : callable, optional
        Called with one line of text about rotations, truncations and skipped
        over-long lines.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> log = pathlib.Path(tempfile.mkdtemp()) / "audit.log"
    >>> _ = log.write_bytes(b"old line\\n")
    >>> follower = FileFollower(log)  # starts at the end
    >>> follower.read()
    []
    >>> with log.open("ab") as fh:
    ...     _ = fh.write(b"one\\ntw")
    >>> [(c.data, c.first_line) for c in follower.read()]
    [(b'one\\n', 2)]
    >>> with log.open("ab") as fh:
    ...     _ = fh.write(b"o\\n")
    >>> [c.data for c in follower.read()]
    [b'two\\n']
    >>> follower.position()["current"]["offset"]
    17
    >>> follower.close()
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        start: Start = "end",
        position: Mapping[str, Any] | None = None,
        grace: float = 2.0,
        report: Report | None = None,
    ) -> None:
        if start not in ("end", "beginning"):
            raise ValueError(f"The 'start' parameter must be 'end' or 'beginning'. Got {start!r}.")
        self.path = os.path.abspath(os.fspath(path))
        self.grace = float(grace)
        self._report = report or _ignore
        self._retiring: list[_File] = []
        self._current: _File | None = None
        self._waiting_reported = False
        self._moved_reported = False
        self.eof = False  # a file never ends; kept for symmetry with StreamFollower
        if position is not None:
            self._restore(position)
        else:
            self._open_current(at_end=start == "end")

    # -- reading ---------------------------------------------------------------------
    def read(self, max_bytes: int = 8 << 20) -> list[Chunk]:
        """Return the complete lines available now (at most about ``max_bytes``)."""
        out: list[Chunk] = []
        budget = max(int(max_bytes), 1)
        now = time.monotonic()
        for f in list(self._retiring):
            got = self._drain(f, budget, out)
            budget -= got
            if not got and now - f.idle_since >= self.grace:
                self._retire(f, out)
            if budget <= 0:
                return out
        if self._retiring and out:
            return out  # finish rotated files before the new one
        if self._current is None:
            self._open_current(at_end=False)
            if self._current is None:
                return out
        cur = self._current
        if self._rewritten(cur):
            self._truncated(cur)
            return out
        got = self._drain(cur, budget, out)
        if got == 0 and self._check_rotation(cur) and self._current is not None:
            self._drain(self._current, budget, out)  # the old file was just read to its end
        return out

    def _drain(self, f: _File, budget: int, out: list[Chunk]) -> int:
        """Read what ``f`` has past its position; append complete lines to ``out``."""
        total = 0
        pieces: list[bytes] = []  # complete lines, handed out as one chunk
        first_line = f.line + 1
        while total < budget:
            try:
                data = os.pread(f.fd, min(_READ, budget - total), f.read_pos)
            except OSError as exc:  # pragma: no cover - I/O error on a disk going away
                self._report(f"{f.name}: read failed ({exc}); will retry")
                break
            if not data:
                break
            total += len(data)
            f.idle_since = time.monotonic()
            if f.skipping:
                newline = data.find(b"\n")
                if newline < 0:
                    f.offset += len(data)
                    continue
                f.offset += newline + 1
                f.line += 1
                f.skipping = False
                data = data[newline + 1 :]
            buf = f.partial + data if f.partial else data
            cut = buf.rfind(b"\n")
            if cut < 0:
                f.partial = buf
            else:
                lines = buf[: cut + 1]
                f.partial = buf[cut + 1 :]
                if not pieces:
                    first_line = f.line + 1
                pieces.append(lines)
                f.offset += len(lines)
                f.line += lines.count(b"\n")
            if len(f.partial) > MAX_LINE:
                self._report(
                    f"{f.name}: line {f.line + 1} is longer than {MAX_LINE} bytes; skipped"
                )
                f.offset += len(f.partial)
                f.partial = b""
                f.skipping = True
        if pieces:
            out.append(Chunk(b"".join(pieces), f.name, first_line))
        if f.head_len < HEAD_BYTES and f.read_pos > f.head_len:
            self._extend_head(f)
        return total

    def _extend_head(self, f: _File) -> None:
        head = os.pread(f.fd, HEAD_BYTES, 0)
        if len(head) > f.head_len and (f.head_len == 0 or _digest(head[: f.head_len]) == f.head):
            f.head_len = len(head)
            f.head = _digest(head)

    # -- rotation and truncation -------------------------------------------------------
    def _rewritten(self, f: _File) -> bool:
        """True when ``f`` shrank below what was read, or its beginning changed."""
        size = os.fstat(f.fd).st_size
        if size < f.read_pos:
            return True
        if f.head_len:
            head = os.pread(f.fd, f.head_len, 0)
            return len(head) < f.head_len or _digest(head) != f.head
        return False

    def _truncated(self, f: _File) -> None:
        copies = self._copies(f.identity(), f.head_len, f.head) if f.offset else []
        longer = [name for name, size in copies if size > f.offset]
        copy = self._open_first(longer, f.offset, f.line, f.head_len, f.head)
        if copy is not None:
            self._retiring.append(copy)
            self._report(
                f"{self.path} was truncated (copytruncate); reading the rest from "
                f"{copy.name} at byte {copy.offset}, then the file from its start"
            )
        elif f.offset and not copies:
            self._report(
                f"{self.path} was truncated after byte {f.offset} and no rotated copy beginning "
                "with the same bytes was found; continuing from its start (lines written "
                "just before the truncation may be lost)"
            )
        f.offset = f.line = 0
        f.partial = b""
        f.skipping = False
        f.head, f.head_len = "", 0
        self._extend_head(f)

    def _check_rotation(self, f: _File) -> bool:
        """True when the path names another file now (``f`` then retires)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if not self._moved_reported:
                self._report(f"{self.path} was moved or deleted; waiting for a new file")
                self._moved_reported = True
            return False
        if (st.st_dev, st.st_ino) == f.identity():
            return False
        self._moved_reported = False
        f.name = self._name_of(f) or f"{self.path} (rotated)"
        f.idle_since = time.monotonic()
        self._retiring.append(f)
        self._current = None
        self._report(f"{self.path} was rotated; finishing {f.name}, then reading the new file")
        self._open_current(at_end=False)
        return True

    def _retire(self, f: _File, out: list[Chunk]) -> None:
        """A rotated file stopped growing: hand out an unterminated last line, close it."""
        if f.partial:
            self._report(f"{f.name}: the last line has no newline; read as it is")
            out.append(Chunk(f.partial + b"\n", f.name, f.line + 1))
            f.offset += len(f.partial)
            f.line += 1
            f.partial = b""
        f.close()
        self._retiring.remove(f)

    def _open_current(self, *, at_end: bool) -> None:
        try:
            fd, st = _open_regular(self.path)
        except FileNotFoundError:
            if not self._waiting_reported:
                self._report(f"{self.path} does not exist yet; waiting for it")
                self._waiting_reported = True
            return
        self._waiting_reported = False
        offset = line = 0
        if at_end and st.st_size:
            offset, line = _last_line_start(fd, st.st_size)
        f = _File(fd, self.path, st, offset, line)
        self._extend_head(f)
        self._current = f

    def _siblings(self) -> list[tuple[str, os.stat_result]]:
        """Regular files next to the log whose names start with its name (rotated ones)."""
        directory, base = os.path.split(self.path)
        found = []
        try:
            entries = list(os.scandir(directory))
        except OSError:  # pragma: no cover - directory removed
            return []
        for entry in entries:
            if entry.name == base or not entry.name.startswith(base):
                continue
            with contextlib.suppress(OSError):
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(st.st_mode):
                    found.append((entry.path, st))
        return found

    def _name_of(self, f: _File) -> str | None:
        for name, st in self._siblings():
            if (st.st_dev, st.st_ino) == f.identity():
                return name
        return None

    def _copies(
        self, identity: tuple[int, int], head_len: int, head: str
    ) -> list[tuple[str, int]]:
        """Siblings (another inode) that begin with the same bytes: (name, size), newest first."""
        if not head_len:
            return []
        matches = []
        for name, st in self._siblings():
            if (st.st_dev, st.st_ino) == identity or st.st_size < head_len:
                continue
            with contextlib.suppress(OSError), open(name, "rb") as fh:
                if _digest(fh.read(head_len)) == head:
                    matches.append((st.st_mtime_ns, name, st.st_size))
        return [(name, size) for _, name, size in sorted(matches, reverse=True)]

    def _open_first(
        self, names: list[str], offset: int, line: int, head_len: int, head: str
    ) -> _File | None:
        for name in names:
            opened = self._open_at(name, offset, line, head_len, head)
            if opened is not None:
                return opened
        return None

    def _open_at(
        self, name: str, offset: int, line: int, head_len: int, head: str
    ) -> _File | None:
        try:
            fd, st = _open_regular(name)
        except (OSError, ValueError):
            return None
        f = _File(fd, name, st, offset, line)
        f.head_len, f.head = head_len, head
        if head_len and _digest(os.pread(fd, head_len, 0)) != head:
            f.close()
            return None
        return f

    # -- checkpoints -----------------------------------------------------------------
    def position(self) -> dict[str, Any]:
        """Where reading stands, as JSON-able data for ``position=`` of a new follower."""
        return {
            "version": _POSITION_VERSION,
            "path": self.path,
            "retiring": [f.entry() for f in self._retiring],
            "current": None if self._current is None else self._current.entry(),
        }

    def _restore(self, position: Mapping[str, Any]) -> None:
        if position.get("version") != _POSITION_VERSION:
            raise ValueError(
                f"Cannot resume from a follow position of version {position.get('version')!r}; "
                f"this version reads version {_POSITION_VERSION}."
            )
        for entry in position.get("retiring", []):
            f = self._locate(entry)
            if f is None:
                self._report_lost(entry)
            else:
                self._retiring.append(f)
        entry = position.get("current")
        if entry is None:
            self._open_current(at_end=False)
            return
        f = self._locate(entry)
        if f is None:
            self._report_lost(entry)
            self._open_current(at_end=False)
            return
        try:
            st = os.stat(self.path)
            now_at_path = (st.st_dev, st.st_ino)
        except FileNotFoundError:
            now_at_path = None
        if now_at_path == f.identity():
            self._current = f
            return
        # Rotated while nobody was reading: the old file, newer rotated ones, then the path.
        self._report(f"{self.path} was rotated while stopped; finishing {f.name} first")
        f_mtime = os.fstat(f.fd).st_mtime_ns
        self._retiring.append(f)
        newer = sorted(
            (st.st_mtime_ns, name)
            for name, st in self._siblings()
            if st.st_mtime_ns > f_mtime
            and (st.st_dev, st.st_ino) != f.identity()
            and (st.st_dev, st.st_ino) != now_at_path
        )
        for _, name in newer:
            with contextlib.suppress(OSError), open(name, "rb") as fh:
                if fh.read(2) == b"\x1f\x8b":
                    self._report(f"{name} is compressed; its events are not read")
                    continue
            opened = self._open_at(name, 0, 0, 0, "")
            if opened is not None:
                self._retiring.append(opened)
        self._open_current(at_end=False)

    def _report_lost(self, entry: Mapping[str, Any]) -> None:
        self._report(
            f"cannot find {entry.get('name')} (the file being read at the checkpoint, byte "
            f"{entry.get('offset')}); lines after that point in it are not read"
        )

    def _locate(self, entry: Mapping[str, Any]) -> _File | None:
        """Find a checkpointed file by identity and beginning, else a copy of it."""
        identity = (int(entry["dev"]), int(entry["ino"]))
        offset, line = int(entry["offset"]), int(entry["line"])
        head_len, head = int(entry.get("head_len", 0)), str(entry.get("head", ""))
        candidates = [self.path]
        with contextlib.suppress(OSError):
            candidates += [e.path for e in os.scandir(os.path.dirname(self.path))]
        for name in candidates:
            try:
                st = os.stat(name)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) != identity:
                continue
            if st.st_size >= offset:
                opened = self._open_at(name, offset, line, head_len, head)
                if opened is not None:
                    return opened
            break  # truncated since, or the inode now holds another file
        copies = self._copies(identity, head_len, head)
        return self._open_first([n for n, size in copies if size >= offset], offset, line,
                                head_len, head)  # fmt: skip

    def close(self) -> None:
        """Close every open file."""
        for f in self._retiring:
            f.close()
        self._retiring.clear()
        if self._current is not None:
            self._current.close()
            self._current = None


def _last_line_start(fd: int, size: int) -> tuple[int, int]:
    """Offset just after the last newline before ``size``, and the lines before it."""
    pos = size
    while pos > 0:
        start = max(0, pos - _READ)
        block = os.pread(fd, pos - start, start)
        newline = block.rfind(b"\n")
        if newline >= 0:
            offset = start + newline + 1
            break
        pos = start
    else:
        return 0, 0
    lines = 0
    done = 0
    while done < offset:
        block = os.pread(fd, min(_READ, offset - done), done)
        lines += block.count(b"\n")
        done += len(block)
    return offset, lines
