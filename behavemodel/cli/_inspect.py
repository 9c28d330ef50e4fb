"""``behavemodel inspect`` and ``diff``: what model files hold, and how two differ.

Loading checks everything a model file claims (checksums, member names, sizes,
signature) before anything is shown.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pandas as pd

from behavemodel.cli._common import (
    EXIT_DEVIATIONS,
    key_options,
    library_errors,
    read_key,
    safe_text,
    warnings_to_stderr,
)
from behavemodel.cli._text import jsonable, plural, when

__all__ = ["diff_command", "inspect_command"]


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
            "convergence": [jsonable(r) for r in report.to_dict("records")],
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
            f"{when(training['first_event'])} .. {when(training['last_event'])} UTC, "
            f"{plural(training['events'], 'event')}, {plural(training['hosts'], 'host')}, "
            f"{plural(training['host_groups'], 'group')}, {plural(training['keys'], 'key')}",
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


def _signature_line(status: str, key_id: str | None) -> str:
    return {
        "verified": f"signed, verified (HMAC-SHA256, key id {key_id})",
        "unverified": f"signed (key id {key_id}), NOT verified: no key given (--key-env)",
        "unsigned": "unsigned",
    }[status]


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
        click.echo(json.dumps(jsonable(document), indent=2, sort_keys=True, ensure_ascii=True))
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
                f"{int(row.hosts):,} host(s), last {when(row.last_time)})"
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
