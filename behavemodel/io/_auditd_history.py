"""Process history of an audit stream: parent_exe / parent_name from the log itself.

Events are matched to the latest earlier event of their parent pid with sorted
numpy arrays and Arrow ``take`` on the exe and comm columns, so no Python object
is made per row. For the tables that come later, each pid's last process is
remembered as the number of its (exe, comm) pair in a table of distinct pairs:
a table adds only the pairs it has not seen, and parents found there are taken
from that table as Arrow, not rebuilt from Python strings row by row.
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

    ``hosts[h]`` names host code ``h``; process ``keys[k]`` is the distinct
    (exe, comm) pair ``(exes[j], comms[j])`` with ``j = pairs[k]``: thousands
    of processes share a few pairs, which become Python objects once.
    """

    hosts: list[str | None]
    keys: np.ndarray
    exes: list[str | None]
    comms: list[str | None]
    pairs: np.ndarray


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


def _take_with_extra(column: pa.Array, index: np.ndarray, extra: pa.Array) -> pa.Array:
    """``column[index]`` (null where index < 0), index ``len(column) + j`` -> ``extra[j]``."""
    if len(extra):
        column = pa.concat_arrays([column, extra])
    return column.take(pa.array(index, pa.int64(), mask=index < 0))


#: Distinct (exe, comm) pairs kept beyond those still remembered before the pair
#: table is compacted (pairs of forgotten processes are dropped then).
_SPARE_PAIRS = 4096


class _DictKeys:
    """Remembered processes: key -> pair number, in a dict ordered by first insertion.

    With ``max_keys``, the dict is ordered by recency instead and the least
    recently seen keys are forgotten beyond ``max_keys``.
    """

    def __init__(self, max_keys: int | None) -> None:
        self._dict: dict[int, int] = {}
        self._max = max_keys

    def __len__(self) -> int:
        return len(self._dict)

    def get(self, keys: np.ndarray) -> np.ndarray:
        """The pair number of each key (-1: not remembered)."""
        found = map(self._dict.get, keys.tolist(), itertools.repeat(-1))
        return np.fromiter(found, np.int64, count=len(keys))

    def put(self, keys: list[int] | np.ndarray, ids: list[int] | np.ndarray) -> None:
        """Remember ``keys[k]`` as ``ids[k]`` (later ones win)."""
        if isinstance(keys, np.ndarray):  # Python ints: numpy scalars hash slowly
            keys = keys.tolist()
        if isinstance(ids, np.ndarray):
            ids = ids.tolist()
        last = self._dict
        if self._max is not None:
            for key in keys:  # re-insert so the dict stays ordered by recency
                last.pop(key, None)
        last.update(zip(keys, ids, strict=True))
        if self._max is not None:
            excess = len(last) - self._max
            if excess > 0:
                for key in list(itertools.islice(last, excess)):
                    del last[key]

    def items(self) -> tuple[list[int], list[int]]:
        """(keys, pair numbers) in the dict's order."""
        return list(self._dict), list(self._dict.values())

    def renumber(self, new_id: np.ndarray) -> None:
        """Pair number ``i`` becomes ``new_id[i]`` (the order stays)."""
        keys, ids = self.items()
        self._dict.update(zip(keys, new_id[ids].tolist(), strict=True))


class _CompiledKeys:
    """:class:`_DictKeys` without a bound, as a compiled open-addressing map.

    A table remembers thousands of processes: numpy keys go in and out without
    a Python int per key. ``_order`` numbers the keys by first insertion, so
    :meth:`items` gives a dict's order.
    """

    def __init__(self) -> None:
        self._keys = np.zeros(0, np.int64)
        self._values = np.zeros(0, np.int64)  # -1: an empty slot
        self._order = np.zeros(0, np.int64)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def get(self, keys: np.ndarray) -> np.ndarray:
        """The pair number of each key (-1: not remembered)."""
        return _scanner().map_get(self._keys, self._values, keys)  # type: ignore[no-any-return]

    def put(self, keys: list[int] | np.ndarray, ids: list[int] | np.ndarray) -> None:
        """Remember ``keys[k]`` as ``ids[k]`` (later ones win)."""
        keys = np.asarray(keys, np.int64)
        ids = np.asarray(ids, np.int64)
        n = _scanner().map_put(self._keys, self._values, self._order, keys, ids, self._n)
        if n < 0:  # too full: a map four times the keys, then the new ones
            self._grow(4 * (self._n + len(keys)))
            n = _scanner().map_put(self._keys, self._values, self._order, keys, ids, self._n)
        self._n = n

    def _grow(self, room: int) -> None:
        size = 1024
        while size < room:
            size *= 2
        keys, ids = self.items()
        self._keys = np.zeros(size, np.int64)
        self._values = np.full(size, -1, np.int64)
        self._order = np.zeros(size, np.int64)
        self._n = _scanner().map_put(self._keys, self._values, self._order, keys, ids, 0)

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """(keys, pair numbers) in order of first insertion."""
        occupied = np.flatnonzero(self._values >= 0)
        occupied = occupied[np.argsort(self._order[occupied])]
        return self._keys[occupied], self._values[occupied]

    def renumber(self, new_id: np.ndarray) -> None:
        """Pair number ``i`` becomes ``new_id[i]`` (the order stays)."""
        occupied = self._values >= 0
        self._values[occupied] = new_id[self._values[occupied]]


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
        #: key -> number of the process's (exe, comm) pair in ``_exes`` / ``_comms``
        self._last: _DictKeys | _CompiledKeys = (
            _CompiledKeys()
            if max_processes is None and _scanner() is not None
            else _DictKeys(max_processes)
        )
        self._exes: list[str | None] = []
        self._comms: list[str | None] = []
        self._pair_ids: dict[Remembered, int] = {}
        self._pair_arrays: tuple[pa.Array, pa.Array] | None = None  # the pairs as Arrow
        self._max = max_processes

    def _pair_id(self, exe: str | None, comm: str | None) -> int:
        """The number of pair (exe, comm), added to the pair table if new."""
        pair_id = self._pair_ids.get((exe, comm))
        if pair_id is None:
            pair_id = self._pair_ids[(exe, comm)] = len(self._exes)
            self._exes.append(exe)
            self._comms.append(comm)
            self._pair_arrays = None
        return pair_id

    def _pairs(self) -> tuple[pa.Array, pa.Array]:
        """The pair table as Arrow (exes, comms), made again only after it grew."""
        if self._pair_arrays is None:
            self._pair_arrays = (
                pa.array(self._exes, pa.string()),
                pa.array(self._comms, pa.string()),
            )
        return self._pair_arrays

    def _remember(self, keys: list[int] | np.ndarray, pair_ids: list[int] | np.ndarray) -> None:
        self._last.put(keys, pair_ids)
        if len(self._exes) > 2 * len(self._last) + _SPARE_PAIRS:
            self._compact()

    def _compact(self) -> None:
        """Keep only the pairs of remembered processes (memory stays bounded)."""
        _keys, ids = self._last.items()
        used = np.unique(np.asarray(ids, np.int64))
        new_id = np.full(len(self._exes), -1, np.int64)
        new_id[used] = np.arange(len(used))
        self._exes = [self._exes[i] for i in used.tolist()]
        self._comms = [self._comms[i] for i in used.tolist()]
        self._pair_ids = {
            pair: k for k, pair in enumerate(zip(self._exes, self._comms, strict=True))
        }
        self._pair_arrays = None
        self._last.renumber(new_id)

    def _remember_rows(self, keys: np.ndarray, exe: pa.Array, comm: pa.Array) -> None:
        """Remember process ``keys[j]`` as (``exe[j]``, ``comm[j]``), later rows winning.

        Each distinct pair of the table becomes Python data once, not each row.
        """
        exe_coded = exe.dictionary_encode()
        comm_coded = comm.dictionary_encode()
        exe_names = [*exe_coded.dictionary.to_pylist(), None]
        comm_names = [*comm_coded.dictionary.to_pylist(), None]
        exe_codes = exe_coded.indices.fill_null(len(exe_names) - 1).to_numpy()
        comm_codes = comm_coded.indices.fill_null(len(comm_names) - 1).to_numpy()
        pairs = exe_codes.astype(np.int64) * len(comm_names) + comm_codes
        distinct, inverse = np.unique(pairs, return_inverse=True)
        width = len(comm_names)
        ids = np.array(
            [
                self._pair_id(exe_names[p // width], comm_names[p % width])
                for p in distinct.tolist()
            ],
            np.int64,
        )
        self._remember(keys, ids[inverse])

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

    def _lookup(self, keys: np.ndarray) -> tuple[np.ndarray, pa.Array, pa.Array]:
        """Remembered processes of ``keys``: (hit mask, their exes, their comms) as Arrow."""
        ids = self._last.get(keys)
        found = ids >= 0
        exes, comms = self._pairs()
        take = pa.array(ids[found], pa.int64())
        return found, exes.take(take), comms.take(take)

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
        extra_exe = extra_comm = pa.array([], pa.string())
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
            take = pa.array(rows[last_pos], pa.int64())
            self._remember_rows(row_keys[last_pos], exe.take(take), comm.take(take))
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
        exes, comms = self._exes, self._comms
        keys, ids = self._last.items()
        return [
            (names[key >> 32], key & 0xFFFFFFFF, exes[pair_id], comms[pair_id])
            for key, pair_id in zip(
                np.asarray(keys).tolist(), np.asarray(ids).tolist(), strict=True
            )
        ]

    def export_arrays(self) -> HistoryState:
        """Like :meth:`export_state`, in bulk (cheap to pickle and to merge)."""
        hosts: list[str | None] = [None] * len(self._host_codes)
        for host, code in self._host_codes.items():
            hosts[code] = host
        keys, ids = self._last.items()
        used, pairs = np.unique(np.asarray(ids, np.int64), return_inverse=True)
        used_list = used.tolist()
        return HistoryState(
            hosts,
            np.asarray(keys, np.int64),
            [self._exes[i] for i in used_list],
            [self._comms[i] for i in used_list],
            pairs.astype(np.int64).reshape(-1),
        )

    def merge_arrays(self, state: HistoryState) -> None:
        """Like :meth:`merge_state`, from :meth:`export_arrays`."""
        codes = self._host_codes
        mapping = np.array(
            [codes.setdefault(host, len(codes)) for host in state.hosts] + [0], np.int64
        )
        keys = (mapping[state.keys >> 32] << 32) | (state.keys & 0xFFFFFFFF)
        local = map(self._pair_id, state.exes, state.comms)  # each distinct pair once
        pair_ids = np.fromiter(local, np.int64, count=len(state.exes))[state.pairs]
        self._remember(keys, pair_ids)

    def merge_state(self, rows: list[StateRow]) -> None:
        """Overlay processes remembered elsewhere (they are more recent)."""
        codes = self._host_codes
        keys = [(codes.setdefault(host, len(codes)) << 32) | pid for host, pid, _, _ in rows]
        self._remember(keys, [self._pair_id(exe, comm) for _, _, exe, comm in rows])


def _with_parents(table: pa.Table, parent_exe: pa.Array, parent_name: pa.Array) -> pa.Table:
    idx = table.column_names.index(s.PARENT_EXE)
    table = table.set_column(idx, s.PARENT_EXE, parent_exe)
    idx = table.column_names.index(s.PARENT_NAME)
    return table.set_column(idx, s.PARENT_NAME, parent_name)
