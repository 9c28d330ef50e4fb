"""Process history of an audit stream: parent_exe / parent_name from the log itself.

Events are matched to the latest earlier event of their parent pid with sorted
numpy arrays and Arrow ``take`` on the exe and comm columns, so no Python object
is made per row: only the last process of each pid is kept as Python data, for
the tables that come later.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from behavemodel import schema as s
from behavemodel.io._auditd_front import _scanner

__all__ = ["HistoryState", "ProcessHistory", "latest_earlier"]

Remembered = tuple[str | None, str | None]
StateRow = tuple[str | None, int, str | None, str | None]


@dataclass
class HistoryState:
    """Remembered processes in bulk, for another process: key ``host << 32 | pid``.

    ``hosts[h]`` names host code ``h``; ``exes`` and ``comms`` follow ``keys``.
    """

    hosts: list[str | None]
    keys: np.ndarray
    exes: list[str | None]
    comms: list[str | None]


def latest_earlier(
    hist_keys: np.ndarray, hist_order: np.ndarray, query_keys: np.ndarray, query_order: np.ndarray
) -> np.ndarray:
    """For each query, the position in ``hist_*`` of the latest strictly earlier equal key.

    ``hist_order`` must be increasing. Returns -1 where no history entry has the
    query's key at an order below the query's.

    Examples
    --------
    >>> latest_earlier(np.array([5, 7, 5]), np.array([0, 1, 2]),
    ...                np.array([5, 5, 7, 9]), np.array([2, 3, 1, 4])).tolist()
    [0, 2, -1, -1]
    """
    if len(query_keys) == 0 or len(hist_keys) == 0:
        return np.full(len(query_keys), -1, np.int64)
    # Small codes of the keys (any one-to-one numbering groups the same) make one
    # sortable int64 composite (code, order).
    inverse, _ = pd.factorize(np.concatenate([hist_keys, query_keys]))
    inverse = inverse.astype(np.int64)
    n_h = len(hist_keys)
    h_rank, q_rank = inverse[:n_h], inverse[n_h:]
    span = int(max(hist_order.max(initial=0), query_order.max(initial=0))) + 2
    h_comp = h_rank * span + hist_order
    sort = np.argsort(h_comp, kind="stable")
    h_sorted = h_comp[sort]
    q_comp = q_rank * span + query_order
    pos = np.searchsorted(h_sorted, q_comp, side="left") - 1
    found = pos >= 0
    found[found] = (h_sorted[pos[found]] // span) == q_rank[found]
    out = np.full(len(query_keys), -1, np.int64)
    out[found] = sort[pos[found]]
    return out


def _parents_and_last_rows(
    row_keys: np.ndarray, rows: np.ndarray, query_keys: np.ndarray, queries: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`latest_earlier` of the queries, and the last row of each key (sorted).

    Compiled in one pass when numba is there.
    """
    scan = _scanner()
    if scan is not None:
        return scan.latest_rows(row_keys, rows, query_keys, queries)  # type: ignore[no-any-return]
    match = latest_earlier(row_keys, rows, query_keys, queries)
    _, rev_first = np.unique(row_keys[::-1], return_index=True)
    return match, np.sort(len(rows) - 1 - rev_first)


def _take_with_extra(column: pa.Array, index: np.ndarray, extra: list[str | None]) -> pa.Array:
    """``column[index]`` (null where index < 0), index ``len(column) + j`` -> ``extra[j]``."""
    if extra:
        column = pa.concat_arrays([column, pa.array(extra, pa.string())])
    return column.take(pa.array(index, pa.int64(), mask=index < 0))


class ProcessHistory:
    """parent_exe / parent_name from the log's own history: (host, pid) -> last exe seen.

    Within a table, each event's parent is the latest earlier event of the
    parent pid on the same host (in log order); before that, the last process
    seen with that pid in earlier tables. A reused pid therefore maps to
    whichever process held it most recently.
    """

    def __init__(self, stream_name: str, max_processes: int | None = None) -> None:
        self._stream = stream_name
        self._host_codes: dict[str | None, int] = {}
        self._last: dict[int, Remembered] = {}
        self._max = max_processes

    def _remember(self, keys: list[int], values: list[Remembered]) -> None:
        last = self._last
        if self._max is None:
            last.update(zip(keys, values, strict=True))
            return
        for key in keys:  # re-insert so the dict stays ordered by recency
            last.pop(key, None)
        last.update(zip(keys, values, strict=True))
        excess = len(last) - self._max
        if excess > 0:
            for key in list(itertools.islice(last, excess)):
                del last[key]

    def _host_keys(self, table: pa.Table) -> np.ndarray:
        encoded = table.column(s.HOST_NAME).combine_chunks().dictionary_encode()
        names = encoded.dictionary.to_pylist()
        mapping = np.array(
            [self._host_codes.setdefault(h, len(self._host_codes)) for h in names] + [-1],
            dtype=np.int64,
        )
        if None not in self._host_codes:
            self._host_codes[None] = len(self._host_codes)
        indices = encoded.indices.fill_null(len(names)).to_numpy()
        codes = mapping[indices]
        codes[codes < 0] = self._host_codes[None]
        return codes << 32

    def _lookup(self, keys: np.ndarray) -> tuple[np.ndarray, list[str | None], list[str | None]]:
        """Remembered processes of ``keys``: (hit mask, their exes, their comms)."""
        hits = list(map(self._last.get, keys.tolist()))
        found = np.array([h is not None for h in hits], dtype=bool)
        remembered = [h for h in hits if h is not None]
        exes = [h[0] for h in remembered]
        comms = [h[1] for h in remembered]
        return found, exes, comms

    def apply(self, table: pa.Table) -> pa.Table:
        """Fill parent_exe / parent_name and remember this table's processes."""
        table, _missing = self.apply_local(table)
        return table

    def apply_local(self, table: pa.Table) -> tuple[pa.Table, np.ndarray]:
        """Like :meth:`apply`; also return the rows whose parent is still unknown."""
        n = table.num_rows
        if n == 0:
            return table, np.zeros(0, np.int64)
        host = self._host_keys(table)
        pid = table.column(s.PROCESS_PID).combine_chunks()
        ppid = table.column(s.PARENT_PID).combine_chunks()
        exe = table.column(s.PROCESS_EXE).combine_chunks()
        comm = table.column(s.PROCESS_NAME).combine_chunks()
        pid_v = pid.fill_null(-1).to_numpy() & 0xFFFFFFFF
        ppid_v = ppid.fill_null(-1).to_numpy() & 0xFFFFFFFF
        has_exe = exe.is_valid().to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(pid.is_valid().to_numpy(zero_copy_only=False) & has_exe)
        queries = np.flatnonzero(ppid.is_valid().to_numpy(zero_copy_only=False))
        row_keys = host[rows] | pid_v[rows]
        source = np.full(n, -1, np.int64)
        missing = np.zeros(0, np.int64)
        extra_exe: list[str | None] = []
        extra_comm: list[str | None] = []
        match, last_pos = _parents_and_last_rows(
            row_keys, rows, host[queries] | ppid_v[queries], queries
        )
        if len(queries):
            found = match >= 0
            source[queries[found]] = rows[match[found]]
            missing = queries[~found]
            if len(missing) and self._last:
                hit, extra_exe, extra_comm = self._lookup(host[missing] | ppid_v[missing])
                source[missing[hit]] = n + np.arange(len(extra_exe))
                missing = missing[~hit]
        if len(rows):
            last_rows = rows[last_pos]
            take = pa.array(last_rows, pa.int64())
            self._remember(
                row_keys[last_pos].tolist(),
                list(zip(exe.take(take).to_pylist(), comm.take(take).to_pylist(), strict=True)),
            )
        parent_exe = _take_with_extra(exe, source, extra_exe)
        parent_name = _take_with_extra(comm, source, extra_comm)
        return _with_parents(table, parent_exe, parent_name), missing

    def fill_missing(self, table: pa.Table, missing: np.ndarray) -> pa.Table:
        """Resolve rows another process could not, from this history's state."""
        if len(missing) == 0 or not self._last:
            return table
        host = self._host_keys(table)[missing]
        ppid = table.column(s.PARENT_PID).combine_chunks().take(pa.array(missing))
        hit, exes, comms = self._lookup(host | (ppid.to_numpy() & 0xFFFFFFFF))
        if not hit.any():
            return table
        n = table.num_rows
        index = np.arange(n, dtype=np.int64)
        index[missing[hit]] = n + np.arange(len(exes))
        parent_exe = _take_with_extra(table.column(s.PARENT_EXE).combine_chunks(), index, exes)
        parent_name = _take_with_extra(table.column(s.PARENT_NAME).combine_chunks(), index, comms)
        return _with_parents(table, parent_exe, parent_name)

    def export_state(self) -> list[StateRow]:
        """The remembered processes as (host, pid, exe, comm), for another process."""
        names = {code: host for host, code in self._host_codes.items()}
        return [
            (names[key >> 32], key & 0xFFFFFFFF, exe, comm)
            for key, (exe, comm) in self._last.items()
        ]

    def export_arrays(self) -> HistoryState:
        """Like :meth:`export_state`, in bulk (cheap to pickle and to merge)."""
        hosts: list[str | None] = [None] * len(self._host_codes)
        for host, code in self._host_codes.items():
            hosts[code] = host
        keys = np.fromiter(self._last.keys(), np.int64, count=len(self._last))
        values = list(self._last.values())
        return HistoryState(hosts, keys, [v[0] for v in values], [v[1] for v in values])

    def merge_arrays(self, state: HistoryState) -> None:
        """Like :meth:`merge_state`, from :meth:`export_arrays`."""
        codes = self._host_codes
        mapping = np.array(
            [codes.setdefault(host, len(codes)) for host in state.hosts] + [0], np.int64
        )
        keys = (mapping[state.keys >> 32] << 32) | (state.keys & 0xFFFFFFFF)
        self._remember(keys.tolist(), list(zip(state.exes, state.comms, strict=True)))

    def merge_state(self, rows: list[StateRow]) -> None:
        """Overlay processes remembered elsewhere (they are more recent)."""
        codes = self._host_codes
        keys = [(codes.setdefault(host, len(codes)) << 32) | pid for host, pid, _, _ in rows]
        self._remember(keys, [(exe, comm) for _, _, exe, comm in rows])


def _with_parents(table: pa.Table, parent_exe: pa.Array, parent_name: pa.Array) -> pa.Table:
    idx = table.column_names.index(s.PARENT_EXE)
    table = table.set_column(idx, s.PARENT_EXE, parent_exe)
    idx = table.column_names.index(s.PARENT_NAME)
    return table.set_column(idx, s.PARENT_NAME, parent_name)
