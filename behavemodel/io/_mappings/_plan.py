"""Compile a mapping into what the requested canonical columns need.

- :class:`Builtin` is a named mapping (``ocsf``, ``ecs``...): direct column specs,
  named inputs, and :class:`Step` functions that derive several canonical
  columns at once from those inputs (and from canonical columns computed before).
- :func:`compile_plan` keeps only the specs, steps and inputs that the requested
  canonical columns need, so the reader reads no other source column.
- :func:`resolve_path` finds a dotted path in a schema, through nested structs or
  flat column names that contain dots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from behavemodel import schema as s
from behavemodel.io._mappings._spec import (
    Computed,
    EventMapping,
    Field,
    MissingSourceColumnError,
    RowFunction,
    Spec,
    check_column,
)

if TYPE_CHECKING:
    from behavemodel.io._mappings._engine import Bound, Values

__all__ = [
    "ALWAYS",
    "ELEMENT",
    "ROW",
    "SEP",
    "Builtin",
    "Plan",
    "Step",
    "compile_plan",
    "kind_of",
    "missing_error",
    "resolve_path",
    "spec_fields",
]

ROW = "__behavemodel_row__"
#: Position of a row within its source row, for sources that hold several (snapshots).
ELEMENT = "__behavemodel_element__"
SEP = "\x1f"
#: Columns every reader output needs to be meaningful, whatever ``columns`` asks.
ALWAYS = (s.TIME, s.HOST_NAME, s.HOST_GROUP, s.EVENT_TYPE, s.EVENT_ID, s.SOURCE_FORMAT)


@dataclass(frozen=True)
class Step:
    """Derive ``outputs`` from named inputs (``"@column"`` names a canonical column)."""

    outputs: tuple[str, ...]
    inputs: tuple[str, ...]
    func: Callable[[Values], Mapping[str, Any]]


@dataclass(frozen=True)
class Builtin:
    """A named mapping shipped with the library."""

    name: str
    source_format: str
    columns: Mapping[str, Spec] = field(default_factory=dict)
    inputs: Mapping[str, Field] = field(default_factory=dict)
    steps: tuple[Step, ...] = ()
    #: Rewrites a raw table before projection when ``needs_prepare(schema)``.
    prepare: Callable[[pa.Table], pa.Table] | None = None
    needs_prepare: Callable[[pa.Schema], bool] | None = None


def kind_of(column: str) -> str:
    t = s.CANONICAL_SCHEMA.field(column).type
    if pa.types.is_timestamp(t):
        return "time"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_boolean(t):
        return "bool"
    return "string"


def resolve_path(schema: pa.Schema, path: str) -> tuple[str, ...] | None:
    """Field names leading to ``path`` in ``schema``, or None.

    Dots separate levels, but a column whose own name contains dots (a flattened
    export) matches too; the longest name wins at each level.

    Examples
    --------
    >>> import pyarrow as pa
    >>> sch = pa.schema([("process.pid", pa.int64()),
    ...                  ("user", pa.struct([("audit", pa.struct([("id", pa.string())]))]))])
    >>> resolve_path(sch, "process.pid"), resolve_path(sch, "user.audit.id")
    (('process.pid',), ('user', 'audit', 'id'))
    >>> resolve_path(sch, "user.name") is None
    True
    """
    fields = {f.name: f for f in schema}
    return _resolve(fields, path.split("."))


def _resolve(fields: Mapping[str, pa.Field], segments: list[str]) -> tuple[str, ...] | None:
    for k in range(len(segments), 0, -1):
        name = ".".join(segments[:k])
        f = fields.get(name)
        if f is None:
            continue
        rest = segments[k:]
        if not rest:
            return (name,)
        if pa.types.is_struct(f.type):
            sub = _resolve({c.name: c for c in f.type}, rest)
            if sub is not None:
                return (name, *sub)
    return None


@dataclass
class Plan:
    """A mapping reduced to what the requested columns need."""

    label: str
    source_format: str
    wanted: frozenset[str]
    direct: dict[str, Spec]
    steps: tuple[Step, ...]
    fields: dict[str, Field]
    builtin: Builtin
    reads_everything: bool
    bound: dict[pa.Schema, Bound] = field(default_factory=dict)

    def needs_prepare(self, schema: pa.Schema) -> bool:
        b = self.builtin
        return b.prepare is not None and b.needs_prepare is not None and b.needs_prepare(schema)


def missing_error(
    plan: Plan, key: str, f: Field, schema: pa.Schema, file: str | None
) -> Exception:
    users = [c for c, spec in plan.direct.items() if spec_fields(c, spec).get(key) is not None]
    users += [o for st in plan.steps if key in st.inputs for o in st.outputs]
    wanted = sorted(set(users) & plan.wanted) or sorted(set(users))
    which = (
        f"the source column {f.paths[0]!r}"
        if len(f.paths) == 1
        else "one of the source columns " + ", ".join(repr(p) for p in f.paths)
    )
    names = ", ".join(schema.names[:12]) + (", ..." if len(schema.names) > 12 else "")
    where = file or "the source"
    return MissingSourceColumnError(
        f"The {plan.label!r} mapping needs {which} (for {', '.join(wanted) or 'its columns'}), "
        f"but {where} does not have it; its top-level columns are: {names}. Pass "
        f"mapping={{{(wanted or ['<column>'])[0]!r}: '<source path>'}} to take it from "
        "another column, or check the schema= argument.",
        columns=f.paths,
        mapping=plan.label,
        file=file,
    )


def spec_fields(column: str, spec: Spec) -> dict[str, Field]:
    if isinstance(spec, Field):
        return {f"col{SEP}{column}": spec.with_kind(kind_of(column))}
    if isinstance(spec, Computed):
        return {f"col{SEP}{column}{SEP}{i}": f for i, f in enumerate(spec.inputs)}
    return {}


def compile_plan(
    mapping: EventMapping, builtins: Mapping[str, Builtin], columns: Iterable[str] | None
) -> Plan:
    """Keep the specs and steps that the requested canonical columns need."""
    base = builtins.get(mapping.base)
    if base is None:
        raise ValueError(
            f"The 'schema' parameter must be one of {sorted(builtins)}. "
            f"Got {mapping.base!r} instead."
        )
    all_columns = {f.name for f in s.CANONICAL_SCHEMA}
    if columns is None:
        wanted = set(all_columns)
    else:
        wanted = {check_column(c) for c in columns} | set(ALWAYS)
    direct = {c: spec for c, spec in {**base.columns, **mapping.columns}.items() if c in wanted}
    produced = {o: st for st in base.steps for o in st.outputs}
    needed = {c for c in wanted if c not in direct and c in produced}
    chosen: list[Step] = []
    while True:
        picked = [st for st in base.steps if set(st.outputs) & needed and st not in chosen]
        if not picked:
            break
        chosen.extend(picked)
        for st in picked:
            for name in st.inputs:
                col = name[1:] if name.startswith("@") else None
                if col is None:
                    continue
                if col not in direct and col in produced:
                    needed.add(col)
                elif col not in direct and col in base.columns:
                    direct[col] = base.columns[col]
    steps = tuple(st for st in base.steps if st in chosen)
    fields: dict[str, Field] = {}
    for column, spec in direct.items():
        fields.update(spec_fields(column, spec))
    for st in steps:
        for name in st.inputs:
            if not name.startswith("@"):
                fields[name] = base.inputs[name]
    reads_everything = any(isinstance(spec, RowFunction) for spec in direct.values())
    return Plan(
        label=mapping.label,
        source_format=base.source_format,
        wanted=frozenset(wanted),
        direct=direct,
        steps=steps,
        fields=fields,
        builtin=base,
        reads_everything=reads_everything,
    )
