"""Read event dumps in other schemas (Parquet or JSON lines) as canonical events.

Public entry points: :func:`read_events` (a pandas DataFrame), :func:`iter_events`
(Arrow record batches in bounded memory) and :class:`ReadReport`, which accounts
for every source row. The built-in schemas are ``canonical``, ``ocsf``, ``ecs``,
``osquery`` and ``laurel`` (:data:`SCHEMAS`); :class:`EventMapping` adapts any
other dump.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel import schema as s
from behavemodel.exceptions import ParseError
from behavemodel.io._auditd_chunk import BadLine
from behavemodel.io._mappings import BUILTINS, SCHEMAS
from behavemodel.io._mappings._engine import Bound
from behavemodel.io._mappings._input import SourceLike, resolve_inputs
from behavemodel.io._mappings._plan import ROW, compile_plan
from behavemodel.io._mappings._scan import json_chunks, parquet_chunks
from behavemodel.io._mappings._spec import EventMapping
from behavemodel.io._unreadable import reading_parquet

__all__ = ["SCHEMAS", "ReadReport", "iter_events", "read_events"]

OnError = Literal["raise", "skip", "collect"]
_ON_ERROR = ("raise", "skip", "collect")


@dataclass
class ReadReport:
    """Accounts for every row a dump reader saw.

    ``rows_read == events + rows_reported`` always holds. A row is a non-blank
    JSON line (an osquery snapshot line counts once per row of its snapshot) or
    a Parquet row; with a ``filter``, only the rows that pass it are counted.

    Attributes
    ----------
    rows_read : int
        Source rows considered.
    events : int
        Events emitted.
    rows_reported : int
        Rows that could not become events (kept in ``errors`` when collecting).
    blank_lines : int
        Blank JSON lines, skipped and counted apart.
    files : list of str
        The files read, in order.
    errors : list of BadLine
        With ``on_error="collect"``: file, line (JSON) or 1-based row (Parquet),
        reason and the row's text.

    Examples
    --------
    >>> import io, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "events.jsonl"
    >>> _ = p.write_text('{"time": "2024-01-01T00:00:00Z", "event_type": "login"}\\n'
    ...                  '{"time": "yesterday", "event_type": "login"}\\n\\n{oops\\n')
    >>> report = ReadReport()
    >>> _ = read_events(p, on_error="collect", report=report)
    >>> report.rows_read, report.events, report.rows_reported, report.blank_lines
    (3, 1, 2, 1)
    >>> [(e.line, e.reason[:19]) for e in report.errors]
    [(2, 'no usable event tim'), (4, 'not valid JSON: Exp')]
    """

    rows_read: int = 0
    events: int = 0
    rows_reported: int = 0
    blank_lines: int = 0
    files: list[str] = field(default_factory=list)
    errors: list[BadLine] = field(default_factory=list)

    def errors_frame(self) -> pd.DataFrame:
        """The collected bad rows as a DataFrame (file, line, reason, text)."""
        return pd.DataFrame(
            {
                "file": pd.array([e.file for e in self.errors], dtype="string"),
                "line": pd.array([e.line for e in self.errors], dtype="int64"),
                "reason": pd.array([e.reason for e in self.errors], dtype="string"),
                "text": pd.array([e.text for e in self.errors], dtype="string"),
            }
        )

    def _blank(self, count: int) -> None:
        self.blank_lines += count

    def _bad(self, on_error: OnError, file: str, line: int, reason: str, text: str) -> None:
        if on_error == "raise":
            raise ParseError(reason, file=file, line=line, text=text)
        self.rows_read += 1
        self.rows_reported += 1
        if on_error == "collect":
            self.errors.append(BadLine(file, line, reason, text))


def _as_mapping(schema: str, mapping: EventMapping | Mapping[str, Any] | None) -> EventMapping:
    if schema not in BUILTINS:
        raise ValueError(
            f"The 'schema' parameter must be one of {list(SCHEMAS)}. Got {schema!r} instead."
        )
    if mapping is None:
        return EventMapping(base=schema)
    if isinstance(mapping, EventMapping):
        if schema != "canonical" and mapping.base != schema:
            raise ValueError(
                f"The mapping is based on {mapping.base!r} but schema={schema!r} was given; "
                "leave schema out or make them agree."
            )
        return mapping
    if isinstance(mapping, Mapping):
        return EventMapping(dict(mapping), base=schema)
    raise TypeError(
        f"The 'mapping' parameter must be an EventMapping or a dict. Got {type(mapping).__name__}."
    )


def _check(on_error: str, batch_size: int) -> None:
    if on_error not in _ON_ERROR:
        raise ValueError(
            f"The 'on_error' parameter must be one of {list(_ON_ERROR)}. Got {on_error!r} instead."
        )
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            f"The 'batch_size' parameter must be a positive integer. Got {batch_size!r}."
        )


def iter_events(
    source: SourceLike | Sequence[SourceLike],
    *,
    schema: str = "canonical",
    mapping: EventMapping | Mapping[str, Any] | None = None,
    columns: Sequence[str] | None = None,
    filter: pc.Expression | None = None,
    host: str | None = None,
    format: Literal["parquet", "json"] | None = None,
    batch_size: int = 65_536,
    on_error: OnError = "raise",
    report: ReadReport | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream canonical events from Parquet or JSON-lines dumps as Arrow record batches.

    Files are read one batch at a time and only the source columns the mapping
    needs are read (nested struct fields included), so memory does not grow with
    the size of the dump.

    Parameters
    ----------
    source : path, directory, glob, list of these, or pyarrow FileSystemDataset
        A directory is read recursively; ``key=value`` directory names (hive
        partitioning) become source columns; files starting with ``.`` or ``_``
        are skipped. gzip-compressed JSON lines are recognised.
    schema : {"canonical", "ocsf", "ecs", "osquery", "laurel"}, default "canonical"
        The built-in mapping to apply; see each one's field table in
        ``behavemodel.io._mappings``.
    mapping : EventMapping or dict, optional
        canonical column -> source spec, overriding the ``schema`` mapping column by
        column (see :class:`EventMapping` for the forms).
    columns : list of str, optional
        Canonical columns to fill (time, host, event type and id always are); the
        others are null, and source columns only they need are not read.
    filter : pyarrow.compute.Expression, optional
        A filter on *source* columns, pushed into the scan (partition pruning,
        Parquet statistics), e.g. ``pc.field("date") >= "2024-01-01"``.
    host : str, optional
        Host name for rows whose source gives none.
    format : {"parquet", "json"}, optional
        Default: from the file name, else from the first bytes.
    batch_size : int, default 65536
        Largest number of rows per batch.
    on_error : {"raise", "skip", "collect"}, default "raise"
        What to do with a row that cannot become an event (invalid JSON, no usable
        time, a value outside a closed vocabulary): raise :class:`ParseError` with
        file and line, skip it (counted in ``report``), or also keep it in
        ``report.errors``.
    report : ReadReport, optional
        Filled with row accounting and, when collecting, the bad rows.

    Yields
    ------
    pyarrow.RecordBatch
        Rows conforming exactly to :data:`behavemodel.schema.CANONICAL_SCHEMA`.

    Raises
    ------
    MissingSourceColumnError
        (a :class:`SchemaError`) when a file lacks a column the mapping needs; the
        message names the column, the mapping and the file.
    ParseError
        When a Parquet file cannot be read (not Parquet, truncated, a corrupt
        page); the message names the file.

    Examples
    --------
    >>> import pyarrow as pa, pyarrow.parquet as pq, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "canonical.parquet"
    >>> pq.write_table(pa.table({
    ...     "time": pa.array([1_700_000_000_000_000], pa.timestamp("us", tz="UTC")),
    ...     "host_name": ["web-1"], "event_type": ["net_connect"],
    ...     "process_exe": ["/usr/bin/curl"], "dst_port": [443]}), path)
    >>> batch = next(iter_events(path))
    >>> row = batch.to_pylist()[0]
    >>> row["process_exe"], row["dst_port"], row["host_group"], row["source_format"]
    ('/usr/bin/curl', 443, 'web-1', 'canonical')
    >>> batch.schema.equals(s.CANONICAL_SCHEMA)
    True
    """
    _check(on_error, batch_size)
    plan = compile_plan(_as_mapping(schema, mapping), BUILTINS, columns)
    report = report if report is not None else ReadReport()
    batcher = _Batcher(batch_size)
    for item in resolve_inputs(source, format):
        report.files.append(item.path)
        if item.format == "parquet":
            chunks = _guarded(parquet_chunks(item, plan, filter, batch_size), item.path)
        else:
            chunks = json_chunks(
                item,
                plan,
                filter,
                bad=functools.partial(report._bad, on_error, item.path),
                blank=report._blank,
            )
        for bound, projected, raw, text in chunks:
            table = _map(bound, projected, raw, text, host, report, on_error)
            report.events += table.num_rows
            yield from batcher.add(table)
    yield from batcher.flush()


_T = TypeVar("_T")


def _guarded(chunks: Iterator[_T], path: str) -> Iterator[_T]:
    """``chunks``, with Arrow's errors for a damaged file as a ParseError naming it."""
    with reading_parquet(path):
        yield from chunks


def read_events(
    source: SourceLike | Sequence[SourceLike],
    *,
    schema: str = "canonical",
    mapping: EventMapping | Mapping[str, Any] | None = None,
    columns: Sequence[str] | None = None,
    filter: pc.Expression | None = None,
    host: str | None = None,
    format: Literal["parquet", "json"] | None = None,
    batch_size: int = 65_536,
    on_error: OnError = "raise",
    report: ReadReport | None = None,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Read Parquet or JSON-lines event dumps into a canonical events DataFrame.

    Parameters are those of :func:`iter_events`. Columns use Arrow-backed dtypes
    (categoricals for the low-cardinality ones), as :func:`read_auditd` does.

    Returns
    -------
    pandas.DataFrame
        One row per event, in file order.
    (pandas.DataFrame, pandas.DataFrame)
        With ``on_error="collect"``: the events and the bad rows
        (file, line, reason, text).

    Examples
    --------
    A dump with its own column names, read with a plain-data mapping:

    >>> import pyarrow as pa, pyarrow.parquet as pq, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "dump.parquet"
    >>> pq.write_table(pa.table({
    ...     "ts": [1700000000, 1700000001],
    ...     "host": [{"name": "web-1"}, {"name": "web-2"}],
    ...     "proc": [{"exe": "/bin/sh", "path": None}, {"exe": None, "path": "/bin/ls"}],
    ... }), path)
    >>> mapping = {
    ...     "time": {"path": "ts", "unit": "s"},
    ...     "host_name": "host.name",
    ...     "event_type": {"value": "process_start"},
    ...     "process_exe": ["proc.exe", "proc.path"],
    ...     "user_name": "proc.user?",
    ... }
    >>> df = read_events(path, mapping=mapping)
    >>> df[["host_name", "event_type", "process_exe", "user_name"]]
      host_name     event_type process_exe user_name
    0     web-1  process_start     /bin/sh      <NA>
    1     web-2  process_start     /bin/ls      <NA>

    A laurel log (JSON lines):

    >>> log = pathlib.Path(tempfile.mkdtemp()) / "audit.log"
    >>> _ = log.write_text(
    ...     '{"ID":"1700000000.250:42","NODE":"web-1","SYSCALL":{"arch":"0xc000003e",'
    ...     '"syscall":59,"success":"yes","exit":0,"ppid":1,"pid":812,"auid":1000,"uid":0,'
    ...     '"ses":3,"tty":"pts0","comm":"id","exe":"/usr/bin/id","key":null,'
    ...     '"SYSCALL":"execve","UID":"root","AUID":"alice"},'
    ...     '"EXECVE":{"argc":2,"ARGV":["id","-u"]},"CWD":{"cwd":"/home/alice"}}\\n')
    >>> df = read_events(log, schema="laurel")
    >>> df.loc[0, ["event_id", "event_type", "process_cmdline", "login_name", "cwd"]].tolist()
    ['web-1:1700000000.250:42', 'process_start', 'id -u', 'alice', '/home/alice']
    """
    _check(on_error, batch_size)
    report = report if report is not None else ReadReport()
    batches = list(
        iter_events(
            source,
            schema=schema,
            mapping=mapping,
            columns=columns,
            filter=filter,
            host=host,
            format=format,
            batch_size=batch_size,
            on_error=on_error,
            report=report,
        )
    )
    table = pa.Table.from_batches(batches).unify_dictionaries() if batches else s.empty_table()
    events = s.to_pandas(table)
    if on_error == "collect":
        return events, report.errors_frame()
    return events


def _map(
    bound: Bound,
    projected: pa.Table,
    raw: pa.Table | None,
    text: Callable[[int], str],
    host: str | None,
    report: ReadReport,
    on_error: OnError,
) -> pa.Table:
    n = projected.num_rows
    data, problems = bound.evaluate(projected, raw, host=host)
    report.rows_read += n
    if problems.rows:
        reasons: dict[int, list[str]] = {}
        for rows, reason in zip(problems.rows, problems.reasons, strict=True):
            for i in rows.tolist():
                reasons.setdefault(i, []).append(reason)
        numbers = projected.column(ROW)
        file = bound.file or "<source>"
        for i in sorted(reasons):
            reason = "; ".join(reasons[i])
            if on_error == "raise":
                raise ParseError(reason, file=file, line=numbers[i].as_py(), text=text(i))
            if on_error == "collect":
                report.errors.append(BadLine(file, numbers[i].as_py(), reason, text(i)))
        report.rows_reported += len(reasons)
        keep = np.ones(n, bool)
        keep[list(reasons)] = False
        mask = pa.array(keep)
        data = {k: v.filter(mask) for k, v in data.items()}
    if not data or n == 0:
        return s.empty_table()
    return s.conform(pa.table(data), fill_missing=True)


class _Batcher:
    """Re-chunk mapped tables into record batches of at most ``size`` rows."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pending: list[pa.Table] = []
        self.rows = 0

    def add(self, table: pa.Table) -> Iterator[pa.RecordBatch]:
        if table.num_rows == 0:
            return
        self.pending.append(table)
        self.rows += table.num_rows
        if self.rows >= self.size:
            yield from self._emit(final=False)

    def flush(self) -> Iterator[pa.RecordBatch]:
        if self.rows:
            yield from self._emit(final=True)

    def _emit(self, final: bool) -> Iterator[pa.RecordBatch]:
        table = self.pending[0] if len(self.pending) == 1 else pa.concat_tables(self.pending)
        table = table.unify_dictionaries().combine_chunks()
        batches = table.to_batches(max_chunksize=self.size)
        rest: list[pa.Table] = []
        if not final and batches and batches[-1].num_rows < self.size:
            rest = [pa.Table.from_batches([batches.pop()])]
        yield from batches
        self.pending = rest
        self.rows = sum(t.num_rows for t in rest)
