"""A small canonical dump and a detector fitted on its first part."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from behavemodel import schema
from behavemodel.io import write_events
from behavemodel.models import BaselineDetector

FEATURES = ["NetworkProcesses", "ProcessOwners", "ParentNames", "NetworkPorts", "FileWriters"]


def make_events(n: int, seed: int, start: str = "2024-01-01") -> pa.Table:
    """``n`` canonical events on 6 hosts in 2 groups over 2 days, some of them odd."""
    rng = np.random.default_rng(seed)
    hosts = np.array(["web-01", "web-02", "web-03", "db-01", "db-02", "db-03"])
    exes = np.array(
        ["/usr/sbin/nginx", "/usr/bin/curl", "/usr/bin/psql", "/bin/sh", "/opt/app-2.3.1/srv"]
    )
    kinds = np.array(["net_connect", "net_accept", "process_start", "file_write"])
    host = rng.integers(0, len(hosts), n)
    kind = rng.integers(0, len(kinds), n)
    exe = rng.integers(0, len(exes), n)
    late = np.arange(n) > n // 2
    odd = late & (rng.random(n) < 0.02)
    exe_names = exes[exe].astype(object)
    exe_names[odd] = "/tmp/.x/nc"
    t0 = pd.Timestamp(start, tz="UTC").value // 1000
    times = np.sort(t0 + rng.integers(0, 2 * 86400 * 10**6, n))
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(times, unit="us", utc=True),
            "host_name": hosts[host],
            "host_group": np.where(host < 3, "web", None),  # db hosts: group from host name
            "event_type": kinds[kind],
            "success": np.where(rng.random(n) < 0.05, None, True),
            "process_exe": exe_names,
            "process_name": [e.rsplit("/", 1)[-1] for e in exe_names],
            "process_pid": rng.integers(100, 9999, n),
            "process_cmdline": [f"{e} --flag {i % 7}" for i, e in enumerate(exe_names)],
            "parent_exe": np.where(exe % 2 == 0, "/sbin/init", "/usr/sbin/nginx"),
            "user_name": np.where(
                odd & (kind == 2), "nobody", np.where(exe == 2, "postgres", "www")
            ),
            "net_family": np.where(kind < 2, "inet", None),
            "net_direction": np.where(kind == 0, "outbound", np.where(kind == 1, "inbound", None)),
            "dst_port": pd.array(np.where(kind < 2, 443 + exe % 2, 0), dtype="Int32"),
            "src_ip": np.where(kind < 2, "10.0.0.1", None),
            "dst_ip": np.where(kind < 2, "10.0.0.2", None),
            "file_path": np.where(kind == 3, "/srv/app/current/config.yml", None),
            "cwd": "/srv/app",
            "event_id": [f"{hosts[h]}:{i}" for i, h in enumerate(host)],
            "source_format": "canonical",
        }
    )
    frame.loc[kind >= 2, "dst_port"] = pd.NA
    return schema.conform(frame, fill_missing=True)


@pytest.fixture(scope="session")
def events() -> pa.Table:
    return make_events(6000, seed=1)


@pytest.fixture(scope="session")
def model(events: pa.Table) -> BaselineDetector:
    train = events.slice(0, 3000)
    return BaselineDetector(features=FEATURES, min_span="6h", novelty_threshold=0.2).fit(train)


@pytest.fixture(scope="session")
def dump(tmp_path_factory: pytest.TempPathFactory, events: pa.Table) -> dict[str, Any]:
    """The events in three files of several row groups (row order kept)."""
    folder = tmp_path_factory.mktemp("dump")
    paths = []
    for i, (start, stop) in enumerate([(0, 2500), (2500, 4100), (4100, 6000)]):
        path = folder / f"part-{i}.parquet"
        write_events(events.slice(start, stop - start), path, row_group_size=700)
        paths.append(path)
    return {"folder": folder, "paths": paths}
