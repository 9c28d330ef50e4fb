"""From events to keyed observations, vectorised on dictionary codes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel import schema
from behavemodel.exceptions import SchemaError
from behavemodel.features._codes import ColumnCodes, combine_codes
from behavemodel.features._exceptions import FeatureConfigError
from behavemodel.features._extractors import Extractor, resolve_extractors
from behavemodel.features._groups import GroupMap
from behavemodel.features._normalise import PathNormaliser

__all__ = [
    "KEY_SEPARATOR",
    "EventCodes",
    "KeyedEvents",
    "as_event_table",
    "display_keys",
    "extract",
    "key_columns",
    "observe",
    "parse_duration",
]

#: Joins the components of a key into one string inside models (never in paths).
KEY_SEPARATOR = "\x00"

_TIME_TYPE = pa.timestamp("us", tz="UTC")


def parse_duration(value: Any, what: str, *, allow_zero: bool = True) -> pd.Timedelta:
    """Parse a duration parameter (``"1h"``, ``"7D"``, a timedelta) or raise clearly."""
    try:
        duration = pd.Timedelta(value)
    except (ValueError, TypeError):
        duration = pd.NaT
    if (
        duration is pd.NaT
        or pd.isna(duration)
        or duration < pd.Timedelta(0)
        or (not allow_zero and duration == pd.Timedelta(0))
    ):
        kind = "positive" if not allow_zero else "non-negative"
        raise FeatureConfigError(
            f"The {what} must be a {kind} duration such as '1h' or '7D'. Got {value!r} instead."
        )
    return duration


def key_columns(extractors: Sequence[Extractor], groups: GroupMap) -> tuple[list[str], list[str]]:
    """The columns fitting needs (required) and may use (optional) for these extractors."""
    required = [schema.TIME, schema.HOST_NAME]
    optional = list(groups.columns)
    for extractor in extractors:
        required += extractor.columns
        optional += extractor.optional_columns
    optional = [c for c in dict.fromkeys(optional) if c not in required]
    return schema.column_names(required) + [
        c for c in dict.fromkeys(required) if c not in schema.column_names(required)
    ], optional


def column_needs(extractors: Sequence[Extractor]) -> dict[str, str]:
    """Which extractor first needs each column (for error messages)."""
    needs: dict[str, str] = {}
    for extractor in extractors:
        for column in extractor.columns:
            needs.setdefault(column, extractor.name)
    return needs


def as_event_table(
    events: Any,
    columns: Sequence[str],
    *,
    optional: Sequence[str] = (),
    who: str = "behavemodel",
    needs: dict[str, str] | None = None,
) -> pa.Table:
    """Project events (DataFrame, Table or RecordBatch) to ``columns`` as an Arrow table.

    Raises
    ------
    SchemaError
        For anything that is not an event table, or lacks a required column (the
        message says which feature needs it).
    """
    if isinstance(events, pa.RecordBatch):
        events = pa.Table.from_batches([events])
    if isinstance(events, pd.DataFrame):
        present = [str(c) for c in events.columns]
    elif isinstance(events, pa.Table):
        present = events.column_names
    else:
        shape = getattr(events, "shape", None)
        described = type(events).__name__ + (f" of shape {shape}" if shape is not None else "")
        if _is_sparse(events):
            described = "sparse " + described + " (sparse matrices are not supported)"
        raise SchemaError(
            f"{who} expects events: a pandas DataFrame or pyarrow Table with the "
            f"{schema.SCHEMA_NAME} columns of behavemodel.schema. Got a {described} instead; "
            "read events with behavemodel.io or build them with behavemodel.schema.conform()."
        )
    missing = [c for c in columns if c not in present]
    if missing:
        needs = needs or {}
        detail = [f"{c!r}" + (f" (needed by {needs[c]})" if c in needs else "") for c in missing]
        raise SchemaError(
            f"{who} got events without the column(s) {', '.join(detail)}. Add them, or "
            "conform the table with behavemodel.schema.conform(events, fill_missing=True).",
            missing,
        )
    wanted = list(columns) + [c for c in optional if c in present and c not in columns]
    if isinstance(events, pd.DataFrame):
        table = pa.Table.from_pandas(events[wanted], preserve_index=False)
    else:
        table = events.select(wanted)
    time = table.column(schema.TIME)
    if not time.type.equals(_TIME_TYPE):
        if not pa.types.is_timestamp(time.type):
            raise SchemaError(
                f"{who} needs a timestamp 'time' column. Got {time.type} instead; convert it "
                "with behavemodel.schema.conform().",
                [schema.TIME],
            )
        if time.type.tz is None:
            time = time.cast(pa.timestamp(time.type.unit, tz="UTC"))
        table = table.set_column(
            table.column_names.index(schema.TIME), schema.TIME, time.cast(_TIME_TYPE)
        )
    if table.column(schema.TIME).null_count:
        raise SchemaError(
            f"{who} got {table.column(schema.TIME).null_count} event(s) without a time. "
            "Every event needs one; drop or fix those rows.",
            [schema.TIME],
        )
    return table


def _is_sparse(value: Any) -> bool:
    try:
        from scipy import sparse
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        return False
    return bool(sparse.issparse(value))


def time_us(table: pa.Table) -> np.ndarray:
    """The event times as int64 microseconds since the epoch."""
    return np.asarray(
        table.column(schema.TIME).cast(pa.int64()).to_numpy(zero_copy_only=False), np.int64
    )


class EventCodes:
    """Per-event codes shared by every extractor: the (group, host) pair and the time.

    ``pair`` numbers the distinct (group, host) pairs of the table (``-1`` where
    either is null); ``pair_group`` / ``pair_host`` give each pair's group and
    host as codes into ``group_values`` / ``host_values``. ``columns`` caches
    the table's encoded columns for the extractors.
    """

    def __init__(
        self,
        columns: ColumnCodes,
        pair: np.ndarray,
        pair_group: np.ndarray,
        group_values: pa.Array,
        pair_host: np.ndarray,
        host_values: pa.Array,
    ) -> None:
        self.columns = columns
        self.pair = pair
        self.pair_group = pair_group
        self.group_values = group_values
        self.pair_host = pair_host
        self.host_values = host_values

    @classmethod
    def build(cls, table: pa.Table, groups: GroupMap) -> EventCodes:
        columns = ColumnCodes(table)
        return cls(columns, *groups.pair_codes(columns))

    @cached_property
    def time(self) -> np.ndarray:
        """Event times as int64 microseconds."""
        return time_us(self.columns.table)

    @cached_property
    def valid(self) -> np.ndarray:
        """Whether each event has a (group, host) pair (events without one count nowhere)."""
        return self.pair >= 0

    @cached_property
    def group(self) -> np.ndarray:
        """Group code of every event (``-1`` for invalid events)."""
        return np.append(self.pair_group, -1)[self.pair]

    @cached_property
    def host(self) -> np.ndarray:
        """Host code of every event (``-1`` for invalid events)."""
        return np.append(self.pair_host, -1)[self.pair]


class KeyedEvents:
    """The events one extractor looks at, with their key.

    ``rows`` index the event table. ``parts`` hold, per key component, a code
    per selected event into the matching ``part_values``. ``key`` indexes
    ``key_values``, the distinct keys of this batch joined with
    :data:`KEY_SEPARATOR` (computed on first use; ``key_values`` may hold keys
    no event has).
    """

    def __init__(
        self,
        extractor: Extractor,
        rows: np.ndarray,
        parts: list[np.ndarray],
        part_values: list[pa.Array],
        selected: np.ndarray | None = None,
        kept: np.ndarray | None = None,
    ) -> None:
        self.extractor = extractor
        self.rows = rows
        self.parts = parts
        self.part_values = part_values
        #: The rows the extractor's filter selected (shared by extractors with the
        #: same filter) and, when some had a null key, which of them ``rows`` kept.
        self.selected = rows if selected is None else selected
        self.kept = kept

    @cached_property
    def _joined(self) -> tuple[np.ndarray, pa.Array]:
        if len(self.parts) == 1:
            return self.parts[0], self.part_values[0]
        if len(self.rows) == 0:
            return self.rows, pa.array([], pa.string())
        ids, parts = combine_codes(self.parts, [len(v) for v in self.part_values])
        return ids, join_parts(self.part_values, parts)

    @property
    def key(self) -> np.ndarray:
        return self._joined[0]

    @property
    def key_values(self) -> pa.Array:
        return self._joined[1]


def _without_separator(values: pa.Array) -> pa.Array:
    """Key component values with :data:`KEY_SEPARATOR` shown as ``\\x00``.

    A NUL inside a value (possible in JSON dumps, never in raw audit logs) would
    otherwise split one component in two when keys are taken apart again.
    """
    if len(values) == 0 or not pa.types.is_string(values.type):
        return values
    if not pc.any(pc.match_substring(values, KEY_SEPARATOR)).as_py():
        return values
    return pc.replace_substring(values, KEY_SEPARATOR, "\\x00")


def join_parts(part_values: Sequence[pa.Array], parts: Sequence[np.ndarray]) -> pa.Array:
    """Joined keys for the component codes ``parts`` (one array per component)."""
    pieces = [v.take(pa.array(p)) for v, p in zip(part_values, parts, strict=True)]
    if len(pieces) == 1:
        return pieces[0]
    return pc.binary_join_element_wise(*pieces, KEY_SEPARATOR)


def observe(
    table: pa.Table,
    extractors: Sequence[Extractor],
    normaliser: PathNormaliser,
    codes: EventCodes,
) -> Iterator[KeyedEvents]:
    """Apply each extractor: filter, build key codes, drop events with a null key.

    The extractors' events come one at a time, so that a caller can count the
    first feature's while the next one's are being selected.
    """
    columns = codes.columns
    if columns.table is not table:
        columns = ColumnCodes(table)
    for extractor in extractors:
        selection = (
            "rows",
            extractor.event_types,
            extractor.successful_only,
            extractor.where,
            extractor.interactive,
        )
        rows = columns.memo.get(selection)
        if not isinstance(rows, np.ndarray):
            mask = extractor.mask(table, columns)  # a new array: narrowed in place
            mask &= codes.valid
            rows = columns.memo[selection] = np.flatnonzero(mask)
        part_codes, part_values, part_nulls = [], [], []
        for key in extractor.keys:
            memo_key = ("key", selection, key, normaliser)
            found = columns.memo.get(memo_key)
            if not isinstance(found, tuple):
                found = columns.memo[memo_key] = key.coded(columns, rows, normaliser)
            part_codes.append(found[0])
            part_values.append(_without_separator(found[1]))
            part_nulls.append(found[2])
        keep: np.ndarray | None = None
        for c, nulls in zip(part_codes, part_nulls, strict=True):
            if nulls and (c < 0).any():
                keep = (c >= 0) if keep is None else keep & (c >= 0)
        selected = rows
        if keep is not None:
            rows = rows[keep]
            part_codes = [c[keep] for c in part_codes]
        yield KeyedEvents(extractor, rows, part_codes, part_values, selected, keep)


def display_keys(extractor: Extractor, keys: pa.Array) -> pa.Array:
    """Render joined keys as ``'exe=/usr/bin/nc, direction=listen'``."""
    parts = split_keys(keys)
    pieces: list[Any] = []
    for i, name in enumerate(extractor.key_names):
        if i:
            pieces.append(pa.scalar(", "))
        pieces.append(pa.scalar(f"{name}="))
        pieces.append(pc.list_element(parts, i))
    return pc.binary_join_element_wise(*pieces, "")


def split_keys(keys: pa.Array) -> pa.Array:
    """Joined keys -> ``list<string>`` of their components."""
    return pc.split_pattern(keys, KEY_SEPARATOR)


def extract(
    events: Any,
    extractors: Sequence[Extractor | str] | None = None,
    *,
    groups: GroupMap | None = None,
    normaliser: PathNormaliser | None = None,
    bucket: str | pd.Timedelta = "1h",
) -> pd.DataFrame:
    """Turn events into observations, de-duplicated per (host, key, time bucket).

    Parameters
    ----------
    events : pandas.DataFrame or pyarrow.Table
        Canonical events.
    extractors : list of Extractor or str, optional
        Defaults to the five built-in features.
    groups : GroupMap, optional
        Defaults to :class:`GroupMap` (``host_group`` column, else host name).
    normaliser : PathNormaliser, optional
        Defaults to the default rules.
    bucket : str or timedelta, default "1h"
        Width of the time buckets observations are de-duplicated in.

    Returns
    -------
    pandas.DataFrame
        Columns ``host_group``, ``feature``, ``key`` (readable), ``key_values``
        (list of the components), ``host_name``, ``time`` (bucket start) and
        ``events`` (events behind the observation), sorted.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.features import extract
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": pd.to_datetime(["2024-01-01T00:00:00Z", "2024-01-01T00:10:00Z",
    ...                             "2024-01-01T02:00:00Z"]),
    ...     "host_name": ["web-01"] * 3, "event_type": ["net_connect"] * 3,
    ...     "success": [True] * 3, "net_family": ["inet"] * 3,
    ...     "net_direction": ["outbound"] * 3, "dst_port": [443] * 3,
    ...     "process_exe": ["/usr/bin/curl"] * 3,
    ...     "event_id": ["a", "b", "c"], "source_format": ["canonical"] * 3,
    ... }), fill_missing=True)
    >>> obs = extract(events, ["NetworkProcesses"])
    >>> obs["key"].tolist()
    ['exe=/usr/bin/curl, direction=outbound', 'exe=/usr/bin/curl, direction=outbound']
    >>> obs["time"].dt.hour.tolist(), obs["events"].tolist()
    ([0, 2], [2, 1])
    """
    resolved = resolve_extractors(extractors)
    groups = groups if groups is not None else GroupMap()
    normaliser = normaliser if normaliser is not None else PathNormaliser()
    bucket_us = parse_duration(bucket, "bucket", allow_zero=False) // pd.Timedelta(1, "us")
    required, optional = key_columns(resolved, groups)
    table = as_event_table(
        events, required, optional=optional, who="extract", needs=column_needs(resolved)
    )
    codes = EventCodes.build(table, groups)
    frames = []
    for keyed in observe(table, resolved, normaliser, codes):
        rows = keyed.rows
        buckets = codes.time[rows] // bucket_us
        b0 = int(buckets.min()) if len(rows) else 0
        ids, (g, h, k, b) = combine_codes(
            [codes.group[rows], codes.host[rows], keyed.key, buckets - b0],
            [
                len(codes.group_values),
                len(codes.host_values),
                len(keyed.key_values),
                int(buckets.max() - b0 + 1) if len(rows) else 1,
            ],
        )
        counts = np.bincount(ids, minlength=len(g)) if len(ids) else ids
        key_values = keyed.key_values.take(pa.array(k))
        frames.append(
            pa.table(
                {
                    "host_group": codes.group_values.take(pa.array(g)),
                    "feature": pa.array([keyed.extractor.name] * len(g), pa.string()),
                    "key": display_keys(keyed.extractor, key_values),
                    "key_values": split_keys(key_values),
                    "host_name": codes.host_values.take(pa.array(h)),
                    "time": pa.array((b + b0) * bucket_us, pa.int64()).cast(_TIME_TYPE),
                    "events": pa.array(counts, pa.int64()),
                }
            )
        )
    result = pa.concat_tables(frames) if frames else None
    if result is None:  # pragma: no cover - resolve_extractors never returns []
        return pd.DataFrame()
    result = result.sort_by(
        [
            ("host_group", "ascending"),
            ("feature", "ascending"),
            ("key", "ascending"),
            ("host_name", "ascending"),
            ("time", "ascending"),
        ]
    )
    return schema.to_pandas(result)
