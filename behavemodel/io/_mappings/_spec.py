"""What a mapping is made of: source paths, constants and computed columns.

A mapping says, for each canonical column, where its value comes from in a source
dump. Users write it as a plain dict; the values may be:

===============================  ==========================================================
``"a.b.c"``                      the source column at that path (nested struct fields or
                                 flat column names with dots both work)
``"a.b.c?"``                     the same, but optional: null when the dump lacks it
``["new.path", "old.path"]``     alternatives: the first that the dump has and that is not
                                 null in a row wins (schema versions where fields moved)
``{"path": ..., "unit": "ms"}``  a path (or list) with options: ``unit`` for numeric
                                 epochs (``s``, ``ms``, ``us``, ``ns``), ``optional``
``{"value": "process_start"}``   a constant
``Computed(func, "a", "b?")``    ``func(a, b)`` over the Arrow arrays of those paths
``pyarrow.compute`` expression   evaluated by the scan, e.g. ``pc.field("a", "b") * 1000``
a plain callable                 ``func(batch)`` on the raw source batch (reads every column)
===============================  ==========================================================

Only the first five are plain data; a mapping made of them round-trips through
:meth:`EventMapping.to_dict` and :meth:`EventMapping.from_dict` (what a model file
can store).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from behavemodel import schema as s
from behavemodel.exceptions import SchemaError

__all__ = [
    "Computed",
    "Const",
    "EventMapping",
    "Field",
    "MissingSourceColumnError",
    "parse_spec",
]

MAPPING_FORMAT = "behavemodel.event-mapping"
MAPPING_VERSION = 1
_CANONICAL = tuple(f.name for f in s.CANONICAL_SCHEMA)


class MissingSourceColumnError(SchemaError):
    """A dump lacks a source column that its mapping needs.

    Attributes
    ----------
    columns : tuple of str
        The source column (and its alternatives) that is missing.
    mapping : str
        The mapping's name.
    file : str or None
        The file that lacks it.

    Examples
    --------
    >>> err = MissingSourceColumnError("no 'time'", columns=("time",), mapping="ocsf",
    ...                                file="a.parquet")
    >>> isinstance(err, SchemaError), isinstance(err, ValueError), err.columns
    (True, True, ('time',))
    """

    def __init__(
        self, message: str, *, columns: tuple[str, ...], mapping: str, file: str | None
    ) -> None:
        super().__init__(message, [f"missing source column {c!r}" for c in columns])
        self.columns = columns
        self.mapping = mapping
        self.file = file


@dataclass(frozen=True)
class Field:
    """Source path(s) for one value.

    Parameters
    ----------
    paths : tuple of str
        Alternatives, in order of preference. Dots separate struct levels.
    required : bool
        Fail when the dump has none of the paths (else the value is null).
    unit : str, optional
        Unit of numeric epoch times (``s``, ``ms``, ``us``, ``ns``).
    kind : str
        How values are normalised before alternatives are combined:
        ``string``, ``int``, ``bool``, ``time`` or ``raw`` (as stored).

    Examples
    --------
    >>> Field(("process.path", "process.file.path"), required=False).describe()
    'process.path | process.file.path (optional)'
    """

    paths: tuple[str, ...]
    required: bool = True
    unit: str | None = None
    kind: str = "raw"

    def with_kind(self, kind: str) -> Field:
        return Field(self.paths, self.required, self.unit, kind)

    def describe(self) -> str:
        text = " | ".join(self.paths)
        return text if self.required else f"{text} (optional)"


@dataclass(frozen=True)
class Const:
    """A constant value for every row (plain data: ``{"value": ...}``).

    Examples
    --------
    >>> parse_spec("event_type", {"value": "process_start"}) == Const("process_start")
    True
    """

    value: Any


@dataclass(frozen=True, init=False)
class Computed:
    """A column computed by ``func`` from the Arrow arrays of some source paths.

    Parameters
    ----------
    func : callable
        Called once per batch with one ``pyarrow.Array`` per input, in order;
        returns an array-like with one value per row.
    *inputs : str, list of str or dict
        Source paths in the plain-data forms (``"a.b"``, ``"a.b?"``, alternatives).

    Examples
    --------
    >>> import pyarrow.compute as pc
    >>> spec = Computed(lambda first, last: pc.binary_join_element_wise(first, last, " "),
    ...                 "name.first", "name.last")
    >>> [f.paths for f in spec.inputs]
    [('name.first',), ('name.last',)]
    """

    func: Callable[..., Any]
    inputs: tuple[Field, ...]

    def __init__(self, func: Callable[..., Any], *inputs: Any) -> None:
        if not callable(func):
            raise TypeError(f"Computed needs a callable first. Got {type(func).__name__}.")
        parsed = tuple(_parse_field(i, where="a Computed input") for i in inputs)
        object.__setattr__(self, "func", func)
        object.__setattr__(self, "inputs", parsed)


@dataclass(frozen=True)
class Expr:
    """A ``pyarrow.compute`` expression evaluated by the scan."""

    expression: pc.Expression


@dataclass(frozen=True)
class RowFunction:
    """A callable applied to the whole raw batch."""

    func: Callable[[pa.RecordBatch], Any]


Spec = Field | Const | Computed | Expr | RowFunction


def _parse_field(value: Any, *, where: str) -> Field:
    if isinstance(value, Field):
        return value
    if isinstance(value, str):
        return _field_from_paths([value], where=where)
    if isinstance(value, list | tuple):
        return _field_from_paths(list(value), where=where)
    if isinstance(value, Mapping) and "path" in value:
        unknown = set(value) - {"path", "unit", "optional"}
        if unknown:
            raise ValueError(
                f"{where} has unknown option(s) {sorted(unknown)}; "
                "the options are 'path', 'unit' and 'optional'."
            )
        paths = value["path"]
        base = _parse_field(paths, where=where)
        unit = value.get("unit")
        if unit is not None and unit not in ("s", "ms", "us", "ns"):
            raise ValueError(
                f"The time unit of {where} must be one of s, ms, us, ns. Got {unit!r} instead."
            )
        required = base.required and not value.get("optional", False)
        return Field(base.paths, required, unit)
    raise TypeError(
        f"{where} must be a path string, a list of alternative paths or a dict with "
        f"'path'. Got {value!r} instead."
    )


def _field_from_paths(paths: list[Any], *, where: str) -> Field:
    if not paths or not all(isinstance(p, str) and p.strip("?") for p in paths):
        raise ValueError(
            f"{where} must name one or more non-empty source paths. Got {paths!r} instead."
        )
    optional = all(p.endswith("?") for p in paths)
    return Field(tuple(p.rstrip("?") for p in paths), required=not optional)


def parse_spec(column: str, value: Any) -> Spec:
    """Turn one user-facing mapping value into a spec object.

    Examples
    --------
    >>> parse_spec("process_exe", "actor.process.file.path")
    Field(paths=('actor.process.file.path',), required=True, unit=None, kind='raw')
    >>> parse_spec("event_type", {"value": "process_start"})
    Const(value='process_start')
    """
    where = f"The mapping of {column!r}"
    if isinstance(value, Field | Const | Computed | Expr | RowFunction):
        return value
    if isinstance(value, pc.Expression):
        return Expr(value)
    if isinstance(value, Mapping) and set(value) == {"value"}:
        return Const(value["value"])
    if isinstance(value, str | list | tuple | Mapping):
        return _parse_field(value, where=where)
    if callable(value):
        return RowFunction(value)
    raise TypeError(
        f"{where} must be a path, a list of paths, a dict, a Computed, a pyarrow "
        f"expression or a callable. Got {type(value).__name__} instead."
    )


def check_column(name: str) -> str:
    """Raise a helpful error for a name that is not a canonical column."""
    if name in _CANONICAL:
        return name
    close = difflib.get_close_matches(name, _CANONICAL, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise SchemaError(
        f"{name!r} is not a canonical column, so a mapping cannot fill it.{hint} "
        f"The canonical columns are: {', '.join(_CANONICAL)}.",
        [name],
    )


def _plain(spec: Spec, column: str) -> Any:
    if isinstance(spec, Const):
        return {"value": spec.value}
    if isinstance(spec, Field):
        paths: list[str] | str = list(spec.paths) if len(spec.paths) > 1 else spec.paths[0]
        if spec.unit is not None or (not spec.required and len(spec.paths) > 1):
            out: dict[str, Any] = {"path": paths}
            if spec.unit is not None:
                out["unit"] = spec.unit
            if not spec.required:
                out["optional"] = True
            return out
        if not spec.required:
            return f"{paths}?"
        return paths
    raise ValueError(
        f"The mapping of {column!r} is a {type(spec).__name__}, which is code, not data; "
        "only paths, alternatives and constants can be stored."
    )


@dataclass(frozen=True)
class EventMapping:
    """How a source dump's columns become canonical-v1 columns.

    Parameters
    ----------
    columns : dict, optional
        canonical column -> spec (see the module docstring for the forms). These
        override the ``base`` mapping column by column.
    base : str, default "canonical"
        The built-in mapping to start from: ``"canonical"`` (columns with the
        canonical names), ``"ocsf"``, ``"ecs"``, ``"osquery"`` or ``"laurel"``.
    name : str, optional
        A name used in error messages; defaults to ``base`` (+ ``"+custom"``).

    Examples
    --------
    A dump with its own column names, as plain data that a model file can store:

    >>> m = EventMapping({
    ...     "time": {"path": "ts", "unit": "s"},
    ...     "host_name": "host.name",
    ...     "event_type": {"value": "process_start"},
    ...     "process_exe": ["proc.exe", "proc.path"],
    ...     "user_name": "proc.user?",
    ... }, name="my-dump")
    >>> m.to_dict()["columns"]["process_exe"]
    ['proc.exe', 'proc.path']
    >>> EventMapping.from_dict(m.to_dict()) == m
    True
    >>> EventMapping({"proc_exe": "x"})
    Traceback (most recent call last):
    ...
    behavemodel.exceptions.SchemaError: 'proc_exe' is not a canonical column, so a mapping \
cannot fill it. Did you mean 'process_exe'? The canonical columns are: ...

    :func:`behavemodel.io.read_events` shows it reading a dump.
    """

    columns: Mapping[str, Any] = field(default_factory=dict)
    base: str = "canonical"
    name: str | None = None

    def __post_init__(self) -> None:
        parsed = {check_column(c): parse_spec(c, v) for c, v in dict(self.columns).items()}
        object.__setattr__(self, "columns", parsed)
        if not isinstance(self.base, str):
            raise TypeError(f"The 'base' of an EventMapping must be a str. Got {self.base!r}.")

    @property
    def label(self) -> str:
        """The name used in messages."""
        if self.name:
            return self.name
        return self.base if not self.columns else f"{self.base}+custom"

    def to_dict(self) -> dict[str, Any]:
        """The mapping as JSON-able plain data (raises for code specs)."""
        out: dict[str, Any] = {
            "format": MAPPING_FORMAT,
            "version": MAPPING_VERSION,
            "base": self.base,
            "columns": {c: _plain(spec, c) for c, spec in self.columns.items()},
        }
        if self.name:
            out["name"] = self.name
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EventMapping:
        """Rebuild a mapping from :meth:`to_dict` output (or a bare column dict)."""
        if "columns" not in data:
            return cls(dict(data))
        fmt = data.get("format", MAPPING_FORMAT)
        version = data.get("version", MAPPING_VERSION)
        if fmt != MAPPING_FORMAT or not isinstance(version, int) or version > MAPPING_VERSION:
            raise SchemaError(
                f"This is not an event mapping this version can read: format {fmt!r} "
                f"version {version!r} (expected {MAPPING_FORMAT!r} up to {MAPPING_VERSION}). "
                "Upgrade behavemodel to read it."
            )
        return cls(
            dict(data["columns"]), base=data.get("base", "canonical"), name=data.get("name")
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EventMapping):
            return NotImplemented
        return (self.base, self.name, dict(self.columns)) == (
            other.base,
            other.name,
            dict(other.columns),
        )

    def __hash__(self) -> int:
        return hash((self.base, self.name, tuple(sorted(self.columns))))
