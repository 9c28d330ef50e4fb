"""Cells, aligned text tables and HTML tables (behavemodel/reports/_render.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from behavemodel.reports._render import (
    DISPLAY_ROWS,
    Column,
    format_span,
    html_cell,
    html_table,
    is_missing,
    text_cell,
    text_table,
)

COLUMNS = [Column("host", "host"), Column("n", "events", kind="int"), Column("note", "note")]


def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"host": [f"web-{i:02d}" for i in range(n)], "n": range(n), "note": ["x"] * n}
    )


def test_text_table_aligns_and_right_aligns_numbers() -> None:
    lines = text_table(pd.DataFrame({"host": ["a", "bbbb"], "n": [5, 12345]}), COLUMNS)
    assert lines == ["host  events", "a          5", "bbbb  12,345"]


def test_text_table_skips_missing_columns_and_renders_missing_values_empty() -> None:
    lines = text_table(pd.DataFrame({"host": ["a", None], "n": [1, None]}), COLUMNS)
    assert lines[0] == "host  events"
    assert lines[2].strip() == ""


def test_text_table_max_rows_says_what_was_left_out() -> None:
    lines = text_table(frame(5), COLUMNS, max_rows=2)
    assert len(lines) == 4
    assert lines[-1] == "… 3 more rows"


def test_html_table_max_rows_and_caption() -> None:
    markup = html_table(frame(5), COLUMNS, max_rows=2, caption="<hosts>")
    assert markup.count("<tr>") == 3  # header + 2 rows
    assert "… 3 more rows" in markup
    assert "&lt;hosts&gt;" in markup


def test_html_table_right_aligns_numbers_and_puts_long_text_in_title() -> None:
    markup = html_table(
        pd.DataFrame({"host": ["h" * 30], "n": [1]}),
        [Column("host", "host", html_limit=10), Column("n", "n", kind="int")],
    )
    assert "text-align:right" in markup
    assert f'title="{"h" * 30}"' in markup
    assert "hhhhhhhhh…<" in markup


def test_text_cell_limit_and_types() -> None:
    assert text_cell("abcdef", limit=4) == "abc…"
    assert text_cell("abcdef", limit=None) == "abcdef"
    assert text_cell(12) == "12"
    assert text_cell(pd.NA) == ""
    assert text_cell(b"\x1b") == "b'\\x1b'"


def test_html_cell_escapes_after_control_characters() -> None:
    assert html_cell("<\x1b>") == "&lt;\\x1b&gt;"


@pytest.mark.parametrize(
    ("value", "missing"),
    [(None, True), (pd.NaT, True), (float("nan"), True), ([1], False), ("", False), (0, False)],
)
def test_is_missing(value: object, missing: bool) -> None:
    assert is_missing(value) is missing


def test_formats() -> None:
    assert format_span(pd.Timedelta("2 days 03:04:59")) == "2d 3:04"
    assert Column("s", "s", kind="score").format(0.7) == "0.70"
    assert Column("f", "f", kind="float").format(0.012345) == "0.0123"
    assert Column("k", "k").format(["/usr/bin/nc", "listen"]) == "/usr/bin/nc, listen"
    assert Column("t", "t", kind="time").format(pd.Timestamp("2024-01-01T05:06:07Z")) == (
        "2024-01-01 05:06:07"
    )
    assert DISPLAY_ROWS == 50
