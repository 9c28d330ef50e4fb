"""The canonical event table (``canonical-v1``): the only place columns are spelled.

Every reader emits tables with exactly these columns, in this order, and every
later stage (features, models, scoring, investigation) reads only these names.
One row is one syscall-level event (or one stand-alone record such as a login).

String columns may arrive as ``string``, ``large_string`` or a dictionary of
either; :func:`validate` accepts all three and :func:`conform` normalises them.
Low-cardinality columns (:data:`DICTIONARY_COLUMNS`) are dictionary encoded.

Examples
--------
>>> import behavemodel.schema as s
>>> s.TIME, s.PROCESS_EXE, s.EVENT_TYPE
('time', 'process_exe', 'event_type')
>>> s.CANONICAL_SCHEMA.field("dst_port").type
DataType(int32)
>>> sorted(s.EVENT_TYPES)[:3]
['file_write', 'login', 'net_accept']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from behavemodel.exceptions import SchemaError

__all__ = [
    "CANONICAL_SCHEMA",
    "CMDLINE_SOURCES",
    "DICTIONARY_COLUMNS",
    "EVENT_TYPES",
    "NET_DIRECTIONS",
    "NET_FAMILIES",
    "SCHEMA_NAME",
    "SOURCE_FORMATS",
    "conform",
    "empty_table",
    "to_pandas",
    "validate",
]

SCHEMA_NAME = "canonical-v1"

# Column names. Use these constants, never string literals, outside this module.
TIME = "time"
HOST_NAME = "host_name"
HOST_GROUP = "host_group"
EVENT_TYPE = "event_type"
RECORD_TYPE = "record_type"
SYSCALL = "syscall"
SUCCESS = "success"
EXIT_CODE = "exit_code"
PROCESS_PID = "process_pid"
PARENT_PID = "parent_pid"
PROCESS_NAME = "process_name"
PROCESS_EXE = "process_exe"
PROCESS_CMDLINE = "process_cmdline"
CMDLINE_SOURCE = "cmdline_source"
PARENT_EXE = "parent_exe"
PARENT_NAME = "parent_name"
USER_NAME = "user_name"
USER_UID = "user_uid"
LOGIN_UID = "login_uid"
LOGIN_NAME = "login_name"
SESSION_ID = "session_id"
TTY = "tty"
CWD = "cwd"
FILE_PATH = "file_path"
SRC_IP = "src_ip"
SRC_PORT = "src_port"
DST_IP = "dst_ip"
DST_PORT = "dst_port"
NET_FAMILY = "net_family"
NET_DIRECTION = "net_direction"
CONTAINER_ID = "container_id"
AUDIT_KEY = "audit_key"
EVENT_ID = "event_id"
SOURCE_FORMAT = "source_format"

# Allowed values of the categorical columns.
EVENT_TYPES = (
    "process_start",
    "net_connect",
    "net_accept",
    "net_listen",
    "file_write",
    "login",
    "other",
)
NET_DIRECTIONS = ("outbound", "inbound", "listen")
NET_FAMILIES = ("inet", "inet6", "unix", "netlink", "packet", "other")
CMDLINE_SOURCES = ("execve", "proctitle", "user_cmd", "comm")
SOURCE_FORMATS = ("auditd", "ocsf-1.x", "ecs-auditbeat", "osquery", "laurel", "canonical")

_DICT = pa.dictionary(pa.int32(), pa.string())

CANONICAL_SCHEMA = pa.schema(
    [
        pa.field(TIME, pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field(HOST_NAME, pa.string()),
        pa.field(HOST_GROUP, pa.string()),
        pa.field(EVENT_TYPE, _DICT, nullable=False),
        pa.field(RECORD_TYPE, _DICT),
        pa.field(SYSCALL, pa.string()),
        pa.field(SUCCESS, pa.bool_()),
        pa.field(EXIT_CODE, pa.int64()),
        pa.field(PROCESS_PID, pa.int64()),
        pa.field(PARENT_PID, pa.int64()),
        pa.field(PROCESS_NAME, pa.string()),
        pa.field(PROCESS_EXE, pa.string()),
        pa.field(PROCESS_CMDLINE, pa.string()),
        pa.field(CMDLINE_SOURCE, _DICT),
        pa.field(PARENT_EXE, pa.string()),
        pa.field(PARENT_NAME, pa.string()),
        pa.field(USER_NAME, pa.string()),
        pa.field(USER_UID, pa.int64()),
        pa.field(LOGIN_UID, pa.int64()),
        pa.field(LOGIN_NAME, pa.string()),
        pa.field(SESSION_ID, pa.int64()),
        pa.field(TTY, pa.string()),
        pa.field(CWD, pa.string()),
        pa.field(FILE_PATH, pa.string()),
        pa.field(SRC_IP, pa.string()),
        pa.field(SRC_PORT, pa.int32()),
        pa.field(DST_IP, pa.string()),
        pa.field(DST_PORT, pa.int32()),
        pa.field(NET_FAMILY, _DICT),
        pa.field(NET_DIRECTION, _DICT),
        pa.field(CONTAINER_ID, pa.string()),
        pa.field(AUDIT_KEY, pa.string()),
        pa.field(EVENT_ID, pa.string(), nullable=False),
        pa.field(SOURCE_FORMAT, _DICT, nullable=False),
    ],
    metadata={"behavemodel.schema": SCHEMA_NAME},
)

#: Columns stored dictionary-encoded in memory (categoricals in pandas).
DICTIONARY_COLUMNS = tuple(f.name for f in CANONICAL_SCHEMA if pa.types.is_dictionary(f.type))

#: The closed vocabularies :func:`validate` checks, by column.
ALLOWED_VALUES: Mapping[str, tuple[str, ...]] = {
    EVENT_TYPE: EVENT_TYPES,
    NET_DIRECTION: NET_DIRECTIONS,
    CMDLINE_SOURCE: CMDLINE_SOURCES,
}


def _is_stringish(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return _is_stringish(t.value_type)
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _type_matches(actual: pa.DataType, expected: pa.DataType) -> bool:
    if _is_stringish(expected):
        return _is_stringish(actual)
    if pa.types.is_timestamp(expected):
        return pa.types.is_timestamp(actual) and actual.tz is not None
    return actual.equals(expected)


def _describe(t: pa.DataType) -> str:
    if _is_stringish(t):
        return "string"
    if pa.types.is_timestamp(t):
        return "timestamp with a time zone"
    return str(t)


def validate(table: pa.Table | pa.RecordBatch, *, check_values: bool = True) -> None:
    """Check that a table conforms to ``canonical-v1``.

    Parameters
    ----------
    table : pyarrow.Table or pyarrow.RecordBatch
        The events to check.
    check_values : bool, default True
        Also check the closed vocabularies (``event_type``, ``net_direction``,
        ``cmdline_source``) and that non-nullable columns hold no nulls.

    Raises
    ------
    SchemaError
        Listing every missing or mistyped column by name, with the expected
        and the received type.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from behavemodel.schema import empty_table, validate
    >>> validate(empty_table())
    >>> bad = empty_table().drop_columns(["process_exe"]).set_column(
    ...     0, "time", pa.array([], pa.int64()))
    >>> validate(bad)
    Traceback (most recent call last):
    ...
    behavemodel.exceptions.SchemaError: The table does not conform to canonical-v1: \
column 'time' should be timestamp with a time zone, got int64; column 'process_exe' is missing.
    """
    problems: list[str] = []
    names = set(table.schema.names)
    for field in CANONICAL_SCHEMA:
        if field.name not in names:
            problems.append(f"column {field.name!r} is missing")
            continue
        actual = table.schema.field(field.name).type
        if not _type_matches(actual, field.type):
            problems.append(
                f"column {field.name!r} should be {_describe(field.type)}, got {actual}"
            )
            continue
        if not check_values:
            continue
        column = table.column(field.name)
        if not field.nullable and column.null_count:
            problems.append(f"column {field.name!r} has {column.null_count} null value(s)")
        allowed = ALLOWED_VALUES.get(field.name)
        if allowed is not None:
            present = _distinct_strings(column)
            unknown = sorted(present - set(allowed))
            if unknown:
                problems.append(
                    f"column {field.name!r} has value(s) {unknown[:5]} outside {list(allowed)}"
                )
    if problems:
        raise SchemaError(
            f"The table does not conform to {SCHEMA_NAME}: " + "; ".join(problems) + ".",
            problems,
        )


def _distinct_strings(column: Any) -> set[str]:
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], pa.string())
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    return {v for v in pc.unique(column).to_pylist() if v is not None}


def empty_table() -> pa.Table:
    """Return a canonical table with no rows.

    Examples
    --------
    >>> from behavemodel.schema import empty_table
    >>> empty_table().num_rows, empty_table().num_columns
    (0, 34)
    """
    return CANONICAL_SCHEMA.empty_table()


def conform(
    table: pa.Table | pa.RecordBatch | pd.DataFrame,
    *,
    fill_missing: bool = False,
) -> pa.Table:
    """Cast a table to the exact canonical types and column order.

    Strings of any flavour become the canonical ``string`` or dictionary type,
    timestamps are converted to microseconds in UTC, and columns outside the
    schema are dropped.

    Parameters
    ----------
    table : pyarrow.Table, pyarrow.RecordBatch or pandas.DataFrame
        Events with canonical column names.
    fill_missing : bool, default False
        Add columns the table lacks as all-null (only for nullable columns).
        Without it, a missing column raises :class:`SchemaError`.

    Returns
    -------
    pyarrow.Table

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel.schema import conform
    >>> df = pd.DataFrame({"time": pd.to_datetime(["2024-01-01T00:00:00Z"]),
    ...                    "event_type": ["process_start"], "event_id": ["h:1.000:1"],
    ...                    "source_format": ["canonical"], "process_exe": ["/bin/sh"]})
    >>> t = conform(df, fill_missing=True)
    >>> t.num_columns, t.column("process_exe").to_pylist(), t.column("dst_port").type
    (34, ['/bin/sh'], DataType(int32))
    """
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    elif isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    arrays = []
    missing = []
    for field in CANONICAL_SCHEMA:
        if field.name not in table.schema.names:
            if fill_missing and field.nullable:
                arrays.append(pa.nulls(table.num_rows, field.type))
                continue
            missing.append(field.name)
            continue
        column = table.column(field.name)
        try:
            arrays.append(_cast(column, field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise SchemaError(
                f"Column {field.name!r} cannot be converted to {_describe(field.type)}: {exc}",
                [field.name],
            ) from None
    if missing:
        raise SchemaError(
            f"The table lacks the canonical column(s) {missing}; "
            "pass fill_missing=True to add them as nulls.",
            missing,
        )
    return pa.Table.from_arrays(arrays, schema=CANONICAL_SCHEMA)


def _cast(column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    actual = column.type
    if actual.equals(target):
        return column
    if pa.types.is_dictionary(target):
        if pa.types.is_dictionary(actual):
            column = column.cast(pa.dictionary(pa.int32(), pa.string()))
            return column.unify_dictionaries()
        return column.cast(pa.string()).dictionary_encode().cast(target)
    if pa.types.is_dictionary(actual):
        column = column.cast(actual.value_type)
    if pa.types.is_timestamp(target) and pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            column = column.cast(pa.timestamp(column.type.unit, tz="UTC"))
    return column.cast(target)


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """Convert a canonical table to pandas with Arrow-backed dtypes.

    Dictionary columns become pandas categoricals; every other column keeps
    its Arrow type through :class:`pandas.ArrowDtype`, so nulls stay nulls and
    integers stay integers.

    Examples
    --------
    >>> from behavemodel.schema import empty_table, to_pandas
    >>> df = to_pandas(empty_table())
    >>> str(df["event_type"].dtype), str(df["process_pid"].dtype)
    ('category', 'int64[pyarrow]')
    """

    def mapper(t: pa.DataType) -> Any:
        if pa.types.is_dictionary(t):
            return None
        return pd.ArrowDtype(t)

    return table.to_pandas(types_mapper=mapper)


def column_names(names: Iterable[str] | None = None) -> list[str]:
    """Return canonical column names, in schema order, optionally restricted.

    Examples
    --------
    >>> from behavemodel.schema import column_names
    >>> column_names(["dst_port", "time"])
    ['time', 'dst_port']
    """
    wanted = None if names is None else set(names)
    return [f.name for f in CANONICAL_SCHEMA if wanted is None or f.name in wanted]
