"""The six attack scenarios: placement, labels, and the shape of each attack."""

from __future__ import annotations

import pandas as pd
import pytest

from behavemodel.datasets import (
    SCENARIOS,
    Scenario,
    Simulation,
    app_dir_tamper,
    lateral_movement,
    reverse_shell,
    shellshock,
    simulate_fleet,
    unexpected_user,
)
from behavemodel.datasets._scenarios import resolve_scenarios


def ancestors(df: pd.DataFrame, row: pd.Series) -> list[str]:
    """Names of the processes above ``row``, nearest first, as the log shows them.

    A pid's process is its last event before the time in question (forked workers
    never exec, so any event counts), which also handles pid reuse.
    """
    events = df[
        (df["host_name"] == row["host_name"])
        & df["process_exe"].notna()
        & df["parent_pid"].notna()
    ]
    chain = []
    pid, t = row["parent_pid"], row["time"]
    for _ in range(12):
        cand = events[(events["process_pid"] == pid) & (events["time"] <= t)]
        if cand.empty:
            break
        parent = cand.iloc[-1]
        chain.append(str(parent["process_name"]))
        if parent["process_pid"] == 1:
            break
        pid, t = parent["parent_pid"], parent["time"]
    return chain


def of(labelled: pd.DataFrame, scenario: str) -> pd.DataFrame:
    return labelled[labelled["scenario"] == scenario]


def test_every_scenario_is_labelled(fleet_day: Simulation, labelled: pd.DataFrame) -> None:
    labels = fleet_day.labels.to_pandas()
    assert set(labels["scenario"]) == set(SCENARIOS)
    assert labels["event_id"].is_unique
    assert len(labelled) == len(labels)  # every label names an event
    assert labels["step"].notna().all() and (labels["step"] != "").all()


def test_no_scenarios_no_labels() -> None:
    sim = simulate_fleet(groups=["web"], hosts_per_group=1, days=0.1, seed=0)
    assert sim.labels.num_rows == 0


def test_shellshock_through_nagios(labelled: pd.DataFrame, fleet_day_df: pd.DataFrame) -> None:
    ev = of(labelled, "shellshock")
    assert set(ev["host_name"]) == {"monitoring-01"}
    curl = ev[(ev["process_name"] == "curl") & (ev["event_type"] == "process_start")].iloc[0]
    chain = ancestors(fleet_day_df, curl)
    # curl <- bash (the ssi script) <- sh (system()) <- summary.cgi <- apache2 worker
    assert chain[0] == "common-header.s" and chain[1] == "sh" and chain[2] == "summary.cgi"
    assert "apache2" in chain[3:]
    assert curl["parent_exe"] == "/usr/bin/bash"
    assert ((ev["event_type"] == "net_connect") & (ev["process_name"] == "curl")).any()
    drop = "/tmp/.nagios_update.sh"
    writes = ev[ev["event_type"] == "file_write"]
    assert drop in set(writes[writes["process_name"] == "curl"]["file_path"])
    chmod = ev[(ev["process_name"] == "chmod") & (ev["event_type"] == "process_start")]
    assert chmod["process_cmdline"].str.contains("755").all()
    assert drop in set(writes[writes["process_name"] == "chmod"]["file_path"])
    nc = ev[(ev["event_type"] == "net_listen") & ev["success"].astype(bool)]
    assert nc["process_exe"].eq("/usr/bin/nc.traditional").all() and (nc["dst_port"] == 4444).all()
    assert "/var/spool/cron/crontabs/www-data" in set(writes["file_path"])
    assert "/var/www/.ssh/authorized_keys" in set(writes["file_path"])
    syscalls = ev[ev["record_type"] == "SYSCALL"]
    assert (syscalls["user_name"] == "www-data").all()
    steps = set(ev["step"])
    assert {"exploit_request", "cgi", "download", "chmod", "execute", "bind_shell",
            "persistence_cron", "persistence_ssh_key"} <= steps  # fmt: skip


@pytest.mark.parametrize("variant", ["bash", "python", "perl"])
def test_reverse_shell_variants(variant: str) -> None:
    sim = simulate_fleet(
        groups=["web"],
        hosts_per_group=1,
        days=0.2,
        seed=1,
        scenarios=[reverse_shell(at="2h", variant=variant)],
    )
    df = sim.to_pandas()
    ev = df.merge(sim.labels.to_pandas(), on="event_id")
    back = ev[(ev["event_type"] == "net_connect") & (ev["dst_port"] == 4444)]
    assert len(back) == 1
    assert ancestors(df, back.iloc[0])[-2:] == ["gunicorn", "systemd"]
    # the second stage carries a long inline payload (split over EXECVE records in logs)
    stage2 = ev[(ev["step"] == "stage2") & (ev["event_type"] == "process_start")]
    assert stage2["process_cmdline"].str.len().max() > 9000


def test_unknown_binaries_phone_home(labelled: pd.DataFrame, fleet_day_df: pd.DataFrame) -> None:
    ev = of(labelled, "unknown_binary")
    miner = ev[
        (ev["process_exe"] == "/var/tmp/.cache/kdevtmpfsi") & (ev["event_type"] == "net_connect")
    ]
    assert len(miner) > 10 and (miner["dst_port"] == 3333).all()
    look = ev[(ev["process_exe"] == "/dev/shm/.x/sshd") & (ev["event_type"] == "net_connect")]
    assert len(look) > 5 and (look["process_name"] == "sshd").all()
    benign = fleet_day_df[~fleet_day_df["event_id"].isin(ev["event_id"])]
    assert not benign["process_exe"].isin(["/var/tmp/.cache/kdevtmpfsi", "/dev/shm/.x/sshd"]).any()
    assert "/usr/sbin/sshd" in set(benign["process_exe"])  # the name it imitates


def test_app_dir_tamper_is_not_chef(labelled: pd.DataFrame, fleet_day_df: pd.DataFrame) -> None:
    ev = of(labelled, "app_dir_tamper")
    edits = ev[(ev["event_type"] == "file_write") & ev["file_path"].str.startswith("/srv/shop/")]
    assert len(edits) >= 3 and (edits["user_name"] == "alice").all()
    assert (edits["step"] == "edit").all()
    benign = fleet_day_df[~fleet_day_df["event_id"].isin(ev["event_id"])]
    app = benign[
        (benign["event_type"] == "file_write")
        & benign["file_path"].str.startswith("/srv/shop/releases/", na=False)
    ]
    assert "alice" not in set(app["user_name"])


def test_daemon_as_unexpected_user(labelled: pd.DataFrame, fleet_day_df: pd.DataFrame) -> None:
    ev = of(labelled, "unexpected_user")
    start = ev[ev["event_type"] == "process_start"]
    assert len(start) == 1
    assert start.iloc[0]["process_name"] == "redis-server" and start.iloc[0]["user_name"] == "root"
    served = ev[ev["event_type"] == "net_accept"]
    assert len(served) > 0 and (served["user_name"] == "root").all()
    normal = fleet_day_df[
        (fleet_day_df["process_name"] == "redis-server")
        & ~fleet_day_df["event_id"].isin(ev["event_id"])
    ]
    assert set(normal["user_name"]) == {"redis"}


def test_lateral_movement_across_hosts(fleet_day: Simulation, labelled: pd.DataFrame) -> None:
    ev = of(labelled, "lateral_movement")
    hosts = fleet_day.hosts.set_index("host")
    src, dst = "web-01", "db-01"
    out = ev[(ev["host_name"] == src) & (ev["event_type"] == "net_connect")]
    assert (out["dst_ip"] == hosts.loc[dst, "ip"]).any() and (out["dst_port"] == 22).any()
    acc = ev[(ev["host_name"] == dst) & (ev["event_type"] == "net_accept")]
    assert (acc["src_ip"] == hosts.loc[src, "ip"]).all() and len(acc) == 1
    login = ev[(ev["host_name"] == dst) & (ev["event_type"] == "login")]
    assert len(login) == 1 and login.iloc[0]["user_name"] == "deploy"
    assert login.iloc[0]["src_ip"] == hosts.loc[src, "ip"]
    remote = ev[
        (ev["host_name"] == dst)
        & (ev["event_type"] == "process_start")
        & (ev["step"] == "remote_commands")
    ]
    assert len(remote) >= 3 and remote["session_id"].nunique() == 1


def test_injectable_into_any_host_and_time() -> None:
    sim = simulate_fleet(
        groups=["db"],
        hosts_per_group=1,
        days=0.2,
        seed=0,
        scenarios=[shellshock("db-01", at="2024-03-04T02:00:00Z")],
    )
    df = sim.to_pandas()
    ev = df.merge(sim.labels.to_pandas(), on="event_id")
    assert set(ev["host_name"]) == {"db-01"}
    assert ev["time"].min() >= pd.Timestamp("2024-03-04T02:00:00Z")
    # the host got the web server the attack goes through, started at boot
    boot = df[(df["process_name"] == "apache2") & (df["event_type"] == "process_start")]
    assert len(boot) == 1 and boot.iloc[0]["time"] < pd.Timestamp("2024-03-04T00:01:00Z")


def test_scenario_arguments() -> None:
    assert [s.name for s in resolve_scenarios("all")] == list(SCENARIOS)
    assert resolve_scenarios(unexpected_user()) == (unexpected_user(),)
    assert lateral_movement(target="db-02").options == {"target": "db-02"}
    assert app_dir_tamper(user="bob").options == {"user": "bob"}
    with pytest.raises(ValueError, match="Unknown scenario"):
        Scenario("rootkit")
    with pytest.raises(ValueError, match="'variant'"):
        reverse_shell(variant="ruby")
    with pytest.raises(ValueError, match="outside the simulated period"):
        simulate_fleet(
            groups=["web"],
            hosts_per_group=1,
            days=0.1,
            scenarios=[shellshock(at="2030-01-01T00:00:00Z")],
        )
    with pytest.raises(ValueError, match="No host named"):
        simulate_fleet(
            groups=["web"], hosts_per_group=1, days=0.1, scenarios=[shellshock("mail-01")]
        )
