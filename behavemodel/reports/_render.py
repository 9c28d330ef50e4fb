"""Safe cells and aligned tables, as terminal text and as HTML.

Every value shown by a report may come from the events, and command lines, paths
and host names are attacker-controlled. Two rules keep them inert:

- text: :func:`text_cell` escapes every character that is not printable (control
  characters, line and paragraph separators, bidirectional overrides) as a
  Python escape (``\\x1b``, ``\\u2028``), so a value cannot move the cursor,
  clear the screen or start a new line;
- HTML: :func:`html_cell` does the same and then ``html.escape(..., quote=True)``,
  so a value cannot open a tag or leave an attribute. The only markup in the
  output is the library's own.
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = [
    "DISPLAY_ROWS",
    "Column",
    "Report",
    "TableReport",
    "html_cell",
    "html_table",
    "is_missing",
    "text_cell",
    "text_table",
]

#: Rows shown by ``repr()`` and in Jupyter; ``to_text()`` / ``to_html()`` show all.
DISPLAY_ROWS = 50

_ELLIPSIS = "…"
_TABLE_STYLE = "border-collapse:collapse;font-size:0.9em"
_CELL_STYLE = "padding:2px 8px;vertical-align:top;border-bottom:1px solid #ddd"


def is_missing(value: object) -> bool:
    """Whether a cell value is missing (None, NaN, NaT, ``pd.NA``).

    Examples
    --------
    >>> import pandas as pd
    >>> is_missing(None), is_missing(pd.NA), is_missing(float("nan")), is_missing("")
    (True, True, True, False)
    """
    if value is None:
        return True
    if isinstance(value, (str, bytes, list, tuple, dict, np.ndarray)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _escape_controls(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


def text_cell(value: object, limit: int | None = 200) -> str:
    """A value from the events as one line of terminal text.

    Characters that are not printable are shown as Python escapes; missing
    values are empty; text longer than ``limit`` is cut with ``…``.

    Parameters
    ----------
    value : object
        Anything; bytes are shown with their escapes (``b'...'``).
    limit : int or None, default 200
        Longest result; None for no limit.

    Returns
    -------
    str

    Examples
    --------
    >>> text_cell("web-01")
    'web-01'
    >>> print(text_cell("evil\\x1b[2J\\nfake line\\u2028"))
    evil\\x1b[2J\\nfake line\\u2028
    >>> text_cell("a" * 10, limit=5)
    'aaaa…'
    >>> text_cell(None)
    ''
    """
    if is_missing(value):
        return ""
    rendered = _escape_controls(value if isinstance(value, str) else str(value))
    if limit is not None and len(rendered) > limit:
        return rendered[: max(limit - 1, 0)] + _ELLIPSIS
    return rendered


def html_cell(value: object, limit: int | None = None) -> str:
    """A value from the events as HTML text: :func:`text_cell`, then ``html.escape``.

    Safe inside an element and inside a double- or single-quoted attribute.

    Examples
    --------
    >>> html_cell('"><img src=x onerror=alert(1)>')
    '&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'
    >>> html_cell("<script>alert('x')</script>")
    '&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;'
    """
    return html.escape(text_cell(value, limit), quote=True)


@dataclass(frozen=True)
class Column:
    """How a report shows one column of its frame.

    Parameters
    ----------
    name : str
        The frame's column.
    header : str
        The heading shown.
    kind : {"text", "int", "float", "score", "time", "span"}, default "text"
        How values are formatted; numbers are right-aligned.
    limit : int, default 60
        Longest text in a terminal; HTML cells are cut at ``html_limit``.
    html_limit : int, default 500
        Longest text in HTML (the full value, up to 2000 characters, is in the
        cell's ``title``).

    Examples
    --------
    >>> Column("events", "events", kind="int").format(12345)
    '12,345'
    >>> Column("span", "span", kind="span").format("1 days 02:03:00")
    '1d 2:03'
    """

    name: str
    header: str
    kind: Literal["text", "int", "float", "score", "time", "span"] = "text"
    limit: int = 60
    html_limit: int = 500

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "float", "score")

    def format(self, value: object) -> str:
        """The value as display text, before escaping (formats our own types only)."""
        if is_missing(value):
            return ""
        if self.kind == "int":
            return f"{int(value):,}"  # type: ignore[call-overload]
        if self.kind == "float":
            return f"{float(value):.3g}"  # type: ignore[arg-type]
        if self.kind == "score":
            return f"{float(value):.2f}"  # type: ignore[arg-type]
        if self.kind == "time":
            return format_time(value)
        if self.kind == "span":
            return format_span(value)
        if isinstance(value, (list, tuple, np.ndarray)):
            return ", ".join(str(v) for v in value)
        return value if isinstance(value, str) else str(value)


def format_time(value: object) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in UTC (``value`` is a timestamp or datetime)."""
    ts = pd.Timestamp(value)  # type: ignore[arg-type]
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC")
    return str(ts.strftime("%Y-%m-%d %H:%M:%S"))


def format_span(value: object) -> str:
    """A duration as ``6d 23:59`` (days, hours and minutes).

    Examples
    --------
    >>> import pandas as pd
    >>> format_span(pd.Timedelta("6 days 23:59:42"))
    '6d 23:59'
    >>> format_span(pd.Timedelta("5min"))
    '0:05'
    """
    if isinstance(value, (datetime.timedelta, np.timedelta64, str)):
        delta = pd.Timedelta(value)
    else:
        delta = pd.Timedelta(value)  # type: ignore[arg-type]
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    clock = f"{hours}:{mins:02d}"
    return f"{days}d {clock}" if days else clock


def _rows(frame: pd.DataFrame, columns: Sequence[Column]) -> list[list[str]]:
    present = [c for c in columns if c.name in frame.columns]
    values = [frame[c.name].tolist() for c in present]
    return [
        [c.format(v) for c, v in zip(present, row, strict=True)]
        for row in zip(*values, strict=True)
    ]


def text_table(
    frame: pd.DataFrame,
    columns: Sequence[Column],
    *,
    max_rows: int | None = None,
    indent: str = "",
) -> list[str]:
    """Aligned terminal lines: a header and one line per row, every cell escaped.

    Columns missing from ``frame`` are skipped; numbers are right-aligned and
    the last column is not padded.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"host": ["web-01", "db\\x1b[2J"], "n": [3, 1200]})
    >>> print("\\n".join(text_table(frame, [Column("host", "host"),
    ...                                      Column("n", "events", kind="int")])))
    host          events
    web-01             3
    db\\x1b[2J      1,200
    """
    present = [c for c in columns if c.name in frame.columns]
    shown = frame if max_rows is None else frame.iloc[:max_rows]
    body = [
        [text_cell(text, c.limit) for c, text in zip(present, row, strict=True)]
        for row in _rows(shown, present)
    ]
    table = [[c.header for c in present], *body]
    widths = [max(len(r[i]) for r in table) for i in range(len(present))]
    lines = []
    for row in table:
        cells = []
        for i, (column, text) in enumerate(zip(present, row, strict=True)):
            last = i == len(present) - 1
            if column.numeric:
                cells.append(text.rjust(widths[i]))
            else:
                cells.append(text if last else text.ljust(widths[i]))
        lines.append((indent + "  ".join(cells)).rstrip())
    if max_rows is not None and len(frame) > max_rows:
        lines.append(f"{indent}… {len(frame) - max_rows:,} more rows")
    return lines


def html_table(
    frame: pd.DataFrame,
    columns: Sequence[Column],
    *,
    max_rows: int | None = None,
    caption: str | None = None,
    row_style: Callable[[Any], str] | None = None,
) -> str:
    """An HTML table of the frame: every cell and ``title`` escaped.

    Parameters
    ----------
    frame : pandas.DataFrame
    columns : sequence of Column
        Columns missing from ``frame`` are skipped.
    max_rows : int, optional
        Show at most this many rows and say how many were left out.
    caption : str, optional
        Escaped too.
    row_style : callable, optional
        ``row -> CSS`` for a row (``row`` is a namedtuple of the frame); the
        result must be library text, never data.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"host": ["<b>web</b>"]})
    >>> print(html_table(frame, [Column("host", "host")]))  # doctest: +NORMALIZE_WHITESPACE
    <table class="behavemodel-report" style="border-collapse:collapse;font-size:0.9em">
    <thead><tr><th style="text-align:left;padding:2px 8px">host</th></tr></thead>
    <tbody>
    <tr><td style="text-align:left;padding:2px 8px;vertical-align:top;border-bottom:1px solid #ddd">&lt;b&gt;web&lt;/b&gt;</td></tr>
    </tbody></table>
    """  # noqa: E501
    present = [c for c in columns if c.name in frame.columns]
    shown = frame if max_rows is None else frame.iloc[:max_rows]
    out = [f'<table class="behavemodel-report" style="{_TABLE_STYLE}">']
    if caption:
        out.append(
            f'<caption style="text-align:left;font-weight:bold">{html_cell(caption)}</caption>'
        )
    heads = "".join(
        f'<th style="text-align:{"right" if c.numeric else "left"};padding:2px 8px">'
        f"{html_cell(c.header)}</th>"
        for c in present
    )
    out.append(f"<thead><tr>{heads}</tr></thead>")
    out.append("<tbody>")
    styles = (
        [row_style(r) for r in shown.itertuples(index=False)]
        if row_style is not None
        else [""] * len(shown)
    )
    for row, style in zip(_rows(shown, present), styles, strict=True):
        cells = []
        for column, text in zip(present, row, strict=True):
            align = "right" if column.numeric else "left"
            shown_text = html_cell(text, column.html_limit)
            title = ""
            if len(text) > column.html_limit:
                title = f' title="{html_cell(text, 2000)}"'
            cells.append(f'<td style="text-align:{align};{_CELL_STYLE}"{title}>{shown_text}</td>')
        attr = f' style="{html.escape(style, quote=True)}"' if style else ""
        out.append(f"<tr{attr}>{''.join(cells)}</tr>")
    out.append("</tbody></table>")
    if max_rows is not None and len(frame) > max_rows:
        out.append(f"<p>… {len(frame) - max_rows:,} more rows (<code>.frame</code> has all)</p>")
    return "\n".join(out)


class Report:
    """What every report offers: its frame, text, HTML and notebook display.

    Subclasses hold the rows they show (``frame``) and render them with
    ``to_text`` and ``to_html``. ``str(report)`` is the whole text;
    ``repr(report)`` and the Jupyter display (``_repr_html_``) show at most
    :data:`DISPLAY_ROWS` rows.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel.reports import Report, alerts
    >>> rows = pd.DataFrame({
    ...     "time": pd.date_range("2024-01-01", periods=60, freq="1min", tz="UTC"),
    ...     "host_name": "web-01", "feature": "NetworkProcesses"})
    >>> report = alerts(rows)
    >>> isinstance(report, Report), len(report)
    (True, 60)
    >>> len(str(report).splitlines()), len(repr(report).splitlines())
    (62, 53)
    >>> repr(report).splitlines()[-1]
    '… 10 more rows'
    """

    def to_pandas(self) -> pd.DataFrame:
        """The rows the report shows, as the library returned them (its ``frame``)."""
        frame = getattr(self, "frame", None)
        if not isinstance(frame, pd.DataFrame):
            raise NotImplementedError(f"{type(self).__name__} does not say what its rows are.")
        return frame

    def __len__(self) -> int:
        return len(self.to_pandas())

    def _render_text(self, max_rows: int | None) -> str:
        raise NotImplementedError

    def _render_html(self, max_rows: int | None) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self._render_text(None)

    def __repr__(self) -> str:
        return self._render_text(DISPLAY_ROWS)

    def _repr_html_(self) -> str:
        return self._render_html(DISPLAY_ROWS)


class TableReport(Report):
    """A report of one table: ``to_text(max_rows)`` and ``to_html(max_rows)``."""

    def to_text(self, max_rows: int | None = None) -> str:
        """Aligned terminal text, every value from the events escaped."""
        raise NotImplementedError

    def to_html(self, max_rows: int | None = None) -> str:
        """HTML, every value from the events escaped."""
        raise NotImplementedError

    def _render_text(self, max_rows: int | None) -> str:
        return self.to_text(max_rows=max_rows)

    def _render_html(self, max_rows: int | None) -> str:
        return self.to_html(max_rows=max_rows)
