"""Tests for behavemodel/investigate/_connections.py: cross-host connection matching."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from behavemodel.investigate import (
    ADDRESS_COLUMNS,
    CONNECTION_COLUMNS,
    ConnectionReport,
    infer_host_addresses,
    match_connections,
)

Make = Callable[..., pa.Table]
IP = {"bastion-01": "10.0.4.11", "web-01": "10.0.1.11", "db-02": "10.0.2.12",
      "monitoring-01": "10.0.5.11"}  # fmt: skip
VPN = "10.8.0.6"


def connect(host: str, pid: int, name: str, t: float, ip: str, port: int, **extra: Any) -> dict:
    return {"t": t, "host_name": host, "event_type": "net_connect", "syscall": "connect",
            "process_pid": pid, "process_name": name, "process_exe": f"/usr/bin/{name}",
            "dst_ip": ip, "dst_port": port, "net_family": "inet",
            "net_direction": "outbound", **extra}  # fmt: skip


def accept(host: str, pid: int, name: str, t: float, ip: str, port: int, **extra: Any) -> dict:
    return {"t": t, "host_name": host, "event_type": "net_accept", "syscall": "accept4",
            "process_pid": pid, "process_name": name, "process_exe": f"/usr/sbin/{name}",
            "src_ip": ip, "src_port": port, "net_family": "inet",
            "net_direction": "inbound", **extra}  # fmt: skip


def listen(host: str, pid: int, name: str, port: int) -> dict:
    return {"t": 0.5, "host_name": host, "event_type": "net_listen", "syscall": "listen",
            "process_pid": pid, "process_name": name, "dst_ip": "0.0.0.0", "dst_port": port,
            "net_family": "inet", "net_direction": "listen"}  # fmt: skip


def login(host: str, t: float, client: str, ses: int, sshd: int, listener: int) -> list[dict]:
    """sshd re-exec, LOGIN, USER_LOGIN and the login shell of alice (uid 1000)."""
    keys = {"host_name": host, "login_uid": 1000, "session_id": ses}
    return [
        {"t": t + 0.003, "host_name": host, "event_type": "process_start",
         "syscall": "execve", "process_pid": sshd, "parent_pid": listener,
         "process_name": "sshd", "process_cmdline": "/usr/sbin/sshd -D -R"},
        {"t": t + 0.2, "event_type": "other", "record_type": "LOGIN",
         "process_pid": sshd, **keys},
        {"t": t + 0.3, "event_type": "login", "record_type": "USER_LOGIN", "success": True,
         "process_pid": sshd, "src_ip": client, "user_name": "alice", "user_uid": 1000,
         "tty": "pts0", **keys},
        {"t": t + 0.4, "event_type": "process_start", "syscall": "execve",
         "process_pid": sshd + 1, "parent_pid": sshd, "process_name": "bash",
         "process_cmdline": "-bash", "user_name": "alice", **keys},
    ]  # fmt: skip


def session_cmd(host: str, pid: int, ses: int, t: float, line: str) -> dict:
    return {"t": t, "host_name": host, "event_type": "process_start", "syscall": "execve",
            "process_pid": pid, "process_name": line.split()[0], "process_cmdline": line,
            "user_name": "alice", "login_uid": 1000, "session_id": ses}  # fmt: skip


def fleet(skew: dict[str, float] | None = None) -> list[dict]:
    """Monitoring checks on every host, then alice: VPN -> bastion-01 -> web-01 -> db-02."""
    rows: list[dict] = []
    for host in ("bastion-01", "web-01", "db-02"):
        rows += [listen(host, 300, "sshd", 22), listen(host, 310, "nrpe", 5666)]
        for k in range(3):
            t = 10 + 20 * k + len(rows) * 0.1
            rows.append(connect("monitoring-01", 600 + len(rows), "check_nrpe", t, IP[host],
                                5666))  # fmt: skip
            rows.append(accept(host, 310, "nrpe", t + 0.005, IP["monitoring-01"], 40000 + k))
    rows.append(accept("bastion-01", 300, "sshd", 100.0, VPN, 51000))
    rows += login("bastion-01", 100.0, VPN, ses=5, sshd=3001, listener=300)
    rows.append(session_cmd("bastion-01", 3010, 5, 110.0, "ssh web-01"))
    rows.append(connect("bastion-01", 3010, "ssh", 110.01, IP["web-01"], 22,
                        login_uid=1000, session_id=5))  # fmt: skip
    rows.append(accept("web-01", 300, "sshd", 110.05, IP["bastion-01"], 52000))
    rows += login("web-01", 110.05, IP["bastion-01"], ses=7, sshd=4001, listener=300)
    rows.append(session_cmd("web-01", 4010, 7, 130.0, "ssh db-02"))
    rows.append(connect("web-01", 4010, "ssh", 130.01, IP["db-02"], 22,
                        login_uid=1000, session_id=7))  # fmt: skip
    rows.append(accept("db-02", 300, "sshd", 130.04, IP["web-01"], 53000))
    rows += login("db-02", 130.04, IP["web-01"], ses=9, sshd=5001, listener=300)
    rows.append(session_cmd("db-02", 5010, 9, 140.0, "cat /etc/shadow"))
    rows.append(connect("web-01", 700, "curl", 200.0, "93.184.216.34", 443))
    rows.append(accept("web-01", 450, "nginx", 210.0, "203.0.113.9", 61000))
    for row in rows:
        row["t"] = row["t"] + (skew or {}).get(row.get("host_name", "web-01"), 0.0)
    return rows


@pytest.fixture
def events(make_events: Make) -> pa.Table:
    return make_events(fleet())


def _hop(found: pd.DataFrame, command: str) -> pd.Series:
    return (
        found[found["src_process"].eq("ssh") & found["src_session"].notna()]
        .set_index("src_host")
        .loc[command]
    )


def test_addresses_are_inferred_from_matching_pairs(events: pa.Table) -> None:
    found = infer_host_addresses(events)
    assert tuple(found.columns) == ADDRESS_COLUMNS
    assert dict(zip(found["host_name"], found["ip"], strict=True)) == IP
    assert set(found["source"]) == {"inferred"}
    assert found.set_index("host_name").loc["monitoring-01", "votes"] == 9


def test_an_ssh_chain_comes_out_as_one_path(events: pa.Table) -> None:
    found = match_connections(events)
    assert tuple(found.columns) == CONNECTION_COLUMNS
    assert found["status"].value_counts().to_dict() == {
        "matched": 11, "from_outside": 2, "outside_fleet": 1,
    }  # fmt: skip
    first, second = _hop(found, "bastion-01"), _hop(found, "web-01")
    assert (first["dst_host"], first["dst_process"], first["dst_port"]) == ("web-01", "sshd", 22)
    assert (first["src_session"], first["dst_session"]) == ("bastion-01:5", "web-01:7")
    assert (second["src_session"], second["dst_session"]) == ("web-01:7", "db-02:9")
    assert second["dst_login_name"] == "alice" and second["src_ip"] == IP["web-01"]
    assert second["match_basis"] == "addresses"
    assert second["time_delta"] == pytest.approx(0.03)
    # The path begins where alice came in from the VPN.
    path = found[found["path_id"] == second["path_id"]].sort_values("hop")
    assert path["hop"].tolist() == [1, 2, 3]
    assert path["status"].tolist() == ["from_outside", "matched", "matched"]
    assert path["path"].iloc[-1] == "10.8.0.6 -> bastion-01 -> web-01 -> db-02"
    assert second["parent_connection"] == first["connection"]


def test_connections_leaving_or_entering_the_fleet_say_so(events: pa.Table) -> None:
    found = match_connections(events).set_index("src_process", drop=False)
    curl = found.loc["curl"]
    assert (curl["status"], curl["dst_ip"], curl["dst_port"]) == (
        "outside_fleet",
        "93.184.216.34",
        443,
    )
    assert pd.isna(curl["dst_host"]) and pd.isna(curl["dst_event_id"])
    inbound = found[found["status"] == "from_outside"]
    assert sorted(inbound["src_ip"]) == ["10.8.0.6", "203.0.113.9"]
    assert sorted(inbound["dst_process"]) == ["nginx", "sshd"]


def test_clock_skew_is_estimated_and_corrected(make_events: Make) -> None:
    skewed = make_events(fleet(skew={"db-02": 5.0}))
    second = _hop(match_connections(skewed), "web-01")
    assert second["status"] == "matched" and second["dst_session"] == "db-02:9"
    assert second["time_delta"] == pytest.approx(5.03)
    assert second["clock_offset"] == pytest.approx(5.0, abs=0.01)
    # Without looking for skew the hop cannot be matched.
    strict = _hop(match_connections(skewed, max_skew=0), "web-01")
    assert strict["status"] != "matched"


def test_given_addresses_win_and_the_listening_port_decides(make_events: Make) -> None:
    events = make_events(
        [
            listen("web-01", 300, "sshd", 22),
            listen("web-01", 449, "nginx", 80),
            listen("web-01", 449, "nginx", 443),
            connect("bastion-01", 20, "ssh", 1.0, IP["web-01"], 22),
            # a worker of nginx (listening on 80 and 443) accepts from the bastion first
            accept("web-01", 450, "nginx", 1.002, IP["bastion-01"], 40001, parent_pid=449),
            accept("web-01", 300, "sshd", 1.04, IP["bastion-01"], 40002),
        ]
    )
    given = {"web-01": IP["web-01"], "bastion-01": [IP["bastion-01"]]}
    found = match_connections(events, host_addresses=given)
    ssh = found[found["src_process"] == "ssh"].iloc[0]
    assert (ssh["status"], ssh["dst_process"], ssh["src_port"]) == ("matched", "sshd", 40002)
    nginx = found[found["dst_process"] == "nginx"].iloc[0]
    assert nginx["status"] == "not_connected"
    addresses = infer_host_addresses(events, host_addresses={**given, "db-09": "10.9.9.9"})
    assert addresses["source"].tolist() == ["given"] * 3
    assert addresses["host_name"].tolist() == ["bastion-01", "db-09", "web-01"]


def test_loopback_failed_and_in_progress_connects(make_events: Make) -> None:
    events = make_events(
        [
            connect("web-01", 10, "python3", 0.0, "127.0.0.1", 8000),
            accept("web-01", 11, "gunicorn", 0.001, "127.0.0.1", 45000),
            connect("web-01", 12, "java", 1.0, "10.0.2.12", 5432, success=False, exit_code=-111),
            connect("web-01", 13, "java", 2.0, "10.0.2.12", 5432, success=False, exit_code=-115),
            accept("db-02", 14, "postgres", 2.003, "10.0.1.11", 45001),
        ]
    )
    found = match_connections(events, host_addresses={"db-02": "10.0.2.12"})
    by = found.set_index("src_pid")
    assert (by.loc[10, "status"], by.loc[10, "match_basis"]) == ("matched", "loopback")
    assert by.loc[10, "dst_host"] == "web-01"
    assert by.loc[12, "status"] == "failed"
    assert (by.loc[13, "status"], by.loc[13, "dst_process"]) == ("matched", "postgres")


def test_a_login_record_stands_in_for_an_unaudited_accept(make_events: Make) -> None:
    rows = [connect("bastion-01", 20, "ssh", 0.0, IP["web-01"], 22)]
    rows += login("web-01", 2.5, IP["bastion-01"], ses=7, sshd=4001, listener=300)
    found = match_connections(make_events(rows), host_addresses={"web-01": IP["web-01"]})
    ssh = found.iloc[0]
    assert (ssh["status"], ssh["dst_kind"], ssh["dst_session"]) == ("matched", "login", "web-01:7")
    assert len(found) == 1


def test_coincidences_with_internet_clients_do_not_claim_addresses(make_events: Make) -> None:
    rows = fleet()
    for k in range(120):  # web-01 serves internet clients twice a second
        rows.append(accept("web-01", 450, "nginx", 300 + k / 2, f"198.51.100.{k % 200}", 50000))
    for k in range(10):  # meanwhile db-02 downloads from a CDN
        rows.append(connect("db-02", 800 + k, "apt", 300.2 + 5 * k, "151.101.2.132", 443))
    events = make_events(rows)
    assert "151.101.2.132" not in set(infer_host_addresses(events)["ip"])
    found = match_connections(events)
    assert set(found.loc[found["src_process"] == "apt", "status"]) == {"outside_fleet"}


def test_report_prints_paths(events: pa.Table) -> None:
    found = match_connections(events)
    chain = found[found["path_id"] == _hop(found, "web-01")["path_id"]]
    lines = str(ConnectionReport(chain)).splitlines()
    assert lines[0] == "path from 10.8.0.6: 3 connections, 3 hops"
    assert lines[1].split() == [
        "10:01:40.000", "10.8.0.6", "->", "bastion-01:22", "sshd", "[300]", "from", "outside",
        "the", "fleet,", "opened", "session", "bastion-01:5", "(alice)",
    ]  # fmt: skip
    assert lines[2].split() == [
        "└─", "10:01:50.010", "bastion-01", "ssh", "[3010]", "->", "web-01", "(10.0.1.11:22)",
        "sshd", "[300]", "+0.040s", "opened", "session", "web-01:7", "(alice)",
    ]  # fmt: skip
    assert lines[3].lstrip().startswith("└─ 10:02:10.010  web-01")
    limited = ConnectionReport(found, limit=2).to_text().splitlines()
    assert limited[-1] == f"... {found['path_id'].nunique() - 2} more paths not shown"


def test_bad_parameters(events: pa.Table) -> None:
    with pytest.raises(ValueError, match="'window' parameter must be a non-negative duration"):
        match_connections(events, window="-2s")
    with pytest.raises(ValueError, match="'host_addresses' parameter must map host names"):
        match_connections(events, host_addresses=[("web-01", "10.0.1.11")])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'min_votes' parameter must be a positive integer"):
        infer_host_addresses(events, min_votes=0)


def test_no_connections(make_events: Make) -> None:
    events = make_events([{"process_pid": 1, "process_name": "init"}])
    assert match_connections(events).empty
    assert infer_host_addresses(events).empty
    assert str(ConnectionReport(match_connections(events))) == "no connections"


def test_one_to_one_pairing_is_the_cheapest_first_greedy() -> None:
    import numpy as np

    from behavemodel.investigate._connections import _greedy

    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(1, 80))
        a, b = rng.integers(0, 12, n), rng.integers(0, 12, n)
        cost = rng.integers(0, 20, n)  # many ties: broken by (a, b)
        taken_a: set[int] = set()
        taken_b: set[int] = set()
        expected = set()
        for k in np.lexsort((b, a, cost)).tolist():
            if a[k] not in taken_a and b[k] not in taken_b:
                taken_a.add(int(a[k]))
                taken_b.add(int(b[k]))
                expected.add(k)
        assert set(_greedy(a, b, cost).tolist()) == expected
