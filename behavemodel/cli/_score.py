"""``behavemodel score``: score events against a model, write the deviations as alerts."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path

import click
import numpy as np
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
from behavemodel.cli._inputs import event_batches, parquet_rows, split_inputs
from behavemodel.cli._text import jsonable, when
from behavemodel.io import SCHEMAS

__all__ = ["score_command"]

#: Alerts printed; the rest are in the output file.
_SHOWN_ALERTS = 20


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
    from behavemodel.scoring._score import loops_for

    key = read_key(key_env)
    # a small dump in this fresh process: the numpy loops, not numba's start-up
    inputs = split_inputs(events)  # an empty directory or a misnamed file: refused here
    dump_rows = parquet_rows(inputs)
    parts: list[pa.Table] = []
    scored = 0
    with loops_for(dump_rows):
        with warnings_to_stderr():
            model = load(model_path, key=key, require_signature=require_signature)
        for batch in progress(event_batches(inputs, host, schema_name), "scoring"):
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
            click.echo(json.dumps(jsonable(row), ensure_ascii=True))
    else:
        hosts = len(set(table.column(alerts.HOST_NAME).to_pylist()))
        click.echo(
            f"scored {scored:,} events with {safe_text(model_path)}: {table.num_rows:,} "
            f"deviation(s) on {hosts:,} host(s); alerts written to {safe_text(output)}"
        )
        for row in table.slice(0, _SHOWN_ALERTS).to_pylist():
            click.echo(
                f"  {when(row['time'])}  {safe_text(row['host_name'], 40)}  "
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


def _write_table_atomic(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
