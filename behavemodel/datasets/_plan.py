"""The fleet plan: hosts, their services' lifetimes, versions and one-off activity.

Everything that is decided once for the whole simulated period lives here: which
hosts exist (name, group, address, architecture), when each host boots and which
services systemd starts with which pids, the version timelines (JVM package,
application releases) and the deploys and upgrades that change them, plus the
one-off template instances that scenarios inject. The engine then generates the
period window by window from this plan.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from behavemodel.datasets import _catalog as cat
from behavemodel.datasets._templates import Fmt, Template

__all__ = ["FleetPlan", "HostPlan", "Once", "Run", "make_plan"]

DAY_MS = 86_400_000
HOUR_MS = 3_600_000

# pid ranges (below pid_max): boot services, restarted services, long-lived
# session processes, and everything else (which wraps, so pids get reused).
RESTART_PIDS = (700, 2000)
LONG_PIDS = (2000, 8000)
SHORT_LOW = 8000


@dataclass
class HostPlan:
    """One simulated server."""

    index: int
    name: str
    group: str
    ip: str
    arch: str
    pid_max: int
    busy: float
    boot_ms: int
    services: list[str]
    activity: float
    serial0: int
    ses0: int


@dataclass
class Run:
    """One lifetime of a service on a host, from its (re)start."""

    host: int
    service: str
    start_ms: int
    pid: int
    worker_pids: tuple[int, ...]
    user: str
    worker_user: str
    path: str
    exe: str
    comm: str
    argv: tuple[str, ...]
    interp: str | None
    title: tuple[str, ...]
    worker_title: tuple[str, ...]
    cwd: str
    binds: tuple[tuple[str, int], ...]
    label: str | None = None
    start_step: str | None = None
    serve_step: str | None = None


@dataclass
class Once:
    """A template instance at a fixed host and time (deploys, upgrades, attacks)."""

    template: Template
    host: int
    t_ms: int
    vars: Mapping[str, str | float] = field(default_factory=dict)
    label: str | None = None
    peer: int | None = None
    user: str | None = None


@dataclass
class FleetPlan:
    """Hosts, service runs, version timelines and one-off instances of a simulation."""

    start_ms: int
    end_ms: int
    hosts: list[HostPlan]
    runs: list[Run] = field(default_factory=list)
    versions: dict[tuple[int, str], list[tuple[int, str]]] = field(default_factory=dict)
    onces: list[Once] = field(default_factory=list)
    seed: int = 0

    def host_index(self, name: str) -> int:
        for h in self.hosts:
            if h.name == name:
                return h.index
        raise ValueError(
            f"No host named {name!r} in the simulated fleet; hosts are "
            f"{[h.name for h in self.hosts]}."
        )

    def hosts_of(self, group: str) -> list[int]:
        return [h.index for h in self.hosts if h.group == group]

    def version(self, host: int, var: str, t_ms: int) -> str:
        timeline = self.versions.get((host, var))
        if not timeline:
            return DEFAULT_VERSIONS[var][0]
        value = timeline[0][1]
        for t, v in timeline:
            if t <= t_ms:
                value = v
        return value

    def add_service(self, host: int, service: str) -> None:
        """Make ``service`` part of a host's configuration (started at boot)."""
        h = self.hosts[host]
        if service in h.services:
            return
        h.services.append(service)
        boot = [r for r in self.runs if r.host == host]
        pid = (
            max(
                (max((r.pid, *r.worker_pids)) for r in boot if r.pid < RESTART_PIDS[0]),
                default=400,
            )
            + 3
        )
        t = h.boot_ms + 4000 + 150 * len(boot)
        self.runs.append(self._run(host, service, t, pid, list(range(pid + 1, pid + 9))))

    def restart(
        self,
        host: int,
        service: str,
        t_ms: int,
        *,
        user: str | None = None,
        label: str | None = None,
        start_step: str | None = None,
        serve_step: str | None = None,
    ) -> Run:
        """Restart a service at ``t_ms`` (new pids; versions as of that time)."""
        counter = self._restart_counter.get(host, RESTART_PIDS[0])
        svc = cat.SERVICES[service]
        need = 1 + svc.workers
        lo, hi = RESTART_PIDS
        pids = [lo + (counter - lo + k) % (hi - lo) for k in range(need)]
        self._restart_counter[host] = counter + need + 2
        run = self._run(host, service, t_ms, pids[0], pids[1:], user=user)
        run.label, run.start_step, run.serve_step = label, start_step, serve_step
        self.runs.append(run)
        return run

    def _run(
        self,
        host: int,
        service: str,
        t_ms: int,
        pid: int,
        worker_pids: Sequence[int],
        user: str | None = None,
    ) -> Run:
        svc = cat.SERVICES[service]
        values = {var: self.version(host, var, t_ms) for var in DEFAULT_VERSIONS}

        def fill(text: str) -> str:
            f = Fmt.parse(text)
            return "".join(values[p] if is_var else p for is_var, p in f.pieces)

        argv = tuple(fill(a) for a in svc.argv)
        if svc.exe is not None:
            r = cat.Resolved(svc.path or argv[0], svc.exe, posixpath.basename(argv[0]), argv, None)
        else:
            r = cat.resolve_exec(argv, svc.path)
        title = tuple(fill(a) for a in svc.title) if svc.title else r.argv
        wtitle = tuple(fill(a) for a in svc.worker_title) if svc.worker_title else title
        run_user = user or svc.user
        return Run(
            host=host, service=service, start_ms=t_ms, pid=pid,
            worker_pids=tuple(worker_pids[: svc.workers]), user=run_user,
            worker_user=svc.worker_user or run_user, path=r.path, exe=r.exe,
            comm=svc.comm or r.comm,
            argv=r.argv, interp=r.interp, title=title, worker_title=wtitle,
            cwd=fill(svc.cwd), binds=svc.binds,
        )  # fmt: skip

    def __post_init__(self) -> None:
        self._restart_counter: dict[int, int] = {}


#: Version variables, their first value and the sequence of later ones.
DEFAULT_VERSIONS: dict[str, tuple[str, ...]] = {
    "jvm": ("17.0.8", "17.0.9", "17.0.10", "17.0.11", "17.0.12", "17.0.13"),
    "billing": ("3.2.1", "3.2.2", "3.3.0", "3.3.1", "3.4.0", "3.4.1", "3.5.0", "3.5.1"),
    "shop_rel": ("20240301T1530",),
}


def _host_ip(group: str, i: int) -> str:
    return f"10.0.{cat.GROUPS[group].subnet}.{11 + i}"


def make_plan(
    groups: Mapping[str, int],
    *,
    start_ms: int,
    end_ms: int,
    rng: np.random.Generator,
    activity: float,
) -> FleetPlan:
    """Lay out hosts, boot runs and the periodic deploys and upgrades of a fleet."""
    hosts: list[HostPlan] = []
    for group, count in groups.items():
        spec = cat.GROUPS[group]
        for i in range(count):
            hosts.append(
                HostPlan(
                    index=len(hosts),
                    name=f"{group}-{i + 1:02d}",
                    group=group,
                    ip=_host_ip(group, i),
                    arch=spec.arch,
                    pid_max=spec.pid_max,
                    busy=spec.busy,
                    boot_ms=start_ms + int(rng.integers(0, 20_000)),
                    services=list(cat.BASE_SERVICES) + list(spec.services),
                    activity=activity * float(np.exp(rng.normal(0.0, 0.2))),
                    serial0=int(rng.integers(200, 5000)),
                    ses0=int(rng.integers(1, 6)),
                )
            )
    plan = FleetPlan(start_ms=start_ms, end_ms=end_ms, hosts=hosts, seed=0)
    for h in hosts:
        _boot(plan, h, rng)
    return plan


def _boot(plan: FleetPlan, h: HostPlan, rng: np.random.Generator) -> None:
    plan.runs.append(plan._run(h.index, "init", h.boot_ms, 1, []))
    pid = 280 + int(rng.integers(0, 40))
    t = h.boot_ms + 300
    for service in h.services:
        if service == "init":
            continue
        svc = cat.SERVICES[service]
        workers = list(range(pid + 1 + int(rng.integers(0, 3)), pid + 40))
        run = plan._run(h.index, service, t, pid, workers[: svc.workers])
        plan.runs.append(run)
        last = max((run.pid, *run.worker_pids))
        pid = last + 1 + int(rng.integers(1, 12))
        t += 120 + int(rng.integers(0, 200))


def schedule_changes(
    plan: FleetPlan, rng: np.random.Generator, templates: Mapping[str, Any]
) -> None:
    """Deploys and package upgrades over the period (they change versioned paths).

    - ``shop`` (web): rolling deploy of a new release every Tuesday and Thursday 14:00.
    - ``billing`` (worker): a new version every Thursday 11:00.
    - the JVM package (hosts running billing): a security update every other
      Wednesday at about 06:30, staggered across hosts by unattended-upgrades.
    """
    start, end = plan.start_ms, plan.end_ms
    first_day = start - start % DAY_MS
    n_days = (end - first_day) // DAY_MS + 1
    weekday0 = int((first_day // DAY_MS + 3) % 7)  # 1970-01-01 was a Thursday
    shop_hosts = [h.index for h in plan.hosts if "shop" in h.services]
    billing_hosts = [h.index for h in plan.hosts if "billing" in h.services]
    rel_values: list[str] = []
    billing_seq = list(DEFAULT_VERSIONS["billing"])
    jvm_seq = list(DEFAULT_VERSIONS["jvm"])
    b_next, j_next, jvm_week = 1, 1, 0
    for d in range(n_days):
        day = first_day + d * DAY_MS
        weekday = (weekday0 + d) % 7
        if weekday in (1, 3) and shop_hosts:  # Tue, Thu
            t = day + 14 * HOUR_MS + int(rng.integers(0, 20 * 60_000))
            if start + HOUR_MS <= t < end:
                stamp = np.datetime64(t, "ms").astype("datetime64[m]").item()
                rel = stamp.strftime("%Y%m%dT%H%M")
                rel_values.append(rel)
                for k, host in enumerate(shop_hosts):
                    th = t + k * 150_000 + int(rng.integers(0, 30_000))
                    _change(plan, host, "shop_rel", th, rel, "shop", templates["deploy_shop"], rng)
        if weekday == 3 and billing_hosts and b_next < len(billing_seq):  # Thu
            t = day + 11 * HOUR_MS + int(rng.integers(0, 15 * 60_000))
            if start + HOUR_MS <= t < end:
                version = billing_seq[b_next]
                b_next += 1
                for k, host in enumerate(billing_hosts):
                    th = t + k * 120_000 + int(rng.integers(0, 20_000))
                    _change(
                        plan,
                        host,
                        "billing",
                        th,
                        version,
                        "billing",
                        templates["deploy_billing"],
                        rng,
                    )
        if weekday == 2 and billing_hosts and j_next < len(jvm_seq):  # Wed
            jvm_week += 1
            if jvm_week % 2 == 1:
                version = jvm_seq[j_next]
                j_next += 1
                for host in billing_hosts:
                    delay = int(rng.integers(0, 50 * 60_000))
                    th = day + 6 * HOUR_MS + 25 * 60_000 + delay
                    if start + HOUR_MS <= th < end:
                        _change(
                            plan,
                            host,
                            "jvm",
                            th,
                            version,
                            "billing",
                            templates["upgrade_jvm"],
                            rng,
                        )


def _change(
    plan: FleetPlan,
    host: int,
    var: str,
    t_ms: int,
    value: str,
    service: str,
    tpl: Template,
    rng: np.random.Generator,
) -> None:
    old = plan.version(host, var, t_ms)
    timeline = plan.versions.setdefault((host, var), [(0, DEFAULT_VERSIONS[var][0])])
    lead = int(tpl.meta.get("lead_s", 30) * 1000)
    # the activity runs before the restart; the new version is live at the restart
    plan.onces.append(Once(tpl, host, t_ms - lead, vars={"new": value, "old": old}))
    timeline.append((t_ms, value))
    plan.restart(host, service, t_ms)
