"""Resolve what a reader was given into ordered input streams.

A *stream* is one logical log: a file, or a set of rotated files of the same
log (``audit.log.3``, ``audit.log.2``, ``audit.log.1``, ``audit.log``) read oldest
first. Events never span two streams; they may span the files of one stream.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

__all__ = ["Stream", "open_input", "resolve_streams"]

_ROTATION = re.compile(r"^(?P<base>.*?)(?:\.(?P<n>\d+))?(?P<gz>\.gz)?$")
_GZIP_MAGIC = b"\x1f\x8b"

Source = str | os.PathLike[str] | BinaryIO | IO[bytes]


@dataclass(frozen=True)
class Stream:
    """One logical log: its parts in reading order and a display name."""

    name: str
    parts: tuple[Any, ...]  # Path or binary file objects


def _rotation_key(path: Path) -> tuple[str, int]:
    m = _ROTATION.match(path.name)
    assert m is not None  # the pattern matches every string
    number = int(m.group("n")) if m.group("n") else 0
    # Higher rotation numbers are older: read them first.
    return (str(path.parent / m.group("base")), -number)


def _stream_base(path: Path) -> str:
    return _rotation_key(path)[0]


def resolve_streams(source: Source | Sequence[Source]) -> list[Stream]:
    """Turn a reader's ``source`` argument into ordered streams.

    Accepts a path, a directory (read recursively, hidden files skipped), a
    list of either, an open binary file, or ``"-"`` for standard input. Paths
    that look like rotations of one log are ordered oldest first and form one
    stream.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ["audit.log", "audit.log.1", "audit.log.2.gz", "other.log"]:
    ...     _ = (d / name).write_bytes(b"")
    >>> [[p.name for p in s.parts] for s in resolve_streams(d)]
    [['audit.log.2.gz', 'audit.log.1', 'audit.log'], ['other.log']]
    """
    if isinstance(source, (str, os.PathLike)) or hasattr(source, "read"):
        items: list[Any] = [source]
    else:
        items = list(source)  # type: ignore[arg-type]
    paths: list[Path] = []
    streams: list[Stream] = []
    for item in items:
        if hasattr(item, "read"):
            streams.append(Stream(getattr(item, "name", "<stream>"), (item,)))
            continue
        if str(item) == "-":
            streams.append(Stream("<stdin>", (sys.stdin.buffer,)))
            continue
        path = Path(item)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            paths.extend(found)
        elif path.exists():
            paths.append(path)
        else:
            raise FileNotFoundError(f"No such audit log: {str(path)!r}")
    groups: dict[str, list[Path]] = {}
    for path in paths:
        groups.setdefault(_stream_base(path), []).append(path)
    for base, members in groups.items():
        members = sorted(set(members), key=_rotation_key)
        streams.append(Stream(base if len(members) > 1 else str(members[0]), tuple(members)))
    return streams


@contextmanager
def open_input(part: Any) -> Iterator[tuple[str, BinaryIO]]:
    """Open one part of a stream for binary reading, gunzipping when needed."""
    if isinstance(part, Path):
        with open(part, "rb") as raw:
            magic = raw.read(2)
            raw.seek(0)
            if magic == _GZIP_MAGIC:
                with gzip.GzipFile(fileobj=raw) as gz:
                    yield str(part), gz  # type: ignore[misc]
            else:
                yield str(part), raw
        return
    name = getattr(part, "name", "<stream>")
    if isinstance(part, io.TextIOBase):
        buffer = getattr(part, "buffer", None)
        if buffer is None:
            raise TypeError(
                f"The audit log source {name!r} is a text stream; open it in binary mode "
                "('rb') so that bytes which are not UTF-8 survive."
            )
        part = buffer
    yield str(name), part
