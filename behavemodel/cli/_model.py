"""``behavemodel fit``, ``score``, ``inspect`` and ``diff``: models as files.

Signing keys never appear on the command line (where ``ps`` and shell history
would show them): ``--key-env VAR`` names the environment variable that holds
the key.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from behavemodel.cli._common import (
    EXIT_DEVIATIONS,
    EXIT_OK,
    key_options,
    library_errors,
    progress,
    read_key,
    safe_text,
    warnings_to_stderr,
)
from behavemodel.io import SCHEMAS

__all__ = ["diff_command", "fit_command", "inspect_command", "score_command"]

#: Rows per partial_fit call: large enough that merging stays cheap, small
#: enough that memory stays flat.
_FIT_ROWS = 1_000_000
_READ_ROWS = 262_144
_SHOWN_ALERTS = 20


_JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


def _is_parquet(path: Path) -> bool:
    if path.name.endswith(".log"):
        return False
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic == b"PAR1":
        return True
    if path.suffix in (".parquet", ".pq"):
        raise ValueError(
            f"{path}: named like Parquet but it is not a Parquet file (no PAR1 magic)."
        )
    return False


def _sources(items: Sequence[str]) -> tuple[list[Path], list[Path], list[str | Path]]:
    """Split the inputs into Parquet files, JSON-lines dumps and raw audit logs."""
    parquet: list[Path] = []
    json_lines: list[Path] = []
    logs: list[str | Path] = []
    for item in items:
        if item == "-":
            logs.append(item)
            continue
        path = Path(item)
        if path.is_dir():
            files = sorted(
                f
                for f in path.rglob("*")
                if f.is_file()
                and not any(part.startswith((".", "_")) for part in f.relative_to(path).parts)
            )
            if not files:
                raise ValueError(f"{path}: the directory holds no event files.")
        else:
            files = [path]
        for file in files:
            if file.suffix.lower() in _JSON_SUFFIXES:
                json_lines.append(file)
            elif _is_parquet(file):
                parquet.append(file)
            else:
                logs.append(file)
    return parquet, json_lines, logs


def _batches(
    items: Sequence[str], host: str | None, schema_name: str = "canonical"
) -> Iterator[pa.RecordBatch]:
    """Event batches from Parquet and JSON-lines dumps (in ``schema_name``), then raw logs."""
    from behavemodel.io import iter_auditd, iter_events

    parquet, json_lines, logs = _sources(items)
    if parquet:
        yield from iter_events(
            parquet, schema=schema_name, host=host, format="parquet", batch_size=_READ_ROWS
        )
    if json_lines:
        yield from iter_events(
            json_lines, schema=schema_name, host=host, format="json", batch_size=_READ_ROWS
        )
    if logs:
        yield from iter_auditd(logs, host=host)


def _rebatch(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Group small batches into tables of about ``rows`` rows (same schema only)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if pending and (count >= rows or not batch.schema.equals(pending[0].schema)):
            yield pa.Table.from_batches(pending)
            pending, count = [], 0
        pending.append(batch)
        count += batch.num_rows
    if pending:
        yield pa.Table.from_batches(pending)


def _when(value: Any) -> str:
    if value is None:
        return "-"
    return f"{pd.Timestamp(value):%Y-%m-%d %H:%M:%S}"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _jsonable(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, (pd.Timestamp, pd.Timedelta)):
        return str(value)
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    return value


def _write_table_atomic(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _signature_line(status: str, key_id: str | None) -> str:
    return {
        "verified": f"signed, verified (HMAC-SHA256, key id {key_id})",
        "unverified": f"signed (key id {key_id}), NOT verified: no key given (--key-env)",
        "unsigned": "unsigned",
    }[status]


# -- fit --------------------------------------------------------------------------------
@click.command("fit")
@click.argument("events", nargs=-1, required=True, metavar="EVENTS...")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Model file to write (.bmz); replaced atomically.",
)
@click.option(
    "--groups",
    "groups_csv",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with columns host,group mapping hosts to server groups.",
)
@click.option("--group-column", help="Event column naming the group (default: host_group).")
@click.option("--group-regex", help="Regular expression on the host name; its first group.")
@click.option(
    "--features",
    multiple=True,
    help="Features to learn, comma separated or repeated (default: all five built-ins).",
)
@click.option(
    "--schema",
    "schema_name",
    type=click.Choice(list(SCHEMAS)),
    default="canonical",
    show_default=True,
    help="Schema of Parquet/JSON-lines inputs (raw audit logs are recognised by content).",
)
@click.option("--bucket", default="1h", show_default=True, help="De-duplication bucket width.")
@click.option(
    "--min-span", default="1D", show_default=True, help="Shortest learning time per group."
)
@click.option(
    "--novelty-threshold",
    type=click.FloatRange(0, 1),
    default=0.01,
    show_default=True,
    help="Highest estimated novelty rate of a converged (group, feature).",
)
@click.option("--max-age", help="Ignore keys not seen for this long (e.g. 30D).")
@click.option("--host", help="Host name for audit records without node=.")
@click.option(
    "--key-env",
    metavar="VAR",
    help="Sign the model with the HMAC key in this environment variable.",
)
@library_errors
def fit_command(
    events: tuple[str, ...],
    output: Path,
    groups_csv: Path | None,
    group_column: str | None,
    group_regex: str | None,
    features: tuple[str, ...],
    schema_name: str,
    bucket: str,
    min_span: str,
    novelty_threshold: float,
    max_age: str | None,
    host: str | None,
    key_env: str | None,
) -> None:
    """Learn a baseline from events and save it as a model file.

    EVENTS are canonical Parquet files, raw audit logs (plain or gzip, found by
    content), directories of either (walked; names starting with . or _ are
    skipped), or - for audit log text on standard input.

    \b
    Example:
      behavemodel fit events/ --group-regex '^([a-z]+)-' -o approved.bmz
      BEHAVEMODEL_KEY=... behavemodel fit events/ -o approved.bmz --key-env BEHAVEMODEL_KEY
    """
    from behavemodel.artifacts import save
    from behavemodel.features import GroupMap
    from behavemodel.models import BaselineDetector

    key = read_key(key_env)
    chosen = [o for o, v in [("--groups", groups_csv), ("--group-column", group_column),
                             ("--group-regex", group_regex)] if v is not None]  # fmt: skip
    if len(chosen) > 1:
        raise click.UsageError(f"{' and '.join(chosen)} are alternatives; give one of them.")
    groups = None
    if groups_csv is not None:
        groups = GroupMap.from_csv(groups_csv)
    elif group_column is not None:
        groups = GroupMap.from_column(group_column)
    elif group_regex is not None:
        groups = GroupMap.from_regex(group_regex)
    names = [n.strip() for item in features for n in item.split(",") if n.strip()] or None
    model = BaselineDetector(
        features=names,
        groups=groups,
        bucket=bucket,
        min_span=min_span,
        novelty_threshold=novelty_threshold,
        max_age=max_age,
    )
    rows = 0
    for table in _rebatch(progress(_batches(events, host, schema_name), "learning"), _FIT_ROWS):
        if table.num_rows:
            model.partial_fit(table)
            rows += table.num_rows
    if rows == 0:
        raise ValueError(
            f"no events found in {', '.join(safe_text(e) for e in events)}; a baseline needs "
            "events to learn from."
        )
    manifest = save(model, output, key=key)
    training = manifest.training
    click.echo(
        f"learned from {_plural(training['events'], 'event')} on "
        f"{_plural(training['hosts'], 'host')} in {_plural(training['host_groups'], 'group')}, "
        f"{_when(training['first_event'])} .. {_when(training['last_event'])} UTC"
    )
    _echo_convergence_summary(model.convergence_report())
    signed = f"signed with key id {manifest.key_id}" if manifest.signed else "unsigned"
    click.echo(f"wrote {safe_text(output)} ({_plural(training['keys'], 'key')}, {signed})")


def _echo_convergence_summary(report: pd.DataFrame) -> None:
    learning = report[report["state"] != "monitoring"]
    click.echo(
        f"convergence: {len(report) - len(learning)} of {len(report)} (group, feature) pairs "
        f"monitoring, {len(learning)} still learning"
    )
    for row in learning.head(_SHOWN_ALERTS).itertuples(index=False):
        click.echo(
            f"  learning  {safe_text(row.host_group, 40)}  {safe_text(row.feature, 40)}  "
            f"{safe_text(row.detail, 120)}"
        )
    if len(learning) > _SHOWN_ALERTS:
        click.echo(f"  ... and {len(learning) - _SHOWN_ALERTS} more")


# -- score ------------------------------------------------------------------------------
@click.command("score")
@click.argument(
    "model_path", metavar="MODEL.bmz", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.argument("events", nargs=-1, required=True, metavar="EVENTS...")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Alerts Parquet file to write (one row per new key on a host).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the alerts as JSON lines instead.")
@click.option("--host", help="Host name for audit records without node=.")
@click.option(
    "--schema",
    "schema_name",
    type=click.Choice(list(SCHEMAS)),
    default="canonical",
    show_default=True,
    help="Schema of Parquet/JSON-lines inputs (raw audit logs are recognised by content).",
)
@key_options
@library_errors
def score_command(
    model_path: Path,
    events: tuple[str, ...],
    output: Path,
    as_json: bool,
    host: str | None,
    schema_name: str,
    key_env: str | None,
    require_signature: bool,
) -> None:
    """Score events against a model; write the deviations as alerts.

    Exit code 1 when there are deviations, 0 when there are none, 2 on errors.

    \b
    Example:
      behavemodel score approved.bmz today.parquet -o alerts.parquet
    """
    from behavemodel.artifacts import load
    from behavemodel.models import alerts

    key = read_key(key_env)
    with warnings_to_stderr():
        model = load(model_path, key=key, require_signature=require_signature)
    parts: list[pa.Table] = []
    scored = 0
    for batch in progress(_batches(events, host, schema_name), "scoring"):
        if batch.num_rows:
            scored += batch.num_rows
            found = model.explain(batch)
            if len(found):
                rows = pa.Table.from_pandas(found, alerts.ALERT_SCHEMA, preserve_index=False)
                # Keep the alerts-v1 marker, not pandas' metadata about ArrowDtype columns.
                parts.append(rows.replace_schema_metadata(alerts.ALERT_SCHEMA.metadata))
    table = _combine_alerts(parts)
    _write_table_atomic(table, output)
    if as_json:
        for row in table.to_pylist():
            click.echo(json.dumps(_jsonable(row), ensure_ascii=True))
    else:
        hosts = len(set(table.column(alerts.HOST_NAME).to_pylist()))
        click.echo(
            f"scored {scored:,} events with {safe_text(model_path)}: {table.num_rows:,} "
            f"deviation(s) on {hosts:,} host(s); alerts written to {safe_text(output)}"
        )
        for row in table.slice(0, _SHOWN_ALERTS).to_pylist():
            click.echo(
                f"  {_when(row['time'])}  {safe_text(row['host_name'], 40)}  "
                f"{safe_text(row['host_group'], 40)}  {row['score']:.2f}  "
                f"{safe_text(row['reason'], 300)}"
            )
        if table.num_rows > _SHOWN_ALERTS:
            click.echo(f"  ... and {table.num_rows - _SHOWN_ALERTS:,} more in {safe_text(output)}")
    learning = int((model.convergence_report()["state"] != "monitoring").sum())
    if learning:
        click.echo(
            f"behavemodel: note: {learning} (group, feature) pair(s) are still learning and "
            "do not alert; see 'behavemodel inspect'.",
            err=True,
        )
    click.get_current_context().exit(EXIT_DEVIATIONS if table.num_rows else EXIT_OK)


def _combine_alerts(parts: list[pa.Table]) -> pa.Table:
    """One row per (host, group, feature, key) over all batches: first event, all counts."""
    from behavemodel.models import alerts

    if not parts:
        return alerts.ALERT_SCHEMA.empty_table()
    if len(parts) == 1:
        return parts[0]
    table = pa.concat_tables(parts).combine_chunks()
    table = table.take(pc.sort_indices(table, [(alerts.TIME, "ascending")]))  # stable
    by = [alerts.HOST_NAME, alerts.HOST_GROUP, alerts.FEATURE, alerts.KEY]
    keyed = table.select([*by, alerts.EVENTS, alerts.LAST_TIME]).append_column(
        "row", pa.array(np.arange(table.num_rows, dtype=np.int64))
    )
    combined = (
        keyed.group_by(by, use_threads=False)
        .aggregate([(alerts.EVENTS, "sum"), (alerts.LAST_TIME, "max"), ("row", "min")])
        .sort_by("row_min")
    )
    first = table.take(combined.column("row_min"))
    for name, column in ((alerts.EVENTS, "events_sum"), (alerts.LAST_TIME, "last_time_max")):
        index = first.column_names.index(name)
        values = combined.column(column).cast(first.schema.field(index).type)
        first = first.set_column(index, name, values)
    return first


# -- inspect ----------------------------------------------------------------------------
@click.command("inspect")
@click.argument(
    "model_path", metavar="MODEL.bmz", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for machines.")
@key_options
@library_errors
def inspect_command(
    model_path: Path, as_json: bool, key_env: str | None, require_signature: bool
) -> None:
    """Show what a model file holds: manifest, signature and convergence.

    Loading checks everything (checksums, names, sizes, signature); any
    refusal exits 2 with the reason.

    \b
    Example:
      behavemodel inspect approved.bmz --key-env BEHAVEMODEL_KEY --require-signature
    """
    from behavemodel.artifacts import load_artifact

    key = read_key(key_env)
    with warnings_to_stderr():
        artifact = load_artifact(model_path, key=key, require_signature=require_signature)
    manifest = artifact.manifest
    report = artifact.model.convergence_report()
    if as_json:
        document = {
            "path": str(model_path),
            "signature": artifact.signature,
            "manifest": manifest.to_dict(),
            "convergence": [_jsonable(r) for r in report.to_dict("records")],
        }
        click.echo(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True))
        return
    params = manifest.params
    config = manifest.config
    training = manifest.training
    rules = [str(r[0]) for r in config["normaliser"]["rules"]]
    rows = [
        ("format", f"behavemodel-model {manifest.format_version}"),
        ("saved by", f"behavemodel {manifest.behavemodel_version} at {manifest.created}"),
        ("model", f"{manifest.model_type} (state version {manifest.state_version})"),
        ("parameters", ", ".join(f"{k}={v}" for k, v in sorted(params.items()))),
        ("features", ", ".join(e["name"] for e in config["extractors"])),
        ("normalisation", f"{len(rules)} rule(s): {', '.join(rules) or '-'}"),
        ("groups", _describe_groups(config["groups"])),
        (
            "training",
            f"{_when(training['first_event'])} .. {_when(training['last_event'])} UTC, "
            f"{_plural(training['events'], 'event')}, {_plural(training['hosts'], 'host')}, "
            f"{_plural(training['host_groups'], 'group')}, {_plural(training['keys'], 'key')}",
        ),
    ]
    rows += [
        ("member", f"{m.name}  {m.size:,} bytes  {m.rows:,} rows  sha256 {m.sha256}")
        for m in manifest.members
    ]
    rows.append(("signature", _signature_line(artifact.signature, manifest.key_id)))
    click.echo(safe_text(model_path))
    for label, text in rows:
        click.echo(f"  {label:<14} {safe_text(text, 400)}")
    click.echo("convergence:")
    _echo_report(report)


def _describe_groups(groups: dict[str, Any]) -> str:
    parts = []
    if groups.get("mapping"):
        parts.append(f"mapping of {len(groups['mapping'])} hosts")
    if groups.get("pattern"):
        parts.append(f"regex {groups['pattern']!r} on the host name")
    if groups.get("column"):
        parts.append(f"column {groups['column']!r}")
    parts.append("the host name")
    return ", then ".join(parts)


def _echo_report(report: pd.DataFrame) -> None:
    columns = [
        "host_group",
        "feature",
        "observations",
        "distinct_keys",
        "novelty_rate",
        "span",
        "state",
        "detail",
    ]
    shown = [c for c in columns if c in report.columns]
    cells = [[safe_text(_cell(row[c]), 60) for c in shown] for _, row in report.iterrows()]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(shown)]
    click.echo("  " + "  ".join(c.ljust(w) for c, w in zip(shown, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "-" if value != value else f"{value:.4g}"
    if isinstance(value, pd.Timedelta):
        return str(value).replace(" 00:00:00", "")
    return str(value)


# -- diff -------------------------------------------------------------------------------
@click.command("diff")
@click.argument(
    "approved",
    metavar="APPROVED.bmz",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.argument(
    "candidate",
    metavar="CANDIDATE.bmz",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--fail-on-new",
    is_flag=True,
    help="Exit 1 when the candidate has any key the approved baseline lacks.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for machines.")
@key_options
@library_errors
def diff_command(
    approved: Path,
    candidate: Path,
    fail_on_new: bool,
    as_json: bool,
    key_env: str | None,
    require_signature: bool,
) -> None:
    """List what CANDIDATE has learned that APPROVED lacks, and the reverse.

    With --fail-on-new this is a CI gate: a release that makes a new binary
    talk to the network, run as a new user or spawn a new child fails it.

    \b
    Example:
      behavemodel diff approved.bmz candidate.bmz --fail-on-new
    """
    from behavemodel.artifacts import diff

    key = read_key(key_env)
    with warnings_to_stderr():
        result = diff(approved, candidate, key=key, require_signature=require_signature)
    if as_json:
        document = {"approved": str(approved), "candidate": str(candidate), **result.to_dict()}
        click.echo(json.dumps(_jsonable(document), indent=2, sort_keys=True, ensure_ascii=True))
    else:
        click.echo(f"approved:  {safe_text(approved)}")
        click.echo(f"candidate: {safe_text(candidate)}")
        for line in result.settings:
            click.echo(f"! setting  {safe_text(line, 300)}")
        for row in result.changes.itertuples(index=False):
            sign = "+" if row.change == "added" else "-"
            click.echo(
                f"{sign} {safe_text(row.host_group, 40)}  {safe_text(row.feature, 40)}  "
                f"{safe_text(row.key, 300)}  ({int(row.observations):,} observations on "
                f"{int(row.hosts):,} host(s), last {_when(row.last_time)})"
            )
        changed = result.summary[(result.summary["added"] > 0) | (result.summary["removed"] > 0)]
        click.echo(
            f"{result.added:,} added, {result.removed:,} removed in {len(changed):,} "
            f"(group, feature) pair(s)"
        )
    if fail_on_new and result.has_additions:
        if not as_json:
            click.echo(
                "behavemodel: the candidate baseline adds keys the approved one lacks "
                "(--fail-on-new).",
                err=True,
            )
        click.get_current_context().exit(EXIT_DEVIATIONS)
