"""Shared pieces of the CLI: exit codes, error handling, safe terminal text."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import warnings
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
    "key_options",
    "library_errors",
    "progress",
    "read_key",
    "safe_text",
    "warnings_to_stderr",
]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

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


def key_options(func: Any) -> Any:
    """``--key-env VAR`` and ``--require-signature``, for commands that read model files."""
    func = click.option(
        "--require-signature",
        is_flag=True,
        help="Refuse model files that are not signed and verified with the key.",
    )(func)
    return click.option(
        "--key-env",
        metavar="VAR",
        help="Environment variable holding the HMAC signing key (never pass the key "
        "itself as an argument).",
    )(func)


def read_key(var: str | None) -> bytes | None:
    """The signing key from the environment variable ``--key-env`` names (never argv)."""
    if var is None:
        return None
    if not _ENV_NAME.match(var):
        # Do not echo the value: it may be the key itself, given by mistake.
        raise click.UsageError(
            "--key-env takes the NAME of an environment variable (such as BEHAVEMODEL_KEY) "
            "that holds the key, not the key itself."
        )
    value = os.environ.get(var)
    if not value:
        raise click.UsageError(
            f"the environment variable {var} named by --key-env is not set or is empty."
        )
    return value.encode("utf-8")


@contextlib.contextmanager
def warnings_to_stderr() -> Iterator[None]:
    """Show library warnings as one line each on stderr, not Python's warning format."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for item in caught:
        click.echo(f"behavemodel: warning: {safe_text(item.message, limit=2000)}", err=True)
