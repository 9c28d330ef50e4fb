"""ConvergenceReport: which (group, feature) pairs are monitored and which still learn."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from behavemodel.reports._render import (
    Column,
    TableReport,
    format_span,
    html_cell,
    html_table,
    text_table,
)

__all__ = ["ConvergenceReport", "convergence"]

_COLUMNS = (
    Column("host_group", "group", limit=40),
    Column("feature", "feature", limit=40),
    Column("observations", "observations", kind="int"),
    Column("distinct_keys", "keys", kind="int"),
    Column("singletons", "singletons", kind="int"),
    Column("novelty_rate", "novelty", kind="float"),
    Column("hosts", "hosts", kind="int"),
    Column("span", "span", kind="span"),
    Column("state", "state"),
    Column("detail", "why still learning", limit=80),
)
_LEARNING_STYLE = "background-color:rgba(255,200,0,0.12)"


@dataclass(frozen=True, repr=False, eq=False)
class ConvergenceReport(TableReport):
    """Learning progress per (group, feature), readable in a terminal and in Jupyter.

    Wraps the DataFrame of :meth:`BaselineDetector.convergence_report
    <behavemodel.models.BaselineDetector.convergence_report>`; build it with
    :func:`convergence`.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of ``convergence_report()``.
    novelty_threshold : float, optional
        The detector's threshold, shown in the heading.
    min_span : str or timedelta, optional
        The detector's minimum span, shown in the heading.

    Attributes
    ----------
    frame : pandas.DataFrame
        ``table``, unchanged.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel.reports import ConvergenceReport
    >>> table = pd.DataFrame({
    ...     "host_group": ["web", "web"], "feature": ["NetworkProcesses", "ParentNames"],
    ...     "observations": [1070, 6654], "distinct_keys": [17, 236], "singletons": [6, 78],
    ...     "novelty_rate": [6 / 1070, 78 / 6654], "hosts": [2, 2],
    ...     "span": pd.to_timedelta(["6 days 23:59:42", "6 days 23:59:42"]),
    ...     "state": ["monitoring", "learning"], "detail": ["", "novelty rate 0.0117 > 0.01"]})
    >>> print(ConvergenceReport(table, novelty_threshold=0.01, min_span="1D"))
    1 of 2 (group, feature) pairs monitoring, 1 learning (novelty threshold 0.01, min span 1d 0:00)
    group  feature           observations  keys  singletons  novelty  hosts  span      state ...
    web    NetworkProcesses         1,070    17           6  0.00561      2  6d 23:59  monitoring
    web    ParentNames              6,654   236          78   0.0117      2  6d 23:59  learning ...
    """

    table: pd.DataFrame
    novelty_threshold: float | None = None
    min_span: Any = None

    @property
    def frame(self) -> pd.DataFrame:
        return self.table

    def heading(self) -> str:
        """One line: how many pairs are monitoring and learning, and the settings."""
        states = self.table["state"].value_counts() if "state" in self.table else pd.Series()
        monitoring = int(states.get("monitoring", 0))
        learning = int(states.get("learning", 0))
        head = (
            f"{monitoring} of {len(self.table)} (group, feature) pairs monitoring, "
            f"{learning} learning"
        )
        settings = []
        if self.novelty_threshold is not None:
            settings.append(f"novelty threshold {self.novelty_threshold:g}")
        if self.min_span is not None:
            settings.append(f"min span {format_span(pd.Timedelta(self.min_span))}")
        return head + (f" ({', '.join(settings)})" if settings else "")

    def _columns(self) -> tuple[Column, ...]:
        detail = self.table["detail"] if "detail" in self.table else pd.Series([], dtype=object)
        if detail.fillna("").astype(str).eq("").all():
            return _COLUMNS[:-1]  # nothing is learning: no "why" column
        return _COLUMNS

    def to_text(self, max_rows: int | None = None) -> str:
        """The heading and one aligned line per (group, feature)."""
        if self.table.empty:
            return "no (group, feature) pairs: the model has seen no events"
        lines = text_table(self.table, self._columns(), max_rows=max_rows)
        return "\n".join([self.heading(), *lines])

    def to_html(self, max_rows: int | None = None) -> str:
        """The heading and a table; rows still learning are shaded."""
        if self.table.empty:
            return "<p>no (group, feature) pairs: the model has seen no events</p>"

        def style(row: Any) -> str:
            return _LEARNING_STYLE if getattr(row, "state", "") == "learning" else ""

        return f"<p>{html_cell(self.heading())}</p>\n" + html_table(
            self.table, self._columns(), max_rows=max_rows, row_style=style
        )


def convergence(model: Any) -> ConvergenceReport:
    """The convergence report of a fitted detector, as a :class:`ConvergenceReport`.

    Parameters
    ----------
    model : BaselineDetector
        Fitted.

    Returns
    -------
    ConvergenceReport
        Renders as aligned text (``print``) and as an HTML table in Jupyter;
        ``.frame`` is ``model.convergence_report()``.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector
    >>> from behavemodel.reports import convergence
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": pd.to_datetime(["2024-01-01T00:00Z", "2024-01-02T01:00Z"]),
    ...     "host_name": ["web-01", "web-01"], "event_type": ["process_start"] * 2,
    ...     "process_exe": ["/usr/sbin/nginx"] * 2, "user_name": ["www-data"] * 2,
    ...     "event_id": ["a", "b"], "source_format": ["canonical"] * 2,
    ... }), fill_missing=True)
    >>> model = BaselineDetector(features=["ProcessOwners"]).fit(events)
    >>> print(convergence(model))  # doctest: +NORMALIZE_WHITESPACE
    1 of 1 (group, feature) pairs monitoring, 0 learning (novelty threshold 0.01, min span 1d 0:00)
    group   feature        observations  keys  singletons  novelty  hosts  span     state
    web-01  ProcessOwners             2     1           0        0      1  1d 1:00  monitoring
    """
    return ConvergenceReport(
        model.convergence_report(),
        novelty_threshold=float(model.novelty_threshold),
        min_span=model.min_span,
    )
