"""Investigation reports with HTML: session timelines, ancestry chains, connections.

The classes here extend the text reports of :mod:`behavemodel.investigate`
(:class:`~behavemodel.investigate.TimelineReport`,
:class:`~behavemodel.investigate.AncestryReport`,
:class:`~behavemodel.investigate.ConnectionReport`): same constructor, same
``to_text(cell=...)``, and they are instances of those classes, so code written
for them keeps working. They add ``to_html()``, the Jupyter display and
:attr:`frame`. Every HTML cell is composed as safe text first (control
characters escaped, :func:`text_cell`) and then escaped with
``html.escape(..., quote=True)`` as a whole.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import pandas as pd

from behavemodel.investigate import _connections, _sessions, _tree
from behavemodel.investigate._common import NO_TIME, clock, display_name
from behavemodel.reports._render import (
    DISPLAY_ROWS,
    Report,
    is_missing,
    text_cell,
)

__all__ = [
    "AncestryReport",
    "ConnectionReport",
    "TimelineReport",
    "ancestry",
    "connections",
    "timeline",
]

_TABLE = '<table class="behavemodel-report" style="border-collapse:collapse;font-size:0.9em">'
_TD = "padding:2px 8px;vertical-align:top;border-bottom:1px solid #ddd;text-align:left"
_MONO = "font-family:monospace;white-space:pre"
_NOWRAP = "white-space:nowrap"


def _show(value: object) -> str:
    return "" if is_missing(value) else text_cell(value)


def _us(value: Any) -> int:
    if is_missing(value):
        return NO_TIME
    return int(pd.Timestamp(value).value // 1000)


def _row(cells: list[str], styles: list[str] | None = None) -> str:
    """A table row; ``cells`` are safe text (escaped here), ``styles`` library CSS."""
    styles = styles or [""] * len(cells)
    return (
        "<tr>"
        + "".join(
            f'<td style="{_TD}{";" + s if s else ""}">{html.escape(c, quote=True)}</td>'
            for c, s in zip(cells, styles, strict=True)
        )
        + "</tr>"
    )


def _table(columns: list[str], rows: list[str], caption: str | None = None) -> str:
    """A report table: ``rows`` from :func:`_row`, ``caption`` safe text (escaped here)."""
    title = (
        ""
        if caption is None
        else '<caption style="text-align:left;font-weight:bold">'
        f"{html.escape(caption, quote=True)}</caption>"
    )
    return _TABLE + title + _head(columns) + "<tbody>" + "".join(rows) + "</tbody></table>"


class _Rendered(Report):
    """Notebook display through the report's own ``to_text`` and ``to_html``."""

    def _render_text(self, max_rows: int | None) -> str:
        return self.to_text()  # type: ignore[attr-defined, no-any-return]

    def _render_html(self, max_rows: int | None) -> str:
        return self.to_html(max_rows=max_rows)  # type: ignore[attr-defined, no-any-return]


def _head(cells: list[str]) -> str:
    return (
        "<thead><tr>"
        + "".join(
            f'<th style="text-align:left;padding:2px 8px">{html.escape(c)}</th>' for c in cells
        )
        + "</tr></thead>"
    )


class TimelineReport(_Rendered, _sessions.TimelineReport):
    """Session timelines (:func:`~behavemodel.investigate.session_timeline`) as text and HTML.

    A :class:`behavemodel.investigate.TimelineReport` that also renders one
    HTML table per session in Jupyter. Build it with :func:`timeline`.

    Parameters
    ----------
    timeline : pandas.DataFrame
        Rows of :func:`~behavemodel.investigate.session_timeline`.
    sessions : pandas.DataFrame, optional
        Rows of :func:`~behavemodel.investigate.list_sessions` (adds the header facts).
    show_all : bool, default False
        Also show PAM bookkeeping and the ``LOGIN`` records.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel.reports import TimelineReport
    >>> rows = pd.DataFrame({
    ...     "session": ["web-01:48"] * 2, "host_name": ["web-01"] * 2,
    ...     "session_id": [48, 48], "login_uid": [1001, 1001], "login_name": ["bob", "bob"],
    ...     "time": pd.to_datetime(["2024-03-04T10:00:00Z", "2024-03-04T10:00:05Z"]),
    ...     "kind": ["login", "command"], "record_type": ["USER_LOGIN", "SYSCALL"],
    ...     "event_type": ["login", "process_start"], "process_pid": [2002, 2010],
    ...     "process_name": [None, "ls"], "process_exe": [None, "/usr/bin/ls"],
    ...     "process_cmdline": [None, "ls -la\\x1b[2J"], "user_name": ["bob", "bob"],
    ...     "elevated": [False, False], "tty": ["pts0", "pts0"],
    ...     "src_ip": ["10.0.4.11", None], "src_port": [None, None],
    ...     "dst_ip": [None, None], "dst_port": [None, None], "file_path": [None, None],
    ...     "success": [True, True]})
    >>> report = TimelineReport(rows)
    >>> print(report)
    session web-01:48  login bob (uid 1001)
      2024-03-04 10:00:00.000  login    bob          from 10.0.4.11 on pts0
      2024-03-04 10:00:05.000  command  bob  ls [2010]  ls -la\\x1b[2J
    >>> len(report), report._repr_html_().count("<tr>")
    (2, 3)
    """

    @property
    def frame(self) -> pd.DataFrame:
        return self.timeline

    def to_text(self, cell: Callable[[object], str] = text_cell) -> str:
        """One block per session; ``cell`` renders values from the events."""
        return super().to_text(cell=cell)

    def to_html(self, max_rows: int | None = None) -> str:
        """One table per session: time, kind, user, process, detail."""
        if self.timeline.empty:
            return "<p>no matching login sessions</p>"
        facts: dict[str, Any] = {}
        if self.sessions is not None and not self.sessions.empty:
            facts = {str(s.session): s for s in self.sessions.itertuples(index=False)}
        out: list[str] = []
        shown = 0
        for name, part in self.timeline.groupby("session", sort=False):
            if max_rows is not None and shown >= max_rows:
                out.append(f"<p>… {len(self.timeline) - shown:,} more rows</p>")
                break
            first = part.iloc[0]
            head = f"session {_show(name)}  login {_show(first['login_name']) or '?'}"
            if not is_missing(first["login_uid"]):
                head += f" (uid {int(first['login_uid'])})"
            info = facts.get(str(name))
            if info is not None:
                if not is_missing(info.tty):
                    head += f"  tty {_show(info.tty)}"
                if not is_missing(info.source_ip):
                    head += f"  from {_show(info.source_ip)}"
                start, end = clock(_us(info.start), date=True), clock(_us(info.end))
                head += f"  {start} .. {end}" + ("" if info.logged_out else "  (no logout seen)")
            rows = []
            for rec in part.itertuples(index=False):
                if rec.kind in _sessions.QUIET_KINDS and not self.show_all:
                    continue
                if max_rows is not None and shown >= max_rows:
                    break
                shown += 1
                label = display_name(
                    None if is_missing(rec.process_name) else rec.process_name,
                    None if is_missing(rec.process_exe) else rec.process_exe,
                )
                process = "" if not label else f"{_show(label)} [{rec.process_pid}]"
                if rec.kind in ("login", "login_failed", "logout", "pam"):
                    process = ""
                elevated = bool(getattr(rec, "elevated", False) is True)
                rows.append(
                    _row(
                        [
                            clock(_us(rec.time), date=True),
                            str(rec.kind),
                            _show(rec.user_name) + (" (elevated)" if elevated else ""),
                            process,
                            _sessions._detail(rec, _show),
                        ],
                        ["white-space:nowrap", "", "", "", _MONO],
                    )
                )
            out.append(_table(["time", "kind", "user", "process", "detail"], rows, head))
        return "\n".join(out)


class AncestryReport(_Rendered, _tree.AncestryReport):
    """Ancestry chains (:func:`~behavemodel.investigate.ancestry`) as text and HTML.

    A :class:`behavemodel.investigate.AncestryReport` that also renders one
    HTML table per chain, oldest process first. Build it with :func:`ancestry`.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows of :func:`~behavemodel.investigate.ancestry`.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel.reports import AncestryReport
    >>> frame = pd.DataFrame({
    ...     "query": ["e1", "e1"], "depth": [0, 1], "relation": ["self", "parent"],
    ...     "host_name": ["web-01", "web-01"], "process_pid": [21, 20],
    ...     "kind": ["exec", "running"],
    ...     "start_time": [pd.Timestamp("2024-03-04T10:00:01Z"), pd.NaT],
    ...     "process_name": ["sh", "nrpe"], "process_exe": ["/bin/dash", "/usr/sbin/nrpe"],
    ...     "process_cmdline": ["sh -c '<script>'", None], "user_name": ["nagios", "nagios"]})
    >>> report = AncestryReport(frame)
    >>> print(report)
    event e1 on web-01
      nrpe [20]        nagios  (before log)  /usr/sbin/nrpe
      └─ sh [21]       nagios  10:00:01.000  sh -c '<script>'
    >>> "&lt;script&gt;" in report._repr_html_(), "<script>" in report._repr_html_()
    (True, False)
    """

    def to_text(self, cell: Callable[[object], str] = text_cell) -> str:
        """The chains, oldest process first; ``cell`` renders values from the events."""
        return super().to_text(cell=cell)

    def to_html(self, max_rows: int | None = None) -> str:
        """One table per chain: process (indented by generation), user, start, command."""
        if self.frame.empty:
            return "<p>no process ancestry for these events</p>"
        out: list[str] = []
        for n, (query, chain) in enumerate(self.frame.groupby("query", sort=False)):
            if max_rows is not None and n >= max_rows:
                out.append(f"<p>… {self.frame['query'].nunique() - n:,} more chains</p>")
                break
            chain = chain.sort_values("depth", ascending=False)
            host = chain["host_name"].iloc[0]
            title = f"event {_show(query)} on {_show(host) or '(unknown host)'}"
            relations = list(chain["relation"])[:-1]
            rows = []
            level = 0
            for i, rec in enumerate(chain.itertuples(index=False)):
                name = None if is_missing(rec.process_name) else rec.process_name
                exe = None if is_missing(rec.process_exe) else rec.process_exe
                label = display_name(name, exe)
                head = f"{_show(label) if label else 'exe unknown'} [{int(rec.process_pid)}]"
                if i > 0 and relations[i - 1] == "exec":
                    head = "=> " + head
                elif i > 0:
                    head = "└─ " + head
                    level += 1
                started = (
                    "(before log)"
                    if is_missing(rec.start_time)
                    else clock(int(pd.Timestamp(rec.start_time).value // 1000))
                )
                command = rec.process_cmdline if not is_missing(rec.process_cmdline) else exe
                rows.append(
                    _row(
                        [head, _show(rec.user_name), started, _show(command) or "exe unknown"],
                        [
                            f"padding-left:{0.5 + 1.2 * level:.1f}em;white-space:nowrap",
                            "",
                            "",
                            _MONO,
                        ],
                    )
                )
            out.append(_table(["process", "user", "started", "command"], rows, title))
        return "\n".join(out)


class ConnectionReport(_Rendered, _connections.ConnectionReport):
    """Matched connections (:func:`~behavemodel.investigate.match_connections`), text and HTML.

    A :class:`behavemodel.investigate.ConnectionReport` that also renders an
    HTML table, multi-hop paths with a heading row. Build it with
    :func:`connections`.

    Parameters
    ----------
    connections : pandas.DataFrame
        Rows of :func:`~behavemodel.investigate.match_connections`.
    addresses : pandas.DataFrame, optional
        Rows of :func:`~behavemodel.investigate.infer_host_addresses`, shown first.
    limit : int, optional
        Show at most this many paths.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel.reports import ConnectionReport
    >>> rows = pd.DataFrame({
    ...     "connection": [0], "status": ["outside_fleet"],
    ...     "time": pd.to_datetime(["2024-03-04T10:01:00Z"]),
    ...     "src_host": ["web-01"], "src_pid": [701], "src_process": ["curl"],
    ...     "src_user": ["www"], "src_session": [None], "dst_host": [None],
    ...     "dst_ip": ["93.184.216.34"], "dst_port": [443], "dst_pid": [None],
    ...     "dst_process": [None], "dst_user": [None], "dst_session": [None],
    ...     "dst_login_name": [None], "time_delta": [None], "path_id": [0], "hop": [1],
    ...     "path": ["web-01 -> 93.184.216.34"]})
    >>> print(ConnectionReport(rows))
    10:01:00.000  web-01  www  curl [701]  -> 93.184.216.34:443  outside the fleet
    """

    @property
    def frame(self) -> pd.DataFrame:
        return self.connections

    def to_text(self, cell: Callable[[object], str] = text_cell) -> str:
        """Paths and single connections in time order; ``cell`` renders event values."""
        return super().to_text(cell=cell)

    def to_html(self, max_rows: int | None = None) -> str:
        """A table of connections, multi-hop paths under a heading row."""
        out: list[str] = []
        if self.addresses is not None and not self.addresses.empty:
            known = [
                _row([_show(r.host_name), _show(r.ip), _show(r.source)])
                for r in self.addresses.itertuples(index=False)
            ]
            out.append(_table(["host", "address", "how known"], known, "host addresses"))
        frame = self.connections
        if frame.empty:
            out.append("<p>no connections</p>")
            return "\n".join(out)
        limit = self.limit
        if max_rows is not None:
            limit = max_rows if limit is None else min(limit, max_rows)
        paths = frame.groupby("path_id", sort=False)
        order = paths["time"].min().sort_values(kind="stable")
        shown = order.index if limit is None else order.index[:limit]
        header = ["time", "from", "user", "process", "to", "peer / outcome", "Δt", "note"]
        rows = []
        for path_id in shown:
            part = paths.get_group(path_id).sort_values(["hop", "time"], kind="stable")
            if part["hop"].max() > 1:
                text = (
                    f"path {_show(part['path'].iloc[0])}: {len(part)} connections, "
                    f"{int(part['hop'].max())} hops"
                )
                rows.append(
                    f'<tr><td colspan="{len(header)}" style="{_TD};font-weight:bold">'
                    f"{html.escape(text, quote=True)}</td></tr>"
                )
            for rec in part.itertuples(index=False):
                cells = self._row(rec, _show)
                cells = [*cells, *[""] * (len(header) - len(cells))]
                rows.append(_row(cells, ["white-space:pre", *[""] * (len(header) - 1)]))
        out.append(_table(header, rows))
        if limit is not None and len(order) > limit:
            out.append(f"<p>… {len(order) - limit:,} more paths not shown</p>")
        return "\n".join(out)


def timeline(
    rows: pd.DataFrame, sessions: pd.DataFrame | None = None, *, show_all: bool = False
) -> TimelineReport:
    """Session-timeline rows as a :class:`TimelineReport` (text, and tables in Jupyter).

    Parameters
    ----------
    rows : pandas.DataFrame
        Rows of :func:`~behavemodel.investigate.session_timeline`.
    sessions : pandas.DataFrame, optional
        Rows of :func:`~behavemodel.investigate.list_sessions` for the header facts.
    show_all : bool, default False
        Also show PAM bookkeeping and ``LOGIN`` records.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.investigate import session_timeline
    >>> from behavemodel.reports import timeline
    >>> t = pd.Timestamp("2024-03-04T10:00:00Z")
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": [t, t + pd.Timedelta(seconds=5)], "host_name": "web-01",
    ...     "event_type": ["login", "process_start"], "record_type": ["USER_LOGIN", "SYSCALL"],
    ...     "process_pid": [2002, 2010], "process_exe": [None, "/usr/bin/id"],
    ...     "process_cmdline": [None, "id -a"],
    ...     "user_name": "bob", "user_uid": 1001, "login_uid": 1001, "session_id": 48,
    ...     "event_id": ["a", "b"], "source_format": "canonical"}), fill_missing=True)
    >>> print(timeline(session_timeline(events)))
    session web-01:48  login bob (uid 1001)
      2024-03-04 10:00:00.000  login    bob
      2024-03-04 10:00:05.000  command  bob  id [2010]  id -a
    """
    return TimelineReport(rows, sessions, show_all)


def ancestry(frame: pd.DataFrame) -> AncestryReport:
    """Ancestry rows (:func:`~behavemodel.investigate.ancestry`) as an :class:`AncestryReport`.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.investigate import ancestry as walk
    >>> from behavemodel.reports import ancestry
    >>> t = pd.Timestamp("2024-03-04T10:00:00Z")
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": [t, t + pd.Timedelta(seconds=1)], "host_name": "web-01",
    ...     "event_type": "process_start", "process_pid": [20, 21], "parent_pid": [1, 20],
    ...     "process_name": ["nrpe", "sh"], "process_exe": ["/usr/sbin/nrpe", "/bin/dash"],
    ...     "process_cmdline": ["nrpe -d", "sh -c check_disk"], "user_name": "nagios",
    ...     "event_id": ["a", "b"], "source_format": "canonical"}), fill_missing=True)
    >>> print(ancestry(walk(events, "b")))
    event b on web-01
      exe unknown [1]          (before log)  exe unknown
      └─ nrpe [20]     nagios  10:00:00.000  nrpe -d
         └─ sh [21]    nagios  10:00:01.000  sh -c check_disk
    """
    return AncestryReport(frame)


def connections(
    rows: pd.DataFrame, addresses: pd.DataFrame | None = None, *, limit: int | None = DISPLAY_ROWS
) -> ConnectionReport:
    """Connection rows as a :class:`ConnectionReport`, at most ``limit`` paths shown.

    Parameters
    ----------
    rows : pandas.DataFrame
        Rows of :func:`~behavemodel.investigate.match_connections` (filter them first:
        a day of a fleet has thousands).
    addresses : pandas.DataFrame, optional
        Rows of :func:`~behavemodel.investigate.infer_host_addresses`.
    limit : int or None, default 50
        Most paths shown; None for all.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.investigate import match_connections
    >>> from behavemodel.reports import connections
    >>> t = pd.Timestamp("2024-03-04T10:00:00Z")
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": [t], "host_name": "web-01", "event_type": "net_connect",
    ...     "process_pid": 701, "process_name": "curl", "user_name": "www",
    ...     "dst_ip": "93.184.216.34", "dst_port": 443, "event_id": ["a"],
    ...     "source_format": "canonical"}), fill_missing=True)
    >>> print(connections(match_connections(events)))
    10:00:00.000  web-01  www  curl [701]  -> 93.184.216.34:443  outside the fleet
    """
    return ConnectionReport(rows, addresses, limit)
