"""Learning curves: distinct keys and estimated novelty over time, per group and feature.

How the curve is computed
-------------------------
A fitted :class:`~behavemodel.models.BaselineDetector` keeps, for every (group,
feature, key, host), the time buckets (``floor(time / bucket)``, the model's
``bucket``) in which the key was seen, as runs (:data:`STATS_SCHEMA
<behavemodel.models.STATS_SCHEMA>`). One observation is one (host, key, bucket).
The curve replays those buckets in time order, with no events needed: at the
end of every bucket ``b`` of a group,

- ``observations``: observations in buckets up to ``b``;
- ``distinct_keys``: keys first seen in a bucket up to ``b``;
- ``singletons``: keys seen exactly once up to ``b`` (their first observation
  is at or before ``b``, their second after it);
- ``novelty_rate``: ``singletons / observations``, the Good-Turing estimate of
  the chance that the next observation is a new key (NaN before the first);
- ``span``: time since the group's first event;
- ``converged``: ``span >= min_span`` and (no observations, or ``novelty_rate <=
  novelty_threshold``): the test the detector applies at the end of learning.

The last point is the end of the group's training window and equals
:meth:`~behavemodel.models.BaselineDetector.convergence_report` (keys aged out
by ``max_age`` aside: the curve shows everything learned). ``monitoring`` marks
the points from which the test held until the end of training: the first of
them is the moment monitoring began, after which a model fitted up to any
later point monitors the pair (and ``behavemodel monitor --learn`` stops
learning it). Given ``events``, the curve is computed the same way from
``partial_stats(events, model.config_)``: the model's features, normalisation,
groups and bucket applied to other events.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel.plot._common import label, naive_utc, new_axes, pyplot

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from matplotlib.axes import Axes

__all__ = ["CURVE_COLUMNS", "learning_curve", "learning_curve_data"]

#: Columns of :func:`learning_curve_data`, in order.
CURVE_COLUMNS = (
    "host_group",
    "feature",
    "time",
    "observations",
    "distinct_keys",
    "singletons",
    "novelty_rate",
    "span",
    "converged",
    "monitoring",
)
_NEVER = np.iinfo(np.int64).max


def _check_choice(value: str | None, allowed: list[str], what: str) -> None:
    if value is not None and value not in allowed:
        shown = ", ".join(repr(a) for a in allowed[:20])
        raise ValueError(
            f"The {what} {value!r} is not in this model; it has {shown}"
            f"{' ...' if len(allowed) > 20 else ''}."
        )


def learning_curve_data(
    model: Any,
    events: Any = None,
    *,
    group: str | None = None,
    feature: str | None = None,
    max_points: int = 500,
) -> pd.DataFrame:
    """How learning progressed over time, per (group, feature): the data behind the plot.

    See the module notes for exactly how each column is computed.

    Parameters
    ----------
    model : BaselineDetector
        Fitted; its statistics are replayed (or its configuration applied to ``events``).
    events : pandas.DataFrame or pyarrow.Table, optional
        Canonical events to compute the curve from instead of what the model learned.
    group, feature : str, optional
        Only this group / feature.
    max_points : int, default 500
        Most points per (group, feature): every ``k``-th bucket end is kept, and
        always the last. The values at the points kept are exact.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CURVE_COLUMNS`, one row per (group, feature, point) in time order.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector
    >>> from behavemodel.plot import learning_curve_data
    >>> times = pd.date_range("2024-01-01", periods=6, freq="1h", tz="UTC")
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": times, "host_name": "web-01", "event_type": "process_start",
    ...     "process_exe": ["/bin/ls", "/bin/ps", "/bin/ls", "/bin/ls", "/bin/ps", "/bin/ls"],
    ...     "user_name": "root", "event_id": list("abcdef"),
    ...     "source_format": "canonical"}), fill_missing=True)
    >>> model = BaselineDetector(features=["ProcessOwners"], min_span="2h",
    ...                          novelty_threshold=0.2).fit(events)
    >>> curve = learning_curve_data(model)
    >>> curve[["observations", "distinct_keys", "singletons", "converged", "monitoring"]]
       observations  distinct_keys  singletons  converged  monitoring
    0             1              1           1      False       False
    1             2              2           2      False       False
    2             3              2           1      False       False
    3             4              2           1      False       False
    4             5              2           0       True        True
    5             6              2           0       True        True
    >>> last = model.convergence_report().iloc[0]
    >>> int(last["observations"]), int(last["singletons"]), last["state"]
    (6, 0, 'monitoring')
    """
    model.convergence_report()  # raises NotFittedError, saying what to do, when not fitted
    if not isinstance(max_points, int) or max_points < 2:
        raise ValueError(
            f"The 'max_points' parameter of learning_curve_data must be an int >= 2. "
            f"Got {max_points!r} instead."
        )
    config = model.config_
    features = list(config.feature_names)
    _check_choice(feature, features, "feature")
    if events is None:
        stats = model.stats_
    else:
        from behavemodel.models import partial_stats

        stats = partial_stats(events, config)
    bucket = int(config.bucket_us)
    threshold = float(model.novelty_threshold)
    min_span = int(pd.Timedelta(model.min_span) // pd.Timedelta(1, "us"))

    group_col = stats.column("host_group").to_numpy(zero_copy_only=False)
    feature_col = stats.column("feature").to_numpy(zero_copy_only=False)
    cover = pd.isna(feature_col)
    first_us = stats.column("first_time").cast(pa.int64()).to_numpy()
    last_us = stats.column("last_time").cast(pa.int64()).to_numpy()
    span_of = (
        pd.DataFrame({"g": group_col[cover], "first": first_us[cover], "last": last_us[cover]})
        .groupby("g")
        .agg(first=("first", "min"), last=("last", "max"))
    )
    groups = sorted(span_of.index.astype(str))
    _check_choice(group, groups, "group")
    chosen_groups = [group] if group is not None else groups
    chosen_features = [feature] if feature is not None else features

    starts = stats.column("run_start").combine_chunks()
    ends = stats.column("run_end").combine_chunks()
    parent = pc.list_parent_indices(starts).to_numpy()
    runs = pd.DataFrame(
        {
            "g": group_col[parent],
            "f": feature_col[parent],
            "k": stats.column("key").to_numpy(zero_copy_only=False)[parent],
            "s": pc.list_flatten(starts).to_numpy(),
            "e": pc.list_flatten(ends).to_numpy(),
        }
    )
    runs = runs[runs["f"].notna()]
    by_pair = dict(tuple(runs.groupby(["g", "f"], sort=False)))

    parts = []
    for g in chosen_groups:
        g_first, g_last = (int(v) for v in span_of.loc[g, ["first", "last"]])
        for f in chosen_features:
            pair = by_pair.get((g, f))
            parts.append(
                _pair_curve(g, f, pair, g_first, g_last, bucket, threshold, min_span, max_points)
            )
    if not parts:
        return pd.DataFrame({c: [] for c in CURVE_COLUMNS})
    return pd.concat(parts, ignore_index=True)[list(CURVE_COLUMNS)]


def _pair_curve(
    group: str,
    feature: str,
    runs: pd.DataFrame | None,
    g_first: int,
    g_last: int,
    bucket: int,
    threshold: float,
    min_span: int,
    max_points: int,
) -> pd.DataFrame:
    b0 = g_first // bucket
    b_last = g_last // bucket
    if runs is not None and len(runs):
        b_last = max(b_last, int(runs["e"].max()))
    n = b_last - b0 + 1
    end_us = max(g_last, g_first)
    if runs is not None and len(runs) and int(runs["e"].max()) > g_last // bucket:
        end_us = (b_last + 1) * bucket  # accepted observations after the last event
    obs = np.zeros(n, dtype=np.int64)
    distinct = np.zeros(n, dtype=np.int64)
    singles = np.zeros(n, dtype=np.int64)
    if runs is not None and len(runs):
        s = np.clip(runs["s"].to_numpy(np.int64) - b0, 0, n - 1)
        e = np.clip(runs["e"].to_numpy(np.int64) - b0, 0, n - 1)
        step = np.zeros(n + 1, dtype=np.int64)
        np.add.at(step, s, 1)
        np.add.at(step, e + 1, -1)
        obs = np.cumsum(np.cumsum(step)[:n])
        key_id = pd.factorize(runs["k"])[0]
        order = np.lexsort((s, key_id))
        kid, ss, ee = key_id[order], s[order], e[order]
        head = np.flatnonzero(np.r_[True, kid[1:] != kid[:-1]])
        f1 = ss[head]
        f2 = np.where(ee[head] > ss[head], ss[head] + 1, _NEVER)
        nxt = head + 1
        has_next = (nxt < len(kid)) & (kid[np.minimum(nxt, len(kid) - 1)] == kid[head])
        f2 = np.where(has_next, np.minimum(f2, ss[np.minimum(nxt, len(kid) - 1)]), f2)
        firsts = np.bincount(f1, minlength=n)
        seconds = np.bincount(f2[f2 < n], minlength=n)
        distinct = np.cumsum(firsts)
        singles = np.cumsum(firsts - seconds)
    every = max(1, math.ceil(n / max_points))
    idx = np.unique(np.r_[np.arange(0, n, every), n - 1])
    times = np.minimum((b0 + idx + 1) * bucket, end_us)
    times = np.maximum(times, g_first)
    span = np.minimum(times, g_last) - g_first
    o = obs[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(o > 0, singles[idx] / np.maximum(o, 1), np.nan)
    converged = (span >= min_span) & ((o == 0) | (rate <= threshold))
    # the final stretch of converged points: monitoring from its first point on
    not_conv = np.flatnonzero(~converged)
    monitoring = np.zeros(len(idx), dtype=bool)
    start = 0 if not len(not_conv) else int(not_conv[-1]) + 1
    monitoring[start:] = True
    return pd.DataFrame(
        {
            "host_group": group,
            "feature": feature,
            "time": pd.to_datetime(times, unit="us", utc=True),
            "observations": o,
            "distinct_keys": distinct[idx],
            "singletons": singles[idx],
            "novelty_rate": rate,
            "span": pd.to_timedelta(span, unit="us"),
            "converged": converged,
            "monitoring": monitoring,
        }
    )


def learning_curve(
    model: Any,
    group: str,
    feature: str | None = None,
    *,
    events: Any = None,
    ax: Axes | None = None,
    max_points: int = 500,
) -> Axes:
    """Plot how one (group, feature) learned: distinct keys and novelty rate over time.

    Distinct keys are drawn as steps on ``ax``; the estimated novelty rate
    (keys seen once / observations) on a twin axis with a log scale, with the
    detector's ``novelty_threshold`` as a dashed line. The first ``min_span``
    of the group is shaded, and a vertical line marks the moment monitoring
    began (the start of the final stretch in which the convergence test held;
    see :func:`learning_curve_data`). The title says the final state.

    Parameters
    ----------
    model : BaselineDetector
        Fitted.
    group : str
        The server group.
    feature : str, optional
        The feature; defaults to the model's first (``NetworkProcesses`` by default).
    events : pandas.DataFrame or pyarrow.Table, optional
        Compute the curve from these events with the model's configuration.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure's Axes by default.
    max_points : int, default 500
        Most points drawn.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax`` (distinct keys); the novelty axis is its twin
        (``ax.get_shared_x_axes().get_siblings(ax)``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector
    >>> from behavemodel.plot import learning_curve
    >>> times = pd.date_range("2024-01-01", periods=48, freq="1h", tz="UTC")
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": times, "host_name": "web-01", "host_group": "web",
    ...     "event_type": "net_connect", "net_direction": "outbound",
    ...     "process_exe": ["/usr/bin/curl" if i % 5 else "/usr/sbin/nginx" for i in range(48)],
    ...     "event_id": [str(i) for i in range(48)],
    ...     "source_format": "canonical"}), fill_missing=True)
    >>> model = BaselineDetector(features=["NetworkProcesses"]).fit(events)
    >>> fig, ax = plt.subplots()
    >>> learning_curve(model, "web", ax=ax) is ax
    True
    >>> ax.get_title()
    'web / NetworkProcesses: monitoring'
    >>> plt.close(fig)
    """
    pyplot()  # a clear error naming the extra when matplotlib is missing
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    if feature is None:
        feature = str(model.config_.feature_names[0])
    data = learning_curve_data(model, events, group=group, feature=feature, max_points=max_points)
    ax = new_axes(ax, (8.0, 3.6))
    times = naive_utc(data["time"])
    threshold = float(model.novelty_threshold)
    keys_line = ax.step(
        times, data["distinct_keys"].to_numpy(), where="post", color="C0", label="distinct keys"
    )
    ax.set_ylabel("distinct keys", color="C0")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("time (UTC)")
    novelty = ax.twinx()
    rate = data["novelty_rate"].to_numpy(dtype=float)
    rate_line = novelty.plot(
        times, np.where(rate > 0, rate, np.nan), color="C1", label="novelty rate (Good-Turing)"
    )
    limit_line = novelty.axhline(
        threshold, color="C1", linestyle="--", linewidth=1, label=f"threshold {threshold:g}"
    )
    novelty.set_yscale("log")
    novelty.set_ylabel("novelty rate", color="C1")
    handles: list[Any] = [*keys_line, *rate_line, limit_line]
    if len(times):
        start = times[0]
        span_end = start + pd.Timedelta(model.min_span).to_timedelta64()
        shade = ax.axvspan(
            start, min(span_end, times[-1]), color="0.85", alpha=0.5, label="minimum span"
        )
        handles.append(shade)
        monitoring = data["monitoring"].to_numpy(dtype=bool)
        if monitoring[-1]:
            since = times[int(np.argmax(monitoring))]
            stamp = pd.Timestamp(since).strftime("%a %d %H:%M")
            handles.append(
                ax.axvline(since, color="C2", linewidth=2, label=f"monitoring since {stamp}")
            )
    final = data.iloc[-1] if len(data) else None
    if final is not None and bool(final["monitoring"]):
        state = "monitoring"
    elif final is not None:
        state = f"still learning (novelty {final['novelty_rate']:.3g} > {threshold:g})"
        if final["span"] < pd.Timedelta(model.min_span):
            state = "still learning (span shorter than min_span)"
    else:
        state = "no data"
    ax.set_title(f"{label(group, 40)} / {label(feature, 40)}: {state}")
    locator = AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        ncol=3,
        fontsize="small",
        frameon=False,
    )
    return ax
