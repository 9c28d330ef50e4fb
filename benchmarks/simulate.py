"""Benchmark the fleet simulator: events/s and peak memory.

Measures, each in a fresh process (so peak RSS belongs to that step alone):

1. generation: ``iter_fleet_batches`` over a fleet-day, events/s without I/O;
2. Parquet: ``simulate_fleet_to_parquet`` (zstd, dictionary-encoded), events/s;
3. raw audit logs: ``render_auditd`` on 200,000 simulated events, events/s and MB/s;
4. the 28-million-event month (50 hosts x 30 days): with ``--full`` it is run;
   otherwise two shorter runs of the same fleet give time and memory per event,
   extrapolated linearly to 28M (generation is windowed, so memory stays flat;
   the slope shows it).

Usage::

    .venv/bin/python benchmarks/simulate.py            # about two minutes
    .venv/bin/python benchmarks/simulate.py --full     # the real 28M run (minutes)

Targets (issue 3): the 28M fleet in under 10 minutes with peak memory under 2 GiB;
generation >= 200k events/s; rendering >= 100k events/s.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time

TARGET_EVENTS = 28_000_000
#: A mid-size fleet: 50 hosts, about 950k events a day, 28.5M in 30 days.
FLEET = {"web": 20, "db": 6, "worker": 14, "bastion": 2, "monitoring": 2, "cache": 6}


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn, repeat: int = 3) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    """Best wall and CPU seconds of ``repeat`` runs (the machine may be shared)."""
    best_wall, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        best_wall = min(best_wall, time.perf_counter() - w)
        best_cpu = min(best_cpu, time.process_time() - c)
    return best_wall, best_cpu, result


def step_generate(hosts_per_group: int, days: float, repeat: int = 3) -> dict:
    from behavemodel.datasets import iter_fleet_batches

    def run() -> int:
        n = 0
        for batch in iter_fleet_batches(
            hosts_per_group=hosts_per_group,
            days=days,
            seed=0,
            scenarios="all",
            batch_size=1_000_000,
        ):
            n += batch.events.num_rows
        return n

    wall, cpu, n = _timed(run, repeat)
    assert isinstance(n, int)
    return {
        "events": n,
        "seconds": wall,
        "events_per_s": n / wall,
        "events_per_cpu_s": n / cpu,
        "peak_mib": _peak_mib(),
    }


def step_parquet(
    hosts_per_group: int = 2, days: float = 1.0, repeat: int = 1, fleet: bool = False
) -> dict:
    from behavemodel.datasets import DEFAULT_GROUPS, simulate_fleet_to_parquet

    sizes = []

    def run() -> int:
        with tempfile.TemporaryDirectory() as tmp:
            out = simulate_fleet_to_parquet(
                tmp,
                groups=FLEET if fleet else DEFAULT_GROUPS,
                hosts_per_group=hosts_per_group,
                days=days,
                seed=0,
                scenarios="all",
                batch_size=1_000_000,
            )
            sizes.append(out.events_path.stat().st_size)
        return out.n_events

    wall, cpu, n = _timed(run, repeat)
    assert isinstance(n, int)
    return {
        "events": n,
        "seconds": wall,
        "events_per_s": n / wall,
        "events_per_cpu_s": n / cpu,
        "peak_mib": _peak_mib(),
        "parquet_bytes_per_event": sizes[-1] / n,
    }


def step_render(events: int, repeat: int = 3) -> dict:
    import io

    import numpy as np
    import pyarrow as pa

    from behavemodel.datasets import render_auditd, simulate_fleet

    sim = simulate_fleet(hosts_per_group=2, days=1.0, seed=1, scenarios="all")
    hosts = sim.events.column("host_name").to_numpy(zero_copy_only=False)
    order = pa.array(np.argsort(hosts, kind="stable")[:events])  # one log per host, in order
    ev, ex = sim.events.take(order), sim._extras.take(order)
    n = ev.num_rows
    render_auditd(ev.slice(0, 2000), io.BytesIO(), extras=ex.slice(0, 2000))  # warm-up
    sizes = []

    def run() -> int:
        size = render_auditd(ev, io.BytesIO(), extras=ex)
        assert isinstance(size, int)
        sizes.append(size)
        return size

    wall, cpu, _ = _timed(run, repeat)
    return {
        "events": n,
        "seconds": wall,
        "events_per_s": n / wall,
        "events_per_cpu_s": n / cpu,
        "mb_per_s": sizes[-1] / 1e6 / wall,
        "bytes_per_event": sizes[-1] / n,
        "peak_mib": _peak_mib(),
    }


def _run(step: str, **kwargs: float) -> dict:
    cmd = [sys.executable, __file__, "--step", step, "--args", json.dumps(kwargs)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="run the 28M-event month")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--args", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.step:
        kwargs = json.loads(opts.args)
        fn = {"generate": step_generate, "parquet": step_parquet, "render": step_render}
        print(json.dumps(fn[opts.step](**kwargs)))
        return

    print("behavemodel fleet simulator benchmark (best of 3; wall time and CPU time, the machine")
    print("may be shared: events per CPU-second is the steadier number)")
    gen = _run("generate", hosts_per_group=3, days=1.0)
    print(
        f"generation (18 hosts, 1 day, no I/O): {gen['events']:,} events, "
        f"{gen['events_per_s']:,.0f} events/s wall, {gen['events_per_cpu_s']:,.0f} per CPU-s, "
        f"peak {gen['peak_mib']:.0f} MiB"
    )
    pq = _run("parquet", hosts_per_group=3, days=1.0, repeat=3)
    print(
        f"streaming Parquet writer (18 hosts, 1 day): {pq['events_per_s']:,.0f} events/s wall, "
        f"{pq['events_per_cpu_s']:,.0f} per CPU-s, {pq['parquet_bytes_per_event']:.1f} "
        f"bytes/event, peak {pq['peak_mib']:.0f} MiB"
    )
    rd = _run("render", events=200_000)
    print(
        f"raw ENRICHED audit logs (render_auditd, {rd['events']:,} events): "
        f"{rd['events_per_s']:,.0f} events/s wall, {rd['events_per_cpu_s']:,.0f} per CPU-s, "
        f"{rd['mb_per_s']:.0f} MB/s, {rd['bytes_per_event']:.0f} bytes/event"
    )
    if opts.full:
        month = _run("parquet", days=30.0, fleet=True)
        print(
            f"28M month (50 hosts x 30 days): {month['events']:,} events in "
            f"{month['seconds'] / 60:.1f} min ({month['events_per_s']:,.0f} events/s), "
            f"peak {month['peak_mib']:.0f} MiB"
        )
        return
    small = _run("parquet", days=1.0, fleet=True)
    large = _run("parquet", days=3.0, fleet=True)
    per_event = (large["seconds"] - small["seconds"]) / (large["events"] - small["events"])
    mem_slope = (large["peak_mib"] - small["peak_mib"]) / (large["events"] - small["events"])
    est_s = large["seconds"] + per_event * (TARGET_EVENTS - large["events"])
    est_mib = large["peak_mib"] + max(mem_slope, 0.0) * (TARGET_EVENTS - large["events"])
    for label, r in (("1 day", small), ("3 days", large)):
        print(
            f"50 hosts x {label}: {r['events']:,} events, {r['seconds']:.1f} s, "
            f"peak {r['peak_mib']:.0f} MiB"
        )
    print(
        f"extrapolated 28M events: {est_s / 60:.1f} min, peak {est_mib:.0f} MiB "
        f"(memory slope {mem_slope * 1e6:.1f} MiB per million events); run --full to measure"
    )


if __name__ == "__main__":
    main()
