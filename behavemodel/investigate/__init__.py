"""Investigation: process ancestry, login-session timelines, cross-host connections.

An alert starts an investigation; these answer the next questions from the events
alone (canonical tables, any number of hosts):

- What started this process? :func:`process_tree` builds each host's tree of
  process images (pid reuse, exec without fork and pre-log parents handled);
  :func:`ancestry` walks up from any events, :func:`ancestry_strings` gives short
  chains in bulk (``apache2 -> summary.cgi -> sh -> curl``).
- What did that user do? :func:`list_sessions` and :func:`session_timeline`
  rebuild login sessions per (host, login uid, session id): the accept that opened
  it, the login and its source, every command with its arguments (``sudo``
  included), connections, file writes, logout.
- Where did this connection come from? :func:`match_connections` pairs connects
  with accepts on other hosts, infers host addresses
  (:func:`infer_host_addresses`), corrects clock skew and follows ssh hops, so
  ``bastion -> web-01 -> db-02`` is one path.

Results are tidy DataFrames with the columns listed in :data:`TREE_COLUMNS`,
:data:`ANCESTRY_COLUMNS`, :data:`SESSION_COLUMNS`, :data:`TIMELINE_COLUMNS`,
:data:`CONNECTION_COLUMNS` and :data:`ADDRESS_COLUMNS`; :class:`AncestryReport`,
:class:`TimelineReport` and :class:`ConnectionReport` print them as aligned text.

Examples
--------
>>> import behavemodel.investigate as inv
>>> inv.ANCESTRY_COLUMNS[:4]
('query', 'depth', 'relation', 'node')
>>> inv.STATUSES[:3]
('matched', 'outside_fleet', 'not_accepted')
"""

from behavemodel.investigate._common import EventNotFoundError
from behavemodel.investigate._connections import (
    ADDRESS_COLUMNS,
    CONNECTION_COLUMNS,
    STATUSES,
    ConnectionReport,
    infer_host_addresses,
    match_connections,
)
from behavemodel.investigate._sessions import (
    SESSION_COLUMNS,
    TIMELINE_COLUMNS,
    TimelineReport,
    list_sessions,
    session_timeline,
)
from behavemodel.investigate._tree import (
    ANCESTRY_COLUMNS,
    TREE_COLUMNS,
    AncestryReport,
    ancestry,
    ancestry_strings,
    process_tree,
)

__all__ = [
    "ADDRESS_COLUMNS",
    "ANCESTRY_COLUMNS",
    "CONNECTION_COLUMNS",
    "SESSION_COLUMNS",
    "STATUSES",
    "TIMELINE_COLUMNS",
    "TREE_COLUMNS",
    "AncestryReport",
    "ConnectionReport",
    "EventNotFoundError",
    "TimelineReport",
    "ancestry",
    "ancestry_strings",
    "infer_host_addresses",
    "list_sessions",
    "match_connections",
    "process_tree",
    "session_timeline",
]
