"""Read an audit stream (standard input, a pipe) that has no position to resume from.

An audisp ``af_unix`` plugin or ``tail -F ... | behavemodel monitor --follow -``
delivers lines on a stream. A background thread reads it into a bounded queue
(when the monitor falls behind, the writer is made to wait instead of memory
growing); :meth:`StreamFollower.read` hands out the complete lines. A stream
cannot be re-read, so it cannot be checkpointed.
"""

from __future__ import annotations

import queue
import threading
from typing import BinaryIO

from behavemodel.monitor._follow import MAX_LINE, Chunk

__all__ = ["StreamFollower"]


class StreamFollower:
    """Read complete lines from a stream (standard input, a pipe) on a background thread.

    Parameters
    ----------
    stream : binary file
        Read with ``read1`` (or ``read``) until it ends.
    name : str, default "<stdin>"
        Shown in messages.
    max_buffered : int, default 256
        Reads of up to 64 KiB held before the thread waits for the reader
        (back-pressure on the writer instead of unbounded memory).

    Examples
    --------
    >>> import io, time
    >>> follower = StreamFollower(io.BytesIO(b"a\\nb\\nno newline"))
    >>> chunks = []
    >>> while not follower.eof:
    ...     chunks += follower.read()
    ...     time.sleep(0.01)
    >>> b"".join(c.data for c in chunks)
    b'a\\nb\\nno newline\\n'
    """

    def __init__(self, stream: BinaryIO, *, name: str = "<stdin>", max_buffered: int = 256):
        self.name = name
        self.eof = False
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=max_buffered)
        self._partial = b""
        self._line = 0
        self._ended = False
        self._thread = threading.Thread(
            target=self._pump, args=(stream,), name="behavemodel-stdin", daemon=True
        )
        self._thread.start()

    def _pump(self, stream: BinaryIO) -> None:
        read = getattr(stream, "read1", None) or stream.read
        try:
            while True:
                data = read(1 << 16)
                if not data:
                    break
                self._queue.put(data)
        except (OSError, ValueError):  # closed underneath us
            pass
        self._queue.put(None)

    def read(self, max_bytes: int = 8 << 20) -> list[Chunk]:
        """Return the complete lines received so far (at most about ``max_bytes``)."""
        if self._ended:
            return []
        parts: list[bytes] = []
        total = 0
        while total < max_bytes:
            try:
                data = self._queue.get_nowait()
            except queue.Empty:
                break
            if data is None:
                self._ended = True
                break
            parts.append(data)
            total += len(data)
        buf = self._partial + b"".join(parts)
        self._partial = b""
        if self._ended:
            self.eof = True
            if buf and not buf.endswith(b"\n"):
                buf += b"\n"
        else:
            cut = buf.rfind(b"\n")
            buf, self._partial = buf[: cut + 1], buf[cut + 1 :]
            if len(self._partial) > MAX_LINE:  # never a valid record: pass it on as a line
                buf, self._partial = buf + self._partial + b"\n", b""
        if not buf:
            return []
        chunk = Chunk(buf, self.name, self._line + 1)
        self._line += buf.count(b"\n")
        return [chunk]

    def position(self) -> None:
        """A stream has no position to resume from."""
        return None

    def close(self) -> None:
        """Stop caring about the stream (the reading thread is a daemon)."""
        self._ended = True
