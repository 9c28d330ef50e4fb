"""behavemodel: learn how each group of Linux servers behaves, flag what deviates.

The public API is re-exported here; see the README for a tour.

- Read: :func:`read_auditd`, :func:`iter_auditd`, :func:`write_events`.
- Extract: :class:`Extractor` and the built-in features, :class:`GroupMap`,
  :class:`PathNormaliser`, :func:`extract`.
- Learn, then monitor: :class:`BaselineDetector`, :func:`merge_models`.
"""

from behavemodel import schema
from behavemodel._version import __version__
from behavemodel.exceptions import BehaveModelError, ParseError, SchemaError
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
from behavemodel.io import ParseReport, iter_auditd, read_auditd, write_events
from behavemodel.models import BaselineDetector, merge_models

__all__ = [
    "BaselineDetector",
    "BehaveModelError",
    "Extractor",
    "FileWriters",
    "GroupMap",
    "NetworkPorts",
    "NetworkProcesses",
    "ParentNames",
    "ParseError",
    "ParseReport",
    "PathNormaliser",
    "ProcessOwners",
    "SchemaError",
    "__version__",
    "extract",
    "iter_auditd",
    "merge_models",
    "read_auditd",
    "schema",
    "write_events",
]
