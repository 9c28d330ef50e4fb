"""Values from models and alerts as terminal text and JSON."""

from __future__ import annotations

import datetime
from typing import Any

import pandas as pd

__all__ = ["jsonable", "plural", "when"]


def when(value: Any) -> str:
    """A timestamp to the second, or ``-`` for a missing one.

    Examples
    --------
    >>> from behavemodel.cli._text import when
    >>> when("2024-01-06T10:00:00.25Z"), when(None)
    ('2024-01-06 10:00:00', '-')
    """
    if value is None:
        return "-"
    return f"{pd.Timestamp(value):%Y-%m-%d %H:%M:%S}"


def plural(count: int, word: str) -> str:
    """``count`` with thousands separators and ``word``, plural unless it is 1.

    Examples
    --------
    >>> from behavemodel.cli._text import plural
    >>> plural(1, "host"), plural(12000, "event")
    ('1 host', '12,000 events')
    """
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def jsonable(value: Any) -> Any:
    """Turn a value from pandas or Arrow into one ``json.dumps`` takes.

    Times become ISO text (UTC, microseconds), NaN and NaT become None, numpy
    scalars become Python numbers; dicts and lists are converted throughout.

    Examples
    --------
    >>> import datetime, numpy as np
    >>> from behavemodel.cli._text import jsonable
    >>> moment = datetime.datetime(2024, 1, 6, 10, 0, tzinfo=datetime.timezone.utc)
    >>> jsonable({"time": moment, "events": np.int64(3), "score": float("nan")})
    {'time': '2024-01-06T10:00:00.000000Z', 'events': 3, 'score': None}
    """
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, (pd.Timestamp, pd.Timedelta)):
        return str(value)
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return jsonable(value.item())
    return value
