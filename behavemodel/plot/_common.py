"""Shared plot helpers: matplotlib on first use, safe labels, axes, alert rows."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from behavemodel.reports._alerts import read_alerts
from behavemodel.reports._render import text_cell

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from matplotlib.axes import Axes

__all__ = ["EXTRA", "as_alert_frame", "label", "naive_utc", "new_axes", "pyplot"]

#: The install extra that brings matplotlib.
EXTRA = "behavemodel[plot]"


def pyplot() -> Any:
    """Import ``matplotlib.pyplot``, or say which extra provides it.

    Raises
    ------
    ImportError
        When matplotlib is not installed; the message names ``behavemodel[plot]``.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # tests/plot/test_common.py hides matplotlib
        raise ImportError(
            f"behavemodel.plot needs matplotlib: pip install '{EXTRA}' ({exc})."
        ) from exc
    return plt


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax``, or the Axes of a new figure of ``figsize`` inches."""
    if ax is not None:
        return ax
    _, created = pyplot().subplots(figsize=figsize, layout="constrained")
    return created  # type: ignore[no-any-return]


def label(value: object, limit: int = 60) -> str:
    """Text from the events, safe as a matplotlib label.

    Control characters are escaped (:func:`behavemodel.reports.text_cell`) and
    ``$`` is escaped so a path or host name never turns on mathtext (a ``$``
    pair would be parsed as TeX and can fail at draw time). Long values keep
    their end (``…/lib/jvm/bin/java``), the informative part of a path.

    Examples
    --------
    >>> label("/opt/$HOME/$x")
    '/opt/\\\\$HOME/\\\\$x'
    >>> label("/usr/lib/jvm/java-17-openjdk/bin/java", limit=20)
    '…17-openjdk/bin/java'
    """
    text = text_cell(value, None)
    if len(text) > limit:
        text = "…" + text[-(limit - 1) :]
    return text.replace("$", r"\$")


def naive_utc(times: Any) -> np.ndarray:
    """Timestamps as naive UTC ``datetime64[us]`` (what matplotlib plots natively)."""
    series = pd.to_datetime(pd.Series(times), utc=True)
    return series.dt.tz_convert(None).to_numpy(dtype="datetime64[us]")


def as_alert_frame(data: Any, who: str) -> pd.DataFrame:
    """Alert rows from a DataFrame, pyarrow Table, AlertReport or Parquet path."""
    frame = getattr(data, "frame", data)
    if isinstance(frame, (str, os.PathLike)):
        frame = read_alerts(frame)
    if isinstance(frame, (pa.Table, pa.RecordBatch)):
        frame = frame.to_pandas(types_mapper=pd.ArrowDtype)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"{who} takes alert rows (a DataFrame from explain(), a pyarrow Table, an "
            f"AlertReport or the path of an alerts Parquet file). Got {type(data).__name__}."
        )
    missing = [c for c in ("time", "host_name", "feature") if c not in frame.columns]
    if missing:
        from behavemodel.exceptions import SchemaError

        raise SchemaError(
            f"{who} needs the alert column(s) {missing}; pass rows of "
            "BaselineDetector.explain() or an alerts file of score_parquet.",
            missing,
        )
    return frame
