"""The ``canonical`` mapping: a dump whose columns already have the canonical names.

Every canonical column is read from the source column of the same name
(``time`` and ``event_type`` are required, the rest optional). ``source_format``
keeps the value the dump carries (a canonical dump of audit logs says
``auditd``) and is ``canonical`` where it has none.
"""

from __future__ import annotations

from behavemodel import schema as s
from behavemodel.io._mappings._plan import Builtin
from behavemodel.io._mappings._spec import Field

__all__ = ["CANONICAL"]

CANONICAL = Builtin(
    name="canonical",
    source_format="canonical",
    columns={
        f.name: Field((f.name,), required=f.name in (s.TIME, s.EVENT_TYPE))
        for f in s.CANONICAL_SCHEMA
    },
)
