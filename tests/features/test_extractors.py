"""Tests for behavemodel.features._extractors and _observe (extract)."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pytest

from behavemodel import schema
from behavemodel.exceptions import SchemaError
from behavemodel.features import (
    DEFAULT_FEATURES,
    Extractor,
    FeatureConfigError,
    FileWriters,
    GroupMap,
    Key,
    NetworkPorts,
    NetworkProcesses,
    ParentNames,
    PathNormaliser,
    ProcessOwners,
    default_extractors,
    extract,
)
from behavemodel.features._codes import ColumnCodes, combine_codes

Make = Callable[..., pa.Table]


def _keys(events: pa.Table, extractor: Extractor | str) -> list[str]:
    return sorted(set(extract(events, [extractor])["key"]))


def test_network_processes_keeps_successful_inet_activity(make_events: Make) -> None:
    net = {"event_type": "net_connect", "net_family": "inet", "net_direction": "outbound"}
    events = make_events(
        [
            {**net, "process_exe": "/usr/bin/curl", "success": True},
            {**net, "process_exe": "/usr/bin/failed", "success": False, "exit_code": -111},
            {**net, "process_exe": "/usr/bin/nonblocking", "success": False, "exit_code": -115},
            {**net, "process_exe": "/usr/bin/unix", "net_family": "unix"},
            {**net, "process_exe": "/usr/bin/nofamily", "net_family": None},
            {**net, "process_exe": None, "process_name": "kthread"},
            {
                "event_type": "net_listen",
                "net_family": "inet6",
                "net_direction": "listen",
                "process_exe": "/usr/bin/nc",
            },
            {"event_type": "process_start", "process_exe": "/usr/bin/ls"},
        ]
    )
    assert _keys(events, "NetworkProcesses") == [
        "exe=/usr/bin/curl, direction=outbound",
        "exe=/usr/bin/nc, direction=listen",
        "exe=/usr/bin/nofamily, direction=outbound",
        "exe=/usr/bin/nonblocking, direction=outbound",
        "exe=kthread, direction=outbound",
    ]


def test_process_owners_and_parents_fall_back(make_events: Make) -> None:
    events = make_events(
        [
            {
                "process_exe": "/usr/sbin/nginx",
                "user_name": "www-data",
                "parent_exe": "/sbin/init",
            },
            {"process_exe": "/usr/sbin/nginx", "user_uid": 0, "parent_name": "systemd"},
            {"process_exe": "/usr/bin/x", "parent_exe": None},
        ]
    )
    assert _keys(events, ProcessOwners()) == [
        "exe=/usr/sbin/nginx, user=0",
        "exe=/usr/sbin/nginx, user=www-data",
    ]
    assert _keys(events, ParentNames()) == [
        "parent=/sbin/init, exe=/usr/sbin/nginx",
        "parent=systemd, exe=/usr/sbin/nginx",
    ]


def test_network_ports_use_the_responder_port(make_events: Make) -> None:
    events = make_events(
        [
            {
                "event_type": "net_connect",
                "net_family": "inet",
                "net_direction": "outbound",
                "process_exe": "/usr/bin/curl",
                "src_port": 51000,
                "dst_port": 443,
            },
            {
                "event_type": "net_accept",
                "net_family": "inet",
                "net_direction": "inbound",
                "process_exe": "/usr/sbin/sshd",
                "src_port": 40000,
                "dst_port": 22,
            },
        ]
    )
    assert _keys(events, NetworkPorts()) == [
        "exe=/usr/bin/curl, direction=outbound, port=443",
        "exe=/usr/sbin/sshd, direction=inbound, port=22",
    ]


def test_file_writers_directory_prefix(make_events: Make) -> None:
    write = {"event_type": "file_write", "user_name": "chef"}
    events = make_events(
        [
            {**write, "file_path": "/srv/app/current/config/app.yml"},
            {**write, "file_path": "/srv/app/current/app.rb"},
            {**write, "file_path": "config/db.yml", "cwd": "/srv/app/current"},
            {**write, "file_path": "/etc/nginx/sites/a.conf"},
            {**write, "file_path": "/x"},
        ]
    )
    assert _keys(events, FileWriters()) == [
        "directory=/, user=chef",
        "directory=/etc/nginx/sites, user=chef",
        "directory=/srv/app/current, user=chef",
    ]
    assert _keys(events, FileWriters(depth=1, prefixes=["/etc/nginx"])) == [
        "directory=/, user=chef",
        "directory=/etc/nginx, user=chef",
        "directory=/srv, user=chef",
    ]


def test_paths_are_normalised_before_becoming_keys(make_events: Make) -> None:
    events = make_events(
        [
            {"process_exe": "/opt/app-2.3.1/bin/server", "user_name": "app"},
            {"process_exe": "/opt/app-2.4.0/bin/server", "user_name": "app"},
        ]
    )
    assert _keys(events, ProcessOwners()) == ["exe=/opt/app-<version>/bin/server, user=app"]
    raw = extract(events, ["ProcessOwners"], normaliser=PathNormaliser(rules=()))
    assert len(set(raw["key"])) == 2


def test_observations_are_deduplicated_per_host_key_and_bucket(make_events: Make) -> None:
    chatty = [{"process_exe": "/bin/sh", "user_name": "root", "minutes": m} for m in range(50)]
    other_host = [{"process_exe": "/bin/sh", "user_name": "root", "host_name": "web-02"}]
    later = [{"process_exe": "/bin/sh", "user_name": "root", "minutes": 120}]
    obs = extract(make_events(chatty + other_host + later), ["ProcessOwners"])
    assert obs["events"].tolist() == [50, 1, 1]
    assert obs["host_name"].tolist() == ["web-01", "web-01", "web-02"]
    hourly = extract(make_events(chatty), ["ProcessOwners"], bucket="10min")
    assert len(hourly) == 5


def test_user_defined_extractor(make_events: Make) -> None:
    cron = Extractor(
        "CronChildren",
        keys=["process_exe", Key("user_name", "user")],
        event_types="process_start",
        where={"parent_exe": "/usr/sbin/cron"},
        template="cron ran {process_exe} as {user}",
    )
    events = make_events(
        [
            {
                "process_exe": "/usr/bin/backup",
                "user_name": "root",
                "parent_exe": "/usr/sbin/cron",
            },
            {"process_exe": "/bin/sh", "user_name": "root", "parent_exe": "/usr/sbin/sshd"},
        ]
    )
    assert _keys(events, cron) == ["process_exe=/usr/bin/backup, user=root"]
    assert cron.describe(["/usr/bin/backup", "root"]) == "cron ran /usr/bin/backup as root"
    assert cron.columns == ["event_type", "parent_exe", "process_exe", "user_name"]


def test_where_none_lets_nulls_through(make_events: Make) -> None:
    x = Extractor("X", keys=["process_exe"], where={"tty": ["pts0", None]})
    events = make_events(
        [
            {"process_exe": "/a", "tty": "pts0"},
            {"process_exe": "/b", "tty": "pts1"},
            {"process_exe": "/c"},
        ]
    )
    assert _keys(events, x) == ["process_exe=/a", "process_exe=/c"]


def test_extractors_round_trip_through_json() -> None:
    for extractor in [*default_extractors(), FileWriters(depth=2, prefixes=["/srv/app"])]:
        data = json.loads(json.dumps(extractor.to_dict()))
        rebuilt = Extractor.from_dict(data)
        assert rebuilt.to_dict() == extractor.to_dict()
    assert [e.name for e in default_extractors()] == list(DEFAULT_FEATURES)
    assert NetworkProcesses() == NetworkProcesses()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "", "keys": ["a"]}, "non-empty name"),
        ({"name": "X", "keys": []}, "at least one key"),
        ({"name": "X", "keys": ["a", Key("b", "a")]}, "key names .* unique"),
        ({"name": "X", "keys": ["a"], "event_types": ["exec"]}, r"among .*Got \['exec'\]"),
        ({"name": "X", "keys": ["a"], "template": "{b}"}, r"refers to \['b'\]"),
        ({"name": "X", "keys": [3]}, "column names, Key objects"),
        ({"name": "X", "keys": ["a"], "where": {"c": [1.5]}}, "strings, integers or None"),
    ],
)
def test_extractor_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(FeatureConfigError, match=message):
        Extractor(**kwargs)  # type: ignore[arg-type]


def test_key_errors() -> None:
    with pytest.raises(FeatureConfigError, match="positive integer"):
        Key("file_path", directory_depth=0)
    with pytest.raises(FeatureConfigError, match="absolute paths"):
        Key("file_path", directory_prefixes=("srv",))


def test_extract_accepts_pandas_and_batches(make_events: Make) -> None:
    events = make_events([{"process_exe": "/bin/ls", "user_name": "root"}] * 3)
    expected = extract(events)
    assert extract(schema.to_pandas(events)).equals(expected)
    assert extract(events.to_batches()[0]).equals(expected)


def test_extract_groups(make_events: Make) -> None:
    events = make_events(
        [
            {"process_exe": "/bin/ls", "user_name": "root", "host_name": "web-01"},
            {"process_exe": "/bin/ls", "user_name": "root", "host_name": "web-02"},
        ]
    )
    obs = extract(events, ["ProcessOwners"], groups=GroupMap.from_regex("^([a-z]+)"))
    assert obs["host_group"].tolist() == ["web", "web"]


def test_missing_columns_name_the_feature(make_events: Make) -> None:
    events = make_events([{"process_exe": "/bin/ls"}]).drop_columns(["user_uid", "user_name"])
    with pytest.raises(SchemaError, match=r"'user_name' \(needed by ProcessOwners\)"):
        extract(events, ["ProcessOwners"])
    with pytest.raises(SchemaError, match="Got a list instead"):
        extract([1, 2, 3])


def test_unknown_feature_name() -> None:
    with pytest.raises(FeatureConfigError, match="one of the names"):
        extract(pa.table({}), ["NoSuchFeature"])


def test_combine_codes_dense_and_hashed_paths_agree() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 50, 1000), rng.integers(0, 7, 1000)
    ids, (ua, ub) = combine_codes([a, b], [50, 7])
    assert np.array_equal(ua[ids], a) and np.array_equal(ub[ids], b)
    big_ids, (ba, bb) = combine_codes([a, b], [1 << 21, 1 << 21])  # forces factorisation
    assert np.array_equal(ba[big_ids], a) and np.array_equal(bb[big_ids], b)
    assert len(ua) == len(ba) == len(set(zip(a.tolist(), b.tolist(), strict=True)))


@pytest.mark.parametrize("terminal", [None, "pts0"])
def test_filters_on_a_column_without_values(terminal: str | None) -> None:
    # a tty column that is null for every event (or a terminal for every one)
    n = 6
    table = pa.table(
        {
            "event_type": pa.array(["process_start", "net_connect"] * 3),
            "tty": pa.array([terminal] * n, pa.string()).dictionary_encode(),
        }
    )
    columns = ColumnCodes(table)
    mask = ProcessOwners().mask(table, columns)
    assert mask.tolist() == [terminal is None, False] * 3
    # an all-null tty excludes nothing, known without a code per event
    assert (schema.TTY in columns._encoded) == (terminal is not None)
    where = Extractor("W", keys=["process_exe"], where={"tty": [None]})
    assert where.mask(table).tolist() == [terminal is None] * n
