"""Tests for behavemodel/monitor/_follow.py: tail -F with rotation, exact positions."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from behavemodel.monitor import FileFollower
from behavemodel.monitor._follow import MAX_LINE


def lines(n: int, tag: str) -> bytes:
    return b"".join(f"{tag}-{i:04d} some audit text\n".encode() for i in range(n))


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as fh:
        fh.write(data)


def read_all(follower: FileFollower, rounds: int = 3) -> bytes:
    out = b""
    for _ in range(rounds):
        out += b"".join(c.data for c in follower.read())
    return out


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "audit.log"


def test_start_at_end_or_beginning_and_hold_back_cut_lines(log: Path) -> None:
    log.write_bytes(lines(3, "old") + b"half a li")
    follower = FileFollower(log)
    assert follower.read() == []  # the backlog is skipped, the cut line waits
    append(log, b"ne\n" + lines(1, "new"))
    chunks = follower.read()
    assert b"".join(c.data for c in chunks) == b"half a line\n" + lines(1, "new")
    assert chunks[0].first_line == 4
    assert follower.position()["current"]["offset"] == log.stat().st_size
    follower.close()
    from_start = FileFollower(log, start="beginning")
    assert read_all(from_start) == log.read_bytes()
    from_start.close()


def test_rename_rotation_finishes_the_old_file_first(log: Path) -> None:
    notes: list[str] = []
    log.write_bytes(lines(2, "a"))
    follower = FileFollower(log, start="beginning", grace=0.5, report=notes.append)
    assert read_all(follower, 1) == lines(2, "a")
    append(log, lines(3, "b") + b"cut ")  # not read before the rotation
    old = log.rename(log.with_name("audit.log.1"))
    log.write_bytes(lines(2, "c"))
    assert read_all(follower, 2) == lines(3, "b") + lines(2, "c")
    assert any("rotated" in n for n in notes)
    # The writer appends to the renamed file until it reopens (logrotate "create" mode):
    # the rest is read, before anything newer.
    append(old, b"line\n" + lines(1, "late"))
    append(log, lines(1, "d"))
    assert read_all(follower, 1) == b"cut line\n" + lines(1, "late")
    assert read_all(follower, 1) == lines(1, "d")
    time.sleep(0.55)  # the old file stopped growing: closed after the grace period
    append(log, lines(1, "e"))
    assert read_all(follower) == lines(1, "e")
    assert follower.position()["retiring"] == []
    follower.close()


@pytest.mark.parametrize("new_size", ["shorter", "longer"])
def test_copytruncate_reads_the_rest_from_the_copy(log: Path, new_size: str) -> None:
    notes: list[str] = []
    log.write_bytes(lines(5, "a"))
    follower = FileFollower(log, start="beginning", report=notes.append)
    assert read_all(follower, 1) == lines(5, "a")
    append(log, lines(2, "b"))  # unread when logrotate copies and truncates
    shutil.copyfile(log, log.with_name("audit.log.1"))
    with log.open("r+b") as fh:
        fh.truncate(0)
    # "longer": the new content outgrows what was read before the follower looks, so
    # only the changed first bytes can tell.
    append(log, lines(1 if new_size == "shorter" else 40, "c"))
    got = read_all(follower)
    assert got == lines(2, "b") + lines(1 if new_size == "shorter" else 40, "c")
    assert any("copytruncate" in n for n in notes)
    follower.close()


def test_resume_after_rotation_while_stopped(log: Path) -> None:
    log.write_bytes(lines(2, "a"))
    first = FileFollower(log, start="beginning")
    read_all(first, 1)
    append(log, b"partial")
    position = first.position()
    first.close()
    append(log, b" line\n" + lines(1, "b"))
    log.rename(log.with_name("audit.log.2"))
    log.with_name("audit.log.1").write_bytes(lines(1, "c"))
    os.utime(log.with_name("audit.log.1"), ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    log.write_bytes(lines(1, "d"))
    second = FileFollower(log, position=position, grace=0)
    got = read_all(second, 6)
    assert got == b"partial line\n" + lines(1, "b") + lines(1, "c") + lines(1, "d")
    second.close()


def test_resume_after_copytruncate_while_stopped(log: Path) -> None:
    log.write_bytes(lines(4, "a"))
    first = FileFollower(log, start="beginning")
    read_all(first, 1)
    position = first.position()
    first.close()
    append(log, lines(2, "b"))
    shutil.copyfile(log, log.with_name("audit.log.1"))
    log.write_bytes(lines(1, "c"))  # truncate and write in place: same inode
    second = FileFollower(log, position=position, grace=0)
    assert read_all(second, 4) == lines(2, "b") + lines(1, "c")
    second.close()


def test_rewritten_file_with_the_same_inode_is_read_from_its_start(log: Path) -> None:
    notes: list[str] = []
    log.write_bytes(lines(2, "a"))
    first = FileFollower(log, start="beginning")
    read_all(first, 1)
    position = first.position()
    first.close()
    with log.open("r+b") as fh:  # same inode, longer, different beginning
        fh.write(lines(10, "z"))
    second = FileFollower(log, position=position, report=notes.append)
    assert read_all(second) == lines(10, "z")
    assert any("cannot find" in n for n in notes)
    second.close()


def test_waits_for_a_missing_file_and_skips_overlong_lines(log: Path) -> None:
    notes: list[str] = []
    follower = FileFollower(log, report=notes.append)
    assert follower.read() == []
    log.write_bytes(lines(1, "a") + b"x" * (MAX_LINE + 10))
    assert read_all(follower, 1) == lines(1, "a")
    append(log, b"y" * 100 + b"\n" + lines(1, "b"))
    assert read_all(follower) == lines(1, "b")
    chunks = FileFollower(log, start="beginning").read()
    assert chunks[-1].data.endswith(lines(1, "b"))
    position = follower.position()["current"]
    assert (position["offset"], position["line"]) == (log.stat().st_size, 3)
    assert any("does not exist yet" in n for n in notes)
    assert any("longer than" in n for n in notes)
    follower.close()


def test_regular_files_only(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # opening it must neither block (no writer) nor be accepted
    with pytest.raises(ValueError, match="regular file"):
        FileFollower(fifo)
