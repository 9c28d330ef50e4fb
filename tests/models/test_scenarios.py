"""Each seed scenario, hand-built on a small inline fleet, raises the expected alerts.

The simulator-based version lives in test_detection.py; these pin the mechanics
(which feature catches which step) without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest

from behavemodel.features import FileWriters
from behavemodel.models import BaselineDetector, alerts

Make = Callable[..., pa.Table]

WEB = {"host_group": "web"}
NAGIOS = {"host_group": "monitor", "host_name": "mon-01"}
NET = {"net_family": "inet", "success": True}


def _benign(hours: int = 36) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for hour in range(hours):
        m = hour * 60
        for host in ("web-01", "web-02"):
            h = {**WEB, "host_name": host}
            rows += [
                {
                    **h,
                    "minutes": m,
                    "process_exe": "/usr/sbin/nginx",
                    "user_name": "www-data",
                    "parent_exe": "/usr/sbin/nginx",
                },
                {
                    **h,
                    **NET,
                    "minutes": m,
                    "event_type": "net_accept",
                    "net_direction": "inbound",
                    "dst_port": 443,
                    "process_exe": "/usr/sbin/nginx",
                    "user_name": "www-data",
                },
                {
                    **h,
                    **NET,
                    "minutes": m + 1,
                    "event_type": "net_connect",
                    "net_direction": "outbound",
                    "dst_port": 8080,
                    "process_exe": "/opt/app-2.3.1/bin/puma",
                    "user_name": "app",
                },
                {
                    **h,
                    **NET,
                    "minutes": m + 2,
                    "event_type": "net_accept",
                    "net_direction": "inbound",
                    "dst_port": 22,
                    "process_exe": "/usr/sbin/sshd",
                    "user_name": "root",
                },
            ]
            if hour % 12 == 0:
                rows += [
                    {
                        **h,
                        "minutes": m + 3,
                        "event_type": "file_write",
                        "user_name": "chef",
                        "file_path": "/srv/app/current/config/app.yml",
                        "process_exe": "/opt/chef/bin/ruby",
                    },
                    {
                        **h,
                        "minutes": m + 4,
                        "process_exe": "/opt/chef/bin/ruby",
                        "user_name": "root",
                        "parent_exe": "/usr/bin/chef-client",
                    },
                ]
        rows += [
            {
                **NAGIOS,
                "minutes": m,
                "process_exe": "/usr/lib/cgi-bin/nagios3/summary.cgi",
                "user_name": "nagios",
                "parent_exe": "/usr/sbin/apache2",
            },
            {
                **NAGIOS,
                **NET,
                "minutes": m + 1,
                "event_type": "net_connect",
                "net_direction": "outbound",
                "dst_port": 5666,
                "process_exe": "/usr/sbin/nagios3",
                "user_name": "nagios",
            },
        ]
    return rows


@pytest.fixture(scope="module")
def model(make_events: Make) -> BaselineDetector:
    detector = BaselineDetector(
        features=[
            "NetworkProcesses",
            "ProcessOwners",
            "ParentNames",
            "NetworkPorts",
            FileWriters(prefixes=["/srv/app"]),
        ]
    )
    return detector.fit(make_events(_benign()))


def _alerts(model: BaselineDetector, make_events: Make, rows: list[dict[str, Any]]) -> set[str]:
    events = make_events(rows, start="2024-01-03T00:00:00Z")
    found = model.explain(events)
    return {f"{f}: {k}" for f, k in zip(found[alerts.FEATURE], found[alerts.KEY], strict=True)}


def test_learning_has_converged(model: BaselineDetector) -> None:
    report = model.convergence_report()
    assert (report["state"] == "monitoring").all(), report


def test_benign_churn_raises_nothing(model: BaselineDetector, make_events: Make) -> None:
    upgraded = {
        **WEB,
        **NET,
        "host_name": "web-01",
        "event_type": "net_connect",
        "net_direction": "outbound",
        "dst_port": 8080,
        "process_exe": "/opt/app-2.4.0/bin/puma",
        "user_name": "app",
    }
    assert _alerts(model, make_events, [upgraded]) == set()


def test_shellshock_through_nagios(model: BaselineDetector, make_events: Make) -> None:
    cgi = "/usr/lib/cgi-bin/nagios3/summary.cgi"
    found = _alerts(
        model,
        make_events,
        [
            {**NAGIOS, "process_exe": "/bin/bash", "parent_exe": cgi, "user_name": "nagios"},
            {
                **NAGIOS,
                "process_exe": "/usr/bin/curl",
                "parent_exe": "/bin/bash",
                "user_name": "nagios",
            },
            {
                **NAGIOS,
                **NET,
                "event_type": "net_connect",
                "net_direction": "outbound",
                "dst_port": 80,
                "process_exe": "/usr/bin/curl",
                "user_name": "nagios",
            },
            {
                **NAGIOS,
                "process_exe": "/tmp/x.sh",
                "parent_exe": "/bin/bash",
                "user_name": "nagios",
            },
            {
                **NAGIOS,
                **NET,
                "event_type": "net_listen",
                "net_direction": "listen",
                "dst_port": 4444,
                "process_exe": "/bin/nc.openbsd",
                "user_name": "nagios",
            },
        ],
    )
    assert f"ParentNames: parent={cgi}, exe=/bin/bash" in found
    assert "NetworkProcesses: exe=/usr/bin/curl, direction=outbound" in found
    assert "NetworkProcesses: exe=/bin/nc.openbsd, direction=listen" in found
    assert "ProcessOwners: exe=/tmp/x.sh, user=nagios" in found


def test_reverse_shell_from_web_worker(model: BaselineDetector, make_events: Make) -> None:
    found = _alerts(
        model,
        make_events,
        [
            {
                **WEB,
                "host_name": "web-02",
                "process_exe": "/bin/bash",
                "user_name": "www-data",
                "parent_exe": "/usr/sbin/nginx",
                "process_cmdline": "bash -i",
            },
            {
                **WEB,
                **NET,
                "host_name": "web-02",
                "event_type": "net_connect",
                "net_direction": "outbound",
                "dst_port": 4444,
                "process_exe": "/bin/bash",
                "user_name": "www-data",
            },
        ],
    )
    assert "ParentNames: parent=/usr/sbin/nginx, exe=/bin/bash" in found
    assert "NetworkProcesses: exe=/bin/bash, direction=outbound" in found


def test_unknown_binary_and_lookalike_daemon(model: BaselineDetector, make_events: Make) -> None:
    found = _alerts(
        model,
        make_events,
        [
            {
                **WEB,
                **NET,
                "host_name": "web-01",
                "event_type": "net_connect",
                "net_direction": "outbound",
                "dst_port": 3333,
                "process_exe": "/var/tmp/.x/xmrig",
                "user_name": "www-data",
            },
            {
                **WEB,
                **NET,
                "host_name": "web-01",
                "event_type": "net_connect",
                "net_direction": "outbound",
                "dst_port": 443,
                "process_exe": "/tmp/.cache/sshd",
                "process_name": "sshd",
                "user_name": "root",
            },
        ],
    )
    assert "NetworkProcesses: exe=/var/tmp/.x/xmrig, direction=outbound" in found
    assert "NetworkProcesses: exe=/tmp/.cache/sshd, direction=outbound" in found


def test_non_chef_user_writes_app_dir(model: BaselineDetector, make_events: Make) -> None:
    found = _alerts(
        model,
        make_events,
        [
            {
                **WEB,
                "host_name": "web-01",
                "event_type": "file_write",
                "user_name": "alice",
                "file_path": "/srv/app/current/app/controllers/x.rb",
            },
            {
                **WEB,
                "host_name": "web-01",
                "event_type": "file_write",
                "user_name": "chef",
                "file_path": "/srv/app/shared/y.yml",
            },
        ],
    )
    assert found == {"FileWriters: directory=/srv/app, user=alice"}


def test_daemon_as_unexpected_user(model: BaselineDetector, make_events: Make) -> None:
    found = _alerts(
        model,
        make_events,
        [
            {
                **WEB,
                "host_name": "web-01",
                "process_exe": "/usr/sbin/nginx",
                "user_name": "root",
                "parent_exe": "/usr/sbin/nginx",
            },
        ],
    )
    assert found == {"ProcessOwners: exe=/usr/sbin/nginx, user=root"}


def test_ssh_lateral_movement(model: BaselineDetector, make_events: Make) -> None:
    found = _alerts(
        model,
        make_events,
        [
            {
                **WEB,
                **NET,
                "host_name": "web-01",
                "event_type": "net_connect",
                "net_direction": "outbound",
                "dst_port": 22,
                "process_exe": "/usr/bin/ssh",
                "user_name": "www-data",
            },
            {
                **WEB,
                "host_name": "web-02",
                "process_exe": "/bin/bash",
                "user_name": "www-data",
                "parent_exe": "/usr/sbin/sshd",
            },
        ],
    )
    assert "NetworkProcesses: exe=/usr/bin/ssh, direction=outbound" in found
    assert "ProcessOwners: exe=/bin/bash, user=www-data" in found
