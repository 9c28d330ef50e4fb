"""The ``make demo`` story on the bundled, simulated sample data.

1. Parse a raw ENRICHED audit log of one Nagios host.
2. Learn a six-host fleet's benign week, per server group.
3. Monitor the attack day and print the explained alerts.
4. Check the alerts against the attack labels the simulator wrote.
5. Save the model as a signed, data-only file and load it back.

Run with ``python -m behavemodel.demo`` (``make demo`` does). Everything shown
comes from ``datasets/``; see its README for how the samples were simulated.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from behavemodel.cli._common import safe_text

__all__ = ["main"]

WIDTH = 100


def _title(text: str) -> None:
    print()
    print(text)
    print("-" * min(WIDTH, len(text)))


def parse_step() -> None:
    """Step 1: raw audit log -> canonical events."""
    from behavemodel.datasets import load_sample
    from behavemodel.io import ParseReport, read_auditd

    sample = load_sample("auditd-sample")
    assert sample.audit_logs is not None
    _title(f"1. Parse a raw audit log ({sample.audit_logs.relative_to(sample.path.parent)})")
    report = ParseReport()
    start = time.perf_counter()
    events = read_auditd(sample.audit_logs, report=report)
    assert isinstance(events, pd.DataFrame)
    took = time.perf_counter() - start
    print(
        f"{report.lines_read:,} lines -> {len(events):,} events in {took:.2f} s "
        f"({report.lines_reported} lines reported)"
    )
    counts = events["event_type"].value_counts()
    print("events by type: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    starts = events[events["event_type"] == "process_start"]
    print("a few process starts with the parent the log itself showed:")
    for row in starts.tail(3).itertuples():
        print(
            f"  {row.time:%H:%M:%S}  {safe_text(row.parent_exe, 30):<30} -> "
            f"{safe_text(row.process_cmdline, 60)}"
        )


def _print_alerts(alerts: pd.DataFrame, per_host: int = 6) -> None:
    for host, rows in alerts.sort_values("time").groupby("host_name", sort=False):
        print(f"  {safe_text(host)} ({rows['host_group'].iloc[0]}):")
        for row in rows.head(per_host).itertuples():
            print(f"    {row.time:%H:%M} {row.score:4.2f}  {safe_text(row.reason, 150)}")
        if len(rows) > per_host:
            print(f"    ... and {len(rows) - per_host} more")


def learn_and_monitor_step() -> tuple[object, object]:
    """Steps 2-4: learn the benign week, monitor the attack day, check the labels."""
    from behavemodel import BaselineDetector
    from behavemodel.datasets import load_sample

    week = load_sample("fleet-week")
    day = load_sample("attack-day")
    groups = dict(week.host_groups)
    _title(
        f"2. Learn the benign week: {week.events.num_rows:,} events from {len(groups)} hosts "
        f"in {len(set(groups.values()))} groups"
    )
    start = time.perf_counter()
    model = BaselineDetector(groups=groups).fit(week.events)
    print(f"fitted in {time.perf_counter() - start:.1f} s")
    report = model.convergence_report()
    states = report.groupby("state").size().to_dict()
    print(
        "per (group, feature): "
        + ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        + " (learning: the chance the next observation is new is still above the threshold)"
    )
    table = report.pivot(index="host_group", columns="feature", values="state")
    print(table.to_string())

    _title(f"3. Monitor the attack day: {day.events.num_rows:,} events")
    start = time.perf_counter()
    alerts = model.explain(day.events)
    took = time.perf_counter() - start
    print(f"{len(alerts)} deviations in {took:.2f} s; the first few per host:")
    _print_alerts(alerts)

    learning = report[report["state"] == "learning"]
    if len(learning):
        print()
        print(
            f"{len(learning)} (group, feature) pairs are still learning, so they do not alert. "
            "Asked to (alert_while_learning=True), they add:"
        )
        eager = model.set_params(alert_while_learning=True).explain(day.events)
        model.set_params(alert_while_learning=False)
        seen = set(zip(alerts["host_name"], alerts["feature"], alerts["key"], strict=True))
        extra = eager[
            [
                (h, f, k) not in seen
                for h, f, k in zip(eager["host_name"], eager["feature"], eager["key"], strict=True)
            ]
        ]
        _print_alerts(extra, per_host=4)

    _title("4. Check against the simulator's attack labels")
    labels = day.labels.to_pandas()
    per_event = model.explain(day.events, one_row_per="event")
    joined = per_event.merge(labels, on="event_id", how="left")
    eager = model.set_params(alert_while_learning=True).explain(day.events, one_row_per="event")
    model.set_params(alert_while_learning=False)
    eager_found = set(eager.merge(labels, on="event_id")["scenario"])
    for scenario, steps in labels.groupby("scenario"):
        hits = joined.loc[joined["scenario"] == scenario, "event_id"].nunique()
        if hits:
            found = "DETECTED"
        elif scenario in eager_found:
            found = "only by a feature still learning"
        else:
            found = "missed"
        print(f"  {scenario:<18} {hits:3d} of {len(steps):3d} events alert  {found}")
    false = joined[joined["scenario"].isna()]
    distinct = false[["host_name", "feature", "key"]].drop_duplicates().shape[0]
    print(
        f"  false alerts: {false['event_id'].nunique()} events, {distinct} distinct "
        f"(host, feature, key) over {len(groups)} hosts in one day"
    )
    return model, day


def save_step(model: object, day: object) -> None:
    """Step 5: signed, data-only model file."""
    from behavemodel.artifacts import load_artifact, save

    _title("5. Keep the model: a signed, data-only .bmz file")
    key = os.urandom(32)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fleet.bmz"
        manifest = save(model, path, key=key)  # type: ignore[arg-type]
        loaded = load_artifact(path, key=key, require_signature=True)
        same = (loaded.model.anomaly_score(day.events) == model.anomaly_score(day.events)).all()  # type: ignore[attr-defined]
        print(
            f"saved {path.name}: {path.stat().st_size / 1024:.0f} KiB, format "
            f"{manifest.format_version}, signature {loaded.signature}; "
            f"loaded copy scores the same: {bool(same)}"
        )
    print()
    print("Next: the same story from the shell (behavemodel --help):")
    print("  behavemodel parse /var/log/audit/ -o events.parquet")
    print("  behavemodel fit events.parquet -o model.bmz --key-env BEHAVEMODEL_KEY")
    print("  behavemodel score model.bmz new-events.parquet -o alerts.parquet")


def main() -> int:
    """Run the whole demo; returns the process exit code."""
    print("behavemodel demo: every event below is simulated (datasets/README.md)")
    parse_step()
    model, day = learn_and_monitor_step()
    save_step(model, day)
    return 0


if __name__ == "__main__":
    sys.exit(main())
