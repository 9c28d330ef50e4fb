"""Process trees and ancestry: which process started this one, and who started that.

The tree is built per host from the events alone. Each node is one *process
image*: a pid running one program for a while. Nodes come from

- ``exec``: a successful ``process_start`` (execve) gives the pid a new program;
- ``fork``: a successful clone/fork/vfork (its exit code is the child pid) gives the
  child a copy of its parent's program;
- ``running``: a pid seen in events without a logged start (it started before
  the log began, or its exec was not audited: its executable changed);
- ``parent``: a pid known only as some process's parent pid (exe from the
  child's ``parent_exe`` when the source had it, else unknown).

A pid maps to the node that held it at the event's time (rank by time, then
audit serial), so a reused pid points to the right process. An exec keeps the
process (same pid): the new node's ``exec_of`` points to the node it replaced,
and chains show both. Whether an exec replaced the earlier program of the same
pid or is a new process that reused the pid is decided from the parent pid (the
same, unknown, or re-parented to 1) and from pid wrap-arounds seen on the host
(after the pid counter wraps, an old pid may belong to a new process).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel import schema
from behavemodel.investigate._common import (
    NO_TIME,
    Cell,
    EventColumns,
    EventNotFoundError,
    as_of,
    clock,
    display_name,
    format_rows,
    pair_codes,
    pick,
    plain_text,
)

__all__ = [
    "ANCESTRY_COLUMNS",
    "TREE_COLUMNS",
    "AncestryReport",
    "ancestry",
    "ancestry_strings",
    "process_tree",
]

EXEC, FORK, RUNNING, PARENT = 0, 1, 2, 3
_KIND_NAMES = np.array(["exec", "fork", "running", "parent"], dtype=object)
SELF, EXEC_OF, PARENT_OF = 0, 1, 2
_RELATION_NAMES = np.array(["self", "exec", "parent"], dtype=object)
FORK_SYSCALLS = ("clone", "clone3", "fork", "vfork")
#: Largest gap between an exec and a clone record of the same child, logged out of order.
_OUT_OF_ORDER_US = 1_000_000
_US = pa.timestamp("us", tz="UTC")

#: Columns of :func:`process_tree`, in order.
TREE_COLUMNS = (
    "node",
    schema.HOST_NAME,
    schema.PROCESS_PID,
    schema.PARENT_PID,
    "kind",
    "start_time",
    "first_seen",
    schema.PROCESS_NAME,
    schema.PROCESS_EXE,
    schema.PROCESS_CMDLINE,
    schema.USER_NAME,
    schema.LOGIN_UID,
    schema.SESSION_ID,
    "parent_node",
    "exec_of",
    schema.EVENT_ID,
)

#: Columns of :func:`ancestry`, in order.
ANCESTRY_COLUMNS = (
    "query",
    "depth",
    "relation",
    "node",
    schema.HOST_NAME,
    schema.PROCESS_PID,
    schema.PARENT_PID,
    "kind",
    "start_time",
    schema.PROCESS_NAME,
    schema.PROCESS_EXE,
    schema.PROCESS_CMDLINE,
    schema.USER_NAME,
    schema.EVENT_ID,
)


@dataclass
class _Tree:
    """Process images as parallel arrays, and the image of every event row."""

    events: EventColumns
    hosts: np.ndarray  # host values by code
    host: np.ndarray
    pid: np.ndarray
    ppid: np.ndarray  # -1 unknown
    at: np.ndarray  # rank of the start (or first sight); -1 = before the log
    kind: np.ndarray
    row: np.ndarray  # event row the node comes from; -1 for parent-only nodes
    parent: np.ndarray  # node, -1 none
    exec_of: np.ndarray  # node, -1 none
    exe: np.ndarray
    name: np.ndarray
    event_node: np.ndarray  # node of each event row, -1 without a pid

    @property
    def size(self) -> int:
        return len(self.pid)

    def next_up(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The node above each node in a chain and the relation of that node to it."""
        prior = pick(self.exec_of, nodes)
        shown = (prior >= 0) & (pick(self.kind, prior) != FORK)
        up = np.where(shown, prior, pick(self.parent, nodes))
        return up, np.where(shown, EXEC_OF, PARENT_OF)

    def rows_of(self, event_ids: Sequence[str], *, missing_ok: bool) -> np.ndarray:
        """Event row of each id (the first when ids repeat); -1 or an error when absent."""
        positions = np.full(len(event_ids), -1, np.int64)
        if self.events.has(schema.EVENT_ID) and len(event_ids):
            wanted = pa.array(list(event_ids), pa.string())
            which = pc.index_in(self.events.arrow(schema.EVENT_ID), value_set=wanted)
            which = np.asarray(which.fill_null(-1).to_numpy(), np.int64)
            rows = np.flatnonzero(which >= 0)
            asked, first = np.unique(which[rows], return_index=True)  # first row per id
            positions[asked] = rows[first]
            # An id asked twice: both get the row (index_in names the first of equals).
            if len(set(event_ids)) < len(event_ids):
                lookup = {event_ids[int(a)]: positions[int(a)] for a in asked}
                positions = np.array([lookup.get(e, -1) for e in event_ids], np.int64)
        if not missing_ok and (positions < 0).any():
            raise EventNotFoundError([event_ids[int(i)] for i in np.flatnonzero(positions < 0)])
        return positions


def _exe_codes(ev: EventColumns) -> np.ndarray:
    """Executable codes for change detection, ignoring a ' (deleted)' suffix."""
    exe = pc.replace_substring_regex(ev.arrow(schema.PROCESS_EXE), r" \(deleted\)$", "")
    encoded = exe.dictionary_encode().combine_chunks()
    return np.asarray(encoded.indices.cast(pa.int64()).fill_null(-1).to_numpy(), np.int64)


def _first_per(keys: np.ndarray, rows: np.ndarray, order: np.ndarray) -> np.ndarray:
    """The earliest row for each distinct key."""
    if len(rows) == 0:
        return rows
    by_time = rows[np.argsort(order[rows], kind="stable")]
    _, first = np.unique(keys[by_time], return_index=True)
    return np.asarray(by_time[first], np.int64)


def _wrap_counts(
    host: np.ndarray, pid: np.ndarray, at: np.ndarray, kind: np.ndarray
) -> np.ndarray:
    """Per node, how many pid wrap-arounds its host showed up to its start.

    A wrap is where new pids (exec and fork nodes in time order) drop below half
    the previous one and the next two stay there: a long-lived process that
    execs with an old pid is a single dip, not a wrap.
    """
    picked = np.flatnonzero((kind == EXEC) | (kind == FORK))
    if len(picked) < 4:
        return np.zeros(len(pid), np.int64)
    seq = picked[np.lexsort((at[picked], host[picked]))]
    h, p = host[seq], pid[seq]
    big = np.iinfo(np.int64).max // 4
    prev = np.r_[big, p[:-1]]
    nxt1 = np.r_[p[1:], big]
    nxt2 = np.r_[p[2:], big, big]
    same1 = np.r_[h[1:] == h[:-1], False]
    same2 = np.r_[h[2:] == h[:-2], False, False]
    after = np.r_[False, h[1:] == h[:-1]]
    wrap = after & (2 * p < prev) & same1 & (2 * nxt1 < prev) & same2 & (2 * nxt2 < prev)
    total = np.cumsum(wrap)
    starts = np.r_[0, np.flatnonzero(h[1:] != h[:-1]) + 1]
    base = np.repeat(total[starts] - wrap[starts], np.diff(np.r_[starts, len(h)]))
    counted = total - base
    found = as_of(h, at[seq], host, at, strict=False)
    return np.maximum(pick(counted, found), 0).astype(np.int64)


def _link(
    key: np.ndarray,
    parent_key: np.ndarray,
    ppid: np.ndarray,
    at: np.ndarray,
    kind: np.ndarray,
    link_at: np.ndarray,
    wraps: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Parent node and exec predecessor of every node (keys: codes of (host, pid))."""
    n = len(key)
    # The previous node of the same pid.
    by_pid = np.lexsort((at, key))
    prev = np.full(n, -1, np.int64)
    if n > 1:
        same_key = key[by_pid[1:]] == key[by_pid[:-1]]
        prev[by_pid[1:]] = np.where(same_key, by_pid[:-1], -1)
    j = np.clip(prev, 0, None)
    compatible = (
        (ppid == ppid[j])
        | (ppid < 0)
        | (ppid[j] < 0)
        | ((ppid == 1) & (ppid[j] != 1))  # re-parented to init when its parent exited
    )
    same = (
        (prev >= 0)
        & ((kind == EXEC) | (kind == RUNNING))
        & ((kind[j] == FORK) | compatible)
        & (wraps == wraps[j])
    )
    exec_of = np.where(same, prev, -1)
    root = np.arange(n)
    for _ in range(n):
        up = exec_of[root]
        moved = up >= 0
        if not moved.any():
            break
        root = np.where(moved, up, root)
    parent_of_root = as_of(key, at, parent_key, link_at, strict=False)
    parent_of_root[parent_of_root == np.arange(n)] = -1
    return parent_of_root[root], exec_of


@dataclass
class _Nodes:
    """Growing node arrays; keys are codes of (host, pid) shared with the events."""

    key: np.ndarray
    parent_key: np.ndarray
    host: np.ndarray
    pid: np.ndarray
    ppid: np.ndarray
    at: np.ndarray
    kind: np.ndarray
    row: np.ndarray

    def add(self, **parts: np.ndarray) -> None:
        for name, values in parts.items():
            setattr(self, name, np.concatenate([getattr(self, name), values]))


def _build(ev: EventColumns) -> _Tree:
    order = ev.order
    host_code, hosts = ev.host_codes()
    pid = ev.ints(schema.PROCESS_PID)
    ppid = ev.ints(schema.PARENT_PID)
    time_us = ev.time_us()
    ok = ~ev.is_false(schema.SUCCESS)
    exit_code = ev.ints(schema.EXIT_CODE)
    exec_rows = np.flatnonzero(ev.equals(schema.EVENT_TYPE, "process_start") & ok & (pid > 0))
    fork_rows = np.flatnonzero(
        ev.equals(schema.SYSCALL, FORK_SYSCALLS) & ok & (exit_code > 0) & (pid > 0)
    )
    # One code per (host, pid) for every pid, parent pid and forked child pid.
    pid_code, ppid_code, child_code = pair_codes(
        (host_code, np.where(pid > 0, pid, -1)),
        (host_code, np.where(ppid > 0, ppid, -1)),
        (host_code[fork_rows], exit_code[fork_rows]),
    )
    # A clone record logged just after its child's exec adds nothing.
    late = as_of(pid_code[exec_rows], order[exec_rows], child_code, order[fork_rows], strict=True)
    hit = pick(exec_rows, late)
    drop = (
        (hit >= 0)
        & (time_us[fork_rows] - pick(time_us, hit, missing=0) <= _OUT_OF_ORDER_US)
        & (pick(ppid, hit) == pid[fork_rows])
    )
    fork_rows, child_code = fork_rows[~drop], child_code[~drop]

    nodes = _Nodes(
        key=np.concatenate([pid_code[exec_rows], child_code]),
        parent_key=np.concatenate([ppid_code[exec_rows], pid_code[fork_rows]]),
        host=np.concatenate([host_code[exec_rows], host_code[fork_rows]]),
        pid=np.concatenate([pid[exec_rows], exit_code[fork_rows]]),
        ppid=np.concatenate([ppid[exec_rows], pid[fork_rows]]),
        at=np.concatenate([order[exec_rows], order[fork_rows]]),
        kind=np.concatenate(
            [np.full(len(exec_rows), EXEC, np.int8), np.full(len(fork_rows), FORK, np.int8)]
        ),
        row=np.concatenate([exec_rows, fork_rows]).astype(np.int64),
    )

    def running(rows: np.ndarray, at: np.ndarray) -> None:
        nodes.add(
            key=pid_code[rows], parent_key=ppid_code[rows], host=host_code[rows],
            pid=pid[rows], ppid=ppid[rows], at=at,
            kind=np.full(len(rows), RUNNING, np.int8), row=rows,
        )  # fmt: skip

    # Processes already running when the log began: their first event is not a start.
    found = as_of(nodes.key, nodes.at, pid_code, order, strict=False)
    lonely = np.flatnonzero((found < 0) & (pid_code >= 0))
    first = _first_per(pid_code, lonely, order)
    running(first, np.full(len(first), -1, np.int64))

    # A pid whose executable changes without a logged exec is a new image (a failed
    # execve may name the program it tried, so it does not count).
    exe = _exe_codes(ev)
    exe = np.where(ev.equals(schema.EVENT_TYPE, "process_start") & ~ok, -1, exe)
    for _ in range(3):
        found = as_of(nodes.key, nodes.at, pid_code, order, strict=False)
        seen = pick(pick(exe, nodes.row), found)
        changed = np.flatnonzero((found >= 0) & (exe >= 0) & (seen >= 0) & (exe != seen))
        if len(changed) == 0:
            break
        first = _first_per(found, changed, order)
        running(first, order[first])

    wraps = _wrap_counts(nodes.host, nodes.pid, nodes.at, nodes.kind)

    def links() -> tuple[np.ndarray, np.ndarray]:
        link_at = np.where(nodes.at < 0, pick(order, nodes.row), nodes.at)
        return _link(nodes.key, nodes.parent_key, nodes.ppid, nodes.at, nodes.kind, link_at, wraps)

    parent, exec_of = links()
    # Parents never seen themselves: one node per (host, parent pid), exe from the child.
    orphan = np.flatnonzero(
        (parent < 0) & (exec_of < 0) & (nodes.parent_key >= 0) & (nodes.row >= 0)
    )
    parent_rows = np.empty(0, np.int64)
    if len(orphan):
        by_time = orphan[np.argsort(order[nodes.row[orphan]], kind="stable")]
        _, first_idx = np.unique(nodes.parent_key[by_time], return_index=True)
        chosen = by_time[first_idx]
        parent_rows = nodes.row[chosen]
        nodes.add(
            key=nodes.parent_key[chosen], parent_key=np.full(len(chosen), -1, np.int64),
            host=nodes.host[chosen], pid=nodes.ppid[chosen],
            ppid=np.full(len(chosen), -1, np.int64), at=np.full(len(chosen), -1, np.int64),
            kind=np.full(len(chosen), PARENT, np.int8), row=np.full(len(chosen), -1, np.int64),
        )  # fmt: skip
        wraps = np.concatenate([wraps, np.zeros(len(chosen), np.int64)])
        parent, exec_of = links()

    # Chronological node numbers: processes from before the log first.
    perm = np.lexsort((nodes.pid, nodes.host, nodes.at))
    inverse = np.empty(len(perm), np.int64)
    inverse[perm] = np.arange(len(perm))

    # Names: the node's own event, or for parent-only nodes the child's parent_exe.
    n_plain = len(nodes.row) - len(parent_rows)
    exe_all = ev.strings_at(schema.PROCESS_EXE, nodes.row)
    name_all = ev.strings_at(schema.PROCESS_NAME, nodes.row)
    exe_all[n_plain:] = ev.strings_at(schema.PARENT_EXE, parent_rows)
    name_all[n_plain:] = ev.strings_at(schema.PARENT_NAME, parent_rows)
    event_node = as_of(nodes.key, nodes.at, pid_code, order, strict=False)
    return _Tree(
        events=ev,
        hosts=hosts,
        host=nodes.host[perm],
        pid=nodes.pid[perm],
        ppid=nodes.ppid[perm],
        at=nodes.at[perm],
        kind=nodes.kind[perm],
        row=nodes.row[perm],
        parent=pick(inverse, parent)[perm],
        exec_of=pick(inverse, exec_of)[perm],
        exe=exe_all[perm],
        name=name_all[perm],
        event_node=pick(inverse, event_node),
    )


def _value(value: Any) -> Any:
    """None for any missing scalar (None, NaN, NaT, pd.NA)."""
    if value is None or (not isinstance(value, (str, bytes)) and bool(pd.isna(value))):
        return None
    return value


def _strings(values: np.ndarray) -> pa.Array:
    return pa.array(values.tolist(), pa.string())


def _nullable(values: np.ndarray, missing: np.ndarray) -> pa.Array:
    return pa.array(values, pa.int64(), mask=missing)


def _times(us: np.ndarray) -> pa.Array:
    return pa.array(us, pa.int64(), mask=us == NO_TIME).cast(_US)


def _to_frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _node_columns(tree: _Tree, nodes: np.ndarray) -> dict[str, pa.Array]:
    """Descriptive columns of the given nodes."""
    ev = tree.events
    rows = tree.row[nodes]
    has = rows >= 0
    safe = np.clip(rows, 0, None)
    times = ev.time_us()[safe]
    started = has & ((tree.kind[nodes] == EXEC) | (tree.kind[nodes] == FORK))

    def from_rows(name: str) -> pa.Array:
        return ev.arrow_at(name, rows)

    def ints_from_rows(name: str) -> pa.Array:
        values = ev.ints(name)[safe]
        return _nullable(values, ~has | (values < 0))

    ppid = tree.ppid[nodes]
    return {
        schema.HOST_NAME: _strings(tree.hosts[tree.host[nodes]]),
        schema.PROCESS_PID: pa.array(tree.pid[nodes], pa.int64()),
        schema.PARENT_PID: _nullable(ppid, ppid < 0),
        "kind": _strings(_KIND_NAMES[tree.kind[nodes]]),
        "start_time": _times(np.where(started, times, NO_TIME)),
        "first_seen": _times(np.where(has, times, NO_TIME)),
        schema.PROCESS_NAME: _strings(tree.name[nodes]),
        schema.PROCESS_EXE: _strings(tree.exe[nodes]),
        schema.PROCESS_CMDLINE: from_rows(schema.PROCESS_CMDLINE),
        schema.USER_NAME: from_rows(schema.USER_NAME),
        schema.LOGIN_UID: ints_from_rows(schema.LOGIN_UID),
        schema.SESSION_ID: ints_from_rows(schema.SESSION_ID),
        schema.EVENT_ID: from_rows(schema.EVENT_ID),
    }


def process_tree(events: Any) -> pd.DataFrame:
    """Build the process tree of every host from the events alone.

    Parameters
    ----------
    events : pandas.DataFrame or pyarrow.Table
        Canonical events (:mod:`behavemodel.schema`). Uses process starts,
        clone/fork records, and the pid, parent pid and executable of every
        other event. Missing columns read as null.

    Returns
    -------
    pandas.DataFrame
        One row per process image (Arrow-backed dtypes), pre-log processes
        first, then in start order:

        - ``node``: row number, referenced by ``parent_node`` and ``exec_of``;
        - ``host_name``, ``process_pid``, ``parent_pid`` (null when unknown);
        - ``kind``: ``"exec"``, ``"fork"``, ``"running"`` (seen without a logged
          start) or ``"parent"`` (known only as a parent pid);
        - ``start_time`` (null when the start was not logged), ``first_seen``;
        - ``process_name``, ``process_exe`` (null: exe unknown),
          ``process_cmdline``, ``user_name``, ``login_uid``, ``session_id``;
        - ``parent_node``: the node that started this process (null when unknown);
        - ``exec_of``: the node of the same process this image replaced by exec
          (a fork copy or an earlier program), null when none;
        - ``event_id``: the event that started (or first showed) the image.

    See Also
    --------
    ancestry : Walk up the tree from any event.

    Examples
    --------
    A shell forks, the child runs ``dpkg``, which execs ``dpkg-query`` without
    forking; pid 200 (the shell) was running before the log began:

    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.investigate import process_tree
    >>> t = pd.Timestamp("2024-03-04T10:00:00Z")
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": [t, t + pd.Timedelta("1ms"), t + pd.Timedelta("5ms")],
    ...     "host_name": "web-01",
    ...     "event_type": ["other", "process_start", "process_start"],
    ...     "syscall": ["clone", "execve", "execve"],
    ...     "exit_code": [300, 0, 0],
    ...     "process_pid": [200, 300, 300], "parent_pid": [100, 200, 200],
    ...     "process_name": ["bash", "dpkg", "dpkg-query"],
    ...     "process_exe": ["/usr/bin/bash", "/usr/bin/dpkg", "/usr/bin/dpkg-query"],
    ...     "event_id": ["web-01:1.000:1", "web-01:1.001:2", "web-01:1.005:3"],
    ...     "source_format": "canonical"}), fill_missing=True)
    >>> tree = process_tree(events)
    >>> tree[["node", "process_pid", "kind", "process_name", "parent_node", "exec_of"]]
       node  process_pid     kind process_name  parent_node  exec_of
    0     0          100   parent         <NA>         <NA>     <NA>
    1     1          200  running         bash            0     <NA>
    2     2          300     fork         bash            1     <NA>
    3     3          300     exec         dpkg            1        2
    4     4          300     exec   dpkg-query            1        3
    """
    tree = _build(EventColumns(events, "process_tree"))
    nodes = np.arange(tree.size)
    columns = {"node": pa.array(nodes, pa.int64()), **_node_columns(tree, nodes)}
    columns["parent_node"] = _nullable(tree.parent, tree.parent < 0)
    columns["exec_of"] = _nullable(tree.exec_of, tree.exec_of < 0)
    return _to_frame(pa.table({c: columns[c] for c in TREE_COLUMNS}))


def _walk(tree: _Tree, start: np.ndarray, max_depth: int) -> tuple[np.ndarray, ...]:
    """Chains up from ``start`` nodes: (query, depth, node, relation) arrays and truncation."""
    parts: list[tuple[np.ndarray, ...]] = []
    current = start.copy()
    relation = np.full(len(start), SELF, np.int8)
    queries = np.arange(len(start))
    for depth in range(max_depth):
        live = current >= 0
        if not live.any():
            break
        parts.append((queries[live], np.full(live.sum(), depth), current[live], relation[live]))
        current, relation = tree.next_up(current)
    truncated = current >= 0
    if not parts:
        empty = np.empty(0, np.int64)
        return empty, empty, empty, empty, truncated
    q, d, n, r = (np.concatenate(p) for p in zip(*parts, strict=True))
    by = np.lexsort((d, q))
    return q[by], d[by], n[by], r[by], truncated


def _hosts_of(ev: EventColumns, event_ids: Sequence[str]) -> EventColumns:
    """Only the events of the hosts the asked events are on (trees are per host)."""
    asked = pc.is_in(ev.arrow(schema.EVENT_ID), value_set=pa.array(event_ids, pa.string()))
    host = ev.arrow(schema.HOST_NAME)
    keep = pc.is_in(host, value_set=pc.unique(host.filter(asked)), skip_nulls=False)
    if pc.all(keep).as_py() is not False:
        return ev
    return EventColumns(ev.table.filter(keep), ev.who)


def _ids(event_id: str | Sequence[str]) -> list[str]:
    return [event_id] if isinstance(event_id, str) else [str(e) for e in event_id]


def _check_depth(max_depth: int) -> int:
    if (
        not isinstance(max_depth, (int, np.integer))
        or isinstance(max_depth, bool)
        or max_depth < 1
    ):
        raise ValueError(
            f"The 'max_depth' parameter must be a positive integer. Got {max_depth!r} instead."
        )
    return int(max_depth)


def ancestry(events: Any, event_id: str | Sequence[str], *, max_depth: int = 64) -> pd.DataFrame:
    """Walk up from events to the first known ancestor of their process.

    Builds the tree once (:func:`process_tree`) and walks all the asked events
    together, so asking for many ids costs little more than asking for one.

    Parameters
    ----------
    events : pandas.DataFrame or pyarrow.Table
        Canonical events.
    event_id : str or sequence of str
        The ``event_id`` of any event with a process (a start, a connection, a
        file write, a login record...).
    max_depth : int, default 64
        Most nodes per chain.

    Returns
    -------
    pandas.DataFrame
        One row per (asked event, step up), ordered by ``query`` then ``depth``:
        ``query`` (the asked event id), ``depth`` (0 is the event's own process),
        ``relation`` (``"self"``; ``"exec"``: the same process before it exec'd
        the program one row up; ``"parent"``: the process that started the one
        one row up), ``node`` and the node's columns from :func:`process_tree`
        (``host_name``, ``process_pid``, ``parent_pid``, ``kind``, ``start_time``,
        ``process_name``, ``process_exe``, ``process_cmdline``, ``user_name``,
        ``event_id``). A chain ends at a process whose parent is unknown; a
        parent that never showed itself has ``kind == "parent"`` and, unless the
        source named it, a null ``process_exe``. Events without a pid have no rows.

    Raises
    ------
    EventNotFoundError
        When an id is not among the events.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.investigate import ancestry
    >>> t = pd.Timestamp("2024-03-04T10:00:00Z")
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": [t + pd.Timedelta(seconds=s) for s in range(4)],
    ...     "host_name": "mon-01",
    ...     "event_type": ["process_start"] * 3 + ["net_listen"],
    ...     "process_pid": [510, 511, 512, 512], "parent_pid": [400, 510, 511, 511],
    ...     "process_name": ["summary.cgi", "sh", "nc", "nc"],
    ...     "process_exe": ["/usr/lib/cgi-bin/nagios4/summary.cgi", "/usr/bin/bash",
    ...                     "/usr/bin/nc.traditional", "/usr/bin/nc.traditional"],
    ...     "parent_exe": ["/usr/sbin/apache2", None, None, None],
    ...     "event_id": [f"mon-01:{s}.000:{s}" for s in range(4)],
    ...     "source_format": "canonical"}), fill_missing=True)
    >>> chain = ancestry(events, "mon-01:3.000:3")
    >>> chain[["depth", "relation", "process_pid", "kind", "process_exe"]]
       depth relation  process_pid    kind                           process_exe
    0      0     self          512    exec               /usr/bin/nc.traditional
    1      1   parent          511    exec                         /usr/bin/bash
    2      2   parent          510    exec  /usr/lib/cgi-bin/nagios4/summary.cgi
    3      3   parent          400  parent                     /usr/sbin/apache2
    """
    ids = _ids(event_id)
    depth = _check_depth(max_depth)
    tree = _build(_hosts_of(EventColumns(events, "ancestry"), ids))
    rows = tree.rows_of(ids, missing_ok=False)
    q, d, n, r, _ = _walk(tree, tree.event_node[rows], depth)
    columns = {
        "query": _strings(np.asarray(ids, dtype=object)[q])
        if len(q)
        else pa.array([], pa.string()),
        "depth": pa.array(d, pa.int64()),
        "relation": _strings(_RELATION_NAMES[r]),
        "node": pa.array(n, pa.int64()),
        **_node_columns(tree, n),
    }
    return _to_frame(pa.table({c: columns[c] for c in ANCESTRY_COLUMNS}))


def _chain_strings(
    tree: _Tree, rows: np.ndarray, max_depth: int, separator: str
) -> list[str | None]:
    q, _, n, r, truncated = _walk(tree, pick(tree.event_node, rows), max_depth)
    labels = [
        display_name(name, exe) or f"pid {pid} (exe unknown)"
        for name, exe, pid in zip(tree.name[n], tree.exe[n], tree.pid[n], strict=True)
    ]
    out: list[str | None] = [None] * len(rows)
    bounds = np.searchsorted(q, np.arange(len(rows) + 1))
    for i in range(len(rows)):
        lo, hi = bounds[i], bounds[i + 1]
        if lo == hi:
            continue
        text = labels[hi - 1]
        for k in range(hi - 2, lo - 1, -1):  # oldest first
            joint = " => " if r[k + 1] == EXEC_OF else separator
            text = f"{text}{joint}{labels[k]}"
        out[i] = ("…" + separator + text) if truncated[i] else text
    return out


def ancestry_strings(
    events: Any,
    event_ids: Sequence[str | None],
    *,
    max_depth: int = 6,
    separator: str = " -> ",
) -> pd.Series:
    """Short ancestry of many events at once, oldest process first.

    ``a -> b``: ``a`` started ``b``; ``a => b``: the same process replaced
    program ``a`` by ``b`` (exec without fork). A parent whose program is
    unknown reads ``pid N (exe unknown)``; a chain cut at ``max_depth`` starts
    with ``…``.

    Parameters
    ----------
    events : pandas.DataFrame or pyarrow.Table
        Canonical events.
    event_ids : sequence of str or None
        Ids to describe; unknown ids and None give None (no error).
    max_depth : int, default 6
        Most processes per string.
    separator : str, default " -> "

    Returns
    -------
    pandas.Series
        Named ``"ancestry"``, aligned with ``event_ids``.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.investigate import ancestry_strings
    >>> t = pd.Timestamp("2024-03-04T10:00:00Z")
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": [t, t + pd.Timedelta("1s"), t + pd.Timedelta("2s")],
    ...     "event_type": ["process_start"] * 3, "host_name": "web-01",
    ...     "process_pid": [20, 21, 21], "parent_pid": [10, 20, 20],
    ...     "process_name": ["nrpe", "sh", "check_disk"],
    ...     "parent_name": ["systemd", None, None],
    ...     "event_id": ["a", "b", "c"], "source_format": "canonical"}), fill_missing=True)
    >>> ancestry_strings(events, ["c", "zzz"]).tolist()
    ['systemd -> nrpe -> sh => check_disk', None]
    """
    depth = _check_depth(max_depth)
    ids = [None if e is None else str(e) for e in event_ids]
    if not ids:
        return pd.Series([], dtype=object, name="ancestry")
    known = [e for e in ids if e is not None]
    tree = _build(_hosts_of(EventColumns(events, "ancestry_strings"), known))
    rows = np.full(len(ids), -1, np.int64)
    where = [i for i, e in enumerate(ids) if e is not None]
    if known:
        rows[where] = tree.rows_of(known, missing_ok=True)
    return pd.Series(_chain_strings(tree, rows, depth, separator), dtype=object, name="ancestry")


def alert_ancestry(events: Any, event_ids: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Ancestry strings for alert rows (null where the events cannot tell).

    Used by :meth:`BaselineDetector.explain <behavemodel.models.BaselineDetector.explain>`;
    events without a process id column give nulls.
    """
    ids = event_ids.to_pylist()
    if not ids or not any(ids):
        return pa.nulls(len(ids), pa.string())
    columns = (
        events.columns if isinstance(events, pd.DataFrame) else getattr(events, "column_names", ())
    )
    if schema.PROCESS_PID not in columns or schema.EVENT_ID not in columns:
        return pa.nulls(len(ids), pa.string())
    # Only the hosts with alerts matter: build their trees alone.
    return pa.array(ancestry_strings(events, ids).tolist(), pa.string())


@dataclass(frozen=True)
class AncestryReport:
    """Readable ancestry chains: the result of :func:`ancestry`, printed as trees.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows of :func:`ancestry`.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel.investigate import AncestryReport
    >>> frame = pd.DataFrame({
    ...     "query": ["e1", "e1"], "depth": [0, 1], "relation": ["self", "parent"],
    ...     "host_name": ["web-01", "web-01"], "process_pid": [21, 20],
    ...     "kind": ["exec", "running"],
    ...     "start_time": [pd.Timestamp("2024-03-04T10:00:01Z"), pd.NaT],
    ...     "process_name": ["sh", "nrpe"], "process_exe": ["/bin/dash", "/usr/sbin/nrpe"],
    ...     "process_cmdline": ["sh -c check_disk", None], "user_name": ["nagios", "nagios"]})
    >>> print(AncestryReport(frame))
    event e1 on web-01
      nrpe [20]        nagios  (before log)  /usr/sbin/nrpe
      └─ sh [21]       nagios  10:00:01.000  sh -c check_disk
    """

    frame: pd.DataFrame

    def to_text(self, cell: Cell = plain_text) -> str:
        """Render the chains, oldest process first; ``cell`` renders values from events."""
        lines: list[str] = []

        def show(value: object) -> str:
            value = _value(value)
            return "" if value is None else cell(value)

        if self.frame.empty:
            return "no process ancestry for these events"
        for query, chain in self.frame.groupby("query", sort=False):
            chain = chain.sort_values("depth", ascending=False)
            host = _value(chain["host_name"].iloc[0])
            lines.append(f"event {show(query)} on {show(host) if host else '(unknown host)'}")
            rows: list[list[str]] = []
            indent = ""
            relation_below = list(chain["relation"])[:-1]
            for i, rec in enumerate(chain.itertuples(index=False)):
                label = display_name(_value(rec.process_name), _value(rec.process_exe))
                head = f"{show(label) if label else 'exe unknown'} [{int(rec.process_pid)}]"
                if i > 0 and relation_below[i - 1] == "exec":
                    head = indent[:-3] + "=> " + head
                elif i > 0:
                    head = indent + "└─ " + head
                    indent += "   "
                started = _value(rec.start_time)
                when = (
                    "(before log)"
                    if started is None
                    else clock(int(pd.Timestamp(started).value // 1000))
                )
                command = _value(rec.process_cmdline) or _value(rec.process_exe)
                rows.append(
                    [head, show(rec.user_name), when, show(command) if command else "exe unknown"]
                )
            lines += format_rows(rows, indent="  ")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()
