"""Investigation reports with HTML (behavemodel/reports/_investigate.py)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

import behavemodel.investigate as inv
from behavemodel import reports


def test_reports_are_the_investigate_reports(hostile_events: pa.Table) -> None:
    timeline = inv.session_timeline(hostile_events)
    chain = inv.ancestry(hostile_events, "s2")
    found = inv.match_connections(hostile_events)
    pairs = [
        (reports.timeline(timeline), inv.TimelineReport(timeline)),
        (reports.ancestry(chain), inv.AncestryReport(chain)),
        (reports.connections(found, limit=None), inv.ConnectionReport(found)),
    ]
    for rich, plain in pairs:
        assert isinstance(rich, type(plain))
        assert rich.to_text() == plain.to_text()
        assert rich.to_text(cell=str.upper) == plain.to_text(cell=str.upper)
        assert str(rich) == str(plain)
        assert "<table" in rich._repr_html_()
    assert pairs[0][0].frame is timeline
    assert pairs[1][0].frame is chain
    assert pairs[2][0].frame is found


def test_timeline_html_has_one_table_per_session_and_hides_quiet_kinds(
    hostile_events: pa.Table,
) -> None:
    timeline = inv.session_timeline(hostile_events)
    quiet = pd.concat([timeline, timeline.iloc[[0]].assign(kind="pam")], ignore_index=True)
    markup = reports.timeline(quiet).to_html()
    assert markup.count("<table") == timeline["session"].nunique()
    assert markup.count("<tr>") == len(timeline) + 1
    assert reports.timeline(quiet, show_all=True).to_html().count("<tr>") == len(timeline) + 2
    assert reports.timeline(timeline).to_html(max_rows=2).count("<tr>") == 3


def test_connections_limit(hostile_events: pa.Table) -> None:
    found = inv.match_connections(hostile_events)
    markup = reports.connections(found, limit=3).to_html()
    assert "more paths not shown" in markup
    assert "path " in reports.connections(found).to_html()  # the multi-hop heading row


def test_empty_reports() -> None:
    assert "no matching login sessions" in reports.timeline(pd.DataFrame()).to_html()
    assert "no process ancestry" in reports.ancestry(pd.DataFrame()).to_html()
    empty = pd.DataFrame({"path_id": [], "time": []})
    assert "no connections" in reports.connections(empty).to_html()
