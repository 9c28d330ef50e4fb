"""Turn the engine's rows into canonical events, writer extras and labels.

Serial numbers are handed out per host in time order (with small gaps, as the
kernel also numbers events the rules do not keep), event ids follow the
``host:seconds.millis:serial`` convention of the audit reader, syscall names take
the host's architecture into account, and command lines are computed exactly as
the reader will see them: ``shlex.join`` of the EXECVE argv for process starts,
of the (128-byte truncated) PROCTITLE for other syscalls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel import schema as s
from behavemodel.datasets import _catalog as cat
from behavemodel.datasets._plan import FleetPlan
from behavemodel.datasets._strings import by_unique, shlex_join_nul, truncate_proctitle

__all__ = ["ACCOUNT_RECORDS", "EXTRA_COLUMNS", "LABEL_SCHEMA", "Finalizer"]

#: User-space records about an account (their user is ``id=``/``acct=``).
ACCOUNT_RECORDS = (
    "USER_LOGIN", "USER_LOGOUT", "USER_START", "USER_END", "USER_ACCT", "USER_AUTH", "USER_ERR",
    "USER_CHAUTHTOK", "CRED_ACQ", "CRED_DISP", "CRED_REFR", "USER_ROLE_CHANGE",
)  # fmt: skip

LABEL_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("scenario", pa.string(), nullable=False),
        pa.field("step", pa.string(), nullable=False),
    ]
)

#: Private columns the audit-log writer uses when present (see ``render_auditd``).
EXTRA_COLUMNS = pa.schema(
    [
        pa.field("_argv", pa.dictionary(pa.int32(), pa.string())),
        pa.field("_path0", pa.string()),
        pa.field("_interp", pa.string()),
        pa.field("_name", pa.string()),
        pa.field("_old_name", pa.string()),
        pa.field("_nametype", pa.string()),
        pa.field("_flags", pa.int64()),
        pa.field("_mode", pa.int64()),
        pa.field("_uid", pa.int64()),
        pa.field("_gid", pa.int64()),
        pa.field("_euid", pa.int64()),
        pa.field("_uname", pa.string()),
        pa.field("_gname", pa.string()),
        pa.field("_euname", pa.string()),
        pa.field("_acct", pa.string()),
        pa.field("_terminal", pa.string()),
        pa.field("_op", pa.string()),
        pa.field("_arch", pa.string()),
    ]
)


@dataclass
class Finalized:
    events: pa.Table
    extras: pa.Table
    labels: pa.Table


def _chunk(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _merge_dictionaries(use_first: np.ndarray, a: pa.Array, b: pa.Array) -> pa.Array:
    """Row-wise choice between two dictionary arrays, as one dictionary array."""
    values = pa.concat_arrays([a.dictionary, b.dictionary])
    ia = a.indices.fill_null(-1).to_numpy()
    ib = b.indices.fill_null(-1).to_numpy()
    idx = np.where(use_first, ia, np.where(ib >= 0, ib + len(a.dictionary), -1))
    return pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32), mask=idx < 0), values)


def _dict(arr: pa.Array) -> pa.Array:
    return pc.dictionary_encode(arr).cast(pa.dictionary(pa.int32(), pa.string()))


class Finalizer:
    """Stateful across windows: per-host serial counters."""

    def __init__(self, plan: FleetPlan, serials: np.ndarray, rng: np.random.Generator) -> None:
        self.plan = plan
        self.serial = serials
        self.rng = rng
        hosts = plan.hosts
        self.host_names = pa.array([h.name for h in hosts], pa.string())
        self.host_groups = pa.array([h.group for h in hosts], pa.string())
        self.host_arch = np.array([h.arch for h in hosts])
        self.arch_names = pa.array([h.arch for h in hosts], pa.string())
        self.uids = np.array([u.uid for u in cat.USERS], np.int64)
        self.gids = np.array([u.gid for u in cat.USERS], np.int64)
        self.unames = pa.array([u.name for u in cat.USERS], pa.string())
        self.gnames = pa.array([u.group for u in cat.USERS], pa.string())
        self.uid_to_index = {u.uid: i for i, u in enumerate(cat.USERS)}
        self.history = ProcessHistory()
        self.keep_truth = False

    def __call__(self, rows: pa.Table) -> Finalized:
        n = rows.num_rows
        col = rows.column
        host = col("host").to_numpy()
        t = col("t").to_numpy()

        # serials: per host, increasing in row order, with small gaps
        order = np.argsort(host, kind="stable")
        hs = host[order]
        inc = 1 + (self.rng.random(n) < 0.15).astype(np.int64) * self.rng.integers(1, 4, n)
        cum = np.cumsum(inc)
        starts = np.flatnonzero(np.r_[True, hs[1:] != hs[:-1]]) if n else np.zeros(0, np.int64)
        group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))
        before_group = np.r_[0, cum][starts][group] if n else np.zeros(0, np.int64)
        serial_sorted = self.serial[hs] + (cum - before_group)
        if n:
            ends = np.r_[starts[1:], n] - 1
            self.serial[hs[starts]] = serial_sorted[ends]
        serial = np.empty(n, np.int64)
        serial[order] = serial_sorted

        names = self.host_names.take(pa.array(host))
        sec = pc.cast(pa.array(t // 1000), pa.string())
        ms = pc.utf8_lpad(pc.cast(pa.array(t % 1000), pa.string()), 3, "0")
        event_id = pc.binary_join_element_wise(
            names, ":", sec, ".", ms, ":", pc.cast(pa.array(serial), pa.string()), ""
        )

        record = col("record_type")
        is_user = pc.not_equal(record, "SYSCALL").to_numpy(zero_copy_only=False)
        event_type = col("event_type")
        is_exec = pc.equal(event_type, "process_start").to_numpy(zero_copy_only=False)

        # syscall names by architecture
        syscall = col("syscall")
        arch = self.host_arch[host]
        if (arch == "aarch64").any():
            mapped = syscall
            for old, new in cat.AARCH64_EQUIVALENT.items():
                hit = pc.and_(pc.equal(mapped, old), pa.array(arch == "aarch64"))
                mapped = pc.if_else(hit, new, mapped)
            syscall = mapped

        # command lines as the reader sees them (argv and titles are dictionary-encoded:
        # each distinct one is quoted once)
        argv0 = _chunk(col("argv0"))
        title0 = _chunk(col("title0"))
        exec_mask = pa.array(is_exec)
        joined_exec = by_unique(argv0, shlex_join_nul)
        joined_title = by_unique(
            title0, lambda u: shlex_join_nul(truncate_proctitle(pc.fill_null(u, "")))
        )
        cmdline = pc.if_else(exec_mask, joined_exec, joined_title)
        has_title = pc.invert(pc.is_null(title0))
        source = pc.if_else(
            exec_mask, "execve", pc.if_else(has_title, "proctitle", pa.scalar(None, pa.string()))
        )
        source = pc.if_else(pc.is_null(cmdline), pa.scalar(None, pa.string()), source)
        argv_extra = _merge_dictionaries(is_exec, argv0, title0)

        user = col("user").to_numpy(zero_copy_only=False)
        id_user = col("id_user")
        id_ok = ~np.asarray(id_user.is_null())
        who = np.where(id_ok, id_user.fill_null(0).to_numpy(), user)
        # Account records (PAM, logins) name the account acted on: id= when present,
        # else acct= with the uid unknown; other records the uid of the process.
        is_account = np.isin(record.to_numpy(zero_copy_only=False).astype(str), ACCOUNT_RECORDS)
        acct = col("acct")
        by_acct = is_account & ~id_ok & ~np.asarray(pc.is_null(acct))
        user_uid = pa.array(self.uids[who], pa.int64(), mask=by_acct)
        user_name = pc.if_else(pa.array(by_acct), acct, self.unames.take(pa.array(who)))
        auid = col("auid").fill_null(-1).to_numpy()
        uniq, inv = np.unique(auid, return_inverse=True)
        auid_idx = np.array([self.uid_to_index.get(int(a), -1) for a in uniq], np.int64)
        ai = auid_idx[inv]
        login_name = self.unames.take(pa.array(np.maximum(ai, 0), mask=ai < 0))
        login_uid = pa.array(auid, pa.int64(), mask=auid < 0)
        ses = col("ses").fill_null(-1).to_numpy()
        session_id = pa.array(ses, pa.int64(), mask=ses < 0)

        terminal = col("terminal")
        term_tty = pc.replace_substring_regex(terminal, r"^/dev/", "")
        term_tty = pc.replace_substring(term_tty, "/", "")
        term_tty = pc.if_else(pc.equal(term_tty, "?"), pa.nulls(n, pa.string()), term_tty)
        tty = pc.if_else(pa.array(is_user), term_tty, col("tty"))

        src_ip = col("src_ip")
        src_ip = pc.if_else(
            pc.and_(pa.array(is_user), pc.equal(src_ip, "?")), pa.nulls(n, pa.string()), src_ip
        )
        success = col("success").to_numpy(zero_copy_only=False)
        succ = pa.array(
            success == 1,
            pa.bool_(),
            mask=pc.is_null(col("success")).to_numpy(zero_copy_only=False),
        )

        def int32(name: str) -> pa.Array:
            return pc.cast(col(name), pa.int32())

        ppid = col("ppid")
        pexe, pcomm = self.history.parents(host, col("pid"), ppid, col("exe"), col("comm"))
        cols = {
            s.TIME: pa.array(t * 1000, pa.timestamp("us", tz="UTC")),
            s.HOST_NAME: names,
            s.HOST_GROUP: self.host_groups.take(pa.array(host)),
            s.EVENT_TYPE: _dict(event_type),
            s.RECORD_TYPE: _dict(record),
            s.SYSCALL: syscall,
            s.SUCCESS: succ,
            s.EXIT_CODE: col("exit"),
            s.PROCESS_PID: col("pid"),
            s.PARENT_PID: ppid,
            s.PROCESS_NAME: col("comm"),
            s.PROCESS_EXE: col("exe"),
            s.PROCESS_CMDLINE: cmdline,
            s.CMDLINE_SOURCE: _dict(source),
            s.PARENT_EXE: pexe,
            s.PARENT_NAME: pcomm,
            s.USER_NAME: user_name,
            s.USER_UID: user_uid,
            s.LOGIN_UID: login_uid,
            s.LOGIN_NAME: login_name,
            s.SESSION_ID: session_id,
            s.TTY: tty,
            s.CWD: col("cwd"),
            s.FILE_PATH: col("file_path"),
            s.SRC_IP: src_ip,
            s.SRC_PORT: int32("src_port"),
            s.DST_IP: col("dst_ip"),
            s.DST_PORT: int32("dst_port"),
            s.NET_FAMILY: _dict(col("family")),
            s.NET_DIRECTION: _dict(col("direction")),
            s.CONTAINER_ID: col("container"),
            s.AUDIT_KEY: col("key"),
            s.EVENT_ID: event_id,
            s.SOURCE_FORMAT: pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n, np.int32)), pa.array(["canonical"])
            ),
        }
        events = pa.Table.from_pydict(
            {
                k: v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v
                for k, v in cols.items()
            },
            schema=s.CANONICAL_SCHEMA,
        )

        euser = col("euser").fill_null(0).to_numpy()
        extras = pa.table(
            {
                "_argv": argv_extra,
                "_path0": col("path0"),
                "_interp": col("interp"),
                "_name": col("name"),
                "_old_name": col("old_name"),
                "_nametype": col("nametype"),
                "_flags": col("flags"),
                "_mode": col("mode"),
                "_uid": pa.array(self.uids[user], pa.int64()),
                "_gid": pa.array(self.gids[user], pa.int64()),
                "_euid": pa.array(self.uids[euser], pa.int64()),
                "_uname": self.unames.take(pa.array(user)),
                "_gname": self.gnames.take(pa.array(user)),
                "_euname": self.unames.take(pa.array(euser)),
                "_acct": col("acct"),
                "_terminal": terminal,
                "_op": col("op"),
                "_arch": self.arch_names.take(pa.array(host)),
            },
            schema=EXTRA_COLUMNS,
        )
        if self.keep_truth:
            extras = extras.append_column("_true_parent_exe", col("pexe")).append_column(
                "_true_parent_name", col("pcomm")
            )

        scen = col("scenario")
        has_label = np.flatnonzero(~np.asarray(pc.is_null(scen)))
        labels = pa.table(
            {
                "event_id": event_id.take(pa.array(has_label)),
                "scenario": scen.take(pa.array(has_label)),
                "step": pc.fill_null(col("step").take(pa.array(has_label)), "activity"),
            },
            schema=LABEL_SCHEMA,
        )
        return Finalized(events, extras, labels)


class ProcessHistory:
    """``parent_exe``/``parent_name`` as a reader derives them from the log itself.

    For an event with a parent pid, the parent is the exe and comm of the last
    earlier event of that pid on the same host that had an exe (pid reuse is
    therefore handled: a later process with the same pid replaces the earlier
    one). Null when the log never showed the parent.

    Across batches the last (exe, comm) of every (host, pid) is kept in pages of
    4096 pids, allocated on first use, so updates and lookups cost the batch size
    whatever the length of the simulation.
    """

    PAGE_BITS = 12

    def __init__(self) -> None:
        self.vocab: dict[str | None, int] = {None: -1}
        self.values: list[str | None] = []
        self.page_slot: dict[int, int] = {}
        size = 1 << self.PAGE_BITS
        self.exe = np.full((16, size), -1, np.int32)
        self.comm = np.full((16, size), -1, np.int32)

    def _codes(self, arr: pa.Array) -> np.ndarray:
        arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        enc = pc.dictionary_encode(arr)
        dictionary = enc.dictionary.to_pylist()
        mapping = np.empty(len(dictionary) + 1, np.int64)
        for i, v in enumerate(dictionary):
            code = self.vocab.get(v)
            if code is None:
                code = len(self.values)
                self.vocab[v] = code
                self.values.append(v)
            mapping[i] = code
        mapping[-1] = -1
        idx = enc.indices.fill_null(len(dictionary)).to_numpy()
        return mapping[idx]

    def _strings(self, codes: np.ndarray) -> pa.Array:
        vocab = pa.array(self.values, pa.string())
        return vocab.take(pa.array(codes, mask=codes < 0))

    def _slots(self, pages: np.ndarray, create: bool) -> np.ndarray:
        uniq, inverse = np.unique(pages, return_inverse=True)
        slots = np.empty(len(uniq), np.int64)
        for i, page in enumerate(uniq.tolist()):
            slot = self.page_slot.get(page)
            if slot is None:
                if not create:
                    slots[i] = -1
                    continue
                slot = len(self.page_slot)
                self.page_slot[page] = slot
                if slot >= len(self.exe):
                    grow = np.full_like(self.exe, -1)
                    self.exe = np.concatenate([self.exe, grow])
                    self.comm = np.concatenate([self.comm, grow.copy()])
            slots[i] = slot
        return slots[inverse]

    def parents(
        self, host: np.ndarray, pid: pa.Array, ppid: pa.Array, exe: pa.Array, comm: pa.Array
    ) -> tuple[pa.Array, pa.Array]:
        n = len(host)
        if n == 0:
            return pa.nulls(0, pa.string()), pa.nulls(0, pa.string())
        exe_c = self._codes(exe)
        comm_c = self._codes(comm)
        pid_ok = ~np.asarray(pc.is_null(pid))
        pid_v = pc.fill_null(pid, 0).to_numpy()
        ppid_ok = ~np.asarray(pc.is_null(ppid)) & (pc.fill_null(ppid, 0).to_numpy() > 0)
        ppid_v = pc.fill_null(ppid, 0).to_numpy()
        order = np.arange(n, dtype=np.int64)
        hkey = host.astype(np.int64) << 32
        hist = np.flatnonzero(pid_ok & (exe_c >= 0))
        hk = hkey[hist] + pid_v[hist]
        comp = (hk << 27) + order[hist]
        srt = np.argsort(comp, kind="stable")
        comp_s = comp[srt]
        hist_s = hist[srt]
        q = np.flatnonzero(ppid_ok)
        qk = hkey[q] + ppid_v[q]
        pos = np.searchsorted(comp_s, (qk << 27) + order[q], side="left") - 1
        found = (pos >= 0) & ((comp_s[np.maximum(pos, 0)] >> 27) == qk)
        out_exe = np.full(n, -1, np.int64)
        out_comm = np.full(n, -1, np.int64)
        src = hist_s[pos[found]]
        out_exe[q[found]] = exe_c[src]
        out_comm[q[found]] = comm_c[src]
        miss = q[~found]
        if len(miss) and self.page_slot:
            mk = hkey[miss] + ppid_v[miss]
            slots = self._slots(mk >> self.PAGE_BITS, create=False)
            ok = slots >= 0
            off = mk & ((1 << self.PAGE_BITS) - 1)
            out_exe[miss[ok]] = self.exe[slots[ok], off[ok]]
            out_comm[miss[ok]] = self.comm[slots[ok], off[ok]]
        # remember the last exe/comm per (host, pid) of this batch
        if len(hist):
            hks = hk[srt]
            last = np.r_[np.flatnonzero(hks[1:] != hks[:-1]), len(hist) - 1]
            keys = hks[last]
            rows = hist_s[last]
            slots = self._slots(keys >> self.PAGE_BITS, create=True)
            off = keys & ((1 << self.PAGE_BITS) - 1)
            self.exe[slots, off] = exe_c[rows]
            self.comm[slots, off] = comm_c[rows]
        return self._strings(out_exe), self._strings(out_comm)
