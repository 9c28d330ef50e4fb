"""Built-in mappings from other event schemas to canonical-v1, and the mapping engine.

One module per source schema, each with its field table in the module docstring
(canonical column <- source path, and the transformation):
:mod:`._canonical`, :mod:`._ocsf`, :mod:`._ecs`, :mod:`._osquery`, :mod:`._laurel`.
The engine: :mod:`._spec` (what users write), :mod:`._plan` (what a read needs),
:mod:`._engine` (evaluation), :mod:`._scan` and :mod:`._input` (files).

Examples
--------
>>> SCHEMAS
('canonical', 'ocsf', 'ecs', 'osquery', 'laurel')
>>> BUILTINS["ocsf"].source_format
'ocsf-1.x'
"""

from __future__ import annotations

from behavemodel.io._mappings._canonical import CANONICAL
from behavemodel.io._mappings._ecs import ECS
from behavemodel.io._mappings._laurel import LAUREL
from behavemodel.io._mappings._ocsf import OCSF
from behavemodel.io._mappings._osquery import OSQUERY
from behavemodel.io._mappings._plan import Builtin

__all__ = ["BUILTINS", "SCHEMAS"]

BUILTINS: dict[str, Builtin] = {b.name: b for b in (CANONICAL, OCSF, ECS, OSQUERY, LAUREL)}
#: Names accepted by ``read_events(schema=...)``.
SCHEMAS = tuple(BUILTINS)
