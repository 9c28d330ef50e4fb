"""Benchmark: ``behavemodel monitor`` following a live audit log at a steady rate.

Setup: one simulated ``web`` host (3 days, the fleet simulator) gives a model
(all five features, converged) and a pool of its real exec and connect events,
rendered once as ENRICHED auditd records (SYSCALL, EXECVE, CWD, PATH, PATH,
PROCTITLE for an exec; SYSCALL, SOCKADDR, PROCTITLE for a connect; about 1.2 KB
per event). The benchmark then starts the real command as a subprocess,

    behavemodel monitor --model M --follow audit.log --alerts alerts.jsonl \\
        --checkpoint state.json --host web-01

and appends events to ``audit.log`` every 100 ms at a steady rate (the pool
replayed with fresh timestamps and serials), in phases of increasing rate:
1x = 1,000 execs/s + 2,000 connects/s, then 2x, 4x... Once a second it also
writes one connect by a never-seen executable, which must alert. Per phase:

- the monitor's CPU (``psutil``, user + system of the monitor process over the
  phase after a warm-up), as % of one core, and its RSS;
- alert latency: from the ``write()`` of the alerting event's lines to its
  alert line appearing in ``alerts.jsonl`` (polled every 10 ms);
- whether it kept up: every injected event alerted, and latency did not grow.

Idle CPU (no writes) is measured first. The highest sustained rate is the last
phase that kept up with p95 latency under 2 s.

The pool replays the simulated host's own pids (its process history stays
small); ``--new-pids`` gives every event a new pid, so the parser's process
history sits at its 65,536 bound and every checkpoint carries it (about 4 MB of
JSON): a stress case, which also leaves parents unknown and so raises many
ParentNames alerts.

Run: ``.venv/bin/python benchmarks/monitor.py [--seconds 20] [--max-factor 16] [--new-pids]``.
Target (issue 9): keep up with 1x using under 10% of one core.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa

HOST = "web-01"
EXECS, CONNECTS = 1000, 2000
TICK = 0.1
_HEADER = re.compile(rb"msg=audit\((\d+\.\d{3}):(\d+)\):")


#: (before the header, after it up to the pid value, the pid value or None, the rest)
Line = tuple[bytes, bytes, bytes | None, bytes]


@dataclass
class Pool:
    """Rendered events, each a list of lines cut where the header and the pid go."""

    execs: list[list[Line]]
    connects: list[list[Line]]
    implant: list[Line]


_PID = re.compile(rb" pid=\d+ ")


def _split_events(data: bytes) -> list[list[Line]]:
    events: dict[bytes, list[Line]] = {}
    for line in data.splitlines(keepends=True):
        m = _HEADER.search(line)
        assert m is not None, line[:80]
        after = line[m.end() :]
        pid = _PID.search(after)
        if pid is None:
            entry: Line = (line[: m.start()], after, None, b"")
        else:
            value = after[pid.start() + 5 : pid.end() - 1]
            entry = (line[: m.start()], after[: pid.start() + 5], value, after[pid.end() - 1 :])
        events.setdefault(m.group(2), []).append(entry)
    return list(events.values())


def build(tmp: Path) -> tuple[Path, Pool]:
    """Fit and save the model; render the pool of events to replay."""
    from behavemodel.artifacts import save
    from behavemodel.datasets import render_auditd, simulate_fleet
    from behavemodel.models import BaselineDetector

    sim = simulate_fleet(groups=["web"], hosts_per_group=1, days=3, seed=0)
    # The log has node=web-01 and no group: the model maps the host to its group.
    model = BaselineDetector(min_span="1D", novelty_threshold=0.05, groups={HOST: "web"})
    model.fit(sim.events)
    states = set(model.convergence_report()["state"])
    assert states == {"monitoring"}, states
    path = tmp / "web.bmz"
    save(model, path)
    events, extras = sim.events, sim._extras
    kinds = events.column("event_type").to_numpy(zero_copy_only=False).astype(str)
    out = []
    for kind in ("process_start", "net_connect"):
        idx = np.flatnonzero(kinds == kind)
        part = events.take(pa.array(idx))
        # serials of equal width, so a header can be swapped without moving bytes
        ids = [f"{HOST}:1700000000.000:{100_000_000 + i}" for i in range(len(idx))]
        part = part.set_column(part.column_names.index("event_id"), "event_id", pa.array(ids))
        data = render_auditd(part, extras=extras.take(pa.array(idx)))
        assert isinstance(data, bytes)
        out.append(_split_events(data))
    implant = connect_row(events, out_exe="/opt/.x/implant")
    data = render_auditd(implant)
    assert isinstance(data, bytes)
    return path, Pool(out[0], out[1], _split_events(data)[0])


def connect_row(events: pa.Table, out_exe: str) -> pa.Table:
    """One connect event by an executable the model never saw."""
    kinds = events.column("event_type").to_numpy(zero_copy_only=False).astype(str)
    row = events.take(pa.array([int(np.flatnonzero(kinds == "net_connect")[0])]))
    for name, value in (
        ("process_exe", out_exe),
        ("process_name", "implant"),
        ("event_id", f"{HOST}:1700000000.000:100000000"),
    ):
        row = row.set_column(row.column_names.index(name), name, pa.array([value]))
    return row


@dataclass
class Watcher:
    """Polls alerts.jsonl; records when each injected event's alert appeared."""

    path: Path
    seen: dict[str, float] = field(default_factory=dict)
    alerts: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        offset, partial = 0, b""
        while not self._stop.is_set():
            try:
                with self.path.open("rb") as fh:
                    fh.seek(offset)
                    data = fh.read()
            except FileNotFoundError:
                data = b""
            now = time.perf_counter()
            if data:
                offset += len(data)
                data = partial + data
                cut = data.rfind(b"\n") + 1
                partial = data[cut:]
                for line in data[:cut].splitlines():
                    self.alerts += 1
                    if b"implant" in line:
                        self.seen.setdefault(json.loads(line)["event_id"], now)
            time.sleep(0.01)


@dataclass
class Phase:
    factor: float
    events_per_s: float
    mb_per_s: float
    cpu_percent: float
    rss_mb: float
    latencies: list[float]
    injected: int
    alerted: int
    behind_s: float

    @property
    def kept_up(self) -> bool:
        return (
            self.alerted == self.injected
            and bool(self.latencies)
            and float(np.percentile(self.latencies, 95)) < 2.0
            and self.behind_s < 1.0
        )


class Writer:
    """Appends the pool to the log at a rate, with fresh times and serials."""

    def __init__(self, log: Path, pool: Pool, *, new_pids: bool = False) -> None:
        self.log = log
        self.pool = pool
        self.new_pids = new_pids
        self.serial = 200_000_000
        self.i_exec = self.i_conn = 0
        self.implants: dict[str, float] = {}
        self.bytes = 0
        self.rng = random.Random(0)

    def _emit(self, event: list[Line], t: float, parts: list[bytes]) -> str:
        """One event with a fresh time and serial; with ``new_pids`` also a fresh pid."""
        self.serial += 1
        stamp = f"{t:.3f}"
        header = f"msg=audit({stamp}:{self.serial}):".encode()
        pid = str(300 + self.serial % 4_000_000).encode() if self.new_pids else None
        for before, after, old_pid, rest in event:
            if old_pid is None:
                parts.append(before + header + after)
            else:
                parts.append(before + header + after + (pid or old_pid) + rest)
        return f"{HOST}:{stamp}:{self.serial}"

    def run(self, factor: float, seconds: float, fh: object) -> float:
        """Write for ``seconds``; return how far behind schedule the writer ended."""
        n_exec = EXECS * factor * TICK
        n_conn = CONNECTS * factor * TICK
        start = time.perf_counter()
        owed_exec = owed_conn = 0.0
        next_implant = start + 0.5
        tick = 0
        while True:
            due = start + tick * TICK
            now = time.perf_counter()
            if due - now > 0:
                time.sleep(due - now)
            if due - start >= seconds:
                return max(0.0, time.perf_counter() - due)
            t = time.time()
            parts: list[bytes] = []
            owed_exec += n_exec
            owed_conn += n_conn
            pe, pc_ = self.pool.execs, self.pool.connects
            while owed_exec >= 1 or owed_conn >= 1:  # interleave execs and connects
                if owed_conn >= 1:
                    self._emit(pc_[self.i_conn % len(pc_)], t, parts)
                    self.i_conn += 1
                    owed_conn -= 1
                if owed_exec >= 1:
                    self._emit(pe[self.i_exec % len(pe)], t, parts)
                    self.i_exec += 1
                    owed_exec -= 1
            implant_id = None
            if time.perf_counter() >= next_implant:
                implant_id = self._emit(self.pool.implant, t, parts)
                next_implant += self.rng.uniform(0.6, 1.4)  # random phase vs. polls
            data = b"".join(parts)
            os.write(fh.fileno(), data)  # type: ignore[attr-defined]
            if implant_id is not None:
                self.implants[implant_id] = time.perf_counter()
            self.bytes += len(data)
            tick += 1


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def measure(
    proc: psutil.Process,
    writer: Writer,
    watcher: Watcher,
    fh: object,
    factor: float,
    seconds: float,
) -> Phase:
    warmup = min(5.0, seconds / 4)
    writer.run(factor, warmup, fh)
    before_implants = set(writer.implants)
    cpu0, wall0, bytes0 = cpu_seconds(proc), time.perf_counter(), writer.bytes
    behind = writer.run(factor, seconds - warmup, fh)
    wall = time.perf_counter() - wall0
    cpu = cpu_seconds(proc) - cpu0
    rate_bytes = (writer.bytes - bytes0) / wall
    injected = {k: v for k, v in writer.implants.items() if k not in before_implants}
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and not set(injected) <= set(watcher.seen):
        time.sleep(0.05)
    latencies = [watcher.seen[k] - v for k, v in injected.items() if k in watcher.seen]
    return Phase(
        factor=factor,
        events_per_s=(EXECS + CONNECTS) * factor,
        mb_per_s=rate_bytes / 1e6,
        cpu_percent=100 * cpu / wall,
        rss_mb=proc.memory_info().rss / 1e6,
        latencies=latencies,
        injected=len(injected),
        alerted=len(latencies),
        behind_s=behind,
    )


def report(phase: Phase) -> str:
    lat = sorted(phase.latencies) or [float("nan")]
    return (
        f"{phase.factor:>5g}x  {phase.events_per_s:>8,.0f} ev/s  {phase.mb_per_s:5.1f} MB/s  "
        f"CPU {phase.cpu_percent:5.1f}% of a core  RSS {phase.rss_mb:5.0f} MB  latency "
        f"p50 {statistics.median(lat):.2f} s  p95 {np.percentile(lat, 95):.2f} s  "
        f"max {lat[-1]:.2f} s  alerts {phase.alerted}/{phase.injected}  "
        f"writer late {phase.behind_s:.1f} s  "
        f"{'kept up' if phase.kept_up else 'FELL BEHIND'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--max-factor", type=float, default=16.0, help="highest rate factor")
    parser.add_argument("--poll", type=float, default=0.5, help="monitor --poll")
    parser.add_argument(
        "--new-pids",
        action="store_true",
        help="give every event a new pid: the parser's process history fills to its bound "
        "(65,536) and parents are unknown (more ParentNames alerts): a stress case",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        print("building the model and the event pool ...", flush=True)
        model, pool = build(tmp)
        log, alerts, state = tmp / "audit.log", tmp / "alerts.jsonl", tmp / "state.json"
        log.write_bytes(b"")
        command = [
            sys.executable, "-c", "from behavemodel.cli import main; main()", "monitor",
            "--model", str(model), "--follow", str(log), "--alerts", str(alerts),
            "--checkpoint", str(state), "--host", HOST, "--poll", str(args.poll),
        ]  # fmt: skip
        print("$ behavemodel " + " ".join(command[3:]), flush=True)
        monitor = subprocess.Popen(command, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 120
            while not state.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            proc = psutil.Process(monitor.pid)
            cpu0 = cpu_seconds(proc)
            time.sleep(5)
            idle = 100 * (cpu_seconds(proc) - cpu0) / 5
            print(f"idle: CPU {idle:.2f}% of a core, RSS {proc.memory_info().rss / 1e6:.0f} MB")
            watcher = Watcher(alerts)
            watcher.start()
            writer = Writer(log, pool, new_pids=args.new_pids)
            phases: list[Phase] = []
            factor = 1.0
            with log.open("ab", buffering=0) as fh:
                while factor <= args.max_factor:
                    phase = measure(proc, writer, watcher, fh, factor, args.seconds)
                    phases.append(phase)
                    print(report(phase), flush=True)
                    if not phase.kept_up:
                        break
                    factor *= 2
            watcher.stop()
            sustained = [p for p in phases if p.kept_up]
            best = max(sustained, key=lambda p: p.factor) if sustained else None
            print(
                "highest sustained rate: "
                + (f"{best.events_per_s:,.0f} events/s ({best.factor:g}x)" if best else "none")
            )
            base = phases[0]
            verdict = "MET" if base.kept_up and base.cpu_percent < 10 else "NOT MET"
            print(f"target (1x under 10% of one core): {verdict} ({base.cpu_percent:.1f}%)")
            print(f"background alerts written: {watcher.alerts - sum(p.alerted for p in phases)}")
        finally:
            monitor.send_signal(signal.SIGTERM)
            try:
                monitor.wait(30)
            except subprocess.TimeoutExpired:
                monitor.kill()
            assert monitor.stderr is not None
            tail = monitor.stderr.read().decode(errors="replace").strip().splitlines()[-3:]
            print("monitor stderr (last lines):", *tail, sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
