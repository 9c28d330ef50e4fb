"""Hand a worker's Arrow table to the parent process without pickling it.

A table pickled through a multiprocessing pipe is copied four times (pickle,
pipe write, pipe read, unpickle). Instead the worker writes it once as an Arrow
IPC stream into a file in shared memory (``/dev/shm``) and sends only the path;
the parent maps the file, so its buffers are used where they lie. The parent
creates the file (:func:`reserve`) and removes it whatever happens: when it
maps it (:func:`receive`) or, for results it will not read, with
:func:`discard`. Where there is no shared memory directory, the table is sent
as is.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import pyarrow as pa

__all__ = ["SharedTable", "discard", "receive", "reserve", "send"]

_SHM_DIR = "/dev/shm"


@dataclass(frozen=True)
class SharedTable:
    """A table left by a worker in a shared-memory file, to be received once."""

    path: str


def _shared_dir() -> str | None:
    if os.path.isdir(_SHM_DIR) and os.access(_SHM_DIR, os.W_OK | os.X_OK):
        return _SHM_DIR
    return None


_PREFIX = "behavemodel-"
_SUFFIX = ".arrows"
_swept = False


def reserve() -> str | None:
    """Parent side: a new empty file for one worker result (None: no shared memory).

    The file is named after this process (``behavemodel-<pid>-*.arrows``), so
    that files left by a parent that was killed (SIGKILL leaves no chance to
    clean up) are recognised and removed by the next parse: see :func:`sweep`.
    """
    global _swept
    directory = _shared_dir()
    if directory is None:
        return None
    if not _swept:
        sweep(directory)
        _swept = True
    try:
        fd, path = tempfile.mkstemp(
            prefix=f"{_PREFIX}{os.getpid()}-", suffix=_SUFFIX, dir=directory
        )
    except OSError:  # full or not usable: send tables through the pipe instead
        return None
    os.close(fd)
    return path


def sweep(directory: str = _SHM_DIR) -> list[str]:
    """Remove result files whose owning process no longer exists; return their names.

    Only files this module names (``behavemodel-<pid>-*.arrows``) and owned by
    this user are looked at; a file whose process is alive is left alone.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = tempfile.mkdtemp()
    >>> _ = (pathlib.Path(folder) / "behavemodel-999999999-x.arrows").write_bytes(b"")
    >>> _ = (pathlib.Path(folder) / f"behavemodel-{os.getpid()}-y.arrows").write_bytes(b"")
    >>> sweep(folder)
    ['behavemodel-999999999-x.arrows']
    """
    removed: list[str] = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    uid = os.getuid()
    for name in sorted(names):
        if not (name.startswith(_PREFIX) and name.endswith(_SUFFIX)):
            continue
        pid_text = name[len(_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        path = os.path.join(directory, name)
        try:
            if os.lstat(path).st_uid == uid:
                os.unlink(path)
                removed.append(name)
        except OSError:
            continue
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's process, or not a pid we can ask about: keep
    return True


def send(table: pa.Table | None, path: str | None) -> pa.Table | SharedTable | None:
    """Worker side: write the table into ``path`` (from :func:`reserve`) if there is one."""
    if table is None or path is None:
        return table
    try:
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    except OSError:  # shared memory full: send the table through the pipe instead
        discard(path)
        return table
    return SharedTable(path)


def receive(sent: pa.Table | SharedTable | None) -> pa.Table | None:
    """Parent side: the table a worker passed to :func:`send` (its file removed).

    Examples
    --------
    >>> table = pa.table({"x": [1, 2]})
    >>> receive(send(table, reserve())).equals(table)
    True
    """
    if not isinstance(sent, SharedTable):
        return sent
    try:
        source = pa.memory_map(sent.path)
        try:
            return pa.ipc.open_stream(source).read_all()
        finally:
            source.close()  # the mapping lives on in the table's buffers
    finally:
        discard(sent.path)


def discard(path: str | None) -> None:
    """Remove a file from :func:`reserve` (nothing if it is gone already)."""
    if path is not None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
