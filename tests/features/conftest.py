"""Small inline event tables for the feature tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from behavemodel import schema


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
    return build_events
