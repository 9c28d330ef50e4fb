"""The ``ocsf`` mapping: OCSF 1.0 to 1.4 events (Parquet as in security data lakes, or JSON).

Classes mapped: Process Activity (``class_uid`` 1007), Network Activity (4001),
File System Activity (1001) and Authentication (3002); any other class becomes
``event_type="other"`` with the actor's process facts. "Subject" below is the
process the event is about: ``process`` for Process Activity, ``actor.process``
for every other class. Where a path moved between versions, both are read and
the first non-null wins.

================  ====================================================  =======================
canonical         source path (first present wins)                      transformation
================  ====================================================  =======================
time              ``time`` | ``time_dt``                                ms epoch (or RFC 3339)
host_name         ``device.hostname`` | ``device.name``
event_type        ``class_uid``, ``activity_id``,                       1007+Launch(1):
                  ``connection_info.direction_id``                      process_start; 4001:
                                                                        Listen(7): net_listen
                                                                        (1.3+), Open(1)/Fail(4)
                                                                        /Refuse(5) with
                                                                        direction Outbound(2):
                                                                        net_connect, Inbound(1)
                                                                        : net_accept; 1001
                                                                        Create/Update/Delete/
                                                                        Rename/Set Attributes/
                                                                        Set Security (1,3-7):
                                                                        file_write; 3002 Logon
                                                                        (1): login; else other
success           ``status_id``                                         1 true, 2 false; else
                                                                        4001 Open true, Fail/
                                                                        Refuse false
exit_code         ``exit_code``
process_pid       subject ``.pid``
process_exe       subject ``.file.path`` | ``.path`` (1.4+)
process_name      subject ``.name`` | ``.file.name``
process_cmdline   subject ``.cmd_line``                                 cmdline_source execve
parent_pid        subject ``.parent_process.pid``; for a Launch also
                  ``actor.process.pid`` (the launcher)
parent_exe/name   same objects, ``.file.path`` | ``.path``, ``.name``
user_name/uid     subject ``.user.name``/``.user.uid``, then            uid text -> int
                  ``actor.user.*``; 3002: ``user.*``
login_uid         subject ``.auid`` (Linux extension)                   4294967295 -> null
session_id        subject ``.session.uid`` | ``actor.session.uid``      decimal text -> int
tty               subject ``.session.terminal``
cwd               subject ``.working_directory`` (1.4+)
file_path         ``file.path`` (file_write events only)
src_ip/src_port   ``src_endpoint.ip``/``.port``                         OCSF src is the
dst_ip/dst_port   ``dst_endpoint.ip``/``.port``                         initiator, as ours
net_family        ``connection_info.protocol_ver_id``                   4001 only: 4 inet, 6
                                                                        inet6, else from the IP
                                                                        text
net_direction     ``connection_info.direction_id``, ``activity_id``     1 inbound, 2 outbound,
                                                                        Listen: listen
container_id      subject ``.container.uid`` | ``container.uid``
event_id          ``metadata.uid``                                      ``host:sec.ms:uid``
================  ====================================================  =======================

Not mapped (OCSF has no such field in 1.0-1.4): ``syscall``, ``record_type``,
``audit_key``. ``connection_info.direction_id`` 3 (Lateral) leaves the direction
null: it does not say which end is this host.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel import schema as s
from behavemodel.io._mappings import _arrow as A
from behavemodel.io._mappings._common import family_of_ip, when
from behavemodel.io._mappings._engine import Values
from behavemodel.io._mappings._plan import Builtin, Step
from behavemodel.io._mappings._spec import Field

__all__ = ["OCSF"]

PROCESS_ACTIVITY, NETWORK_ACTIVITY, FILE_ACTIVITY, AUTHENTICATION = 1007, 4001, 1001, 3002
_FILE_WRITES = (1, 3, 4, 5, 6, 7)
_NULL = pa.scalar(None, pa.string())


def _f(*paths: str, kind: str = "string", required: bool = False) -> Field:
    return Field(paths, required=required, kind=kind)


def _process(prefix: str) -> dict[str, Field]:
    """Inputs for the facts of one process object at ``prefix``."""
    return {
        f"{prefix}.pid": _f(f"{prefix}.pid", kind="int"),
        f"{prefix}.exe": _f(f"{prefix}.file.path", f"{prefix}.path"),
        f"{prefix}.name": _f(f"{prefix}.name", f"{prefix}.file.name"),
    }


_SUBJECT = ("process", "actor.process")
_INPUTS: dict[str, Field] = {
    "class_uid": _f("class_uid", kind="int", required=True),
    "activity_id": _f("activity_id", kind="int", required=True),
    "status_id": _f("status_id", kind="int"),
    "exit_code": _f("exit_code", kind="int"),
    "host": _f("device.hostname", "device.name"),
    "uid": _f("metadata.uid"),
    "direction_id": _f("connection_info.direction_id", kind="int"),
    "protocol_ver_id": _f("connection_info.protocol_ver_id", kind="int"),
    "src_ip": _f("src_endpoint.ip"),
    "src_port": _f("src_endpoint.port", kind="int"),
    "dst_ip": _f("dst_endpoint.ip"),
    "dst_port": _f("dst_endpoint.port", kind="int"),
    "file_path": _f("file.path"),
    "container": _f("container.uid"),
    "auth_user": _f("user.name"),
    "auth_uid": _f("user.uid", kind="int"),
    "actor.user.name": _f("actor.user.name"),
    "actor.user.uid": _f("actor.user.uid", kind="int"),
    "actor.session.uid": _f("actor.session.uid", kind="int"),
}
for _p in _SUBJECT:
    _INPUTS.update(_process(_p))
    _INPUTS.update(_process(f"{_p}.parent_process"))
    _INPUTS.update(
        {
            f"{_p}.cmd_line": _f(f"{_p}.cmd_line"),
            f"{_p}.cwd": _f(f"{_p}.working_directory"),
            f"{_p}.user": _f(f"{_p}.user.name"),
            f"{_p}.uid": _f(f"{_p}.user.uid", kind="int"),
            f"{_p}.auid": _f(f"{_p}.auid", f"{_p}.linux/auid", kind="int"),
            f"{_p}.ses": _f(f"{_p}.session.uid", kind="int"),
            f"{_p}.tty": _f(f"{_p}.session.terminal"),
            f"{_p}.container": _f(f"{_p}.container.uid"),
        }
    )


def _is_process(v: Values) -> pa.Array:
    return pc.equal(v["class_uid"], PROCESS_ACTIVITY)


def _subject(v: Values, fact: str) -> pa.Array:
    """A fact of ``process`` for Process Activity, of ``actor.process`` otherwise."""
    return pc.if_else(
        _is_process(v).fill_null(False), v[f"process.{fact}"], v[f"actor.process.{fact}"]
    )


_KINDS = [
    "other",
    "process_start",
    "net_connect",
    "net_accept",
    "net_listen",
    "file_write",
    "login",
]
_DIRECTIONS = [None, "outbound", "inbound", "listen"]


def _ints(values: pa.Array) -> np.ndarray:
    """An int column as numpy, nulls as -1 (no OCSF id is negative)."""
    return np.asarray(values.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _event_type(v: Values) -> dict[str, pa.Array]:
    cls, act, direction = _ints(v["class_uid"]), _ints(v["activity_id"]), _ints(v["direction_id"])
    network = cls == NETWORK_ACTIVITY
    attempt = network & np.isin(act, (1, 4, 5))
    kind = np.zeros(v.n, np.int8)
    kind[(cls == AUTHENTICATION) & (act == 1)] = 6
    kind[(cls == FILE_ACTIVITY) & np.isin(act, _FILE_WRITES)] = 5
    kind[(cls == PROCESS_ACTIVITY) & (act == 1)] = 1
    kind[attempt & (direction == 2)] = 2
    kind[attempt & (direction == 1)] = 3
    kind[network & (act == 7)] = 4
    way = np.where(network & (direction == 2), 1, np.where(network & (direction == 1), 2, 0))
    way[network & (act == 7)] = 3
    status = _ints(v["status_id"])
    success = np.where(status == 1, 1, np.where(status == 2, 0, -1))
    success = np.where((success < 0) & network & (act == 1), 1, success)
    success = np.where((success < 0) & network & np.isin(act, (4, 5)), 0, success)
    return {
        s.EVENT_TYPE: A.codes_to_strings(kind, list(_KINDS)),
        s.NET_DIRECTION: A.codes_to_strings(way, list(_DIRECTIONS)),
        s.SUCCESS: pa.array(success == 1, mask=success < 0),
        s.EXIT_CODE: v["exit_code"],
    }


def _subject_step(column: str, fact: str, extra: str | None = None) -> Step:
    """``column`` from the subject's ``fact`` (then the input ``extra``, if given)."""

    def func(v: Values) -> dict[str, pa.Array]:
        value = _subject(v, fact)
        if extra is not None:
            value = pc.coalesce(value, v[extra])
        if column in (s.LOGIN_UID, s.SESSION_ID):
            value = A.null_if_in(value, (A.UNSET_ID, -1))
        return {column: value}

    inputs = ("class_uid", f"process.{fact}", f"actor.process.{fact}")
    return Step((column,), inputs + ((extra,) if extra else ()), func)


def _parent_step(column: str, fact: str) -> Step:
    """The subject's parent; for a Launch without one, the launching actor process."""

    def func(v: Values) -> dict[str, pa.Array]:
        own = _subject(v, f"parent_process.{fact}")
        launch = pc.and_kleene(_is_process(v), pc.equal(v["activity_id"], 1)).fill_null(False)
        launcher = pc.if_else(launch, v[f"actor.process.{fact}"], pa.scalar(None, own.type))
        return {column: pc.coalesce(own, launcher)}

    inputs = (
        "class_uid",
        "activity_id",
        f"process.parent_process.{fact}",
        f"actor.process.parent_process.{fact}",
        f"actor.process.{fact}",
    )
    return Step((column,), inputs, func)


def _user_step(column: str, fact: str, actor: str, auth: str) -> Step:
    def func(v: Values) -> dict[str, pa.Array]:
        is_auth = pc.equal(v["class_uid"], AUTHENTICATION).fill_null(False)
        value = pc.coalesce(_subject(v, fact), v[actor])
        return {column: pc.if_else(is_auth, v[auth], value)}

    return Step(
        (column,), ("class_uid", f"process.{fact}", f"actor.process.{fact}", actor, auth), func
    )


def _cmdline(v: Values) -> dict[str, pa.Array]:
    cmdline = _subject(v, "cmd_line")
    return {
        s.PROCESS_CMDLINE: cmdline,
        s.CMDLINE_SOURCE: when(pc.is_valid(cmdline), "execve", _NULL),
    }


def _network(v: Values) -> dict[str, pa.Array]:
    """net_family of Network Activity: the IP version, else the address text."""
    ver = v["protocol_ver_id"]
    from_version = when(pc.equal(ver, 4), "inet", when(pc.equal(ver, 6), "inet6", _NULL))
    ip = pc.coalesce(v["dst_ip"], v["src_ip"])
    family = pc.coalesce(from_version, A.to_string(family_of_ip(ip)))
    return {s.NET_FAMILY: when(pc.equal(v["class_uid"], NETWORK_ACTIVITY), family, _NULL)}


def _copy(column: str, name: str) -> Step:
    return Step((column,), (name,), lambda v: {column: v[name]})


OCSF = Builtin(
    name="ocsf",
    source_format="ocsf-1.x",
    columns={s.TIME: Field(("time", "time_dt"), unit="ms")},
    inputs=_INPUTS,
    steps=(
        Step(
            (s.EVENT_TYPE, s.NET_DIRECTION, s.SUCCESS, s.EXIT_CODE),
            ("class_uid", "activity_id", "direction_id", "status_id", "exit_code"),
            _event_type,
        ),
        _copy(s.HOST_NAME, "host"),
        Step(
            (s.EVENT_ID,),
            ("@host_name", "@time", "uid"),
            lambda v: {s.EVENT_ID: A.event_key(v["@host_name"], v["@time"], v["uid"])},
        ),
        _subject_step(s.PROCESS_PID, "pid"),
        _subject_step(s.PROCESS_EXE, "exe"),
        _subject_step(s.PROCESS_NAME, "name"),
        Step(
            (s.PROCESS_CMDLINE, s.CMDLINE_SOURCE),
            ("class_uid", "process.cmd_line", "actor.process.cmd_line"),
            _cmdline,
        ),
        _parent_step(s.PARENT_PID, "pid"),
        _parent_step(s.PARENT_EXE, "exe"),
        _parent_step(s.PARENT_NAME, "name"),
        _user_step(s.USER_NAME, "user", "actor.user.name", "auth_user"),
        _user_step(s.USER_UID, "uid", "actor.user.uid", "auth_uid"),
        _subject_step(s.LOGIN_UID, "auid"),
        _subject_step(s.SESSION_ID, "ses", "actor.session.uid"),
        _subject_step(s.TTY, "tty"),
        _subject_step(s.CWD, "cwd"),
        _subject_step(s.CONTAINER_ID, "container", "container"),
        _copy(s.SRC_IP, "src_ip"),
        _copy(s.SRC_PORT, "src_port"),
        _copy(s.DST_IP, "dst_ip"),
        _copy(s.DST_PORT, "dst_port"),
        Step((s.NET_FAMILY,), ("class_uid", "src_ip", "dst_ip", "protocol_ver_id"), _network),
        Step(
            (s.FILE_PATH,),
            ("@event_type", "file_path"),
            lambda v: {
                s.FILE_PATH: when(pc.equal(v["@event_type"], "file_write"), v["file_path"], _NULL)
            },
        ),
    ),
)
