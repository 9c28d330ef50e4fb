"""Benchmark: behavemodel's auditd reader against ``ausearch --format csv``.

Generates a realistic ENRICHED audit log (execve with EXECVE/CWD/PATH/PROCTITLE
records, connect/accept with SOCKADDR, file opens, some user-space login
records), then times in one run, on the same file:

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
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARCH = "c000003e"
USERS = [(0, "root"), (33, "www-data"), (1000, "alice"), (1001, "bob"), (998, "nagios")]
BINARIES = [
    f"/usr/bin/{name}"
    for name in (
        "bash",
        "curl",
        "python3",
        "ls",
        "cat",
        "grep",
        "sed",
        "awk",
        "find",
        "ssh",
        "git",
        "tar",
        "gzip",
        "sort",
        "uniq",
        "head",
        "tail",
        "date",
        "id",
        "ps",
        "systemctl",
    )
] + ["/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "/usr/sbin/nginx", "/opt/app/bin/worker"]
BINARIES += [f"/usr/local/bin/tool-{i:03d}" for i in range(300)]
REMOTE = ["10.0.0.5", "10.0.1.17", "192.168.10.3", "172.16.4.2", "2001:db8::15"]
FILES = ["/var/log/app/app.log", "/etc/app/config.yml", "/tmp/tmp.XyZ12", "/var/lib/app/data.db"]


def _quote_or_hex(value: str) -> str:
    raw = value.encode()
    if any(c <= 0x20 or c >= 0x7F or c == 0x22 for c in raw):
        return raw.hex().upper()
    return f'"{value}"'


def _sockaddr(ip: str, port: int) -> tuple[str, str]:
    import ipaddress

    addr = ipaddress.ip_address(ip)
    if addr.version == 4:
        raw = (2).to_bytes(2, "little") + port.to_bytes(2, "big") + addr.packed + bytes(8)
        fam = "inet"
    else:
        raw = (10).to_bytes(2, "little") + port.to_bytes(2, "big") + bytes(4) + addr.packed
        raw += bytes(4)
        fam = "inet6"
    enriched = f"SADDR={{ saddr_fam={fam} laddr={ip} lport={port} }}"
    return raw.hex().upper(), enriched


def generate_log(path: Path, n_events: int, *, seed: int = 0, node: str = "web-01") -> int:
    """Write an ENRICHED audit log with ``n_events`` events; return its size in bytes."""
    rng = random.Random(seed)
    t = 1_700_000_000.0
    serial = 1000
    gs = "\x1d"
    weights = [1 / (i + 1) for i in range(len(BINARIES))]  # Zipf-like activity
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for _ in range(n_events):
            t += rng.random() * 0.02
            serial += 1
            sec, ms = int(t), int((t % 1) * 1000)
            head = f"node={node} type={{}} msg=audit({sec}.{ms:03d}:{serial}): "
            uid, uname = rng.choice(USERS)
            auid, aname = rng.choice(USERS[2:4]) if rng.random() < 0.3 else (4294967295, "unset")
            ses = 7 if auid != 4294967295 else 4294967295
            tty = "pts0" if auid != 4294967295 else "(none)"
            exe = rng.choices(BINARIES, weights)[0]
            comm = exe.rsplit("/", 1)[1][:15]
            pid = rng.randrange(300, 4_000_000)
            ppid = rng.randrange(1, 4_000_000)
            kind = rng.random()
            if kind < 0.45:
                sysno, name, items = 59, "execve", 2
            elif kind < 0.70:
                sysno, name, items = 42, "connect", 0
            elif kind < 0.80:
                sysno, name, items = 43, "accept", 0
            elif kind < 0.97:
                sysno, name, items = 257, "openat", 2
            else:
                sysno, name, items = -1, "login", 0
            enr_ids = (
                f'{gs}ARCH=x86_64 SYSCALL={name} AUID="{aname}" UID="{uname}" GID="{uname}" '
                f'EUID="{uname}" SUID="{uname}" FSUID="{uname}" EGID="{uname}" SGID="{uname}" '
                f'FSGID="{uname}"'
            )
            if name == "login":
                out.write(
                    head.format("USER_LOGIN")
                    + f"pid={pid} uid=0 auid={auid} ses={ses} subj=unconfined msg='op=login "
                    f'id={auid} exe="/usr/sbin/sshd" hostname={REMOTE[0]} addr={REMOTE[0]} '
                    f"terminal=/dev/pts/0 res=success'"
                    f'{gs}UID="root" AUID="{aname}" ID="{aname}"\n'
                )
                continue
            success, exit_code = ("yes", 0)
            if name == "connect" and rng.random() < 0.2:
                success, exit_code = "no", -115
            a1 = "80241" if name == "openat" and rng.random() < 0.5 else "80000"
            out.write(
                head.format("SYSCALL")
                + f"arch={ARCH} syscall={sysno} success={success} exit={exit_code} a0=3 "
                f"a1={a1} a2=241 a3=0 items={items} ppid={ppid} pid={pid} auid={auid} uid={uid} "
                f"gid={uid} euid={uid} suid={uid} fsuid={uid} egid={uid} sgid={uid} fsgid={uid} "
                f'tty={tty} ses={ses} comm="{comm}" exe="{exe}" subj=unconfined key="{name}"'
                f"{enr_ids}\n"
            )
            if name == "execve":
                argv = [comm] + [
                    rng.choice(["-l", "-c", "--verbose", "/var/www", "x y"])
                    for _ in range(rng.randrange(0, 5))
                ]
                args = " ".join(f"a{i}={_quote_or_hex(a)}" for i, a in enumerate(argv))
                out.write(head.format("EXECVE") + f"argc={len(argv)} {args}\n")
                out.write(head.format("CWD") + 'cwd="/home/alice"\n')
                for item, pth in enumerate((exe, "/lib64/ld-linux-x86-64.so.2")):
                    out.write(
                        head.format("PATH")
                        + f'item={item} name="{pth}" inode={rng.randrange(10**6)} dev=fd:00 '
                        "mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 "
                        f'cap_fe=0 cap_fver=0{gs}OUID="root" OGID="root"\n'
                    )
                title = "\x00".join(argv).encode().hex().upper()
                out.write(head.format("PROCTITLE") + f"proctitle={title}\n")
            elif name in ("connect", "accept"):
                saddr, enr = _sockaddr(rng.choice(REMOTE), rng.choice([443, 80, 5432, 22, 6379]))
                out.write(head.format("SOCKADDR") + f"saddr={saddr}{gs}{enr}\n")
                out.write(head.format("PROCTITLE") + f'proctitle="{comm}"\n')
            else:
                target = rng.choice(FILES)
                out.write(head.format("CWD") + 'cwd="/"\n')
                parent = target.rsplit("/", 1)[0] + "/"
                out.write(
                    head.format("PATH") + f'item=0 name="{parent}" inode=1 dev=fd:00 mode=040755 '
                    "ouid=0 ogid=0 rdev=00:00 nametype=PARENT cap_fp=0 cap_fi=0 cap_fe=0 "
                    f'cap_fver=0{gs}OUID="root" OGID="root"\n'
                )
                out.write(
                    head.format("PATH") + f'item=1 name="{target}" inode=2 dev=fd:00 '
                    "mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 "
                    f'cap_fe=0 cap_fver=0{gs}OUID="root" OGID="root"\n'
                )
                out.write(head.format("PROCTITLE") + f'proctitle="{comm}"\n')
    return path.stat().st_size


def _time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _peak_rss_of(code: str) -> int:
    """Peak RSS (bytes) of a fresh interpreter running ``code``."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            code + "\nimport resource;print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)",
        ],
        check=True,
        capture_output=True,
        text=True,
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
    size = generate_log(log, args.events)
    print(f"log: {log} {size / 1e6:.1f} MB, {args.events} events")

    n_events = len(read_auditd(log))
    assert n_events == args.events, (n_events, args.events)
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
