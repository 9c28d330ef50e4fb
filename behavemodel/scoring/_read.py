"""Stream the event columns a model needs from event dumps, in bounded memory.

Canonical Parquet is read here directly: one :mod:`pyarrow.dataset` fragment per
file, only the model's columns, strings dictionary-encoded (so the models work on
small dictionaries, never on one string per event). The event columns that only
alert rows show (command line, addresses, event id...) are not read for every
event: :meth:`EventSource.fetch` reads them, row group by row group, for the rows
that deviate.

Other schemas (OCSF, ECS, osquery, laurel) and JSON lines go through
:func:`behavemodel.io.iter_events`, which maps them to canonical batches.
"""

from __future__ import annotations

import glob
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from behavemodel import schema as s
from behavemodel.exceptions import SchemaError
from behavemodel.io._unreadable import reading_parquet
from behavemodel.models import alerts

__all__ = ["Batch", "EventSource", "SourceLike", "open_source", "prefetch"]

_T = TypeVar("_T")

SourceLike: TypeAlias = (
    str
    | os.PathLike[str]
    | ds.FileSystemDataset
    | Sequence[str | os.PathLike[str]]
    | pa.Table
    | pa.RecordBatch
    | Iterable[pa.Table | pa.RecordBatch]
)

#: Columns never read dictionary-encoded (unique per event, or numbers).
_NOT_DICTIONARY = frozenset({s.TIME, s.EVENT_ID, s.PROCESS_CMDLINE})
_PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")
#: Batches decoded ahead while one is scored: enough to overlap reading and
#: scoring, few enough that memory does not depend on the size of the dump.
_READAHEAD = 1
#: Rows per slice when reading the alert-only columns of a row group.
_FETCH_ROWS = 65_536


@dataclass(frozen=True)
class _File:
    """One file of a dump: its path, hive partition values and original fragment."""

    path: str
    partition: dict[str, Any] = field(default_factory=dict)
    fragment: ds.Fragment | None = None

    @property
    def parquet(self) -> bool:
        if self.fragment is not None:
            return True
        name = self.path.lower()
        if name.endswith(_PARQUET_SUFFIXES):
            return True
        with open(self.path, "rb") as handle:
            return handle.read(4) == b"PAR1"


@dataclass
class Batch:
    """Events of one file, with the position of the first one in that file."""

    table: pa.Table
    file: str
    offset: int


class _Cursor:
    """A place in one row group's alert-only columns: its current slice and first row."""

    def __init__(self, key: tuple[str, int, tuple[str, ...]], slices: Iterator[Any]) -> None:
        self.key = key
        self.slices = slices
        self.first = 0
        self.chunk: pa.RecordBatch = next(slices)

    def advance(self) -> None:
        self.first += self.chunk.num_rows
        self.chunk = next(self.slices)


@dataclass
class EventSource:
    """The files of a dump and how to read the columns a model needs from them."""

    source: Any
    files: list[_File]
    schema: str
    columns: list[str]
    lazy: list[str]
    batch_size: int
    rows: int | None = None
    _format: ds.ParquetFileFormat | None = field(default=None, repr=False)
    _open: tuple[str, pq.ParquetFile, np.ndarray] | None = field(default=None, repr=False)
    _given: Iterable[Any] | None = field(default=None, repr=False)
    _cursor: _Cursor | None = field(default=None, repr=False)

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]

    def batches(self, meanwhile: Callable[[], None] | None = None) -> Iterator[Batch]:
        """Record batches, file after file, in file order.

        Files are read in a background thread one batch ahead, so reading (Arrow
        releases the GIL) overlaps with scoring the previous batch.
        ``meanwhile()``, if given, runs in this thread while the first batch is read.
        """
        if self._given is not None:
            if meanwhile is not None:
                meanwhile()
            yield from self._slices()
        elif self._format is None:
            yield from prefetch(self._mapped(), meanwhile=meanwhile)
        else:
            yield from prefetch(self._files(), meanwhile=meanwhile)

    def _files(self) -> Iterator[Batch]:
        for item in self.files:
            with reading_parquet(item.path):
                yield from self._file_batches(item)

    def _file_batches(self, item: _File) -> Iterator[Batch]:
        """The batches of one file, with its hive partition values as columns."""
        fragment = self._fragment(item)
        present = set(fragment.physical_schema.names)
        read = [c for c in self.columns if c in present]
        constants = {
            c: v for c, v in item.partition.items() if c in self.columns and c not in present
        }
        offset = 0
        for batch in _scan(fragment, read, self.batch_size):
            if batch.num_rows == 0:
                continue
            table = pa.Table.from_batches([batch])
            for name, value in constants.items():
                table = table.append_column(name, _constant(value, table.num_rows))
            yield Batch(table, item.path, offset)
            offset += batch.num_rows

    def fetch(self, batch: Batch, rows: np.ndarray) -> pa.Table | None:
        """The lazily read columns of the events at ``rows`` of ``batch``, in that order.

        The row groups they fall in are read in small slices up to the last row
        wanted, keeping only those rows, so memory stays small. None when
        nothing is to be read.
        """
        if self._format is None or not len(rows) or not self.lazy:
            return None
        parquet, starts = self._parquet(batch.file)
        wanted = [n for n in self.lazy if n in parquet.schema_arrow.names]
        if not wanted:
            return None
        where = rows.astype(np.int64) + batch.offset
        order = np.argsort(where, kind="stable")
        ordered = where[order]
        group = np.searchsorted(starts, ordered, side="right") - 1
        pieces = []
        for g in np.unique(group):
            local = ordered[group == g] - starts[g]
            with reading_parquet(batch.file):  # a damaged page here names the file too
                cursor = self._cursor_at(parquet, batch.file, int(g), wanted, int(local[0]))
                while True:
                    first, chunk = cursor.first, cursor.chunk
                    last = first + chunk.num_rows
                    inside = local[(local >= first) & (local < last)] - first
                    if len(inside):
                        pieces.append(pa.Table.from_batches([chunk]).take(pa.array(inside)))
                    if last > local[-1]:
                        break  # the slice stays: the next batch's rows may be in it
                    cursor.advance()
        taken = pa.concat_tables(pieces)
        back = np.empty(len(order), dtype=np.int64)
        back[order] = np.arange(len(order), dtype=np.int64)
        return taken.take(pa.array(back))

    def _cursor_at(
        self, parquet: pq.ParquetFile, path: str, group: int, wanted: list[str], row: int
    ) -> _Cursor:
        """Where to read row group ``group`` from, for rows from ``row`` (in the group) on.

        The last cursor goes on when it is in that row group at or before
        ``row``: batches come in file order, so a row group whose two batches
        both deviate is decoded once, not once per batch.
        """
        key = (path, group, tuple(wanted))
        kept = self._cursor
        if kept is None or kept.key != key or kept.first > row:
            slices = parquet.iter_batches(
                batch_size=_FETCH_ROWS, row_groups=[group], columns=wanted, use_threads=True
            )
            kept = self._cursor = _Cursor(key, slices)
        return kept

    def _parquet(self, path: str) -> tuple[pq.ParquetFile, np.ndarray]:
        if self._open is None or self._open[0] != path:
            with reading_parquet(path):
                parquet = pq.ParquetFile(path)
            sizes = [parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)]
            self._open = (path, parquet, np.concatenate([[0], np.cumsum(sizes)]))
        return self._open[1], self._open[2]

    def _fragment(self, item: _File) -> ds.Fragment:
        assert self._format is not None
        original = item.fragment
        if original is None:
            return self._format.make_fragment(
                os.path.abspath(item.path), filesystem=pafs.LocalFileSystem()
            )
        return self._format.make_fragment(
            item.path,
            filesystem=original.filesystem,
            partition_expression=original.partition_expression,
        )

    def _slices(self) -> Iterator[Batch]:
        assert self._given is not None
        for item in self._given:
            table = pa.Table.from_batches([item]) if isinstance(item, pa.RecordBatch) else item
            if not isinstance(table, pa.Table):
                raise TypeError(
                    "score_parquet takes paths or an iterable of pyarrow Tables or "
                    f"RecordBatches. Got an item of type {type(item).__name__} instead."
                )
            for start in range(0, table.num_rows, self.batch_size):
                yield Batch(table.slice(start, self.batch_size), "", 0)

    def _mapped(self) -> Iterator[Batch]:
        from behavemodel.io import iter_events

        for batch in iter_events(
            self.source,
            schema=self.schema,
            columns=[c for c in self.columns if c in s.CANONICAL_SCHEMA.names],
            batch_size=self.batch_size,
        ):
            yield Batch(pa.Table.from_batches([batch]), "", 0)


def prefetch(
    items: Iterator[_T], depth: int = 1, meanwhile: Callable[[], None] | None = None
) -> Iterator[_T]:
    """Iterate ``items`` in a background thread, at most ``depth`` items ahead.

    Exceptions raised while producing an item are raised here, in order; when
    the consumer stops early the producer stops too. ``meanwhile()``, if
    given, runs here once the producer has started.

    Examples
    --------
    >>> from behavemodel.scoring._read import prefetch
    >>> list(prefetch(iter(range(3)), meanwhile=lambda: print("reading...")))
    reading...
    [0, 1, 2]
    """
    slots: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((True, done))
        except BaseException as exc:  # handed to the consumer, raised there
            put((False, exc))

    worker = threading.Thread(target=produce, name="behavemodel-read", daemon=True)
    worker.start()
    try:
        if meanwhile is not None:
            meanwhile()
        while True:
            ok, item = slots.get()
            if not ok:
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
        worker.join()


def _scan(fragment: ds.Fragment, columns: list[str], batch_size: int) -> Iterator[pa.RecordBatch]:
    """Batches of one file, row group after row group.

    Scanning a whole file lets Arrow decode row groups far ahead of a slow
    consumer (memory then grows with the file); one row group at a time, with
    one batch read ahead, keeps it to about two row groups.
    """
    for group in fragment.split_by_row_group():
        yield from group.to_batches(
            columns=columns,
            batch_size=batch_size,
            batch_readahead=_READAHEAD,
            fragment_readahead=1,
            use_threads=True,
        )


def open_source(
    source: SourceLike,
    *,
    schema: str,
    required: Sequence[str],
    optional: Sequence[str],
    needs: dict[str, str],
    eager: Sequence[str] = (),
    batch_size: int,
    who: str,
) -> EventSource:
    """Find the files of ``source`` and check that each has the ``required`` columns.

    ``optional`` columns are read when present. Of the alert columns
    (:data:`alerts.EVENT_COLUMNS`), only ``eager`` ones are read for every event;
    the others are fetched for deviating events only.

    Raises
    ------
    SchemaError
        Naming the file, the missing column and the feature that needs it.
    FileNotFoundError
        When ``source`` names nothing.
    """
    given = _given_batches(source)
    if given is not None:
        return EventSource(source, [], schema, [], [], batch_size, _given=given)
    files = _resolve(source)  # type: ignore[arg-type]
    if not files:
        raise FileNotFoundError(f"{who} found no event file in {source!r}.")
    wanted = list(dict.fromkeys([*required, *optional, *eager]))
    lazy = [c for c in alerts.EVENT_COLUMNS if c not in wanted]
    if schema != "canonical" or not all(f.parquet for f in files):
        return EventSource(source, files, schema, [*wanted, *lazy], [], batch_size)
    dictionary = [c for c in wanted if c not in _NOT_DICTIONARY]
    fmt = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=dictionary))
    out = EventSource(source, files, schema, wanted, lazy, batch_size, 0, fmt)
    rows = 0
    for item in files:
        with reading_parquet(item.path):
            fragment = out._fragment(item)
            names = set(fragment.physical_schema.names) | set(item.partition)
        missing = [c for c in required if c not in names]
        if missing:
            detail = ", ".join(
                f"{c!r}" + (f" (needed by {needs[c]})" if c in needs else "") for c in missing
            )
            raise SchemaError(
                f"{who}: {item.path} has no column {detail}. Every file of a canonical dump "
                "needs the columns the model reads; for another schema pass schema='ocsf', "
                "'ecs', 'osquery' or 'laurel'.",
                missing,
            )
        rows += fragment.count_rows()
    out.rows = rows
    return out


def _given_batches(source: Any) -> Iterable[Any] | None:
    """``source`` as an iterable of tables or batches, or None when it names files."""
    if isinstance(source, (pa.Table, pa.RecordBatch)):
        return [source]
    if isinstance(source, (str, os.PathLike, ds.FileSystemDataset)):
        return None
    if isinstance(source, (list, tuple)):
        if source and all(isinstance(x, (pa.Table, pa.RecordBatch)) for x in source):
            return source
        return None
    if isinstance(source, Iterator):  # a generator of batches, e.g. from iter_auditd
        return source
    return None


def _resolve(source: SourceLike) -> list[_File]:
    """The files of a file, directory (recursive, hive partitions), glob, list or dataset.

    Names starting with ``.`` or ``_`` are skipped in directories, as
    :func:`behavemodel.io.iter_events` does.
    """
    if isinstance(source, ds.FileSystemDataset):
        return [
            _File(f.path, ds.get_partition_keys(f.partition_expression) or {}, f)
            for f in source.get_fragments()
        ]
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    out: list[_File] = []
    for item in items:
        if isinstance(item, ds.FileSystemDataset):
            out.extend(_resolve(item))
            continue
        text = os.fspath(item)
        path = Path(text)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(x.startswith((".", "_")) for x in p.relative_to(path).parts)
            )
            if all(_File(str(p)).parquet for p in found):
                with reading_parquet(path):
                    dataset = ds.dataset(path, format="parquet", partitioning="hive")
                out.extend(_resolve(dataset))
            else:  # JSON lines: read (with their partitions) by iter_events
                out.extend(_File(str(p)) for p in found)
        elif path.exists():
            out.append(_File(text))
        elif any(c in text for c in "*?["):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise FileNotFoundError(f"No file matches {text!r}.")
            out.extend(_resolve(matches))
        else:
            raise FileNotFoundError(f"No such file or directory: {text!r}.")
    return out


def _constant(value: Any, n: int) -> pa.Array:
    """A hive partition value repeated ``n`` times (strings dictionary-encoded)."""
    scalar = pa.scalar(value)
    if pa.types.is_string(scalar.type) or pa.types.is_large_string(scalar.type):
        indices = pa.array(np.zeros(n, dtype=np.int32))
        return pa.DictionaryArray.from_arrays(indices, pa.array([value], pa.string()))
    return pa.repeat(scalar, n)
