"""Benchmark: behavemodel's auditd reader against ``ausearch --format csv``.

Generates a realistic ENRICHED audit log with the fleet simulator (execve with
EXECVE/CWD/PATH/PROCTITLE records, connect/accept/bind with SOCKADDR, file writes,
PAM and login records, several hosts, x86_64 and aarch64), then times in one run,
on the same file:

- ``read_auditd(FILE)`` (one process) and ``read_auditd(FILE, jobs=2)``;
- ``ausearch --format csv -if FILE`` (Debian's ``auditd`` package), the reference;
- ``ausearch --raw -if FILE`` for scale;

and prints events/s for each, the ratios, and the peak RSS of streaming the file
with ``iter_auditd`` at two file sizes (memory must stay flat in the file size).

Run: ``.venv/bin/python benchmarks/parse_auditd.py [--events 200000] [--repeat 3]``.
Target (issue 2): read_auditd >= 2x the events/s of ausearch --format csv on one
core, near-linear gain from ``jobs=2``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def generate_log(path: Path, n_events: int, *, seed: int = 1) -> int:
    """Write a realistic ENRICHED audit log with at least ``n_events`` events.

    The fleet simulator's events (six server groups, one on aarch64, every attack
    scenario) rendered as auditd writes them to disk: SYSCALL with EXECVE, CWD,
    PATH and PROCTITLE for execs, SOCKADDR for connect/accept/bind, PATH for
    file writes, PAM and login records. Returns the number of events written.
    """
    from behavemodel.datasets import render_auditd, simulate_fleet

    days = max(0.05, n_events / 170_000)
    while True:
        sim = simulate_fleet(hosts_per_group=2, days=days, seed=seed, scenarios="all")
        if sim.events.num_rows >= n_events:
            break
        days *= 1.25
    events = sim.events.slice(0, n_events)
    with open(path, "wb") as fh:
        render_auditd(events, fh)
    return events.num_rows


def _time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _peak_rss_of(code: str) -> int:
    """Peak RSS (bytes) of a fresh interpreter running ``code``.

    Read from /proc/self/status (VmHWM): ``ru_maxrss`` of a child started with
    fork+exec keeps the parent's peak, which would measure this benchmark.
    """
    probe = (
        "\nprint(next(int(l.split()[1]) for l in open('/proc/self/status') "
        "if l.startswith('VmHWM')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code + probe], check=True, capture_output=True, text=True
    )
    return int(out.stdout.strip().splitlines()[-1]) * 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="keep the generated log here")
    args = parser.parse_args(argv)

    from behavemodel.io import read_auditd

    workdir = args.dir or Path(tempfile.mkdtemp(prefix="bm-parse-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "audit.log"
    written = generate_log(log, args.events)
    size = log.stat().st_size
    print(f"log: {log} {size / 1e6:.1f} MB, {written:,} events (simulated fleet, ENRICHED)")

    n_events = len(read_auditd(log))
    assert n_events == written, (n_events, written)
    args.events = written
    ours = _time(lambda: read_auditd(log), args.repeat)
    ours2 = _time(lambda: read_auditd(log, jobs=2), args.repeat)
    rows = [("read_auditd (1 process)", ours), ("read_auditd (jobs=2)", ours2)]

    ausearch = shutil.which("ausearch")
    csv_time = None
    if ausearch:

        def run(*flags: str) -> None:
            subprocess.run(
                [ausearch, *flags, "-if", str(log)],
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        csv_time = _time(lambda: run("--format", "csv"), args.repeat)
        raw_time = _time(lambda: run("--raw"), args.repeat)
        rows += [("ausearch --format csv", csv_time), ("ausearch --raw", raw_time)]
    else:
        print("ausearch not found: install Debian's auditd package (apt-get install auditd)")

    print(f"\n{'reader':28} {'seconds':>8} {'events/s':>10} {'vs csv':>7}")
    for name, seconds in rows:
        ratio = f"{csv_time / seconds:6.2f}x" if csv_time else "   n/a"
        print(f"{name:28} {seconds:8.2f} {args.events / seconds:10,.0f} {ratio}")
    print(f"\njobs=2 speed-up over 1 process: {ours / ours2:.2f}x")

    # Memory: stream the file and a 4x larger one with iter_auditd.
    big = workdir / "audit-4x.log"
    with open(big, "wb") as out:
        for _ in range(4):
            out.write(log.read_bytes())
    stream = (
        "from behavemodel.io import iter_auditd\n"
        "n = sum(b.num_rows for b in iter_auditd({path!r}, on_error='skip'))\n"
    )
    rss1 = _peak_rss_of(stream.format(path=str(log)))
    rss4 = _peak_rss_of(stream.format(path=str(big)))
    print(
        f"peak RSS streaming 1x: {rss1 / 2**20:.0f} MiB, 4x: {rss4 / 2**20:.0f} MiB "
        f"(ratio {rss4 / rss1:.2f})"
    )


if __name__ == "__main__":
    main()
