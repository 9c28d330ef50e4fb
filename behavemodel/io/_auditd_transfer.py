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


def reserve() -> str | None:
    """Parent side: a new empty file for one worker result (None: no shared memory)."""
    directory = _shared_dir()
    if directory is None:
        return None
    try:
        fd, path = tempfile.mkstemp(prefix="behavemodel-", suffix=".arrows", dir=directory)
    except OSError:  # full or not usable: send tables through the pipe instead
        return None
    os.close(fd)
    return path


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
