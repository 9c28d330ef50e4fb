"""``behavemodel simulate``: a simulated fleet with labelled attacks, written to files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from behavemodel.cli._common import library_errors, safe_text

__all__ = ["simulate_command"]


def _names(values: tuple[str, ...]) -> list[str]:
    """Repeated or comma-separated option values, in order, without blanks."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@click.command("simulate")
@click.option(
    "--groups",
    "groups",
    multiple=True,
    help="Server groups, comma separated or repeated (default: web, db, worker, bastion, "
    "monitoring, cache).",
)
@click.option("--hosts-per-group", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--days", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="Simulated days.")  # fmt: skip
@click.option("--start", default="2024-03-04T00:00:00Z", show_default=True,
              help="Start time (UTC).")  # fmt: skip
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    help="Attack scenario to inject at a random time of the last day, repeated or comma "
    "separated; 'all' injects every one (shellshock, reverse_shell, unknown_binary, "
    "app_dir_tamper, unexpected_user, lateral_movement).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same files.")
@click.option("--activity", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="Scale of the benign activity.")  # fmt: skip
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for events.parquet, labels.parquet and host_groups.csv.",
)
@click.option(
    "--audit-logs",
    is_flag=True,
    help="Also write raw ENRICHED audit logs, one per host (audit/HOST/audit.log).",
)
@library_errors
def simulate_command(
    groups: tuple[str, ...],
    hosts_per_group: int,
    days: float,
    start: str,
    scenarios: tuple[str, ...],
    seed: int,
    activity: float,
    output: Path,
    audit_logs: bool,
) -> None:
    """Simulate a fleet's syscall events, with labelled attacks, into files.

    The events follow the canonical schema; labels.parquet names the attack
    scenario and step of every event an attack caused. Memory stays bounded, so
    months of a large fleet can be written.

    \b
    Example:
      behavemodel simulate --hosts-per-group 3 --days 8 --scenario all -o fleet/
    """
    from tqdm import tqdm

    from behavemodel.datasets import DEFAULT_GROUPS, simulate_fleet_to_parquet

    wanted = _names(scenarios)
    chosen: Any = "all" if wanted == ["all"] else wanted
    with tqdm(desc="simulating", unit=" events", disable=not sys.stderr.isatty(),
              leave=False) as bar:  # fmt: skip

        def progress(events_so_far: int, until: Any) -> None:
            bar.update(events_so_far - bar.n)

        result = simulate_fleet_to_parquet(
            output,
            groups=_names(groups) or DEFAULT_GROUPS,
            hosts_per_group=hosts_per_group,
            days=days,
            start=start,
            scenarios=chosen,
            seed=seed,
            activity=activity,
            audit_logs=audit_logs,
            progress=progress,
        )
    click.echo(
        f"wrote {result.n_events:,} events ({result.n_labels:,} labelled) to "
        f"{safe_text(result.events_path)}"
    )
    click.echo(f"labels: {safe_text(result.labels_path)}")
    click.echo(f"host groups: {safe_text(result.host_groups_path)}")
    if result.audit_log_paths:
        click.echo(f"raw audit logs: {len(result.audit_log_paths)} under {safe_text(output)}")
