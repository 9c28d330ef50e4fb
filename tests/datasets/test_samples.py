"""The sample datasets in ``datasets/``: loadable, small, and up to date with the simulator."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from behavemodel import schema as s
from behavemodel.datasets import _samples, list_samples, load_sample, sample_path
from behavemodel.io import read_auditd

REPO = Path(__file__).resolve().parents[2]


def same(a: pa.Table, b: pa.Table) -> bool:
    """Equal values column by column (dictionary encodings may differ)."""
    if a.column_names != b.column_names or a.num_rows != b.num_rows:
        return False
    for name in a.column_names:
        x, y = a.column(name), b.column(name)
        if pa.types.is_dictionary(x.type):
            x, y = x.cast(pa.string()), y.cast(pa.string())
        if not x.equals(y):
            return False
    return True


def test_samples_are_listed_and_small() -> None:
    assert list_samples() == ["attack-day", "auditd-sample", "fleet-week"]
    for name in list_samples():
        directory = REPO / "datasets" / name
        files = [p for p in directory.rglob("*") if p.is_file()]
        assert files, f"datasets/{name} is missing; run python datasets/make_samples.py"
        assert all(p.stat().st_size < 5_000_000 for p in files)
    assert (REPO / "datasets" / "README.md").is_file()


@pytest.mark.parametrize("name", ["fleet-week", "attack-day", "auditd-sample"])
def test_samples_are_up_to_date_with_the_simulator(name: str, tmp_path: Path) -> None:
    sample = load_sample(name)
    assert sample.path == REPO / "datasets" / name
    s.validate(sample.events)
    fresh = _samples.build_sample(name)
    assert same(sample.events, s.conform(fresh.events)), (
        f"datasets/{name} differs from the simulator; run python datasets/make_samples.py"
    )
    assert sample.labels.equals(fresh.labels)
    assert dict(sample.host_groups) == dict(fresh.host_groups)
    if sample.audit_logs is not None:
        for log in sample.audit_logs.rglob("audit.log"):
            regenerated = fresh.write_audit_logs(tmp_path / "audit")
            mine = next(p for p in regenerated if p.parent.name == log.parent.name)
            assert log.read_bytes() == mine.read_bytes()


def test_week_is_benign_and_attack_day_is_labelled() -> None:
    week = load_sample("fleet-week")
    day = load_sample("attack-day")
    assert week.labels.num_rows == 0
    assert set(day.labels.column("scenario").to_pylist()) == {
        sc.name for sc in _samples._fleet_scenarios()
    }
    t_week = week.events.column(s.TIME)
    t_day = day.events.column(s.TIME)
    assert pc.max(t_week).as_py() < pc.min(t_day).as_py()
    assert week.to_pandas()["process_exe"].nunique() >= 300


def test_raw_sample_parses_to_its_events() -> None:
    sample = load_sample("auditd-sample")
    assert sample.audit_logs is not None
    back = read_auditd(sample.audit_logs)
    assert len(back) == sample.events.num_rows
    assert back["event_id"].tolist() == sample.events.column(s.EVENT_ID).to_pylist()
    assert "shellshock" in set(sample.labels.column("scenario").to_pylist())


def test_missing_samples_are_simulated_again(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(_samples.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(_samples, "_checkout_dir", lambda: tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="regenerate=True"):
        sample_path("auditd-sample", regenerate=False)
    path = sample_path("auditd-sample")
    assert path.is_relative_to(tmp_path / "cache")
    assert same(
        load_sample("auditd-sample").events,
        s.conform(_samples.build_sample("auditd-sample").events),
    )
    monkeypatch.setenv(_samples.DATASETS_ENV, str(tmp_path / "cache" / "datasets" / "x"))
    with pytest.raises(ValueError, match="Unknown sample 'nope'"):
        load_sample("nope")
