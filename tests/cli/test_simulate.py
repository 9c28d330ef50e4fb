"""Tests for behavemodel/cli/_simulate.py (in-process, CliRunner)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from click.testing import CliRunner

from behavemodel import schema
from behavemodel.cli import main
from behavemodel.io import read_auditd


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args))


def test_simulate_writes_events_labels_groups_and_logs(tmp_path: Path) -> None:
    out = tmp_path / "fleet"
    result = run(
        "simulate", "--groups", "web,monitoring", "--hosts-per-group", "1", "--days", "0.2",
        "--scenario", "shellshock", "--scenario", "reverse_shell", "--seed", "4",
        "-o", str(out), "--audit-logs",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    events = pq.read_table(out / "events.parquet")
    schema.validate(schema.conform(events))
    labels = pq.read_table(out / "labels.parquet").to_pandas()
    assert set(labels["scenario"]) == {"shellshock", "reverse_shell"}
    groups = pd.read_csv(out / "host_groups.csv")
    assert sorted(groups["group"]) == ["monitoring", "web"]
    parsed = read_auditd(out / "audit")
    assert isinstance(parsed, pd.DataFrame)
    assert len(parsed) == events.num_rows
    assert f"wrote {events.num_rows:,} events" in result.output


def test_same_seed_same_files(tmp_path: Path) -> None:
    for name in ("a", "b"):
        args = ["simulate", "--groups", "db", "--hosts-per-group", "1", "--days", "0.1"]
        assert run(*args, "--seed", "9", "-o", str(tmp_path / name)).exit_code == 0
    a = pq.read_table(tmp_path / "a" / "events.parquet")
    b = pq.read_table(tmp_path / "b" / "events.parquet")
    assert a.equals(b)


def test_unknown_scenario_is_a_usage_error(tmp_path: Path) -> None:
    result = run("simulate", "--scenario", "nope", "--days", "0.1", "-o", str(tmp_path / "x"))
    assert result.exit_code == 2
    assert "nope" in result.output
