"""Baseline overview: which groups share which keys (network executables by default)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from behavemodel.plot._common import label, new_axes, pyplot

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from matplotlib.axes import Axes

__all__ = ["baseline_matrix", "baseline_overview"]

_VALUES = ("hosts", "observations", "events")


def baseline_matrix(
    model: Any,
    feature: str = "NetworkProcesses",
    *,
    component: int = 0,
    value: Literal["hosts", "observations", "events"] = "hosts",
) -> pd.DataFrame:
    """What the heat map shows: one row per key component, one column per group.

    Parameters
    ----------
    model : BaselineDetector
        Fitted.
    feature : str, default "NetworkProcesses"
        The feature whose keys are compared.
    component : int, default 0
        Which part of the key is a row (for ``NetworkProcesses`` 0 is the
        executable, 1 the direction).
    value : {"hosts", "observations", "events"}, default "hosts"
        The cell: hosts of the group that have it (the most for any one key with
        that component), or the observations or events summed over its keys.

    Returns
    -------
    pandas.DataFrame
        Index: the component's values, ordered so that rows shared by more
        groups come first and rows with the same groups are together; columns:
        every group the model watched, sorted; 0 where a group lacks it.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector
    >>> from behavemodel.plot import baseline_matrix
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": pd.to_datetime(["2024-01-01T00:00Z"] * 3),
    ...     "host_name": ["web-01", "db-01", "db-01"], "host_group": ["web", "db", "db"],
    ...     "event_type": "net_connect", "net_direction": "outbound",
    ...     "process_exe": ["/usr/bin/curl", "/usr/bin/curl", "/usr/bin/psql"],
    ...     "event_id": list("abc"), "source_format": "canonical"}), fill_missing=True)
    >>> model = BaselineDetector(features=["NetworkProcesses"]).fit(events)
    >>> baseline_matrix(model)
    host_group     db  web
    /usr/bin/curl   1    1
    /usr/bin/psql   1    0
    """
    if value not in _VALUES:
        raise ValueError(
            f"The 'value' parameter of baseline_matrix must be one of {list(_VALUES)}. "
            f"Got {value!r} instead."
        )
    names = list(model.config_.feature_names)
    if feature not in names:
        raise ValueError(f"The model has no feature {feature!r}; its features are {names}.")
    extractor = next(e for e in model.config_.extractors if e.name == feature)
    n_parts = len(extractor.key_names)
    if not isinstance(component, int) or not -n_parts <= component < n_parts:
        raise ValueError(
            f"The 'component' parameter must index the {n_parts} key part(s) of {feature} "
            f"({list(extractor.key_names)}). Got {component!r} instead."
        )
    groups = sorted(model.convergence_report()["host_group"].astype(str).unique())
    keys = model.baseline_
    keys = keys[keys["feature"] == feature]
    item = [str(v[component]) for v in keys["key_values"]]
    frame = pd.DataFrame(
        {
            "item": item,
            "host_group": keys["host_group"].astype(str).to_numpy(),
            "value": keys[value].to_numpy(np.int64),
        }
    )
    how = "max" if value == "hosts" else "sum"
    matrix = frame.pivot_table(
        index="item", columns="host_group", values="value", aggfunc=how, fill_value=0
    )
    matrix = matrix.reindex(columns=groups, fill_value=0).astype(np.int64)
    if matrix.empty:
        return matrix
    present = matrix.to_numpy() > 0
    shared = present.sum(axis=1)
    pattern = ["".join("1" if p else "0" for p in row) for row in present]
    order = sorted(
        range(len(matrix)),
        key=lambda i: (
            -int(shared[i]),
            "".join("0" if c == "1" else "1" for c in pattern[i]),
            str(matrix.index[i]),
        ),
    )
    matrix = matrix.iloc[order]
    matrix.index.name = None
    return matrix


def baseline_overview(
    model: Any,
    feature: str = "NetworkProcesses",
    *,
    component: int = 0,
    value: Literal["hosts", "observations", "events"] = "hosts",
    max_rows: int = 40,
    ax: Axes | None = None,
) -> Axes:
    """Heat map of the baseline: which groups share which network executables.

    Rows are the values of one key component (the executable by default),
    columns the groups; a cell is coloured when the group learned it. Rows
    shared by more groups come first, rows with the same groups together, so
    common tooling sits on top and each group's own binaries below. See
    :func:`baseline_matrix` for the numbers.

    Parameters
    ----------
    model : BaselineDetector
        Fitted.
    feature : str, default "NetworkProcesses"
    component : int, default 0
    value : {"hosts", "observations", "events"}, default "hosts"
        Cell colour; observations and events use a log scale.
    max_rows : int, default 40
        Rows shown (the title says how many were left out).
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
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector
    >>> from behavemodel.plot import baseline_overview
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": pd.to_datetime(["2024-01-01T00:00Z"] * 3),
    ...     "host_name": ["web-01", "db-01", "db-01"], "host_group": ["web", "db", "db"],
    ...     "event_type": "net_connect", "net_direction": "outbound",
    ...     "process_exe": ["/usr/bin/curl", "/usr/bin/curl", "/usr/bin/psql"],
    ...     "event_id": list("abc"), "source_format": "canonical"}), fill_missing=True)
    >>> model = BaselineDetector(features=["NetworkProcesses"]).fit(events)
    >>> fig, ax = plt.subplots()
    >>> baseline_overview(model, ax=ax) is ax
    True
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['db', 'web']
    >>> plt.close(fig)
    """
    pyplot()  # a clear error naming the extra when matplotlib is missing
    from matplotlib.colors import LogNorm

    if not isinstance(max_rows, int) or max_rows < 1:
        raise ValueError(
            f"The 'max_rows' parameter of baseline_overview must be a positive int. "
            f"Got {max_rows!r} instead."
        )
    matrix = baseline_matrix(model, feature, component=component, value=value)
    shown = matrix.iloc[:max_rows]
    height = max(2.5, 0.22 * len(shown) + 1.5)
    ax = new_axes(ax, (max(5.0, 0.6 * matrix.shape[1] + 4.0), height))
    extractor = next(e for e in model.config_.extractors if e.name == feature)
    what = extractor.key_names[component]
    title = f"{label(feature, 40)}: {label(what, 20)} per group"
    if len(matrix) > len(shown):
        title += f" (top {len(shown)} of {len(matrix)})"
    ax.set_title(title)
    if shown.empty:
        ax.text(0.5, 0.5, "nothing learned", transform=ax.transAxes, ha="center", va="center")
        ax.set_xticks(range(matrix.shape[1]), labels=[label(g, 30) for g in matrix.columns])
        return ax
    data = np.ma.masked_equal(shown.to_numpy(dtype=float), 0.0)
    norm = None
    if value != "hosts" and data.count():
        norm = LogNorm(vmin=max(float(data.min()), 1.0), vmax=max(float(data.max()), 2.0))
    image = ax.imshow(data, aspect="auto", cmap="viridis", norm=norm, interpolation="nearest")
    ax.set_xticks(
        range(shown.shape[1]),
        labels=[label(g, 30) for g in shown.columns],
        rotation=45,
        ha="right",
    )
    ax.set_yticks(range(len(shown)), labels=[label(i, 45) for i in shown.index], fontsize=8)
    ax.set_xticks(np.arange(-0.5, shown.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, len(shown)), minor=True)
    ax.grid(which="minor", color="white", linewidth=0.8)
    ax.tick_params(which="minor", length=0)
    colorbar = ax.figure.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
    colorbar.set_label(value)
    if value == "hosts":
        top = int(max(data.max(), 1))
        if top <= 10:
            colorbar.set_ticks([float(t) for t in range(1, top + 1)])
    return ax
