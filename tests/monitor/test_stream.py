"""Tests for behavemodel/monitor/_stream.py: standard input and pipes."""

from __future__ import annotations

import io
import os
import threading
import time

from behavemodel.monitor import StreamFollower
from behavemodel.monitor._follow import MAX_LINE


def lines(n: int, tag: str) -> bytes:
    return b"".join(f"{tag}-{i:04d} some audit text\n".encode() for i in range(n))


def drain(follower: StreamFollower, timeout: float = 10.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while not follower.eof and time.monotonic() < deadline:
        data += b"".join(c.data for c in follower.read())
        time.sleep(0.005)
    return data


def test_stream_follower_ends_with_the_stream() -> None:
    follower = StreamFollower(io.BytesIO(lines(3, "s") + b"tail"))
    data = drain(follower)
    assert data == lines(3, "s") + b"tail\n"
    assert follower.position() is None


def test_a_pipe_in_pieces_and_an_endless_line() -> None:
    read_end, write_end = os.pipe()
    reader = os.fdopen(read_end, "rb")
    follower = StreamFollower(reader)
    payload = lines(200, "p") + b"x" * (MAX_LINE + 5) + b"\n" + lines(1, "after")

    def write() -> None:
        with os.fdopen(write_end, "wb") as fh:
            for i in range(0, len(payload), 777):  # lines cut anywhere
                fh.write(payload[i : i + 777])
                fh.flush()

    writer = threading.Thread(target=write)
    writer.start()
    data = drain(follower)
    writer.join()
    reader.close()
    # Every line arrives whole; an over-long one is passed on (the parser reports it).
    assert data.startswith(lines(200, "p")) and data.endswith(lines(1, "after"))
    assert data.replace(b"\n", b"") == payload.replace(b"\n", b"")
