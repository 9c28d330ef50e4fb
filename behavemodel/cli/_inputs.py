"""Where the model commands' events come from: Parquet, JSON lines and raw audit logs.

``fit`` and ``score`` take the same inputs: canonical or mapped Parquet files,
JSON-lines dumps, raw audit logs (plain or gzip, recognised by content),
directories of any of them, or ``-`` for audit log text on standard input.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa

__all__ = ["Inputs", "event_batches", "parquet_rows", "split_inputs"]

#: Rows per batch read from Parquet and JSON lines.
_READ_ROWS = 262_144
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


class Inputs(NamedTuple):
    """A command's inputs by kind (:func:`split_inputs`)."""

    parquet: list[Path]
    json_lines: list[Path]
    logs: list[str | Path]


def split_inputs(items: Sequence[str]) -> Inputs:
    """Split the inputs into Parquet files, JSON-lines dumps and raw audit logs.

    Directories are walked (names starting with ``.`` or ``_`` skipped); a file
    is Parquet by its magic bytes, JSON lines by its suffix, anything else a raw
    audit log; ``-`` is audit log text on standard input.

    Examples
    --------
    >>> from behavemodel.cli._inputs import split_inputs
    >>> split_inputs(["-"])
    Inputs(parquet=[], json_lines=[], logs=['-'])
    """
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
    return Inputs(parquet, json_lines, logs)


def parquet_rows(inputs: Inputs) -> int | None:
    """The events of ``inputs`` when they are all Parquet (from the footers), else None.

    None too when a footer cannot be read: the reader then reports the file.

    Examples
    --------
    >>> from behavemodel.cli._inputs import parquet_rows, split_inputs
    >>> parquet_rows(split_inputs(["-"])) is None  # audit log text: unknown before it is read
    True
    """
    import pyarrow.parquet as pq

    if inputs.json_lines or inputs.logs:
        return None
    try:
        return sum(pq.read_metadata(path).num_rows for path in inputs.parquet)
    except (OSError, pa.ArrowException):
        return None


def event_batches(
    inputs: Inputs, host: str | None, schema_name: str = "canonical"
) -> Iterator[pa.RecordBatch]:
    """Event batches from Parquet and JSON-lines dumps (in ``schema_name``), then raw logs.

    Parameters
    ----------
    inputs : Inputs
        The command's inputs, as :func:`split_inputs` found them.
    host : str, optional
        Host name for audit records without ``node=`` (and for dumps without one).
    schema_name : str, default "canonical"
        Schema of the Parquet and JSON-lines inputs (see ``behavemodel.io.SCHEMAS``).

    Yields
    ------
    pyarrow.RecordBatch
        Canonical event batches.

    """
    from behavemodel.io import iter_auditd, iter_events

    parquet, json_lines, logs = inputs
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
