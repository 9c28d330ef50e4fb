"""``behavemodel ancestry | timeline | connections``: answer a responder's next questions.

EVENTS are canonical Parquet files or directories of them, or raw audit logs
(files or directories); a file starting with the Parquet magic ``PAR1`` is
Parquet, anything else is read with :func:`behavemodel.io.read_auditd`.
Results print as readable text, or go to ``-o`` as Parquet (``.parquet``) or
JSON (``.json``: one array, ``.jsonl``: one object per line).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from behavemodel import schema
from behavemodel.cli._common import library_errors, safe_text

__all__ = ["ancestry_command", "connections_command", "read_events", "timeline_command"]

_EVENTS = click.argument(
    "events",
    nargs=-1,
    required=True,
    metavar="EVENTS...",
    type=click.Path(exists=True, path_type=Path),
)
_OUTPUT = click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the rows to a .parquet, .json or .jsonl file instead of printing them.",
)
_FORMATS = (".parquet", ".json", ".jsonl")


def _is_parquet(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PAR1"


def read_events(paths: Sequence[Path]) -> pa.Table:
    """Canonical events from Parquet files/directories and raw audit logs, concatenated."""
    from behavemodel.io import read_auditd

    tables: list[pa.Table] = []
    for path in paths:
        if path.is_dir():
            parquet = sorted(p for p in path.rglob("*") if p.is_file() and _is_parquet(p))
            if parquet:
                tables += [schema.conform(pq.read_table(p), fill_missing=True) for p in parquet]
                continue
            frame = read_auditd(str(path))
        elif _is_parquet(path):
            tables.append(schema.conform(pq.read_table(path), fill_missing=True))
            continue
        else:
            frame = read_auditd(str(path))
        assert isinstance(frame, pd.DataFrame)
        tables.append(schema.conform(frame, fill_missing=True))
    if not tables:
        return schema.empty_table()
    return pa.concat_tables(tables, promote_options="permissive").combine_chunks()


def _json_value(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return str(value)


def _check_output(output: Path | None) -> None:
    if output is not None and output.suffix.lower() not in _FORMATS:
        raise click.BadParameter(
            f"the output file must end in {', '.join(_FORMATS)}; got {safe_text(output.name)!r}",
            param_hint="'-o' / '--output'",
        )


def _write(frame: pd.DataFrame, output: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    suffix = output.suffix.lower()
    if suffix == ".parquet":
        pq.write_table(table, output)
        return
    rows = table.to_pylist()
    with open(output, "w", encoding="utf-8") as fh:
        if suffix == ".jsonl":
            for row in rows:
                fh.write(json.dumps(row, default=_json_value) + "\n")
        else:
            json.dump(rows, fh, default=_json_value, indent=1)
            fh.write("\n")


def _finish(frame: pd.DataFrame, output: Path | None, text: str, what: str) -> None:
    if output is None:
        click.echo(text)
        return
    _write(frame, output)
    click.echo(f"wrote {len(frame):,} {what} to {safe_text(output)}")


def _cell(value: object) -> str:
    return safe_text(value, limit=160)


@click.command("ancestry")
@_EVENTS
@click.option(
    "--event-id",
    "event_ids",
    multiple=True,
    required=True,
    help="Event to explain (repeat for several): its event_id, e.g. web-01:1709517631.156:2722.",
)
@click.option(
    "--max-depth",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="Most processes per chain.",
)
@_OUTPUT
@library_errors
def ancestry_command(
    events: tuple[Path, ...], event_ids: tuple[str, ...], max_depth: int, output: Path | None
) -> None:
    """Show which processes led to an event: its process, its parent, and so on up.

    \b
    Example:
      behavemodel ancestry events.parquet --event-id mon-01:1709517631.156:2722
    """
    from behavemodel.investigate import AncestryReport, ancestry

    _check_output(output)
    frame = ancestry(read_events(events), list(event_ids), max_depth=max_depth)
    _finish(frame, output, AncestryReport(frame).to_text(cell=_cell), "rows")


@click.command("timeline")
@_EVENTS
@click.option("--host", help="Only sessions on this host.")
@click.option("--login", help="Only sessions of this login name or uid.")
@click.option("--session", type=int, help="Only sessions with this audit session id (ses).")
@click.option(
    "--list", "list_only", is_flag=True, help="One summary line per session instead of events."
)
@click.option(
    "--all", "show_all", is_flag=True, help="Also print PAM and LOGIN bookkeeping records."
)
@_OUTPUT
@library_errors
def timeline_command(
    events: tuple[Path, ...],
    host: str | None,
    login: str | None,
    session: int | None,
    list_only: bool,
    show_all: bool,
    output: Path | None,
) -> None:
    """Show what logged-in users did, in order, one block per login session.

    Commands run through sudo stay in the session that ran sudo.

    \b
    Example:
      behavemodel timeline events.parquet --host db-02 --login deploy
    """
    from behavemodel.investigate import TimelineReport, list_sessions, session_timeline

    _check_output(output)
    table = read_events(events)
    sessions = list_sessions(table, host=host, login=login, session=session)
    if list_only:
        _finish(sessions, output, _session_lines(sessions), "sessions")
        return
    rows = session_timeline(table, host=host, login=login, session=session)
    report = TimelineReport(rows, sessions, show_all=show_all)
    _finish(rows, output, report.to_text(cell=_cell), "rows")


def _session_lines(sessions: pd.DataFrame) -> str:
    from behavemodel.investigate._common import clock, format_rows

    if sessions.empty:
        return "no matching login sessions"

    def show(value: object) -> str:
        return "" if value is None or pd.isna(value) else _cell(value)  # type: ignore[arg-type]

    rows = [["session", "login", "tty", "from", "start", "end", "commands", "connections"]]
    for s in sessions.itertuples(index=False):
        rows.append(
            [
                show(s.session),
                show(s.login_name) or show(s.login_uid),
                show(s.tty),
                show(s.source_ip),
                clock(int(pd.Timestamp(s.start).value // 1000), date=True),
                clock(int(pd.Timestamp(s.end).value // 1000)),
                str(s.commands),
                str(s.connections),
            ]
        )
    return "\n".join(format_rows(rows))


def _read_addresses(path: Path) -> dict[str, list[str]]:
    """host,ip lines (CSV or whitespace separated; # comments; an optional header)."""
    found: dict[str, list[str]] = {}
    text = path.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#") or line.lower().replace(" ", "") in ("host,ip",):
            continue
        parts = [p for p in line.replace(",", " ").split() if p]
        if len(parts) != 2:
            raise ValueError(
                f"{path}:{number}: expected 'host,ip' (one address per line), got "
                f"{safe_text(line)!r}"
            )
        found.setdefault(parts[0], []).append(parts[1])
    return found


@click.command("connections")
@_EVENTS
@click.option("--from-host", help="Only paths with a connection leaving this host.")
@click.option(
    "--host-addresses",
    "addresses_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Known host addresses: 'host,ip' lines. Others are inferred from the events.",
)
@click.option("--window", default="2s", show_default=True, help="Connect/accept time tolerance.")
@click.option(
    "--max-skew", default="10s", show_default=True, help="Largest clock offset looked for."
)
@click.option(
    "--min-hops", type=click.IntRange(min=1), default=1, show_default=True,
    help="Only paths with at least this many hops (2: connections across ssh sessions).",
)  # fmt: skip
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(
        ["matched", "outside_fleet", "not_accepted", "failed", "from_outside", "not_connected"]
    ),
    help="Only connections with this status (repeatable).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="Most paths to print (0: all). -o writes every row.",
)
@click.option("--addresses", "show_addresses", is_flag=True, help="Print the host address map.")
@_OUTPUT
@library_errors
def connections_command(
    events: tuple[Path, ...],
    from_host: str | None,
    addresses_path: Path | None,
    window: str,
    max_skew: str,
    min_hops: int,
    statuses: tuple[str, ...],
    limit: int,
    show_addresses: bool,
    output: Path | None,
) -> None:
    """Pair connects with the accepts they caused on other hosts, following ssh hops.

    Each path starts where a connection entered the fleet (or at the first
    connect) and continues through the login sessions it opened: a path
    bastion-01 -> web-01 -> db-02 shows both hops and who made them.

    \b
    Example:
      behavemodel connections events.parquet --from-host bastion-01 --min-hops 2
    """
    from behavemodel.investigate import ConnectionReport, infer_host_addresses, match_connections

    _check_output(output)
    table = read_events(events)
    given = _read_addresses(addresses_path) if addresses_path else None
    found = match_connections(table, window=window, max_skew=max_skew, host_addresses=given)
    keep = pd.Series(True, index=found.index)
    if from_host is not None:
        leaving = found["src_host"].eq(from_host).fillna(False) & found["src_event_id"].notna()
        keep &= found["path_id"].isin(found.loc[leaving, "path_id"])
    if min_hops > 1:
        deep = found.groupby("path_id")["hop"].transform("max")
        keep &= deep >= min_hops
    if statuses:
        keep &= found["status"].isin(statuses)
    found = found[keep.to_numpy(bool)].reset_index(drop=True)
    addresses = None
    if show_addresses:
        addresses = infer_host_addresses(
            table, window=window, max_skew=max_skew, host_addresses=given
        )
    report = ConnectionReport(found, addresses, limit=limit or None)
    _finish(found, output, report.to_text(cell=_cell), "connections")
