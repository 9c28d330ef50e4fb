"""Write canonical events to Parquet."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from behavemodel import schema as s

__all__ = ["write_events"]

#: Columns worth dictionary encoding on disk beyond the categorical ones.
_DICTIONARY_ON_DISK = (
    s.HOST_NAME,
    s.HOST_GROUP,
    s.EVENT_TYPE,
    s.RECORD_TYPE,
    s.SYSCALL,
    s.PROCESS_NAME,
    s.PROCESS_EXE,
    s.CMDLINE_SOURCE,
    s.PARENT_EXE,
    s.PARENT_NAME,
    s.USER_NAME,
    s.LOGIN_NAME,
    s.TTY,
    s.NET_FAMILY,
    s.NET_DIRECTION,
    s.AUDIT_KEY,
    s.SOURCE_FORMAT,
)


def write_events(
    events: pd.DataFrame | pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch],
    path: str | os.PathLike[str],
    *,
    row_group_size: int = 1_000_000,
    compression: str = "zstd",
) -> int:
    """Write canonical events to one Parquet file, atomically.

    Batches are written as they come, so an iterator from
    :func:`behavemodel.io.iter_auditd` is written in bounded memory. The
    low-cardinality columns are dictionary encoded. The file appears under its
    name only once it is complete.

    Parameters
    ----------
    events : DataFrame, Table, RecordBatch or iterable of RecordBatch
        Canonical events (checked with :func:`behavemodel.schema.conform`).
    path : path-like
        Destination file.
    row_group_size : int, default 1_000_000
        Rows per Parquet row group.
    compression : str, default "zstd"

    Returns
    -------
    int
        Rows written.

    Examples
    --------
    >>> import tempfile, pathlib, pyarrow.parquet as pq
    >>> from behavemodel.schema import empty_table
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "events.parquet"
    >>> write_events(empty_table(), out)
    0
    >>> pq.read_schema(out).field("process_exe").type
    DataType(string)
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if isinstance(events, (pd.DataFrame, pa.Table, pa.RecordBatch)):
        batches: Iterable[pa.RecordBatch | pa.Table] = [s.conform(events)]
    else:
        batches = events
    rows = 0
    try:
        writer: pq.ParquetWriter | None = None
        try:
            for batch in batches:
                table = s.conform(batch)
                if writer is None:
                    writer = _open_writer(tmp, table.schema, compression)
                writer.write_table(table, row_group_size=row_group_size)
                rows += table.num_rows
            if writer is None:
                writer = _open_writer(tmp, s.CANONICAL_SCHEMA, compression)
        finally:
            if writer is not None:
                writer.close()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return rows


def _open_writer(path: Path, schema: pa.Schema, compression: str) -> pq.ParquetWriter:
    return pq.ParquetWriter(
        path,
        schema,
        compression=compression,
        use_dictionary=list(_DICTIONARY_ON_DISK),
    )
