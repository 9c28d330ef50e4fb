"""The monitor's state file: written atomically, read strictly, held by one process.

A checkpoint is one JSON document (see :data:`CHECKPOINT_FORMAT`) holding where
reading stands in each followed file, the parser's half-open events and process
history, where the alerts output stood, and the alerts emitted since but not yet
replayed. It is replaced with write-to-temporary, ``fsync``, ``rename`` and a
directory ``fsync``, so a crash leaves either the old or the new state, never a
mix. A lock file next to it keeps two monitors from sharing one state.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from pathlib import Path
from typing import Any

from behavemodel.exceptions import BehaveModelError

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "CheckpointError",
    "StateLock",
    "read_checkpoint",
    "write_json_atomic",
]

#: ``format`` field of a monitor checkpoint.
CHECKPOINT_FORMAT = "behavemodel-monitor-checkpoint"
#: ``version`` this code writes and reads.
CHECKPOINT_VERSION = 1


class CheckpointError(BehaveModelError, ValueError):
    """A monitor checkpoint cannot be used (damaged, another version, another log, locked)."""


def write_json_atomic(path: str | os.PathLike[str], document: Any, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``document`` as JSON; readers see the old or the new file.

    Examples
    --------
    >>> import tempfile, pathlib, json
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "state.json"
    >>> write_json_atomic(path, {"a": [1, 2]})
    >>> json.loads(path.read_text())
    {'a': [1, 2]}
    >>> oct(path.stat().st_mode & 0o777)
    '0o600'
    """
    target = Path(path)
    data = json.dumps(document, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Read a monitor checkpoint; None when the file does not exist.

    Raises
    ------
    CheckpointError
        When the file is not a checkpoint of this version. Nothing is guessed:
        starting over silently would lose or repeat events.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "state.json"
    >>> read_checkpoint(path) is None
    True
    >>> _ = path.write_text("{}")
    >>> read_checkpoint(path)
    Traceback (most recent call last):
    ...
    behavemodel.monitor._checkpoint.CheckpointError: .../state.json is not a behavemodel \
monitor checkpoint (format None, version None; this version reads version 1). Move it away \
to start over.
    """
    target = Path(path)
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        return None
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise CheckpointError(
            f"{target} is not valid JSON ({exc}); it is damaged. Move it away to start over "
            "(events between the last good checkpoint and now may then be missed)."
        ) from None
    if (
        not isinstance(document, dict)
        or document.get("format") != CHECKPOINT_FORMAT
        or document.get("version") != CHECKPOINT_VERSION
    ):
        got = document if isinstance(document, dict) else {}
        raise CheckpointError(
            f"{target} is not a behavemodel monitor checkpoint (format {got.get('format')!r}, "
            f"version {got.get('version')!r}; this version reads version {CHECKPOINT_VERSION}). "
            "Move it away to start over."
        )
    return document


class StateLock:
    """An exclusive lock on ``<state>.lock`` for the life of a monitor.

    The kernel drops it when the process dies, even by ``kill -9``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> state = pathlib.Path(tempfile.mkdtemp()) / "state.json"
    >>> lock = StateLock(state)
    >>> StateLock(state)
    Traceback (most recent call last):
    ...
    behavemodel.monitor._checkpoint.CheckpointError: another behavemodel monitor is using \
.../state.json (lock .../state.json.lock is held); run one monitor per checkpoint.
    >>> lock.release()
    """

    def __init__(self, state: str | os.PathLike[str]) -> None:
        self.path = Path(f"{os.fspath(state)}.lock")
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise CheckpointError(
                f"another behavemodel monitor is using {os.fspath(state)} (lock {self.path} is "
                "held); run one monitor per checkpoint."
            ) from None

    def release(self) -> None:
        """Drop the lock (the lock file stays)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
