"""Tests for behavemodel/cli/_investigate.py, run in-process with click's CliRunner."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from behavemodel import schema
from behavemodel.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus" / "auditlogs"
START = pd.Timestamp("2024-03-04T10:00:00Z")

SYSCALL = (
    "node=web-1 type=SYSCALL msg=audit(1700000000.{ms:03d}:{serial}): arch=c000003e "
    "syscall=59 success=yes exit=0 a0=3 a1=0 a2=0 a3=0 items=1 ppid={ppid} pid={pid} "
    "auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 "
    'comm="{comm}" exe="{exe}" key=(null)'
)
EXECVE = "node=web-1 type=EXECVE msg=audit(1700000000.{ms:03d}:{serial}): argc={argc} {args}"


def write_log(path: Path) -> Path:
    """bash (parent 1) starts sh, which starts curl with a hostile argument."""
    procs = [
        (100, 1, 200, 1, "bash", "/usr/bin/bash", 'a0="bash"'),
        (200, 2, 201, 200, "sh", "/usr/bin/dash", 'a0="sh" a1="-c" a2="curl"'),
        (300, 3, 202, 201, "curl", "/usr/bin/curl", 'a0="curl" a1=1B5B324A'),  # ESC[2J
    ]
    lines = []
    for ms, serial, pid, ppid, comm, exe, args in procs:
        lines.append(SYSCALL.format(ms=ms, serial=serial, pid=pid, ppid=ppid, comm=comm, exe=exe))
        argc = args.count("=")
        lines.append(EXECVE.format(ms=ms, serial=serial, argc=argc, args=args))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_events(path: Path, rows: list[dict[str, Any]]) -> Path:
    records = []
    for i, row in enumerate(rows):
        row = {"host_name": "web-01", "event_type": "process_start", **row}
        t = START + pd.Timedelta(seconds=row.pop("t", i))
        row.update(time=t, event_id=f"{row['host_name']}:{t.value // 10**9}.000:{i + 1}")
        row.setdefault("source_format", "canonical")
        records.append(row)
    frame = pd.DataFrame.from_records(records)
    pq.write_table(schema.conform(frame, fill_missing=True), path)
    return path


SESSION: dict[str, Any] = {"login_uid": 1001, "session_id": 48, "tty": "pts0"}


def session_rows() -> list[dict[str, Any]]:
    return [
        {"t": 0, "event_type": "other", "record_type": "LOGIN", "process_pid": 2002,
         **SESSION},
        {"t": 1, "event_type": "login", "record_type": "USER_LOGIN", "process_pid": 2002,
         "user_name": "bob", "user_uid": 1001, "src_ip": "10.0.4.11", **SESSION},
        {"t": 2, "process_pid": 2003, "process_name": "bash", "process_cmdline": "-bash",
         "user_name": "bob", "user_uid": 1001, **SESSION},
        {"t": 3, "process_pid": 2004, "process_name": "cat",
         "process_cmdline": "cat /etc/shadow\x1b[2J", "user_name": "bob", "user_uid": 1001,
         **SESSION},
        {"t": 9, "event_type": "other", "record_type": "USER_LOGOUT", "process_pid": 2002,
         "user_name": "bob", "user_uid": 1001, "src_ip": "10.0.4.11", **SESSION},
    ]  # fmt: skip


def fleet_rows() -> list[dict[str, Any]]:
    """An ssh hop bastion-01 -> web-01, then a connection out of the fleet."""
    net = {"net_family": "inet"}
    return [
        {"t": 0, "host_name": "bastion-01", "event_type": "net_connect", "process_pid": 20,
         "process_name": "ssh", "dst_ip": "10.0.1.11", "dst_port": 22, "user_name": "bob",
         **net},
        {"t": 0.04, "host_name": "web-01", "event_type": "net_accept", "process_pid": 300,
         "process_name": "sshd", "src_ip": "10.0.4.11", "src_port": 51000, **net},
        {"t": 5, "host_name": "web-01", "event_type": "net_connect", "process_pid": 31,
         "process_name": "curl", "dst_ip": "93.184.216.34", "dst_port": 443, **net},
    ]  # fmt: skip


def invoke(*args: object) -> Any:
    return CliRunner().invoke(main, [str(a) for a in args])


def test_ancestry_from_a_raw_audit_log_escapes_hostile_text(tmp_path: Path) -> None:
    log = write_log(tmp_path / "audit.log")
    result = invoke("ancestry", log, "--event-id", "web-1:1700000000.300:3")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "event web-1:1700000000.300:3 on web-1",
        "  exe unknown [1]        (before log)  exe unknown",
        "  └─ bash [200]          22:13:20.100  bash",
        "     └─ sh [201]         22:13:20.200  sh -c curl",
        "        └─ curl [202]    22:13:20.300  curl '\\x1b[2J'",
    ]


def test_ancestry_writes_parquet_and_json(tmp_path: Path) -> None:
    log = write_log(tmp_path / "audit.log")
    ids = ["--event-id", "web-1:1700000000.300:3", "--event-id", "web-1:1700000000.200:2"]
    result = invoke("ancestry", log, *ids, "-o", tmp_path / "chain.parquet")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote 7 rows to {tmp_path / 'chain.parquet'}"
    table = pq.read_table(tmp_path / "chain.parquet").to_pandas()
    assert table["process_pid"].tolist() == [202, 201, 200, 1, 201, 200, 1]
    result = invoke("ancestry", log, *ids[:2], "-o", tmp_path / "chain.json")
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "chain.json").read_text())
    assert [r["relation"] for r in rows] == ["self", "parent", "parent", "parent"]
    assert rows[0]["start_time"] == "2023-11-14T22:13:20.300000+00:00"


def test_ancestry_errors_exit_2(tmp_path: Path) -> None:
    log = write_log(tmp_path / "audit.log")
    result = invoke("ancestry", log, "--event-id", "web-1:9.000:9")
    assert result.exit_code == 2
    assert result.output.startswith("behavemodel: error: No event with id 'web-1:9.000:9'")
    result = invoke("ancestry", log, "--event-id", "x", "-o", tmp_path / "out.csv")
    assert result.exit_code == 2 and "must end in .parquet, .json, .jsonl" in result.output
    result = invoke("ancestry", tmp_path / "missing.log", "--event-id", "x")
    assert result.exit_code == 2 and "does not exist" in result.output


def test_timeline_prints_sessions_and_lists_them(tmp_path: Path) -> None:
    events = write_events(tmp_path / "events.parquet", session_rows())
    result = invoke("timeline", events, "--login", "bob")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("session web-01:48  login bob (uid 1001)  tty pts0  from 10.0.4.11")
    assert lines[1:] == [
        "  2024-03-04 10:00:01.000  login    bob               from 10.0.4.11 on pts0",
        "  2024-03-04 10:00:02.000  command  bob  bash [2003]  -bash",
        "  2024-03-04 10:00:03.000  command  bob  cat [2004]   cat /etc/shadow\\x1b[2J",
        "  2024-03-04 10:00:09.000  logout   bob               from 10.0.4.11 on pts0",
    ]
    listed = invoke("timeline", events, "--list")
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines()[1].split()[:4] == ["web-01:48", "bob", "pts0", "10.0.4.11"]
    none = invoke("timeline", events, "--login", "mallory")
    assert (none.exit_code, none.output.strip()) == (0, "no matching login sessions")
    out = tmp_path / "rows.jsonl"
    result = invoke("timeline", events, "--session", "48", "--all", "-o", out)
    assert result.exit_code == 0, result.output
    kinds = [json.loads(line)["kind"] for line in out.read_text().splitlines()]
    assert kinds == ["login_uid", "login", "command", "command", "logout"]


def test_connections_follow_the_ssh_hop(tmp_path: Path) -> None:
    events = write_events(tmp_path / "events.parquet", fleet_rows())
    hosts = tmp_path / "hosts.csv"
    hosts.write_text("host,ip\nweb-01,10.0.1.11\nbastion-01 10.0.4.11\n")
    result = invoke("connections", events, "--host-addresses", hosts, "--addresses")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:4] == [
        "host addresses:",
        "  bastion-01  10.0.4.11  given",
        "  web-01      10.0.1.11  given",
        "",
    ]
    assert lines[4].split() == [
        "10:00:00.000", "bastion-01", "bob", "ssh", "[20]", "->", "web-01", "(10.0.1.11:22)",
        "sshd", "[300]", "+0.040s",
    ]  # fmt: skip
    assert lines[5].split()[-3:] == ["outside", "the", "fleet"]
    only = invoke("connections", events, "--host-addresses", hosts, "--from-host", "web-01")
    assert only.exit_code == 0 and len(only.output.splitlines()) == 1
    out = tmp_path / "c.parquet"
    result = invoke(
        "connections", events, "--host-addresses", hosts, "--status", "matched", "-o", out
    )
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).column("dst_host").to_pylist() == ["web-01"]
    bad = tmp_path / "bad.csv"
    bad.write_text("web-01\n")
    result = invoke("connections", events, "--host-addresses", bad)
    assert result.exit_code == 2 and "expected 'host,ip'" in result.output


def test_events_from_a_directory_of_parquet_and_a_raw_log_together(tmp_path: Path) -> None:
    folder = tmp_path / "dump"
    folder.mkdir()
    write_events(folder / "part-0.parquet", session_rows())
    log = write_log(tmp_path / "audit.log")
    result = invoke("ancestry", folder, log, "--event-id", "web-1:1700000000.200:2")
    assert result.exit_code == 0, result.output
    assert "sh [201]" in result.output
    result = invoke("timeline", folder, log, "--list")
    assert result.exit_code == 0 and "web-01:48" in result.output


def test_help_lists_the_subcommands_and_options() -> None:
    assert all(c in invoke("--help").output for c in ("ancestry", "timeline", "connections"))
    assert "--event-id" in invoke("ancestry", "--help").output
    timeline = invoke("timeline", "--help").output
    assert all(o in timeline for o in ("--host", "--login", "--session", "--output"))
    connections = invoke("connections", "--help").output
    assert all(o in connections for o in ("--from-host", "--window", "--host-addresses"))


@pytest.mark.corpus
def test_ancestry_on_the_real_dpkg_trace() -> None:
    if not CORPUS_DIR.is_dir():
        message = f"shared audit-log corpus not found at {CORPUS_DIR}"
        if os.environ.get("BEHAVEMODEL_CORPUS_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    trace = CORPUS_DIR / "laurel" / "proc-trace-dpkg-l.txt"
    result = invoke("ancestry", trace, "--event-id", ":1778355636.754:2322557")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "event :1778355636.754:2322557 on (unknown host)"
    assert [line.split("[")[0].strip(" └─=>") for line in lines[1:]] == [
        "exe unknown", "sshd", "bash", "dpkg", "dpkg-query", "sh", "pager",
    ]  # fmt: skip
    assert lines[5].lstrip().startswith("=> dpkg-query [1140462]")
