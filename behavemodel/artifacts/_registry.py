"""The model types a model file may hold: a registry inside the library.

A file names its model type as a string; the loader looks the string up here
and builds the model with the class registered under it. Nothing in the file
is ever imported, evaluated or unpickled, so a file cannot make the loader run
code of its choosing, and a type that is not registered is refused.

Each entry also declares the state tables the model saves (with their Arrow
schemas), the schema of its ``params`` and ``config`` blocks, and how to
summarise its training data for the manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from behavemodel.artifacts._errors import UnknownModelTypeError
from behavemodel.artifacts._spec import (
    Bool,
    Int,
    ListOf,
    MapOf,
    Nullable,
    Number,
    Obj,
    OneOf,
    Spec,
    Str,
    Template,
)
from behavemodel.models import STATS_SCHEMA, BaselineDetector

__all__ = ["REGISTRY", "ModelType", "for_model", "lookup"]


@dataclass(frozen=True)
class ModelType:
    """How one model type is saved and rebuilt.

    Attributes
    ----------
    name : str
        The ``model.type`` string in manifests.
    cls : type
        The class; it provides ``_get_state()`` and ``_from_state(meta, tables)``.
    state_version : int
        The state layout this entry reads and writes.
    tables : mapping of str to pyarrow.Schema
        The state tables, each saved as member ``<name>.parquet``.
    params, config : Spec
        Schemas of the ``model.params`` and ``model.config`` blocks.
    summarise : callable
        ``tables -> training`` block of the manifest.
    """

    name: str
    cls: type[Any]
    state_version: int
    tables: Mapping[str, pa.Schema]
    params: Spec
    config: Spec
    summarise: Callable[[Mapping[str, pa.Table]], dict[str, Any]]

    @property
    def members(self) -> dict[str, str]:
        """Member name -> state table name."""
        return {f"{table}.parquet": table for table in self.tables}


def iso_time(value: Any) -> str | None:
    """A UTC ``datetime`` as ``2024-01-31T23:59:59.000000Z`` (None stays None)."""
    if value is None:
        return None
    return str(value.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


# -- BaselineDetector ------------------------------------------------------------------

_STATS_FILE_SCHEMA = STATS_SCHEMA.set(
    STATS_SCHEMA.get_field_index("key"), pa.field("key", pa.list_(pa.string()))
)

_DURATION = Str(nonempty=True, what="a duration such as '1h' or '0 days 01:00:00'")
_KEY = Obj(
    {
        "column": Str(nonempty=True),
        "name": Str(nonempty=True),
        "path": Bool(),
        "fallback": Nullable(Str(nonempty=True)),
        "relative_to": Nullable(Str(nonempty=True)),
        "directory_depth": Nullable(Int(1, 1000)),
        "directory_prefixes": ListOf(Str(pattern="/.*", what="an absolute path")),
    }
)
_EXTRACTOR = Obj(
    {
        "name": Str(nonempty=True),
        "keys": ListOf(_KEY),
        "event_types": ListOf(Str(nonempty=True)),
        "successful_only": Bool(),
        "where": MapOf(ListOf(Nullable(OneOf(Str(), Int(-(2**63), 2**63 - 1))))),
        "template": Template(),
        "interactive": OneOf(Str(const="include"), Str(const="exclude")),
    },
    optional=("interactive",),  # absent in files of 0.1.0 before it existed: "include"
)
_BASELINE_CONFIG = Obj(
    {
        "extractors": ListOf(_EXTRACTOR),
        "normaliser": Obj({"rules": ListOf(ListOf(Str(), length=3))}),
        "groups": Obj(
            {
                "column": Nullable(Str(nonempty=True)),
                "mapping": Nullable(MapOf(Str(nonempty=True))),
                "pattern": Nullable(Str()),
            }
        ),
        "bucket": _DURATION,
    }
)
_BASELINE_PARAMS = Obj(
    {
        "bucket": _DURATION,
        "novelty_threshold": Number(0, 1),
        "min_span": _DURATION,
        "max_age": Nullable(_DURATION),
        "alert_while_learning": Bool(),
    }
)


def _baseline_training(tables: Mapping[str, pa.Table]) -> dict[str, Any]:
    """Training window and counts, from the coverage rows (null feature) of the stats."""
    stats = tables["stats"]
    feature = stats.column("feature")
    coverage = stats.filter(pc.is_null(feature))
    keyed = stats.filter(pc.is_valid(feature))
    per_group = (
        coverage.group_by("host_group")
        .aggregate(
            [
                ("host_name", "count_distinct"),
                ("events", "sum"),
                ("first_time", "min"),
                ("last_time", "max"),
            ]
        )
        .sort_by("host_group")
    )
    groups = [
        {
            "host_group": row["host_group"],
            "hosts": int(row["host_name_count_distinct"]),
            "events": int(row["events_sum"]),
            "first_event": iso_time(row["first_time_min"]),
            "last_event": iso_time(row["last_time_max"]),
        }
        for row in per_group.to_pylist()
    ]
    joined = pc.binary_join(keyed.column("key"), "\x00")
    keys = (
        pa.table({"g": keyed.column("host_group"), "f": keyed.column("feature"), "k": joined})
        .group_by(["g", "f", "k"])
        .aggregate([])
        .num_rows
    )
    first = pc.min(coverage.column("first_time")).as_py() if coverage.num_rows else None
    last = pc.max(coverage.column("last_time")).as_py() if coverage.num_rows else None
    return {
        "events": int(pc.sum(coverage.column("events")).as_py() or 0),
        "hosts": len(set(coverage.column("host_name").to_pylist())),
        "host_groups": len(groups),
        "keys": int(keys),
        "first_event": iso_time(first),
        "last_event": iso_time(last),
        "per_group": groups,
    }


_BASELINE = ModelType(
    name="BaselineDetector",
    cls=BaselineDetector,
    state_version=1,
    tables={"stats": _STATS_FILE_SCHEMA},
    params=_BASELINE_PARAMS,
    config=_BASELINE_CONFIG,
    summarise=_baseline_training,
)

#: Registered model types by name. Readers of older state versions would be
#: registered from their own modules under ``behavemodel/artifacts/old/``.
REGISTRY: Mapping[str, ModelType] = {_BASELINE.name: _BASELINE}


def for_model(model: object) -> ModelType:
    """The registry entry for a model about to be saved (exact class match).

    Raises
    ------
    TypeError
        When the object's class is not registered (subclasses are not: their
        extra behaviour would be lost on load).
    """
    for entry in REGISTRY.values():
        if type(model) is entry.cls:
            return entry
    raise TypeError(
        f"behavemodel.save writes models of the registered types {sorted(REGISTRY)}. Got a "
        f"{type(model).__name__} instead."
    )


def lookup(name: str, state_version: int, *, path: str) -> ModelType:
    """The registry entry for a manifest's model type, or an UnknownModelTypeError."""
    entry = REGISTRY.get(name)
    if entry is None:
        raise UnknownModelTypeError(
            f"the model type {name[:80]!r} is not one this behavemodel knows "
            f"({', '.join(sorted(REGISTRY))}). Model types come from the library, never "
            "from the file; upgrade behavemodel if the file was saved by a newer one.",
            path=path,
        )
    if state_version != entry.state_version:
        newer = state_version > entry.state_version
        raise UnknownModelTypeError(
            f"the {name} state in this file has layout version {state_version}; this "
            f"behavemodel reads version {entry.state_version}. "
            + (
                "Upgrade behavemodel to load it."
                if newer
                else "Load it with the behavemodel that saved it and save it again."
            ),
            path=path,
        )
    return entry
