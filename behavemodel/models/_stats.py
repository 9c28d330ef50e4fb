"""Mergeable baseline statistics over Arrow batches.

The learned state of a :class:`~behavemodel.models.BaselineDetector` is one Arrow
table, :data:`STATS_SCHEMA`, with a row per (group, feature, key, host):

- ``events``: events behind the key on that host;
- ``first_time`` / ``last_time``: first and last of those events;
- ``run_start`` / ``run_end``: the time buckets (``floor(time / bucket)``) in which
  the key was seen on the host, as sorted, coalesced runs. The number of
  observations (de-duplicated per host, key and bucket) is the total length of
  the runs.

Rows whose ``feature`` and ``key`` are null are coverage rows: every event of
the host counts there, whatever the extractors keep, so the model knows how long
each group has been watched.

Every column combines exactly (sums, minima, maxima and unions of runs), so
:func:`merge_stats` gives the same table in any order and for any split of the
events, and fitting is ``merge_stats([partial_stats(b, config) for b in batches])``.
These are pure functions over Arrow data: any engine (Dask, Spark's
``mapInArrow``, Ray's ``map_batches``) can run them.
"""

from __future__ import annotations

import contextvars
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel.exceptions import SchemaError
from behavemodel.features._codes import combine_codes, encode
from behavemodel.features._exceptions import FeatureConfigError
from behavemodel.features._extractors import Extractor, resolve_extractors
from behavemodel.features._groups import GroupMap
from behavemodel.features._loops import use_compiled
from behavemodel.features._normalise import PathNormaliser
from behavemodel.features._observe import (
    EventCodes,
    as_event_table,
    column_needs,
    join_parts,
    key_columns,
    observe,
    parse_duration,
)
from behavemodel.models import _kernels
from behavemodel.models._count import (
    Piece,
    Selection,
    count,
    permute_runs,
    ranks,
    tuple_ranks,
)

__all__ = [
    "STATS_SCHEMA",
    "StatsConfig",
    "merge_stats",
    "partial_stats",
]

_TS = pa.timestamp("us", tz="UTC")
HOST_GROUP = "host_group"
FEATURE = "feature"
KEY = "key"
HOST_NAME = "host_name"
EVENTS = "events"
FIRST_TIME = "first_time"
LAST_TIME = "last_time"
RUN_START = "run_start"
RUN_END = "run_end"

#: Schema of the learned statistics (``key`` holds components joined by NUL).
STATS_SCHEMA = pa.schema(
    [
        pa.field(HOST_GROUP, pa.string(), nullable=False),
        pa.field(FEATURE, pa.string()),
        pa.field(KEY, pa.string()),
        pa.field(HOST_NAME, pa.string(), nullable=False),
        pa.field(EVENTS, pa.int64(), nullable=False),
        pa.field(FIRST_TIME, _TS, nullable=False),
        pa.field(LAST_TIME, _TS, nullable=False),
        pa.field(RUN_START, pa.list_(pa.int64()), nullable=False),
        pa.field(RUN_END, pa.list_(pa.int64()), nullable=False),
    ]
)
_PYARROW_MAJOR = int(pa.__version__.split(".")[0])
_SORT_KEYS = [
    (HOST_GROUP, "ascending"),
    (FEATURE, "ascending"),
    (KEY, "ascending"),
    (HOST_NAME, "ascending"),
]


@dataclass(frozen=True)
class StatsConfig:
    """What :func:`partial_stats` computes: extractors, normalisation, groups, bucket.

    Parameters
    ----------
    extractors : sequence of Extractor or str, optional
        Defaults to the five built-in features.
    normaliser : PathNormaliser, optional
    groups : GroupMap, optional
    bucket : str or timedelta, default "1h"
        Observations are de-duplicated per host, key and bucket.

    Examples
    --------
    >>> from behavemodel.models import StatsConfig
    >>> config = StatsConfig(["NetworkProcesses"], bucket="30min")
    >>> config.to_dict()["bucket"]
    '0 days 00:30:00'
    >>> StatsConfig.from_dict(config.to_dict()).to_dict() == config.to_dict()
    True
    """

    extractors: tuple[Extractor, ...] | Sequence[Extractor | str] | None = None
    normaliser: PathNormaliser | None = None
    groups: GroupMap | Mapping[str, str] | None = None
    bucket: str | pd.Timedelta = "1h"

    def __post_init__(self) -> None:
        object.__setattr__(self, "extractors", tuple(resolve_extractors(self.extractors)))
        if self.normaliser is None:
            object.__setattr__(self, "normaliser", PathNormaliser())
        elif not isinstance(self.normaliser, PathNormaliser):
            raise FeatureConfigError(
                f"The normaliser must be a PathNormaliser. Got {self.normaliser!r} instead."
            )
        if self.groups is None:
            object.__setattr__(self, "groups", GroupMap())
        elif isinstance(self.groups, Mapping):
            object.__setattr__(self, "groups", GroupMap.from_mapping(self.groups))
        elif not isinstance(self.groups, GroupMap):
            raise FeatureConfigError(
                "The groups must be a GroupMap or a host -> group dict. "
                f"Got {self.groups!r} instead."
            )
        object.__setattr__(self, "bucket", parse_duration(self.bucket, "bucket", allow_zero=False))

    @property
    def bucket_us(self) -> int:
        """The bucket width in microseconds."""
        return int(pd.Timedelta(self.bucket) // pd.Timedelta(1, "us"))

    @property
    def feature_names(self) -> list[str]:
        return [e.name for e in self._extractors]

    @property
    def _extractors(self) -> tuple[Extractor, ...]:
        return self.extractors  # type: ignore[return-value]

    @property
    def _normaliser(self) -> PathNormaliser:
        return self.normaliser  # type: ignore[return-value]

    @property
    def _groups(self) -> GroupMap:
        return self.groups  # type: ignore[return-value]

    def columns(self) -> tuple[list[str], list[str], dict[str, str]]:
        """Required columns, optional columns, and which feature needs each column."""
        required, optional = key_columns(self._extractors, self._groups)
        return required, optional, column_needs(self._extractors)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form stored in model files."""
        return {
            "extractors": [e.to_dict() for e in self._extractors],
            "normaliser": self._normaliser.to_dict(),
            "groups": self._groups.to_dict(),
            "bucket": str(pd.Timedelta(self.bucket)),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StatsConfig:
        """Rebuild a configuration from :meth:`to_dict` output."""
        try:
            return cls(
                extractors=[Extractor.from_dict(e) for e in data["extractors"]],
                normaliser=PathNormaliser.from_dict(data["normaliser"]),
                groups=GroupMap.from_dict(data["groups"]),
                bucket=data["bucket"],
            )
        except (KeyError, TypeError) as exc:
            raise FeatureConfigError(
                "A StatsConfig description needs 'extractors', 'normaliser', 'groups' and "
                f"'bucket'. Got {data!r} instead ({exc})."
            ) from None


def empty_stats() -> pa.Table:
    """A statistics table with no rows."""
    return STATS_SCHEMA.empty_table()


def partial_stats(batch: Any, config: StatsConfig) -> pa.Table:
    """Count one batch of events: the map step of fitting.

    Parameters
    ----------
    batch : pyarrow.RecordBatch, pyarrow.Table or pandas.DataFrame
        Canonical events (only the columns the extractors read are needed).
    config : StatsConfig

    Returns
    -------
    pyarrow.Table
        Statistics in :data:`STATS_SCHEMA`, sorted by group, feature, key, host.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.models import StatsConfig, merge_stats, partial_stats
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": pd.to_datetime(["2024-01-01T00:00:00Z", "2024-01-01T03:00:00Z"]),
    ...     "host_name": ["web-01", "web-02"], "event_type": ["process_start"] * 2,
    ...     "process_exe": ["/usr/sbin/nginx"] * 2, "user_name": ["www-data"] * 2,
    ...     "event_id": ["a", "b"], "source_format": ["canonical"] * 2,
    ... }), fill_missing=True)
    >>> config = StatsConfig(["ProcessOwners"])
    >>> a = partial_stats(events.slice(0, 1), config)
    >>> b = partial_stats(events.slice(1), config)
    >>> merge_stats([a, b]).equals(partial_stats(events, config))
    True
    >>> columns = ["host_group", "feature", "host_name", "events"]
    >>> merge_stats([a, b]).select(columns).to_pylist()[:2]
    [{'host_group': 'web-01', 'feature': None, 'host_name': 'web-01', 'events': 1}, \
{'host_group': 'web-01', 'feature': 'ProcessOwners', 'host_name': 'web-01', 'events': 1}]
    """
    required, optional, needs = config.columns()
    table = as_event_table(batch, required, optional=optional, who="partial_stats", needs=needs)
    if table.num_rows == 0:
        return empty_stats()
    codes = EventCodes.build(table, config._groups)
    valid = codes.valid
    if not valid.any():
        return empty_stats()
    bucket, origin, size = _buckets(codes.time, config.bucket_us)
    n_pairs = len(codes.pair_group)
    coverage = Selection(codes, bucket, None if valid.all() else np.flatnonzero(valid))
    # The counts release the GIL (numpy, the compiled loop): on a large batch they run
    # on a second thread while the extractors select their events.
    with _Counting(table.num_rows) as counting:
        counting.submit(None, count, coverage, None, n_pairs, size)
        del coverage
        selections: dict[int, Selection] = {}
        for keyed in observe(table, config._extractors, config._normaliser, codes):
            if len(keyed.rows):
                selection = selections.get(id(keyed.selected))
                if selection is None or selection.rows is not keyed.selected:
                    selection = Selection(codes, bucket, keyed.selected)
                    selections[id(keyed.selected)] = selection
                counting.submit(keyed.extractor.name, count, selection, keyed, n_pairs, size)
        pieces = counting.results()
    return _assemble(codes, pieces, origin)


def _buckets(time: np.ndarray, bucket_us: int) -> tuple[np.ndarray, int, int]:
    """Each event's bucket counted from the first, that first bucket, and how many there are.

    int32 when the buckets fit: half the memory of every copy the counts make.
    Written a slice at a time, so that the only temporary is a small one.

    Examples
    --------
    >>> import numpy as np
    >>> from behavemodel.models._stats import _buckets
    >>> _buckets(np.array([7_200, 3_600, 10_799]), 3_600)
    (array([1, 0, 1], dtype=int32), 1, 2)
    """
    first, last = int(time.min()) // bucket_us, int(time.max()) // bucket_us
    size = last - first + 1
    out = np.empty(len(time), dtype=np.int32 if size < 2**31 else np.int64)
    step = 1 << 20
    for start in range(0, len(time), step):
        part = time[start : start + step] // bucket_us
        part -= first
        out[start : start + step] = part
    return out, first, size


#: Batches of at least this many events are counted on two threads.
_THREAD_ROWS = 200_000


class _Counting:
    """:func:`~behavemodel.models._count.count` calls, on two threads for big batches.

    Counts go to a second thread as they come, while this one selects the next
    feature's events; once that is done, this thread takes the counts the other
    has not started. The pieces, and so the statistics, are the same whichever
    thread counts them.
    """

    def __init__(self, rows: int) -> None:
        threads = rows >= _THREAD_ROWS and (os.cpu_count() or 1) > 1
        self.pool = (
            ThreadPoolExecutor(1, thread_name_prefix="behavemodel-count") if threads else None
        )
        self.jobs: list[tuple[str | None, Any, Callable[[], Piece]]] = []

    def __enter__(self) -> _Counting:
        return self

    def submit(self, feature: str | None, how: Callable[..., Piece], *args: Any) -> None:
        """Run ``how(*args)``, the piece of ``feature`` (None: coverage), here or on the pool."""
        job = functools.partial(how, *args)
        if self.pool is None:
            self.jobs.append((feature, job(), job))
        else:
            # the pool thread counts in this thread's context (numpy_loops holds there too)
            self.jobs.append((feature, self.pool.submit(contextvars.copy_context().run, job), job))

    def results(self) -> list[tuple[str | None, Piece]]:
        """The pieces in submission order.

        The counts the pool has not started run here, the last first, while the
        pool works from the first.
        """
        pieces: dict[int, Piece] = {}
        for i in reversed(range(len(self.jobs))):
            _, piece, job = self.jobs[i]
            if not isinstance(piece, Future):
                pieces[i] = piece
            elif piece.cancel():
                pieces[i] = job()
        return [
            (feature, pieces[i] if i in pieces else piece.result())
            for i, (feature, piece, _) in enumerate(self.jobs)
        ]

    def __exit__(self, *exc: Any) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _assemble(codes: EventCodes, pieces: list[tuple[str | None, Piece]], origin: int) -> pa.Table:
    """One statistics table from the pieces (buckets counted from ``origin``), in canonical order.

    The order (group, feature, key, host; nulls first) is computed on ranks in
    the small dictionaries, so no string is compared per row, and every column
    is permuted as integers before its strings are taken once.
    """
    group_rank = ranks(codes.group_values)
    host_rank = ranks(codes.host_values)
    names = [f for f, _ in pieces]
    feature_rank = ranks(pa.array([f or "" for f in names], pa.string()))
    columns: dict[str, list[np.ndarray]] = {
        name: [] for name in ("pair", "feature", "key", "key_rank", "events", "first", "last")
    }
    run_counts, run_start, run_end, dictionaries = [], [], [], []
    keys = 0
    for i, (feature, piece) in enumerate(pieces):
        n = len(piece.pair)
        if feature is None:
            key, key_rank = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
        else:
            key, distinct = combine_codes(piece.parts, [len(v) for v in piece.part_values])
            dictionaries.append(join_parts(piece.part_values, distinct))
            key_rank = tuple_ranks(distinct, piece.part_values)[key]
            key = key + keys
            keys += len(dictionaries[-1])
        for name, values in (
            ("pair", piece.pair),
            ("feature", np.full(n, i, np.int64)),
            ("key", key),
            ("key_rank", key_rank),
            ("events", piece.events),
            ("first", piece.first),
            ("last", piece.last),
        ):
            columns[name].append(values)
        run_counts.append(np.bincount(piece.run_owner, minlength=n))
        run_start.append(piece.run_start)
        run_end.append(piece.run_end)
    flat = {name: np.concatenate(values) for name, values in columns.items()}
    group = codes.pair_group[flat["pair"]]
    host = codes.pair_host[flat["pair"]]
    which = flat["feature"]
    f_rank = np.where(np.array([f is None for f in names])[which], -1, feature_rank[which])
    order = _order((group_rank[group], f_rank + 1, flat["key_rank"] + 1, host_rank[host]))
    offsets, starts, ends = permute_runs(
        np.concatenate(run_counts),
        np.concatenate(run_start),
        np.concatenate(run_end),
        order,
        origin,
    )
    key = flat["key"][order]
    dictionary = pa.concat_arrays(dictionaries) if dictionaries else pa.array([], pa.string())
    which = which[order]
    return pa.table(
        [
            codes.group_values.take(pa.array(group[order])),
            pa.array(names, pa.string()).take(pa.array(which)),
            dictionary.take(pa.array(key, mask=key < 0)),
            codes.host_values.take(pa.array(host[order])),
            pa.array(flat["events"][order]),
            pa.array(flat["first"][order], pa.int64()).cast(_TS),
            pa.array(flat["last"][order], pa.int64()).cast(_TS),
            pa.ListArray.from_arrays(offsets, pa.array(starts, pa.int64())),
            pa.ListArray.from_arrays(offsets, pa.array(ends, pa.int64())),
        ],
        schema=STATS_SCHEMA,
    )


def _order(keys: tuple[np.ndarray, ...]) -> np.ndarray:
    """Stable order of rows by non-negative integer ``keys``, the first one first.

    One sort of a mixed-radix int64 when the keys fit in one, as they do for the
    ranks of a batch's small dictionaries; else ``lexsort``. Both give the same
    permutation.

    Examples
    --------
    >>> import numpy as np
    >>> from behavemodel.models._stats import _order
    >>> _order((np.array([1, 0, 1, 0]), np.array([0, 5, 0, 2]))).tolist()
    [3, 1, 0, 2]
    """
    sizes = [int(k.max()) + 1 if len(k) else 1 for k in keys]
    if float(np.prod([float(x) for x in sizes])) >= 2.0**62:
        return np.lexsort(keys[::-1])
    combined = np.zeros(len(keys[0]), dtype=np.int64)
    for key, size in zip(keys, sizes, strict=True):
        combined *= size
        combined += key
    return np.argsort(combined, kind="stable")


def _union_runs(
    owner: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coalesce inclusive integer intervals per owner (overlapping or adjacent ones merge).

    Returns the runs sorted by owner, then start. ``owner`` is non-negative.
    The compiled loops group the runs by owner instead of sorting them all
    (:func:`~behavemodel.models._kernels.union_runs`); this numpy code is
    their twin.
    """
    if len(owner) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    if use_compiled(_kernels.COMPILED):
        return _kernels.union_runs(owner, start, end)
    order = _order((owner, start - int(start.min())))
    owner, start, end = owner[order], start[order], end[order]
    base = int(start.min())
    width = int(end.max()) - base + 2
    keyed_end = owner * width + (end - base)
    reach = np.maximum.accumulate(keyed_end)
    keyed_start = owner * width + (start - base)
    new = np.ones(len(owner), dtype=bool)
    new[1:] = (owner[1:] != owner[:-1]) | (keyed_start[1:] > reach[:-1] + 1)
    first = np.flatnonzero(new)
    return owner[first], start[first], np.maximum.reduceat(end, first)


def _run_lists(
    owner: np.ndarray, start: np.ndarray, end: np.ndarray, n: int
) -> tuple[pa.ListArray, pa.ListArray]:
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(owner, minlength=n), out=offsets[1:])
    off = pa.array(offsets, pa.int32())
    return (
        pa.ListArray.from_arrays(off, pa.array(start, pa.int64())),
        pa.ListArray.from_arrays(off, pa.array(end, pa.int64())),
    )


def _sorted(table: pa.Table) -> pa.Table:
    """Canonical row order: group, feature, key, host, coverage rows (null feature) first."""
    if _PYARROW_MAJOR >= 25:
        table = table.sort_by([(name, order, "at_start") for name, order in _SORT_KEYS])
    else:  # pragma: no cover - older pyarrow only takes one null placement
        table = table.sort_by(_SORT_KEYS, null_placement="at_start")
    return table.combine_chunks()


def check_stats(table: Any, what: str = "statistics table") -> pa.Table:
    """Return ``table`` cast to :data:`STATS_SCHEMA`, or raise a SchemaError naming columns."""
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    if not isinstance(table, pa.Table):
        raise SchemaError(
            f"A {what} must be a pyarrow Table in STATS_SCHEMA. Got {type(table).__name__} "
            "instead; build one with partial_stats()."
        )
    missing = [n for n in STATS_SCHEMA.names if n not in table.column_names]
    if missing:
        raise SchemaError(
            f"The {what} lacks the column(s) {missing}; it must follow STATS_SCHEMA "
            "(build it with partial_stats()).",
            missing,
        )
    try:
        return table.select(STATS_SCHEMA.names).cast(STATS_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise SchemaError(f"The {what} does not follow STATS_SCHEMA: {exc}.") from None


def merge_stats(tables: Sequence[pa.Table]) -> pa.Table:
    """Combine statistics tables: the reduce step of fitting.

    Associative and commutative: any grouping and order of the inputs gives the
    same table, equal to the statistics of all their events at once.

    Parameters
    ----------
    tables : sequence of pyarrow.Table
        Outputs of :func:`partial_stats` or :func:`merge_stats`.

    Returns
    -------
    pyarrow.Table
        In :data:`STATS_SCHEMA`, sorted by group, feature, key, host.
    """
    checked = [check_stats(t) for t in tables]
    checked = [t for t in checked if t.num_rows]
    if not checked:
        return empty_stats()
    table = pa.concat_tables(checked).combine_chunks()
    column_codes, column_values = [], []
    for name in (HOST_GROUP, FEATURE, KEY, HOST_NAME):
        codes, values = encode(table.column(name))
        column_codes.append(codes + 1)  # null -> 0
        column_values.append(values)
    ids, parts = combine_codes(column_codes, [len(v) + 1 for v in column_values])
    n = len(parts[0])
    events = np.zeros(n, dtype=np.int64)
    np.add.at(events, ids, table.column(EVENTS).to_numpy())
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first, ids, table.column(FIRST_TIME).cast(pa.int64()).to_numpy())
    np.maximum.at(last, ids, table.column(LAST_TIME).cast(pa.int64()).to_numpy())
    starts = table.column(RUN_START).combine_chunks()
    ends = table.column(RUN_END).combine_chunks()
    parent = pc.list_parent_indices(starts).to_numpy()
    run_owner, run_start, run_end = _union_runs(
        ids[parent],
        pc.list_flatten(starts).to_numpy(),
        pc.list_flatten(ends).to_numpy(),
    )
    decoded = []
    for codes, values in zip(parts, column_values, strict=True):
        indices = pa.array(codes - 1, mask=codes == 0, type=pa.int64())
        decoded.append(values.take(indices))
    merged = pa.table(
        [
            *decoded,
            pa.array(events),
            pa.array(first, pa.int64()).cast(_TS),
            pa.array(last, pa.int64()).cast(_TS),
            *_run_lists(run_owner, run_start, run_end, n),
        ],
        schema=STATS_SCHEMA,
    )
    return _sorted(merged)


def observations(stats: pa.Table) -> np.ndarray:
    """Observations per row: the total length of its runs."""
    starts = stats.column(RUN_START).combine_chunks()
    ends = stats.column(RUN_END).combine_chunks()
    lengths = pc.list_flatten(ends).to_numpy() - pc.list_flatten(starts).to_numpy() + 1
    if starts.null_count or ends.null_count:  # not in STATS_SCHEMA; count them as no runs
        parent = pc.list_parent_indices(starts).to_numpy()
        return np.bincount(parent, weights=lengths, minlength=stats.num_rows).astype(np.int64)
    # sums over each row's slice of the flattened runs, from the list offsets
    offsets = starts.offsets.to_numpy().astype(np.int64)
    total = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=total[1:])
    offsets -= offsets[0]
    return total[offsets[1:]] - total[offsets[:-1]]


def stats_for_observations(rows: pd.DataFrame, bucket_us: int) -> pa.Table:
    """Statistics for explicit observations (``accept``): one run of one bucket each.

    ``rows`` has columns host_group, feature, key, host_name, time (int64 us), events.
    """
    if rows.empty:
        return empty_stats()
    time = rows["time"].to_numpy(np.int64)
    bucket = time // bucket_us
    n = len(rows)
    off = pa.array(np.arange(n + 1, dtype=np.int32))
    table = pa.table(
        [
            pa.array(rows[HOST_GROUP].tolist(), pa.string()),
            pa.array(rows[FEATURE].tolist(), pa.string()),
            pa.array(rows[KEY].tolist(), pa.string()),
            pa.array(rows[HOST_NAME].tolist(), pa.string()),
            pa.array(rows[EVENTS].to_numpy(np.int64)),
            pa.array(time, pa.int64()).cast(_TS),
            pa.array(time, pa.int64()).cast(_TS),
            pa.ListArray.from_arrays(off, pa.array(bucket, pa.int64())),
            pa.ListArray.from_arrays(off, pa.array(bucket, pa.int64())),
        ],
        schema=STATS_SCHEMA,
    )
    return merge_stats([table])
