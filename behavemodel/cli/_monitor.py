"""``behavemodel monitor``: watch a live audit log with a saved model."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import click

from behavemodel.cli._common import (
    EXIT_DEVIATIONS,
    EXIT_OK,
    key_options,
    library_errors,
    read_key,
    safe_text,
    warnings_to_stderr,
)

__all__ = ["monitor_command"]


def _report(message: str) -> None:
    click.echo(f"behavemodel: monitor: {safe_text(message, limit=2000)}", err=True)


@click.command("monitor")
@click.option(
    "--model",
    "model_path",
    metavar="MODEL.bmz",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The model to score with (rewritten atomically with --learn).",
)
@click.option(
    "--follow",
    metavar="LOG",
    required=True,
    help="Audit log to follow like tail -F (rotation by rename or copytruncate); "
    "- reads standard input until it ends.",
)
@click.option(
    "--host",
    help="Host name for records without node= (default: this machine's name). Only names "
    "records; nothing is looked up on this machine.",
)
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    help="State file: a restart (even after kill -9) neither loses nor repeats an event.",
)
@click.option(
    "--alerts",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append alerts (JSON lines) to this file instead of standard output.",
)
@click.option(
    "--on-alert",
    metavar="CMD",
    help="Run CMD for every alert with the alert's JSON on standard input. CMD is split "
    "like a shell would (shlex) but never run by a shell; event text is never an argument.",
)
@click.option(
    "--hook-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds an --on-alert run may take before it is killed.",
)
@click.option(
    "--learn",
    is_flag=True,
    help="Pairs of (group, feature) still learning keep learning; the model file is "
    "replaced atomically every --save-interval seconds.",
)
@click.option(
    "--save-interval",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds between model saves with --learn.",
)
@click.option(
    "--start",
    type=click.Choice(["end", "beginning"]),
    default="end",
    show_default=True,
    help="Where to start in LOG when there is no checkpoint yet.",
)
@click.option(
    "--poll",
    "poll_interval",
    type=click.FloatRange(min=0, min_open=True),
    default=0.5,
    show_default=True,
    help="Seconds between reads of LOG.",
)
@click.option(
    "--checkpoint-interval",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    help="Seconds between checkpoints.",
)
@key_options
@library_errors
def monitor_command(
    model_path: Path,
    follow: str,
    host: str | None,
    checkpoint: Path | None,
    alerts: Path | None,
    on_alert: str | None,
    hook_timeout: float,
    learn: bool,
    save_interval: float,
    start: str,
    poll_interval: float,
    checkpoint_interval: float,
    key_env: str | None,
    require_signature: bool,
) -> None:
    """Follow a live audit log and write one JSON line per deviation.

    Alerts (the fields of 'behavemodel score --json') go to standard output or
    --alerts within about a second of the event being written. Messages about
    rotations, malformed lines and failing hooks go to standard error. SIGTERM
    or SIGINT stop it cleanly after a last checkpoint.

    Exit codes: 0 stopped by a signal, or the input ended without deviations;
    1 the input (--follow -) ended and deviations were found; 2 usage or input
    error.

    \b
    Examples:
      behavemodel monitor --model approved.bmz --follow /var/log/audit/audit.log \\
          --checkpoint /var/lib/behavemodel/state.json --alerts /var/log/behavemodel.jsonl
      behavemodel monitor --model approved.bmz --follow /var/log/audit/audit.log \\
          --on-alert '/usr/local/bin/page-oncall --team secops'
    """
    from behavemodel.artifacts import load_artifact
    from behavemodel.monitor import Monitor

    key = read_key(key_env)
    if checkpoint is not None and follow == "-":
        raise click.UsageError(
            "--checkpoint needs a file to follow: standard input cannot be re-read after a "
            "restart."
        )
    with warnings_to_stderr():
        artifact = load_artifact(model_path, key=key, require_signature=require_signature)
    if learn and artifact.signature == "unverified":
        raise click.UsageError(
            "--learn rewrites the model file, and it is signed: give the key with --key-env so "
            "the updated model is signed too."
        )
    monitor = Monitor(
        artifact.model,
        follow,
        alerts=alerts,
        checkpoint=checkpoint,
        host=host if host is not None else socket.gethostname(),
        on_alert=on_alert,
        hook_timeout=hook_timeout,
        hide_env=(key_env,) if key_env else (),
        learn=learn,
        model_path=model_path,
        key=key if artifact.signature == "verified" else None,
        start=start,  # type: ignore[arg-type]
        poll_interval=poll_interval,
        checkpoint_interval=checkpoint_interval,
        save_interval=save_interval,
        report=_report,
        stdout=sys.stdout.buffer,
        stdin=sys.stdin.buffer,
    )
    stats = monitor.run(handle_signals=True)
    _report(f"stopped: {stats.summary()}")
    ended = follow == "-"
    click.get_current_context().exit(EXIT_DEVIATIONS if ended and stats.alerts else EXIT_OK)
