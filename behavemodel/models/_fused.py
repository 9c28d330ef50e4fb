"""Score a batch in one pass over its events, with lookup tables built per dictionary.

The reference path (:meth:`Baseline._evaluate <behavemodel.models._index.Baseline>`)
filters events, builds key codes and numbers (group, key) pairs in many numpy
passes. Here everything that depends on a value rather than on an event is
computed once per dictionary value, as small tables:

- per distinct (host, group column) pair, the event's model group;
- per dictionary value of a filter column, whether the filter passes;
- per dictionary value of a key column (normalised, with its fallback), its
  code among the model's values of that key component;
- per model (group, key) pair, the score and whether it is a deviation, from
  the very function the reference path uses (:meth:`Baseline._score`).

:func:`~behavemodel.models._kernels.score_events` then makes one pass over the
events. Only the few deviating events go through the reference path, for the
rows of the alerts, so both paths give identical scores and alerts.
Configurations the tables cannot describe (relative paths, huge code spaces)
use the reference path; :func:`score_fused` returns None for them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel import schema
from behavemodel.features._codes import _DENSE_LIMIT, ColumnCodes, to_string_array
from behavemodel.features._extractors import _TERMINAL_PREFIXES, Extractor, Key, _successful
from behavemodel.features._normalise import PathNormaliser
from behavemodel.features._observe import KEY_SEPARATOR, _without_separator
from behavemodel.models._kernels import (
    ScoreTables,
    fill_codes,
    integer_codes,
    mark_pairs,
    model_keys,
    score_events,
)

if TYPE_CHECKING:
    from behavemodel.models._index import Baseline
    from behavemodel.models._stats import StatsConfig

__all__ = ["ENABLED", "score_fused"]

#: Whether :meth:`Baseline.evaluate` tries the one-pass scorer (tests switch it off
#: to compare with the reference path).
ENABLED = True
#: Largest lookup table (entries) built per feature; larger models use the reference path.
_TABLE_LIMIT = 1 << 22
_CACHE = "_fused_tables"
#: Largest table of a feature's combined key codes (entries); beyond, key parts one by one.
_DIRECT_LIMIT = 1 << 16


@dataclass
class _ModelFeature:
    """The model's keys of one feature, split into components."""

    part_values: list[pa.Array]
    radix: list[int]
    ktab: np.ndarray
    n_keys: int
    stab: np.ndarray
    dtab: np.ndarray


def _model_feature(baseline: Baseline, name: str, n_parts: int) -> _ModelFeature | None:
    lookup = baseline.features[name]
    keys = to_string_array(lookup.key_values)
    n_keys = len(keys)
    n_groups = len(baseline.group_values)
    if (n_groups + 1) * (n_keys + 1) > _TABLE_LIMIT:
        return None
    if n_parts == 1:
        parts = [keys]
    else:
        split = pc.split_pattern(keys, KEY_SEPARATOR)
        if n_keys and pc.min_max(pc.list_value_length(split))["min"].as_py() != n_parts:
            return None
        if n_keys and pc.min_max(pc.list_value_length(split))["max"].as_py() != n_parts:
            return None
        parts = [pc.list_element(split, i) for i in range(n_parts)]
    part_values, part_codes, radix = [], [], []
    for part in parts:
        encoded = pc.dictionary_encode(part)
        part_values.append(to_string_array(encoded.dictionary))
        part_codes.append(encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64))
        radix.append(max(len(part_values[-1]), 1))
    if float(np.prod([float(r) for r in radix])) > _TABLE_LIMIT:
        return None
    ktab = np.full(int(np.prod(radix)), -1, dtype=np.int64)
    code = np.zeros(n_keys, dtype=np.int64)
    for codes, size in zip(part_codes, radix, strict=True):
        code *= size
        code += codes
    ktab[code] = np.arange(n_keys, dtype=np.int64)
    group = np.repeat(np.arange(-1, n_groups, dtype=np.int64), n_keys + 1)
    key = np.tile(np.arange(-1, n_keys, dtype=np.int64), n_groups + 1)
    scores = baseline._score(lookup, group, key)
    return _ModelFeature(
        part_values=part_values,
        radix=radix,
        ktab=ktab,
        n_keys=n_keys,
        stab=np.ascontiguousarray(scores.score, dtype=np.float64),
        dtab=np.ascontiguousarray(~scores.known & scores.active),
    )


def _model_side(baseline: Baseline, config: StatsConfig) -> list[_ModelFeature] | None:
    """The model tables of every feature, computed once per baseline (None: unsupported)."""
    cache: dict[Any, Any] = baseline.__dict__.setdefault(_CACHE, {})
    signature = tuple((e.name, len(e.keys)) for e in config._extractors)
    if signature not in cache:
        found: list[_ModelFeature] | None = []
        for name, n_parts in signature:
            feature = (
                _model_feature(baseline, name, n_parts) if name in baseline.features else None
            )
            if feature is None or found is None:
                found = None
                break
            found.append(feature)
        cache[signature] = found
    result: list[_ModelFeature] | None = cache[signature]
    return result


class _Matrix:
    """The code columns the kernel reads, one row each, numbered in order of first use.

    Dictionary columns are copied from their indices and small-range integers
    ranked straight into the matrix; others go through
    :func:`~behavemodel.features._codes.encode`. A row's codes index its
    ``values``, which may differ from ``encode``'s numbering (the tables built
    from them are per value, so that does not matter).
    """

    def __init__(self, columns: ColumnCodes, rows: int, *, fresh: bool = False) -> None:
        self.columns = columns
        self.names: dict[str, tuple[int, pa.Array]] = {}
        self.n = columns.table.num_rows
        self.buffer = np.empty((rows, self.n), dtype=np.int32) if fresh else _buffer(rows, self.n)
        self.used = 0

    def add(self, name: str) -> tuple[int, pa.Array]:
        found = self.names.get(name)
        if found is None:
            row = self._next()
            values = _fill(self.columns.table.column(name), self.buffer[row])
            if values is None:
                codes, values = self.columns(name)
                self.buffer[row] = codes
            found = self.names[name] = (row, values)
        return found

    def push(self, codes: np.ndarray) -> int:
        row = self._next()
        self.buffer[row] = codes
        return row

    def _next(self) -> int:
        if self.used == len(self.buffer):
            grown = np.empty((2 * len(self.buffer) + 1, self.n), dtype=np.int32)
            grown[: self.used] = self.buffer[: self.used]
            self.buffer = grown
        self.used += 1
        return self.used - 1

    def stack(self) -> np.ndarray:
        return self.buffer[: max(self.used, 1)]


_BUFFERS = threading.local()


def _buffer(rows: int, n: int) -> np.ndarray:
    """A (rows, n) int32 matrix, reused by the next batch of this thread.

    Fresh memory costs a page fault per 4 KiB on first touch, as much as
    filling it; batches of a dump all have about the same size.
    """
    kept = getattr(_BUFFERS, "matrix", None)
    if kept is None or kept.size < rows * n or kept.size > 4 * max(rows * n, 1 << 20):
        kept = _BUFFERS.matrix = np.empty(rows * n, dtype=np.int32)
    return kept[: rows * n].reshape(rows, n)


def _fill(column: pa.ChunkedArray, out: np.ndarray) -> pa.Array | None:
    """Write the codes of ``column`` into ``out`` and return its values; None: not here."""
    if column.num_chunks != 1:
        return None
    array = column.chunk(0)
    if pa.types.is_dictionary(array.type):
        dictionary = array.dictionary
        if dictionary.null_count or len(dictionary) >= 2**31 - 1:
            return None
        values = to_string_array(dictionary)
        if pc.count_distinct(values).as_py() != len(values):
            return None
        fill_codes(array.indices, out)
        return values
    if pa.types.is_integer(array.type):
        return integer_codes(array, out, _DENSE_LIMIT)
    return None


class _Flat:
    """Tables laid end to end; ``add`` returns where each one starts."""

    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype
        self.parts: list[np.ndarray] = []
        self.size = 0

    def add(self, table: np.ndarray) -> int:
        start = self.size
        self.parts.append(np.asarray(table, dtype=self.dtype))
        self.size += len(table)
        return start

    def array(self) -> np.ndarray:
        if not self.parts:
            return np.zeros(1, dtype=self.dtype)
        return np.ascontiguousarray(np.concatenate(self.parts))


def _member(values: pa.Array, allowed: Any, cache: dict[Any, Any]) -> np.ndarray:
    """Per code (null first), whether the value is among ``allowed`` (None: null), as in _isin."""
    return _memo(  # type: ignore[no-any-return]
        cache,
        ("member", allowed),
        (values,),
        lambda: _member_table(values, allowed),
        per_value=True,
    )


def _member_table(values: pa.Array, allowed: Any) -> np.ndarray:
    wanted = [str(v) for v in allowed if v is not None]
    hit = pc.is_in(values, value_set=pa.array(wanted, pa.string())).to_numpy(zero_copy_only=False)
    return np.concatenate([[None in allowed], hit.astype(bool)])


def _filters(
    extractor: Extractor, matrix: _Matrix, ftab: _Flat, cache: dict[Any, Any]
) -> list[tuple[int, int]]:
    """(column, table start) of every filter of ``extractor``, as Extractor.mask applies them."""
    out = []
    if extractor.event_types:
        col, values = matrix.add(schema.EVENT_TYPE)
        out.append((col, ftab.add(_member(values, extractor.event_types, cache))))
    if extractor.successful_only:
        success = matrix.columns.table.column(schema.SUCCESS)
        if not pa.types.is_boolean(success.type) or pc.any(pc.invert(success)).as_py():
            ok = _successful(matrix.columns)
            col = matrix.push(ok.astype(np.int32))
            out.append((col, ftab.add(np.array([False, False, True]))))
    for column, allowed in extractor.where:
        col, values = matrix.add(column)
        out.append((col, ftab.add(_member(values, allowed, cache))))
    if extractor.interactive == "exclude" and schema.TTY in matrix.columns:
        col, values = matrix.add(schema.TTY)
        terminal = [v is not None and v.startswith(_TERMINAL_PREFIXES) for v in values.to_pylist()]
        out.append((col, ftab.add(~np.array([False, *terminal], dtype=bool))))
    return out


def _memo(
    cache: dict[Any, Any],
    key: Any,
    inputs: tuple[pa.Array, ...],
    compute: Any,
    *,
    per_value: bool = False,
) -> Any:
    """``compute()``, or its result for the last ``inputs`` under ``key`` when they are equal.

    Batches of one dump mostly carry equal dictionaries, so their tables are
    built once; comparing small dictionaries costs far less than rebuilding.

    With ``per_value``, the result is a table ``[null, *one per value of
    inputs[0], *rest]`` whose entry for a value depends on that value alone.
    When only ``inputs[0]`` changed and its values are all among the last ones
    (each row group of a dump has the same values, in another order), the
    entries are taken from the last result instead of computed again.
    """
    found = cache.get(key)
    if found is not None and all(a.equals(b) for a, b in zip(found[0], inputs, strict=True)):
        return found[1]
    result = None
    if per_value and found is not None:
        result = _reordered(found[0], found[1], inputs)
    if result is None:
        result = compute()
    cache[key] = (inputs, result)
    return result


def _reordered(
    old_inputs: tuple[pa.Array, ...], old: np.ndarray, inputs: tuple[pa.Array, ...]
) -> np.ndarray | None:
    """``old`` (see :func:`_memo`) for the values of ``inputs[0]``; None when some are new."""
    before, values = old_inputs[0], inputs[0]
    if not before.type.equals(values.type) or not all(
        a.equals(b) for a, b in zip(old_inputs[1:], inputs[1:], strict=True)
    ):
        return None
    at = pc.index_in(values, value_set=before)
    if at.null_count:
        return None
    n = len(before)
    where = at.to_numpy(zero_copy_only=False).astype(np.intp)
    return np.concatenate([old[:1], old[1 : 1 + n][where], old[1 + n :]])


def _component(
    key: Key,
    normaliser: PathNormaliser,
    matrix: _Matrix,
    model_values: pa.Array,
    cache: dict[Any, Any],
    where: tuple[str, int],
) -> tuple[int, int, int, np.ndarray] | None:
    """(column, fallback column, fallback shift, code -> model component) of one key part."""
    columns = matrix.columns
    if key.relative_to and key.relative_to in columns:
        return None
    col, values = matrix.add(key.column)
    fallback = -1
    fallback_values = pa.array([], pa.string())
    if key.fallback and key.fallback in columns and not columns.complete(key.column):
        fallback, fallback_values = matrix.add(key.fallback)

    def compute() -> np.ndarray:
        both = values
        if fallback >= 0:
            both = pa.concat_arrays([values, to_string_array(fallback_values)])
        transform = key._transform(normaliser)
        if transform is not None:
            both = transform(both)
        both = _without_separator(to_string_array(both))
        found = pc.index_in(both, value_set=model_values)
        mapped = pc.fill_null(found.cast(pa.int64()), -1).to_numpy(zero_copy_only=False)
        mapped = np.where(pc.is_null(both).to_numpy(zero_copy_only=False), -2, mapped)
        return np.concatenate([[-2], mapped]).astype(np.int64)

    inputs = (values, fallback_values, model_values)
    mapping = _memo(
        cache, ("key", where, key, normaliser, fallback >= 0), inputs, compute, per_value=True
    )
    return col, fallback, len(values), mapping


def _direct(
    name: str,
    parts: list[tuple[np.ndarray, int]],
    feature: _ModelFeature,
    cache: dict[Any, Any],
) -> tuple[np.ndarray, list[int]] | None:
    """The model key of every combination of a feature's column codes, and the strides.

    Entry ``sum((code_q + 1) * stride_q)`` is what the kernel would find through
    the components' tables and ``ktab``: ``-2`` when a component has no key,
    ``-1`` when one is not in the model, else the model key. One lookup in
    place of one per component plus ``ktab``, which takes about a fifth off the
    scoring loop. None (the kernel goes component by component) when the
    combinations exceed :data:`_DIRECT_LIMIT`. Built once per set of component
    tables, which are themselves kept while the dictionaries stay equal.
    """
    sizes = [len(mapping) for mapping, _ in parts]  # null, the values, the fallback's
    if np.prod([float(n) for n in sizes]) > _DIRECT_LIMIT:
        return None
    inputs = (feature.ktab, *(mapping for mapping, _ in parts))
    kept = cache.get(("direct", name))
    if kept is not None and all(a is b for a, b in zip(kept[0], inputs, strict=True)):
        return kept[1]  # type: ignore[no-any-return]
    grid = []  # component j's lookups along axis j: every combination of codes
    for j, (mapping, _) in enumerate(parts):
        shape = [1] * len(parts)
        shape[j] = sizes[j]
        grid.append(mapping.reshape(shape))
    keys = model_keys(grid, [radix for _, radix in parts], feature.ktab)
    table = np.broadcast_to(keys, sizes).ravel()
    strides = [int(np.prod(sizes[j + 1 :], dtype=np.int64)) for j in range(len(parts))]
    result = (table, strides)
    cache[("direct", name)] = (inputs, result)
    return result


def _group_table(
    baseline: Baseline, config: StatsConfig, matrix: _Matrix, n: int
) -> tuple[int, int, int, np.ndarray] | None:
    """(host column, group column, width, pair -> model group) for the pairs present."""
    groups = config._groups
    columns = matrix.columns
    host, host_values = matrix.add(schema.HOST_NAME)
    group, group_values = -1, pa.array([], pa.string())
    if groups.column is not None and groups.column in columns:
        group, group_values = matrix.add(groups.column)
    width = len(group_values) + 1
    size = (len(host_values) + 1) * width
    if size > max(_TABLE_LIMIT, n):
        return None
    seen = np.zeros(size, dtype=bool)
    codes = matrix.buffer
    mark_pairs(codes[host], codes[group] if group >= 0 else None, width, seen)
    # pairs already assigned for equal dictionaries are kept: assign() is Python
    inputs = (host_values, group_values)
    key = ("groups", groups, group >= 0)
    cache: dict[Any, Any] = baseline.__dict__.setdefault(_CACHE, {})
    gtab, done = _memo(
        cache,
        key,
        inputs,
        lambda: (np.full(size, -2, dtype=np.int64), np.zeros(size, dtype=bool)),
    )
    present = np.flatnonzero(seen & ~done)
    if not len(present):
        return host, group, width, gtab
    hosts, others = present // width - 1, present % width - 1
    assigned = groups.assign(
        host_values.take(pa.array(hosts, mask=hosts < 0)),
        group_values.take(pa.array(others, mask=others < 0)) if group >= 0 else None,
    )
    found = pc.index_in(assigned, value_set=baseline.group_values)
    model_group = pc.fill_null(found.cast(pa.int64()), -1).to_numpy(zero_copy_only=False)
    invalid = (hosts < 0) | pc.is_null(assigned).to_numpy(zero_copy_only=False)
    gtab, done = gtab.copy(), done | seen  # new arrays: other threads may be reading
    gtab[present] = np.where(invalid, -2, model_group)
    cache[key] = (inputs, (gtab, done))
    return host, group, width, gtab


def score_fused(
    baseline: Baseline, table: pa.Table, config: StatsConfig, *, compiled: bool | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """Every event's score and the events that deviate somewhere, in one pass.

    Returns None when the configuration needs the reference path.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector
    >>> from behavemodel.models._fused import score_fused
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": pd.to_datetime(["2024-01-01 00:00", "2024-01-01 05:00",
    ...                             "2024-01-02 00:00"], utc=True),
    ...     "host_name": ["web-01"] * 3, "event_type": ["process_start"] * 3,
    ...     "process_exe": ["/usr/sbin/nginx", "/usr/sbin/nginx", "/bin/sh"],
    ...     "user_name": ["www-data"] * 3,
    ...     "event_id": ["a", "b", "c"], "source_format": ["canonical"] * 3,
    ... }), fill_missing=True)
    >>> model = BaselineDetector(features=["ProcessOwners"], min_span="1h").fit(events[:2])
    >>> scores, rows = score_fused(model._baseline, events, model.config_)
    >>> scores.round(3).tolist(), rows.tolist()
    ([0.167, 0.167, 1.0], [2])
    """
    if len(config._extractors) > 62:
        return None
    model = _model_side(baseline, config)
    if model is None:
        return None
    cache: dict[Any, Any] = baseline.__dict__.setdefault(_CACHE, {})
    n = table.num_rows
    matrix = _Matrix(ColumnCodes(table), len(table.column_names) + 1)
    grouping = _group_table(baseline, config, matrix, n)
    if grouping is None:
        return None
    ftab, ptab = _Flat(bool), _Flat(np.int64)
    selections: dict[Any, int] = {}
    sel_filters: list[list[tuple[int, int]]] = []
    feat_sel, q_start, q_rows, k_off, k_n, s_off = [], [0], [], [], [], []
    ktab, stab, dtab = _Flat(np.int64), _Flat(np.float64), _Flat(bool)
    d_off, q_stride, ctab = [], [], _Flat(np.int64)
    for extractor, feature in zip(config._extractors, model, strict=True):
        selection = (
            extractor.event_types,
            extractor.successful_only,
            extractor.where,
            extractor.interactive,
        )
        if selection not in selections:
            filters = _filters(extractor, matrix, ftab, cache)
            selections[selection] = len(sel_filters)
            sel_filters.append(filters)
        feat_sel.append(selections[selection])
        parts: list[tuple[np.ndarray, int]] = []
        for i, (key, values, radix) in enumerate(
            zip(extractor.keys, feature.part_values, feature.radix, strict=True)
        ):
            where = (extractor.name, i)  # features sharing a key have their own model values
            part = _component(key, config._normaliser, matrix, values, cache, where)
            if part is None:
                return None
            col, fallback, shift, mapping = part
            q_rows.append((col, fallback, shift, ptab.add(mapping), radix))
            parts.append((mapping, radix))
        found = _direct(extractor.name, parts, feature, cache)
        d_off.append(-1 if found is None else ctab.add(found[0]))
        q_stride.extend([0] * len(parts) if found is None else found[1])
        q_start.append(len(q_rows))
        k_off.append(ktab.add(feature.ktab))
        k_n.append(feature.n_keys)
        s_off.append(stab.add(feature.stab))
        dtab.add(feature.dtab)
    host, group, width, gtab = grouping
    sel_start = np.cumsum([0, *(len(f) for f in sel_filters)])
    flat_filters = [f for filters in sel_filters for f in filters]

    def ints(values: Any) -> np.ndarray:
        return np.asarray(values, dtype=np.int64).reshape(-1)

    q = np.array(q_rows, dtype=np.int64).reshape(-1, 5)
    tables = ScoreTables(
        host=host,
        group=group,
        width=width,
        gtab=gtab,
        sel_start=ints(sel_start),
        f_col=ints([c for c, _ in flat_filters]),
        f_off=ints([o for _, o in flat_filters]),
        ftab=ftab.array(),
        feat_sel=ints(feat_sel),
        q_start=ints(q_start),
        q_col=ints(q[:, 0]),
        q_fb=ints(q[:, 1]),
        q_n=ints(q[:, 2]),
        q_off=ints(q[:, 3]),
        q_radix=ints(q[:, 4]),
        ptab=ptab.array(),
        k_off=ints(k_off),
        ktab=ktab.array(),
        k_n=ints(k_n),
        s_off=ints(s_off),
        stab=stab.array(),
        dtab=dtab.array(),
        d_off=ints(d_off),
        q_stride=ints(q_stride),
        ctab=ctab.array(),
    )
    row_score, rows, _ = score_events(matrix.stack(), tables, compiled=compiled)
    return row_score, rows
