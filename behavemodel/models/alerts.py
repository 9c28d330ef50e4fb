"""Alert rows: the only place their columns are spelled.

:meth:`BaselineDetector.explain <behavemodel.models.BaselineDetector.explain>`
returns one row per deviation with these columns, in this order; batch scoring
and the live monitor write the same rows to Parquet and JSON lines. Event
identifiers reuse the canonical column names of :mod:`behavemodel.schema`.

Examples
--------
>>> from behavemodel.models import alerts
>>> alerts.ALERT_COLUMNS[:6]
('time', 'host_name', 'host_group', 'feature', 'key', 'score')
>>> alerts.ALERT_SCHEMA.field("other_groups").type
DataType(int64)
"""

from __future__ import annotations

import pyarrow as pa

from behavemodel import schema

__all__ = [
    "ALERT_COLUMNS",
    "ALERT_SCHEMA",
    "ANCESTRY",
    "DEVIATION",
    "DEVIATION_KINDS",
    "EVENTS",
    "FEATURE",
    "FIRST_SEEN_ELSEWHERE",
    "GROUP_STATE",
    "KEY",
    "KEY_VALUES",
    "LAST_TIME",
    "NEW_EVERYWHERE",
    "NEW_TO_GROUP",
    "OTHER_GROUPS",
    "OTHER_HOSTS",
    "REASON",
    "SCORE",
]

TIME = schema.TIME
HOST_NAME = schema.HOST_NAME
HOST_GROUP = schema.HOST_GROUP
#: Name of the extractor that saw the deviation.
FEATURE = "feature"
#: The key, readable: ``"exe=/usr/bin/nc, direction=listen"``.
KEY = "key"
#: The key components as a list of strings, for machines (and ``accept``).
KEY_VALUES = "key_values"
#: Issue 7: the event's process ancestry, oldest first (``"nagios -> summary.cgi -> sh ->
#: curl"``), from :func:`behavemodel.investigate.ancestry_strings`; filled by ``explain``,
#: null in batch scoring (one batch does not hold the process history).
ANCESTRY = "ancestry"
#: :meth:`anomaly_score` of the deviation, in [0, 1], higher is riskier.
SCORE = "score"
#: :data:`NEW_EVERYWHERE` or :data:`NEW_TO_GROUP`.
DEVIATION = "deviation"
#: One sentence saying what happened and how unusual it is.
REASON = "reason"
#: How many other groups / hosts of other groups have the key.
OTHER_GROUPS = "other_groups"
OTHER_HOSTS = "other_hosts"
#: When any other group first had the key (null when none has).
FIRST_SEEN_ELSEWHERE = "first_seen_elsewhere"
#: ``"monitoring"``, or ``"learning"`` when the detector alerts while learning.
GROUP_STATE = "group_state"
#: Events behind the row, and the time of the last one.
EVENTS = "events"
LAST_TIME = "last_time"

NEW_EVERYWHERE = "new_everywhere"
NEW_TO_GROUP = "new_to_group"
DEVIATION_KINDS = (NEW_EVERYWHERE, NEW_TO_GROUP)

_TS = pa.timestamp("us", tz="UTC")

#: The alert table's schema; event columns keep their canonical types.
ALERT_SCHEMA = pa.schema(
    [
        pa.field(TIME, _TS, nullable=False),
        pa.field(HOST_NAME, pa.string()),
        pa.field(HOST_GROUP, pa.string()),
        pa.field(FEATURE, pa.string(), nullable=False),
        pa.field(KEY, pa.string(), nullable=False),
        pa.field(SCORE, pa.float64(), nullable=False),
        pa.field(DEVIATION, pa.string(), nullable=False),
        pa.field(REASON, pa.string(), nullable=False),
        pa.field(OTHER_GROUPS, pa.int64(), nullable=False),
        pa.field(OTHER_HOSTS, pa.int64(), nullable=False),
        pa.field(FIRST_SEEN_ELSEWHERE, _TS),
        pa.field(GROUP_STATE, pa.string(), nullable=False),
        pa.field(EVENTS, pa.int64(), nullable=False),
        pa.field(LAST_TIME, _TS, nullable=False),
        pa.field(KEY_VALUES, pa.list_(pa.string()), nullable=False),
        pa.field(ANCESTRY, pa.string()),  # issue 7
        pa.field(schema.EVENT_ID, pa.string()),
        pa.field(schema.EVENT_TYPE, pa.string()),
        pa.field(schema.PROCESS_PID, pa.int64()),
        pa.field(schema.PROCESS_EXE, pa.string()),
        pa.field(schema.PROCESS_CMDLINE, pa.string()),
        pa.field(schema.PARENT_EXE, pa.string()),
        pa.field(schema.USER_NAME, pa.string()),
        pa.field(schema.FILE_PATH, pa.string()),
        pa.field(schema.SRC_IP, pa.string()),
        pa.field(schema.SRC_PORT, pa.int32()),
        pa.field(schema.DST_IP, pa.string()),
        pa.field(schema.DST_PORT, pa.int32()),
    ],
    metadata={"behavemodel.alerts": "alerts-v1"},
)

#: Column names of :data:`ALERT_SCHEMA`, in order.
ALERT_COLUMNS = tuple(ALERT_SCHEMA.names)

#: Event columns copied into alerts when the events have them.
EVENT_COLUMNS = tuple(ALERT_COLUMNS[ALERT_COLUMNS.index(schema.EVENT_ID) :])
