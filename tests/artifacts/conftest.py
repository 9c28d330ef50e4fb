"""Inline events, a fitted model, and a tool to tamper with saved model files."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from behavemodel.artifacts import save
from behavemodel.models import BaselineDetector


def _process(host: str, group: str, exe: str, parent: str, user: str, minutes: int) -> dict:
    return {
        "host_name": host,
        "host_group": group,
        "process_exe": exe,
        "parent_exe": parent,
        "user_name": user,
        "minutes": minutes,
    }


def _network(host: str, group: str, exe: str, direction: str, port: int, minutes: int) -> dict:
    return {
        "host_name": host,
        "host_group": group,
        "event_type": "net_listen" if direction == "listen" else "net_connect",
        "process_exe": exe,
        "net_direction": direction,
        "net_family": "inet",
        "dst_port": port,
        "success": True,
        "user_name": "www-data",
        "minutes": minutes,
    }


def training_rows() -> list[dict[str, Any]]:
    """Three days of two web hosts and one db host doing their usual things."""
    rows: list[dict[str, Any]] = []
    for day in range(3):
        base = day * 1440
        for host in ("web-01", "web-02"):
            rows.append(_process(host, "web", "/usr/sbin/nginx", "/sbin/init", "www-data", base))
            rows.append(
                _process(host, "web", "/usr/bin/php-fpm8.2", "/sbin/init", "www-data", base + 5)
            )
            rows.append(_network(host, "web", "/usr/sbin/nginx", "listen", 443, base + 1))
            rows.append(_network(host, "web", "/usr/bin/php-fpm8.2", "outbound", 5432, base + 90))
            rows.append(
                {
                    "host_name": host,
                    "host_group": "web",
                    "event_type": "file_write",
                    "file_path": "/var/log/nginx/access.log",
                    "process_exe": "/usr/sbin/nginx",
                    "user_name": "www-data",
                    "minutes": base + 120,
                }
            )
        rows.append(_process("db-01", "db", "/usr/bin/psql", "/bin/bash", "postgres", base + 30))
        rows.append(
            _process("db-01", "db", "/usr/lib/postgresql/16/bin/postgres", "/sbin/init",
                     "postgres", base + 31)
        )  # fmt: skip
        rows.append(
            _network("db-01", "db", "/usr/lib/postgresql/16/bin/postgres", "listen", 5432,
                     base + 32)
        )  # fmt: skip
    return rows


def scoring_rows() -> list[dict[str, Any]]:
    """A day with the usual, a web shell, a listener and a db tool run on web."""
    day = 4 * 1440
    return [
        _process("web-01", "web", "/usr/sbin/nginx", "/sbin/init", "www-data", day),
        _process("web-01", "web", "/bin/bash", "/usr/sbin/nginx", "www-data", day + 10),
        _network("web-01", "web", "/usr/bin/nc", "listen", 4444, day + 11),
        _process("web-02", "web", "/usr/bin/psql", "/bin/bash", "www-data", day + 20),
        _network("web-02", "web", "/usr/sbin/nginx", "listen", 443, day + 21),
        _process("db-01", "db", "/usr/bin/psql", "/bin/bash", "postgres", day + 30),
    ]


@pytest.fixture(scope="session")
def train_events(make_events: Callable[..., pa.Table]) -> pa.Table:
    return make_events(training_rows())


@pytest.fixture(scope="session")
def score_events(make_events: Callable[..., pa.Table]) -> pa.Table:
    return make_events(scoring_rows())


@pytest.fixture(scope="session")
def model(train_events: pa.Table) -> BaselineDetector:
    return BaselineDetector(min_span="1h").fit(train_events)


@pytest.fixture
def saved(model: BaselineDetector, tmp_path: Path) -> Path:
    path = tmp_path / "model.bmz"
    save(model, path)
    return path


@pytest.fixture(scope="session")
def signing_key() -> bytes:
    return b"test-only signing key, not a secret"


@pytest.fixture
def signed(model: BaselineDetector, tmp_path: Path, signing_key: bytes) -> Path:
    path = tmp_path / "signed.bmz"
    save(model, path, key=signing_key)
    return path


Member = tuple[zipfile.ZipInfo, bytes]


def _rezip(
    src: Path,
    dst: Path | None = None,
    *,
    manifest: Callable[[dict[str, Any]], Any] | None = None,
    members: Callable[[list[Member]], list[Member]] | None = None,
) -> Path:
    """Copy a model file, editing its manifest dict and/or its list of members.

    ``manifest`` edits the parsed manifest in place (or returns a replacement);
    ``members`` gets and returns ``(ZipInfo, bytes)`` pairs, manifest included.
    """
    dst = dst or src.with_name("tampered.bmz")
    with zipfile.ZipFile(src) as zf:
        entries = [(info, zf.read(info)) for info in zf.infolist()]
    if manifest is not None:
        for i, (info, data) in enumerate(entries):
            if info.filename == "manifest.json":
                doc = json.loads(data)
                replaced = manifest(doc)
                doc = doc if replaced is None else replaced
                entries[i] = (info, json.dumps(doc, sort_keys=True, indent=2).encode())
    if members is not None:
        entries = members(entries)
    with zipfile.ZipFile(dst, "w") as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return dst


@pytest.fixture(scope="session")
def rezip() -> Callable[..., Path]:
    return _rezip
