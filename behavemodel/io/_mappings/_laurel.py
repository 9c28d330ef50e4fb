"""The ``laurel`` mapping: laurel's JSON lines (one audit event a line).

laurel (an auditd plug-in) joins the records of an event into one JSON object:
``ID`` ("seconds.millis:serial"), ``NODE``, ``SYSCALL`` with upper-case
enrichments (``SYSCALL``, ``UID``, ``AUID``...), ``EXECVE.ARGV``, ``CWD``,
``PROCTITLE.ARGV``, the lists ``PATH`` and ``SOCKADDR``, and in newer versions
``PARENT_INFO`` / ``SYSCALL.PPID`` and ``CONTAINER_INFO``. Other record types are
lists of objects. Strings are percent-encoded where the bytes were not printable
UTF-8 (and for ``%`` and ``+``); they are decoded here. The rules are those of
:func:`behavemodel.io.read_auditd`, so the same event read from the raw log or
from laurel's JSON gives the same row.

================  ==============================================  =========================
canonical         source path                                     transformation
================  ==============================================  =========================
time              ``ID``                                          "sec.ms:serial" -> UTC
event_id          ``NODE``, ``ID``                                ``node:ID`` (as the reader)
host_name         ``NODE``
record_type       ``SYSCALL`` present, else the first record key
syscall           ``SYSCALL.syscall`` + ``SYSCALL.arch``,         number -> name with the
                  else ``SYSCALL.SYSCALL``                        arch's table
event_type        syscall (+ open flags ``SYSCALL.ARGV[1|2]``,    the reader's tables; an
                  socketcall ``ARGV[0]``), ``PATH`` nametype,     open that CREATEs is a
                  ``USER_LOGIN``                                  file_write
success           ``SYSCALL.success`` | a record's success/res    yes/no
exit_code         ``SYSCALL.exit`` | a record's ``exit``
process_pid ...   ``SYSCALL.pid``/``ppid``/``uid``/``auid``/      else from the first other
                  ``ses``/``tty``/``comm``/``exe``                record that has them (e.g.
                                                                  URINGOP, USER_*)
user_name         ``SYSCALL.UID`` (ENRICHED, from the log)        unset/unknown(..) -> null
login_name        ``SYSCALL.AUID``
login_uid         ``SYSCALL.auid``                                4294967295 -> null
session_id        ``SYSCALL.ses``                                 4294967295 -> null
tty               ``SYSCALL.tty``                                 (none) -> null
audit_key         ``SYSCALL.key``                                 several keys comma-joined
process_cmdline   ``EXECVE.ARGV`` | ``EXECVE.ARGV_STR``, else     shlex-joined; source
                  ``PROCTITLE.ARGV``, else ``SYSCALL.comm``        execve/proctitle/comm
cwd               ``CWD.cwd``
file_path         ``PATH[].name`` (file_write events)             CREATE, DELETE, NORMAL,
                                                                  then lowest item; joined
                                                                  to cwd when relative
src_*/dst_*,      last ``SOCKADDR[].saddr`` (raw bytes), else     inbound (accept, recv*):
net_family        its ``SADDR`` translation                       src, else dst
net_direction     syscall                                         connect/send* outbound,
                                                                  accept/recv* inbound,
                                                                  bind/listen listen
parent_exe/name   ``SYSCALL.PPID.exe``/``.comm`` |                laurel's process table
                  ``PARENT_INFO.exe``/``.comm``
container_id      ``SYSCALL.PID.container.id`` |
                  ``CONTAINER_INFO.ID`` | ``CONTAINER_ID[].contid``
================  ==============================================  =========================
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from behavemodel import schema as s
from behavemodel.io._audit_tables import syscall_names
from behavemodel.io._auditd_chunk import _ACCOUNT_RECORDS, _SOCKETCALL
from behavemodel.io._mappings import _arrow as A
from behavemodel.io._mappings._common import classify, percent_decode, when
from behavemodel.io._mappings._engine import Values
from behavemodel.io._mappings._laurel_records import (
    FACTS,
    files,
    names,
    needs_prepare,
    network,
    prepare,
    text,
)
from behavemodel.io._mappings._plan import Builtin, Step
from behavemodel.io._mappings._spec import Field

__all__ = ["LAUREL"]

_NULL = pa.scalar(None, pa.string())


def _f(*paths: str, kind: str = "string") -> Field:
    return Field(paths, required=False, kind=kind)


_INPUTS: dict[str, Field] = {
    "id": Field(("ID",), required=True, kind="string"),
    "node": _f("NODE"),
    "arch": _f("SYSCALL.arch"),
    "number": _f("SYSCALL.syscall", kind="int"),
    "name": _f("SYSCALL.SYSCALL"),
    "args": _f("SYSCALL.ARGV", kind="raw"),
    "a0": _f("SYSCALL.a0"),
    "a1": _f("SYSCALL.a1"),
    "a2": _f("SYSCALL.a2"),
    "success": _f("SYSCALL.success", f"{FACTS}.res"),
    "exit": _f("SYSCALL.exit", f"{FACTS}.exit", kind="int"),
    "pid": _f("SYSCALL.pid", f"{FACTS}.pid", kind="int"),
    "ppid": _f("SYSCALL.ppid", f"{FACTS}.ppid", kind="int"),
    "uid": _f("SYSCALL.uid", f"{FACTS}.uid", kind="int"),
    "auid": _f("SYSCALL.auid", f"{FACTS}.auid", kind="int"),
    "ses": _f("SYSCALL.ses", f"{FACTS}.ses", kind="int"),
    "tty": _f("SYSCALL.tty", f"{FACTS}.tty"),
    "comm": _f("SYSCALL.comm", f"{FACTS}.comm"),
    "exe": _f("SYSCALL.exe", f"{FACTS}.exe"),
    "key": _f("SYSCALL.key"),
    "UID": _f("SYSCALL.UID", f"{FACTS}.UID"),
    "AUID": _f("SYSCALL.AUID", f"{FACTS}.AUID"),
    "ID_name": _f(f"{FACTS}.ID"),
    "cmd": _f(f"{FACTS}.cmd"),
    "record_type": _f(f"{FACTS}.record_type"),
    "account_id": _f(f"{FACTS}.id", kind="int"),
    "acct": _f(f"{FACTS}.acct"),
    "addr": _f(f"{FACTS}.addr"),
    "argv": _f("EXECVE.ARGV", kind="raw"),
    "argv_str": _f("EXECVE.ARGV_STR"),
    "title": _f("PROCTITLE.ARGV", kind="raw"),
    "cwd": _f("CWD.cwd", f"{FACTS}.cwd"),
    "paths": _f("PATH", kind="raw"),
    "sockaddrs": _f("SOCKADDR", kind="raw"),
    "parent_exe": _f("SYSCALL.PPID.exe", "PARENT_INFO.exe"),
    "parent_comm": _f("SYSCALL.PPID.comm", "PARENT_INFO.comm"),
    "container": _f("SYSCALL.PID.container.id", "CONTAINER_INFO.ID", f"{FACTS}.contid"),
}


# --- steps -------------------------------------------------------------------------------


def _time_and_host(v: Values) -> dict[str, pa.Array]:
    parts = pc.extract_regex(v["id"], r"^(?P<sec>\d{1,12})\.(?P<frac>\d{1,9}):(?P<serial>\d+)$")
    sec = A.to_int(pc.struct_field(parts, "sec"))
    frac = pc.utf8_slice_codeunits(pc.utf8_rpad(pc.struct_field(parts, "frac"), 6, "0"), 0, 6)
    micros = pc.add(pc.multiply(sec, 1_000_000), A.to_int(frac))
    return {
        s.TIME: pc.cast(micros, pa.timestamp("us", tz="UTC")),
        s.HOST_NAME: percent_decode(v["node"]),
    }


def _event_id(v: Values) -> dict[str, pa.Array]:
    """``node:ID``, with the caller's host where there is no NODE (as the reader)."""
    key = pc.binary_join_element_wise(v["@host_name"].fill_null(""), v["id"], ":")
    return {s.EVENT_ID: when(pc.is_valid(v["@time"]), key, _NULL)}


def _arg(v: Values, index: int) -> pa.Array:
    """Syscall argument ``a<index>`` as an int (laurel writes "0x..." text)."""
    args = v["args"]
    if v.has("args") and pa.types.is_list(args.type):
        long_enough = pc.greater(pc.list_value_length(args), index).fill_null(False)
        padded = pc.if_else(long_enough, args, None)
        text = pc.list_element(padded.fill_null(pa.scalar([None] * (index + 1), args.type)), index)
    else:
        text = v[f"a{index}"]
    return A.per_unique(A.to_string(text), _hex, pa.int64())


def _hex(text: str) -> int | None:
    body = text.lower().removeprefix("0x")
    try:
        return int(body, 16) if 0 < len(body) <= 16 else None
    except ValueError:
        return None


def _syscall(v: Values) -> dict[str, pa.Array]:
    numbers = v["number"]
    names = syscall_names(
        A.to_string(v["arch"]).to_numpy(zero_copy_only=False),
        numbers.to_numpy(zero_copy_only=False),
    )
    name = pc.coalesce(pa.array(names, pa.string()), v["name"], A.to_string(numbers))
    flags = when(pc.equal(name, "open"), _arg(v, 1), _arg(v, 2))
    kind, direction = classify(name, flags=flags)
    socketcall = pc.equal(name, "socketcall").fill_null(False)
    if pc.any(socketcall).as_py():
        call = pc.take(
            pa.array(list(_SOCKETCALL.values())),
            pc.index_in(_arg(v, 0), pa.array(list(_SOCKETCALL), pa.int64())),
        )
        kind = pc.if_else(
            pc.and_kleene(socketcall, pc.is_valid(call)).fill_null(False), call, kind
        )
        for k, d in (
            ("net_connect", "outbound"),
            ("net_accept", "inbound"),
            ("net_listen", "listen"),
        ):
            direction = when(pc.equal(kind, k), d, direction)
    kind = when(pc.equal(v["record_type"], "USER_LOGIN"), "login", kind)
    kind, file_path = files(v, name, kind)
    return {
        s.SYSCALL: name,
        s.EVENT_TYPE: kind,
        s.NET_DIRECTION: direction,
        s.RECORD_TYPE: v["record_type"],
        s.FILE_PATH: file_path,
    }


def _process(v: Values) -> dict[str, pa.Array]:
    account = pc.is_in(v["record_type"], pa.array(sorted(_ACCOUNT_RECORDS)))
    tty = text(v["tty"])
    tty = when(
        pc.starts_with(tty, "/dev/"),
        pc.replace_substring(pc.utf8_slice_codeunits(tty, 5), "/", ""),
        tty,
    )
    key = pc.replace_substring(text(v["key"]), "\x01", ",")
    return {
        s.SUCCESS: A.to_bool(v["success"]),
        s.EXIT_CODE: v["exit"],
        s.PROCESS_PID: v["pid"],
        s.PARENT_PID: v["ppid"],
        s.USER_UID: pc.coalesce(
            when(account, v["account_id"], pa.scalar(None, pa.int64())), v["uid"]
        ),
        s.USER_NAME: pc.if_else(
            account.fill_null(False),
            pc.coalesce(text(v["acct"]), names(v["ID_name"])),
            names(v["UID"]),
        ),
        s.LOGIN_UID: A.unset_id(v["auid"]),
        s.LOGIN_NAME: names(v["AUID"]),
        s.SESSION_ID: A.unset_id(v["ses"]),
        s.TTY: tty,
        s.PROCESS_NAME: text(v["comm"]),
        s.PROCESS_EXE: text(v["exe"]),
        s.AUDIT_KEY: key,
        s.PARENT_EXE: text(v["parent_exe"]),
        s.PARENT_NAME: text(v["parent_comm"]),
        s.CONTAINER_ID: text(v["container"]),
    }


def _argv(lists: pa.Array) -> pa.Array:
    """Percent-decoded, shlex-joined argv lists."""
    if not (pa.types.is_list(lists.type) or pa.types.is_large_list(lists.type)):
        return pa.nulls(len(lists), pa.string())
    lists = lists.cast(pa.list_(pa.string())) if not pa.types.is_list(lists.type) else lists
    values = percent_decode(A.to_string(lists.values))
    rebuilt = pa.ListArray.from_arrays(lists.offsets, values, mask=pc.is_null(lists))
    return A.join_argv(rebuilt)


def _cmdline(v: Values) -> dict[str, pa.Array]:
    execve = pc.coalesce(_argv(v["argv"]), percent_decode(v["argv_str"]))
    title = _argv(v["title"])
    command = text(v["cmd"])  # USER_CMD: the command sudo ran
    comm = text(v["comm"])
    cmdline = pc.coalesce(execve, title, command, comm)
    source = when(
        pc.is_valid(pc.coalesce(execve, title)),
        when(pc.is_valid(execve), "execve", "proctitle"),
        when(pc.is_valid(command), "execve", when(pc.is_valid(comm), "comm", _NULL)),
    )
    return {s.PROCESS_CMDLINE: cmdline, s.CMDLINE_SOURCE: source, s.CWD: text(v["cwd"])}


LAUREL = Builtin(
    name="laurel",
    source_format="laurel",
    inputs=_INPUTS,
    steps=(
        Step((s.TIME, s.HOST_NAME), ("id", "node"), _time_and_host),
        Step((s.EVENT_ID,), ("@host_name", "@time", "id"), _event_id),
        Step(
            (s.SYSCALL, s.EVENT_TYPE, s.NET_DIRECTION, s.RECORD_TYPE, s.FILE_PATH),
            ("arch", "number", "name", "args", "a0", "a1", "a2", "record_type", "paths", "cwd"),
            _syscall,
        ),
        Step(
            (
                s.SUCCESS,
                s.EXIT_CODE,
                s.PROCESS_PID,
                s.PARENT_PID,
                s.USER_UID,
                s.USER_NAME,
                s.LOGIN_UID,
                s.LOGIN_NAME,
                s.SESSION_ID,
                s.TTY,
                s.PROCESS_NAME,
                s.PROCESS_EXE,
                s.AUDIT_KEY,
                s.PARENT_EXE,
                s.PARENT_NAME,
                s.CONTAINER_ID,
            ),
            (
                "success",
                "exit",
                "pid",
                "ppid",
                "uid",
                "auid",
                "ses",
                "tty",
                "comm",
                "exe",
                "key",
                "UID",
                "AUID",
                "ID_name",
                "record_type",
                "account_id",
                "acct",
                "parent_exe",
                "parent_comm",
                "container",
            ),
            _process,
        ),
        Step(
            (s.PROCESS_CMDLINE, s.CMDLINE_SOURCE, s.CWD),
            ("argv", "argv_str", "title", "cmd", "comm", "cwd"),
            _cmdline,
        ),
        Step(
            (s.SRC_IP, s.SRC_PORT, s.DST_IP, s.DST_PORT, s.NET_FAMILY),
            ("@net_direction", "arch", "sockaddrs", "addr"),
            network,
        ),
    ),
    prepare=prepare,
    needs_prepare=needs_prepare,
)
