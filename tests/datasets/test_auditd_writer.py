"""The audit-log writer: the on-disk format auditd produces, record by record."""

from __future__ import annotations

import io
import re
import shlex

import pyarrow as pa
import pytest

from behavemodel import schema as s
from behavemodel.datasets import Simulation, render_auditd, simulate_fleet
from behavemodel.datasets._auditd_writer import _execve_bodies_slow
from behavemodel.io import read_auditd


@pytest.fixture(scope="module")
def log(fleet_day: Simulation) -> list[str]:
    data = render_auditd(fleet_day)
    assert isinstance(data, bytes)
    return data.decode("utf-8").split("\n")[:-1]


def records(lines: list[str], rtype: str) -> list[str]:
    return [line for line in lines if f" type={rtype} " in line]


def test_records_as_auditd_writes_them(log: list[str]) -> None:
    types = {line.split(" type=")[1].split(" ")[0] for line in log}
    assert {"SYSCALL", "EXECVE", "CWD", "PATH", "PROCTITLE", "SOCKADDR", "USER_LOGIN", "LOGIN",
            "USER_ACCT", "CRED_ACQ", "USER_START", "USER_END", "USER_LOGOUT", "CRED_DISP",
            "USER_AUTH"} <= types  # fmt: skip
    assert "EOE" not in types  # auditd never writes EOE to disk
    assert all(line.startswith("node=") for line in log)
    header = re.compile(r"^node=\S+ type=[A-Z_]+ msg=audit\(\d+\.\d{3}:\d+\): ")
    assert all(header.match(line) for line in log)


def test_syscall_record_layout(log: list[str]) -> None:
    line = next(r for r in records(log, "SYSCALL") if "syscall=59 " in r and 'AUID="alice"' in r)
    body, enriched = line.split("\x1d")
    assert re.search(
        r"arch=c000003e syscall=59 success=yes exit=0 a0=[0-9a-f]+ a1=[0-9a-f]+ a2=[0-9a-f]+ "
        r"a3=[0-9a-f]+ items=[23] ppid=\d+ pid=\d+ auid=1000 uid=\d+ gid=\d+ euid=\d+ suid=\d+ "
        r"fsuid=\d+ egid=\d+ sgid=\d+ fsgid=\d+ tty=pts\d ses=\d+ comm=\S+ exe=\S+ "
        r"subj=unconfined key=\"exec\"$",
        body,
    )
    assert enriched.startswith('ARCH=x86_64 SYSCALL=execve AUID="alice" UID="')
    daemon = next(r for r in records(log, "SYSCALL") if "auid=4294967295" in r)
    assert "ses=4294967295" in daemon and 'AUID="unset"' in daemon


def test_aarch64_records(log: list[str]) -> None:
    arm = [r for r in records(log, "SYSCALL") if r.startswith("node=cache-01 ")]
    assert arm and all("arch=c00000b7" in r and "ARCH=aarch64" in r for r in arm)
    assert any("syscall=221 " in r for r in arm)  # execve
    assert not any("syscall=59 " in r for r in arm)


def test_value_encoding(log: list[str]) -> None:
    # comm/exe with a space or " (deleted)" are hex; plain ones quoted
    runc = next(r for r in records(log, "SYSCALL") if 'comm="exe"' in r)
    exe = re.search(r" exe=(\S+)", runc).group(1)  # type: ignore[union-attr]
    assert bytes.fromhex(exe).decode() == "/memfd:runc_cloned:/proc/self/exe (deleted)"
    # multi-argument proctitles contain NULs, so they are hex
    title = next(r for r in records(log, "PROCTITLE") if "proctitle=2F7573722F7362696E2F" in r)
    value = title.split("proctitle=")[1]
    assert b"\x00" in bytes.fromhex(value)
    assert len(bytes.fromhex(value)) <= 128


def test_sockaddr_records(log: list[str]) -> None:
    v4 = next(r for r in records(log, "SOCKADDR") if "saddr_fam=inet laddr=0.0.0.0 lport=22 " in r)
    assert re.search(r"saddr=02000016000000000000000000000000\x1d", v4)
    v6 = next(r for r in records(log, "SOCKADDR") if "saddr_fam=inet6 laddr=:: lport=22 " in r)
    assert re.search(r"saddr=0A000016000000000{32}00000000\x1d", v6)


def test_open_for_write_and_rename_paths(log: list[str]) -> None:
    sys = records(log, "SYSCALL")
    openat = next(r for r in sys if "syscall=257 " in r and " a2=241 " in r)
    assert " a0=ffffff9c " in openat and " items=2 " in openat
    serial = re.search(r"msg=audit\(([^)]+)\)", openat).group(1)  # type: ignore[union-attr]
    paths = [r for r in records(log, "PATH") if f"({serial})" in r]
    assert [re.search(r"nametype=(\w+)", p).group(1) for p in paths] == ["PARENT", "CREATE"]  # type: ignore[union-attr]
    rename = next(r for r in sys if "syscall=82 " in r)
    serial = re.search(r"msg=audit\(([^)]+)\)", rename).group(1)  # type: ignore[union-attr]
    kinds = [
        re.search(r"nametype=(\w+)", p).group(1)  # type: ignore[union-attr]
        for p in records(log, "PATH")
        if f"({serial})" in p
    ]
    assert kinds == ["PARENT", "PARENT", "DELETE", "DELETE", "CREATE"]


def test_user_login_record(log: list[str]) -> None:
    line = next(r for r in records(log, "USER_LOGIN") if "res=success" in r)
    assert re.search(
        r"pid=\d+ uid=0 auid=\d+ ses=\d+ subj=unconfined msg='op=login id=\d+ "
        r"exe=\"/usr/sbin/sshd\" hostname=[\d.]+ addr=[\d.]+ terminal=/dev/pts/\d res=success'"
        r"\x1dUID=\"root\" AUID=\"\w+\" ID=\"\w+\"$",
        line,
    )
    failed = next(r for r in records(log, "USER_LOGIN") if "res=failed" in r)
    assert "acct=" in failed and " id=" not in failed


def test_long_arguments_are_split_like_the_kernel() -> None:
    payload = "A" * 20000
    bodies = _execve_bodies_slow([b"python3", b"-c", payload.encode(), b"--x"])
    assert len(bodies) >= 3  # continued in further EXECVE records
    # an argument too long for the kernel's buffer is always hex-encoded
    assert bodies[0].startswith('argc=4 a0="python3" a1="-c" a2_len=40000 a2[0]=4141')
    assert all(len(b) <= 7500 + 100 for b in bodies)
    chunks = re.findall(r"a2\[(\d+)\]=([0-9A-F]+)", " ".join(bodies))
    assert [int(i) for i, _ in chunks] == list(range(len(chunks)))
    assert bytes.fromhex("".join(c for _, c in chunks)).decode() == payload
    assert bodies[-1].endswith(' a3="--x"')
    medium = _execve_bodies_slow([b"a" * 4000, b"b" * 4000])
    # fits no more in the first record's budget: split, still quoted
    assert 'a1_len=4000 a1[0]="' in " ".join(medium)


def test_long_argument_round_trips_through_the_reader() -> None:
    sim = simulate_fleet(
        groups=["web"], hosts_per_group=1, days=0.3, seed=1, scenarios=["reverse_shell"]
    )
    log = render_auditd(sim)
    assert isinstance(log, bytes)
    assert b"a2_len=" in log and log.count(b"type=EXECVE") > log.count(b"syscall=59 ")
    back = read_auditd(io.BytesIO(log))
    longest = back["process_cmdline"].str.len().max()
    assert longest == sim.to_pandas()["process_cmdline"].str.len().max() > 9000


def test_plain_canonical_tables_render_too() -> None:
    """Without the simulator's private columns, argv comes from shlex.split(cmdline)."""
    sim = simulate_fleet(groups=["db"], hosts_per_group=1, days=0.05, seed=2)
    table = sim.events.slice(0, 40)
    log = render_auditd(s.to_pandas(table))
    back = read_auditd(io.BytesIO(log))
    assert len(back) == 40
    assert back["process_cmdline"].tolist() == s.to_pandas(table)["process_cmdline"].tolist()
    one = table.slice(1, 1).to_pylist()[0]
    assert shlex.split(one["process_cmdline"])[0] in log.decode()


def test_without_enriched(fleet_day: Simulation) -> None:
    data = render_auditd(
        fleet_day.events.slice(0, 500), enriched=False, extras=fleet_day._extras.slice(0, 500)
    )
    assert isinstance(data, bytes) and b"\x1d" not in data


def test_stream_and_bad_ids(tmp_path) -> None:
    sim = simulate_fleet(groups=["db"], hosts_per_group=1, days=0.02, seed=2)
    with open(tmp_path / "a.log", "wb") as fh:
        n = render_auditd(sim, fh)
    assert n == (tmp_path / "a.log").stat().st_size > 0
    bad = sim.events.set_column(
        sim.events.schema.get_field_index(s.EVENT_ID),
        s.EVENT_ID,
        pa.array(["x"] * sim.events.num_rows),
    )
    with pytest.raises(ValueError, match=r"host:seconds\.millis:serial"):
        render_auditd(bad)


def test_rotation_and_interleaving(tmp_path) -> None:
    fleet_day = simulate_fleet(groups=["monitoring", "web"], hosts_per_group=1, days=0.3, seed=9)
    plain = tmp_path / "plain"
    rotated = tmp_path / "rotated"
    fleet_day.write_audit_logs(plain, interleave=0.0)
    paths = fleet_day.write_audit_logs(rotated, max_bytes=1_000_000, interleave=0.0)
    web = [p for p in paths if p.parent.name == "monitoring-01"]
    assert [p.name for p in web][-1] == "audit.log" and len(web) > 2
    assert web[0].name == f"audit.log.{len(web) - 1}"  # oldest first
    joined = b"".join(p.read_bytes() for p in web)
    assert joined == (plain / "monitoring-01" / "audit.log").read_bytes()
    mixed = fleet_day.write_audit_logs(tmp_path / "mixed", interleave=0.05)
    for p in mixed:
        original = (plain / p.parent.name / "audit.log").read_bytes().split(b"\n")
        assert sorted(p.read_bytes().split(b"\n")) == sorted(original)
    assert any(p.read_bytes() != (plain / p.parent.name / "audit.log").read_bytes() for p in mixed)
