"""The seed scenarios on the fleet simulator, investigated end to end.

Shellshock through Nagios: the netcat bind shell's ancestry reaches the CGI.
Lateral movement: the attacker's ssh hop is matched to the session it opened on
the next host, and that session's commands are listed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from behavemodel import schema
from behavemodel.investigate import (
    ancestry,
    ancestry_strings,
    list_sessions,
    match_connections,
    session_timeline,
)
from behavemodel.models import BaselineDetector, alerts

datasets = pytest.importorskip("behavemodel.datasets")
if not hasattr(datasets, "simulate_fleet"):  # pragma: no cover - until the simulator lands
    pytest.skip(
        "behavemodel.datasets.simulate_fleet is not available yet", allow_module_level=True
    )


@pytest.fixture(scope="module")
def sim() -> Any:
    return datasets.simulate_fleet(
        groups={"web": 2, "db": 2, "bastion": 1, "monitoring": 1},
        days=0.5,
        seed=3,
        scenarios=[
            datasets.shellshock(host="monitoring-01", at="2h"),
            datasets.lateral_movement(host="web-01", target="db-02", at="3h"),
        ],
    )


@pytest.fixture(scope="module")
def labelled(sim: Any) -> pd.DataFrame:
    """Labelled events: the canonical columns plus ``scenario`` and ``step``."""
    events = schema.to_pandas(sim.events)
    labels = sim.labels.to_pandas()[["event_id", "scenario", "step"]]
    return events.merge(labels, on="event_id").sort_values("time", kind="stable")


def _one(frame: pd.DataFrame, **where: str) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column].astype(str) == value
    assert mask.sum() >= 1, where
    return frame[mask].iloc[0]


def test_netcat_bind_shell_ancestry_reaches_the_nagios_cgi(
    sim: Any, labelled: pd.DataFrame
) -> None:
    listen = _one(labelled, scenario="shellshock", step="bind_shell", event_type="net_listen")
    chain = ancestry(sim.events, listen["event_id"])
    names = chain["process_name"].tolist()
    assert names[0] == "nc.traditional"
    cgi = names.index("summary.cgi")
    assert names[cgi - 1] == "sh" and names[cgi + 1] == "apache2"
    assert chain["host_name"].unique().tolist() == ["monitoring-01"]
    # Every process from the CGI down to netcat was started by the attack.
    started = chain["event_id"].iloc[: cgi + 1]
    attack = set(labelled.loc[labelled["scenario"] == "shellshock", "event_id"])
    assert set(started) <= attack
    text = ancestry_strings(sim.events, [listen["event_id"]], max_depth=8).iloc[0]
    assert "apache2 -> summary.cgi -> sh -> " in text and text.endswith("-> nc.traditional")


def test_commands_typed_into_the_bind_shell_descend_from_netcat(
    sim: Any, labelled: pd.DataFrame
) -> None:
    typed = labelled[
        (labelled["scenario"] == "shellshock")
        & (labelled["step"] == "interactive")
        & (labelled["event_type"] == "process_start")
        & (labelled["process_name"] != "bash")
    ]
    assert len(typed) >= 3
    strings = ancestry_strings(sim.events, typed["event_id"].tolist(), max_depth=3).tolist()
    # nc -e /bin/bash execs bash in place: the same process, shown with "=>".
    assert strings == [f"… -> nc.traditional => bash -> {n}" for n in typed["process_name"]]


def test_ssh_hop_is_matched_to_the_session_it_opened(sim: Any, labelled: pd.DataFrame) -> None:
    hop = _one(labelled, scenario="lateral_movement", step="ssh_connect", event_type="net_connect")
    found = match_connections(sim.events)
    row = found[found["src_event_id"] == hop["event_id"]].iloc[0]
    assert (row["status"], row["src_host"], row["dst_host"]) == ("matched", "web-01", "db-02")
    assert (row["dst_process"], row["dst_port"], row["dst_login_name"]) == ("sshd", 22, "deploy")
    login = _one(
        labelled, scenario="lateral_movement", step="remote_login", record_type="USER_LOGIN"
    )
    assert row["dst_login_event_id"] == login["event_id"]
    assert row["dst_session"] == f"db-02:{login['session_id']}"
    # The attacker came in from the internet to web-01, then hopped on.
    assert row["hop"] == 2
    assert row["path"] == f"{row['path'].split(' -> ')[0]} -> web-01 -> db-02"
    root = found[found["connection"] == row["path_id"]].iloc[0]
    assert (root["status"], root["dst_host"], root["dst_session"]) == (
        "from_outside",
        "web-01",
        row["src_session"],
    )

    # That session's commands, in order, are the ones the attack typed on db-02.
    timeline = session_timeline(sim.events, host="db-02", session=int(login["session_id"]))
    typed = labelled[
        (labelled["scenario"] == "lateral_movement")
        & (labelled["host_name"] == "db-02")
        & (labelled["event_type"] == "process_start")
        & (labelled["session_id"] == login["session_id"])  # not sshd's own re-exec
    ]
    commands = timeline[timeline["kind"] == "command"]
    assert commands["process_cmdline"].tolist() == typed["process_cmdline"].tolist()
    assert commands["process_cmdline"].iloc[0] == "-bash"
    assert set(commands["user_name"]) <= {"deploy", "root"}
    kinds = timeline["kind"].tolist()
    assert kinds[0] == "accept" and kinds.index("login") < kinds.index("command")
    assert kinds[-2:] == ["logout", "pam"]  # CRED_DISP comes last
    summary = list_sessions(sim.events, host="db-02", session=int(login["session_id"]))
    assert summary["source_ip"].tolist() == [row["src_ip"]]


def test_explain_rows_carry_the_ancestry(sim: Any) -> None:
    events = sim.events
    attack = pa.scalar(pd.Timestamp("2024-03-04T01:55:00Z"), events.schema.field("time").type)
    before = events.filter(pc.less(events["time"], attack))
    model = BaselineDetector(alert_while_learning=True, min_span="1h").fit(before)
    found = model.explain(events.filter(pc.invert(pc.less(events["time"], attack))))
    nc = found[
        (found[alerts.FEATURE] == "NetworkProcesses")
        & found[schema.PROCESS_EXE].str.endswith("/nc.traditional").fillna(False)
    ]
    assert len(nc) >= 1
    assert "summary.cgi -> sh -> " in nc[alerts.ANCESTRY].iloc[0]
    assert found[alerts.ANCESTRY].notna().mean() > 0.9
