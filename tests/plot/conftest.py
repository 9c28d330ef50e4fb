"""Plot tests draw with the Agg backend and close every figure they open."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import matplotlib
import pandas as pd
import pyarrow as pa
import pytest

from behavemodel import schema
from behavemodel.datasets import load_sample
from behavemodel.models import BaselineDetector

matplotlib.use("Agg")

import matplotlib.pyplot as plt

#: Labels that would drive a terminal or turn on mathtext if drawn raw.
HOSTILE_HOST = "web-01 $\\frac{1}{0}$ \x1b[2J\n<script>"
HOSTILE_GROUP = "group $x$ \u2028 \u202e"
HOSTILE_EXE = "/tmp/$(curl x)$/\x07nc"


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def fleet() -> tuple[BaselineDetector, pa.Table]:
    """The bundled week, fitted, and the attack day."""
    week, day = load_sample("fleet-week"), load_sample("attack-day")
    return BaselineDetector(groups=dict(week.host_groups)).fit(week.events), day.events


def _build(rows: list[dict[str, object]]) -> pa.Table:
    frame = pd.DataFrame.from_records(rows)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame["event_id"] = [f"e{i}" for i in range(len(frame))]
    frame["source_format"] = "canonical"
    return schema.conform(frame, fill_missing=True)


@pytest.fixture(scope="session")
def hostile_model() -> BaselineDetector:
    rows: list[dict[str, object]] = []
    for hour in range(30):
        for exe in ("/usr/sbin/nginx", HOSTILE_EXE):
            rows.append(
                {
                    "time": pd.Timestamp("2024-01-01T00:00Z") + pd.Timedelta(hours=hour),
                    "host_name": HOSTILE_HOST,
                    "event_type": "net_connect",
                    "net_direction": "outbound",
                    "process_exe": exe,
                }
            )
    return BaselineDetector(groups={HOSTILE_HOST: HOSTILE_GROUP}).fit(_build(rows))


def _drawn_texts(ax: Any) -> list[str]:
    """Draw the figure of ``ax`` fully (mathtext errors surface here); every text on it."""
    figure = ax.figure
    figure.canvas.draw()
    return [t.get_text() for t in figure.findobj(matplotlib.text.Text) if t.get_text()]


@pytest.fixture(scope="session")
def make_events() -> Callable[[list[dict[str, object]]], pa.Table]:
    """Canonical events from dicts with at least ``time`` and ``host_name``."""
    return _build


@pytest.fixture(scope="session")
def drawn_texts() -> Callable[[Any], list[str]]:
    return _drawn_texts


def assert_safe(texts: list[str]) -> None:
    for text in texts:
        assert all(ch.isprintable() for ch in text), repr(text)
        if text.startswith("$\\mathdefault{"):
            continue  # matplotlib's own log-scale tick labels
        assert text.count("$") == text.count(r"\$"), text


@pytest.fixture(scope="session")
def check_safe() -> Callable[[list[str]], None]:
    """Assert drawn texts hold no control characters and no unescaped ``$``."""
    return assert_safe
