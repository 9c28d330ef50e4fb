"""Fixtures for the investigation tests: inline event tables and a simulation.

The corpus fixture is shared, in ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from behavemodel import schema

START = pd.Timestamp("2024-03-04T10:00:00Z")

Make = Callable[..., pa.Table]


def build_events(rows: list[dict[str, Any]], start: pd.Timestamp = START) -> pa.Table:
    """Canonical events from dicts; ``t`` is seconds after ``start`` (default: the row number).

    ``event_id`` defaults to ``host:seconds.millis:serial`` with the row number as serial.
    """
    records = []
    for i, row in enumerate(rows):
        row = dict(row)
        t = start + pd.to_timedelta(row.pop("t", i), unit="s").round("us")
        row["time"] = t
        row.setdefault("host_name", "web-01")
        row.setdefault("event_type", "process_start")
        seconds = t.value // 10**9
        millis = t.value // 10**6 % 1000
        row.setdefault("event_id", f"{row['host_name']}:{seconds}.{millis:03d}:{i + 1}")
        row.setdefault("source_format", "canonical")
        records.append(row)
    frame = pd.DataFrame.from_records(records)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return schema.conform(frame, fill_missing=True)


@pytest.fixture(scope="session")
def make_events() -> Make:
    return build_events
