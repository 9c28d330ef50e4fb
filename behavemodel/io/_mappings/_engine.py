"""Evaluate a compiled mapping on batches of one source schema.

:func:`bind` resolves every input path of a :class:`Plan` against one file's
schema (failing with :class:`MissingSourceColumnError` when a required one is
absent); the :class:`Bound` result knows which source leaves to read, projects
a raw table onto the inputs, and :meth:`Bound.evaluate` turns the projected batch
into canonical columns plus the rows that cannot be used (no time, a value
outside a closed vocabulary).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from behavemodel import schema as s
from behavemodel.exceptions import SchemaError
from behavemodel.io._mappings import _arrow as A
from behavemodel.io._mappings._plan import (
    ELEMENT,
    ROW,
    SEP,
    Plan,
    kind_of,
    missing_error,
    resolve_path,
)
from behavemodel.io._mappings._spec import (
    Computed,
    Const,
    Expr,
    Field,
    RowFunction,
    Spec,
)

__all__ = ["Bound", "Problems", "Values", "bind"]

_VOCABULARIES = {
    s.EVENT_TYPE: s.EVENT_TYPES,
    s.NET_DIRECTION: s.NET_DIRECTIONS,
    s.CMDLINE_SOURCE: s.CMDLINE_SOURCES,
}


class Values:
    """What a :class:`Step` sees: converted inputs and earlier canonical columns."""

    def __init__(self, n: int, data: dict[str, pa.Array], present: set[str]) -> None:
        self.n = n
        self._data = data
        self._present = present

    def __getitem__(self, name: str) -> pa.Array:
        return self._data[name]

    def has(self, name: str) -> bool:
        """Whether the dump has (any alternative of) input ``name``."""
        return name in self._present

    def nulls(self, t: pa.DataType | None = None) -> pa.Array:
        return pa.nulls(self.n, t if t is not None else pa.string())


def bind(plan: Plan, schema: pa.Schema, file: str | None) -> Bound:
    """Resolve the plan's inputs against one schema (cached per schema)."""
    bound = plan.bound.get(schema)
    if bound is not None:
        return Bound(plan, bound.resolved, bound.expressions, file)
    resolved: dict[str, list[tuple[str, ...]]] = {}
    for key, f in plan.fields.items():
        found = [names for p in f.paths if (names := resolve_path(schema, p)) is not None]
        if not found and f.required:
            raise missing_error(plan, key, f, schema, file)
        resolved[key] = found
    expressions = {
        f"expr{SEP}{column}": spec.expression
        for column, spec in plan.direct.items()
        if isinstance(spec, Expr)
    }
    bound = Bound(plan, resolved, expressions, file)
    if len(plan.bound) < 64:
        plan.bound[schema] = bound
    return bound


@dataclass
class Problems:
    """Rows that cannot become events: positions in the batch and reasons."""

    rows: list[np.ndarray] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def add(self, mask: np.ndarray, reason: str) -> None:
        if mask.any():
            self.rows.append(np.flatnonzero(mask))
            self.reasons.append(reason)


@dataclass
class Bound:
    """A plan resolved against one schema."""

    plan: Plan
    resolved: dict[str, list[tuple[str, ...]]]
    expressions: dict[str, pc.Expression]
    file: str | None

    def leaves(self, stored: set[str]) -> list[str]:
        """Dotted paths to read (Parquet leaf selection) of the columns in ``stored``."""
        seen: dict[str, None] = {}
        for found in self.resolved.values():
            for names in found:
                if names[0] in stored:
                    seen[".".join(names)] = None
        return list(seen)

    def project(self, table: pa.Table) -> pa.Table:
        """One column per present input alternative (and expression), plus ``ROW``."""
        columns: dict[str, pa.Array | pa.ChunkedArray] = {}
        for key, found in self.resolved.items():
            for i, names in enumerate(found):
                value: pa.Array | pa.ChunkedArray = table.column(names[0])
                for name in names[1:]:
                    value = pc.struct_field(value, name)
                columns[f"{key}{SEP}{i}"] = value
        if self.expressions:
            extra = ds.dataset(table).to_table(columns=self.expressions)
            columns.update({name: extra.column(name) for name in extra.column_names})
        for name in (ROW, ELEMENT):
            if name in table.schema.names:
                columns[name] = table.column(name)
        if not columns:
            return pa.table({ROW: pa.nulls(table.num_rows, pa.int64())})
        return pa.table(columns)

    def source_name(self, key: str) -> str:
        """The source path behind a projection key (for error texts)."""
        base, _, index = key.rpartition(SEP)
        if base in self.resolved and index.isdigit():
            return ".".join(self.resolved[base][int(index)])
        if key.startswith(f"expr{SEP}"):
            return f"<expression for {key.split(SEP, 1)[1]}>"
        return key

    def _input(self, batch: pa.RecordBatch | pa.Table, key: str, f: Field) -> pa.Array:
        n = batch.num_rows
        found = self.resolved.get(key, [])
        if not found:
            return _typed_nulls(f.kind, n)
        arrays = []
        for i, names in enumerate(found):
            raw = A.as_array(batch.column(f"{key}{SEP}{i}"), n)
            try:
                arrays.append(self._convert(raw, f))
            except TypeError as exc:
                raise SchemaError(
                    f"The source column {'.'.join(names)!r} of {self.file or 'the source'} "
                    f"cannot be used by the {self.plan.label!r} mapping: {exc}.",
                    [".".join(names)],
                ) from None
        if len(arrays) == 1:
            return arrays[0]
        if len({a.type for a in arrays}) > 1:
            arrays = [a.cast(arrays[0].type) for a in arrays]
        return pc.coalesce(*arrays)

    def _convert(self, raw: pa.Array, f: Field) -> pa.Array:
        if f.kind == "string":
            return A.to_string(raw)
        if f.kind == "int":
            return A.to_int(raw)
        if f.kind == "bool":
            return A.to_bool(raw)
        if f.kind == "time":
            times, problem = A.to_time(raw, f.unit)
            if problem is not None:
                raise TypeError(problem)
            return times
        return raw

    def evaluate(
        self,
        batch: pa.RecordBatch | pa.Table,
        raw: pa.RecordBatch | pa.Table | None = None,
        *,
        host: str | None = None,
    ) -> tuple[dict[str, pa.Array], Problems]:
        """Canonical columns for one projected batch, and the unusable rows.

        ``batch`` carries the row numbers of its rows in the ``ROW`` column; they
        make the fallback event ids (``host:seconds.millis:file#row``).
        """
        n = batch.num_rows
        plan = self.plan
        data: dict[str, pa.Array] = {}
        for column, spec in plan.direct.items():
            data[column] = self._direct(batch, raw, column, spec, n)
        _fill_host(data, host)
        present = {k for k, found in self.resolved.items() if found}
        for st in plan.steps:
            values: dict[str, pa.Array] = {}
            for name in st.inputs:
                if name.startswith("@"):
                    values[name] = data.get(name[1:], pa.nulls(n, _canonical_type(name[1:])))
                else:
                    values[name] = self._input(batch, name, plan.fields[name])
            out = st.func(Values(n, values, present))
            for column, value in out.items():
                # A direct spec for the same column (a user override) wins.
                data.setdefault(column, A.as_array(value, n))
            _fill_host(data, host)
        return self._finish(data, batch, n, host)

    def _direct(
        self,
        batch: pa.RecordBatch | pa.Table,
        raw: pa.RecordBatch | pa.Table | None,
        column: str,
        spec: Spec,
        n: int,
    ) -> pa.Array:
        kind = kind_of(column)
        if isinstance(spec, Field):
            return self._input(batch, f"col{SEP}{column}", spec.with_kind(kind))
        if isinstance(spec, Const):
            return pa.repeat(pa.scalar(spec.value), n) if spec.value is not None else pa.nulls(n)
        if isinstance(spec, Expr):
            value = A.as_array(batch.column(f"expr{SEP}{column}"), n)
        elif isinstance(spec, Computed):
            args = [
                self._input(batch, f"col{SEP}{column}{SEP}{i}", f)
                for i, f in enumerate(spec.inputs)
            ]
            value = A.as_array(spec.func(*args), n)
        else:
            assert isinstance(spec, RowFunction)
            source = raw if raw is not None else batch
            internal = [c for c in (ROW, ELEMENT) if c in source.schema.names]
            value = A.as_array(spec.func(source.drop_columns(internal)), n)
        if len(value) != n:
            raise SchemaError(
                f"The mapping of {column!r} returned {len(value)} values for {n} rows.",
                [column],
            )
        return self._convert(value, Field(("<computed>",), kind=kind))

    def _fallback_ids(
        self, batch: pa.RecordBatch | pa.Table, host_name: pa.Array, time: pa.Array
    ) -> pa.Array:
        """``host:seconds.millis:file#row`` for sources without an event id."""
        label = (self.file or "").rsplit("/", 1)[-1]
        rows = _row_numbers(batch)
        serial = pc.binary_join_element_wise(pa.repeat(pa.scalar(label), len(rows)), rows, "#")
        return A.event_key(host_name, time, serial)

    def _finish(
        self,
        data: dict[str, pa.Array],
        batch: pa.RecordBatch | pa.Table,
        n: int,
        host: str | None,
    ) -> tuple[dict[str, pa.Array], Problems]:
        problems = Problems()
        out: dict[str, pa.Array] = {}
        for f in s.CANONICAL_SCHEMA:
            value = data.get(f.name)
            if value is None or (f.name not in self.plan.wanted):
                continue
            out[f.name] = _cast(value, f.name)
        time = out.get(s.TIME, pa.nulls(n, pa.timestamp("us", tz="UTC")))
        host_name = out.get(s.HOST_NAME, pa.nulls(n, pa.string()))
        if host is not None:
            host_name = host_name.fill_null(host)
        out[s.HOST_NAME] = host_name
        out[s.HOST_GROUP] = pc.coalesce(out.get(s.HOST_GROUP, pa.nulls(n, pa.string())), host_name)
        event_id = out.get(s.EVENT_ID, pa.nulls(n, pa.string()))
        if event_id.null_count:
            out[s.EVENT_ID] = pc.coalesce(event_id, self._fallback_ids(batch, host_name, time))
        problems.add(A.numpy_bool(pc.is_null(time)), "no usable event time")
        for column, allowed in _VOCABULARIES.items():
            value = out.get(column)
            if value is None:
                continue
            bad = pc.and_kleene(pc.is_valid(value), pc.invert(pc.is_in(value, pa.array(allowed))))
            mask = A.numpy_bool(bad)
            if mask.any():
                seen = sorted(set(pc.filter(value, bad).to_pylist()))[:3]
                problems.add(mask, f"{column} {seen} is not one of {list(allowed)}")
        if s.EVENT_TYPE in out:
            out[s.EVENT_TYPE] = out[s.EVENT_TYPE].fill_null("other")
        fmt = pa.repeat(pa.scalar(self.plan.source_format), n)
        out[s.SOURCE_FORMAT] = pc.coalesce(out.get(s.SOURCE_FORMAT, pa.nulls(n, pa.string())), fmt)
        return out, problems


def _row_numbers(batch: pa.RecordBatch | pa.Table) -> pa.Array:
    """``row`` (or ``row.element`` for one of several rows a source row holds)."""
    n = batch.num_rows
    if ROW in batch.schema.names:
        rows = A.to_string(A.as_array(batch.column(ROW), n))
    else:
        rows = pc.cast(pa.array(np.arange(n)), pa.string())
    if ELEMENT in batch.schema.names:
        element = A.to_string(A.as_array(batch.column(ELEMENT), n))
        rows = pc.coalesce(pc.binary_join_element_wise(rows, element, "."), rows)
    return rows


def _fill_host(data: dict[str, pa.Array], host: str | None) -> None:
    """The caller's host name where the source gives none (before ids are made)."""
    value = data.get(s.HOST_NAME)
    if host is not None and value is not None and value.null_count:
        data[s.HOST_NAME] = A.to_string(value).fill_null(host)


def _canonical_type(column: str) -> pa.DataType:
    t = s.CANONICAL_SCHEMA.field(column).type
    return t.value_type if pa.types.is_dictionary(t) else t


def _typed_nulls(kind: str, n: int) -> pa.Array:
    types = {
        "string": pa.string(),
        "int": pa.int64(),
        "bool": pa.bool_(),
        "time": pa.timestamp("us", tz="UTC"),
    }
    return pa.nulls(n, types.get(kind, pa.null()))


def _cast(value: pa.Array, column: str) -> pa.Array:
    target = _canonical_type(column)
    kind = kind_of(column)
    if kind == "string":
        value = A.to_string(value)
    elif kind == "int":
        value = A.to_int(value)
        if column in (s.SRC_PORT, s.DST_PORT):  # anything else is not a port
            fits = pc.and_kleene(pc.greater_equal(value, 0), pc.less(value, 65536))
            value = pc.if_else(fits, value, None)
        elif target == pa.int32():
            fits = pc.and_kleene(pc.greater_equal(value, -(2**31)), pc.less(value, 2**31))
            value = pc.if_else(fits, value, None)
    elif kind == "bool":
        value = A.to_bool(value)
    elif kind == "time":
        value = A.to_time(value, None)[0]
    return value.cast(target)
