"""``behavemodel parse``: raw audit logs to canonical Parquet."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel.cli._common import library_errors, progress, safe_text

__all__ = ["parse_command"]


@click.command("parse")
@click.argument("audit_logs", nargs=-1, required=True, metavar="AUDIT_LOG...")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Canonical events Parquet file to write.",
)
@click.option(
    "--host", help="Host name for records without node= (never taken from this machine)."
)
@click.option(
    "--on-error",
    type=click.Choice(["raise", "skip", "collect"]),
    default="raise",
    show_default=True,
    help="What to do with lines that cannot be parsed.",
)
@click.option(
    "--errors",
    "errors_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write unparsable lines as JSON lines (file, line, reason, text); "
    "implies --on-error collect.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes that parse large uncompressed logs, this one included (1: no workers).",
)
@click.option(
    "--users",
    "users_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="uid->name map for logs without ENRICHED names: a "
    "passwd-format file or a CSV with columns uid,name.",
)
@library_errors
def parse_command(
    audit_logs: tuple[str, ...],
    output: Path,
    host: str | None,
    on_error: str,
    errors_path: Path | None,
    jobs: int,
    users_path: Path | None,
) -> None:
    """Parse raw Linux audit logs into canonical Parquet events.

    AUDIT_LOG is a file (plain or gzip), a directory (read recursively;
    rotated audit.log.N files oldest first) or - for standard input.

    \b
    Example:
      behavemodel parse /var/log/audit/ -o events.parquet --errors bad-lines.jsonl
    """
    from behavemodel.io import ParseReport, iter_auditd, write_events

    if errors_path is not None:
        on_error = "collect"
    users = _read_users(users_path) if users_path else None
    report = ParseReport()
    summary = _Summary()
    batches = iter_auditd(
        list(audit_logs), host=host, on_error=on_error, jobs=jobs, users=users,  # type: ignore[arg-type]
        report=report,
    )  # fmt: skip
    write_events(summary.watch(progress(batches, "parsing")), output)
    if errors_path is not None:
        with open(errors_path, "w", encoding="utf-8") as fh:
            for e in report.errors:
                record = {"file": e.file, "line": e.line, "reason": e.reason, "text": e.text}
                fh.write(json.dumps(record) + "\n")
    click.echo(f"wrote {report.events:,} events to {safe_text(output)}")
    summary.print()
    click.echo(
        f"lines: {report.lines_read:,} read = {report.records:,} records + "
        f"{report.blank_lines + report.comment_lines:,} blank/comment + "
        f"{report.lines_reported:,} reported"
    )
    if report.lines_reported and errors_path is not None:
        click.echo(f"unparsable lines written to {safe_text(errors_path)}")


def _read_users(path: Path) -> dict[int, str]:
    users: dict[int, str] = {}
    text = path.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#") or line.lower().startswith("uid,"):
            continue
        parts = line.split(":") if ":" in line else line.split(",")
        try:
            if ":" in line:  # passwd: name:x:uid:...
                users[int(parts[2])] = parts[0]
            else:
                users[int(parts[0])] = parts[1]
        except (IndexError, ValueError):
            raise ValueError(
                f"{path}:{number}: expected 'name:x:uid:...' (passwd) or 'uid,name', "
                f"got {safe_text(line)!r}"
            ) from None
    return users


class _Summary:
    """Counts by event type and host, and the time span, while batches stream past."""

    def __init__(self) -> None:
        self.by_type: dict[str, int] = {}
        self.by_host: dict[str, int] = {}
        self.first: Any = None
        self.last: Any = None

    def watch(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            self._count(batch, "event_type", self.by_type)
            self._count(batch, "host_name", self.by_host)
            if batch.num_rows:
                lo, hi = pc.min_max(batch.column("time")).values()
                self.first = lo.as_py() if self.first is None else min(self.first, lo.as_py())
                self.last = hi.as_py() if self.last is None else max(self.last, hi.as_py())
            yield batch

    @staticmethod
    def _count(batch: pa.RecordBatch, column: str, into: dict[str, int]) -> None:
        counts = pc.value_counts(batch.column(column))
        for item in counts.to_pylist():
            key = "(unknown)" if item["values"] is None else str(item["values"])
            into[key] = into.get(key, 0) + item["counts"]

    def print(self) -> None:
        if self.first is not None:
            click.echo(
                f"time span: {self.first:%Y-%m-%d %H:%M:%S} .. {self.last:%Y-%m-%d %H:%M:%S} UTC"
            )
        if self.by_type:
            click.echo("events by type:")
            for key, count in sorted(self.by_type.items(), key=lambda kv: -kv[1]):
                click.echo(f"  {safe_text(key):<16} {count:>10,}")
        if self.by_host:
            hosts = sorted(self.by_host.items(), key=lambda kv: -kv[1])
            click.echo(f"hosts: {len(hosts)}")
            for key, count in hosts[:10]:
                click.echo(f"  {safe_text(key, 60):<30} {count:>10,}")
            if len(hosts) > 10:
                click.echo(f"  ... and {len(hosts) - 10} more")
