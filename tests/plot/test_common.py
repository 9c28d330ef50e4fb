"""Lazy matplotlib, safe labels (behavemodel/plot/_common.py)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from behavemodel.plot import _common, alerts_over_time


def test_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'behavemodel\[plot\]'"):
        _common.pyplot()
    rows = pd.DataFrame({"time": [], "host_name": [], "feature": []})
    with pytest.raises(ImportError, match=r"behavemodel\[plot\]"):
        alerts_over_time(rows)


def test_the_data_functions_work_without_matplotlib() -> None:
    code = (
        "import sys; sys.modules['matplotlib'] = None; sys.modules['matplotlib.pyplot'] = None\n"
        "import pandas as pd\n"
        "from behavemodel import schema\n"
        "from behavemodel.models import BaselineDetector\n"
        "from behavemodel.plot import learning_curve, learning_curve_data\n"
        "events = schema.conform(pd.DataFrame({'time': pd.to_datetime(['2024-01-01T00:00Z']),\n"
        "    'host_name': ['h'], 'event_type': ['process_start'], 'process_exe': ['/bin/ls'],\n"
        "    'user_name': ['root'], 'event_id': ['a'], 'source_format': ['canonical']}),\n"
        "    fill_missing=True)\n"
        "model = BaselineDetector(features=['ProcessOwners']).fit(events)\n"
        "print(len(learning_curve_data(model)))\n"
        "try:\n"
        "    learning_curve(model, 'h')\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "1"
    assert "pip install 'behavemodel[plot]'" in lines[1]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$x$", r"\$x\$"),
        ("a\nb\x1b", "a\\nb\\x1b"),
        ("\u2028", "\\u2028"),
        ("/" + "d" * 80, "…" + "d" * 59),
    ],
)
def test_label(value: str, expected: str) -> None:
    assert _common.label(value) == expected


def test_naive_utc() -> None:
    times = pd.to_datetime(["2024-01-01T01:00+01:00"])
    assert str(_common.naive_utc(times)[0]) == "2024-01-01T00:00:00.000000"
