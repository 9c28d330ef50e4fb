"""Tests for behavemodel.features._normalise."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from behavemodel.exceptions import BehaveModelError
from behavemodel.features import DEFAULT_RULES, FeatureConfigError, PathNormaliser


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "/usr/lib/jvm/java-17-openjdk-17.0.8/bin/java",
            "/usr/lib/jvm/java-17-openjdk-<version>/bin/java",
        ),
        (
            "/usr/lib/jvm/java-17-openjdk-17.0.9/bin/java",
            "/usr/lib/jvm/java-17-openjdk-<version>/bin/java",
        ),
        ("/opt/app-2.3.1/bin/server", "/opt/app-<version>/bin/server"),
        ("/opt/app-2.4.0/bin/server", "/opt/app-<version>/bin/server"),
        ("/opt/node-v18.17.1/bin/node", "/opt/node-<version>/bin/node"),
        ("/lib/modules/6.1.0-13-amd64/kernel", "/lib/modules/<version>/kernel"),
        ("/tmp/tmp8x_2kd9a/run.sh", "/tmp/<tmp>/run.sh"),
        ("/tmp/tmp.AbCdEf1234", "/tmp/<tmp>"),
        ("/proc/4242/exe", "/proc/<pid>/exe"),
        ("/proc/self/fd/3", "/proc/<pid>/fd/3"),
        ("/var/lib/docker/overlay2/3f2a9c0d/merged/usr/sbin/nginx", "/usr/sbin/nginx"),
        ("/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs/app/x", "/app/x"),
        ("/usr/sbin/sshd (deleted)", "/usr/sbin/sshd"),
        (
            "/var/lib/kubelet/pods/123e4567-e89b-12d3-a456-426614174000/v",
            "/var/lib/kubelet/pods/<uuid>/v",
        ),
        ("/srv/app/releases/20240101120000/bin/puma", "/srv/app/releases/<release>/bin/puma"),
        (
            "/tmp/systemd-private-0123456789abcdef0123456789abcdef-nginx.service-AbC123/x",
            "/tmp/systemd-private-<id>-nginx.service-<id>/x",
        ),
    ],
)
def test_default_rules_rewrite_churning_paths(before: str, after: str) -> None:
    assert PathNormaliser().normalise([before]) == [after]


@pytest.mark.parametrize(
    "path",
    [
        "/usr/bin/python3.11",  # a different interpreter is a different program
        "/usr/lib/x86_64-linux-gnu/libssl.so.1.1",
        "/usr/lib/jvm/java-17-openjdk-amd64/bin/java",
        "/usr/bin/tmpwatch",
        "/tmp/x.sh",
        "/usr/sbin/nginx",
    ],
)
def test_default_rules_leave_stable_paths_alone(path: str) -> None:
    assert PathNormaliser().normalise([path]) == [path]


def test_nulls_stay_null_and_arrays_stay_arrays() -> None:
    out = PathNormaliser().apply(pa.array(["/proc/1/exe", None]))
    assert out.to_pylist() == ["/proc/<pid>/exe", None]


def test_rules_can_be_removed_added_and_ordered() -> None:
    norm = PathNormaliser().remove("versioned_dirs", "temp_names")
    assert "versioned_dirs" not in norm.names
    assert norm.normalise(["/opt/app-2.3.1/x"]) == ["/opt/app-2.3.1/x"]
    norm = norm.add("home", r"^/home/[^/]+/", "/home/<user>/", before="deleted_suffix")
    assert norm.names[0] == "home"
    assert norm.normalise(["/home/alice/bin/x (deleted)"]) == ["/home/<user>/bin/x"]
    replaced = norm.add("home", r"^/home/", "/h/")
    assert replaced.names.count("home") == 1 and replaced.names[-1] == "home"
    assert PathNormaliser(rules=()).normalise(["/proc/1/exe"]) == ["/proc/1/exe"]


def test_config_round_trips_through_json() -> None:
    norm = PathNormaliser().add("srv", r"^/srv/[a-z]+-[0-9]+/", "/srv/<app>/")
    data = json.loads(json.dumps(norm.to_dict()))
    assert PathNormaliser.from_dict(data) == norm
    assert PathNormaliser.from_dict(PathNormaliser().to_dict()).rules == DEFAULT_RULES


def test_errors_name_the_rule_and_the_fix() -> None:
    with pytest.raises(FeatureConfigError, match=r"no rule named 'nope'.*pick one"):
        PathNormaliser().remove("nope")
    with pytest.raises(FeatureConfigError, match=r"rule 'look'.*without look-around"):
        PathNormaliser().add("look", r"(?<=/)x", "y")
    with pytest.raises(FeatureConfigError, match=r"unique.*'a'"):
        PathNormaliser(rules=(("a", "x", "y"), ("a", "z", "w")))
    with pytest.raises(FeatureConfigError, match="triple"):
        PathNormaliser(rules=("just a string",))  # type: ignore[arg-type]
    with pytest.raises(FeatureConfigError, match="'rules' list"):
        PathNormaliser.from_dict({"rule": []})
    error = FeatureConfigError("x")
    assert isinstance(error, BehaveModelError) and isinstance(error, ValueError)
