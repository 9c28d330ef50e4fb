"""The vectorised generator: templates + plan -> time-ordered event rows, window by window.

For each time window the engine (1) draws the instances of every behaviour and
the planned one-off instances, (2) expands their child templates, (3) hands out
pids and session ids per host in start-time order (pids wrap at ``pid_max``, so
they get reused, as on a real host), (4) resolves every process of every instance
into arrays (pid, ppid, exe, comm, argv, title, cwd, user, parent exe/comm) and
(5) turns each template event into rows, all with numpy/Arrow operations over
instances, never a Python loop over rows. Rows that fall after the window's end
(long sessions) are carried into the next window, so output is strictly ordered
and memory stays bounded.

The rows carry the canonical columns plus private ``_`` columns the audit-log
writer needs (argv, PATH names, open flags, the account behind a user record).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel.datasets import _catalog as cat
from behavemodel.datasets._compile import (
    K_DAEMON,
    K_FORK,
    K_INHERIT,
    U_INHERIT,
    U_VAR,
    CEv,
    Compiler,
    CProc,
    CTemplate,
)
from behavemodel.datasets._plan import LONG_PIDS, SHORT_LOW, FleetPlan
from behavemodel.datasets._rows import SV, Rows, Vocab
from behavemodel.datasets._schedule import Behaviour, Cron, Every, Poisson
from behavemodel.datasets._templates import Choice, Fmt, LogNormal, Uniform
from behavemodel.datasets._variables import compute_var

__all__ = ["Engine"]


STARTUP_MS = 90_000  # no scheduled activity in a host's first 90 s (it is booting)


@dataclass
class PArr:
    """Per-instance arrays of one process of a template."""

    pid: np.ndarray
    ppid: np.ndarray
    host: np.ndarray
    exe: SV
    comm: SV
    argv0: SV
    title0: SV
    cwd: SV
    user: np.ndarray
    euser: np.ndarray
    pexe: SV
    pcomm: SV
    container: SV
    path0: SV
    interp: SV
    daemon: bool = False
    label: np.ndarray | None = None
    label_step: np.ndarray | None = None


class ISet:
    """The instances of one template in one window."""

    def __init__(
        self,
        ct: CTemplate,
        host: np.ndarray,
        t0: np.ndarray,
        *,
        peer: np.ndarray | None = None,
        label: int = -1,
        parent: tuple[ISet, np.ndarray, int] | None = None,
    ) -> None:
        self.ct = ct
        self.n = len(host)
        self.host = host.astype(np.int32)
        self.t0 = t0.astype(np.int64)
        self.peer = peer
        self.label = label
        self.parent = parent
        self.vars: dict[str, Any] = {}
        self.cache: dict[str, Any] = {}
        self.scale = np.ones(self.n)
        self.base: dict[tuple[bool, int], np.ndarray] = {}
        self.ses = np.full(self.n, -1, np.int64)
        self.auid = np.full(self.n, -1, np.int64)
        self.tty: SV = SV.const(-1, self.n)
        self.user = np.zeros(self.n, np.int64)
        self.procs: list[PArr] = []
        self.inherit: tuple[ISet, np.ndarray, bool] | None = None
        self.step = -1


class Engine:
    """Generate a fleet plan's events window by window (see the module docstring)."""

    def __init__(
        self,
        plan: FleetPlan,
        behaviours: Sequence[Behaviour],
        rng: np.random.Generator,
        *,
        window_ms: int = 6 * 3_600_000,
    ) -> None:
        self.plan = plan
        self.rng = rng
        self.window_ms = window_ms
        self.vocab = Vocab()
        self.compiler = Compiler(self.vocab)
        self.behaviours = [(b, self.compiler.compile(b.template)) for b in behaviours]
        self.onces = sorted(
            ((o, self.compiler.compile(o.template)) for o in plan.onces), key=lambda x: x[0].t_ms
        )
        hosts = plan.hosts
        self.n_hosts = len(hosts)
        v = self.vocab
        self.host_name = np.array([v.code(h.name) for h in hosts], np.int32)
        self.host_rank = np.argsort(np.argsort([h.name for h in hosts], kind="stable"))
        self.host_ip = np.array([v.code(h.ip) for h in hosts], np.int32)
        self.host_group = np.array([v.code(h.group) for h in hosts], np.int32)
        self.pid_max = np.array([h.pid_max for h in hosts], np.int64)
        self.busy = np.array([h.busy for h in hosts])
        self.activity = np.array([h.activity for h in hosts])
        self.boot_done = np.array([h.boot_ms for h in hosts], np.int64) + STARTUP_MS
        self.ctr_short = np.array(
            [int(rng.integers(0, max(h.pid_max - SHORT_LOW, 1))) for h in hosts], np.int64
        )
        self.ctr_long = rng.integers(0, 400, self.n_hosts).astype(np.int64)
        self.ctr_ses = np.array([h.ses0 for h in hosts], np.int64)
        self.serial = np.array([h.serial0 for h in hosts], np.int64)
        self.user_name = np.array([v.code(u.name) for u in cat.USERS], np.int32)
        self.user_home = np.array([v.code(u.home) for u in cat.USERS], np.int32)
        self.uids = np.array([u.uid for u in cat.USERS], np.int64)
        self._prepare_runs()
        self._prepare_behaviours()
        self.tie = 0

    # runs ---------------------------------------------------------------------------

    def _prepare_runs(self) -> None:
        v = self.vocab
        runs = sorted(self.plan.runs, key=lambda r: (r.host, r.service, r.start_ms))
        self.runs = runs
        self.svc_code = {name: i for i, name in enumerate(sorted(cat.SERVICES))}
        n = len(runs)
        self.r_key = np.array(
            [(r.host * 64 + self.svc_code[r.service]) * (1 << 44) + r.start_ms for r in runs],
            np.int64,
        )
        self.r_pid = np.array([r.pid for r in runs], np.int64)
        maxw = max((len(r.worker_pids) for r in runs), default=0)
        self.r_workers = np.full((n, max(maxw, 1)), -1, np.int64)
        for i, r in enumerate(runs):
            self.r_workers[i, : len(r.worker_pids)] = r.worker_pids
        self.r_nw = np.array([len(r.worker_pids) for r in runs], np.int64)
        self.r_exe = np.array([v.code(r.exe) for r in runs], np.int32)
        self.r_comm = np.array([v.code(r.comm) for r in runs], np.int32)
        self.r_argv0 = np.array([v.code("\x00".join(r.argv)) for r in runs], np.int32)
        self.r_title0 = np.array([v.code("\x00".join(r.title)) for r in runs], np.int32)
        self.r_wtitle0 = np.array([v.code("\x00".join(r.worker_title)) for r in runs], np.int32)
        self.r_cwd = np.array([v.code(r.cwd) for r in runs], np.int32)
        self.r_user = np.array([cat.user_index(r.user) for r in runs], np.int64)
        self.r_wuser = np.array([cat.user_index(r.worker_user) for r in runs], np.int64)
        self.r_path0 = np.array([v.code(r.path) for r in runs], np.int32)
        self.r_interp = np.array([v.code(r.interp) for r in runs], np.int32)
        self.r_label = np.array([v.code(r.label) for r in runs], np.int32)
        self.r_serve = np.array([v.code(r.serve_step) for r in runs], np.int32)
        self.systemd_exe = v.code("/usr/lib/systemd/systemd")
        self.systemd_comm = v.code("systemd")
        self.run_starts = sorted(range(n), key=lambda i: (runs[i].start_ms, runs[i].host))

    def _lookup_runs(self, host: np.ndarray, service: str, t: np.ndarray) -> np.ndarray:
        key = (host.astype(np.int64) * 64 + self.svc_code[service]) * (1 << 44) + t
        idx = np.searchsorted(self.r_key, key, side="right") - 1
        ok = (idx >= 0) & ((self.r_key[np.maximum(idx, 0)] >> 44) == (key >> 44))
        if not ok.all():
            bad = int(np.flatnonzero(~ok)[0])
            raise RuntimeError(
                f"no run of service {service!r} on host {self.plan.hosts[int(host[bad])].name} "
                f"at {int(t[bad])}"
            )
        return idx

    def _run_rows(self, rows: Rows, w0: int, w1: int) -> None:
        v = self.vocab
        for i in self.run_starts:
            r = self.runs[i]
            if not (w0 <= r.start_ms < w1):
                continue
            is_init = r.service == "init"
            label = v.code(r.label)
            common = dict(
                host=r.host,
                pid=r.pid,
                ppid=0 if is_init else 1,
                comm=v.code(r.comm),
                exe=v.code(r.exe),
                user=cat.user_index(r.user),
                euser=cat.user_index(r.user),
                auid=-1,
                ses=-1,
                pexe=-1 if is_init else self.systemd_exe,
                pcomm=-1 if is_init else self.systemd_comm,
                scenario=label,
            )
            self.tie += 1
            rows.add(
                1,
                t=r.start_ms,
                tie=self.tie,
                event_type=v.code("process_start"),
                record_type=v.code("SYSCALL"),
                syscall=v.code("execve"),
                success=1,
                exit=0,
                argv0=self.r_argv0[i],
                cwd=v.code("/"),
                path0=self.r_path0[i],
                interp=self.r_interp[i],
                key=v.code("exec"),
                step=v.code(r.start_step) if label >= 0 else -1,
                **common,
            )
            for k, (ip, port) in enumerate(r.binds):
                self.tie += 1
                rows.add(
                    1,
                    t=r.start_ms + 40 + 25 * k,
                    tie=self.tie,
                    event_type=v.code("net_listen"),
                    record_type=v.code("SYSCALL"),
                    syscall=v.code("bind"),
                    success=1,
                    exit=0,
                    title0=self.r_argv0[i],
                    dst_ip=v.code(ip),
                    dst_port=port,
                    family=v.code("inet6" if ":" in ip else "inet"),
                    direction=v.code("listen"),
                    key=v.code("network_bind"),
                    step=v.code(r.serve_step) if label >= 0 else -1,
                    **common,
                )

    # behaviours ---------------------------------------------------------------------

    def _prepare_behaviours(self) -> None:
        rng = self.rng
        self.b_hosts: list[np.ndarray] = []
        self.b_streams: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = []
        for b, ct in self.behaviours:
            eligible = []
            for h in self.plan.hosts:
                if b.groups is not None and h.group not in b.groups:
                    continue
                if not ct.needs_self <= set(h.services):
                    continue
                eligible.append(h.index)
            if b.share < 1.0:
                keep = rng.random(len(eligible)) < b.share
                eligible = [h for h, k in zip(eligible, keep, strict=True) if k]
            hosts = np.array(eligible, np.int32)
            self.b_hosts.append(hosts)
            if isinstance(b.when, Every):
                if b.fanout:
                    pairs = [(h, p) for h in hosts.tolist() for p in self._peer_candidates(ct, h)]
                    sh = np.array([p[0] for p in pairs], np.int32)
                    sp = np.array([p[1] for p in pairs], np.int32)
                else:
                    sh, sp = hosts, np.full(len(hosts), -1, np.int32)
                period = int(b.when.seconds * 1000)
                phases = self.plan.start_ms + rng.integers(0, period, len(sh)).astype(np.int64)
                self.b_streams.append((sh, sp, phases))
            else:
                self.b_streams.append(None)

    def _peer_candidates(self, ct: CTemplate, host: int) -> list[int]:
        groups = ct.tpl.peer
        if groups is None:
            return []
        out = []
        for h in self.plan.hosts:
            if h.index == host:
                continue
            if "*" not in groups and h.group not in groups:
                continue
            if not ct.needs_peer <= set(h.services):
                continue
            out.append(h.index)
        return out

    def _choose_peers(self, ct: CTemplate, host: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pick a peer for each instance; returns (peer, keep mask)."""
        peer = np.full(len(host), -1, np.int32)
        for h in np.unique(host).tolist():
            cand = self._peer_candidates(ct, h)
            sel = np.flatnonzero(host == h)
            if cand:
                peer[sel] = np.array(cand, np.int32)[self.rng.integers(0, len(cand), len(sel))]
        return peer, peer >= 0

    def _sample(self, bi: int, w0: int, w1: int) -> ISet | None:
        b, ct = self.behaviours[bi]
        hosts = self.b_hosts[bi]
        if len(hosts) == 0:
            return None
        peer: np.ndarray | None = None
        if isinstance(b.when, Poisson):
            h, t = b.when.sample(hosts, self.activity[hosts], w0, w1, self.rng)
        elif isinstance(b.when, Cron):
            h, t = b.when.sample(hosts, w0, w1, self.rng)
        else:
            streams = self.b_streams[bi]
            assert streams is not None
            sh, sp, phases = streams
            stream, t = b.when.sample_streams(phases, w0, w1, self.rng)
            h = sh[stream]
            if b.fanout:
                peer = sp[stream]
        keep = (t >= self.boot_done[h]) & (t < self.plan.end_ms)
        h, t = h[keep], t[keep]
        if peer is not None:
            peer = peer[keep]
        if len(h) == 0:
            return None
        if peer is None and ct.tpl.peer is not None:
            peer, ok = self._choose_peers(ct, h)
            h, t, peer = h[ok], t[ok], peer[ok]
            if len(h) == 0:
                return None
        return self._new_set(ct, h, t, peer=peer)

    def _new_set(
        self,
        ct: CTemplate,
        host: np.ndarray,
        t0: np.ndarray,
        *,
        peer: np.ndarray | None = None,
        label: int = -1,
        parent: tuple[ISet, np.ndarray, int] | None = None,
        inherit: tuple[ISet, np.ndarray, bool] | None = None,
        user: str | None = None,
    ) -> ISet:
        s = ISet(ct, host, t0, peer=peer, label=label, parent=parent)
        s.inherit = inherit
        s.step = self.vocab.code(ct.tpl.step)
        if s.step < 0 and inherit is not None:
            s.step = inherit[0].step
        s.scale = np.exp(self.rng.normal(0.0, 0.25, s.n))
        for name, spec in ct.vars.items():
            if spec is None:
                continue
            s.cache[name] = self._draw(spec, s.n)
        if user is not None:
            s.user = np.full(s.n, cat.user_index(user), np.int64)
        elif ct.tpl.ctx == "cron":
            s.user = np.full(s.n, cat.user_index(ct.tpl.meta.get("cron_user", "root")), np.int64)
        elif "session_user" in ct.tpl.meta:
            s.user = np.full(s.n, cat.user_index(ct.tpl.meta["session_user"]), np.int64)
        elif inherit is not None:
            s.user = inherit[0].user[inherit[1]]
        else:
            admins = [cat.user_index(a) for a, _ in cat.ADMINS]
            w = np.array([p for _, p in cat.ADMINS])
            s.user = np.array(admins, np.int64)[self.rng.choice(len(admins), s.n, p=w / w.sum())]
        if ct.tpl.ctx == "session":
            ttys = np.array([self.vocab.code(f"pts{i}") for i in range(6)], np.int32)
            s.tty = SV(codes=ttys[self.rng.choice(6, s.n, p=[0.4, 0.25, 0.15, 0.1, 0.06, 0.04])])
        return s

    def _draw(self, spec: Any, n: int) -> Any:
        rng = self.rng
        if isinstance(spec, Uniform):
            return rng.uniform(spec.low, spec.high, n)
        if isinstance(spec, LogNormal):
            x = spec.median * np.exp(rng.normal(0.0, spec.sigma, n))
            return np.clip(x, spec.low, spec.high)
        if isinstance(spec, Choice):
            w = None
            if spec.weights is not None:
                w = np.asarray(spec.weights, float)
                w = w / w.sum()
            codes = np.array([self.vocab.code(x) for x in spec.values], np.int32)
            return SV(codes=codes[rng.choice(len(codes), n, p=w)])
        if isinstance(spec, str):
            return SV.const(self.vocab.code(spec), n)
        raise TypeError(f"unsupported template variable {spec!r}")

    # children -----------------------------------------------------------------------

    def _children(self, s: ISet) -> list[ISet]:
        out: list[ISet] = []
        rng = self.rng
        for child, options, parent_idx in s.ct.children:
            a = self._offset(s, child.between[0])
            b = self._offset(s, child.between[1])
            if child.every is not None:
                counts = np.maximum(np.floor((b - a) / child.every).astype(np.int64), 0)
            elif isinstance(child.count, tuple):
                counts = rng.integers(child.count[0], child.count[1] + 1, s.n)
            elif isinstance(child.count, float):
                counts = rng.poisson(child.count, s.n)
            else:
                counts = np.full(s.n, int(child.count), np.int64)
            total = int(counts.sum())
            if total == 0:
                continue
            idx = np.repeat(np.arange(s.n), counts)
            if child.every is not None:
                first = np.repeat(np.cumsum(counts) - counts, counts)
                k = np.arange(total) - first
                off = a[idx] + (k + rng.random(total) * 0.2) * child.every
            else:
                off = a[idx] + rng.random(total) * np.maximum(b[idx] - a[idx], 0.0)
            t0 = s.t0[idx] + (off * 1000).astype(np.int64)
            if child.on == "peer":
                assert s.peer is not None, f"{s.ct.tpl.name}: child on peer without a peer"
                host = s.peer[idx]
            else:
                host = s.host[idx]
            if len(options) == 1:
                which = np.zeros(total, np.int64)
            else:
                w = np.array([wt for _, wt in options], float)
                which = rng.choice(len(options), total, p=w / w.sum())
            for oi, (cct, _) in enumerate(options):
                sel = np.flatnonzero(which == oi)
                if len(sel) == 0:
                    continue
                pidx = idx[sel]
                link = (s, pidx, parent_idx) if parent_idx >= 0 else None
                peer = None
                if cct.tpl.peer is not None:
                    peer, ok = self._choose_peers(cct, host[sel])
                    if not ok.all():
                        sel, pidx, peer = sel[ok], pidx[ok], peer[ok]
                        link = (s, pidx, parent_idx) if parent_idx >= 0 else None
                    if len(sel) == 0:
                        continue
                elif s.peer is not None and child.on != "peer":
                    peer = s.peer[pidx]
                c = self._new_set(
                    cct,
                    host[sel],
                    t0[sel],
                    peer=peer,
                    label=s.label,
                    parent=link,
                    inherit=(s, pidx, child.on == "peer"),
                )
                for cv, pv in child.pass_vars:
                    c.vars[cv] = self._take(self.var(s, pv), pidx)
                if child.on != "peer":
                    for name in ("src_ip", "cid"):
                        if name in s.vars and name not in c.vars:
                            c.vars[name] = self._take(s.vars[name], pidx)
                        elif name in s.cache and name not in c.vars:
                            c.vars[name] = self._take(s.cache[name], pidx)
                out.append(c)
        return out

    def _offset(self, s: ISet, spec: float | str) -> np.ndarray:
        if isinstance(spec, str):
            name, _, off = spec.partition("+")
            if "-" in name:
                name, _, neg = name.partition("-")
                return np.asarray(self.var(s, name), float) - float(neg)
            return np.asarray(self.var(s, name), float) + float(off or 0.0)
        return np.full(s.n, float(spec))

    @staticmethod
    def _take(value: Any, idx: np.ndarray) -> Any:
        if isinstance(value, SV):
            return value.take(idx)
        return np.asarray(value)[idx]

    # variables ----------------------------------------------------------------------

    def var(self, s: ISet, name: str) -> Any:
        """A per-instance variable: SV for strings, numpy array for numbers."""
        if name in s.vars:
            return s.vars[name]
        if name in s.cache:
            return s.cache[name]
        value = self._compute_var(s, name)
        s.cache[name] = value
        return value

    def sv(self, s: ISet, name: str) -> SV:
        value = self.var(s, name)
        if isinstance(value, SV):
            return value
        arr = np.asarray(value)
        if arr.dtype.kind == "f":
            arr = np.round(arr).astype(np.int64)
        return SV(arr=pc.cast(pa.array(arr), pa.string()))

    def _compute_var(self, s: ISet, name: str) -> Any:
        return compute_var(self, s, name)

    def fmt(self, s: ISet, f: Any) -> SV:
        """Evaluate a compiled string (code, Fmt or None) for every instance."""
        if isinstance(f, Fmt):
            pieces = []
            for is_var, p in f.pieces:
                pieces.append(self.sv(s, p).to_arrow(self.vocab) if is_var else p)
            if len(pieces) == 1 and not isinstance(pieces[0], str):
                return SV(arr=pieces[0])
            return SV(arr=pc.binary_join_element_wise(*pieces, ""))
        return SV.const(int(f if f is not None else -1), s.n)

    # allocation ---------------------------------------------------------------------

    def _allocate(self, sets: list[ISet]) -> None:
        hosts, t0s, need_s, need_l, need_ses, owner = [], [], [], [], [], []
        for si, s in enumerate(sets):
            for on_peer in (False, True):
                ns = s.ct.n_alloc.get((on_peer, 0), 0)
                nl = s.ct.n_alloc.get((on_peer, 1), 0)
                nses = 1 if (s.ct.ses_self and not on_peer) else 0
                if ns == nl == nses == 0:
                    continue
                h = s.peer if on_peer else s.host
                assert h is not None
                hosts.append(h)
                t0s.append(s.t0)
                gap = self.rng.geometric(1.0 / (1.0 + self.busy[h])) - 1 if ns else 0
                need_s.append(ns + gap if ns else np.zeros(s.n, np.int64))
                need_l.append(np.full(s.n, nl, np.int64))
                need_ses.append(np.full(s.n, nses, np.int64))
                owner.append(np.stack([np.full(s.n, si), np.arange(s.n), np.full(s.n, on_peer)]))
        if not hosts:
            return
        H = np.concatenate(hosts).astype(np.int64)
        T = np.concatenate(t0s)
        own = np.concatenate(owner, axis=1)
        order = np.lexsort((np.arange(len(H)), T, H))
        H_sorted = H[order]
        starts = np.flatnonzero(np.r_[True, H_sorted[1:] != H_sorted[:-1]])
        group_of = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(H_sorted)]))
        results = {}
        for name, need, ctr in (
            ("short", np.concatenate(need_s), self.ctr_short),
            ("long", np.concatenate(need_l), self.ctr_long),
            ("ses", np.concatenate(need_ses), self.ctr_ses),
        ):
            c = need[order].astype(np.int64)
            cum = np.cumsum(c)
            before = cum - c
            base_in_group = before - before[starts][group_of]
            base = ctr[H_sorted] + base_in_group
            totals = np.add.reduceat(c, starts)
            ctr[H_sorted[starts]] += totals
            out = np.empty(len(H), np.int64)
            out[order] = base
            results[name] = out
        for si, s in enumerate(sets):
            for on_peer in (False, True):
                sel = np.flatnonzero((own[0] == si) & (own[2] == int(on_peer)))
                if len(sel) == 0:
                    continue
                sel = sel[np.argsort(own[1][sel])]
                s.base[(on_peer, 0)] = results["short"][sel]
                s.base[(on_peer, 1)] = results["long"][sel]
                if not on_peer and s.ct.ses_self:
                    s.ses = results["ses"][sel]

    def _pid(self, s: ISet, cp: CProc, host: np.ndarray) -> np.ndarray:
        base = s.base[(cp.on_peer, cp.alloc)] + cp.local
        if cp.alloc == 1:
            lo, hi = LONG_PIDS
            return lo + base % (hi - lo)
        size = self.pid_max[host] - SHORT_LOW
        return SHORT_LOW + base % size

    # processes ----------------------------------------------------------------------

    def _context(self, s: ISet) -> None:
        ctx = s.ct.tpl.ctx
        inherit = s.inherit
        if ctx in ("session", "cron"):
            s.auid = self.uids[s.user]
        elif ctx == "inherit" and inherit is not None and not inherit[2]:
            p, idx = inherit[0], inherit[1]
            s.auid, s.ses, s.tty = p.auid[idx], p.ses[idx], p.tty.take(idx)

    def _procs(self, s: ISet) -> None:
        n = s.n
        null = SV.const(-1, n)
        out: list[PArr] = []
        for cp in s.ct.procs:
            host = s.peer if cp.on_peer else s.host
            assert host is not None
            if cp.kind == K_DAEMON:
                run = self._lookup_runs(host, cp.service, s.t0)
                master = SV(codes=self.r_exe[run])
                mcomm = SV(codes=self.r_comm[run])
                if cp.worker:
                    k = (self.rng.random(n) * np.maximum(self.r_nw[run], 1)).astype(np.int64)
                    has = self.r_nw[run] > 0
                    pid = np.where(has, self.r_workers[run, k], self.r_pid[run])
                    ppid = np.where(has, self.r_pid[run], 1)
                    user = np.where(has, self.r_wuser[run], self.r_user[run])
                    title = SV(codes=np.where(has, self.r_wtitle0[run], self.r_title0[run]))
                    pexe = SV(codes=np.where(has, self.r_exe[run], self.systemd_exe))
                    pcomm = SV(codes=np.where(has, self.r_comm[run], self.systemd_comm))
                else:
                    pid, ppid, user = self.r_pid[run], np.ones(n, np.int64), self.r_user[run]
                    title = SV(codes=self.r_title0[run])
                    pexe, pcomm = SV.const(self.systemd_exe, n), SV.const(self.systemd_comm, n)
                out.append(PArr(
                    pid=pid, ppid=ppid, host=host, exe=master, comm=mcomm,
                    argv0=SV(codes=self.r_argv0[run]), title0=title,
                    cwd=SV(codes=self.r_cwd[run]), user=user, euser=user, pexe=pexe,
                    pcomm=pcomm, container=null, path0=SV(codes=self.r_path0[run]),
                    interp=SV(codes=self.r_interp[run]), daemon=True,
                    label=self.r_label[run], label_step=self.r_serve[run],
                ))  # fmt: skip
                continue
            if cp.kind == K_INHERIT:
                assert s.parent is not None, f"{s.ct.tpl.name}: INHERIT without a parent"
                ps, idx, pj = s.parent
                pa_ = ps.procs[pj]
                out.append(PArr(
                    pid=pa_.pid[idx], ppid=pa_.ppid[idx], host=pa_.host[idx],
                    exe=pa_.exe.take(idx), comm=pa_.comm.take(idx), argv0=pa_.argv0.take(idx),
                    title0=pa_.title0.take(idx), cwd=pa_.cwd.take(idx), user=pa_.user[idx],
                    euser=pa_.euser[idx], pexe=pa_.pexe.take(idx), pcomm=pa_.pcomm.take(idx),
                    container=pa_.container.take(idx), path0=pa_.path0.take(idx),
                    interp=pa_.interp.take(idx), daemon=pa_.daemon,
                    label=None if pa_.label is None else pa_.label[idx],
                    label_step=None if pa_.label_step is None else pa_.label_step[idx],
                ))  # fmt: skip
                continue
            par = out[cp.parent]
            if cp.same >= 0:
                orig = out[cp.same]
                pid, ppid, pexe, pcomm = orig.pid, orig.ppid, orig.pexe, orig.pcomm
            else:
                pid, ppid, pexe, pcomm = self._pid(s, cp, host), par.pid, par.exe, par.comm
            if cp.user == U_INHERIT:
                user = out[cp.same].user if cp.same >= 0 else par.user
            elif cp.user == U_VAR:
                user = s.user
            else:
                user = np.full(n, cp.user, np.int64)
            if cp.kind == K_FORK:
                title = par.title0 if cp.title_override is None else self.fmt(s, cp.title_override)
                out.append(PArr(
                    pid=pid, ppid=ppid, host=host, exe=par.exe, comm=par.comm, argv0=par.argv0,
                    title0=title, cwd=par.cwd, user=user, euser=user, pexe=pexe, pcomm=pcomm,
                    container=par.container, path0=par.path0, interp=par.interp,
                    label=par.label, label_step=par.label_step,
                ))  # fmt: skip
                continue
            argv0 = self.fmt(s, cp.argv0)
            title0 = argv0 if cp.title0 is None else self.fmt(s, cp.title0)
            inherited = out[cp.same] if cp.same >= 0 else par
            cwd = inherited.cwd if cp.cwd is None else self.fmt(s, cp.cwd)
            euser = user if cp.euser < 0 else np.full(n, cp.euser, np.int64)
            container = self.sv(s, "cid") if cp.container else inherited.container
            out.append(PArr(
                pid=pid, ppid=ppid, host=host, exe=self.fmt(s, cp.exe),
                comm=SV.const(cp.comm, n), argv0=argv0, title0=title0, cwd=cwd, user=user,
                euser=euser, pexe=pexe, pcomm=pcomm, container=container,
                path0=self.fmt(s, cp.path0), interp=SV.const(cp.interp, n),
                label=inherited.label, label_step=inherited.label_step,
            ))  # fmt: skip
        s.procs = out

    # rows ---------------------------------------------------------------------------

    def _rows(self, s: ISet, rows: Rows) -> None:
        v = self.vocab
        n = s.n
        for k, ce in enumerate(s.ct.events):
            ev = ce.ev
            p = s.procs[ce.proc]
            if ce.at_var is not None:
                off = np.asarray(self.var(s, ce.at_var), float) + ce.at
            else:
                off = ce.at * s.scale
            t = s.t0 + np.round(off * 1000).astype(np.int64)
            tie = (self.tie + np.arange(n)) * 1024 + k
            use_ctx = not p.daemon and ev.ctx != "unset" and not s.ct.procs[ce.proc].on_peer
            auid = s.auid if use_ctx else -1
            ses = s.ses if use_ctx else -1
            tty = s.tty if use_ctx else None
            scen: Any
            step: Any
            if s.label >= 0:
                step = ce.step if ce.ev.step is not None else s.step
                scen, step = s.label, step if step >= 0 else v.code("activity")
            elif p.label is not None:
                scen = SV(codes=p.label)
                assert p.label_step is not None
                step = SV(codes=np.where(p.label >= 0, p.label_step, -1).astype(np.int32))
            else:
                scen, step = -1, -1
            common: dict[str, Any] = dict(
                t=t,
                host=p.host,
                tie=tie,
                pid=p.pid,
                user=p.user,
                euser=p.euser,
                auid=auid,
                ses=ses,
                tty=tty,
                scenario=scen,
                step=step,
                key=ce.key,
                record_type=ce.record,
                event_type=ce.event_type,
            )
            kind = ev.kind
            if kind == "user":
                self._user_row(s, ce, p, rows, n, common)
                continue
            common.update(
                ppid=p.ppid,
                comm=p.comm,
                exe=p.exe,
                pexe=p.pexe,
                pcomm=p.pcomm,
                container=p.container,
                syscall=ce.syscall,
                success=1 if ev.success else 0,
            )
            if ev.exit == "fd":
                exit_v: Any = self.rng.integers(3, 40, n)
            else:
                exit_v = ev.exit if ev.exit is not None else 0
            if kind == "exec":
                rows.add(
                    n, argv0=p.argv0, cwd=p.cwd, path0=p.path0, interp=p.interp, exit=0, **common
                )
            elif kind in ("connect", "accept", "bind"):
                ip = self.fmt(s, ce.fmts["ip"])
                if isinstance(ce.port, str):
                    port: Any = np.asarray(self.var(s, ce.port), np.int64)
                else:
                    port = ce.port
                fam: Any = ce.family
                if isinstance(ce.fmts["ip"], Fmt):
                    six = pc.match_substring(ip.to_arrow(v), ":").to_numpy(zero_copy_only=False)
                    fam = SV(codes=np.where(six, v.code("inet6"), v.code("inet")).astype(np.int32))
                net = dict(family=fam, direction=ce.direction)
                if kind == "accept":
                    net.update(src_ip=ip, src_port=port)
                else:
                    net.update(dst_ip=ip, dst_port=port)
                rows.add(n, title0=p.title0, exit=exit_v, **net, **common)
            else:
                path = self.fmt(s, ce.fmts["path"])
                name = path if ce.fmts["name"] == -1 else self.fmt(s, ce.fmts["name"])
                extra: dict[str, Any] = {}
                if kind == "rename":
                    old = self.fmt(s, ce.fmts["old_path"])
                    old_name = (
                        old if ce.fmts["old_name"] == -1 else self.fmt(s, ce.fmts["old_name"])
                    )
                    extra = dict(old_path=old, old_name=old_name)
                rows.add(
                    n,
                    title0=p.title0,
                    cwd=p.cwd,
                    file_path=path,
                    name=name,
                    nametype=ce.nametype,
                    flags=ev.flags,
                    mode=ev.mode,
                    exit=exit_v,
                    **extra,
                    **common,
                )
        self.tie += n + 1

    def _user_row(
        self, s: ISet, ce: CEv, p: PArr, rows: Rows, n: int, common: dict[str, Any]
    ) -> None:
        v = self.vocab
        ev = ce.ev
        record = ev.record or ""
        acct = (
            self.fmt(s, ce.fmts["acct"])
            if ce.fmts["acct"] != -1
            else SV(codes=self.user_name[s.user])
        )
        terminal = self.fmt(s, ce.fmts["terminal"]) if ce.fmts["terminal"] != -1 else None
        addr = self.fmt(s, ce.fmts["addr"]) if ce.fmts["addr"] != -1 else None
        id_user: Any = None
        if record in ("USER_LOGIN", "USER_LOGOUT") and ev.success:
            id_user = s.user
        if record == "LOGIN":
            common["auid"] = s.auid
            common["ses"] = s.ses
        rows.add(
            n,
            exe=p.exe if record != "LOGIN" else None,
            success=1 if ev.success else 0,
            acct=acct,
            terminal=terminal,
            src_ip=addr,
            id_user=id_user,
            op=v.code(ev.op) if ev.op else None,
            **common,
        )

    # windows ------------------------------------------------------------------------

    def windows(self) -> Iterator[pa.Table]:
        """Yield the rows of each window, sorted by time (host, generation order)."""
        plan = self.plan
        carry: pa.Table | None = None
        w0 = plan.start_ms
        once_pos = 0
        while w0 < plan.end_ms:
            w1 = min(w0 + self.window_ms, plan.end_ms)
            rows = Rows()
            self._run_rows(rows, w0, w1)
            sets: list[ISet] = []
            for bi in range(len(self.behaviours)):
                s = self._sample(bi, w0, w1)
                if s is not None:
                    sets.append(s)
            while once_pos < len(self.onces) and self.onces[once_pos][0].t_ms < w1:
                o, ct = self.onces[once_pos]
                once_pos += 1
                peer = None if o.peer is None else np.array([o.peer], np.int32)
                if peer is None and ct.tpl.peer is not None:
                    peer, ok = self._choose_peers(ct, np.array([o.host], np.int32))
                    if not ok.all():
                        continue
                s = self._new_set(
                    ct,
                    np.array([o.host], np.int32),
                    np.array([o.t_ms], np.int64),
                    peer=peer,
                    label=self.vocab.code(o.label),
                    user=o.user,
                )
                for name, value in o.vars.items():
                    if isinstance(value, str):
                        s.vars[name] = SV.const(self.vocab.code(value), 1)
                    else:
                        s.vars[name] = np.full(1, float(value))
                sets.append(s)
            i = 0
            while i < len(sets):
                sets.extend(self._children(sets[i]))
                i += 1
            self._allocate(sets)
            for s in sets:
                self._context(s)
                self._procs(s)
                self._rows(s, rows)
            table = rows.table(
                self.vocab,
                carry if carry is not None and carry.num_rows else None,
                self.host_rank,
            )
            t = table.column("t").to_numpy()
            cut = int(np.searchsorted(t, w1, side="left"))
            emit = table.slice(0, cut)
            carry = table.slice(cut)
            w0 = w1
            if w0 >= plan.end_ms:
                carry = None
            if emit.num_rows:
                yield emit
