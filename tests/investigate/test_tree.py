"""Tests for behavemodel/investigate/_tree.py: process trees and ancestry."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from behavemodel import schema
from behavemodel.exceptions import SchemaError
from behavemodel.investigate import (
    ANCESTRY_COLUMNS,
    TREE_COLUMNS,
    AncestryReport,
    EventNotFoundError,
    ancestry,
    ancestry_strings,
    process_tree,
)
from behavemodel.io import read_auditd

Make = Callable[..., pa.Table]

BASH = {"process_name": "bash", "process_exe": "/usr/bin/bash"}


def _exec(pid: int, ppid: int, exe: str, t: float, **extra: Any) -> dict[str, Any]:
    return {
        "t": t,
        "event_type": "process_start",
        "syscall": "execve",
        "success": True,
        "process_pid": pid,
        "parent_pid": ppid,
        "process_name": exe.rsplit("/", 1)[-1],
        "process_exe": exe,
        **extra,
    }


def _event(pid: int, exe: str, t: float, **extra: Any) -> dict[str, Any]:
    return {
        "t": t,
        "event_type": "file_write",
        "syscall": "openat",
        "process_pid": pid,
        "process_name": exe.rsplit("/", 1)[-1],
        "process_exe": exe,
        **extra,
    }


def _chain(frame: pd.DataFrame, *columns: str) -> list[tuple[Any, ...]]:
    values = [frame[c].astype(object).where(frame[c].notna(), None) for c in columns]
    return list(zip(*values, strict=True))


def _read(path: str) -> pd.DataFrame:
    events = read_auditd(path)
    assert isinstance(events, pd.DataFrame)
    return events


def _ids(table: pa.Table) -> list[str]:
    return table.column(schema.EVENT_ID).to_pylist()


@pytest.fixture
def dpkg(make_events: Make) -> pa.Table:
    """bash (running before the log, parent 100) forks 300, which runs dpkg, then dpkg-query."""
    return make_events(
        [
            {"t": 0.0, "event_type": "other", "syscall": "clone", "exit_code": 300,
             "process_pid": 200, "parent_pid": 100, **BASH},
            _exec(300, 200, "/usr/bin/dpkg", 0.001, process_cmdline="dpkg -l"),
            _exec(300, 200, "/usr/bin/dpkg-query", 0.005, process_cmdline="dpkg-query --list"),
            _event(300, "/usr/bin/dpkg-query", 0.010, file_path="/tmp/out"),
        ]
    )  # fmt: skip


def test_fork_then_exec_without_fork_and_a_parent_from_before_the_log(dpkg: pa.Table) -> None:
    tree = process_tree(dpkg)
    assert tuple(tree.columns) == TREE_COLUMNS
    assert _chain(tree, "process_pid", "kind", "process_name", "parent_node", "exec_of") == [
        (100, "parent", None, None, None),
        (200, "running", "bash", 0, None),
        (300, "fork", "bash", 1, None),
        (300, "exec", "dpkg", 1, 2),
        (300, "exec", "dpkg-query", 1, 3),
    ]
    assert tree["start_time"].isna().tolist() == [True, True, False, False, False]
    chain = ancestry(dpkg, _ids(dpkg)[3])
    assert tuple(chain.columns) == ANCESTRY_COLUMNS
    assert _chain(chain, "depth", "relation", "process_pid", "kind", "process_exe") == [
        (0, "self", 300, "exec", "/usr/bin/dpkg-query"),
        (1, "exec", 300, "exec", "/usr/bin/dpkg"),
        (2, "parent", 200, "running", "/usr/bin/bash"),
        (3, "parent", 100, "parent", None),  # known pid, exe unknown
    ]
    assert ancestry_strings(dpkg, [_ids(dpkg)[3]]).tolist() == [
        "pid 100 (exe unknown) -> bash -> dpkg => dpkg-query"
    ]


def test_a_pid_maps_to_the_process_that_held_it_at_that_time(make_events: Make) -> None:
    rows = [
        _exec(500, 10, "/usr/bin/curl", 0),
        _event(500, "/usr/bin/curl", 1),
        # pid 500 comes back with another parent: a new process that reused the pid
        _exec(500, 20, "/usr/bin/wget", 10),
        _event(500, "/usr/bin/wget", 11),
    ]
    events = make_events(rows)
    ids = _ids(events)
    first, second = ancestry(events, ids[1]), ancestry(events, ids[3])
    assert _chain(first, "relation", "process_pid", "process_exe") == [
        ("self", 500, "/usr/bin/curl"),
        ("parent", 10, None),
    ]
    assert _chain(second, "relation", "process_pid", "process_exe") == [
        ("self", 500, "/usr/bin/wget"),
        ("parent", 20, None),
    ]


def _reuse_rows(wrap: bool) -> list[dict[str, Any]]:
    rows = [_exec(500, 10, "/usr/bin/curl", 0), _exec(30000, 10, "/usr/bin/true", 1)]
    if wrap:  # the pid counter wraps: new pids restart low
        rows += [_exec(p, 10, "/usr/bin/true", 2 + i) for i, p in enumerate((301, 302, 303))]
    rows += [_exec(500, 10, "/usr/bin/wget", 10), _event(500, "/usr/bin/wget", 11)]
    return rows


def test_same_parent_after_a_pid_wrap_is_a_new_process_not_an_exec(make_events: Make) -> None:
    wrapped = make_events(_reuse_rows(wrap=True))
    assert _chain(ancestry(wrapped, _ids(wrapped)[-1]), "relation", "process_exe") == [
        ("self", "/usr/bin/wget"),
        ("parent", None),
    ]
    # Without a wrap the pid cannot have been reused: wget replaced curl by exec.
    plain = make_events(_reuse_rows(wrap=False))
    assert _chain(ancestry(plain, _ids(plain)[-1]), "relation", "process_exe") == [
        ("self", "/usr/bin/wget"),
        ("exec", "/usr/bin/curl"),
        ("parent", None),
    ]


def test_an_executable_change_without_a_logged_exec_is_a_new_image(make_events: Make) -> None:
    events = make_events(
        [
            _event(700, "/usr/bin/python3.11", 0, parent_pid=1),
            _event(700, "/usr/bin/python3.11", 1, parent_pid=1),
            _event(700, "/tmp/.x/miner", 5, parent_pid=1),
        ]
    )
    tree = process_tree(events)
    assert _chain(tree, "process_pid", "kind", "process_exe") == [
        (1, "parent", None),
        (700, "running", "/usr/bin/python3.11"),
        (700, "running", "/tmp/.x/miner"),
    ]
    assert ancestry_strings(events, _ids(events)).tolist() == [
        "pid 1 (exe unknown) -> python3.11",
        "pid 1 (exe unknown) -> python3.11",
        "pid 1 (exe unknown) -> python3.11 => miner",
    ]


def test_hosts_do_not_share_pids(make_events: Make) -> None:
    events = make_events(
        [
            _exec(300, 1, "/usr/sbin/nginx", 0, host_name="web-01", parent_name="systemd"),
            _exec(300, 1, "/usr/sbin/postgres", 0.5, host_name="db-01", parent_name="init"),
            _exec(301, 300, "/bin/sh", 1, host_name="web-01"),
            _exec(301, 300, "/bin/sh", 1, host_name="db-01"),
        ]
    )
    assert ancestry_strings(events, _ids(events)[2:]).tolist() == [
        "systemd -> nginx -> sh",
        "init -> postgres -> sh",
    ]


def test_a_clone_record_logged_after_the_childs_exec_adds_no_node(make_events: Make) -> None:
    events = make_events(
        [
            _exec(200, 1, "/usr/bin/bash", 0),
            _exec(301, 200, "/usr/bin/ls", 1.0000),
            {"t": 1.0005, "event_type": "other", "syscall": "clone", "exit_code": 301,
             "process_pid": 200, "parent_pid": 1, **BASH},
            _event(301, "/usr/bin/ls", 1.001),
        ]
    )  # fmt: skip
    tree = process_tree(events)
    assert tree["kind"].tolist() == ["parent", "exec", "exec"]
    assert _chain(ancestry(events, _ids(events)[3]), "kind", "process_exe") == [
        ("exec", "/usr/bin/ls"),
        ("exec", "/usr/bin/bash"),
        ("parent", None),
    ]


def test_failed_exec_starts_nothing(make_events: Make) -> None:
    events = make_events(
        [
            _exec(200, 1, "/usr/bin/bash", 0),
            # A failed execve: auditd logs the caller's exe; some sources log the target.
            _exec(200, 1, "/usr/bin/bash", 1, success=False, exit_code=-2),
            _exec(200, 1, "/usr/bin/nope", 1.5, success=False, exit_code=-2),
            _event(200, "/usr/bin/bash", 2),
        ]
    )
    assert process_tree(events)["process_exe"].dropna().tolist() == ["/usr/bin/bash"]


def test_bulk_ancestry_equals_one_at_a_time_and_pandas_equals_arrow(dpkg: pa.Table) -> None:
    ids = _ids(dpkg)
    bulk = ancestry(dpkg, ids)
    singles = pd.concat([ancestry(dpkg, i) for i in ids], ignore_index=True)
    pd.testing.assert_frame_equal(bulk, singles)
    assert bulk["query"].unique().tolist() == ids
    pd.testing.assert_frame_equal(ancestry(schema.to_pandas(dpkg), ids), bulk)
    # Shuffled input rows give the same answers: order comes from time and serial.
    shuffled = dpkg.take(pa.array([3, 1, 0, 2]))
    pd.testing.assert_frame_equal(ancestry(shuffled, ids), bulk)


def test_missing_ids_raise_and_events_without_a_pid_have_no_chain(
    dpkg: pa.Table, make_events: Make
) -> None:
    with pytest.raises(EventNotFoundError, match="'nope'") as caught:
        ancestry(dpkg, ["nope", _ids(dpkg)[0]])
    assert caught.value.missing == ["nope"]
    assert isinstance(caught.value, LookupError)
    login = make_events([{"event_type": "login", "record_type": "USER_LOGIN"}])
    assert ancestry(login, _ids(login)).empty
    assert ancestry_strings(dpkg, ["nope", None, _ids(dpkg)[1]]).tolist() == [
        None,
        None,
        "pid 100 (exe unknown) -> bash -> dpkg",
    ]


def test_max_depth_cuts_chains(dpkg: pa.Table) -> None:
    last = _ids(dpkg)[3]
    assert ancestry(dpkg, last, max_depth=2)["depth"].tolist() == [0, 1]
    assert ancestry_strings(dpkg, [last], max_depth=2).tolist() == ["… -> dpkg => dpkg-query"]
    with pytest.raises(ValueError, match="'max_depth' parameter must be a positive integer"):
        ancestry(dpkg, last, max_depth=0)


def test_bad_input_is_refused() -> None:
    with pytest.raises(SchemaError, match="expects events"):
        process_tree([1, 2, 3])
    with pytest.raises(SchemaError, match="'time' column"):
        process_tree(pd.DataFrame({"process_pid": [1]}))


def test_report_prints_the_chain_oldest_first_and_escapes_hostile_text(
    make_events: Make,
) -> None:
    events = make_events(
        [
            _exec(510, 400, "/usr/lib/cgi-bin/nagios4/summary.cgi", 0, user_name="www-data",
                  parent_exe="/usr/sbin/apache2"),
            _exec(511, 510, "/usr/bin/bash", 1, process_cmdline="sh -c \x1b[2Jcurl",
                  user_name="www-data"),
        ]
    )  # fmt: skip
    report = AncestryReport(ancestry(events, _ids(events)[1]))
    assert str(report).splitlines() == [
        f"event {_ids(events)[1]} on web-01",
        "  apache2 [400]                   (before log)  /usr/sbin/apache2",
        "  └─ summary.cgi [510]  www-data  10:00:00.000  /usr/lib/cgi-bin/nagios4/summary.cgi",
        "     └─ bash [511]      www-data  10:00:01.000  sh -c \\x1b[2Jcurl",
    ]
    assert str(AncestryReport(ancestry(events, []))) == "no process ancestry for these events"


# -- the real process-tree traces -------------------------------------------------------

_SYSCALL = re.compile(
    r"type=SYSCALL msg=audit\((\d+\.\d+):(\d+)\):.* syscall=(\d+) .*?\bppid=(\d+) pid=(\d+)"
)
_EXECVE = {"59", "221"}  # x86_64, aarch64


def _raw_execs(path: Path) -> list[tuple[str, int, int]]:
    """(event id, pid, ppid) of every execve SYSCALL line, straight from the text."""
    found = []
    for line in path.read_text(errors="replace").splitlines():
        m = _SYSCALL.search(line)
        if m and m.group(3) in _EXECVE:
            found.append((f":{m.group(1)}:{m.group(2)}", int(m.group(5)), int(m.group(4))))
    return found


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["shell-proc-trace.txt", "proc-trace-dpkg-l.txt", "tree"])
def test_every_exec_has_the_parent_the_log_shows(corpus_dir: Path, name: str) -> None:
    path = corpus_dir / "laurel" / name
    files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
    expected = [e for f in files for e in _raw_execs(f)]
    assert len(expected) >= 4
    events = _read(str(path))
    chains = ancestry(events, [e[0] for e in expected])
    for event_id, pid, ppid in expected:
        chain = chains[chains["query"] == event_id]
        assert chain["process_pid"].iloc[0] == pid
        parent = chain[chain["relation"] == "parent"].iloc[0]
        assert parent["process_pid"] == ppid, event_id


@pytest.mark.corpus
def test_shell_pipeline_tree_matches_the_drawing(corpus_dir: Path) -> None:
    events = _read(str(corpus_dir / "laurel" / "shell-proc-trace.txt"))
    tree = process_tree(events)
    pid_of = tree["process_pid"].tolist()
    parent_pid = {
        (pid, kind): pid_of[int(p)]
        for pid, kind, p in _chain(tree, "process_pid", "kind", "parent_node")
        if p is not None
    }
    # The drawing in the file: 71432 -> 71505 -> {71506 -> {71508, 71509}, 71507}.
    assert parent_pid[(71505, "exec")] == 71432
    assert parent_pid[(71506, "fork")] == 71505
    assert parent_pid[(71507, "exec")] == 71505
    assert parent_pid[(71508, "exec")] == 71506
    assert parent_pid[(71509, "exec")] == 71506
    sed = events.loc[events["process_name"] == "sed", "event_id"].iloc[0]
    assert _chain(ancestry(events, sed), "process_pid", "kind", "process_exe") == [
        (71509, "exec", "/usr/bin/sed"),
        (71506, "fork", "/usr/bin/dash"),  # the subshell never exec'd
        (71505, "exec", "/usr/bin/dash"),
        (71432, "running", "/usr/bin/bash"),  # running before the trace began
        (3505, "parent", None),
    ]


@pytest.mark.corpus
def test_dpkg_query_replaces_dpkg_without_a_fork(corpus_dir: Path) -> None:
    events = _read(str(corpus_dir / "laurel" / "proc-trace-dpkg-l.txt"))
    pager = events.loc[events["process_name"] == "pager", "event_id"].iloc[0]
    chain = ancestry(events, pager)
    assert _chain(chain, "relation", "process_pid", "process_name") == [
        ("self", 1140464, "pager"),
        ("parent", 1140463, "sh"),
        ("parent", 1140462, "dpkg-query"),
        ("exec", 1140462, "dpkg"),
        ("parent", 1140453, "bash"),
        ("parent", 1140452, "sshd"),
        ("parent", 1140356, None),
    ]
    assert ancestry_strings(events, [pager], max_depth=10).tolist() == [
        "pid 1140356 (exe unknown) -> sshd -> bash -> dpkg => dpkg-query -> sh -> pager"
    ]


@pytest.mark.corpus
def test_reparented_child_keeps_its_real_creator(corpus_dir: Path) -> None:
    # The child execs /bin/true after its parent exited, so the log says ppid=1.
    events = _read(str(corpus_dir / "laurel" / "fork-sleep-exec.txt"))
    true = events.loc[events["process_name"] == "true", "event_id"].iloc[0]
    assert _chain(ancestry(events, true), "relation", "process_pid", "process_name") == [
        ("self", 1578540, "true"),
        ("exec", 1578540, "uncaring-parent"),
        ("parent", 1578539, "uncaring-parent"),
        ("parent", 3822680, None),
    ]
    tree = process_tree(events)
    forked = tree[tree["kind"] == "fork"]
    assert forked["process_pid"].tolist() == [1578541]
    assert tree.loc[int(forked["parent_node"].iloc[0]), "process_pid"] == 1578540


@pytest.mark.corpus
def test_apt_get_children(corpus_dir: Path) -> None:
    events = _read(str(corpus_dir / "laurel" / "tree"))
    tree = process_tree(events)
    apt = tree.index[tree["process_name"] == "apt-get"][0]
    children = tree[tree["parent_node"] == apt]
    assert sorted(children["process_name"].unique()) == [
        "dpkg", "gpgv", "http", "https", "rred", "store",
    ]  # fmt: skip
    assert len(children) == 16
    assert tree.loc[int(tree.loc[apt, "parent_node"]), "process_pid"] == 722675


def test_detector_alerts_carry_a_short_ancestry(make_events: Make) -> None:
    from behavemodel.models import BaselineDetector, alerts, score_batch

    web = {"host_group": "web", "user_name": "www-data"}
    learn = make_events(
        [_exec(100 + i, 1, "/usr/sbin/nginx", 60 * i, parent_exe="/usr/lib/systemd/systemd",
               **web) for i in range(5)]
    )  # fmt: skip
    model = BaselineDetector(alert_while_learning=True).fit(learn)
    today = make_events(
        [
            _exec(400, 1, "/usr/sbin/nginx", 0, parent_name="systemd", **web),
            _exec(401, 400, "/bin/sh", 1, parent_exe="/usr/sbin/nginx", **web),
            _exec(402, 401, "/usr/bin/curl", 2, parent_exe="/bin/sh", **web),
            {**_event(402, "/usr/bin/curl", 3, **web), "event_type": "net_connect",
             "success": True, "net_direction": "outbound", "net_family": "inet",
             "dst_ip": "203.0.113.50", "dst_port": 80},
        ],
        start=pd.Timestamp("2024-03-05T10:00:00Z"),
    )  # fmt: skip
    found = model.explain(today)
    assert tuple(found.columns) == alerts.ALERT_COLUMNS
    by_exe = dict(zip(found[schema.PROCESS_EXE], found[alerts.ANCESTRY], strict=True))
    assert by_exe == {
        "/usr/sbin/nginx": "systemd -> nginx",
        "/bin/sh": "systemd -> nginx -> sh",
        "/usr/bin/curl": "systemd -> nginx -> sh -> curl",
    }
    # Batch scoring sees one batch at a time, without the process history: no ancestry.
    scored = score_batch(today, model)
    assert scored.num_rows > 0 and scored.column(alerts.ANCESTRY).null_count == scored.num_rows
