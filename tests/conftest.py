"""Fixtures shared by every test package: the audit-log corpus and inline events."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from behavemodel import schema

REPO_ROOT = Path(__file__).resolve().parents[1]
#: ``<repo>/../shared/corpus/auditlogs``, found from this file, never from the cwd.
CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus" / "auditlogs"
#: Set to 1 (in CI) to turn a missing corpus into a failure instead of a skip.
CORPUS_REQUIRED_ENV = "BEHAVEMODEL_CORPUS_REQUIRED"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The shared audit-log corpus; skips (or fails when required) if it is absent."""
    if CORPUS_DIR.is_dir():
        return CORPUS_DIR
    message = (
        f"shared audit-log corpus not found at {CORPUS_DIR}: clone the project beside ../shared"
    )
    if os.environ.get(CORPUS_REQUIRED_ENV) == "1":
        pytest.fail(f"{message} ({CORPUS_REQUIRED_ENV}=1)")
    pytest.skip(message)


def build_events(rows: list[dict[str, Any]], start: str = "2024-01-01T00:00:00Z") -> pa.Table:
    """Canonical events from a few dicts; ``minutes`` offsets ``time`` from ``start``."""
    records = []
    for i, row in enumerate(rows):
        row = dict(row)
        minutes = row.pop("minutes", i)
        row.setdefault("time", pd.Timestamp(start) + pd.Timedelta(minutes=minutes))
        row.setdefault("host_name", "web-01")
        row.setdefault("event_type", "process_start")
        row.setdefault("event_id", f"ev-{i}")
        row.setdefault("source_format", "canonical")
        records.append(row)
    frame = pd.DataFrame.from_records(records)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return schema.conform(frame, fill_missing=True)


@pytest.fixture(scope="session")
def make_events() -> Callable[..., pa.Table]:
    """``make_events(rows, start=...)``: see :func:`build_events`."""
    return build_events
