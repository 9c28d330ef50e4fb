"""Every built-in mapping, field by field, on the fixtures in tests/io/fixtures/.

Each expected row lists the canonical columns the source determines (``host_group``
only where it differs from ``host_name``); every other column must be null
("columns a source cannot give are null, never guessed"). The fixtures are written
by tests/io/fixtures/make_fixtures.py; the comments there say what each row shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from behavemodel import schema as s
from behavemodel.io._mapped import ReadReport, iter_events, read_events

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _value(v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v


def assert_rows(df: pd.DataFrame, expected: list[dict[str, Any]], source_format: str) -> None:
    """Every column of every row: the expected value, or null."""
    assert len(df) == len(expected)
    for i, want in enumerate(expected):
        got = {c: _value(df[c].iloc[i]) for c in df.columns}
        assert got.pop(s.SOURCE_FORMAT) == source_format
        want = dict(want)
        want.setdefault(s.HOST_GROUP, want.get(s.HOST_NAME))
        assert not set(want) - set(got), "expected a non-canonical column"
        full = {c: want.get(c) for c in got}
        assert got == full, f"row {i}: " + ", ".join(
            f"{c}: got {got[c]!r}, want {full[c]!r}" for c in got if got[c] != full[c]
        )


# OCSF 1.0: Launch (parent from process.parent_process), Open outbound and inbound,
# Refuse (a failed connect), File Create, Authentication Logon, Terminate (other).
# OCSF 1.4: process.path instead of file.path, working_directory, container, Listen,
# Linux auid -1 and session "4294967295" (unset: null), Traffic (other), class 6003.
# ECS: executed, connected-to (failed), accepted-connection-from, bound-socket,
# openat with O_WRONLY|O_CREAT|O_TRUNC (file_write) and read-only (other, EACCES),
# a USER_LOGIN record, and Auditbeat 6.x names; then flattened dotted keys.
# osquery: process_events (execve, clone), socket_events (connect, bind, accept), a
# snapshot of listening_ports (one row per element, at the query's run time).
# laurel: percent-encoded g++, PARENT_INFO/SYSCALL.PPID, SADDR struct, big-endian
# ppc64 bind without NODE (event id starts with ":"), inet6 accept, an open that
# CREATEs a relative name, USER_LOGIN with a nested msg, ARGV_STR and a duplicate key.

# fmt: off
OCSF_10 = [
    {"time": "2024-01-01T00:00:00+00:00", "host_name": "web-1", "event_type": "process_start",
     "success": True, "process_pid": 812, "parent_pid": 700, "process_name": "sh",
     "process_exe": "/bin/sh", "process_cmdline": "sh -c 'curl x | sh'",
     "cmdline_source": "execve", "parent_exe": "/usr/sbin/nginx", "parent_name": "nginx",
     "user_name": "www-data", "user_uid": 33, "session_id": 4, "tty": "pts0",
     "event_id": "web-1:1704067200.000:p-1"},
    {"time": "2024-01-01T00:00:01+00:00", "host_name": "web-1", "event_type": "net_connect",
     "success": True, "process_pid": 813, "process_name": "curl", "process_exe": "/usr/bin/curl",
     "user_name": "www-data", "user_uid": 33, "src_ip": "10.0.0.5", "src_port": 40001,
     "dst_ip": "93.184.216.34", "dst_port": 443, "net_family": "inet", "net_direction": "outbound",
     "event_id": "web-1:1704067201.000:n-1"},
    {"time": "2024-01-01T00:00:02+00:00", "host_name": "web-1", "event_type": "net_accept",
     "success": True, "process_pid": 90, "process_name": "sshd", "process_exe": "/usr/sbin/sshd",
     "user_name": "root", "user_uid": 0, "src_ip": "10.0.0.9", "src_port": 51000,
     "dst_ip": "10.0.0.5", "dst_port": 22, "net_family": "inet", "net_direction": "inbound",
     "event_id": "web-1:1704067202.000:n-2"},
    {"time": "2024-01-01T00:00:03+00:00", "host_name": "web-1", "event_type": "net_connect",
     "success": False, "process_pid": 814, "process_name": "wget", "process_exe": "/usr/bin/wget",
     "dst_ip": "198.51.100.1", "dst_port": 8443, "net_family": "inet", "net_direction": "outbound",
     "event_id": "web-1:1704067203.000:n-3"},
    {"time": "2024-01-01T00:00:04+00:00", "host_name": "web-1", "event_type": "file_write",
     "success": True, "process_pid": 815, "process_name": "tee", "process_exe": "/usr/bin/tee",
     "user_name": "root", "user_uid": 0, "file_path": "/etc/cron.d/job",
     "event_id": "web-1:1704067204.000:f-1"},
    {"time": "2024-01-01T00:00:05+00:00", "host_name": "web-1", "event_type": "login",
     "success": True, "process_pid": 90, "process_name": "sshd", "process_exe": "/usr/sbin/sshd",
     "user_name": "alice", "user_uid": 1000, "src_ip": "203.0.113.7", "src_port": 50022,
     "event_id": "web-1:1704067205.000:a-1"},
    {"time": "2024-01-01T00:00:06+00:00", "host_name": "web-1", "event_type": "other",
     "success": True, "exit_code": 0, "process_pid": 812, "process_name": "sh",
     "process_exe": "/bin/sh", "event_id": "web-1:1704067206.000:p-2"},
]
# fmt: on

# fmt: off
OCSF_14 = [
    {"time": "2024-01-01T00:00:10+00:00", "host_name": "db-1", "event_type": "process_start",
     "success": True, "process_pid": 2100, "parent_pid": 1, "process_name": "postgres",
     "process_exe": "/usr/sbin/postgres", "process_cmdline": "postgres -D /data",
     "cmdline_source": "execve", "parent_exe": "/usr/lib/systemd/systemd",
     "parent_name": "systemd", "user_name": "postgres", "user_uid": 111,
     "cwd": "/var/lib/postgresql", "container_id": "c0ffee",
     "event_id": "db-1:1704067210.000:p-3"},
    {"time": "2024-01-01T00:00:11+00:00", "host_name": "db-1", "event_type": "net_listen",
     "success": True, "process_pid": 2100, "parent_pid": 1, "process_name": "postgres",
     "process_exe": "/usr/sbin/postgres", "parent_exe": "/usr/lib/systemd/systemd",
     "parent_name": "systemd", "dst_ip": "0.0.0.0", "dst_port": 5432, "net_family": "inet",
     "net_direction": "listen", "event_id": "db-1:1704067211.000:n-4"},
    {"time": "2024-01-01T00:00:12+00:00", "host_name": "db-1", "event_type": "net_connect",
     "success": True, "process_pid": 2200, "process_name": "psql", "process_exe": "/usr/bin/psql",
     "user_name": "bob", "user_uid": 1001, "login_uid": 1001, "src_ip": "fd00::5",
     "src_port": 50100, "dst_ip": "fd00::6", "dst_port": 5432, "net_family": "inet6",
     "net_direction": "outbound", "event_id": "db-1:1704067212.000:n-5"},
    {"time": "2024-01-01T00:00:13+00:00", "host_name": "db-1", "event_type": "other",
     "process_pid": 2100, "process_name": "postgres", "process_exe": "/usr/sbin/postgres",
     "src_ip": "fd00::6", "src_port": 5432, "dst_ip": "fd00::5", "dst_port": 50100,
     "net_family": "inet6", "net_direction": "inbound", "event_id": "db-1:1704067213.000:n-6"},
    {"time": "2024-01-01T00:00:14+00:00", "host_name": "db-1", "event_type": "other",
     "event_id": "db-1:1704067214.000:x-1"},
]
# fmt: on

# fmt: off
ECS_NESTED = [
    {"time": "2024-01-01T00:00:00+00:00", "host_name": "app-1", "event_type": "process_start",
     "record_type": "SYSCALL", "syscall": "execve", "success": True, "exit_code": 0,
     "process_pid": 4001, "parent_pid": 4000, "process_name": "curl",
     "process_exe": "/usr/bin/curl", "process_cmdline": "curl -o 'my file'",
     "cmdline_source": "execve", "user_name": "alice", "user_uid": 1000, "login_uid": 1000,
     "login_name": "alice", "session_id": 3, "tty": "pts0", "cwd": "/home/alice",
     "audit_key": "exec", "event_id": "app-1:1704067200.000:101"},
    {"time": "2024-01-01T00:00:01+00:00", "host_name": "app-1", "event_type": "net_connect",
     "record_type": "SYSCALL", "syscall": "connect", "success": False, "exit_code": -115,
     "process_pid": 4001, "process_name": "curl", "process_exe": "/usr/bin/curl",
     "process_cmdline": "curl -o my file", "cmdline_source": "proctitle", "user_name": "alice",
     "user_uid": 1000, "login_uid": 1000, "login_name": "alice", "dst_ip": "93.184.216.34",
     "dst_port": 443, "net_family": "inet", "net_direction": "outbound", "audit_key": "net",
     "event_id": "app-1:1704067201.000:102"},
    {"time": "2024-01-01T00:00:02+00:00", "host_name": "app-1", "event_type": "net_accept",
     "record_type": "SYSCALL", "syscall": "accept4", "success": True, "exit_code": 5,
     "process_pid": 90, "process_name": "sshd", "process_exe": "/usr/sbin/sshd",
     "process_cmdline": "sshd", "cmdline_source": "comm", "user_name": "root", "user_uid": 0,
     "src_ip": "2001:db8::7", "src_port": 50000, "net_family": "inet6", "net_direction": "inbound",
     "event_id": "app-1:1704067202.000:103"},
    {"time": "2024-01-01T00:00:03+00:00", "host_name": "app-1", "event_type": "net_listen",
     "record_type": "SYSCALL", "syscall": "bind", "success": True, "exit_code": 0,
     "process_pid": 4100, "process_name": "nc", "process_exe": "/usr/bin/nc.openbsd",
     "process_cmdline": "nc -l -p 4444", "cmdline_source": "proctitle", "user_name": "www-data",
     "user_uid": 33, "dst_ip": "0.0.0.0", "dst_port": 4444, "net_family": "inet",
     "net_direction": "listen", "event_id": "app-1:1704067203.000:104"},
    {"time": "2024-01-01T00:00:04+00:00", "host_name": "app-1", "event_type": "file_write",
     "record_type": "SYSCALL", "syscall": "openat", "success": True, "exit_code": 3,
     "process_pid": 4200, "process_name": "sh", "process_exe": "/bin/sh", "process_cmdline": "sh",
     "cmdline_source": "comm", "user_name": "root", "user_uid": 0, "login_uid": 1000,
     "login_name": "alice", "file_path": "/etc/cron.d/job",
     "event_id": "app-1:1704067204.000:105"},
    {"time": "2024-01-01T00:00:05+00:00", "host_name": "app-1", "event_type": "other",
     "record_type": "SYSCALL", "syscall": "openat", "success": False, "exit_code": -13,
     "process_pid": 4201, "process_name": "cat", "process_exe": "/usr/bin/cat",
     "process_cmdline": "cat", "cmdline_source": "comm", "user_uid": 1000,
     "event_id": "app-1:1704067205.000:106"},
    {"time": "2024-01-01T00:00:06+00:00", "host_name": "app-1", "event_type": "login",
     "record_type": "USER_LOGIN", "success": True, "process_pid": 90,
     "process_exe": "/usr/sbin/sshd", "user_name": "alice", "user_uid": 1000, "tty": "pts1",
     "src_ip": "203.0.113.7", "event_id": "app-1:1704067206.000:107"},
    {"time": "2024-01-01T00:00:07+00:00", "host_name": "app-1", "event_type": "process_start",
     "syscall": "execve", "success": True, "process_pid": 4300, "parent_pid": 1,
     "process_name": "cron", "process_exe": "/usr/sbin/cron",
     "process_cmdline": "/usr/sbin/CRON -f", "cmdline_source": "proctitle", "user_name": "root",
     "user_uid": 0, "session_id": 9, "event_id": "app-1:1704067207.000:108"},
]
# fmt: on

# fmt: off
ECS_FLAT = [
    {"time": "2024-01-01T00:00:08+00:00", "host_name": "app-2", "event_type": "process_start",
     "syscall": "execve", "success": True, "process_pid": 5001, "parent_pid": 5000,
     "process_name": "ls", "process_exe": "/bin/ls", "process_cmdline": "ls -la",
     "cmdline_source": "execve", "user_name": "alice", "user_uid": 1000,
     "event_id": "app-2:1704067208.000:201"},
    {"time": "2024-01-01T00:00:09+00:00", "host_name": "app-2", "event_type": "net_connect",
     "syscall": "connect", "success": True, "process_pid": 5002, "process_name": "ssh",
     "process_exe": "/usr/bin/ssh", "process_cmdline": "ssh", "cmdline_source": "comm",
     "user_name": "alice", "user_uid": 1000, "dst_ip": "10.1.1.1", "dst_port": 22,
     "net_family": "inet", "net_direction": "outbound", "event_id": "app-2:1704067209.000:202"},
]
# fmt: on

# fmt: off
OSQUERY_LOG = [
    {"time": "2024-01-01T00:00:01+00:00", "host_name": "db-2", "event_type": "process_start",
     "syscall": "execve", "process_pid": 7001, "parent_pid": 7000,
     "process_exe": "/usr/bin/python3", "process_cmdline": "python3 -c import os",
     "cmdline_source": "execve", "user_uid": 998, "login_uid": 1002, "cwd": "/srv",
     "event_id": "db-2:1704067201.000:0000042"},
    {"time": "2024-01-01T00:00:02+00:00", "host_name": "db-2", "event_type": "net_connect",
     "syscall": "connect", "success": True, "process_pid": 7001, "process_exe": "/usr/bin/python3",
     "login_uid": 1002, "dst_ip": "198.51.100.20", "dst_port": 4444, "net_family": "inet",
     "net_direction": "outbound", "event_id": "db-2:1704067202.000:0000043"},
    {"time": "2024-01-01T00:00:03+00:00", "host_name": "db-2", "event_type": "net_listen",
     "syscall": "bind", "success": True, "process_pid": 80, "process_exe": "/usr/sbin/nginx",
     "dst_ip": "::", "dst_port": 80, "net_family": "inet6", "net_direction": "listen",
     "event_id": "db-2:1704067203.000:osqueryd.results.log#3"},
    {"time": "2024-01-01T00:00:04+00:00", "host_name": "db-2", "event_type": "net_accept",
     "syscall": "accept", "process_pid": 80, "process_exe": "/usr/sbin/nginx",
     "src_ip": "10.0.0.3", "src_port": 40400, "dst_ip": "10.0.0.2", "dst_port": 80,
     "net_family": "inet", "net_direction": "inbound",
     "event_id": "db-2:1704067204.000:osqueryd.results.log#4"},
    {"time": "2024-01-01T00:00:05+00:00", "host_name": "db-2", "event_type": "other",
     "syscall": "clone", "process_pid": 7002, "process_exe": "/bin/bash",
     "process_cmdline": "bash", "cmdline_source": "execve", "user_uid": 0,
     "event_id": "db-2:1704067205.000:osqueryd.results.log#5"},
    {"time": "2024-01-01T00:01:01+00:00", "host_name": "db-2", "event_type": "other",
     "process_pid": 80, "process_exe": "/usr/sbin/nginx",
     "event_id": "db-2:1704067261.000:osqueryd.results.log#6.1"},
    {"time": "2024-01-01T00:01:01+00:00", "host_name": "db-2", "event_type": "other",
     "process_pid": 1, "event_id": "db-2:1704067261.000:osqueryd.results.log#6.2"},
]
# fmt: on

# fmt: off
OSQUERY_FLAT = [
    {"time": "2024-01-01T00:00:10+00:00", "host_name": "db-3", "event_type": "process_start",
     "syscall": "execve", "process_pid": 8001, "parent_pid": 8000, "process_exe": "/usr/bin/id",
     "process_cmdline": "id -u", "cmdline_source": "execve", "user_uid": 0, "login_uid": 1000,
     "cwd": "/", "event_id": "db-3:1704067210.000:osquery-flat.parquet#1"},
    {"time": "2024-01-01T00:00:11+00:00", "host_name": "db-3", "event_type": "net_connect",
     "syscall": "connect", "process_pid": 8002, "process_exe": "/usr/bin/curl", "login_uid": 1000,
     "src_ip": "10.0.0.4", "src_port": 40000, "dst_ip": "203.0.113.9", "dst_port": 80,
     "net_family": "inet", "net_direction": "outbound",
     "event_id": "db-3:1704067211.000:osquery-flat.parquet#2"},
]
# fmt: on

# fmt: off
LAUREL = [
    {"time": "2024-01-01T00:00:00.100000+00:00", "host_name": "edge-1",
     "event_type": "process_start", "record_type": "SYSCALL", "syscall": "execve", "success": True,
     "exit_code": 0, "process_pid": 9001, "parent_pid": 9000, "process_name": "g++",
     "process_exe": "/usr/bin/g++", "process_cmdline": "g++ -o 'a b.o'",
     "cmdline_source": "execve", "parent_exe": "/usr/bin/make", "parent_name": "make",
     "user_name": "root", "user_uid": 0, "login_uid": 1000, "login_name": "carol", "session_id": 7,
     "tty": "pts2", "cwd": "/src", "audit_key": "build,tools",
     "event_id": "edge-1:1704067200.100:501"},
    {"time": "2024-01-01T00:00:01.200000+00:00", "host_name": "edge-1",
     "event_type": "net_connect", "record_type": "SYSCALL", "syscall": "connect", "success": False,
     "exit_code": -115, "process_pid": 9002, "parent_pid": 9001, "process_name": "curl",
     "process_exe": "/usr/bin/curl", "process_cmdline": "curl https://example.org",
     "cmdline_source": "proctitle", "user_name": "root", "user_uid": 0, "login_uid": 1000,
     "login_name": "carol", "session_id": 7, "tty": "pts2", "dst_ip": "80.184.216.34",
     "dst_port": 443, "net_family": "inet", "net_direction": "outbound", "container_id": "d0cafe",
     "event_id": "edge-1:1704067201.200:502"},
    {"time": "2024-01-01T00:00:02.300000+00:00", "event_type": "net_listen",
     "record_type": "SYSCALL", "syscall": "bind", "success": True, "exit_code": 0,
     "process_pid": 9100, "parent_pid": 1, "process_name": "nc",
     "process_exe": "/usr/bin/nc.openbsd", "process_cmdline": "nc -l -p 4444",
     "cmdline_source": "proctitle", "user_name": "root", "user_uid": 0, "login_uid": 1000,
     "login_name": "carol", "session_id": 7, "tty": "pts2", "dst_ip": "0.0.0.0", "dst_port": 4444,
     "net_family": "inet", "net_direction": "listen", "event_id": ":1704067202.300:503",
     "host_name": None},
    {"time": "2024-01-01T00:00:03.400000+00:00", "host_name": "edge-1", "event_type": "net_accept",
     "record_type": "SYSCALL", "syscall": "accept4", "success": True, "exit_code": 0,
     "process_pid": 90, "parent_pid": 1, "process_name": "sshd", "process_exe": "/usr/sbin/sshd",
     "process_cmdline": "sshd", "cmdline_source": "comm", "user_name": "root", "user_uid": 0,
     "src_ip": "2001:db8::7", "src_port": 50000, "net_family": "inet6", "net_direction": "inbound",
     "event_id": "edge-1:1704067203.400:504"},
    {"time": "2024-01-01T00:00:04.500000+00:00", "host_name": "edge-1", "event_type": "file_write",
     "record_type": "SYSCALL", "syscall": "openat", "success": True, "exit_code": 0,
     "process_pid": 9200, "parent_pid": 9001, "process_name": "tee", "process_exe": "/usr/bin/tee",
     "process_cmdline": "tee job", "cmdline_source": "proctitle", "user_name": "root",
     "user_uid": 0, "login_uid": 1000, "login_name": "carol", "session_id": 7, "tty": "pts2",
     "cwd": "/etc/cron.d", "file_path": "/etc/cron.d/job",
     "event_id": "edge-1:1704067204.500:505"},
    {"time": "2024-01-01T00:00:05.600000+00:00", "host_name": "edge-1", "event_type": "login",
     "record_type": "USER_LOGIN", "success": True, "process_pid": 9300,
     "process_exe": "/usr/sbin/sshd", "user_uid": 1000, "login_uid": 1000, "login_name": "carol",
     "session_id": 8, "tty": "pts3", "src_ip": "203.0.113.5",
     "event_id": "edge-1:1704067205.600:506"},
    {"time": "2024-01-01T00:00:06.700000+00:00", "host_name": "edge-1",
     "event_type": "process_start", "record_type": "SYSCALL", "syscall": "execve", "success": True,
     "exit_code": 0, "process_pid": 9400, "parent_pid": 1, "process_name": "sh",
     "process_exe": "/bin/sh", "process_cmdline": "sh -c echo hi", "cmdline_source": "execve",
     "user_uid": 0, "login_uid": 1000, "session_id": 7, "event_id": "edge-1:1704067206.700:507"},
]
# fmt: on

# fmt: off
CANONICAL = [
    {"time": "2024-01-01T00:00:00+00:00", "host_name": "web-1", "host_group": "web",
     "event_type": "process_start", "syscall": "execve", "process_pid": 10,
     "process_exe": "/bin/sh", "event_id": "web-1:1704067200.000:1"},
    {"time": "2024-01-01T00:00:01+00:00", "host_name": "web-2", "event_type": "net_connect",
     "syscall": "connect", "process_pid": 11, "process_exe": "/usr/bin/curl", "dst_ip": "10.9.9.9",
     "dst_port": 443, "net_direction": "outbound", "event_id": "web-2:1704067201.000:2"},
]
# fmt: on


def test_ocsf_1_0_parquet() -> None:
    df = read_events(FIXTURES / "ocsf-1.0.parquet", schema="ocsf")
    assert_rows(df, OCSF_10, "ocsf-1.x")


def test_ocsf_1_4_parquet_moved_paths() -> None:
    df = read_events(FIXTURES / "ocsf-1.4.parquet", schema="ocsf")
    assert_rows(df, OCSF_14, "ocsf-1.x")


def test_ocsf_json_lines() -> None:
    df = read_events(FIXTURES / "ocsf-1.1.jsonl", schema="ocsf")
    assert_rows(df, OCSF_10[:2], "ocsf-1.x")


def test_ocsf_versions_together_in_one_read() -> None:
    """Each file is resolved against its own schema, so versions can be mixed."""
    paths = [FIXTURES / "ocsf-1.0.parquet", FIXTURES / "ocsf-1.4.parquet"]
    assert_rows(read_events(paths, schema="ocsf"), OCSF_10 + OCSF_14, "ocsf-1.x")


def test_ecs_nested_json() -> None:
    df = read_events(FIXTURES / "auditbeat.ndjson", schema="ecs")
    assert_rows(df, ECS_NESTED, "ecs-auditbeat")


def test_ecs_flattened_dotted_keys_parquet() -> None:
    assert "process.pid" in pq.read_schema(FIXTURES / "auditbeat-flat.parquet").names
    df = read_events(FIXTURES / "auditbeat-flat.parquet", schema="ecs")
    assert_rows(df, ECS_FLAT, "ecs-auditbeat")


def test_osquery_result_log_events_and_snapshots() -> None:
    report = ReadReport()
    df = read_events(FIXTURES / "osqueryd.results.log", schema="osquery", report=report)
    assert_rows(df, OSQUERY_LOG, "osquery")
    assert (report.rows_read, report.events, report.rows_reported) == (7, 7, 0)


def test_osquery_flattened_parquet() -> None:
    df = read_events(FIXTURES / "osquery-flat.parquet", schema="osquery")
    assert_rows(df, OSQUERY_FLAT, "osquery")


def test_osquery_gzipped_rotated_log() -> None:
    df = read_events(FIXTURES / "osqueryd.results.log.1.gz", schema="osquery")
    assert_rows(df, OSQUERY_LOG[:1], "osquery")


def test_laurel_json_lines() -> None:
    report = ReadReport()
    df = read_events(FIXTURES / "laurel-audit.log", schema="laurel", report=report)
    assert_rows(df, LAUREL, "laurel")
    assert (report.rows_read, report.events, report.blank_lines) == (7, 7, 1)


def test_canonical_dump_keeps_its_source_format() -> None:
    assert_rows(read_events(FIXTURES / "canonical.parquet"), CANONICAL, "auditd")


@pytest.mark.parametrize(
    ("name", "schema"),
    [
        ("ocsf-1.0.parquet", "ocsf"),
        ("ocsf-1.1.jsonl", "ocsf"),
        ("auditbeat.ndjson", "ecs"),
        ("osqueryd.results.log", "osquery"),
        ("laurel-audit.log", "laurel"),
        ("canonical.parquet", "canonical"),
    ],
)
def test_batches_conform_exactly(name: str, schema: str) -> None:
    batches = list(iter_events(FIXTURES / name, schema=schema, batch_size=3))
    assert batches and all(b.num_rows <= 3 for b in batches)
    for batch in batches:
        assert batch.schema.equals(s.CANONICAL_SCHEMA, check_metadata=True)
        s.validate(batch)
