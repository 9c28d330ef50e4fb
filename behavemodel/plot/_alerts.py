"""Alerts over time: one band per host, one colour per feature."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from behavemodel.plot._common import as_alert_frame, label, naive_utc, new_axes, pyplot

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from matplotlib.axes import Axes

__all__ = ["alerts_over_time"]


def alerts_over_time(
    alerts: Any,
    *,
    hosts: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Plot alerts over time: a band per host, a colour per feature, size by score.

    Each alert row is a marker at its time, in its host's band, offset within
    the band by feature; bigger markers score higher. Rows that stand for
    several events (``explain()`` gives one row per new key, with ``events``
    and ``last_time``) draw a line to their last event.

    Parameters
    ----------
    alerts : pandas.DataFrame, pyarrow.Table, AlertReport or path
        Alert rows of :meth:`BaselineDetector.explain
        <behavemodel.models.BaselineDetector.explain>`, an :class:`AlertReport
        <behavemodel.reports.AlertReport>` or an alerts Parquet file of
        :func:`behavemodel.scoring.score_parquet`.
    hosts : sequence of str, optional
        Hosts to show, top to bottom (hosts without alerts get an empty band);
        defaults to the hosts with alerts, sorted.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure's Axes by default.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> from behavemodel.plot import alerts_over_time
    >>> rows = pd.DataFrame({
    ...     "time": pd.to_datetime(["2024-03-11T03:12Z", "2024-03-11T09:42Z",
    ...                             "2024-03-11T09:42Z"]),
    ...     "host_name": ["worker-01", "monitoring-01", "monitoring-01"],
    ...     "feature": ["NetworkProcesses", "NetworkProcesses", "ParentNames"],
    ...     "score": [1.0, 0.7, 1.0]})
    >>> fig, ax = plt.subplots()
    >>> alerts_over_time(rows, ax=ax) is ax
    True
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['monitoring-01', 'worker-01']
    >>> plt.close(fig)
    """
    pyplot()  # a clear error naming the extra when matplotlib is missing
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    frame = as_alert_frame(alerts, "alerts_over_time")
    host_values = frame["host_name"].astype(object).where(frame["host_name"].notna(), "?")
    order = list(hosts) if hosts is not None else sorted({str(h) for h in host_values})
    position = {h: i for i, h in enumerate(order)}
    ax = new_axes(ax, (8.0, max(2.0, 0.45 * len(order) + 1.2)))
    features = sorted({str(f) for f in frame["feature"]})
    band = 0.7
    times = naive_utc(frame["time"]) if len(frame) else np.array([], "datetime64[us]")
    last = naive_utc(frame["last_time"]) if "last_time" in frame.columns and len(frame) else times
    if "score" in frame.columns:
        score = frame["score"].astype("float64").fillna(0.5).to_numpy()
    else:
        score = np.ones(len(frame))
    size = 18 + 70 * np.clip((score - 0.5) / 0.5, 0, 1)
    host_pos = np.array([position.get(str(h), -1) for h in host_values], dtype=float)
    shown = host_pos >= 0
    feature_of = frame["feature"].astype(str).to_numpy()
    for i, name in enumerate(features):
        offset = (i - (len(features) - 1) / 2) * band / max(len(features), 1)
        rows = shown & (feature_of == name)
        if not rows.any():
            continue
        y = host_pos[rows] + offset
        color = f"C{i % 10}"
        spans = last[rows] > times[rows]
        if spans.any():
            ax.hlines(
                y[spans],
                times[rows][spans],
                last[rows][spans],
                color=color,
                alpha=0.5,
                linewidth=1.5,
            )
        ax.scatter(
            times[rows],
            y,
            s=size[rows],
            color=color,
            edgecolors="black",
            linewidths=0.4,
            label=label(name, 40),
            zorder=3,
        )
    ax.set_yticks(range(len(order)), labels=[label(h, 40) for h in order])
    for i in range(len(order) - 1):
        ax.axhline(i + 0.5, color="0.9", linewidth=0.8, zorder=0)
    ax.set_ylim(max(len(order), 1) - 0.5, -0.5)  # first host on top
    ax.set_xlabel("time (UTC)")
    n_hosts = len({str(h) for h, s in zip(host_values, shown, strict=True) if s})
    ax.set_title(
        f"{int(shown.sum()):,} alert{'s' if shown.sum() != 1 else ''} on {n_hosts} "
        f"host{'s' if n_hosts != 1 else ''} (marker size: score)"
    )
    if not shown.any():
        ax.text(0.5, 0.5, "no alerts", transform=ax.transAxes, ha="center", va="center")
    else:
        locator = AutoDateLocator(minticks=3, maxticks=7)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        ax.legend(title="feature", fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if hosts is None and not len(order):
        ax.set_yticks([])
    return ax
