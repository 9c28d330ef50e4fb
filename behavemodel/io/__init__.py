"""Readers and writers: every source becomes the canonical event table.

- :func:`read_auditd` / :func:`iter_auditd`: raw Linux audit logs.
- :class:`AuditdParser`: the same, fed piece by piece, with checkpoints.
- :func:`write_events`: canonical events to Parquet.
"""

from behavemodel.io._auditd import AuditdParser, ParseReport, iter_auditd, read_auditd
from behavemodel.io._auditd_chunk import BadLine
from behavemodel.io._writer import write_events

__all__ = ["AuditdParser", "BadLine", "ParseReport", "iter_auditd", "read_auditd", "write_events"]
