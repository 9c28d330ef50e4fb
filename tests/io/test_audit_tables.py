"""Tests for behavemodel.io._audit_tables: arch parsing and the syscall / record tables."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from behavemodel.io import _audit_tables
from behavemodel.io._audit_tables import (
    ArchInfo,
    arch_info,
    encoded_fields,
    is_encoded_field,
    is_standalone_record,
    record_type_name,
    record_type_number,
    syscall_name,
    syscall_names,
    syscall_number,
    syscall_table,
    syscall_table_names,
)

# (arch as logged, number, name): numbers every reader depends on.
SPOT_CHECKS = [
    ("c000003e", 59, "execve"),
    ("c000003e", 42, "connect"),
    ("c000003e", 43, "accept"),
    ("c000003e", 288, "accept4"),
    ("c000003e", 49, "bind"),
    ("c000003e", 50, "listen"),
    ("c000003e", 257, "openat"),
    ("c00000b7", 221, "execve"),
    ("c00000b7", 203, "connect"),
    ("c00000b7", 202, "accept"),
    ("c00000b7", 242, "accept4"),
    ("40000003", 11, "execve"),
    ("40000003", 102, "socketcall"),
    ("40000003", 362, "connect"),
    ("40000028", 11, "execve"),
    ("40000028", 283, "connect"),
    ("28", 283, "connect"),
    ("80000016", 11, "execve"),
    ("16", 11, "execve"),
    ("14", 11, "execve"),
    ("80000015", 11, "execve"),
    ("c0000015", 11, "execve"),
    ("c00000f3", 221, "execve"),
    ("c00000f3", 203, "connect"),
    ("400000f3", 221, "execve"),
]

# (hex arch, name, bits, big endian, syscall table)
ARCHES = [
    ("c000003e", "x86_64", 64, False, "x86_64"),
    ("40000003", "i386", 32, False, "i386"),
    ("c00000b7", "aarch64", 64, False, "aarch64"),
    ("40000028", "arm", 32, False, "arm"),
    ("28", "armeb", 32, True, "arm"),
    ("14", "ppc", 32, True, "ppc"),
    ("80000015", "ppc64", 64, True, "ppc"),
    ("c0000015", "ppc64le", 64, False, "ppc"),
    ("16", "s390", 32, True, "s390"),
    ("80000016", "s390x", 64, True, "s390x"),
    ("c00000f3", "riscv64", 64, False, "riscv64"),
    ("400000f3", "riscv32", 32, False, "riscv32"),
]

# Our table name -> (ausyscall argument, table ausyscall announces when it knows it).
AUSYSCALL_ARGS = {
    "x86_64": ("x86_64", "x86_64"),
    "i386": ("i386", "i386"),
    "aarch64": ("aarch64", "aarch64"),
    "arm": ("arm", "armeb"),
    "ppc": ("ppc", "ppc"),
    "s390": ("s390", "s390"),
    "s390x": ("s390x", "s390x"),
    "riscv64": ("riscv64", "riscv64"),
    "riscv32": ("riscv32", "riscv32"),
}


@pytest.mark.parametrize(("arch", "number", "name"), SPOT_CHECKS)
def test_syscall_spot_checks(arch: str, number: int, name: str) -> None:
    assert syscall_name(arch, number) == name
    info = arch_info(arch)
    assert info is not None
    assert syscall_name(info, number) == name
    assert syscall_number(info.syscall_table, name) == number
    assert syscall_number(arch, name) == number


@pytest.mark.parametrize(("hex_arch", "name", "bits", "big_endian", "table"), ARCHES)
def test_arch_info_from_hex_and_name(
    hex_arch: str, name: str, bits: int, big_endian: bool, table: str
) -> None:
    expected = ArchInfo(name, bits, big_endian, table, int(hex_arch, 16))
    for spelling in (hex_arch, hex_arch.upper(), f"0x{hex_arch}", f"0X{hex_arch.upper()}"):
        assert arch_info(spelling) == expected
    assert arch_info(f" {hex_arch}\n") == expected
    assert arch_info(int(hex_arch, 16)) == expected
    assert arch_info(np.uint32(int(hex_arch, 16))) == expected
    assert arch_info(name) == expected
    assert arch_info(name.upper()) == expected


@pytest.mark.parametrize(("hex_arch", "name", "bits", "big_endian", "table"), ARCHES)
def test_audit_arch_flags(
    hex_arch: str, name: str, bits: int, big_endian: bool, table: str
) -> None:
    value = int(hex_arch, 16)
    assert bool(value & 0x80000000) == (bits == 64)
    assert bool(value & 0x40000000) == (not big_endian)


def test_arch_aliases() -> None:
    assert arch_info("i686") == arch_info("i386")
    assert arch_info("amd64") == arch_info("x86_64")
    assert arch_info("arm64") == arch_info("aarch64")
    assert arch_info("armv7l") == arch_info("arm")


@pytest.mark.parametrize(
    "value",
    ["", "   ", "0x", "sparc64", "c000003e0", "zz", "c0000032", "ffffffff", "-1", "None", "59"],
)
def test_arch_info_unknown_is_none(value: str) -> None:
    assert arch_info(value) is None


@pytest.mark.parametrize("value", [None, 3.5, b"c000003e", True, -1, 2**40, ["x86_64"]])
def test_arch_info_never_raises_on_odd_types(value: object) -> None:
    assert arch_info(value) is None  # type: ignore[arg-type]


def test_syscall_name_unknown_values() -> None:
    assert syscall_name("c000003e", 100_000) is None
    assert syscall_name("c000003e", -1) is None
    assert syscall_name("sparc64", 59) is None
    assert syscall_name("c000003e", "not a number") is None  # type: ignore[arg-type]
    assert syscall_number("x86_64", "no_such_syscall") is None
    assert syscall_number("sparc64", "execve") is None


def test_syscall_table_accepts_table_and_arch_names() -> None:
    assert syscall_table("ppc64le") == syscall_table("ppc")
    assert syscall_table("armeb") == syscall_table("arm")
    assert syscall_table("c00000f3")[221] == "execve"


def test_syscall_table_returns_a_copy() -> None:
    table = syscall_table("x86_64")
    table[59] = "changed"
    assert syscall_name("x86_64", 59) == "execve"


def test_syscall_table_unknown_name_says_what_to_use() -> None:
    with pytest.raises(ValueError, match=r"Got 'sparc64' instead.*x86_64"):
        syscall_table("sparc64")


def test_tables_are_distinct_where_abis_differ() -> None:
    # riscv64 must not be a silent copy of x86_64 (ausyscall's fallback).
    assert syscall_table("riscv64") != syscall_table("x86_64")
    assert syscall_table("s390") != syscall_table("s390x")
    assert syscall_table("riscv32")[25] == "fcntl64"
    assert syscall_table("riscv64")[25] == "fcntl"


@pytest.mark.parametrize("table", syscall_table_names())
def test_round_trip_number_name(table: str) -> None:
    entries = syscall_table(table)
    assert len(entries) > 250
    assert len(set(entries.values())) == len(entries), "a name appears twice"
    for number, name in entries.items():
        assert syscall_number(table, name) == number
        assert syscall_name(table, number) == name


def test_syscall_names_matches_scalar_lookups() -> None:
    arches = np.array(
        ["c000003e", "C000003E", "0xc00000b7", None, "bogus", "40000003", "c00000f3", "x86_64"],
        dtype=object,
    )
    numbers = np.array([59, 42, 221, 59, 59, 102, 221, 100_000])
    expected = ["execve", "connect", "execve", None, None, "socketcall", "execve", None]
    result = syscall_names(arches, numbers)
    assert result.dtype == object
    assert result.tolist() == expected
    assert syscall_names(arches.tolist(), numbers.tolist()).tolist() == expected


def test_syscall_names_with_missing_numbers() -> None:
    numbers = np.array([59.0, np.nan, 42.0, 42.5, -3.0])
    result = syscall_names(["x86_64"] * 5, numbers)
    assert result.tolist() == ["execve", None, "connect", None, None]
    result = syscall_names(["x86_64"] * 4, ["59", None, "x", "42"])
    assert result.tolist() == ["execve", None, None, "connect"]


def test_syscall_names_scalar_arch_and_empty_input() -> None:
    assert syscall_names("c00000b7", np.array([221, 203])).tolist() == ["execve", "connect"]
    assert syscall_names("bogus", np.array([1])).tolist() == [None]
    assert syscall_names([], np.array([], dtype=np.int64)).tolist() == []


def test_syscall_names_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="one syscall number per arch value"):
        syscall_names(["x86_64", "x86_64"], np.array([59]))


def test_syscall_names_works_per_distinct_value(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    real_arch_info = _audit_tables.arch_info

    def counting_arch_info(value: str | int) -> ArchInfo | None:
        calls.append(value)
        return real_arch_info(value)

    monkeypatch.setattr(_audit_tables, "arch_info", counting_arch_info)
    rng = np.random.default_rng(0)
    distinct = np.array(["c000003e", "c00000b7", "40000003", "bogus"], dtype=object)
    arches = rng.choice(distinct, size=200_000)
    numbers = rng.integers(0, 400, size=200_000)
    result = syscall_names(arches, numbers)
    assert len(calls) <= len(distinct)
    sample = rng.integers(0, 200_000, size=500)
    for row in sample:
        assert result[row] == real_syscall_name(arches[row], int(numbers[row]))


def real_syscall_name(arch: str, number: int) -> str | None:
    info = arch_info(arch)
    return None if info is None else syscall_table(info.syscall_table).get(number)


@pytest.mark.parametrize(
    ("number", "name"),
    [
        (1300, "SYSCALL"),
        (1302, "PATH"),
        (1306, "SOCKADDR"),
        (1307, "CWD"),
        (1309, "EXECVE"),
        (1320, "EOE"),
        (1327, "PROCTITLE"),
        (1335, "EVENT_LISTENER"),
        (1336, "URINGOP"),
        (1337, "OPENAT2"),
        (1338, "DM_CTRL"),
        (1339, "DM_EVENT"),
        (1006, "LOGIN"),
        (1112, "USER_LOGIN"),
        (1400, "AVC"),
        (1500, "APPARMOR"),
        (1701, "ANOM_ABEND"),
        (2119, "ANOM_LOGIN_ROOT"),
        (2404, "CRYPTO_KEY_USER"),
    ],
)
def test_record_types(number: int, name: str) -> None:
    assert record_type_name(number) == name
    assert record_type_number(name) == number
    assert record_type_number(name.lower()) == number
    assert record_type_number(f"AUDIT_{name}") == number


def test_record_type_unknowns() -> None:
    assert record_type_name(1999) is None
    assert record_type_number("NOPE") is None
    assert record_type_number("UNKNOWN[1999]") == 1999
    assert record_type_number("AA") == 1500


def test_encoded_fields_from_dictionary() -> None:
    fields = encoded_fields()
    assert {"exe", "comm", "cwd", "name", "proctitle", "saddr", "key", "data"} <= fields
    assert not {"pid", "uid", "a0", "arch", "syscall"} & fields


@pytest.mark.parametrize(
    ("name", "record_type", "expected"),
    [
        ("a0", "EXECVE", True),
        ("a12", "EXECVE", True),
        ("a2[0]", "EXECVE", True),
        ("a2[13]", "execve", True),
        ("a2", 1309, True),
        ("a2_len", "EXECVE", False),
        ("argc", "EXECVE", False),
        ("a0", "SYSCALL", False),
        ("a3", 1300, False),
        ("exe", "SYSCALL", True),
        ("proctitle", "PROCTITLE", True),
        ("name", "PATH", True),
        ("inode", "PATH", False),
        ("saddr", "SOCKADDR", True),
        ("acct", "USER_LOGIN", True),
        ("a0", "UNKNOWN[1999]", False),
    ],
)
def test_is_encoded_field(name: str, record_type: str | int, expected: bool) -> None:
    assert is_encoded_field(name, record_type) is expected


@pytest.mark.parametrize(
    ("record_type", "expected"),
    [
        ("USER_LOGIN", True),
        ("USER_ACCT", True),
        ("CRED_ACQ", True),
        (1100, True),
        (1199, True),
        ("DAEMON_START", True),
        (1299, True),
        ("ANOM_LOGIN_FAILURES", True),
        ("VIRT_CONTROL", True),
        (2999, True),
        ("UNKNOWN[1139]", True),
        ("SYSCALL", False),
        ("EXECVE", False),
        ("PROCTITLE", False),
        ("EOE", False),
        (1399, False),
        ("AVC", False),
        ("ANOM_ABEND", False),
        ("LOGIN", False),
        (1099, False),
        (3000, False),
        ("NOT_A_TYPE", False),
        (True, False),
    ],
)
def test_is_standalone_record(record_type: str | int, expected: bool) -> None:
    assert is_standalone_record(record_type) is expected


def _ausyscall_dump(executable: str, arch: str) -> tuple[str, dict[int, str]]:
    output = subprocess.run(
        [executable, arch, "--dump"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    header = output[0]
    table = {}
    for line in output[1:]:
        number, name = line.split()
        table[int(number)] = name
    return header, table


@pytest.mark.parametrize("table", syscall_table_names())
def test_tables_agree_with_ausyscall(table: str) -> None:
    executable = shutil.which("ausyscall")
    if executable is None:
        pytest.skip("ausyscall (package auditd) is not installed; cannot cross-check tables")
    arch, announced = AUSYSCALL_ARGS[table]
    header, theirs = _ausyscall_dump(executable, arch)
    if header.split()[1:2] != [announced]:
        pytest.skip(
            f"this ausyscall does not know {arch!r} (it answered {header!r}); "
            f"the {table} table comes from audit-userspace lib/{table}_table.h"
        )
    ours = syscall_table(table)
    renamed = {
        n: (ours[n], theirs[n]) for n in ours.keys() & theirs.keys() if ours[n] != theirs[n]
    }
    assert not renamed, f"{table}: names differ (ours, ausyscall's): {renamed}"
    missing = sorted(theirs.keys() - ours.keys())
    assert not missing, (
        f"{table}: ausyscall knows {missing}; regenerate with scripts/generate_audit_tables.py"
    )
    newer = sorted(ours.keys() - theirs.keys())
    assert all(number > max(theirs) for number in newer), (
        f"{table}: numbers {newer} are not in ausyscall's table and not newer than it"
    )
