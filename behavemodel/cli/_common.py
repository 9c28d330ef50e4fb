"""Shared pieces of the CLI: exit codes, error handling, safe terminal text."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any, TypeVar

import click
import pyarrow as pa

from behavemodel.exceptions import BehaveModelError

__all__ = [
    "EXIT_DEVIATIONS",
    "EXIT_ERROR",
    "EXIT_OK",
    "fail",
    "library_errors",
    "progress",
    "safe_text",
]

EXIT_OK, EXIT_DEVIATIONS, EXIT_ERROR = 0, 1, 2

F = TypeVar("F", bound=Callable[..., Any])


def safe_text(value: object, limit: int = 200) -> str:
    """Render a value from the data for a terminal: no control characters.

    Examples
    --------
    >>> safe_text("web-01")
    'web-01'
    >>> safe_text("evil\\x1b[2J\\nfake line")
    'evil\\\\x1b[2J\\\\nfake line'
    """
    text = str(value)
    out = []
    for ch in text:
        if ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    rendered = "".join(out)
    return rendered if len(rendered) <= limit else rendered[: limit - 1] + "…"


def fail(message: str) -> None:
    click.echo(f"behavemodel: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def library_errors(func: F) -> F:
    """Turn library and input errors into one line on stderr and exit code 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (BehaveModelError, ValueError, OSError) as exc:
            fail(safe_text(exc, limit=2000))

    return wrapper  # type: ignore[return-value]


def progress(items: Iterator[pa.RecordBatch], what: str) -> Iterator[pa.RecordBatch]:
    """A tqdm bar of events on stderr when it is a terminal."""
    from tqdm import tqdm

    with tqdm(desc=what, unit=" events", disable=not sys.stderr.isatty(), leave=False) as bar:
        for batch in items:
            bar.update(batch.num_rows)
            yield batch
