"""read_auditd agrees with other audit parsers on the fields that mean the same thing.

The goldens are the expected outputs that other projects keep beside the same logs
(see ``../shared/corpus/auditlogs/SOURCES.md``):

- go-libaudit ``*.log.golden``: auparse, one JSON object per record;
- go-libaudit ``*.json.golden``: aucoalesce, one normalised event per case of the
  ``*.yaml`` wrapper of the same name;
- laurel ``*.json``: laurel's JSON lines for the ``*.txt`` of the same name;
- audit-userspace ``auparse_test.ref``: auparse_test's walk of every record and
  field of ``test.log``, ``test2.log`` and ``test4.log``;
- ENRICHED logs themselves: the names auditd appended (``UID="root"``,
  ``SADDR={ ... }``) are the log's own translation of its numbers.

Each golden event is turned into the canonical columns it determines, one test per
event. Where our table differs from a golden on purpose, the conversion below says
so and why. Where our reader is wrong, list the field in ``KNOWN_DISCREPANCIES`` (the
per-event test then skips it) and add a strict-xfail test asserting the correct value,
so fixing the reader turns that test into a failure until the entry is removed. The
list is empty today.
"""

from __future__ import annotations

import errno
import functools
import io
import json
import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from behavemodel import schema as s
from behavemodel.io import read_auditd

pytestmark = pytest.mark.corpus

# Same location as the ``corpus_dir`` fixture (tests/io/conftest.py), needed at
# collection time to make one test per golden event.
_CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "auditlogs"

#: Pseudo-column: ``shlex.split(process_cmdline)``, compared with a golden argv list.
ARGV = "argv"

# x86_64 syscall numbers the non-ENRICHED goldens use (Linux
# arch/x86/entry/syscalls/syscall_64.tbl). Written out here so that the test does not
# check our generated syscall table against itself.
_X86_64_SYSCALLS = {
    0: "read",
    1: "write",
    2: "open",
    4: "stat",
    59: "execve",
    101: "ptrace",
}

# The event_type mapping of issue 2 for the syscalls in these goldens.
_EVENT_TYPES = {
    "execve": "process_start",
    "execveat": "process_start",
    "connect": "net_connect",
    "accept": "net_accept",
    "accept4": "net_accept",
    "bind": "net_listen",
    "listen": "net_listen",
}
_FILE_WRITE_SYSCALLS = frozenset(
    """creat truncate ftruncate unlink unlinkat rename renameat renameat2 chmod fchmod
    fchmodat chown fchown lchown fchownat link linkat symlink symlinkat mkdir mkdirat
    rmdir mknod mknodat""".split()
)
_OPEN_FLAGS_ARG = {"open": 1, "openat": 2}  # index of the flags argument
_WRITE_INTENT = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000  # O_WRONLY O_RDWR O_CREAT O_TRUNC O_APPEND
# net_direction from the syscall alone: connect/sendto name the remote end (outbound),
# accept/recvfrom report the peer (inbound), bind/listen are a local socket (listen).
_DIRECTIONS = {
    "connect": "outbound",
    "sendto": "outbound",
    "sendmsg": "outbound",
    "accept": "inbound",
    "accept4": "inbound",
    "recvfrom": "inbound",
    "recvmsg": "inbound",
    "bind": "listen",
    "listen": "listen",
}
_ACCOUNT_RECORDS = frozenset(
    """USER_LOGIN USER_LOGOUT USER_START USER_END USER_ACCT USER_AUTH USER_ERR
    USER_CHAUTHTOK CRED_ACQ CRED_DISP CRED_REFR""".split()
)
# Columns that are null when no record of the event provides them ("columns a
# source lacks are null, never guessed").
_NULL_UNLESS_GIVEN = (
    s.PROCESS_EXE,
    s.PARENT_PID,
    s.LOGIN_UID,
    s.SESSION_ID,
    s.CWD,
    s.FILE_PATH,
    s.SRC_IP,
    s.SRC_PORT,
    s.DST_IP,
    s.DST_PORT,
    s.NET_FAMILY,
    s.NET_DIRECTION,
)
_SADDR_FAMILIES = {"inet": "inet", "inet6": "inet6", "local": "unix", "netlink": "netlink"}
_ID_IN_HEADER = re.compile(r"audit\((\d+\.\d+:\d+)\)")


# --- known reader bugs ---------------------------------------------------------------

#: (case id, column) -> why our reader is wrong there. The per-event tests skip these
#: columns. Empty now: every difference found so far was fixed in the reader; a new one
#: goes here, with a strict-xfail test asserting the correct value.
KNOWN_DISCREPANCIES: dict[tuple[str, str], str] = {}

#: (case id, column) -> (the right value, why the golden is wrong there).
GOLDEN_CORRECTIONS: dict[tuple[str, str], tuple[Any, str]] = {}

_CRYPTO = "go-libaudit/rhel-7-linux-3.10.0.yaml#CRYPTO_SESSION@1481077041.515:406"
for _column, _value in ((s.SRC_PORT, 63927), (s.DST_IP, "10.142.0.2"), (s.DST_PORT, 22)):
    GOLDEN_CORRECTIONS[(_CRYPTO, _column)] = (
        _value,
        "sshd's CRYPTO_SESSION says rport=63927 laddr=10.142.0.2 lport=22: the remote end "
        "(addr, rport) is the source, the local end the destination; aucoalesce keeps only "
        "source.ip",
    )

for _case in (
    "AUDIT_TIME_ADJNTPVAL chronyd status@1643150874.899:880",
    "AUDIT_TIME_ADJNTPVAL chronyd freq@1643150881.711:884",
    "AUDIT_TIME_ADJNTPVAL freq/tick@1643150881.711:885",
):
    _key = ("go-libaudit/ubuntu-21.10-linux-5.13.yaml#" + _case, s.AUDIT_KEY)
    GOLDEN_CORRECTIONS[_key] = (
        None,
        "the log has key=(null) with the ENRICHED part glued on ('key=(null)ARCH=x86_64', "
        "0x1D byte lost); go-libaudit's tag 'x86_64' comes from that glue",
    )


#: ENRICHED events whose (user_uid, user_name) pair our reader gets wrong, with why.
#: ``test_enriched_translations`` is a strict xfail for these.
KNOWN_ENRICHED_DISCREPANCIES: dict[str, str] = {}

# --- golden cases ------------------------------------------------------------------


def _case_id(source: str, test_name: str | None, event_id: str) -> str:
    """ "file[#yaml case]@seconds.millis:serial", the test id of one event."""
    case = f"#{test_name}" if test_name is not None else ""
    return f"{source}{case}@{event_id.split(':', 1)[1]}"


@dataclass(frozen=True)
class GoldenCase:
    """One event of a golden output and the canonical columns it determines."""

    source: str  # corpus-relative input path
    test_name: str | None  # case of a YAML wrapper, None for a plain log
    event_id: str  # our event_id of that event
    expected: Mapping[str, Any]

    @property
    def id(self) -> str:
        return _case_id(self.source, self.test_name, self.event_id)

    def __post_init__(self) -> None:
        expected = dict(self.expected)
        for (case_id, column), (value, _why) in GOLDEN_CORRECTIONS.items():
            if case_id == self.id:
                expected[column] = value
        object.__setattr__(self, "expected", expected)


@dataclass
class _Translations:
    """ENRICHED names of one event: number -> name, and the SOCKADDR translation."""

    event_id: str
    source: str
    test_name: str | None
    users: dict[int, str] = field(default_factory=dict)  # uid= / id= -> UID / ID
    logins: dict[int, str] = field(default_factory=dict)  # auid= -> AUID
    saddr: dict[str, str] | None = None

    @property
    def id(self) -> str:
        return _case_id(self.source, self.test_name, self.event_id)


# --- value helpers -----------------------------------------------------------------


def _text(value: Any) -> str | None:
    """A logged string: quotes dropped; (null), (none), ? and empty mean no value."""
    if value is None:
        return None
    text = str(value)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    return None if text in ("", "(null)", "(none)", "?") else text


def _id(value: Any) -> int | None:
    """auid/ses: unset (4294967295, -1, "unset") is our null."""
    if value is None or value in ("unset", "-1", -1):
        return None
    number = int(value)
    return None if number in (4294967295, -1) else number


def _success(value: Any) -> bool | None:
    words = {"yes": True, "success": True, "1": True, "no": False, "fail": False}
    words |= {"failed": False, "0": False}
    return None if value is None else words.get(str(value).strip("'\""))


def _exit(value: Any) -> int | None:
    """exit= as a number; go-libaudit writes errors by name (EACCES -> -13)."""
    if value is None:
        return None
    text = str(value)
    if text.lstrip("-").isdigit():
        return int(text)
    return -getattr(errno, text)


def _tty(value: Any) -> str | None:
    # We normalise user-space terminal=/dev/pts/1 to the SYSCALL form pts1 on purpose,
    # so one terminal has one spelling in the table; the goldens keep the raw text.
    text = _text(value)
    if text is not None and text.startswith("/dev/"):
        text = text[len("/dev/") :].replace("/", "")
    return text


def _name(value: Any) -> str | None:
    # ENRICHED placeholders for "no such name" are null for us.
    text = _text(value)
    if text is None or text == "unset" or text.startswith("unknown("):
        return None
    return text


def _timestamp_ms(key: str) -> pd.Timestamp:
    """Event time from "seconds.millis:serial"."""
    seconds, millis = key.split(":")[0].split(".")
    return pd.Timestamp(int(seconds) * 1000 + int(millis), unit="ms", tz="UTC")


def _key_from_iso(iso: str, sequence: int) -> str:
    """ "seconds.millis:serial" from go-libaudit's @timestamp and sequence."""
    millis = pd.Timestamp(iso).value // 1_000_000
    return f"{millis // 1000}.{millis % 1000:03d}:{sequence}"


def _syscall_facts(name: str, flags: int | None) -> dict[str, Any]:
    """event_type and net_direction that issue 2 derives from the syscall name."""
    if name in _EVENT_TYPES:
        event_type = _EVENT_TYPES[name]
    elif name in _FILE_WRITE_SYSCALLS:
        event_type = "file_write"
    elif name in _OPEN_FLAGS_ARG and flags is not None and flags & _WRITE_INTENT:
        event_type = "file_write"
    else:
        event_type = "other"
    return {
        s.SYSCALL: name,
        s.EVENT_TYPE: event_type,
        s.NET_DIRECTION: _DIRECTIONS.get(name),
    }


def _open_flags(name: str, args: list[str]) -> int | None:
    index = _OPEN_FLAGS_ARG.get(name)
    if index is None or index >= len(args):
        return None
    return int(args[index], 16)


def _file_path(event_type: str | None, paths: list[Mapping[str, Any]], cwd: str | None) -> Any:
    """file_path as we define it, which is not what the goldens show.

    go-libaudit's file.path is the first PATH record of any event. Ours is set only for
    file-writing events, from the created, else deleted, else first normal item,
    resolved against cwd. RHEL 7 kernels spell nametype= as objtype=.
    """
    if event_type != "file_write" or not paths:
        return None
    rank = {"CREATE": 0, "DELETE": 1, "NORMAL": 2}

    def order(p: Mapping[str, Any]) -> tuple[int, int]:
        kind = _text(p.get("nametype", p.get("objtype")))
        return rank.get(kind or "", 3), int(p.get("item", 0))

    name = _text(min(paths, key=order).get("name"))
    if name is not None and not name.startswith("/") and cwd:
        name = str(Path(cwd, name))
    return name


def _argument(raw: str) -> str:
    """An EXECVE argument as logged: quoted text, or hex when it holds odd bytes."""
    if raw.startswith('"'):
        return raw[1:-1]
    return bytes.fromhex(raw).decode()


def _argv_of_proctitle(raw: str) -> list[str]:
    """A PROCTITLE value as logged (quoted, or hex of NUL-separated argv)."""
    if raw.startswith('"'):
        return [raw[1:-1]]
    return [a.decode() for a in bytes.fromhex(raw).rstrip(b"\x00").split(b"\x00")]


def _cmdline(argv: list[str] | None, source: str | None, comm: str | None) -> dict[str, Any]:
    """process_cmdline: EXECVE argv, else PROCTITLE, else comm (issue 2)."""
    if argv is not None:
        return {ARGV: argv, s.CMDLINE_SOURCE: source}
    if comm is not None:
        return {s.PROCESS_CMDLINE: comm, s.CMDLINE_SOURCE: "comm"}
    return {s.PROCESS_CMDLINE: None, s.CMDLINE_SOURCE: None}


def _with_nulls(expected: dict[str, Any]) -> dict[str, Any]:
    for column in _NULL_UNLESS_GIVEN:
        expected.setdefault(column, None)
    return expected


def _account(d: Mapping[str, Any], record_type: str) -> dict[str, Any]:
    """user_uid / user_name of a record, as far as the record determines them.

    Account records (USER_*, CRED_*) are about the account acted on: go-libaudit's
    aucoalesce puts acct= in ECS user.effective.name and id= in user.id. We compare
    user_name with acct= as the log wrote it ("(invalid user)" included) and
    user_uid with id=. A record with acct= but no id= does not say which uid that
    account has, so user_uid is not compared there (see test_enriched_translations
    for the pairing). Other records are about the process: uid=.
    """
    if record_type not in _ACCOUNT_RECORDS:
        return {} if "uid" not in d else {s.USER_UID: int(d["uid"])}
    expected: dict[str, Any] = {}
    if "id" in d:
        expected[s.USER_UID] = int(d["id"])
        expected[s.USER_NAME] = None  # names only from the log, and it has none here
    if "acct" in d:
        expected[s.USER_NAME] = _text(d["acct"])
    return expected


def _user_record(d: Mapping[str, Any], record_type: str) -> dict[str, Any]:
    """The process and account facts of a user-space record (USER_*, CRED_*...)."""
    expected = {
        **_account(d, record_type),
        s.PROCESS_PID: int(d["pid"]),
        s.LOGIN_UID: _id(d.get("auid")),
        s.SESSION_ID: _id(d.get("ses")),
        s.PROCESS_EXE: _text(d.get("exe")),
        s.TTY: _tty(d.get("terminal")),
        s.SRC_IP: _text(d.get("addr")),
        s.SUCCESS: _success(d.get("res", d.get("result"))),
        s.EVENT_TYPE: "login" if record_type == "USER_LOGIN" else "other",
        s.SYSCALL: None,
    }
    return expected


# --- go-libaudit auparse: *.log.golden -----------------------------------------------


def _go_auparse_event(records: list[Mapping[str, Any]]) -> dict[str, Any]:
    expected: dict[str, Any] = {s.TIME: pd.Timestamp(records[0]["@timestamp"])}
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        by_type.setdefault(record["record_type"].upper(), []).append(record)
    syscall = by_type.get("SYSCALL", [None])[0]
    if syscall is not None:
        d = syscall["data"]
        args = [d.get(f"a{i}", "0") for i in range(4)]
        expected |= _syscall_facts(d["syscall"], _open_flags(d["syscall"], args))
        expected |= {
            s.SUCCESS: _success(d.get("result")),
            s.EXIT_CODE: _exit(d.get("exit")),
            s.PROCESS_PID: int(d["pid"]),
            s.PARENT_PID: int(d["ppid"]),
            s.USER_UID: int(d["uid"]),
            s.LOGIN_UID: _id(d.get("auid")),
            s.SESSION_ID: _id(d.get("ses")),
            s.PROCESS_NAME: _text(d.get("comm")),
            s.PROCESS_EXE: _text(d.get("exe")),  # " (deleted)" kept as logged
            s.TTY: _tty(d.get("tty")),
            # Several keys are joined by commas (the kernel separates them by 0x01).
            s.AUDIT_KEY: ",".join(syscall["keys"]) if "keys" in syscall else None,
        }
        expected |= _cmdline(None, None, _text(d.get("comm")))
    for record_type, records_of_type in by_type.items():
        d = records_of_type[0]["data"]
        if record_type == "CWD":
            expected[s.CWD] = d["cwd"]
        elif record_type == "AVC":
            for k, v in {s.PROCESS_PID: int(d["pid"]), s.PROCESS_NAME: d["comm"]}.items():
                expected.setdefault(k, v)
        elif record_type == "USER_CMD":
            expected |= {
                s.PROCESS_PID: int(d["pid"]),
                s.USER_UID: int(d["uid"]),
                s.LOGIN_UID: _id(d.get("auid")),
                s.SESSION_ID: _id(d.get("ses")),
                s.CWD: d["cwd"],
                s.PROCESS_CMDLINE: d["cmd"],  # sudo's command text, not an argv
                s.SUCCESS: _success(d["result"]),
            }
        elif record_type == "LOGIN":
            # Old format "login pid= uid= old auid= new auid=": the login uid is the new.
            expected |= {
                s.PROCESS_PID: int(d["pid"]),
                s.USER_UID: int(d["uid"]),
                s.LOGIN_UID: _id(d["new_auid"]),
            }
        elif record_type in _ACCOUNT_RECORDS:
            for k, v in _user_record(d, record_type).items():
                expected.setdefault(k, v)
    if s.PROCESS_CMDLINE not in expected and ARGV not in expected:
        expected |= _cmdline(None, None, expected.get(s.PROCESS_NAME))
    paths = [r["data"] for r in by_type.get("PATH", [])]
    # A lone PATH record has no syscall, so it is no file event: file_path stays null.
    expected[s.FILE_PATH] = _file_path(expected.get(s.EVENT_TYPE), paths, expected.get(s.CWD))
    return _with_nulls(expected)


def go_auparse_cases(corpus: Path) -> list[GoldenCase]:
    cases = []
    for golden in sorted((corpus / "go-libaudit").glob("*.log.golden")):
        source = golden.relative_to(corpus).as_posix().removesuffix(".golden")
        by_event: dict[str, list[Mapping[str, Any]]] = {}
        for record in json.loads(golden.read_text(encoding="utf-8")):
            match = _ID_IN_HEADER.search(record["raw_msg"])
            assert match is not None, record["raw_msg"]
            by_event.setdefault(match.group(1), []).append(record)
        for key, records in by_event.items():
            cases.append(GoldenCase(source, None, ":" + key, _go_auparse_event(records)))
    return cases


# --- go-libaudit aucoalesce: *.json.golden over *.yaml -------------------------------


def _go_aucoalesce_event(event: Mapping[str, Any]) -> dict[str, Any]:
    d = event.get("data", {})
    p = event.get("process", {})
    ids = event.get("user", {}).get("ids", {})
    record_type = event["record_type"].upper()
    expected: dict[str, Any] = {
        s.TIME: pd.Timestamp(event["@timestamp"]),
        s.SESSION_ID: _id(event.get("session")),
        s.SUCCESS: _success(event.get("result")),  # "unknown" -> null
        s.LOGIN_UID: _id(ids.get("auid")),
        s.PROCESS_PID: None if "pid" not in p else int(p["pid"]),
        s.PARENT_PID: None if "ppid" not in p else int(p["ppid"]),
        s.PROCESS_NAME: p.get("name"),
        s.PROCESS_EXE: p.get("exe"),  # " (deleted)" kept as logged, like go-libaudit
        s.CWD: p.get("cwd"),
        s.EXIT_CODE: _exit(d.get("exit")),
        s.TTY: _tty(d.get("tty", d.get("terminal"))),
        s.SRC_IP: event.get("source", {}).get("ip"),
    }
    expected |= _account({**ids, **d}, record_type)
    if "args" in p:
        expected |= _cmdline(p["args"], "execve", None)
    elif "title" in p:
        # go-libaudit joins the NUL-separated PROCTITLE with spaces (lossy); ours is
        # shlex-quoted. They agree when no argument holds a space, as here.
        expected |= _cmdline(p["title"].split(" "), "proctitle", None)
    else:
        expected |= _cmdline(None, None, p.get("name"))
    if "syscall" in d:
        args = [d.get(f"a{i}", "0") for i in range(4)]
        expected |= _syscall_facts(d["syscall"], _open_flags(d["syscall"], args))
        expected[s.AUDIT_KEY] = ",".join(event["tags"]) if "tags" in event else None
        # ENRICHED user names are checked by test_enriched_translations.
    else:
        # No SYSCALL: a user-space or stand-alone kernel record. Not compared:
        # CONFIG_CHANGE key= names the rule being added, not a rule that fired.
        expected[s.SYSCALL] = None
        if record_type != "LOGIN":  # LOGIN (auid change): event_type not asserted
            expected[s.EVENT_TYPE] = "login" if record_type == "USER_LOGIN" else "other"
    paths = event.get("paths", [])
    expected[s.FILE_PATH] = _file_path(expected.get(s.EVENT_TYPE), paths, p.get("cwd"))
    return _with_nulls(expected)


def go_aucoalesce_cases(corpus: Path) -> list[GoldenCase]:
    cases = []
    for golden in sorted((corpus / "go-libaudit").glob("*.json.golden")):
        source = golden.relative_to(corpus).as_posix().removesuffix(".json.golden") + ".yaml"
        for entry in json.loads(golden.read_text(encoding="utf-8")):
            event = entry["event"]
            key = _key_from_iso(event["@timestamp"], event["sequence"])
            expected = _go_aucoalesce_event(event)
            cases.append(GoldenCase(source, entry["test_name"], ":" + key, expected))
    return cases


# --- laurel: *.json beside *.txt -----------------------------------------------------


def _saddr(text: str) -> dict[str, str]:
    """Fields of an ENRICHED/laurel SADDR translation: '{ fam=inet laddr=... }'."""
    inner = text.strip()[1:-1].strip()
    return dict(item.split("=", 1) for item in inner.split())


def _saddr_columns(fields: Mapping[str, str], direction: str | None) -> dict[str, Any]:
    """Where a decoded socket address goes in our table.

    connect/sendto: the remote end is dst; accept/recvfrom: the peer is src; bind (with
    net_direction "listen") and a SOCKADDR without syscall: dst. A unix socket gives
    its path (an abstract name would be "@name"; the corpus has none); netlink has no
    address, and we put its nl_pid in the port column where laurel says nlnk-pid.
    """
    family = _SADDR_FAMILIES[fields["fam"]]
    if family in ("inet", "inet6"):
        address, port = fields["laddr"], int(fields["lport"])
    elif family == "unix":
        address, port = fields["path"], None
    else:
        address, port = None, int(fields["nlnk-pid"])
    side = ("src", "dst") if direction == "inbound" else ("dst", "src")
    return {
        s.NET_FAMILY: family,
        f"{side[0]}_ip": address,
        f"{side[0]}_port": port,
        f"{side[1]}_ip": None,
        f"{side[1]}_port": None,
    }


def _laurel_event(obj: Mapping[str, Any]) -> dict[str, Any]:
    expected: dict[str, Any] = {s.TIME: _timestamp_ms(obj["ID"])}
    sc = obj.get("SYSCALL")
    if sc is not None:
        name = sc.get("SYSCALL") or _X86_64_SYSCALLS[sc["syscall"]]
        expected |= _syscall_facts(name, _open_flags(name, sc["ARGV"]))
        expected |= {
            s.SUCCESS: _success(sc["success"]),
            s.EXIT_CODE: sc["exit"],
            s.PROCESS_PID: sc["pid"],
            s.PARENT_PID: sc["ppid"],
            s.USER_UID: sc["uid"],
            s.LOGIN_UID: _id(sc["auid"]),
            s.SESSION_ID: _id(sc["ses"]),
            s.PROCESS_NAME: sc["comm"],
            s.PROCESS_EXE: sc["exe"],
            s.TTY: _tty(sc["tty"]),
            s.AUDIT_KEY: sc["key"],
            # ENRICHED names, when laurel had them from the log (never from its host).
            s.USER_NAME: _name(sc.get("UID")),
            s.LOGIN_NAME: _name(sc.get("AUID")),
        }
    for uring in obj.get("URINGOP", []):  # io_uring operation: no SYSCALL record
        expected |= {
            s.SYSCALL: None,
            s.EVENT_TYPE: "other",
            s.SUCCESS: _success(uring["success"]),
            s.EXIT_CODE: uring["exit"],
            s.PROCESS_PID: uring["pid"],
            s.PARENT_PID: uring["ppid"],
            s.USER_UID: uring["uid"],
        }
    if "EXECVE" in obj:
        expected |= _cmdline(obj["EXECVE"]["ARGV"], "execve", None)
    elif "PROCTITLE" in obj:
        expected |= _cmdline(obj["PROCTITLE"]["ARGV"], "proctitle", None)
    elif sc is not None:
        expected |= _cmdline(None, None, sc["comm"])
    if "CWD" in obj:
        expected[s.CWD] = obj["CWD"]["cwd"]
    for sockaddr in obj.get("SOCKADDR", []):
        expected |= _saddr_columns(_saddr(sockaddr["SADDR"]), expected.get(s.NET_DIRECTION))
    paths = obj.get("PATH", [])
    expected[s.FILE_PATH] = _file_path(expected.get(s.EVENT_TYPE), paths, expected.get(s.CWD))
    return _with_nulls(expected)


def laurel_cases(corpus: Path) -> list[GoldenCase]:
    cases = []
    for golden in sorted((corpus / "laurel").glob("*.json")):
        source = golden.relative_to(corpus).with_suffix(".txt").as_posix()
        for line in golden.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            obj = json.loads(line)
            event_id = f"{obj.get('NODE', '')}:{obj['ID']}"
            cases.append(GoldenCase(source, None, event_id, _laurel_event(obj)))
    return cases


# --- audit-userspace: auparse_test.ref -----------------------------------------------


_REF_RECORD = re.compile(r"^    record \d+ of type \d+\((\w+)\)")


def _parse_auparse_ref(text: str) -> dict[tuple[str, str], list[tuple[str, dict[str, str]]]]:
    """(file name, "seconds.millis:serial") -> [(record type, raw fields)].

    auparse_test walks test.log (Test 4), test2.log and test.log (Test 5) and
    test4.log (Test 11), printing every field as logged; the first walk of an event
    is kept. Walks of built-in buffers (file=None) have no log in the corpus.
    """
    events: dict[tuple[str, str], list[tuple[str, dict[str, str]]]] = {}
    first_walk: dict[tuple[str, str], int] = {}
    walk = 0
    record_type = ""
    record_file = "None"
    fields: dict[str, str] | None = None
    for line in text.splitlines():
        if line.startswith("Starting Test "):
            walk += 1
        elif (match := _REF_RECORD.match(line)) is not None:
            record_type, fields = match.group(1), None
        elif line.startswith("    line=") and " file=" in line:
            record_file = line.split(" file=", 1)[1]
        elif line.startswith("    event time: "):
            key = line.split(": ", 1)[1].split(",")[0]
            event = (Path(record_file).name, key)
            fields = None
            if record_file != "None" and first_walk.setdefault(event, walk) == walk:
                fields = {}
                events.setdefault(event, []).append((record_type, fields))
        elif fields is not None and line.startswith("        ") and "=" in line:
            name, _, value = line.strip().partition("=")
            if name != "type":
                fields.setdefault(name, value)
    return events


def _auparse_event(records: list[tuple[str, dict[str, str]]], key: str) -> dict[str, Any]:
    expected: dict[str, Any] = {s.TIME: _timestamp_ms(key)}
    by_type: dict[str, list[dict[str, str]]] = {}
    for record_type, fields in records:
        by_type.setdefault(record_type, []).append(fields)
    sc = by_type.get("SYSCALL", [None])[0]
    argv: list[str] | None = None
    source = None
    if "EXECVE" in by_type:
        f = by_type["EXECVE"][0]
        argv = [_argument(f[f"a{i}"]) for i in range(int(f["argc"]))]
        source = "execve"
    elif "PROCTITLE" in by_type:
        argv = _argv_of_proctitle(by_type["PROCTITLE"][0]["proctitle"])
        source = "proctitle"
    if sc is not None:
        assert sc["arch"] == "c000003e", "only x86_64 numbers are written out above"
        name = _X86_64_SYSCALLS[int(sc["syscall"])]
        args = [sc[f"a{i}"] for i in range(4)]
        expected |= _syscall_facts(name, _open_flags(name, args))
        expected |= {
            s.SUCCESS: _success(sc["success"]),
            s.EXIT_CODE: int(sc["exit"]),
            s.PROCESS_PID: int(sc["pid"]),
            s.PARENT_PID: int(sc["ppid"]),
            s.USER_UID: int(sc["uid"]),
            s.LOGIN_UID: _id(sc["auid"]),
            s.SESSION_ID: _id(sc.get("ses")),
            s.PROCESS_NAME: _text(sc["comm"]),
            s.PROCESS_EXE: _text(sc["exe"]),
            s.TTY: _tty(sc["tty"]),
            s.AUDIT_KEY: _text(sc["key"]),
        }
        expected |= _cmdline(argv, source, _text(sc["comm"]))
    for record_type, records_of_type in by_type.items():
        f = records_of_type[0]
        if record_type == "CWD":
            expected[s.CWD] = _text(f["cwd"])
        elif record_type in _ACCOUNT_RECORDS:
            for k, v in _user_record(f, record_type).items():
                expected.setdefault(k, v)
    paths = by_type.get("PATH", [])
    expected[s.FILE_PATH] = _file_path(expected.get(s.EVENT_TYPE), paths, expected.get(s.CWD))
    return _with_nulls(expected)


def auparse_ref_cases(corpus: Path) -> list[GoldenCase]:
    ref = (corpus / "audit-userspace" / "auparse_test.ref").read_text(encoding="utf-8")
    cases = []
    for (name, key), records in _parse_auparse_ref(ref).items():
        source = f"audit-userspace/{name}"
        cases.append(GoldenCase(source, None, ":" + key, _auparse_event(records, key)))
    return cases


# --- ENRICHED logs: the log's own translations ---------------------------------------

_ENRICHED_NAME = re.compile(r"(?:^|[\s\x1d])(UID|AUID|ID)=\"([^\"]*)\"")
_NUMBER = re.compile(r"(?:^|\s)(uid|auid|id)=(\d+)(?=[\s'\x1d]|$)")
_SADDR_TEXT = re.compile(r"[\s\x1d]SADDR=(\{.*\})")
_HEADER = re.compile(r"^(?:node=(\S+) )?type=(\S+) msg=audit\((\d+\.\d+:\d+)\):")


def _translations(text: str, source: str, test_name: str | None) -> list[_Translations]:
    events: dict[str, _Translations] = {}
    for line in text.split("\n"):
        header = _HEADER.match(line)
        if header is None:
            continue
        node, _record_type, key = header.groups()
        event_id = f"{node or ''}:{key}"
        names = dict(_ENRICHED_NAME.findall(line))
        saddr = _SADDR_TEXT.search(line)
        if not names and saddr is None:
            continue
        entry = events.setdefault(event_id, _Translations(event_id, source, test_name))
        numbers = dict(_NUMBER.findall(line))
        for number_field, target in (("uid", entry.users), ("id", entry.users)):
            if number_field in numbers and number_field.upper() in names:
                target[int(numbers[number_field])] = names[number_field.upper()]
        if "auid" in numbers and "AUID" in names:
            entry.logins[int(numbers["auid"])] = names["AUID"]
        if saddr is not None:
            entry.saddr = _saddr(saddr.group(1))
    return list(events.values())


def enriched_cases(corpus: Path) -> list[_Translations]:
    cases: list[_Translations] = []
    for path in sorted(corpus.rglob("*")):
        relative = path.relative_to(corpus).as_posix()
        if relative.startswith("audit-documentation/"):  # reference tables, not logs
            continue
        if path.suffix in (".txt", ".log"):
            text = path.read_bytes().decode("utf-8", "backslashreplace")
            cases += _translations(text, relative, None)
        elif path.suffix == ".yaml":
            for name, text in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"].items():
                cases += _translations(text, relative, name)
    return cases


# --- parametrisation -----------------------------------------------------------------


def _params(
    build: Callable[[Path], Iterable[Any]], known: Mapping[str, str] | None = None
) -> list[Any]:
    if not _CORPUS.is_dir():
        # One placeholder: its corpus_dir fixture skips, or fails when required.
        return [pytest.param(None, id="corpus-missing")]
    known = known or {}
    return [
        pytest.param(
            case,
            id=case.id,
            marks=[pytest.mark.xfail(strict=True, reason=known[case.id])]
            if case.id in known
            else [],
        )
        for case in build(_CORPUS)
    ]


def _all_cases(corpus: Path) -> dict[str, GoldenCase]:
    cases: dict[str, GoldenCase] = {}
    for build in (go_auparse_cases, go_aucoalesce_cases, laurel_cases, auparse_ref_cases):
        for case in build(corpus):
            assert case.id not in cases, f"two golden events with the id {case.id}"
            cases[case.id] = case
    return cases


# --- comparing -----------------------------------------------------------------------


@functools.cache
def _events(corpus: Path, source: str, test_name: str | None) -> pd.DataFrame:
    if test_name is None:
        events, errors = read_auditd(corpus / source, on_error="collect")
    else:
        tests = yaml.safe_load((corpus / source).read_text(encoding="utf-8"))["tests"]
        raw = io.BytesIO(tests[test_name].encode("utf-8"))
        events, errors = read_auditd(raw, on_error="collect")
    assert errors.empty, errors.to_string()
    return events


def _row(corpus: Path, source: str, test_name: str | None, event_id: str) -> dict[str, Any]:
    events = _events(corpus, source, test_name)
    rows = events[events[s.EVENT_ID] == event_id].to_dict("records")
    assert len(rows) == 1, f"{event_id!r} in {events[s.EVENT_ID].tolist()}"
    return {k: None if not isinstance(v, list) and pd.isna(v) else v for k, v in rows[0].items()}


def _actual(row: Mapping[str, Any], column: str) -> Any:
    if column == ARGV:
        cmdline = row[s.PROCESS_CMDLINE]
        return None if cmdline is None else shlex.split(cmdline)
    return row[column]


def _compare(corpus: Path, case: GoldenCase) -> None:
    row = _row(corpus, case.source, case.test_name, case.event_id)
    expected = {
        column: value
        for column, value in case.expected.items()
        if (case.id, column) not in KNOWN_DISCREPANCIES
    }
    actual = {column: _actual(row, column) for column in expected}
    assert actual == expected


@pytest.mark.parametrize("case", _params(go_auparse_cases))
def test_go_libaudit_auparse(corpus_dir: Path, case: GoldenCase) -> None:
    _compare(corpus_dir, case)


@pytest.mark.parametrize("case", _params(go_aucoalesce_cases))
def test_go_libaudit_aucoalesce(corpus_dir: Path, case: GoldenCase) -> None:
    _compare(corpus_dir, case)


@pytest.mark.parametrize("case", _params(laurel_cases))
def test_laurel(corpus_dir: Path, case: GoldenCase) -> None:
    _compare(corpus_dir, case)


@pytest.mark.parametrize("case", _params(auparse_ref_cases))
def test_audit_userspace_auparse(corpus_dir: Path, case: GoldenCase) -> None:
    _compare(corpus_dir, case)


@pytest.mark.parametrize("case", _params(enriched_cases, KNOWN_ENRICHED_DISCREPANCIES))
def test_enriched_translations(corpus_dir: Path, case: _Translations) -> None:
    """Names come from the log: user_name/login_name are its translation of our ids."""
    row = _row(corpus_dir, case.source, case.test_name, case.event_id)
    expected: dict[str, Any] = {}
    if row[s.USER_UID] in case.users:
        expected[s.USER_NAME] = _name(case.users[row[s.USER_UID]])
    if case.logins:
        assert len(case.logins) == 1, f"records of one event disagree on auid: {case.logins}"
        ((auid, name),) = case.logins.items()
        # auid 4294967295 is null for us, and so is its name "unset".
        expected[s.LOGIN_UID] = _id(auid)
        expected[s.LOGIN_NAME] = _name(name)
    if case.saddr is not None:
        expected |= _saddr_columns(case.saddr, row[s.NET_DIRECTION])
    assert expected, "the log translated nothing we report"
    actual = {column: row[column] for column in expected}
    assert actual == expected


def test_known_discrepancies_are_current(corpus_dir: Path) -> None:
    cases = _all_cases(corpus_dir)
    for case_id, column in KNOWN_DISCREPANCIES:
        assert case_id in cases, f"KNOWN_DISCREPANCIES names no golden event {case_id!r}"
        assert column in cases[case_id].expected, f"{case_id} has no expected {column!r}"
    enriched = {case.id for case in enriched_cases(corpus_dir)}
    for case_id in KNOWN_ENRICHED_DISCREPANCIES:
        assert case_id in enriched, f"no ENRICHED event {case_id!r}"
