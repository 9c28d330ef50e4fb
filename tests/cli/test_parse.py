"""Tests for behavemodel/cli.py, run in-process with click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner

from behavemodel import schema as s
from behavemodel.cli import main

LINE = (
    "node=web-1 type=SYSCALL msg=audit(1700000000.100:{serial}): arch=c000003e syscall=59 "
    "success=yes exit=0 a0=3 a1=0 a2=0 a3=0 items=1 ppid=1 pid={pid} auid=1000 uid=0 gid=0 "
    'euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="id" exe={exe} key=(null)'
)


def write_log(path: Path, *extra: str, exe: str = '"/usr/bin/id"') -> Path:
    lines = [LINE.format(serial=i, pid=100 + i, exe=exe) for i in range(1, 4)]
    path.write_text("\n".join([*lines, *extra]) + "\n")
    return path


def test_parse_writes_canonical_parquet_and_a_summary(tmp_path: Path) -> None:
    log = write_log(tmp_path / "audit.log")
    out = tmp_path / "events.parquet"
    result = CliRunner().invoke(main, ["parse", str(log), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 3 events" in result.output
    assert "process_start" in result.output
    assert "lines: 3 read = 3 records + 0 blank/comment + 0 reported" in result.output
    table = pq.read_table(out)
    s.validate(s.conform(table))
    assert table.num_rows == 3


def test_bad_line_is_one_message_and_exit_2(tmp_path: Path) -> None:
    log = write_log(tmp_path / "audit.log", "not an audit record")
    result = CliRunner().invoke(main, ["parse", str(log), "-o", str(tmp_path / "o.parquet")])
    assert result.exit_code == 2
    assert result.output.strip() == (f"behavemodel: error: {log}:4: no audit record header")
    assert not (tmp_path / "o.parquet").exists()


def test_errors_file_collects_the_bad_lines(tmp_path: Path) -> None:
    log = write_log(tmp_path / "audit.log", "garbage \x1b[2J")
    errors = tmp_path / "errors.jsonl"
    result = CliRunner().invoke(
        main, ["parse", str(log), "-o", str(tmp_path / "o.parquet"), "--errors", str(errors)]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in errors.read_text().splitlines()]
    assert [(r["line"], r["reason"]) for r in rows] == [(4, "no audit record header")]
    assert "1 reported" in result.output


def test_stdin_and_host_option(tmp_path: Path) -> None:
    data = LINE.format(serial=1, pid=5, exe='"/bin/x"').replace("node=web-1 ", "") + "\n"
    out = tmp_path / "o.parquet"
    result = CliRunner().invoke(main, ["parse", "-", "-o", str(out), "--host", "db-2"], input=data)
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).column("host_name").to_pylist() == ["db-2"]


def test_hostile_values_cannot_reach_the_terminal_raw(tmp_path: Path) -> None:
    evil_host = "evil\x1b[2J"
    line = LINE.format(serial=1, pid=5, exe='"/bin/x"').replace("web-1", evil_host)
    log = tmp_path / "audit.log"
    log.write_text(line + "\n")
    result = CliRunner().invoke(main, ["parse", str(log), "-o", str(tmp_path / "o.parquet")])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    assert "evil\\x1b[2J" in result.output


def test_missing_input_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["parse", str(tmp_path / "nope"), "-o", "x.parquet"])
    assert result.exit_code == 2
    assert "No such audit log" in result.output


def test_users_map_names_uids(tmp_path: Path) -> None:
    log = write_log(tmp_path / "audit.log")
    users = tmp_path / "passwd"
    users.write_text("root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n")
    out = tmp_path / "o.parquet"
    result = CliRunner().invoke(main, ["parse", str(log), "-o", str(out), "--users", str(users)])
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert set(table.column("user_name").to_pylist()) == {"root"}
    assert set(table.column("login_name").to_pylist()) == {"alice"}


def test_help_is_complete() -> None:
    result = CliRunner().invoke(main, ["parse", "--help"])
    assert result.exit_code == 0
    for option in ("--output", "--host", "--on-error", "--errors", "--jobs", "--users"):
        assert option in result.output
