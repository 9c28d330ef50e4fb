"""Readers and writers: every source becomes the canonical event table.

- :func:`read_auditd` / :func:`iter_auditd`: raw Linux audit logs.
- :class:`AuditdParser`: the same, fed piece by piece, with checkpoints.
- :func:`read_events` / :func:`iter_events`: Parquet and JSON-lines dumps in the
  canonical schema or a mapped one (OCSF, ECS/Auditbeat, osquery, laurel, or
  your own :class:`EventMapping`).
- :func:`write_events`: canonical events to Parquet.
"""

from behavemodel.io._auditd import AuditdParser, ParseReport, iter_auditd, read_auditd
from behavemodel.io._auditd_chunk import BadLine
from behavemodel.io._mapped import SCHEMAS, ReadReport, iter_events, read_events
from behavemodel.io._mappings._spec import Computed, EventMapping, MissingSourceColumnError
from behavemodel.io._writer import write_events

__all__ = [
    "SCHEMAS",
    "AuditdParser",
    "BadLine",
    "Computed",
    "EventMapping",
    "MissingSourceColumnError",
    "ParseReport",
    "ReadReport",
    "iter_auditd",
    "iter_events",
    "read_auditd",
    "read_events",
    "write_events",
]
