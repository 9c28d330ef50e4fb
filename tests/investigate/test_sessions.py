"""Tests for behavemodel/investigate/_sessions.py: login-session timelines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from behavemodel import schema
from behavemodel.investigate import (
    SESSION_COLUMNS,
    TIMELINE_COLUMNS,
    TimelineReport,
    list_sessions,
    session_timeline,
)

Make = Callable[..., pa.Table]
BOB: dict[str, Any] = {"login_uid": 1001, "session_id": 48, "tty": "pts0"}
CLIENT = "10.0.4.11"


def _record(kind: str, t: float, pid: int = 2002, **extra: Any) -> dict[str, Any]:
    return {
        "t": t,
        "event_type": "login" if kind == "USER_LOGIN" else "other",
        "record_type": kind,
        "process_pid": pid,
        "success": True,
        **extra,
    }


def _command(
    pid: int, ppid: int, line: str, t: float, uid: int = 1001, **extra: Any
) -> dict[str, Any]:
    program = line.split()[0]
    return {
        "t": t,
        "event_type": "process_start",
        "record_type": "SYSCALL",
        "syscall": "execve",
        "process_pid": pid,
        "parent_pid": ppid,
        "process_name": program.lstrip("-"),
        "process_exe": f"/usr/bin/{program.lstrip('-')}",
        "process_cmdline": line,
        "user_uid": uid,
        "user_name": {0: "root", 1001: "bob"}[uid],
        **BOB,
        **extra,
    }


def _bob_session() -> list[dict[str, Any]]:
    """bob logs in over ssh, runs sudo, hops on with ssh, edits a file, logs out."""
    listener = {"process_pid": 383, "parent_pid": 1, "process_name": "sshd",
                "process_exe": "/usr/sbin/sshd", "user_name": "root", "user_uid": 0}  # fmt: skip
    nrpe = {"process_pid": 419, "parent_pid": 1, "process_name": "nrpe",
            "process_exe": "/usr/sbin/nrpe", "user_name": "nagios"}  # fmt: skip
    return [
        {"t": 0.0, "event_type": "net_accept", "syscall": "accept", "src_ip": CLIENT,
         "src_port": 35851, "net_direction": "inbound", **listener},
        {**_command(2002, 383, "sshd -D -R", 0.005, uid=0), "login_uid": None,
         "session_id": None, "tty": None},
        # a monitoring check from the same address, between the accept and the login
        {"t": 0.1, "event_type": "net_accept", "syscall": "accept4", "src_ip": CLIENT,
         "src_port": 50000, "net_direction": "inbound", **nrpe},
        _record("USER_AUTH", 0.20, src_ip=CLIENT, tty="ssh", user_name="bob"),
        _record("LOGIN", 0.25, login_uid=1001, session_id=48),
        _record("USER_START", 0.26, src_ip=CLIENT, tty="ssh", user_name="bob", **{
            k: v for k, v in BOB.items() if k != "tty"}),
        _record("USER_LOGIN", 0.30, src_ip=CLIENT, user_name="bob", user_uid=1001, **BOB),
        _command(2003, 2002, "-bash", 0.4),
        _command(2010, 2003, "sudo du -sh /var", 5.0),
        _command(2011, 2010, "du -sh /var", 5.1, uid=0),
        _command(2012, 2003, "ssh db-02", 9.0),
        {"t": 9.01, "event_type": "net_connect", "syscall": "connect", "process_pid": 2012,
         "process_name": "ssh", "process_exe": "/usr/bin/ssh", "user_name": "bob",
         "user_uid": 1001, "dst_ip": "10.0.2.12", "dst_port": 22, **BOB},
        _command(2013, 2003, "vim /etc/hosts", 20.0, uid=0),
        {"t": 25.0, "event_type": "file_write", "syscall": "openat", "process_pid": 2013,
         "process_name": "vim", "user_name": "root", "user_uid": 0,
         "file_path": "/etc/hosts", **BOB},
        _record("USER_END", 60.0, src_ip=CLIENT, tty="ssh", user_name="bob",
                login_uid=1001, session_id=48),
        _record("USER_LOGOUT", 60.01, src_ip=CLIENT, user_name="bob", user_uid=1001, **BOB),
    ]  # fmt: skip


def _cron(ses: int, t: float) -> list[dict[str, Any]]:
    keys = {"login_uid": 0, "session_id": ses}
    return [
        _record("LOGIN", t, pid=900 + ses, **keys),
        _record("USER_START", t + 0.01, pid=900 + ses, tty="cron", user_name="root", **keys),
        {**_command(950 + ses, 381, "/bin/sh -c run-parts", t + 0.02, uid=0), **keys,
         "tty": None},
        _record("USER_END", t + 1, pid=900 + ses, tty="cron", user_name="root", **keys),
    ]  # fmt: skip


@pytest.fixture
def events(make_events: Make) -> pa.Table:
    return make_events(_bob_session() + _cron(49, 30.0))


def _values(frame: pd.DataFrame, column: str) -> list[Any]:
    return [None if pd.isna(v) else v for v in frame[column]]


def test_timeline_lists_the_session_in_order_with_its_commands(events: pa.Table) -> None:
    rows = session_timeline(events, login="bob")
    assert tuple(rows.columns) == TIMELINE_COLUMNS
    assert set(rows["session"]) == {"web-01:48"}
    assert rows["kind"].tolist() == [
        "accept", "login_uid", "session_open", "login", "command", "command", "command",
        "command", "connect", "command", "file_write", "session_close", "logout",
    ]  # fmt: skip
    commands = rows[rows["kind"] == "command"]
    assert commands["process_cmdline"].tolist() == [
        "-bash", "sudo du -sh /var", "du -sh /var", "ssh db-02", "vim /etc/hosts",
    ]  # fmt: skip
    # sudo keeps the login uid: du runs as root in bob's session.
    assert commands["user_name"].tolist() == ["bob", "bob", "root", "bob", "root"]
    assert commands["elevated"].tolist() == [False, False, True, False, True]
    # The accept that opened it is sshd's, not the monitoring check from the same address.
    accept = rows.iloc[0]
    assert (accept["process_name"], accept["src_port"]) == ("sshd", 35851)
    assert _values(rows, "login_name") == ["bob"] * len(rows)


def test_sessions_summary(events: pa.Table) -> None:
    found = list_sessions(events)
    assert tuple(found.columns) == SESSION_COLUMNS
    assert found["session"].tolist() == ["web-01:48", "web-01:49"]
    bob, cron = found.iloc[0], found.iloc[1]
    assert (bob["login_name"], bob["tty"], bob["source_ip"]) == ("bob", "pts0", CLIENT)
    assert (bob["commands"], bob["connections"], bob["file_writes"]) == (5, 1, 1)
    assert bool(bob["logged_out"]) and bob["start"] == pd.Timestamp("2024-03-04T10:00:00Z")
    assert bob["accept_event_id"] == events.column("event_id")[0].as_py()
    assert (cron["login_name"], cron["tty"], cron["commands"]) == ("root", "cron", 1)
    assert pd.isna(cron["accept_event_id"]) and pd.isna(cron["source_ip"])


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"login": "bob"}, ["web-01:48"]),
        ({"login": "1001"}, ["web-01:48"]),
        ({"login": 0}, ["web-01:49"]),
        ({"login": "mallory"}, []),
        ({"session": 49}, ["web-01:49"]),
        ({"host": "web-01", "session": 48}, ["web-01:48"]),
        ({"host": "db-02"}, []),
    ],
)
def test_filters(events: pa.Table, kwargs: dict[str, Any], expected: list[str]) -> None:
    assert list_sessions(events, **kwargs)["session"].tolist() == expected
    assert session_timeline(events, **kwargs)["session"].unique().tolist() == expected


def test_a_session_id_reused_after_a_reboot_is_a_new_session(make_events: Make) -> None:
    events = make_events(_cron(1, 0.0) + _cron(1, 3600.0))
    found = list_sessions(events)
    assert found["session"].tolist() == ["web-01:1", "web-01:1#2"]
    assert found["commands"].tolist() == [1, 1]
    rows = session_timeline(events)
    assert rows.groupby("session", sort=False).size().tolist() == [4, 4]


def test_login_without_process_facts_links_its_accept_by_address(make_events: Make) -> None:
    events = make_events(
        [
            {"t": 0.0, "event_type": "net_accept", "process_pid": 383, "src_ip": CLIENT,
             "process_name": "sshd"},
            _record("USER_LOGIN", 0.5, pid=2002, src_ip=CLIENT, user_name="bob", **BOB),
            _record("USER_LOGIN", 90.0, pid=2004, src_ip="10.0.9.9", user_name="eve",
                    login_uid=1002, session_id=50),
        ]
    )  # fmt: skip
    found = list_sessions(events)
    ids = events.column("event_id").to_pylist()
    assert _values(found, "accept_event_id") == [ids[0], None]


def test_report_text(events: pa.Table) -> None:
    rows = session_timeline(events, login="bob")
    report = TimelineReport(rows, list_sessions(events, login="bob"))
    lines = str(report).splitlines()
    assert lines[0] == (
        "session web-01:48  login bob (uid 1001)  tty pts0  from 10.0.4.11  "
        "2024-03-04 10:00:00.000 .. 10:01:00.010"
    )
    assert lines[1:] == [
        "  2024-03-04 10:00:00.000  accept         root  sshd [383]   <- 10.0.4.11:35851",
        "  2024-03-04 10:00:00.260  session_open   bob                from 10.0.4.11 on ssh",
        "  2024-03-04 10:00:00.300  login          bob                from 10.0.4.11 on pts0",
        "  2024-03-04 10:00:00.400  command        bob   bash [2003]  -bash",
        "  2024-03-04 10:00:05.000  command        bob   sudo [2010]  sudo du -sh /var",
        "  2024-03-04 10:00:05.100  command        root  du [2011]    du -sh /var",
        "  2024-03-04 10:00:09.000  command        bob   ssh [2012]   ssh db-02",
        "  2024-03-04 10:00:09.010  connect        bob   ssh [2012]   -> 10.0.2.12:22",
        "  2024-03-04 10:00:20.000  command        root  vim [2013]   vim /etc/hosts",
        "  2024-03-04 10:00:25.000  file_write     root  vim [2013]   /etc/hosts",
        "  2024-03-04 10:01:00.000  session_close  bob                from 10.0.4.11 on ssh",
        "  2024-03-04 10:01:00.010  logout         bob                from 10.0.4.11 on pts0",
    ]
    everything = TimelineReport(rows, show_all=True).to_text().splitlines()
    assert len(everything) == len(rows) + 1
    assert everything[2] == "  2024-03-04 10:00:00.250  login_uid                         LOGIN"
    assert str(TimelineReport(rows.iloc[:0])) == "no matching login sessions"


def test_hostile_command_lines_are_escaped(make_events: Make) -> None:
    events = make_events([_record("LOGIN", 0, **BOB), _command(5, 1, "echo \x1b[2J", 1)])
    text = str(TimelineReport(session_timeline(events)))
    assert "\x1b" not in text and "echo \\x1b[2J" in text


def test_bad_parameters(events: pa.Table) -> None:
    with pytest.raises(ValueError, match="'session' parameter must be an audit session id"):
        session_timeline(events, session="48")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'login_window' parameter must be a non-negative"):
        list_sessions(events, login_window="soon")


def test_events_without_sessions(make_events: Make) -> None:
    events = make_events([_command(5, 1, "ls", 0)])
    events = events.set_column(
        events.schema.get_field_index(schema.SESSION_ID),
        schema.SESSION_ID,
        pa.nulls(1, pa.int64()),
    )
    assert list_sessions(events).empty and session_timeline(events).empty
