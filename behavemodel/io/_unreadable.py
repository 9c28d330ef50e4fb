"""Arrow's errors for a damaged Parquet file, as a :class:`ParseError` naming the file."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pyarrow as pa

from behavemodel.exceptions import ParseError

__all__ = ["reading_parquet"]

#: Arrow's own errors for files it cannot decode (bad magic, truncated footer,
#: corrupt pages or compression). Missing files and permissions keep their own,
#: already clear, errors.
_DAMAGE = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


@contextlib.contextmanager
def reading_parquet(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn Arrow's errors while reading ``path`` into a ParseError that names it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pyarrow.parquet as pq
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "events.parquet"
    >>> _ = bad.write_bytes(b"PAR1 this is not a Parquet file")
    >>> with reading_parquet(bad):
    ...     pq.ParquetFile(bad)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    behavemodel.exceptions.ParseError: .../events.parquet: cannot read this Parquet file: ...
    """
    try:
        yield
    except _DAMAGE as error:
        raise _unreadable(path, error) from error
    except OSError as error:
        if isinstance(error, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise _unreadable(path, error) from error


def _unreadable(path: str | os.PathLike[str], error: Exception) -> ParseError:
    return ParseError(f"cannot read this Parquet file: {error}", file=os.fspath(path))
