"""Shared plumbing of the investigation tools: event columns, ordering, as-of lookups, text.

Everything here works on whole columns (numpy arrays taken from Arrow), so the
tools built on it stay vectorised over millions of events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel import schema
from behavemodel.exceptions import BehaveModelError, SchemaError

__all__ = [
    "EventColumns",
    "EventNotFoundError",
    "as_of",
    "display_name",
    "format_rows",
    "pair_codes",
    "parse_seconds",
    "pick",
    "plain_text",
    "take",
]

_US = pa.timestamp("us", tz="UTC")
NO_TIME = np.iinfo(np.int64).min


class EventNotFoundError(BehaveModelError, LookupError):
    """An event id asked for is not among the events.

    Examples
    --------
    >>> err = EventNotFoundError(["h:1.000:7"])
    >>> print(err)
    No event with id 'h:1.000:7' among the events; check the id and the events' time span.
    >>> isinstance(err, LookupError)
    True
    """

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = list(missing)
        shown = ", ".join(repr(m) for m in self.missing[:5])
        more = f" and {len(self.missing) - 5} more" if len(self.missing) > 5 else ""
        plural = "s" if len(self.missing) > 1 else ""
        super().__init__(
            f"No event with id{plural} {shown}{more} among the events; check the id and the "
            "events' time span."
        )

    def __str__(self) -> str:  # LookupError would repr() the message
        return str(self.args[0])


def parse_seconds(value: Any, what: str) -> float:
    """A non-negative duration (``"2s"``, ``5``, a timedelta) in seconds, or a clear error.

    Examples
    --------
    >>> parse_seconds("1min", "window"), parse_seconds(2, "window"), parse_seconds("1.5", "w")
    (60.0, 2.0, 1.5)
    """
    try:
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, (int, float, np.integer, np.floating)):
            seconds = float(value)
        elif isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
            seconds = float(value)  # a bare number is seconds, not nanoseconds
        else:
            seconds = pd.Timedelta(value).total_seconds()
    except (ValueError, TypeError):
        seconds = float("nan")
    if not seconds >= 0:
        raise ValueError(
            f"The '{what}' parameter must be a non-negative duration such as '2s', '1min' or a "
            f"number of seconds. Got {value!r} instead."
        )
    return seconds


class EventColumns:
    """Canonical columns of an event table as numpy arrays, fetched on demand.

    Accepts a pandas DataFrame, a pyarrow Table or RecordBatch. Columns the
    events lack read as all-null. Rows keep the input order; :attr:`order`
    gives each row's position in time order (ties broken by the audit serial
    in ``event_id``, then by input order).
    """

    def __init__(self, events: Any, who: str) -> None:
        if isinstance(events, pa.RecordBatch):
            events = pa.Table.from_batches([events])
        if isinstance(events, pd.DataFrame):
            wanted = [c for c in schema.column_names() if c in events.columns]
            events = pa.Table.from_pandas(events[wanted], preserve_index=False)
        if not isinstance(events, pa.Table):
            raise SchemaError(
                f"{who} expects events: a pandas DataFrame or pyarrow Table with the "
                f"{schema.SCHEMA_NAME} columns of behavemodel.schema. Got a "
                f"{type(events).__name__} instead."
            )
        if schema.TIME not in events.column_names:
            raise SchemaError(
                f"{who} needs the events' 'time' column; conform the table with "
                "behavemodel.schema.conform(events, fill_missing=True).",
                [schema.TIME],
            )
        self.table = events
        self.n = events.num_rows
        self.who = who
        self._cache: dict[tuple[str, str], Any] = {}

    def remember(self, key: tuple[Any, ...], value: Any = None) -> Any:
        """Store ``value`` under ``key`` (when given) and return what is stored, or None."""
        if value is not None:
            self._cache[("memo", repr(key))] = value
        return self._cache.get(("memo", repr(key)))

    def has(self, name: str) -> bool:
        return name in self.table.column_names

    def arrow(self, name: str) -> pa.ChunkedArray:
        """The column as Arrow, dictionaries decoded; all-null if absent."""
        key = ("arrow", name)
        if key not in self._cache:
            if self.has(name):
                column = self.table.column(name)
                if pa.types.is_dictionary(column.type):
                    column = column.cast(column.type.value_type)
            else:
                column = pa.chunked_array(
                    [pa.nulls(self.n, schema.CANONICAL_SCHEMA.field(name).type)]
                )
                if pa.types.is_dictionary(column.type):
                    column = column.cast(pa.string())
            self._cache[key] = column
        return self._cache[key]  # type: ignore[no-any-return]

    def time_us(self) -> np.ndarray:
        """Event times as int64 microseconds since the epoch."""
        key = ("time", schema.TIME)
        if key not in self._cache:
            column = self.table.column(schema.TIME)
            if not pa.types.is_timestamp(column.type):
                raise SchemaError(
                    f"{self.who} needs a timestamp 'time' column. Got {column.type} instead; "
                    "convert it with behavemodel.schema.conform().",
                    [schema.TIME],
                )
            if column.type.tz is None:
                column = column.cast(pa.timestamp(column.type.unit, tz="UTC"))
            values = column.cast(_US).cast(pa.int64()).fill_null(NO_TIME)
            self._cache[key] = np.asarray(values.to_numpy(), np.int64)
        return self._cache[key]  # type: ignore[no-any-return]

    def ints(self, name: str, missing: int = -1) -> np.ndarray:
        """An integer column as int64 with nulls as ``missing``."""
        key = ("int", name)
        if key not in self._cache:
            column = self.arrow(name)
            if pa.types.is_floating(column.type):
                column = pc.cast(pc.floor(column), pa.int64())
            values = column.cast(pa.int64()).fill_null(missing)
            self._cache[key] = np.asarray(values.to_numpy(), np.int64)
        return self._cache[key]  # type: ignore[no-any-return]

    def strings(self, name: str) -> np.ndarray:
        """A string column as an object array with ``None`` for nulls."""
        key = ("str", name)
        if key not in self._cache:
            column = self.arrow(name)
            self._cache[key] = np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)
        return self._cache[key]  # type: ignore[no-any-return]

    def arrow_at(self, name: str, rows: np.ndarray) -> pa.Array:
        """A string column at ``rows`` as Arrow (null where ``rows`` is negative)."""
        index = pa.array(rows, pa.int64(), mask=np.asarray(rows) < 0)
        taken = self.arrow(name).take(index)
        return taken.combine_chunks() if isinstance(taken, pa.ChunkedArray) else taken

    def strings_at(self, name: str, rows: np.ndarray) -> np.ndarray:
        """A string column at ``rows`` as an object array (None where ``rows`` is negative)."""
        values = self.arrow_at(name, rows).to_numpy(zero_copy_only=False)
        return np.asarray(values, dtype=object).copy()

    def codes(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Dictionary codes (int64, -1 for null) and the distinct values."""
        key = ("codes", name)
        if key not in self._cache:
            column = self.arrow(name)
            encoded = column.dictionary_encode().combine_chunks()
            indices = encoded.indices.cast(pa.int64()).fill_null(-1)
            values = np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object)
            self._cache[key] = (np.asarray(indices.to_numpy(), np.int64), values)
        return self._cache[key]  # type: ignore[no-any-return]

    def equals(self, name: str, value: str | Iterable[str]) -> np.ndarray:
        """Boolean mask: the column equals ``value`` (or is one of the values)."""
        values = [value] if isinstance(value, str) else list(value)
        mask = pc.is_in(self.arrow(name), value_set=pa.array(values, pa.string()))
        return np.asarray(mask.fill_null(False).to_numpy(), bool)

    def is_false(self, name: str) -> np.ndarray:
        """Boolean mask: a bool column is explicitly false (null counts as not false)."""
        column = self.arrow(name)
        return np.asarray(pc.invert(column).fill_null(False).to_numpy(), bool)

    def serial(self) -> np.ndarray:
        """The audit serial from ``event_id`` (``host:sec.ms:serial``), -1 when absent."""
        key = ("serial", schema.EVENT_ID)
        if key not in self._cache:
            ids = self.arrow(schema.EVENT_ID)
            found = pc.extract_regex(ids, r":(?P<serial>\d{1,18})$")
            digits = pc.struct_field(found, [0])
            self._cache[key] = np.asarray(
                digits.cast(pa.int64()).fill_null(-1).to_numpy(), np.int64
            )
        return self._cache[key]  # type: ignore[no-any-return]

    @property
    def order(self) -> np.ndarray:
        """Each row's rank in (time, serial, input row) order."""
        key = ("order", "")
        if key not in self._cache:
            perm = np.lexsort((np.arange(self.n), self.serial(), self.time_us()))
            rank = np.empty(self.n, np.int64)
            rank[perm] = np.arange(self.n)
            self._cache[key] = rank
        return self._cache[key]  # type: ignore[no-any-return]

    def host_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """Host codes with a null host as its own code (value None)."""
        key = ("hosts", "")
        if key not in self._cache:
            codes, values = self.codes(schema.HOST_NAME)
            if (codes < 0).any():
                values = np.concatenate([values, np.array([None], dtype=object)])
                codes = np.where(codes < 0, len(values) - 1, codes)
            self._cache[key] = (codes, values)
        return self._cache[key]  # type: ignore[no-any-return]


def pair_codes(*pairs: tuple[np.ndarray, np.ndarray]) -> list[np.ndarray]:
    """Dense int64 codes of (a, b) integer pairs, shared across several arrays.

    Pairs with a negative member get code -1.

    Examples
    --------
    >>> import numpy as np
    >>> x, y = pair_codes((np.array([0, 0, 1]), np.array([5, 6, 5])),
    ...                   (np.array([1, 0]), np.array([5, -1])))
    >>> x.tolist(), y.tolist()
    ([0, 1, 2], [2, -1])
    """
    combined = [np.asarray(a, np.int64) * (1 << 32) + np.asarray(b, np.int64) for a, b in pairs]
    valid = [(np.asarray(a) >= 0) & (np.asarray(b) >= 0) for a, b in pairs]
    everything = np.concatenate(combined) if combined else np.empty(0, np.int64)
    codes, _ = pd.factorize(everything)
    out: list[np.ndarray] = []
    start = 0
    for c, ok in zip(combined, valid, strict=True):
        part = np.asarray(codes[start : start + len(c)], np.int64)
        out.append(np.where(ok, part, -1))
        start += len(c)
    return out


def as_of(
    key: np.ndarray, at: np.ndarray, query_key: np.ndarray, query_at: np.ndarray, *, strict: bool
) -> np.ndarray:
    """For each query, the index of the latest item with the same key at or before its time.

    ``at`` values are ranks (>= -1). Returns -1 where nothing qualifies or the
    query key is negative. ``strict`` requires the item to be strictly earlier.

    Examples
    --------
    >>> import numpy as np
    >>> as_of(np.array([0, 0, 1]), np.array([-1, 5, 2]),
    ...       np.array([0, 0, 1, 1, 0]), np.array([3, 5, 1, 9, 5]), strict=False).tolist()
    [0, 1, -1, 2, 1]
    >>> as_of(np.array([0, 0]), np.array([-1, 5]), np.array([0]), np.array([5]),
    ...       strict=True).tolist()
    [0]
    """
    if len(key) == 0 or len(query_key) == 0:
        return np.full(len(query_key), -1, np.int64)
    span = int(max(at.max(), query_at.max())) + 3
    items = key * span + (at + 1)
    queries = query_key * span + (query_at + 1) - (1 if strict else 0)
    sorter = np.argsort(items, kind="stable")
    pos = np.searchsorted(items[sorter], queries, side="right") - 1
    idx = np.where(pos >= 0, sorter[np.clip(pos, 0, None)], -1)
    ok = (idx >= 0) & (query_key >= 0) & (key[np.clip(idx, 0, None)] == query_key)
    return np.where(ok, idx, -1).astype(np.int64)


def pick(values: np.ndarray, idx: np.ndarray, missing: Any = -1) -> np.ndarray:
    """``values[idx]``, with ``missing`` where ``idx`` is negative (``values`` may be empty).

    Examples
    --------
    >>> import numpy as np
    >>> pick(np.array([10, 20]), np.array([1, -1])).tolist(), pick(np.array([]), np.array([-1]))
    ([20, -1], array([-1]))
    """
    out = np.full(
        len(idx), missing, dtype=values.dtype if len(values) else np.asarray(missing).dtype
    )
    has = idx >= 0
    if has.any():
        out[has] = values[idx[has]]
    return out


def take(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``values[rows]`` as an object array, None where ``rows`` is negative.

    Examples
    --------
    >>> import numpy as np
    >>> take(np.array(["a", "b"], dtype=object), np.array([1, -1, 0])).tolist()
    ['b', None, 'a']
    """
    out = np.full(len(rows), None, dtype=object)
    if len(values):
        has = rows >= 0
        out[has] = values[rows[has]]
    return out


def display_name(name: Any, exe: Any) -> str | None:
    """The short name shown in chains: comm, else the basename of the executable."""
    if isinstance(name, str) and name:
        return name
    if isinstance(exe, str) and exe:
        return exe.rstrip("/").rsplit("/", 1)[-1] or exe
    return None


def plain_text(value: object, limit: int = 200) -> str:
    """Default cell renderer: control characters escaped, long values cut.

    Examples
    --------
    >>> plain_text("a\\x1b[2Jb")
    'a\\\\x1b[2Jb'
    """
    if value is None or (not isinstance(value, (str, bytes)) and bool(pd.isna(value))):
        return ""
    text = str(value)
    out = [
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode()
        for ch in text
    ]
    rendered = "".join(out)
    return rendered if len(rendered) <= limit else rendered[: limit - 1] + "…"


Cell = Callable[[object], str]


def format_rows(rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    """Align already-rendered cells in columns (the last column is not padded).

    Examples
    --------
    >>> print("\\n".join(format_rows([["a", "bb", "x"], ["ccc", "d", "y"]])))
    a    bb  x
    ccc  d   y
    """
    if not rows:
        return []
    width = max(len(r) for r in rows)
    sizes = [max((len(r[i]) for r in rows if i < len(r)), default=0) for i in range(width)]
    lines = []
    for r in rows:
        cells = [c.ljust(sizes[i]) if i < len(r) - 1 else c for i, c in enumerate(r)]
        lines.append((indent + "  ".join(cells)).rstrip())
    return lines


def clock(us: int, *, date: bool = False) -> str:
    """``HH:MM:SS.mmm`` (with the date when asked) of int64 microseconds, UTC."""
    if us == NO_TIME:
        return "(before log)"
    ts = pd.Timestamp(us, unit="us", tz="UTC")
    text = ts.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")
    return f"{text}.{ts.microsecond // 1000:03d}"
