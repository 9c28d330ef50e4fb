"""DiffReport: what a candidate baseline learned that the approved one lacks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from behavemodel.reports._render import (
    Column,
    TableReport,
    html_cell,
    html_table,
    text_cell,
    text_table,
)

__all__ = ["DiffReport", "diff"]

_SUMMARY_COLUMNS = (
    Column("host_group", "group", limit=40),
    Column("feature", "feature", limit=40),
    Column("approved_keys", "approved keys", kind="int"),
    Column("candidate_keys", "candidate keys", kind="int"),
    Column("added", "added", kind="int"),
    Column("removed", "removed", kind="int"),
)
_CHANGE_COLUMNS = (
    Column("change", "change"),
    Column("host_group", "group", limit=40),
    Column("feature", "feature", limit=40),
    Column("key", "key", limit=70),
    Column("observations", "observations", kind="int"),
    Column("hosts", "hosts", kind="int"),
    Column("first_time", "first seen", kind="time"),
)
_CHANGE_HTML_COLUMNS = (*_CHANGE_COLUMNS, Column("last_time", "last seen", kind="time"))
_ADDED_STYLE = "background-color:rgba(255,80,80,0.12)"


@dataclass(frozen=True, repr=False, eq=False)
class DiffReport(TableReport):
    """A baseline diff (:func:`behavemodel.diff`) as text and HTML, for release gates.

    Shows the totals and the verdict, the settings that differ, the (group,
    feature) pairs with changes and one row per added or removed key. Build it
    with :func:`diff`.

    Parameters
    ----------
    result : BaselineDiff
        What :func:`behavemodel.diff` returned.

    Attributes
    ----------
    frame : pandas.DataFrame
        ``result.changes``: one row per key only one baseline has.
    summary : pandas.DataFrame
        ``result.summary``: keys per (group, feature) in each baseline.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel.artifacts import BaselineDiff
    >>> from behavemodel.reports import DiffReport
    >>> changes = pd.DataFrame({
    ...     "host_group": ["web"], "feature": ["NetworkProcesses"],
    ...     "key": ["exe=/usr/bin/nc, direction=outbound"], "key_values": [["/usr/bin/nc",
    ...     "outbound"]], "change": ["added"], "observations": [1], "events": [1],
    ...     "hosts": [1], "first_time": pd.to_datetime(["2024-01-01T00:00Z"]),
    ...     "last_time": pd.to_datetime(["2024-01-01T00:00Z"])})
    >>> summary = pd.DataFrame({"host_group": ["web"], "feature": ["NetworkProcesses"],
    ...     "approved_keys": [1], "candidate_keys": [2], "added": [1], "removed": [0]})
    >>> print(DiffReport(BaselineDiff(changes, summary, ())))  # doctest: +NORMALIZE_WHITESPACE
    the candidate has 1 key the approved baseline lacks and lacks 0 of its keys:
    a gate with --fail-on-new fails
    group  feature           approved keys  candidate keys  added  removed
    web    NetworkProcesses              1               2      1        0
    change  group  feature           key                                  observations
    hosts  first seen
    added   web    NetworkProcesses  exe=/usr/bin/nc, direction=outbound             1
    1  2024-01-01 00:00:00
    """

    result: Any

    @property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.result.changes)

    @property
    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(self.result.summary)

    def _changed_pairs(self) -> pd.DataFrame:
        summary = self.summary
        if summary.empty:
            return summary
        return summary[(summary["added"] > 0) | (summary["removed"] > 0)]

    def heading(self) -> str:
        """One line: keys added and removed, and what a release gate does with them."""
        added, removed = int(self.result.added), int(self.result.removed)
        if not added and not removed:
            verdict = "the baselines hold the same keys: the gate passes"
        elif added:
            verdict = "a gate with --fail-on-new fails"
        else:
            verdict = "nothing new: the gate passes"
        return (
            f"the candidate has {added:,} key{'s' if added != 1 else ''} the approved baseline "
            f"lacks and lacks {removed:,} of its keys: {verdict}"
        )

    def _settings(self) -> list[str]:
        return [text_cell(s, 300) for s in self.result.settings]

    def to_text(self, max_rows: int | None = None) -> str:
        """Heading, differing settings, changed pairs, then the changed keys."""
        lines = [self.heading()]
        settings = self._settings()
        if settings:
            lines.append("settings that differ (keys of differently defined features differ too):")
            lines += [f"  {s}" for s in settings]
        pairs = self._changed_pairs()
        if not pairs.empty:
            lines += text_table(pairs, _SUMMARY_COLUMNS)
        if not self.frame.empty:
            lines += text_table(self.frame, _CHANGE_COLUMNS, max_rows=max_rows)
        return "\n".join(lines)

    def to_html(self, max_rows: int | None = None) -> str:
        """Heading, settings, and two tables; added keys are shaded."""
        out = [f"<p><b>{html_cell(self.heading())}</b></p>"]
        settings = self._settings()
        if settings:
            items = "".join(f"<li>{html_cell(s)}</li>" for s in settings)
            out.append(f"<p>settings that differ:</p><ul>{items}</ul>")
        pairs = self._changed_pairs()
        if not pairs.empty:
            out.append(
                html_table(pairs, _SUMMARY_COLUMNS, caption="changes per group and feature")
            )
        if not self.frame.empty:

            def style(row: Any) -> str:
                return _ADDED_STYLE if getattr(row, "change", "") == "added" else ""

            out.append(
                html_table(
                    self.frame,
                    _CHANGE_HTML_COLUMNS,
                    max_rows=max_rows,
                    caption="keys in one baseline only",
                    row_style=style,
                )
            )
        return "\n".join(out)


def diff(result: Any) -> DiffReport:
    """A :class:`~behavemodel.artifacts.BaselineDiff` as a :class:`DiffReport`.

    Parameters
    ----------
    result : BaselineDiff
        What :func:`behavemodel.diff` (approved, candidate) returned.

    Returns
    -------
    DiffReport

    Examples
    --------
    >>> import pandas as pd
    >>> import behavemodel as bm
    >>> from behavemodel import reports, schema
    >>> def events(exes):
    ...     return schema.conform(pd.DataFrame({
    ...         "time": pd.to_datetime(["2024-01-01T00:00Z"] * len(exes)),
    ...         "host_name": "web-01", "host_group": "web", "event_type": "net_connect",
    ...         "process_exe": exes, "net_direction": "outbound",
    ...         "event_id": [f"e{i}" for i in range(len(exes))], "source_format": "canonical",
    ...     }), fill_missing=True)
    >>> approved = bm.BaselineDetector(features=["NetworkProcesses"]).fit(
    ...     events(["/usr/sbin/nginx"]))
    >>> candidate = bm.BaselineDetector(features=["NetworkProcesses"]).fit(
    ...     events(["/usr/sbin/nginx", "/usr/bin/nc"]))
    >>> report = reports.diff(bm.diff(approved, candidate))
    >>> print(report.heading())
    the candidate has 1 key the approved baseline lacks and lacks 0 of its keys: a gate with \
--fail-on-new fails
    >>> report.frame["key"].tolist()
    ['exe=/usr/bin/nc, direction=outbound']
    """
    if isinstance(result, DiffReport):
        return result
    for name in ("changes", "summary", "settings", "added", "removed"):
        if not hasattr(result, name):
            raise TypeError(
                "behavemodel.reports.diff takes the BaselineDiff that behavemodel.diff returns. "
                f"Got {type(result).__name__} instead (it has no '{name}')."
            )
    return DiffReport(result)
