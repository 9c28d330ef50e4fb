"""Hostile event tables for the report tests: every field an attacker controls is nasty."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from behavemodel import schema
from behavemodel.models import BaselineDetector

#: Strings that try to break out of HTML cells and attributes, or drive a terminal.
HOSTILE = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(2)' x='",
    "</td></tr></table><script>alert(3)</script>",
    "\x1b[2J\x1b[31mred\x1b]0;title\x07",
    "line one\nFAKE ALERT on the next line",
    "carriage\rFAKE overwrite",
    "sep\u2028FAKE para\u2029end",
    "\u202egnp.exe",
    "del\x7fbell\x07",
    "&lt;already escaped&gt;",
    "$\\frac{1}{0}$ $x",
)

START = pd.Timestamp("2024-03-04T00:00:00Z")
HOST = "web-01" + HOSTILE[0]
GROUP = HOSTILE[1]
EXE = "/tmp/" + "".join(HOSTILE)
#: NUL only where no feature key reads it: a NUL in a key value breaks explain() (the key
#: separator is NUL), reported to the models owner; paths and names cannot hold NUL on Linux.
CMDLINE = " ".join(HOSTILE) + " nul\x00byte"
USER = HOSTILE[2]


def build(rows: list[dict[str, Any]]) -> pa.Table:
    records = []
    for i, row in enumerate(rows):
        row = dict(row)
        row["time"] = START + pd.Timedelta(minutes=row.pop("minutes", i))
        row.setdefault("host_name", HOST)
        row.setdefault("event_type", "process_start")
        row.setdefault("event_id", f"e{i}")
        row.setdefault("source_format", "canonical")
        records.append(row)
    frame = pd.DataFrame.from_records(records)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return schema.conform(frame, fill_missing=True)


def _training() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for hour in range(30):
        rows.append(
            {
                "minutes": hour * 60,
                "process_exe": "/usr/sbin/nginx",
                "process_name": "nginx",
                "parent_exe": "/sbin/init",
                "user_name": "www-data",
                "process_pid": 100 + hour,
                "parent_pid": 1,
                "event_id": f"train-{hour}",
            }
        )
        rows.append(
            {
                "minutes": hour * 60 + 1,
                "event_type": "net_connect",
                "net_direction": "outbound",
                "process_exe": "/usr/sbin/nginx",
                "process_name": "nginx",
                "process_pid": 100 + hour,
                "dst_ip": "10.0.0.2",
                "dst_port": 80,
                "event_id": f"train-net-{hour}",
            }
        )
    return rows


def _attack() -> list[dict[str, Any]]:
    base = 31 * 60
    return [
        {
            "minutes": base,
            "process_exe": "/usr/sbin/nginx",
            "process_name": "nginx",
            "parent_exe": "/sbin/init",
            "user_name": "www-data",
            "process_pid": 500,
            "parent_pid": 1,
            "event_id": "attack-0",
        },
        {
            "minutes": base + 1,
            "process_exe": EXE,
            "process_name": HOSTILE[4],
            "process_cmdline": CMDLINE,
            "parent_exe": "/usr/sbin/nginx",
            "user_name": USER,
            "process_pid": 501,
            "parent_pid": 500,
            "event_id": "attack-1" + HOSTILE[1],
        },
        {
            "minutes": base + 2,
            "event_type": "net_connect",
            "net_direction": "outbound",
            "process_exe": EXE,
            "process_name": HOSTILE[4],
            "process_cmdline": CMDLINE,
            "process_pid": 501,
            "user_name": USER,
            "dst_ip": "203.0.113.9",
            "dst_port": 4444,
            "event_id": "attack-2",
        },
    ]


def _session() -> list[dict[str, Any]]:
    base = 40 * 60
    common = {
        "login_uid": 1001,
        "session_id": 48,
        "login_name": HOSTILE[5],
        "tty": HOSTILE[6],
        "user_uid": 1001,
        "user_name": HOSTILE[7],
    }
    return [
        {
            "minutes": base,
            "event_type": "login",
            "record_type": "USER_LOGIN",
            "process_pid": 2002,
            "src_ip": HOSTILE[3],
            "event_id": "s1",
            **common,
        },
        {
            "minutes": base + 1,
            "record_type": "SYSCALL",
            "process_pid": 2010,
            "process_name": HOSTILE[8],
            "process_exe": EXE,
            "process_cmdline": CMDLINE,
            "event_id": "s2",
            **common,
        },
        {
            "minutes": base + 2,
            "event_type": "file_write",
            "record_type": "SYSCALL",
            "process_pid": 2010,
            "file_path": "/srv/" + HOSTILE[9] + HOSTILE[10],
            "event_id": "s3",
            **common,
        },
        {
            "minutes": base + 3,
            "event_type": "net_connect",
            "record_type": "SYSCALL",
            "process_pid": 2010,
            "process_name": HOSTILE[11],
            "dst_ip": HOSTILE[0],
            "dst_port": 22,
            "event_id": "s4",
            **common,
        },
    ]


@pytest.fixture(scope="session")
def training_events() -> pa.Table:
    return build(_training())


@pytest.fixture(scope="session")
def hostile_events() -> pa.Table:
    return build(_training() + _attack() + _session())


@pytest.fixture(scope="session")
def hostile_model(training_events: pa.Table) -> BaselineDetector:
    return BaselineDetector(groups={HOST: GROUP}, min_span="1h").fit(training_events)
