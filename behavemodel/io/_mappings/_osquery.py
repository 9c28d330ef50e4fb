"""The ``osquery`` mapping: ``process_events`` and ``socket_events`` results.

Reads osquery result logs as the filesystem logger writes them (JSON lines with
``name``, ``hostIdentifier``, ``unixTime`` and either ``columns`` (event format,
one row a line) or ``snapshot`` (a list of rows)), and Parquet or JSON of the
rows flattened to top-level columns. Every source path below is tried as
``columns.<name>`` first, then as ``<name>``. osquery writes numbers as text
unless ``numerics`` is on; both work.

A row is a **socket event** when ``action`` is connect, bind, listen or accept;
a **process start** when ``syscall`` is execve/execveat, or when there is no
``syscall`` column (older versions, macOS) but the row has a ``cmdline`` and an
event ``time``. Other rows (fork/clone, scheduled snapshots of other tables)
are ``other``.

===============  ==================================  ====================================
canonical        source path                         transformation
===============  ==================================  ====================================
time             ``time``, else ``unixTime``         epoch seconds (event time first,
                                                     then the query's run time)
host_name        ``hostIdentifier`` |
                 ``decorations.hostname``
event_type       ``action``, ``syscall``,            connect net_connect, accept(4)
                 ``cmdline``, ``time``               net_accept, bind/listen net_listen;
                                                     execve(at) process_start
syscall          ``syscall`` | socket ``action``
success          ``status`` | ``success``            succeeded / 1 true, 0 false
process_pid      ``pid``
parent_pid       ``parent``                          -1 (unknown) -> null
process_exe      ``path``                            "" (unknown) -> null
process_cmdline  ``cmdline``                         cmdline_source execve; "" -> null
cwd              ``cwd``                             "" -> null
user_uid         ``uid``
login_uid        ``auid``                            4294967295 / -1 -> null
src_ip/src_port  connect: ``local_address``/         socket_events gives both ends:
                 ``local_port``; accept: ``remote_*`` src is the initiator, dst the
dst_ip/dst_port  connect: ``remote_*``; accept,      responder, a listening socket is
                 bind, listen: ``local_*`` (a unix    dst; "" -> null
                 socket: ``socket``)
net_family       ``family``                          2 inet, 10 inet6, 1 unix, 16 netlink
net_direction    from the event type                 outbound / inbound / listen
event_id         ``eid``                             ``host:sec.ms:eid``; without one,
                                                     ``host:sec.ms:file#line[.row]``
===============  ==================================  ====================================

Not in these tables: process_name (comm), parent_exe/name, user and login
names, session, tty, container, audit key: all null. The ``diffResults`` batch
format (``log_result_events = false``) is not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel import schema as s
from behavemodel.io._mappings import _arrow as A
from behavemodel.io._mappings._common import when
from behavemodel.io._mappings._engine import Values
from behavemodel.io._mappings._plan import ELEMENT, ROW, Builtin, Step
from behavemodel.io._mappings._spec import Field

__all__ = ["OSQUERY"]

_NULL = pa.scalar(None, pa.string())
_SOCKET = {
    "connect": "net_connect",
    "accept": "net_accept",
    "accept4": "net_accept",
    "bind": "net_listen",
    "listen": "net_listen",
}
_FAMILIES = {2: "inet", 10: "inet6", 1: "unix", 16: "netlink", 17: "packet"}


def _f(name: str, kind: str = "string") -> Field:
    return Field((f"columns.{name}", name), required=False, kind=kind)


_INPUTS: dict[str, Field] = {
    "host": Field(("hostIdentifier", "decorations.hostname"), required=False, kind="string"),
    "event_time": _f("time"),
    "action": _f("action"),
    "syscall": _f("syscall"),
    "status": _f("status"),
    "success": _f("success", "int"),
    "pid": _f("pid", "int"),
    "parent": _f("parent", "int"),
    "path": _f("path"),
    "cmdline": _f("cmdline"),
    "cwd": _f("cwd"),
    "uid": _f("uid", "int"),
    "auid": _f("auid", "int"),
    "family": _f("family", "int"),
    "local_address": _f("local_address"),
    "local_port": _f("local_port", "int"),
    "remote_address": _f("remote_address"),
    "remote_port": _f("remote_port", "int"),
    "socket": _f("socket"),
    "eid": _f("eid"),
}


def _lookup(values: pa.Array, table: Mapping[Any, str]) -> pa.Array:
    keys = pa.array(list(table))
    return pc.take(pa.array(list(table.values())), pc.index_in(values.cast(keys.type), keys))


def _event_type(v: Values) -> dict[str, pa.Array]:
    action = pc.utf8_lower(v["action"])
    socket = _lookup(action, _SOCKET)
    syscall = v["syscall"]
    execs = pc.is_in(syscall, pa.array(["execve", "execveat"]))
    legacy = pc.and_kleene(
        pc.and_kleene(pc.is_null(syscall), pc.is_valid(v["cmdline"])), pc.is_valid(v["event_time"])
    )
    kind = when(pc.or_kleene(execs, legacy), "process_start", "other")
    kind = pc.coalesce(socket, kind)
    direction = _lookup(
        kind, {"net_connect": "outbound", "net_accept": "inbound", "net_listen": "listen"}
    )
    status = A.to_bool(pc.utf8_lower(v["status"]))
    success = pc.coalesce(
        when(pc.equal(pc.utf8_lower(v["status"]), "unknown"), pa.scalar(None, pa.bool_()), status),
        A.to_bool(v["success"]),
    )
    return {
        s.EVENT_TYPE: kind,
        s.NET_DIRECTION: direction,
        s.SYSCALL: pc.coalesce(syscall, when(pc.is_valid(socket), action, _NULL)),
        s.SUCCESS: success,
    }


def _network(v: Values) -> dict[str, pa.Array]:
    kind = v["@event_type"]
    blank = ("",)
    local = A.null_if_in(v["local_address"], blank)
    remote = A.null_if_in(v["remote_address"], blank)
    family = _lookup(v["family"], _FAMILIES)
    unix = pc.equal(family, "unix")
    local = when(unix, A.null_if_in(v["socket"], blank), local)
    connect = pc.equal(kind, "net_connect")
    accept = pc.equal(kind, "net_accept")
    listen = pc.equal(kind, "net_listen")
    no_int = pa.scalar(None, pa.int64())
    # A port without its address (an unbound local end, port 0) says nothing.
    local_port = when(pc.is_valid(local), v["local_port"], no_int)
    remote_port = when(pc.is_valid(remote), v["remote_port"], no_int)
    return {
        s.SRC_IP: when(connect, local, when(accept, remote, _NULL)),
        s.SRC_PORT: when(connect, local_port, when(accept, remote_port, no_int)),
        s.DST_IP: when(connect, remote, when(pc.or_kleene(accept, listen), local, _NULL)),
        s.DST_PORT: when(
            connect, remote_port, when(pc.or_kleene(accept, listen), local_port, no_int)
        ),
        s.NET_FAMILY: when(pc.is_valid(pc.coalesce(local, remote)), family, _NULL),
    }


def _cmdline(v: Values) -> dict[str, pa.Array]:
    cmdline = A.null_if_in(v["cmdline"], ("",))
    return {
        s.PROCESS_CMDLINE: cmdline,
        s.CMDLINE_SOURCE: when(pc.is_valid(cmdline), "execve", _NULL),
    }


def _copy(column: str, name: str) -> Step:
    return Step((column,), (name,), lambda v: {column: v[name]})


# --- snapshot rows --------------------------------------------------------------------


def _needs_explode(schema: pa.Schema) -> bool:
    return "snapshot" in schema.names and pa.types.is_list(schema.field("snapshot").type)


def _widen(struct: pa.Array, target: pa.StructType) -> pa.Array:
    n = len(struct)
    have = {f.name for f in struct.type} if pa.types.is_struct(struct.type) else set()
    children = []
    for f in target:
        child = struct.field(f.name) if f.name in have else pa.nulls(n, f.type)
        children.append(child if child.type == f.type else child.cast(f.type))
    mask = pc.is_null(struct) if pa.types.is_struct(struct.type) else None
    return pa.StructArray.from_arrays(children, fields=list(target), mask=mask)


def _explode(table: pa.Table) -> pa.Table:
    """One row per element of ``snapshot``, with that element as ``columns``."""
    snap = A.as_array(table.column("snapshot"))
    parents = pc.list_parent_indices(snap)
    elements = pc.list_flatten(snap)
    keep = pc.is_null(snap)  # event-format rows in the same block
    kept_rows = pc.indices_nonzero(keep)
    columns = A.as_array(table.column("columns")) if "columns" in table.schema.names else None
    fields: dict[str, pa.DataType] = {}
    for t in ([columns.type] if columns is not None else []) + [elements.type]:
        if pa.types.is_struct(t):
            for f in t:
                known = fields.setdefault(f.name, f.type)
                if known != f.type:
                    fields[f.name] = pa.string()
    target = pa.struct(fields)
    order = pa.concat_arrays([kept_rows.cast(pa.int64()), parents.cast(pa.int64())])
    rest = table.drop_columns([c for c in ("snapshot", "columns") if c in table.schema.names])
    rows = rest.take(order)
    parts = (
        [_widen(columns.take(kept_rows), target)]
        if columns is not None
        else [pa.nulls(len(kept_rows), target)]
    )
    merged = pa.concat_arrays([*parts, _widen(elements, target)])
    offsets = snap.offsets.to_numpy()
    within = np.arange(len(elements)) - np.repeat(offsets[:-1], np.diff(offsets)) + 1
    element = pa.concat_arrays(
        [pa.nulls(len(kept_rows), pa.int64()), pa.array(within.astype(np.int64))]
    )
    out = rows.append_column("columns", merged).append_column(ELEMENT, element)
    by_row = pc.sort_indices(out.column(ROW)) if ROW in out.schema.names else None
    return out.take(by_row) if by_row is not None else out


OSQUERY = Builtin(
    name="osquery",
    source_format="osquery",
    columns={s.TIME: Field(("columns.time", "time", "unixTime"), unit="s")},
    inputs=_INPUTS,
    steps=(
        Step(
            (s.EVENT_TYPE, s.NET_DIRECTION, s.SYSCALL, s.SUCCESS),
            ("action", "syscall", "cmdline", "event_time", "status", "success"),
            _event_type,
        ),
        _copy(s.HOST_NAME, "host"),
        Step(
            (s.EVENT_ID,),
            ("@host_name", "@time", "eid"),
            lambda v: {s.EVENT_ID: A.event_key(v["@host_name"], v["@time"], v["eid"])},
        ),
        _copy(s.PROCESS_PID, "pid"),
        Step(
            (s.PARENT_PID,),
            ("parent",),
            lambda v: {s.PARENT_PID: A.null_if_in(v["parent"], (-1,))},
        ),
        Step(
            (s.PROCESS_EXE,), ("path",), lambda v: {s.PROCESS_EXE: A.null_if_in(v["path"], ("",))}
        ),
        Step((s.PROCESS_CMDLINE, s.CMDLINE_SOURCE), ("cmdline",), _cmdline),
        Step((s.CWD,), ("cwd",), lambda v: {s.CWD: A.null_if_in(v["cwd"], ("",))}),
        _copy(s.USER_UID, "uid"),
        Step((s.LOGIN_UID,), ("auid",), lambda v: {s.LOGIN_UID: A.unset_id(v["auid"])}),
        Step(
            (s.SRC_IP, s.SRC_PORT, s.DST_IP, s.DST_PORT, s.NET_FAMILY),
            (
                "@event_type",
                "local_address",
                "local_port",
                "remote_address",
                "remote_port",
                "family",
                "socket",
            ),
            _network,
        ),
    ),
    prepare=_explode,
    needs_prepare=_needs_explode,
)
