"""The ``ecs`` mapping: Auditbeat's auditd module output (ECS), nested or flattened.

Works on nested structs (Parquet written from Elasticsearch or Auditbeat's file
output) and on dotted flat keys (``"process.pid"`` as one column name). Auditbeat
6.x names (``user.uid``, ``user.auid``, ``process.ppid``, ``user.name_map``) are read
where the 7.x+ ones are absent. Values arrive as text or numbers; both work.

=================  ===============================================  ==========================
canonical          source path (first present wins)                 transformation
=================  ===============================================  ==========================
time               ``@timestamp``                                   RFC 3339 text, timestamp,
                                                                    or ms epoch
host_name          ``host.name`` | ``host.hostname``
record_type        ``auditd.message_type``                          upper-cased
syscall            ``auditd.data.syscall``
event_type         ``auditd.data.syscall`` (+ ``auditd.data.a1``/   the raw reader's syscall
                   ``a2`` open flags), else ``event.action``        table; without a syscall:
                                                                    executed, connected-to,
                                                                    accepted-connection-from,
                                                                    bound-socket / listen-for-
                                                                    connections, logged-in
success            ``auditd.result`` | ``event.outcome``            success / fail(ure)
exit_code          ``auditd.data.exit``                             errno names (EACCES) ->
                                                                    -errno
process_pid        ``process.pid``
parent_pid         ``process.parent.pid`` | ``process.ppid``
process_name/exe   ``process.name`` / ``process.executable``
process_cmdline    ``process.args``, else ``process.title``,        shlex-joined argv
                   else ``process.name``                            (execve / proctitle /
                                                                    comm)
parent_exe/name    ``process.parent.executable`` / ``.name``        (Auditbeat leaves them
                                                                    out; other shippers fill)
user_uid/name      ``user.id`` | ``user.uid`` / ``user.name`` |
                   ``user.name_map.uid``
login_uid/name     ``user.audit.id`` | ``user.auid`` /              "unset", 4294967295 ->
                   ``user.audit.name`` | ``user.name_map.auid``     null
session_id         ``auditd.session``                               "unset" -> null
tty                ``auditd.data.tty`` | ``auditd.data.terminal``   "(none)" -> null,
                                                                    /dev/pts/1 -> pts1
cwd                ``process.working_directory`` | ``process.cwd``
file_path          ``file.path`` (file_write events only)
src_ip/src_port    ``source.ip`` | ``source.path`` / ``source.port``  set by go-libaudit for
dst_ip/dst_port    ``destination.ip`` | ``destination.path`` /        accept (src) and connect
                   ``destination.port``; bind/listen:                 (dst); a bound socket is
                   ``auditd.data.socket.addr`` | ``.path``/``.port``  local: dst
net_family         ``auditd.data.socket.family``                    ipv4 inet, ipv6 inet6,
                                                                    unix/local unix; else
                                                                    (network events) from
                                                                    the IP text
net_direction      event type, else ``network.direction``           ingress/incoming/inbound,
                                                                    egress/outgoing/outbound
container_id       ``container.id``
audit_key          ``tags``                                         rule keys, comma-joined
event_id           ``auditd.sequence``                              ``host:sec.ms:sequence``
=================  ===============================================  ==========================

``tags`` holds the audit rule keys in Auditbeat's output; a pipeline that adds
its own tags adds them to ``audit_key`` too.
"""

from __future__ import annotations

import errno

import pyarrow as pa
import pyarrow.compute as pc

from behavemodel import schema as s
from behavemodel.io._mappings import _arrow as A
from behavemodel.io._mappings._common import OPEN_FLAG_ARG, classify, family_of_ip, when
from behavemodel.io._mappings._engine import Values
from behavemodel.io._mappings._plan import Builtin, Step
from behavemodel.io._mappings._spec import Field

__all__ = ["ECS"]

_NULL = pa.scalar(None, pa.string())
_ACTIONS = {
    "executed": "process_start",
    "connected-to": "net_connect",
    "accepted-connection-from": "net_accept",
    "bound-socket": "net_listen",
    "listen-for-connections": "net_listen",
    "logged-in": "login",
}
_DIRECTIONS = {
    "ingress": "inbound",
    "incoming": "inbound",
    "inbound": "inbound",
    "egress": "outbound",
    "outgoing": "outbound",
    "outbound": "outbound",
}
_FAMILIES = {
    "ipv4": "inet",
    "ipv6": "inet6",
    "unix": "unix",
    "local": "unix",
    "netlink": "netlink",
}


def _f(*paths: str, kind: str = "string") -> Field:
    return Field(paths, required=False, kind=kind)


_INPUTS: dict[str, Field] = {
    "host": _f("host.name", "host.hostname"),
    "message_type": _f("auditd.message_type"),
    "syscall": _f("auditd.data.syscall"),
    "a1": _f("auditd.data.a1"),
    "a2": _f("auditd.data.a2"),
    "action": Field(("event.action",), required=True, kind="string"),
    "result": _f("auditd.result", "event.outcome"),
    "exit": _f("auditd.data.exit"),
    "pid": _f("process.pid", kind="int"),
    "ppid": _f("process.parent.pid", "process.ppid", kind="int"),
    "name": _f("process.name"),
    "exe": _f("process.executable"),
    "args": _f("process.args", kind="raw"),
    "title": _f("process.title"),
    "cwd": _f("process.working_directory", "process.cwd"),
    "parent_exe": _f("process.parent.executable"),
    "parent_name": _f("process.parent.name"),
    "uid": _f("user.id", "user.uid", kind="int"),
    "user": _f("user.name", "user.name_map.uid"),
    "auid": _f("user.audit.id", "user.auid", kind="int"),
    "audit_user": _f("user.audit.name", "user.name_map.auid"),
    "session": _f("auditd.session", kind="int"),
    "tty": _f("auditd.data.tty", "auditd.data.terminal"),
    "file_path": _f("file.path"),
    "src_ip": _f("source.ip", "source.path"),
    "src_port": _f("source.port", kind="int"),
    "dst_ip": _f("destination.ip", "destination.path"),
    "dst_port": _f("destination.port", kind="int"),
    "sock_addr": _f("auditd.data.socket.addr", "auditd.data.socket.path"),
    "sock_port": _f("auditd.data.socket.port", kind="int"),
    "sock_family": _f("auditd.data.socket.family"),
    "direction": _f("network.direction"),
    "container": _f("container.id"),
    "tags": _f("tags", kind="raw"),
    "sequence": _f("auditd.sequence", kind="int"),
}


def _lookup(values: pa.Array, table: dict[str, str]) -> pa.Array:
    index = pc.index_in(pc.utf8_lower(values), pa.array(list(table)))
    return pc.take(pa.array(list(table.values())), index)


def _event_type(v: Values) -> dict[str, pa.Array]:
    syscall = v["syscall"]
    flags = when(pc.equal(syscall, "open"), v["a1"], v["a2"])
    flags = when(pc.is_in(syscall, pa.array(list(OPEN_FLAG_ARG))), flags, _NULL)
    flag_ints = A.per_unique(flags, lambda h: int(h, 16) if _is_hex(h) else None, pa.int64())
    kind, direction = classify(syscall, flags=flag_ints)
    by_action = _lookup(v["action"], _ACTIONS).fill_null("other")
    kind = pc.if_else(pc.is_valid(syscall), kind, by_action)
    record = pc.utf8_upper(v["message_type"])
    kind = when(pc.equal(record, "USER_LOGIN"), "login", kind)
    from_type = _lookup(
        kind, {"net_connect": "outbound", "net_accept": "inbound", "net_listen": "listen"}
    )
    direction = pc.coalesce(from_type, direction, _lookup(v["direction"], _DIRECTIONS))
    return {
        s.EVENT_TYPE: kind,
        s.NET_DIRECTION: direction,
        s.RECORD_TYPE: record,
        s.SYSCALL: syscall,
    }


def _is_hex(text: str) -> bool:
    body = text.lower().removeprefix("0x")
    return 0 < len(body) <= 16 and all(c in "0123456789abcdef" for c in body)


def _cmdline(v: Values) -> dict[str, pa.Array]:
    args = v["args"]
    if not v.has("args"):
        argv = v.nulls()
    elif pa.types.is_list(args.type) or pa.types.is_large_list(args.type):
        argv = when(pc.greater(pc.list_value_length(args), 0), A.join_argv(args), _NULL)
    else:  # an exporter that wrote the argv as one string
        argv = A.to_string(args)
    cmdline = pc.coalesce(argv, v["title"], v["name"])
    source = when(
        pc.is_valid(argv),
        "execve",
        when(pc.is_valid(v["title"]), "proctitle", when(pc.is_valid(v["name"]), "comm", _NULL)),
    )
    return {s.PROCESS_CMDLINE: cmdline, s.CMDLINE_SOURCE: source}


def _network(v: Values) -> dict[str, pa.Array]:
    local = pc.equal(v["@event_type"], "net_listen")
    dst_ip = pc.coalesce(v["dst_ip"], when(local, v["sock_addr"], _NULL))
    dst_port = pc.coalesce(v["dst_port"], when(local, v["sock_port"], pa.scalar(None, pa.int64())))
    family = _lookup(v["sock_family"], _FAMILIES)
    any_ip = pc.coalesce(dst_ip, v["src_ip"])
    from_ip = when(pc.is_valid(v["@net_direction"]), A.to_string(family_of_ip(any_ip)), _NULL)
    return {
        s.SRC_IP: v["src_ip"],
        s.SRC_PORT: v["src_port"],
        s.DST_IP: dst_ip,
        s.DST_PORT: dst_port,
        s.NET_FAMILY: pc.coalesce(family, from_ip),
    }


def _tags(v: Values) -> dict[str, pa.Array]:
    tags = v["tags"]
    if not v.has("tags") or not pa.types.is_list(tags.type):
        return {s.AUDIT_KEY: A.to_string(tags) if v.has("tags") else v.nulls()}
    joined = pc.binary_join(pc.cast(tags, pa.list_(pa.string())), ",")
    return {s.AUDIT_KEY: when(pc.greater(pc.list_value_length(tags), 0), joined, _NULL)}


def _copy(column: str, name: str) -> Step:
    return Step((column,), (name,), lambda v: {column: v[name]})


ECS = Builtin(
    name="ecs",
    source_format="ecs-auditbeat",
    columns={s.TIME: Field(("@timestamp",), unit="ms")},
    inputs=_INPUTS,
    steps=(
        Step(
            (s.EVENT_TYPE, s.NET_DIRECTION, s.RECORD_TYPE, s.SYSCALL),
            ("syscall", "a1", "a2", "action", "message_type", "direction"),
            _event_type,
        ),
        _copy(s.HOST_NAME, "host"),
        Step(
            (s.EVENT_ID,),
            ("@host_name", "@time", "sequence"),
            lambda v: {s.EVENT_ID: A.event_key(v["@host_name"], v["@time"], v["sequence"])},
        ),
        Step((s.SUCCESS,), ("result",), lambda v: {s.SUCCESS: A.to_bool(v["result"])}),
        Step((s.EXIT_CODE,), ("exit",), lambda v: {s.EXIT_CODE: _exit(v["exit"])}),
        _copy(s.PROCESS_PID, "pid"),
        _copy(s.PARENT_PID, "ppid"),
        _copy(s.PROCESS_NAME, "name"),
        _copy(s.PROCESS_EXE, "exe"),
        Step((s.PROCESS_CMDLINE, s.CMDLINE_SOURCE), ("args", "title", "name"), _cmdline),
        _copy(s.PARENT_EXE, "parent_exe"),
        _copy(s.PARENT_NAME, "parent_name"),
        _copy(s.USER_UID, "uid"),
        _copy(s.USER_NAME, "user"),
        Step((s.LOGIN_UID,), ("auid",), lambda v: {s.LOGIN_UID: A.unset_id(v["auid"])}),
        _copy(s.LOGIN_NAME, "audit_user"),
        Step((s.SESSION_ID,), ("session",), lambda v: {s.SESSION_ID: A.unset_id(v["session"])}),
        Step((s.TTY,), ("tty",), lambda v: {s.TTY: _tty(v["tty"])}),
        _copy(s.CWD, "cwd"),
        Step(
            (s.FILE_PATH,),
            ("@event_type", "file_path"),
            lambda v: {
                s.FILE_PATH: when(pc.equal(v["@event_type"], "file_write"), v["file_path"], _NULL)
            },
        ),
        Step(
            (s.SRC_IP, s.SRC_PORT, s.DST_IP, s.DST_PORT, s.NET_FAMILY),
            (
                "@event_type",
                "@net_direction",
                "src_ip",
                "src_port",
                "dst_ip",
                "dst_port",
                "sock_addr",
                "sock_port",
                "sock_family",
            ),
            _network,
        ),
        _copy(s.CONTAINER_ID, "container"),
        Step((s.AUDIT_KEY,), ("tags",), _tags),
    ),
)


def _exit(exit_code: pa.Array) -> pa.Array:
    """exit= as a number; go-libaudit writes errors by name (EACCES -> -13)."""
    named = A.per_unique(
        pc.if_else(pc.match_substring_regex(exit_code, r"^E[A-Z0-9]+$"), exit_code, None),
        lambda name: -code if isinstance(code := getattr(errno, name, None), int) else None,
        pa.int64(),
    )
    return pc.coalesce(A.to_int(exit_code), named)


def _tty(tty: pa.Array) -> pa.Array:
    """``(none)`` is no terminal; ``/dev/pts/1`` is written ``pts1`` as the reader does."""
    tty = A.null_if_in(A.to_string(tty), ("(none)", "?", ""))
    dev = pc.starts_with(tty, "/dev/")
    short = pc.replace_substring(pc.utf8_slice_codeunits(tty, 5), "/", "")
    return when(dev, short, tty)
