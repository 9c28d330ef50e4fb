"""behavemodel: learn how each group of Linux servers behaves, flag what deviates.

The public API is re-exported here; see the README for a tour.

- Read: :func:`read_auditd`, :func:`iter_auditd`, :class:`AuditdParser`;
  :func:`read_events`, :func:`iter_events` (Parquet/JSON in the canonical,
  OCSF, ECS, osquery or laurel schema); :func:`write_events`.
- Extract: :class:`Extractor` and the built-in features, :class:`GroupMap`,
  :class:`PathNormaliser`, :func:`extract`.
- Learn, then monitor: :class:`BaselineDetector`, :func:`merge_models`.
- Keep: :func:`save`, :func:`load`, :func:`diff` — versioned, data-only model
  files (docs/model-format.md).
- Fit and score dumps: :func:`fit_parquet` and :func:`score_parquet` (bounded
  memory); ``behavemodel.dask`` for clusters.
- Watch a live host: :class:`Monitor` (``behavemodel monitor``).
- Investigate: :func:`process_tree`, :func:`ancestry`, :func:`session_timeline`,
  :func:`match_connections`.

Heavy parts (scikit-learn, the feature code) are imported on first use, so
``import behavemodel`` and the CLI start quickly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from behavemodel import schema
from behavemodel._version import __version__
from behavemodel.exceptions import BehaveModelError, ParseError, SchemaError

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from behavemodel.artifacts import (
        ArtifactError,
        SignatureError,
        diff,
        load,
        load_artifact,
        save,
    )
    from behavemodel.features import (
        Extractor,
        FileWriters,
        GroupMap,
        NetworkPorts,
        NetworkProcesses,
        ParentNames,
        PathNormaliser,
        ProcessOwners,
        extract,
    )
    from behavemodel.investigate import (
        ancestry,
        list_sessions,
        match_connections,
        process_tree,
        session_timeline,
    )
    from behavemodel.io import (
        AuditdParser,
        EventMapping,
        ParseReport,
        iter_auditd,
        iter_events,
        read_auditd,
        read_events,
        write_events,
    )
    from behavemodel.models import BaselineDetector, merge_models
    from behavemodel.monitor import Monitor
    from behavemodel.scoring import ScoreSummary, fit_parquet, score_parquet

#: Public name -> module that defines it (imported when first used).
_LAZY = {
    "AuditdParser": "behavemodel.io",
    "ParseReport": "behavemodel.io",
    "iter_auditd": "behavemodel.io",
    "read_auditd": "behavemodel.io",
    "write_events": "behavemodel.io",
    "read_events": "behavemodel.io",
    "iter_events": "behavemodel.io",
    "EventMapping": "behavemodel.io",
    "Extractor": "behavemodel.features",
    "FileWriters": "behavemodel.features",
    "GroupMap": "behavemodel.features",
    "NetworkPorts": "behavemodel.features",
    "NetworkProcesses": "behavemodel.features",
    "ParentNames": "behavemodel.features",
    "PathNormaliser": "behavemodel.features",
    "ProcessOwners": "behavemodel.features",
    "extract": "behavemodel.features",
    "BaselineDetector": "behavemodel.models",
    "merge_models": "behavemodel.models",
    "ArtifactError": "behavemodel.artifacts",
    "SignatureError": "behavemodel.artifacts",
    "diff": "behavemodel.artifacts",
    "load": "behavemodel.artifacts",
    "load_artifact": "behavemodel.artifacts",
    "save": "behavemodel.artifacts",
    "ancestry": "behavemodel.investigate",
    "list_sessions": "behavemodel.investigate",
    "match_connections": "behavemodel.investigate",
    "process_tree": "behavemodel.investigate",
    "session_timeline": "behavemodel.investigate",
    "ScoreSummary": "behavemodel.scoring",
    "score_parquet": "behavemodel.scoring",
    "fit_parquet": "behavemodel.scoring",
    "Monitor": "behavemodel.monitor",
}

__all__ = [
    "ArtifactError",
    "AuditdParser",
    "BaselineDetector",
    "BehaveModelError",
    "EventMapping",
    "Extractor",
    "FileWriters",
    "GroupMap",
    "Monitor",
    "NetworkPorts",
    "NetworkProcesses",
    "ParentNames",
    "ParseError",
    "ParseReport",
    "PathNormaliser",
    "ProcessOwners",
    "SchemaError",
    "ScoreSummary",
    "SignatureError",
    "__version__",
    "ancestry",
    "diff",
    "extract",
    "fit_parquet",
    "iter_auditd",
    "iter_events",
    "list_sessions",
    "load",
    "load_artifact",
    "match_connections",
    "merge_models",
    "process_tree",
    "read_auditd",
    "read_events",
    "save",
    "schema",
    "score_parquet",
    "session_timeline",
    "write_events",
]


#: Subpackages reachable as attributes without an import (``bm.reports``, ``bm.plot``).
_SUBMODULES = ("artifacts", "datasets", "investigate", "plot", "reports", "scoring")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        submodule = importlib.import_module(f"behavemodel.{name}")
        globals()[name] = submodule
        return submodule
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'behavemodel' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))
