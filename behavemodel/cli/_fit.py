"""``behavemodel fit``: learn a baseline from events and save it as a model file.

Signing keys never appear on the command line (where ``ps`` and shell history
would show them): ``--key-env VAR`` names the environment variable that holds
the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pandas as pd

from behavemodel.cli import _inputs
from behavemodel.cli._common import (
    library_errors,
    progress,
    read_key,
    safe_text,
)
from behavemodel.cli._inputs import event_batches, split_inputs
from behavemodel.cli._text import plural, when
from behavemodel.io import SCHEMAS

__all__ = ["fit_command"]

#: Still-learning (group, feature) pairs listed after fitting.
_SHOWN_PAIRS = 20


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
    from behavemodel.models import BaselineDetector, NoEventsError
    from behavemodel.scoring import fit_parquet

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
    inputs = split_inputs(events)
    source: Any
    if inputs.logs or host is not None:  # audit logs (or a host to fill in): canonical batches
        source = progress(event_batches(inputs, host, schema_name), "learning")
    else:  # dumps: fit_parquet reads only the columns the features need
        source = [*inputs.parquet, *inputs.json_lines]
    try:
        fit_parquet(model, source, schema=schema_name, batch_size=_inputs._READ_ROWS)
    except NoEventsError:
        raise ValueError(
            f"no events found in {', '.join(safe_text(e) for e in events)}; a baseline needs "
            "events to learn from."
        ) from None
    manifest = save(model, output, key=key)
    training = manifest.training
    click.echo(
        f"learned from {plural(training['events'], 'event')} on "
        f"{plural(training['hosts'], 'host')} in {plural(training['host_groups'], 'group')}, "
        f"{when(training['first_event'])} .. {when(training['last_event'])} UTC"
    )
    _echo_convergence_summary(model.convergence_report())
    signed = f"signed with key id {manifest.key_id}" if manifest.signed else "unsigned"
    click.echo(f"wrote {safe_text(output)} ({plural(training['keys'], 'key')}, {signed})")


def _echo_convergence_summary(report: pd.DataFrame) -> None:
    learning = report[report["state"] != "monitoring"]
    click.echo(
        f"convergence: {len(report) - len(learning)} of {len(report)} (group, feature) pairs "
        f"monitoring, {len(learning)} still learning"
    )
    for row in learning.head(_SHOWN_PAIRS).itertuples(index=False):
        click.echo(
            f"  learning  {safe_text(row.host_group, 40)}  {safe_text(row.feature, 40)}  "
            f"{safe_text(row.detail, 120)}"
        )
    if len(learning) > _SHOWN_PAIRS:
        click.echo(f"  ... and {len(learning) - _SHOWN_PAIRS} more")
