"""The fleet simulator: determinism, schema, streaming, and the benign behaviour it promises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from behavemodel import schema as s
from behavemodel.datasets import (
    Simulation,
    iter_fleet_batches,
    simulate_fleet,
    simulate_fleet_to_parquet,
)
from behavemodel.datasets._simulator import _config, _Run


def test_same_seed_same_events() -> None:
    a = simulate_fleet(groups=["web", "db"], hosts_per_group=1, days=0.2, seed=5)
    b = simulate_fleet(groups=["web", "db"], hosts_per_group=1, days=0.2, seed=5)
    c = simulate_fleet(groups=["web", "db"], hosts_per_group=1, days=0.2, seed=6)
    assert a.events.equals(b.events)
    assert a.labels.equals(b.labels)
    assert not a.events.equals(c.events)


def test_events_conform_to_the_canonical_schema(fleet_day: Simulation) -> None:
    s.validate(fleet_day.events)
    assert fleet_day.events.schema.equals(s.CANONICAL_SCHEMA, check_metadata=False)
    df = fleet_day.to_pandas()
    assert set(df["source_format"].unique()) == {"canonical"}
    assert df["event_id"].is_unique
    assert df["time"].is_monotonic_increasing
    # time has millisecond precision, as audit logs carry
    us = fleet_day.events.column(s.TIME).cast(pa.int64()).to_numpy()
    assert (us % 1000 == 0).all()


def test_event_ids_follow_the_reader_convention(fleet_day_df: pd.DataFrame) -> None:
    df = fleet_day_df
    parts = df["event_id"].str.extract(
        r"^(?P<host>[^:]+):(?P<sec>\d+)\.(?P<ms>\d{3}):(?P<serial>\d+)$"
    )
    assert parts.notna().all().all()
    assert (parts["host"] == df["host_name"].astype(str)).all()
    ms = df["time"].astype("int64") // 1000  # Arrow-backed: microseconds
    assert (parts["sec"].astype("int64") * 1000 + parts["ms"].astype("int64") == ms).all()
    # per host, serials increase with time
    for _, g in parts.assign(t=ms).groupby("host"):
        assert g["serial"].astype("int64").is_monotonic_increasing


def test_host_groups_and_group_column(fleet_day: Simulation, fleet_day_df: pd.DataFrame) -> None:
    assert dict(fleet_day.host_groups) == {
        "web-01": "web", "db-01": "db", "worker-01": "worker", "bastion-01": "bastion",
        "monitoring-01": "monitoring", "cache-01": "cache",
    }  # fmt: skip
    mapped = fleet_day_df["host_name"].astype(str).map(dict(fleet_day.host_groups))
    assert (mapped == fleet_day_df["host_group"].astype(str)).all()
    assert set(fleet_day.hosts["arch"]) == {"x86_64", "aarch64"}


def test_batches_concatenate_to_the_full_simulation() -> None:
    kw = dict(groups=["web", "bastion"], hosts_per_group=1, days=0.3, seed=2, scenarios="all")
    full = simulate_fleet(**kw)
    batches = list(iter_fleet_batches(**kw, batch_size=997))
    assert max(b.events.num_rows for b in batches) == 997
    events = pa.concat_tables([b.events for b in batches]).unify_dictionaries()
    assert events.num_rows == full.events.num_rows
    assert events.column(s.EVENT_ID).to_pylist() == full.events.column(s.EVENT_ID).to_pylist()
    assert events.column(s.PROCESS_CMDLINE).equals(full.events.column(s.PROCESS_CMDLINE))
    labels = pa.concat_tables([b.labels for b in batches])
    assert labels.num_rows == full.labels.num_rows > 0


def test_streaming_to_parquet(tmp_path) -> None:
    out = simulate_fleet_to_parquet(
        tmp_path / "sim", groups=["db", "cache"], hosts_per_group=1, days=0.5, seed=4,
        scenarios=["unexpected_user"], batch_size=4000,
    )  # fmt: skip
    events = pq.read_table(out.events_path)
    s.validate(events)
    assert events.num_rows == out.n_events
    assert pq.ParquetFile(out.events_path).metadata.num_row_groups > 1
    assert pq.read_table(out.labels_path).num_rows == out.n_labels > 0
    assert out.host_groups_path.read_text() == "host,group\ncache-01,cache\ndb-01,db\n"
    same = simulate_fleet(
        groups=["db", "cache"], hosts_per_group=1, days=0.5, seed=4, scenarios=["unexpected_user"]
    )
    assert events.column(s.EVENT_ID).to_pylist() == same.events.column(s.EVENT_ID).to_pylist()


def test_parent_fields_match_the_simulated_process_tree() -> None:
    """parent_exe is what the log shows; where it shows anything, it is the true parent."""
    run = _Run(_config(("web", "worker", "monitoring"), 1, 1.0, "2024-03-04", "all", 8, 1.0))
    run.finalizer.keep_truth = True
    events, extras = [], []
    for b in run.batches(1 << 30):
        events.append(b.events)
        extras.append(b.extras)
    ev = pa.concat_tables(events)
    ex = pa.concat_tables(extras)
    derived = ev.column(s.PARENT_EXE).to_numpy(zero_copy_only=False)
    truth = ex.column("_true_parent_exe").to_numpy(zero_copy_only=False)
    known = pd.notna(derived)
    assert (derived[known] == truth[known]).all()
    starts = pc.equal(ev.column(s.EVENT_TYPE), "process_start").to_numpy(zero_copy_only=False)
    assert known[starts].mean() > 0.97  # almost every parent appeared in the log first
    assert pd.isna(derived[starts & (ev.column(s.PROCESS_PID).to_numpy() == 1)]).all()


def test_no_child_starts_before_its_parent_execs(fleet_day_df: pd.DataFrame) -> None:
    # A parent that exec's just after its child would make the reader (and the
    # simulator) take the previous holder of that pid as the parent.
    starts = fleet_day_df[fleet_day_df["event_type"] == "process_start"]
    children = starts[["host_name", "time", "parent_pid"]]
    parents = starts[["host_name", "time", "process_pid"]].rename(
        columns={"time": "parent_time", "process_pid": "parent_pid"}
    )
    pairs = children.merge(parents, on=["host_name", "parent_pid"])
    late = pairs[
        (pairs["parent_time"] > pairs["time"])
        & (pairs["parent_time"] <= pairs["time"] + pd.Timedelta("2s"))
    ]
    assert len(late) == 0


def test_every_host_boots_with_its_daemons(fleet_day_df: pd.DataFrame) -> None:
    df = fleet_day_df
    for _host, g in df.groupby("host_name", observed=True):
        first = g.iloc[0]
        assert first["process_pid"] == 1 and first["process_exe"] == "/usr/lib/systemd/systemd"
        boot = g[g["time"] < g["time"].iloc[0] + pd.Timedelta(seconds=30)]
        assert {"sshd", "cron", "auditd"} <= set(boot["process_name"].dropna())
        assert (boot["event_type"] == "net_listen").any()


def test_at_least_300_executables_with_a_heavy_tail() -> None:
    sim = simulate_fleet(hosts_per_group=2, days=1, seed=0)
    starts = sim.to_pandas().query("event_type == 'process_start'")
    counts = starts["process_exe"].value_counts().to_numpy().astype(float)
    assert len(counts) >= 300
    # Zipf-like: a few executables dominate, most are rare; log-log rank slope well below -1
    assert counts[:10].sum() / counts.sum() > 0.4
    assert np.median(counts) < counts[0] / 100
    rank = np.arange(1, len(counts) + 1)
    slope = np.polyfit(np.log(rank), np.log(counts), 1)[0]
    assert slope < -1.0


def test_package_upgrade_moves_the_jvm_path() -> None:
    sim = simulate_fleet(groups=["worker"], hosts_per_group=1, days=3, seed=1)
    df = sim.to_pandas()
    java = df[(df["process_name"] == "java") & (df["event_type"] == "process_start")]
    old = java[java["process_exe"] == "/usr/lib/jvm/java-17-openjdk-17.0.8/bin/java"]
    new = java[java["process_exe"] == "/usr/lib/jvm/java-17-openjdk-17.0.9/bin/java"]
    assert len(old) and len(new)
    assert old["time"].max() < new["time"].min()
    # the upgrade itself: dpkg writes the new tree and removes the old one
    writes = df[(df["event_type"] == "file_write") & (df["process_name"] == "dpkg")]
    paths = set(writes["file_path"].dropna())
    assert "/usr/lib/jvm/java-17-openjdk-17.0.9/bin/java" in paths
    assert "/usr/lib/jvm/java-17-openjdk-17.0.8/bin/java" in paths  # unlinked


def test_deploys_restart_the_app_with_a_new_release_and_chef_writes_the_app_dir() -> None:
    sim = simulate_fleet(groups=["web"], hosts_per_group=1, days=2, seed=2)
    df = sim.to_pandas()
    gunicorn = df[(df["process_name"] == "gunicorn") & (df["event_type"] == "process_start")]
    releases = gunicorn["process_cmdline"].str.extract(r"--chdir (\S+)")[0].unique()
    assert len(releases) == 2  # booted release, Tuesday's deploy
    app_writes = df[
        (df["event_type"] == "file_write")
        & df["file_path"].str.startswith("/srv/shop/releases/", na=False)
    ]
    assert set(app_writes["user_name"]) == {"root"}
    assert set(app_writes["process_name"]) <= {"chef-client", "git"}


def test_day_night_rhythm(fleet_day_df: pd.DataFrame) -> None:
    web = fleet_day_df[
        (fleet_day_df["host_name"] == "web-01") & (fleet_day_df["event_type"] == "net_accept")
    ]
    hours = web["time"].dt.hour
    assert (hours.between(12, 16)).sum() > 4 * (hours.between(1, 5)).sum()


def test_pids_are_reused(fleet_day_df: pd.DataFrame) -> None:
    starts = fleet_day_df[fleet_day_df["event_type"] == "process_start"]
    per_pid = starts.groupby(["host_name", "process_pid"], observed=True)["process_exe"].nunique()
    assert (per_pid > 1).sum() > 100


def test_containers_and_overlay_paths(fleet_day_df: pd.DataFrame) -> None:
    cont = fleet_day_df[fleet_day_df["container_id"].notna()]
    assert len(cont) > 0
    assert cont["container_id"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert "/usr/local/bin/python3.12" in set(cont["process_exe"])
    runc = fleet_day_df[
        fleet_day_df["process_exe"] == "/memfd:runc_cloned:/proc/self/exe (deleted)"
    ]
    assert len(runc) > 0
    docker_paths = fleet_day_df["file_path"].dropna()
    assert docker_paths.str.match(r"/var/lib/docker/containers/[0-9a-f]{64}/").any()


def test_aarch64_hosts_use_their_syscalls(fleet_day_df: pd.DataFrame) -> None:
    cache = fleet_day_df[fleet_day_df["host_name"] == "cache-01"]
    assert "rename" not in set(cache["syscall"].dropna())
    assert "renameat" in set(cache["syscall"].dropna())


def test_ssh_sessions_carry_login_context(fleet_day_df: pd.DataFrame) -> None:
    df = fleet_day_df
    logins = df[(df["event_type"] == "login") & df["success"]]
    assert len(logins) > 5
    assert logins["session_id"].notna().all() and logins["src_ip"].notna().all()
    ses = logins.iloc[0]
    cmds = df[
        (df["host_name"] == ses["host_name"])
        & (df["session_id"] == ses["session_id"])
        & (df["event_type"] == "process_start")
    ]
    assert len(cmds) >= 1
    assert cmds["tty"].str.startswith("pts").all()
    assert (cmds["login_name"] == ses["user_name"]).all()
    failed = df[(df["event_type"] == "login") & ~df["success"].astype(bool)]
    assert len(failed) > 10  # internet scanners on the bastion


def test_in_progress_connects_are_failed_with_einprogress(fleet_day_df: pd.DataFrame) -> None:
    conn = fleet_day_df[fleet_day_df["event_type"] == "net_connect"]
    pending = conn[conn["exit_code"] == -115]
    assert len(pending) > 0 and not pending["success"].any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(groups=["dns"]), "unknown server group"),
        (dict(days=0), "'days' parameter"),
        (dict(hosts_per_group=0), "at least one host"),
        (dict(scenarios=["rootkit"]), "Unknown scenario 'rootkit'"),
        (dict(activity=-1.0), "'activity' parameter"),
    ],
)
def test_bad_arguments_are_explained(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        simulate_fleet(**kwargs)


def test_no_placeholder_is_left_unfilled(fleet_day: Simulation) -> None:
    from behavemodel.datasets._templates import BUILTIN_VARS

    names = "|".join(sorted(BUILTIN_VARS | {"new", "old", "guess", "check", "dur"}))
    pattern = r"\{(" + names + r"|pool\.[a-z_]+)\}"
    for name in fleet_day.events.column_names:
        column = fleet_day.events.column(name)
        if pa.types.is_string(column.type):
            hits = pc.sum(pc.match_substring_regex(column, pattern)).as_py()
            assert not hits, f"column {name} has unfilled placeholders"
