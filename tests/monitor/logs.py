"""Test helpers: realistic audit-log lines and a model that alerts on every one of them.

Test modules load this file by path: under ``--import-mode=importlib`` they
cannot import each other. The events are rendered by the fleet simulator's auditd writer (ENRICHED
SYSCALL/EXECVE/CWD/PATH/SOCKADDR/PROCTITLE records, exactly as auditd writes
them). Every event has its own executable, and the model is fitted with
``alert_while_learning=True`` on something else, so each exec produces exactly
one ``ProcessOwners`` alert and each connect one ``NetworkProcesses`` alert: the
set of alerted ``event_id`` values is the set of events the monitor saw.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import pandas as pd
import pyarrow as pa

from behavemodel import schema
from behavemodel.datasets import render_auditd
from behavemodel.models import BaselineDetector

HOST = "web-1"
T0 = 1_800_000_000.0
FEATURES = ["ProcessOwners", "NetworkProcesses"]


def event_rows(
    serials: Sequence[int], *, host: str = HOST, step: float = 0.01, t0: float = T0
) -> tuple[pa.Table, pa.Table]:
    """Canonical events (and the writer's exact-argv column): serial % 3 == 0 execs, else
    connects; the event time is ``t0 + serial * step``."""
    rows = []
    argv = []
    for serial in serials:
        t = round(t0 + serial * step, 3)
        exe = f"/opt/t/bin-{serial}"
        row = {
            "time": pd.Timestamp(round(t * 1000), unit="ms", tz="UTC"),
            "host_name": host,
            "record_type": "SYSCALL",
            "success": True,
            "exit_code": 0,
            "process_pid": 1000 + serial,
            "parent_pid": 1,
            "process_name": f"bin-{serial}"[:15],
            "process_exe": exe,
            "user_name": "root",
            "user_uid": 0,
            "event_id": f"{host}:{t:.3f}:{serial}",
            "source_format": "auditd",
        }
        if serial % 3 == 0:
            row.update(event_type="process_start", syscall="execve", cwd="/")
            argv.append(f"{exe}\x00--run\x00{serial}")
        else:
            row.update(
                event_type="net_connect",
                syscall="connect",
                dst_ip="10.0.0.1",
                dst_port=443,
                net_family="inet",
                net_direction="outbound",
            )
            argv.append(f"{exe}\x00--connect")
        rows.append(row)
    table = schema.conform(pd.DataFrame(rows), fill_missing=True)
    return table, pa.table({"_argv": pa.array(argv, pa.string())})


def audit_lines(
    serials: Sequence[int], *, without_proctitle: Callable[[int], bool] | None = None, **kw
) -> bytes:
    """The raw ENRICHED audit log of :func:`event_rows`; some events may lose their
    PROCTITLE record (they then stay open in the parser until the window passes)."""
    table, extras = event_rows(serials, **kw)
    data = render_auditd(table, extras=extras)
    assert isinstance(data, bytes)
    if without_proctitle is None:
        return data
    keep = []
    for line in data.splitlines(keepends=True):
        m = re.search(rb"type=PROCTITLE msg=audit\(\d+\.\d+:(\d+)\)", line)
        if m is not None and without_proctitle(int(m.group(1))):
            continue
        keep.append(line)
    return b"".join(keep)


def event_ids(serials: Sequence[int], *, host: str = HOST, step: float = 0.01) -> set[str]:
    return {f"{host}:{round(T0 + s * step, 3):.3f}:{s}" for s in serials}


def alert_model() -> BaselineDetector:
    train, _ = event_rows([0, 1], host=HOST, t0=T0 - 86_400)
    train = train.set_column(
        train.column_names.index("process_exe"),
        "process_exe",
        pa.array(["/usr/bin/trained", "/usr/bin/trained"]),
    )
    return BaselineDetector(features=FEATURES, alert_while_learning=True).fit(train)
