"""Login-session timelines: what a logged-in user did, in order.

The kernel stamps every event of a login session with the session id (``ses``)
and the login uid (``auid``) set at login, and neither changes afterwards: not
through ``sudo``, not through ``su``. A session is therefore the events of one
host with one (login uid, session id), split where a new ``LOGIN`` record
starts that session id again (session ids restart from 1 after a reboot). The
tty is reported (the login's, else the commands') but does not split sessions:
PAM records name the service (``ssh``, ``cron``) where the commands name the pty.

The ``accept`` that opened an ssh session carries no session id (the listening
sshd accepted it before login). It is found from the ``USER_LOGIN`` record: the
latest accept on the same host from the same client address, made by the login
process or by its parent (the sshd listener), within ``login_window`` before
the login.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from behavemodel import schema
from behavemodel.investigate._common import (
    NO_TIME,
    Cell,
    EventColumns,
    as_of,
    clock,
    display_name,
    format_rows,
    pair_codes,
    parse_seconds,
    pick,
    plain_text,
)

__all__ = [
    "SESSION_COLUMNS",
    "TIMELINE_COLUMNS",
    "TimelineReport",
    "list_sessions",
    "session_timeline",
]

_US = pa.timestamp("us", tz="UTC")
_PAM = ("USER_AUTH", "USER_ACCT", "CRED_ACQ", "CRED_DISP", "CRED_REFR", "USER_ERR")

#: Columns of :func:`session_timeline`, in order.
TIMELINE_COLUMNS = (
    "session",
    schema.HOST_NAME,
    schema.SESSION_ID,
    schema.LOGIN_UID,
    schema.LOGIN_NAME,
    schema.TIME,
    "kind",
    schema.RECORD_TYPE,
    schema.EVENT_TYPE,
    schema.PROCESS_PID,
    schema.PARENT_PID,
    schema.PROCESS_NAME,
    schema.PROCESS_EXE,
    schema.PROCESS_CMDLINE,
    schema.USER_NAME,
    "elevated",
    schema.TTY,
    schema.CWD,
    schema.FILE_PATH,
    schema.SRC_IP,
    schema.SRC_PORT,
    schema.DST_IP,
    schema.DST_PORT,
    schema.SUCCESS,
    schema.EVENT_ID,
)

#: Columns of :func:`list_sessions`, in order.
SESSION_COLUMNS = (
    "session",
    schema.HOST_NAME,
    schema.SESSION_ID,
    schema.LOGIN_UID,
    schema.LOGIN_NAME,
    schema.TTY,
    "source_ip",
    "start",
    "end",
    "logged_out",
    "commands",
    "connections",
    "file_writes",
    "events",
    "login_event_id",
    "accept_event_id",
)

#: Kinds hidden from the text report unless asked (PAM bookkeeping, the auid record).
QUIET_KINDS = ("pam", "login_uid")


def link_logins(ev: EventColumns, window_us: int) -> tuple[np.ndarray, np.ndarray]:
    """Successful ``USER_LOGIN`` rows with a client address, and the accept row of each.

    Returns ``(logins, accepts)``: accepts[i] is -1 when no accept qualifies.
    """
    cached = ev.remember(("link_logins", window_us))
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    result = _link_logins(ev, window_us)
    ev.remember(("link_logins", window_us), result)
    return result


def _link_logins(ev: EventColumns, window_us: int) -> tuple[np.ndarray, np.ndarray]:
    pid = ev.ints(schema.PROCESS_PID)
    ppid = ev.ints(schema.PARENT_PID)
    host, _ = ev.host_codes()
    ip, ip_values = ev.codes(schema.SRC_IP)
    bad_ip = np.isin(ip_values, ["?", "", "UNKNOWN"]) if len(ip_values) else np.zeros(0, bool)
    has_ip = (ip >= 0) & ~bad_ip[np.clip(ip, 0, None)] if len(ip_values) else ip >= 0
    ok = ~ev.is_false(schema.SUCCESS)
    order = ev.order
    time_us = ev.time_us()
    logins = np.flatnonzero(ev.equals(schema.RECORD_TYPE, "USER_LOGIN") & ok & has_ip)
    accepts = np.flatnonzero(ev.equals(schema.EVENT_TYPE, "net_accept") & ok & has_ip)
    found = np.full(len(logins), -1, np.int64)
    if len(logins) == 0 or len(accepts) == 0:
        return logins, found
    # The login process's parent pid, from its latest event that names one.
    known = np.flatnonzero((pid > 0) & (ppid > 0))
    k_known, k_login = pair_codes((host[known], pid[known]), (host[logins], pid[logins]))
    latest = as_of(k_known, order[known], k_login, order[logins], strict=False)
    login_ppid = pick(ppid, pick(known, latest))
    h_acc, h_log = pair_codes((host[accepts], ip[accepts]), (host[logins], ip[logins]))
    best = np.full(len(logins), -1, np.int64)
    for who in (pid[logins], login_ppid):
        k_acc, k_log = pair_codes((h_acc, pid[accepts]), (h_log, who))
        hit = as_of(k_acc, order[accepts], k_log, order[logins], strict=False)
        later = pick(order[accepts], hit) > pick(order[accepts], best)
        best = np.where(later, hit, best)
    # Without process facts for the login, the client address alone decides.
    blind = (best < 0) & (login_ppid < 0)
    if blind.any():
        hit = as_of(h_acc, order[accepts], h_log, order[logins], strict=False)
        best = np.where(blind, hit, best)
    row = pick(accepts, best)
    gap = time_us[logins] - pick(time_us, row, missing=0)
    row = np.where((row >= 0) & (gap <= window_us), row, -1)
    # One accept opens one session: the nearest login keeps it.
    if (row >= 0).any():
        frame = pd.DataFrame(
            {
                "i": np.arange(len(row)),
                "row": row,
                "gap": gap,
            }
        )
        frame = frame[frame["row"] >= 0].sort_values(["gap", "i"], kind="stable")
        keep = frame.drop_duplicates("row")["i"].to_numpy()
        kept = np.zeros(len(row), bool)
        kept[keep] = True
        row = np.where(kept, row, -1)
    return logins, row


@dataclass
class _Sessions:
    """Session of every in-session event row, plus one summary row per session."""

    rows: np.ndarray  # event rows in sessions (and linked accepts), in time order
    session: np.ndarray  # session index of each of those rows
    summary: pd.DataFrame  # one row per session, indexed 0..n-1


def _kinds(ev: EventColumns, rows: np.ndarray) -> np.ndarray:
    record = ev.strings(schema.RECORD_TYPE)[rows]
    event_type = ev.strings(schema.EVENT_TYPE)[rows]
    failed = ev.is_false(schema.SUCCESS)[rows]
    conditions = [
        (record == "USER_LOGIN") & failed,
        record == "USER_LOGIN",
        record == "USER_LOGOUT",
        record == "USER_START",
        record == "USER_END",
        record == "LOGIN",
        np.isin(record, _PAM),
        record == "USER_CMD",
        event_type == "process_start",
        event_type == "net_connect",
        event_type == "net_accept",
        event_type == "net_listen",
        event_type == "file_write",
    ]
    choices = [
        "login_failed",
        "login",
        "logout",
        "session_open",
        "session_close",
        "login_uid",
        "pam",
        "sudo_cmd",
        "command",
        "connect",
        "accept",
        "listen",
        "file_write",
    ]
    return np.select(conditions, choices, default="other").astype(object)


def _first_valid(frame: pd.DataFrame, by: str, column: str) -> pd.Series:
    present = frame[frame[column].notna()]
    return present.groupby(by, sort=False)[column].first()


def _build(ev: EventColumns, login_window_us: int) -> _Sessions:
    ses = ev.ints(schema.SESSION_ID)
    auid = ev.ints(schema.LOGIN_UID)
    host, hosts = ev.host_codes()
    order = ev.order
    time_us = ev.time_us()
    inside = np.flatnonzero(ses >= 0)
    inside = inside[np.argsort(order[inside], kind="stable")]
    frame = pd.DataFrame(
        {
            "row": inside,
            "host": host[inside],
            "auid": auid[inside],
            "ses": ses[inside],
            "start": ev.equals(schema.RECORD_TYPE, "LOGIN")[inside],
        }
    )
    frame["epoch"] = frame.groupby(["host", "auid", "ses"], sort=False)["start"].cumsum()
    keys = ["host", "auid", "ses", "epoch"]
    frame["session"] = frame.groupby(keys, sort=False).ngroup()
    # Link each session's login to the accept that opened it.
    logins, accepts = link_logins(ev, login_window_us)
    first_login = pd.Series(logins[ses[logins] >= 0], dtype=np.int64)
    session_of_row = pd.Series(frame["session"].to_numpy(), index=frame["row"].to_numpy())
    linked = pd.DataFrame(
        {
            "session": session_of_row.reindex(first_login.to_numpy()).to_numpy(),
            "login_row": first_login.to_numpy(),
            "accept_row": accepts[ses[logins] >= 0],
        }
    ).dropna(subset=["session"])
    linked = linked.astype({"session": np.int64}).drop_duplicates("session")
    accept_rows = linked[linked["accept_row"] >= 0]

    # Session facts.
    n = int(frame["session"].max()) + 1 if len(frame) else 0
    rows = frame["row"].to_numpy()
    facts = pd.DataFrame(
        {
            "session": frame["session"].to_numpy(),
            "host": frame["host"].to_numpy(),
            "auid": frame["auid"].to_numpy(),
            "ses": frame["ses"].to_numpy(),
            "time": time_us[rows],
            "record": ev.strings(schema.RECORD_TYPE)[rows],
            "event_type": ev.strings(schema.EVENT_TYPE)[rows],
            "tty": ev.strings(schema.TTY)[rows],
            "src_ip": ev.strings(schema.SRC_IP)[rows],
            "login_name": ev.strings(schema.LOGIN_NAME)[rows],
            "user_name": ev.strings(schema.USER_NAME)[rows],
            "event_id": ev.strings(schema.EVENT_ID)[rows],
        }
    )
    grouped = facts.groupby("session", sort=True)
    summary = grouped.agg(
        host=("host", "first"),
        auid=("auid", "first"),
        ses=("ses", "first"),
        start=("time", "min"),
        end=("time", "max"),
        events=("time", "size"),
    ).reindex(np.arange(n))
    account = facts[np.isin(facts["record"], ("USER_LOGIN", "USER_START", *_PAM))]
    login_records = facts[(facts["record"] == "USER_LOGIN")]
    summary["login_event_id"] = _first_valid(login_records, "session", "event_id")
    names = _first_valid(facts, "session", "login_name")
    names = names.combine_first(_first_valid(login_records, "session", "user_name"))
    summary["login_name"] = names
    # Fill names from any record that names the same uid.
    uid = ev.ints(schema.USER_UID)
    user = ev.strings(schema.USER_NAME)
    named = np.flatnonzero((uid >= 0) & pd.notna(user))
    if len(named):
        by_uid = pd.Series(user[named], index=uid[named])
        by_uid = by_uid[~by_uid.index.duplicated()]
        summary["login_name"] = summary["login_name"].fillna(summary["auid"].map(by_uid))
    commands = facts[facts["event_type"] == "process_start"]
    tty = _first_valid(login_records, "session", "tty").combine_first(
        _first_valid(commands, "session", "tty")
    )
    summary["tty"] = tty.combine_first(_first_valid(facts, "session", "tty"))
    summary["source_ip"] = _first_valid(account, "session", "src_ip")
    summary["logged_out"] = (
        facts["record"].isin(("USER_LOGOUT", "USER_END")).groupby(facts["session"]).any()
    )
    for name, kind in (
        ("commands", "process_start"),
        ("connections", "net_connect"),
        ("file_writes", "file_write"),
    ):
        summary[name] = (facts["event_type"] == kind).groupby(facts["session"]).sum()
    summary["accept_event_id"] = pd.Series(
        ev.strings(schema.EVENT_ID)[accept_rows["accept_row"].to_numpy(np.int64)],
        index=accept_rows["session"].to_numpy(),
        dtype=object,
    )
    if len(accept_rows):
        first_time = pd.Series(
            time_us[accept_rows["accept_row"].to_numpy(np.int64)],
            index=accept_rows["session"].to_numpy(),
        )
        summary["start"] = np.minimum(
            summary["start"],
            first_time.reindex(summary.index).fillna(summary["start"]).astype(np.int64),
        )
    # Stable names: host:ses, with #2, #3... when a session id was reused.
    summary["host_name"] = hosts[summary["host"].to_numpy(np.int64)] if n else []
    summary = summary.sort_values(["start", "host", "ses"], kind="stable")
    repeat = summary.groupby(["host", "ses"], sort=False).cumcount().to_numpy() + 1
    summary["session_name"] = [
        f"{h}:{s}" + (f"#{k}" if k > 1 else "")
        for h, s, k in zip(summary["host_name"], summary["ses"], repeat, strict=True)
    ]
    summary = summary.sort_index()
    all_rows = np.concatenate([rows, accept_rows["accept_row"].to_numpy(np.int64)])
    all_sessions = np.concatenate(
        [frame["session"].to_numpy(np.int64), accept_rows["session"].to_numpy(np.int64)]
    )
    by_time = np.lexsort((order[all_rows], all_sessions))
    return _Sessions(rows=all_rows[by_time], session=all_sessions[by_time], summary=summary)


def _login_filter(summary: pd.DataFrame, login: str | int | None) -> np.ndarray:
    if login is None:
        return np.ones(len(summary), bool)
    text = str(login).strip()
    by_uid = summary["auid"].to_numpy() == int(text) if text.lstrip("-").isdigit() else False
    by_name = (summary["login_name"] == text).fillna(False).to_numpy(bool)
    return np.asarray(by_uid | by_name, bool)


def _select(
    built: _Sessions,
    host: str | None,
    login: str | int | None,
    session: int | None,
) -> np.ndarray:
    summary = built.summary
    keep = _login_filter(summary, login)
    if host is not None:
        keep &= (summary["host_name"] == host).fillna(False).to_numpy(bool)
    if session is not None:
        keep &= summary["ses"].to_numpy() == int(session)
    return np.flatnonzero(keep)


def _strings(values: Any) -> pa.Array:
    return pa.array(list(values), pa.string())


def _times(us: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(us, np.int64), pa.int64(), mask=np.asarray(us) == NO_TIME).cast(_US)


def _ints(values: np.ndarray) -> pa.Array:
    return pa.array(values, pa.int64(), mask=values < 0)


def _to_frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _summary_table(summary: pd.DataFrame, chosen: np.ndarray) -> pa.Table:
    part = summary.loc[chosen].sort_values(["start", "host", "ses"], kind="stable")

    def opt(column: str) -> list[Any]:
        return [None if pd.isna(v) else v for v in part[column]]

    columns: dict[str, pa.Array] = {
        "session": _strings(part["session_name"]),
        schema.HOST_NAME: _strings(part["host_name"]),
        schema.SESSION_ID: pa.array(part["ses"].to_numpy(np.int64), pa.int64()),
        schema.LOGIN_UID: _ints(part["auid"].to_numpy(np.int64)),
        schema.LOGIN_NAME: pa.array(opt("login_name"), pa.string()),
        schema.TTY: pa.array(opt("tty"), pa.string()),
        "source_ip": pa.array(opt("source_ip"), pa.string()),
        "start": _times(part["start"].to_numpy(np.int64)),
        "end": _times(part["end"].to_numpy(np.int64)),
        "logged_out": pa.array(part["logged_out"].fillna(False).to_numpy(bool)),
        "commands": pa.array(part["commands"].fillna(0).to_numpy(np.int64)),
        "connections": pa.array(part["connections"].fillna(0).to_numpy(np.int64)),
        "file_writes": pa.array(part["file_writes"].fillna(0).to_numpy(np.int64)),
        "events": pa.array(part["events"].fillna(0).to_numpy(np.int64)),
        "login_event_id": pa.array(opt("login_event_id"), pa.string()),
        "accept_event_id": pa.array(opt("accept_event_id"), pa.string()),
    }
    return pa.table({c: columns[c] for c in SESSION_COLUMNS})


def _check(host: str | None, login: str | int | None, session: int | None) -> None:
    if session is not None and (
        isinstance(session, bool) or not isinstance(session, (int, np.integer))
    ):
        raise ValueError(
            f"The 'session' parameter must be an audit session id (an integer). Got {session!r} "
            "instead."
        )
    if host is not None and not isinstance(host, str):
        raise ValueError(f"The 'host' parameter must be a host name. Got {host!r} instead.")
    if login is not None and not isinstance(login, (str, int, np.integer)):
        raise ValueError(
            f"The 'login' parameter must be a login name or uid. Got {login!r} instead."
        )


def list_sessions(
    events: Any,
    *,
    host: str | None = None,
    login: str | int | None = None,
    session: int | None = None,
    login_window: str | float = "60s",
) -> pd.DataFrame:
    """One row per login session: who, from where, when, and how much they did.

    Parameters
    ----------
    events : pandas.DataFrame or pyarrow.Table
        Canonical events.
    host : str, optional
        Only sessions on this host.
    login : str or int, optional
        Only sessions of this login: a uid (``1001``, ``"1001"``) or a name.
    session : int, optional
        Only sessions with this audit session id.
    login_window : str or float, default "60s"
        Longest time between the accept of an ssh connection and its login.

    Returns
    -------
    pandas.DataFrame
        In start order, columns :data:`SESSION_COLUMNS`: ``session`` (``"host:ses"``,
        ``#2``... when a session id came back after a reboot), ``host_name``,
        ``session_id``, ``login_uid``, ``login_name``, ``tty``, ``source_ip``
        (the client address of the login), ``start``, ``end``, ``logged_out``,
        counts of ``commands``, ``connections``, ``file_writes`` and
        ``events``, ``login_event_id`` and ``accept_event_id`` (the accepted
        connection that opened the session, null when none was found).

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.investigate import list_sessions
    >>> t = pd.Timestamp("2024-03-04T10:00:00Z")
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": [t + pd.Timedelta(seconds=s) for s in (0, 1, 5, 60)],
    ...     "host_name": "web-01",
    ...     "event_type": ["net_accept", "login", "process_start", "other"],
    ...     "record_type": ["SYSCALL", "USER_LOGIN", "SYSCALL", "USER_LOGOUT"],
    ...     "process_pid": [383, 2002, 2010, 2002],
    ...     "user_name": [None, "bob", "bob", "bob"], "user_uid": [None, 1001, 1001, 1001],
    ...     "login_uid": [None, 1001, 1001, 1001], "session_id": [None, 48, 48, 48],
    ...     "tty": [None, "pts0", "pts0", "pts0"],
    ...     "src_ip": ["10.0.4.11", "10.0.4.11", None, "10.0.4.11"],
    ...     "src_port": [35851, None, None, None],
    ...     "event_id": ["a", "b", "c", "d"], "source_format": "canonical"}),
    ...     fill_missing=True)
    >>> found = list_sessions(events)
    >>> found[["session", "login_name", "source_ip", "commands", "accept_event_id"]]
         session login_name source_ip  commands accept_event_id
    0  web-01:48        bob 10.0.4.11         1               a
    """
    _check(host, login, session)
    window = parse_seconds(login_window, "login_window")
    ev = EventColumns(events, "list_sessions")
    built = _build(ev, int(window * 1e6))
    chosen = _select(built, host, login, session)
    return _to_frame(_summary_table(built.summary, chosen))


def session_timeline(
    events: Any,
    *,
    host: str | None = None,
    login: str | int | None = None,
    session: int | None = None,
    login_window: str | float = "60s",
) -> pd.DataFrame:
    """Reconstruct what logged-in users did, in order, per login session.

    A session is the events of one host with one (login uid, session id); see
    the module notes. Commands run through ``sudo`` stay in the session that ran
    ``sudo`` (their ``user_name`` is the target user and ``elevated`` is true).
    The accepted connection that opened an ssh session is its first row.

    Parameters
    ----------
    events : pandas.DataFrame or pyarrow.Table
        Canonical events.
    host : str, optional
        Only sessions on this host.
    login : str or int, optional
        Only sessions of this login uid or login name.
    session : int, optional
        Only sessions with this audit session id.
    login_window : str or float, default "60s"
        Longest time between the accept of an ssh connection and its login.

    Returns
    -------
    pandas.DataFrame
        One row per event, sessions in start order and events in time order,
        columns :data:`TIMELINE_COLUMNS`: the session (``session``, ``host_name``,
        ``session_id``, ``login_uid``, ``login_name``), then the event: ``time``,
        ``kind`` (``accept``, ``login``, ``login_failed``, ``session_open``,
        ``command``, ``sudo_cmd``, ``connect``, ``listen``, ``file_write``,
        ``logout``, ``session_close``, ``pam``, ``login_uid``, ``other``),
        ``record_type``, ``event_type``, the process (``process_pid``,
        ``parent_pid``, ``process_name``, ``process_exe``, ``process_cmdline``:
        the command with its arguments, ``user_name``: who it ran as,
        ``elevated``: ``user_uid`` differs from the login uid), ``tty``,
        ``cwd``, ``file_path``, addresses, ``success`` and ``event_id``.

    See Also
    --------
    list_sessions : One summary row per session.
    TimelineReport : The same rows as readable text.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.investigate import session_timeline
    >>> t = pd.Timestamp("2024-03-04T10:00:00Z")
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": [t + pd.Timedelta(seconds=s) for s in (0, 5, 6, 9)],
    ...     "host_name": "web-01",
    ...     "event_type": ["login", "process_start", "process_start", "net_connect"],
    ...     "record_type": ["USER_LOGIN", "SYSCALL", "SYSCALL", "SYSCALL"],
    ...     "process_pid": [2002, 2010, 2011, 2012],
    ...     "process_cmdline": [None, "sudo du -sh /var", "du -sh /var", "ssh db-02"],
    ...     "user_name": ["bob", "bob", "root", "bob"], "user_uid": [1001, 1001, 0, 1001],
    ...     "login_uid": 1001, "session_id": 48, "src_ip": ["10.0.4.11", None, None, None],
    ...     "dst_ip": [None, None, None, "10.0.2.12"], "dst_port": [None, None, None, 22],
    ...     "event_id": ["a", "b", "c", "d"], "source_format": "canonical"}),
    ...     fill_missing=True)
    >>> session_timeline(events, login="bob")[["kind", "user_name", "elevated", "process_cmdline"]]
          kind user_name  elevated   process_cmdline
    0    login       bob     False              <NA>
    1  command       bob     False  sudo du -sh /var
    2  command      root      True       du -sh /var
    3  connect       bob     False         ssh db-02
    """
    _check(host, login, session)
    window = parse_seconds(login_window, "login_window")
    ev = EventColumns(events, "session_timeline")
    built = _build(ev, int(window * 1e6))
    chosen = _select(built, host, login, session)
    return _to_frame(_timeline_table(ev, built, chosen))


def _timeline_table(ev: EventColumns, built: _Sessions, chosen: np.ndarray) -> pa.Table:
    summary = built.summary
    keep = np.isin(built.session, chosen)
    rows = built.rows[keep]
    sess = built.session[keep]
    rank = pd.Series(
        np.arange(len(chosen)),
        index=summary.loc[chosen].sort_values(["start", "host", "ses"], kind="stable").index,
    )
    by = np.lexsort((np.arange(len(rows)), rank.reindex(sess).to_numpy()))
    rows, sess = rows[by], sess[by]
    auid = summary["auid"].to_numpy(np.int64)[sess] if len(sess) else np.empty(0, np.int64)
    uid = ev.ints(schema.USER_UID)[rows]

    def text(name: str) -> pa.Array:
        return _strings(ev.strings(name)[rows])

    def ints(name: str, typ: pa.DataType | None = None) -> pa.Array:
        return _ints(ev.ints(name)[rows]).cast(typ or pa.int64())

    names = summary["login_name"].to_numpy(dtype=object)[sess] if len(sess) else []
    columns: dict[str, pa.Array] = {
        "session": _strings(summary["session_name"].to_numpy(dtype=object)[sess]),
        schema.HOST_NAME: _strings(summary["host_name"].to_numpy(dtype=object)[sess]),
        schema.SESSION_ID: pa.array(summary["ses"].to_numpy(np.int64)[sess], pa.int64()),
        schema.LOGIN_UID: _ints(auid),
        schema.LOGIN_NAME: _strings([None if pd.isna(v) else v for v in names]),
        schema.TIME: _times(ev.time_us()[rows]),
        "kind": _strings(_kinds(ev, rows)),
        schema.RECORD_TYPE: text(schema.RECORD_TYPE),
        schema.EVENT_TYPE: text(schema.EVENT_TYPE),
        schema.PROCESS_PID: ints(schema.PROCESS_PID),
        schema.PARENT_PID: ints(schema.PARENT_PID),
        schema.PROCESS_NAME: text(schema.PROCESS_NAME),
        schema.PROCESS_EXE: text(schema.PROCESS_EXE),
        schema.PROCESS_CMDLINE: text(schema.PROCESS_CMDLINE),
        schema.USER_NAME: text(schema.USER_NAME),
        "elevated": pa.array((uid >= 0) & (auid >= 0) & (uid != auid)),
        schema.TTY: text(schema.TTY),
        schema.CWD: text(schema.CWD),
        schema.FILE_PATH: text(schema.FILE_PATH),
        schema.SRC_IP: text(schema.SRC_IP),
        schema.SRC_PORT: ints(schema.SRC_PORT, pa.int32()),
        schema.DST_IP: text(schema.DST_IP),
        schema.DST_PORT: ints(schema.DST_PORT, pa.int32()),
        schema.SUCCESS: pa.array(ev.arrow(schema.SUCCESS).take(pa.array(rows, pa.int64()))),
        schema.EVENT_ID: text(schema.EVENT_ID),
    }
    return pa.table({c: columns[c] for c in TIMELINE_COLUMNS})


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, (str, bytes)) and bool(pd.isna(value)))


def _endpoint(ip: Any, port: Any) -> str:
    if _missing(ip):
        return "?"
    text = f"[{ip}]" if ":" in str(ip) else str(ip)
    return text if _missing(port) else f"{text}:{int(port)}"


def _detail(rec: Any, show: Callable[[object], str]) -> str:
    kind = rec.kind
    if kind in ("command", "sudo_cmd"):
        command = rec.process_cmdline if not _missing(rec.process_cmdline) else rec.process_exe
        suffix = "  (failed)" if rec.success is False else ""
        return show(command) + suffix
    if kind == "connect":
        return "-> " + show(_endpoint(rec.dst_ip, rec.dst_port))
    if kind == "accept":
        return "<- " + show(_endpoint(rec.src_ip, rec.src_port))
    if kind == "listen":
        return "listen " + show(_endpoint(rec.dst_ip, rec.dst_port))
    if kind == "file_write":
        return show(rec.file_path)
    if kind in ("login", "login_failed", "logout", "session_open", "session_close", "pam"):
        parts = []
        if not _missing(rec.src_ip):
            parts.append("from " + show(rec.src_ip))
        if not _missing(rec.tty):
            parts.append("on " + show(rec.tty))
        if kind == "pam" and not _missing(rec.record_type):
            parts.insert(0, show(rec.record_type))
        return " ".join(parts)
    if not _missing(rec.record_type) and rec.record_type != "SYSCALL":
        return show(rec.record_type)
    return show(rec.event_type)


@dataclass(frozen=True)
class TimelineReport:
    """Readable session timelines: the rows of :func:`session_timeline` as text.

    Parameters
    ----------
    timeline : pandas.DataFrame
        Rows of :func:`session_timeline`.
    sessions : pandas.DataFrame, optional
        Rows of :func:`list_sessions` for the same sessions (adds the header facts).
    show_all : bool, default False
        Also print PAM bookkeeping and ``LOGIN`` records (:data:`QUIET_KINDS`).

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel.investigate import TimelineReport
    >>> rows = pd.DataFrame({
    ...     "session": ["web-01:48"] * 2, "host_name": ["web-01"] * 2,
    ...     "session_id": [48, 48], "login_uid": [1001, 1001], "login_name": ["bob", "bob"],
    ...     "time": pd.to_datetime(["2024-03-04T10:00:00Z", "2024-03-04T10:00:05Z"]),
    ...     "kind": ["login", "command"], "record_type": ["USER_LOGIN", "SYSCALL"],
    ...     "event_type": ["login", "process_start"], "process_pid": [2002, 2010],
    ...     "process_name": [None, "ls"], "process_exe": [None, "/usr/bin/ls"],
    ...     "process_cmdline": [None, "ls -la"], "user_name": ["bob", "bob"],
    ...     "elevated": [False, False], "tty": ["pts0", "pts0"],
    ...     "src_ip": ["10.0.4.11", None], "src_port": [None, None],
    ...     "dst_ip": [None, None], "dst_port": [None, None], "file_path": [None, None],
    ...     "success": [True, True]})
    >>> print(TimelineReport(rows))
    session web-01:48  login bob (uid 1001)
      2024-03-04 10:00:00.000  login    bob          from 10.0.4.11 on pts0
      2024-03-04 10:00:05.000  command  bob  ls [2010]  ls -la
    """

    timeline: pd.DataFrame
    sessions: pd.DataFrame | None = None
    show_all: bool = False

    def to_text(self, cell: Cell = plain_text) -> str:
        """Render one block per session; ``cell`` renders values from events."""

        def show(value: object) -> str:
            return "" if _missing(value) else cell(value)

        if self.timeline.empty:
            return "no matching login sessions"
        facts: dict[str, Any] = {}
        if self.sessions is not None and not self.sessions.empty:
            facts = {s.session: s for s in self.sessions.itertuples(index=False)}
        blocks: list[str] = []
        for name, part in self.timeline.groupby("session", sort=False):
            first = part.iloc[0]
            head = f"session {show(name)}  login {show(first['login_name']) or '?'}"
            if not _missing(first["login_uid"]):
                head += f" (uid {int(first['login_uid'])})"
            info = facts.get(str(name))
            if info is not None:
                if not _missing(info.tty):
                    head += f"  tty {show(info.tty)}"
                if not _missing(info.source_ip):
                    head += f"  from {show(info.source_ip)}"
                end = "" if info.logged_out else "  (no logout seen)"
                head += f"  {clock(_us(info.start), date=True)} .. {clock(_us(info.end))}{end}"
            lines = [head]
            rows: list[list[str]] = []
            for rec in part.itertuples(index=False):
                if rec.kind in QUIET_KINDS and not self.show_all:
                    continue
                label = display_name(
                    None if _missing(rec.process_name) else rec.process_name,
                    None if _missing(rec.process_exe) else rec.process_exe,
                )
                process = "" if not label else f"{show(label)} [{rec.process_pid}]"
                if rec.kind in (
                    "login",
                    "login_failed",
                    "logout",
                    "pam",
                    "session_open",
                    "session_close",
                ):
                    process = ""
                who = show(rec.user_name)
                rows.append(
                    [
                        clock(_us(rec.time), date=True),
                        str(rec.kind),
                        who,
                        process,
                        _detail(rec, show),
                    ]
                )
            lines += format_rows(rows, indent="  ")
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)

    def __str__(self) -> str:
        return self.to_text()


def _us(value: Any) -> int:
    if _missing(value):
        return NO_TIME
    return int(pd.Timestamp(value).value // 1000)
