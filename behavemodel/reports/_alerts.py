"""AlertReport: explained deviations, one line each."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from behavemodel.exceptions import SchemaError
from behavemodel.reports._render import (
    Column,
    TableReport,
    format_time,
    html_cell,
    html_table,
    text_cell,
    text_table,
)

__all__ = ["AlertReport", "alerts", "read_alerts"]

_TEXT_COLUMNS = (
    Column("time", "time", kind="time"),
    Column("host_name", "host", limit=30),
    Column("host_group", "group", limit=24),
    Column("feature", "feature", limit=24),
    Column("score", "score", kind="score"),
    Column("key", "key", limit=70),
    Column("ancestry", "ancestry", limit=60),
)
_HTML_COLUMNS = (
    Column("time", "time", kind="time"),
    Column("host_name", "host"),
    Column("host_group", "group"),
    Column("feature", "feature"),
    Column("score", "score", kind="score"),
    Column("key", "key"),
    Column("reason", "reason"),
    Column("ancestry", "ancestry"),
    Column("process_cmdline", "command line", html_limit=300),
    Column("events", "events", kind="int"),
)
_NEEDED = ("time", "host_name", "feature")


@dataclass(frozen=True, repr=False, eq=False)
class AlertReport(TableReport):
    """Explained alerts as aligned text and as an HTML table.

    Wraps alert rows (:data:`ALERT_COLUMNS <behavemodel.models.alerts.ALERT_COLUMNS>`)
    from :meth:`BaselineDetector.explain <behavemodel.models.BaselineDetector.explain>`
    or an alerts file of :func:`behavemodel.scoring.score_parquet`; build it with
    :func:`alerts`. Text shows time, host, group, feature, score, key and
    ancestry; HTML adds the reason, the command line and the event count.
    Columns the rows lack are left out.

    Parameters
    ----------
    table : pandas.DataFrame
        Alert rows; at least ``time``, ``host_name`` and ``feature``.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel.reports import AlertReport
    >>> rows = pd.DataFrame({
    ...     "time": pd.to_datetime(["2024-03-11T09:42:34Z"]), "host_name": ["monitoring-01"],
    ...     "host_group": ["monitoring"], "feature": ["NetworkProcesses"], "score": [1.0],
    ...     "key": ["exe=/usr/bin/nc.traditional, direction=listen"],
    ...     "ancestry": ["apache2 -> summary.cgi -> sh -> nc.traditional"]})
    >>> print(AlertReport(rows))  # doctest: +NORMALIZE_WHITESPACE
    1 alert on 1 host (monitoring-01), 2024-03-11 09:42:34 .. 09:42:34 UTC: NetworkProcesses 1
    time                 host           group       feature           score  key  ...
    2024-03-11 09:42:34  monitoring-01  monitoring  NetworkProcesses   1.00  exe=/usr/bin/nc.traditional, direction=listen  apache2 -> summary.cgi -> sh -> nc.traditional
    """  # noqa: E501

    table: pd.DataFrame

    def __post_init__(self) -> None:
        missing = [c for c in _NEEDED if c not in self.table.columns]
        if missing:
            raise SchemaError(
                f"AlertReport needs alert rows with the column(s) {missing}; pass the "
                "DataFrame of BaselineDetector.explain() or an alerts file of score_parquet.",
                missing,
            )

    @property
    def frame(self) -> pd.DataFrame:
        return self.table

    def heading(self) -> str:
        """One line: how many alerts, on which hosts, when, and per feature."""
        n = len(self.table)
        if n == 0:
            return "no alerts"
        hosts = self.table["host_name"].dropna().unique()
        where = f"{len(hosts)} host{'s' if len(hosts) != 1 else ''}"
        if len(hosts) <= 3:
            where += " (" + ", ".join(text_cell(h, 40) for h in sorted(map(str, hosts))) + ")"
        times = pd.to_datetime(self.table["time"], utc=True)
        first, last = format_time(times.min()), format_time(times.max())
        if first[:10] == last[:10]:
            last = last[11:]
        per = self.table["feature"].value_counts(sort=False).sort_index()
        features = ", ".join(f"{text_cell(k, 40)} {int(v)}" for k, v in per.items())
        return f"{n:,} alert{'s' if n != 1 else ''} on {where}, {first} .. {last} UTC: {features}"

    def to_text(self, max_rows: int | None = None) -> str:
        """The heading and one aligned line per alert."""
        if self.table.empty:
            return "no alerts"
        return "\n".join(
            [self.heading(), *text_table(self.table, _TEXT_COLUMNS, max_rows=max_rows)]
        )

    def to_html(self, max_rows: int | None = None) -> str:
        """The heading and a table with reasons and command lines."""
        if self.table.empty:
            return "<p>no alerts</p>"
        return f"<p>{html_cell(self.heading())}</p>\n" + html_table(
            self.table, _HTML_COLUMNS, max_rows=max_rows
        )


def alerts(data: Any) -> AlertReport:
    """Alert rows as an :class:`AlertReport` (text in a terminal, a table in Jupyter).

    Parameters
    ----------
    data : pandas.DataFrame, pyarrow.Table or path
        Rows of :meth:`BaselineDetector.explain
        <behavemodel.models.BaselineDetector.explain>` or
        :func:`behavemodel.models.score_batch`, or the Parquet alerts file
        :func:`behavemodel.scoring.score_parquet` wrote.

    Returns
    -------
    AlertReport

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector
    >>> from behavemodel.reports import alerts
    >>> def events(exes, day):
    ...     return schema.conform(pd.DataFrame({
    ...         "time": pd.to_datetime([f"2024-01-0{day}T00:00Z", f"2024-01-0{day}T06:00Z"]),
    ...         "host_name": "web-01", "event_type": "net_connect", "process_exe": exes,
    ...         "net_direction": "outbound", "event_id": [f"{day}a", f"{day}b"],
    ...         "source_format": "canonical"}), fill_missing=True)
    >>> model = BaselineDetector(features=["NetworkProcesses"], min_span="1h").fit(
    ...     events(["/usr/sbin/nginx", "/usr/sbin/nginx"], 1))
    >>> report = alerts(model.explain(events(["/usr/sbin/nginx", "/usr/bin/nc"], 2)))
    >>> len(report)
    1
    >>> print(report.heading())
    1 alert on 1 host (web-01), 2024-01-02 06:00:00 .. 06:00:00 UTC: NetworkProcesses 1
    >>> "<table" in report._repr_html_()
    True
    """
    if isinstance(data, AlertReport):
        return data
    if isinstance(data, (str, os.PathLike)):
        data = read_alerts(data)
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        data = data.to_pandas(types_mapper=pd.ArrowDtype)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            "behavemodel.reports.alerts takes alert rows as a pandas DataFrame, a pyarrow "
            f"Table or the path of an alerts Parquet file. Got {type(data).__name__} instead."
        )
    return AlertReport(data)


def read_alerts(path: str | os.PathLike[str]) -> pd.DataFrame:
    """An alerts Parquet file as Arrow-backed columns (as ``explain`` returns them)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return table.to_pandas(types_mapper=pd.ArrowDtype, ignore_metadata=True)
