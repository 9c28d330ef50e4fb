"""Hostile values from the events go through every renderer and come out inert.

Command lines, paths, host names, user names, login names, ttys, addresses and
event ids are attacker-controlled. Every report is rendered as text (``str``,
``repr``, ``to_text``) and as HTML (``to_html``, ``_repr_html_``); the HTML is
parsed back and may hold only the library's own tags and attributes, the text
only printable characters and our own line breaks.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import behavemodel as bm
import behavemodel.investigate as inv
from behavemodel import reports
from behavemodel.models import BaselineDetector

ALLOWED_TAGS = {"table", "caption", "thead", "tbody", "tr", "th", "td", "p", "b", "ul", "li"}
ALLOWED_TAGS |= {"code"}
ALLOWED_ATTRS = {"class", "style", "title", "colspan"}
STYLE = re.compile(r"^[-a-z0-9:;#.,()% ]*$")
FORBIDDEN_HTML = ("<script", "<img", "</table><", "' onmouseover", '" onmouseover')


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.data: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.data.append(data)


def check_html(markup: str) -> str:
    """Assert the markup is only ours; return its visible text."""
    for bad in FORBIDDEN_HTML:
        assert bad not in markup, bad
    for ch in markup:
        assert ch == "\n" or ch.isprintable(), repr(ch)
    parser = _Collect()
    parser.feed(markup)
    parser.close()
    assert set(parser.tags) <= ALLOWED_TAGS, set(parser.tags) - ALLOWED_TAGS
    for name, value in parser.attrs:
        assert name in ALLOWED_ATTRS, name
        if name == "style":
            assert value is not None and STYLE.match(value), value
        if name == "colspan":
            assert value is not None and value.isdigit()
    return "".join(parser.data)


def check_text(text: str) -> None:
    """Assert the text is printable apart from our line breaks, and no line is forged."""
    for ch in text:
        assert ch == "\n" or ch.isprintable(), repr(ch)
    for line in text.split("\n"):
        assert not line.lstrip().startswith("FAKE"), line


def render_all(report: Any) -> tuple[list[str], list[str]]:
    texts = [str(report), repr(report), report.to_text()]
    markups = [report.to_html(), report._repr_html_()]
    return texts, markups


@pytest.fixture(scope="module")
def every_report(
    hostile_model: BaselineDetector, hostile_events: pa.Table, training_events: pa.Table
) -> dict[str, Any]:
    alerts = hostile_model.explain(hostile_events)
    assert len(alerts) >= 3  # the hostile exe, user and parent all alert
    candidate = BaselineDetector(
        groups=dict(hostile_model.groups), min_span="2h", alert_while_learning=True
    ).fit(hostile_events)
    timeline = inv.session_timeline(hostile_events)
    sessions = inv.list_sessions(hostile_events)
    assert len(timeline) >= 4
    attack = alerts["event_id"].dropna().iloc[-1]
    chain = inv.ancestry(hostile_events, [attack, "s2"])
    connections = inv.match_connections(hostile_events)
    assert len(connections)
    hostile_text = alerts["process_cmdline"].dropna().iloc[0]
    addresses = pd.DataFrame(
        {"host_name": [hostile_text], "ip": [hostile_text], "source": [hostile_text]}
    )
    return {
        "convergence": reports.convergence(hostile_model),
        "convergence-of-candidate": reports.convergence(candidate),
        "alerts": reports.alerts(alerts),
        "alerts-table": reports.alerts(pa.Table.from_pandas(alerts, preserve_index=False)),
        "diff": reports.diff(bm.diff(hostile_model, candidate)),
        "diff-reverse": reports.diff(bm.diff(candidate, hostile_model)),
        "timeline": reports.timeline(timeline, sessions),
        "timeline-all": reports.timeline(timeline, sessions, show_all=True),
        "ancestry": reports.ancestry(chain),
        "connections": reports.connections(connections, addresses),
    }


REPORTS = [
    "convergence",
    "convergence-of-candidate",
    "alerts",
    "alerts-table",
    "diff",
    "diff-reverse",
    "timeline",
    "timeline-all",
    "ancestry",
    "connections",
]


@pytest.mark.parametrize("name", REPORTS)
def test_text_renderings_escape_everything(every_report: dict[str, Any], name: str) -> None:
    texts, _ = render_all(every_report[name])
    for text in texts:
        check_text(text)


@pytest.mark.parametrize("name", REPORTS)
def test_html_renderings_hold_only_our_markup(every_report: dict[str, Any], name: str) -> None:
    _, markups = render_all(every_report[name])
    for markup in markups:
        check_html(markup)


@pytest.mark.parametrize("name", ["alerts", "diff", "timeline", "ancestry", "connections"])
def test_hostile_values_are_shown_not_dropped(every_report: dict[str, Any], name: str) -> None:
    """Escaping keeps the evidence visible: the analyst sees the literal payload."""
    visible = check_html(every_report[name].to_html())
    assert "<script>alert(1)</script>" in visible or "<script>alert(3)</script>" in visible
    text = every_report[name].to_text()
    assert "<script>" in text


def test_already_escaped_text_is_escaped_again(every_report: dict[str, Any]) -> None:
    visible = check_html(every_report["alerts"].to_html())
    assert "&lt;already escaped&gt;" in visible  # shown literally, not turned into <...>


def test_control_characters_are_shown_as_escapes(every_report: dict[str, Any]) -> None:
    text = every_report["alerts"].to_text()
    assert "\\x1b[2J" in text
    html = every_report["timeline"].to_html()
    assert "\\u2028" in html and "\\n" in html


def test_cells_and_titles_use_quote_escaping() -> None:
    long_value = '"' + "x" * 600 + "' onload='alert(1)"
    frame = pd.DataFrame(
        {"time": [pd.Timestamp("2024-01-01", tz="UTC")], "host_name": ["h"], "feature": ["f"]}
    )
    frame["reason"] = long_value  # longer than the HTML limit: the full value goes to title=
    markup = reports.alerts(frame).to_html()
    assert "title=" in markup
    check_html(markup)
    assert "' onload" not in markup and '"x' not in markup


@pytest.mark.parametrize(
    "value",
    ["<script>", '"><img onerror=x>', "\x1b[2J", "\u2028", "\u2029", "\u202e", "\x00", "\r"],
)
def test_cell_functions(value: str) -> None:
    text = reports.text_cell(value)
    assert all(ch.isprintable() for ch in text)
    markup = reports.html_cell(value)
    assert all(ch.isprintable() for ch in markup)
    assert "<" not in markup and ">" not in markup and '"' not in markup and "'" not in markup
