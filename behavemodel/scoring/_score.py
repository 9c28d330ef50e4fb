"""score_parquet: stream a dump through a fitted detector, write alerts as they come."""

from __future__ import annotations

import contextlib
import os
import resource
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from behavemodel import schema as s
from behavemodel.features import _loops
from behavemodel.features._loops import count_codes, load_compiled
from behavemodel.models import BaselineDetector, alerts
from behavemodel.models._index import THRESHOLD
from behavemodel.scoring._read import Batch, EventSource, SourceLike, open_source

__all__ = ["SCORES_SCHEMA", "ScoreSummary", "score_parquet", "scores_path_for"]

#: Schema of the per-event scores written with ``all_rows``: one row per event, in
#: the order the events were read.
SCORES_SCHEMA = pa.schema(
    [pa.field(s.EVENT_ID, pa.string()), pa.field(alerts.SCORE, pa.float64(), nullable=False)]
)
_ORDER = "__order"


@dataclass(frozen=True)
class ScoreSummary:
    """What :func:`score_parquet` read and wrote.

    Attributes
    ----------
    rows : int
        Events scored.
    alerts : int
        Alert rows written.
    deviating_events : int
        Events whose anomaly score is at least 0.5.
    rows_by_event_type : dict of str to int
        Events scored per ``event_type``.
    alerts_by_feature : dict of str to int
        Alert rows written per feature.
    files : tuple of str
        The files read, in order.
    alerts_path : str
        The alerts Parquet file.
    scores_path : str or None
        The per-event scores file (``all_rows``), else None.
    elapsed : float
        Seconds from start to the files being in place.
    peak_rss : int or None
        Peak resident memory of this process so far, in bytes (``VmHWM``, else
        ``getrusage``); None where the platform does not say.

    Examples
    --------
    >>> from behavemodel.scoring import ScoreSummary
    >>> summary = ScoreSummary(rows=1000, alerts=2, deviating_events=2,
    ...                        rows_by_event_type={"net_connect": 1000},
    ...                        alerts_by_feature={"NetworkProcesses": 2},
    ...                        files=("a.parquet",), alerts_path="alerts.parquet",
    ...                        scores_path=None, elapsed=0.5, peak_rss=None)
    >>> print(summary)
    Scored 1,000 events from 1 file(s) in 0.5 s (2,000 events/s): 2 deviating events, \
2 alert rows written to alerts.parquet.
    """

    rows: int
    alerts: int
    deviating_events: int
    rows_by_event_type: dict[str, int]
    alerts_by_feature: dict[str, int]
    files: tuple[str, ...]
    alerts_path: str
    scores_path: str | None
    elapsed: float
    peak_rss: int | None = field(default=None)

    def __str__(self) -> str:
        rate = self.rows / self.elapsed if self.elapsed > 0 else float("nan")
        memory = f", peak RSS {self.peak_rss / 2**20:.0f} MiB" if self.peak_rss else ""
        return (
            f"Scored {self.rows:,} events from {len(self.files)} file(s) in {self.elapsed:.1f} s "
            f"({rate:,.0f} events/s{memory}): {self.deviating_events:,} deviating events, "
            f"{self.alerts:,} alert rows written to {self.alerts_path}"
            + (f", scores in {self.scores_path}" if self.scores_path else "")
            + "."
        )


def scores_path_for(dest: str | os.PathLike[str]) -> Path:
    """Where ``all_rows=True`` puts the per-event scores: ``<dest stem>.scores.parquet``.

    Examples
    --------
    >>> from behavemodel.scoring import scores_path_for
    >>> scores_path_for("out/alerts.parquet").as_posix()
    'out/alerts.scores.parquet'
    """
    dest = Path(dest)
    stem = dest.name[: -len(".parquet")] if dest.name.endswith(".parquet") else dest.name
    return dest.with_name(f"{stem}.scores.parquet")


def score_parquet(
    model: BaselineDetector,
    source: SourceLike,
    dest: str | os.PathLike[str],
    *,
    schema: str = "canonical",
    batch_size: int = 500_000,
    all_rows: bool | str | os.PathLike[str] = False,
    one_row_per: Literal["event", "key"] = "event",
    progress: bool | None = None,
) -> ScoreSummary:
    """Score event dumps with a fitted detector; write the alerts to Parquet.

    Events are streamed in record batches: only the columns the model reads
    are read (strings dictionary-encoded), each batch is scored and its alert
    rows written before the next is read, so memory does not grow with the
    number of events. The columns that only alerts show (command line,
    addresses, event id...) are taken from the file for deviating events only.

    Parameters
    ----------
    model : BaselineDetector
        A fitted detector.
    source : path, directory, glob or list of them, pyarrow FileSystemDataset, or batches
        Parquet (or JSON lines) files; a directory is read recursively and its
        ``key=value`` directories become columns (``host_group=web/`` works).
        Canonical events already in memory or streamed from elsewhere (an
        iterator of pyarrow Tables or RecordBatches, such as
        :func:`behavemodel.io.iter_auditd` gives) are scored the same way.
    dest : path
        The alerts file (:data:`alerts.ALERT_SCHEMA
        <behavemodel.models.alerts.ALERT_SCHEMA>`). It appears complete or not
        at all: the data go to a temporary file renamed at the end.
    schema : {"canonical", "ocsf", "ecs", "osquery", "laurel"}, default "canonical"
        The dump's schema; other than canonical, batches come from
        :func:`behavemodel.io.iter_events`, which maps them.
    batch_size : int, default 500_000
        Most events per batch; memory use grows with it (and with the dump's
        row group size: about two row groups are decoded at a time).
    all_rows : bool or path, default False
        Also write every event's ``event_id`` and ``score`` (:data:`SCORES_SCHEMA`),
        in the order read, to ``path`` or, with True, to
        :func:`scores_path_for(dest) <scores_path_for>`.
    one_row_per : {"event", "key"}, default "event"
        ``"event"``: one alert row per deviating (event, feature), written as
        batches are scored (:func:`behavemodel.models.score_batch`). ``"key"``:
        one row per (host, group, feature, key) over the whole dump, with its
        first event, the event count and the last time, as
        :meth:`BaselineDetector.explain <behavemodel.models.BaselineDetector.explain>`
        gives; held in memory (one row per distinct deviation) and written at the end.
    progress : bool, optional
        Show a progress bar (tqdm, on stderr). Default: when stderr is a terminal.

    Returns
    -------
    ScoreSummary

    Raises
    ------
    SchemaError
        When a file lacks a column the model needs (the message names the file,
        the column and the feature).
    ParseError
        When a Parquet file cannot be read (not Parquet, truncated, a corrupt
        page); the message names the file.

    See Also
    --------
    behavemodel.models.score_batch : The per-batch function this streams.
    behavemodel.dask.score : The same on a Dask cluster.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pandas as pd, pyarrow.parquet as pq
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector
    >>> from behavemodel.scoring import score_parquet
    >>> def events(rows):
    ...     df = pd.DataFrame(rows, columns=["time", "host_name", "process_exe", "user_name"])
    ...     df["time"] = pd.to_datetime(df["time"], utc=True)
    ...     df["event_type"] = "process_start"
    ...     df["event_id"] = [f"e{i}" for i in range(len(df))]
    ...     df["source_format"] = "canonical"
    ...     return schema.conform(df, fill_missing=True)
    >>> model = BaselineDetector(features=["ProcessOwners"], min_span="1h").fit(events([
    ...     ["2024-01-01 00:00", "web-01", "/usr/sbin/nginx", "www-data"],
    ...     ["2024-01-01 05:00", "web-01", "/usr/sbin/nginx", "www-data"],
    ... ]))
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> pq.write_table(events([
    ...     ["2024-01-02 00:00", "web-01", "/usr/sbin/nginx", "www-data"],
    ...     ["2024-01-02 00:01", "web-01", "/usr/sbin/nginx", "root"],
    ... ]), folder / "day2.parquet")
    >>> summary = score_parquet(model, folder, folder / "alerts.parquet", all_rows=True)
    >>> summary.rows, summary.alerts, summary.rows_by_event_type
    (2, 1, {'process_start': 2})
    >>> pq.read_table(folder / "alerts.parquet").column("reason").to_pylist()
    ["/usr/sbin/nginx ran as user root for the first time in group 'web-01'; it has never \
been seen in any group."]
    >>> pq.read_table(summary.scores_path).to_pylist()
    [{'event_id': 'e0', 'score': 0.1666...}, {'event_id': 'e1', 'score': 1.0}]
    """
    started = time.perf_counter()
    model._check_fitted("score_parquet")
    _check_params(batch_size, one_row_per, all_rows)
    required, optional, needs = model.config_.columns()
    reader = open_source(
        source,
        schema=schema,
        required=required,
        optional=optional,
        needs=needs,
        eager=[s.EVENT_ID] if all_rows else [],
        batch_size=batch_size,
        who="score_parquet",
    )
    dest = Path(dest)
    scores_path = (
        None
        if all_rows is False
        else scores_path_for(dest)
        if all_rows is True
        else Path(all_rows)  # type: ignore[arg-type]
    )
    counts = _Counts()
    with (
        loops_for(reader.rows),
        _AtomicParquet(dest, alerts.ALERT_SCHEMA) as alert_out,
        _AtomicParquet(scores_path, SCORES_SCHEMA) as score_out,
        _progress(progress, reader.rows) as bar,
    ):
        merged = _KeyMerger(model.config_.feature_names) if one_row_per == "key" else None

        def take(found: pa.Table, start: int) -> None:
            if merged is not None:
                merged.add(found, start)
            elif found.num_rows:
                alert_out.write(found)

        with _Fetcher(reader, take) as fetcher:
            for batch in reader.batches(meanwhile=load_compiled):
                scores, found, rows = _score(model, batch, one_row_per)
                counts.add(batch.table, scores, found)
                fetcher.add(batch, found, rows, counts.rows - batch.table.num_rows)
                if score_out.active:
                    score_out.write(_scores_table(batch.table, scores))
                bar.update(batch.table.num_rows)
        if merged is not None:
            found = merged.result()
            counts.alerts_by_feature = {}
            counts.count_alerts(found)
            alert_out.write(found)
    return ScoreSummary(
        rows=counts.rows,
        alerts=sum(counts.alerts_by_feature.values()),
        deviating_events=counts.deviating,
        rows_by_event_type=dict(sorted(counts.by_type.items())),
        alerts_by_feature=dict(sorted(counts.alerts_by_feature.items())),
        files=tuple(reader.paths),
        alerts_path=str(dest),
        scores_path=None if scores_path is None else str(scores_path),
        elapsed=time.perf_counter() - started,
        peak_rss=peak_rss(),
    )


#: Dumps of fewer events are scored with the numpy loops when numba is not
#: imported yet: its start-up (about 0.3 s) costs more than its loops save
#: below about five million events (``benchmarks/score_parquet.py --engines``).
NUMPY_BELOW_ROWS = 3_000_000


def loops_for(rows: int | None) -> contextlib.AbstractContextManager[None]:
    """The loops to score ``rows`` events with (see :data:`NUMPY_BELOW_ROWS`).

    Examples
    --------
    >>> from behavemodel.features._loops import numba_loaded, use_compiled
    >>> from behavemodel.scoring._score import loops_for
    >>> with loops_for(1000):  # numpy, unless numba is already imported
    ...     use_compiled(True) == numba_loaded()
    True
    """
    return _loops.loops_for(rows, NUMPY_BELOW_ROWS)


def _check_params(batch_size: Any, one_row_per: Any, all_rows: Any) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            "The 'batch_size' parameter of score_parquet must be a positive integer. "
            f"Got {batch_size!r} instead."
        )
    if one_row_per not in ("event", "key"):
        raise ValueError(
            "The 'one_row_per' parameter of score_parquet must be 'event' or 'key'. "
            f"Got {one_row_per!r} instead."
        )
    if not isinstance(all_rows, (bool, str, os.PathLike)):
        raise TypeError(
            "The 'all_rows' parameter of score_parquet must be True, False or a path. "
            f"Got {all_rows!r} instead."
        )


def _score(
    model: BaselineDetector, batch: Batch, one_row_per: str
) -> tuple[np.ndarray, pa.Table, np.ndarray]:
    """Scores and alert rows of one batch, and the batch row of each alert row.

    The lazily read event columns of the alert rows are still null:
    :class:`_Fetcher` fills them in.
    """
    try:
        table = model._events(
            batch.table,
            model.config_,
            reset=False,
            who="score_parquet",
            extra=alerts.EVENT_COLUMNS,
        )
    except Exception as exc:  # name the file: the message alone says only the column
        if batch.file:
            exc.args = (f"{batch.file}: {exc.args[0]}", *exc.args[1:])
        raise
    scores, found, rows = model._score_table(table, one_row_per=one_row_per)
    if found.num_rows and one_row_per == "key":
        found = found.append_column(_ORDER, pa.array(rows, pa.int64()))
    return scores, found, rows


def _with_lazy(reader: EventSource, batch: Batch, rows: np.ndarray, found: pa.Table) -> pa.Table:
    """``found`` with the lazily read event columns of its ``rows`` filled in."""
    lazy = reader.fetch(batch, rows) if found.num_rows else None
    if lazy is not None:
        for name in lazy.column_names:
            column = lazy.column(name)
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            target = alerts.ALERT_SCHEMA.field(name)
            found = found.set_column(
                found.schema.get_field_index(name), target, column.cast(target.type)
            )
    return found


class _Fetcher:
    """Fill in the lazy event columns of alert rows in a background thread, in order.

    Reading them (row groups of the file, up to the last alert row) overlaps
    with scoring the next batches; ``take(found, start)`` receives the alert
    rows of each batch in read order, as soon as they and those before are ready.
    """

    def __init__(self, reader: EventSource, take: Callable[[pa.Table, int], None]) -> None:
        self.reader = reader
        self.take = take
        self.pending: deque[tuple[Future[pa.Table], int]] = deque()
        self.pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> _Fetcher:
        return self

    def add(self, batch: Batch, found: pa.Table, rows: np.ndarray, start: int) -> None:
        if not found.num_rows:
            self.take(found, start)
            return
        if self.pool is None:
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="behavemodel-fetch")
        where = Batch(_NO_ROWS, batch.file, batch.offset)  # not the batch: memory stays small
        self.pending.append((self.pool.submit(_with_lazy, self.reader, where, rows, found), start))
        self._flush(wait=False)

    def _flush(self, *, wait: bool) -> None:
        while self.pending and (wait or self.pending[0][0].done()):
            future, start = self.pending.popleft()
            self.take(future.result(), start)

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        try:
            if kind is None:
                self._flush(wait=True)
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)


_NO_ROWS = pa.table({})


def _scores_table(table: pa.Table, scores: np.ndarray) -> pa.Table:
    if s.EVENT_ID in table.column_names:
        ids = table.column(s.EVENT_ID)
        if pa.types.is_dictionary(ids.type):
            ids = ids.cast(ids.type.value_type)
        ids = ids.cast(pa.string())
    else:
        ids = pa.nulls(table.num_rows, pa.string())
    return pa.table([ids, pa.array(scores, pa.float64())], schema=SCORES_SCHEMA)


@dataclass
class _Counts:
    rows: int = 0
    deviating: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    alerts_by_feature: dict[str, int] = field(default_factory=dict)

    def add(self, table: pa.Table, scores: np.ndarray, found: pa.Table) -> None:
        self.rows += table.num_rows
        self.deviating += int(np.count_nonzero(scores >= THRESHOLD))
        if s.EVENT_TYPE in table.column_names:
            for value, n in _value_counts(table.column(s.EVENT_TYPE)):
                name = "null" if value is None else str(value)
                self.by_type[name] = self.by_type.get(name, 0) + n
        self.count_alerts(found)

    def count_alerts(self, found: pa.Table) -> None:
        if not found.num_rows:
            return
        for item in pc.value_counts(found.column(alerts.FEATURE)).to_pylist():
            name = str(item["values"])
            self.alerts_by_feature[name] = self.alerts_by_feature.get(name, 0) + int(
                item["counts"]
            )


def _value_counts(column: pa.ChunkedArray) -> list[tuple[Any, int]]:
    """(value, count) of every value of ``column`` present (null as None).

    Dictionary chunks are counted on their indices (:func:`count_codes`, one
    pass), without hashing the values of every row.
    """
    counts: dict[Any, int] = {}
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type) and not chunk.dictionary.null_count:
            per = count_codes(chunk.indices, len(chunk.dictionary))
            found = np.flatnonzero(per)
            values = chunk.dictionary.take(pa.array(found)).to_pylist()
            pairs = list(zip(values, per[found].tolist(), strict=True))
            if chunk.null_count:
                pairs.append((None, chunk.null_count))
        else:
            pairs = [(i["values"], int(i["counts"])) for i in pc.value_counts(chunk).to_pylist()]
        for value, n in pairs:
            counts[value] = counts.get(value, 0) + n
    return list(counts.items())


class _KeyMerger:
    """One alert row per (host, group, feature, key) across batches, as explain() gives.

    The row kept is the key's first event (by time, then read order, then
    feature order); ``events`` add up and ``last_time`` is the latest.
    """

    _BY = (alerts.HOST_NAME, alerts.HOST_GROUP, alerts.FEATURE, alerts.KEY)
    _FEATURE = "__feature"

    def __init__(self, features: list[str]) -> None:
        self.features = pa.array(features, pa.string())
        self.table: pa.Table | None = None

    def add(self, found: pa.Table, start: int) -> None:
        """Merge one batch's key rows; ``start`` is the batch's first event in read order."""
        if not found.num_rows:
            return
        found = found.set_column(
            found.schema.get_field_index(_ORDER), _ORDER, pc.add(found.column(_ORDER), start)
        )
        found = found.append_column(
            self._FEATURE, pc.index_in(found.column(alerts.FEATURE), value_set=self.features)
        )
        both = found if self.table is None else pa.concat_tables([self.table, found])
        self.table = self._first_per_key(both.combine_chunks())

    def result(self) -> pa.Table:
        """The merged rows in explain() order, in :data:`alerts.ALERT_SCHEMA`."""
        if self.table is None:
            return alerts.ALERT_SCHEMA.empty_table()
        return self.table.drop_columns([_ORDER, self._FEATURE]).cast(alerts.ALERT_SCHEMA)

    def _first_per_key(self, table: pa.Table) -> pa.Table:
        order = pc.sort_indices(
            table,
            sort_keys=[
                (alerts.TIME, "ascending"),
                (_ORDER, "ascending"),
                (self._FEATURE, "ascending"),
            ],
        )
        table = table.take(order)
        keyed = pa.table(
            {
                **{name: table.column(name) for name in self._BY},
                "first": pa.array(np.arange(table.num_rows, dtype=np.int64)),
                "events": table.column(alerts.EVENTS),
                "last": table.column(alerts.LAST_TIME),
            }
        )
        grouped = keyed.group_by(list(self._BY), use_threads=False).aggregate(
            [("first", "min"), ("events", "sum"), ("last", "max")]
        )
        rank = np.argsort(grouped.column("first_min").to_numpy())  # keep the sorted order
        grouped = grouped.take(pa.array(rank))
        out = table.take(grouped.column("first_min"))
        for name, column in ((alerts.EVENTS, "events_sum"), (alerts.LAST_TIME, "last_max")):
            target = alerts.ALERT_SCHEMA.field(name)
            out = out.set_column(
                out.schema.get_field_index(name), target, grouped.column(column).cast(target.type)
            )
        return out


class _AtomicParquet:
    """A Parquet file written batch by batch to a temporary name, renamed on success."""

    def __init__(self, path: Path | None, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self.active = path is not None
        self._tmp: Path | None = None
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> _AtomicParquet:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
            self._writer = pq.ParquetWriter(self._tmp, self.schema, compression="zstd")
        return self

    def write(self, table: pa.Table) -> None:
        if self._writer is not None and table.num_rows:
            self._writer.write_table(table.cast(self.schema))

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        if self._writer is None or self._tmp is None or self.path is None:
            return
        self._writer.close()
        if kind is None:
            os.replace(self._tmp, self.path)
        else:
            with contextlib.suppress(OSError):
                self._tmp.unlink()


@contextlib.contextmanager
def _progress(show: bool | None, total: int | None) -> Iterator[Any]:
    from tqdm import tqdm

    if show is None:
        show = sys.stderr.isatty()
    with tqdm(
        total=total,
        unit="event",
        unit_scale=True,
        desc="scoring",
        disable=not show,
        file=sys.stderr,
    ) as bar:
        yield bar


def peak_rss() -> int | None:
    """Peak resident memory of this process, in bytes (None where unknown).

    Linux: ``VmHWM`` of ``/proc/self/status``, which, unlike ``ru_maxrss``, does
    not carry over the peak of the process that exec'd this one.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if not peak:  # pragma: no cover - platforms without ru_maxrss
        return None
    return int(peak) * (1 if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB elsewhere
