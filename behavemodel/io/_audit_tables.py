"""Lookup tables for reading Linux audit logs: architectures, syscalls, record types, fields.

The tables live in ``behavemodel/io/data/`` as CSV files (see the README there for
their sources and how to regenerate them) and are read on first use, then cached.
Every lookup that takes values from a log returns ``None`` or ``False`` for a value it
does not know; none of them raises on data.

Examples
--------
>>> from behavemodel.io._audit_tables import arch_info, record_type_name, syscall_name
>>> syscall_name("c000003e", 59)
'execve'
>>> arch_info("c00000b7").name
'aarch64'
>>> record_type_name(1300)
'SYSCALL'
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "ArchInfo",
    "arch_info",
    "encoded_fields",
    "is_encoded_field",
    "is_standalone_record",
    "record_type_name",
    "record_type_number",
    "syscall_name",
    "syscall_names",
    "syscall_number",
    "syscall_table",
    "syscall_table_names",
]

_DATA_PACKAGE = "behavemodel.io"

# Audit arch = ELF machine | 0x80000000 (64-bit) | 0x40000000 (little endian),
# as in the kernel's include/uapi/linux/audit.h.
_AUDIT_ARCH_64BIT = 0x80000000
_AUDIT_ARCH_LE = 0x40000000

# (name, ELF machine, bits, little endian, syscall table). arm and armeb share one table;
# ppc, ppc64 and ppc64le share another (audit-userspace keeps a single ppc table).
_ARCHES: tuple[tuple[str, int, int, bool, str], ...] = (
    ("x86_64", 62, 64, True, "x86_64"),
    ("i386", 3, 32, True, "i386"),
    ("aarch64", 183, 64, True, "aarch64"),
    ("arm", 40, 32, True, "arm"),
    ("armeb", 40, 32, False, "arm"),
    ("ppc", 20, 32, False, "ppc"),
    ("ppc64", 21, 64, False, "ppc"),
    ("ppc64le", 21, 64, True, "ppc"),
    ("s390", 22, 32, False, "s390"),
    ("s390x", 22, 64, False, "s390x"),
    ("riscv64", 243, 64, True, "riscv64"),
    ("riscv32", 243, 32, True, "riscv32"),
)

# Other spellings of the names: libaudit's machine aliases (uname -m values) and the
# Debian / Go architecture names that other event sources use.
_ARCH_ALIASES = {
    "i486": "i386",
    "i586": "i386",
    "i686": "i386",
    "amd64": "x86_64",
    "arm64": "aarch64",
    "armv5tejl": "arm",
    "armv7l": "arm",
    "ppc64el": "ppc64le",
}

# Record type ranges from the Linux Audit documentation project's
# specs/messages/message-dictionary-ranges.txt (also AUDIT_FIRST_USER_MSG,
# AUDIT_LAST_USER_MSG, AUDIT_FIRST_USER_MSG2 and AUDIT_LAST_USER_MSG2 in the kernel's
# include/uapi/linux/audit.h): user-space messages and audit-daemon messages.
_STANDALONE_RANGES = ((1100, 1199), (1200, 1299), (2100, 2999))

_HEX_ARCH = re.compile(r"(?:0x)?([0-9a-f]{1,8})")
_UNKNOWN_TYPE = re.compile(r"UNKNOWN\[(\d+)\]")
_EXECVE_ARGUMENT = re.compile(r"a\d+(?:\[\d+\])?")
_MAX_SYSCALL_NUMBER = 2**31


@dataclass(frozen=True)
class ArchInfo:
    """What an audit ``arch=`` value says about the machine that logged it.

    Parameters
    ----------
    name : str
        Canonical name, as ``ausyscall`` and the kernel spell it (``"x86_64"``,
        ``"armeb"``, ``"ppc64le"``...).
    bits : int
        Word size, 32 or 64.
    big_endian : bool
        True for big-endian ABIs (armeb, ppc, ppc64, s390, s390x).
    syscall_table : str
        Name of the syscall table to resolve numbers with; several ABIs share one
        (arm and armeb use ``"arm"``; ppc, ppc64 and ppc64le use ``"ppc"``).
    audit_arch : int
        The numeric audit arch, ELF machine | 0x80000000 (64-bit) | 0x40000000 (little
        endian), as written in hex in ``arch=`` fields.

    Examples
    --------
    >>> info = arch_info("c000003e")
    >>> info
    ArchInfo(name='x86_64', bits=64, big_endian=False, syscall_table='x86_64',
             audit_arch=3221225534)
    >>> f"{info.audit_arch:x}"
    'c000003e'
    """

    name: str
    bits: int
    big_endian: bool
    syscall_table: str
    audit_arch: int


def _build_arches() -> tuple[dict[int, ArchInfo], dict[str, ArchInfo]]:
    by_number: dict[int, ArchInfo] = {}
    by_name: dict[str, ArchInfo] = {}
    for name, machine, bits, little_endian, table in _ARCHES:
        number = machine
        if bits == 64:
            number |= _AUDIT_ARCH_64BIT
        if little_endian:
            number |= _AUDIT_ARCH_LE
        info = ArchInfo(name, bits, not little_endian, table, number)
        by_number[number] = info
        by_name[name] = info
    for alias, name in _ARCH_ALIASES.items():
        by_name[alias] = by_name[name]
    return by_number, by_name


_ARCH_BY_NUMBER, _ARCH_BY_NAME = _build_arches()


def arch_info(value: str | int | np.integer[Any]) -> ArchInfo | None:
    """Describe the architecture an audit ``arch=`` value (or an arch name) stands for.

    Parameters
    ----------
    value : str or int
        The hex audit arch as logged (``"c000003e"``, with or without ``0x``, any case),
        the same number as an int, or a name (``"x86_64"``, ``"aarch64"``, ``"i686"``...).

    Returns
    -------
    ArchInfo or None
        None for anything unknown; never raises on data.

    Notes
    -----
    libaudit 3.0.9 prints the little-endian ARM arch (``40000028``) as ``ARCH=armeb`` in
    ENRICHED logs, so prefer the hex ``arch=`` field when both are present. Both resolve
    to the same syscall table.

    Examples
    --------
    >>> arch_info("C000003E").name
    'x86_64'
    >>> arch_info("0x40000003").bits
    32
    >>> [arch_info(v).big_endian for v in ("40000028", "28", "80000015", "c0000015")]
    [False, True, True, False]
    >>> arch_info("ppc64le").syscall_table
    'ppc'
    >>> arch_info("sparc64") is None, arch_info("") is None
    (True, True)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | np.integer):
        return _ARCH_BY_NUMBER.get(int(value))
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    info = _ARCH_BY_NAME.get(text)
    if info is not None:
        return info
    match = _HEX_ARCH.fullmatch(text)
    if match is None:
        return None
    return _ARCH_BY_NUMBER.get(int(match.group(1), 16))


def _read_rows(filename: str) -> list[dict[str, str]]:
    resource = resources.files(_DATA_PACKAGE) / "data" / filename
    text = resource.read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@functools.cache
def _syscall_tables() -> dict[str, dict[int, str]]:
    tables: dict[str, dict[int, str]] = {}
    for row in _read_rows("syscalls.csv"):
        tables.setdefault(row["table"], {})[int(row["number"])] = row["name"]
    return tables


@functools.cache
def _syscall_numbers() -> dict[str, dict[str, int]]:
    return {
        table: {name: number for number, name in names.items()}
        for table, names in _syscall_tables().items()
    }


def syscall_table_names() -> tuple[str, ...]:
    """Names of the syscall tables shipped with behavemodel.

    Examples
    --------
    >>> syscall_table_names()
    ('x86_64', 'i386', 'aarch64', 'arm', 'ppc', 's390', 's390x', 'riscv64', 'riscv32')
    """
    return tuple(_syscall_tables())


def _resolve_table(arch: ArchInfo | str | int | np.integer[Any]) -> str | None:
    if isinstance(arch, ArchInfo):
        return arch.syscall_table
    if isinstance(arch, str) and arch in _syscall_tables():
        return arch
    info = arch_info(arch)
    return None if info is None else info.syscall_table


def syscall_table(table_name: str) -> dict[int, str]:
    """Return one syscall table as ``{number: name}``.

    Parameters
    ----------
    table_name : str
        A table name from :func:`syscall_table_names`, or anything :func:`arch_info`
        accepts (``"ppc64le"`` gives the ``"ppc"`` table).

    Returns
    -------
    dict of int to str
        A fresh copy; changing it does not change the lookups.

    Raises
    ------
    ValueError
        If the name is neither a table nor a known architecture.

    Examples
    --------
    >>> table = syscall_table("x86_64")
    >>> table[59], table[42], len(table) > 300
    ('execve', 'connect', True)
    >>> syscall_table("c00000b7")[221]
    'execve'
    """
    table = _resolve_table(table_name)
    if table is None:
        expected = ", ".join(syscall_table_names())
        raise ValueError(
            f"syscall_table needs a syscall table name or an audit arch. Got "
            f"{table_name!r} instead. Use one of {expected}, or an arch such as 'c000003e'."
        )
    return dict(_syscall_tables()[table])


def syscall_name(arch: ArchInfo | str | int | np.integer[Any], number: int) -> str | None:
    """Name the syscall ``number`` on architecture ``arch``.

    Parameters
    ----------
    arch : ArchInfo, str or int
        An :class:`ArchInfo`, or anything :func:`arch_info` accepts, or a table name.
    number : int
        The syscall number as logged in ``syscall=``.

    Returns
    -------
    str or None
        None when the architecture or the number is unknown.

    Examples
    --------
    >>> syscall_name("c000003e", 42), syscall_name("c00000b7", 42)
    ('connect', 'nfsservctl')
    >>> syscall_name("40000003", 102)
    'socketcall'
    >>> syscall_name("x86_64", 99999) is None, syscall_name("mips", 1) is None
    (True, True)
    """
    table = _resolve_table(arch)
    if table is None:
        return None
    try:
        return _syscall_tables()[table].get(int(number))
    except (TypeError, ValueError, OverflowError):
        return None


def syscall_number(table: ArchInfo | str, name: str) -> int | None:
    """Look up the number of syscall ``name`` (the reverse of :func:`syscall_name`).

    Parameters
    ----------
    table : ArchInfo or str
        A table name, an :class:`ArchInfo`, or anything :func:`arch_info` accepts.
    name : str
        The syscall name, as in the tables (``"execve"``, ``"socketcall"``...).

    Returns
    -------
    int or None
        None when the table or the name is unknown.

    Examples
    --------
    >>> syscall_number("x86_64", "execve"), syscall_number("aarch64", "execve")
    (59, 221)
    >>> syscall_number("i386", "connect")
    362
    >>> syscall_number("aarch64", "open") is None
    True
    """
    resolved = _resolve_table(table)
    if resolved is None:
        return None
    return _syscall_numbers()[resolved].get(name)


def _as_int_array(
    numbers: Sequence[int | float | str | None] | npt.ArrayLike, size: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    values = np.asarray(numbers)
    if values.ndim != 1 or len(values) != size:
        raise ValueError(
            f"syscall_names needs one syscall number per arch value ({size}). Got an "
            f"array of shape {values.shape} instead."
        )
    if values.dtype.kind in "iu":
        ints = values.astype(np.int64, copy=False)
        valid = np.ones(size, dtype=bool)
    else:
        if values.dtype.kind != "f":
            values = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(values) & (values == np.floor(values))
        ints = np.where(valid, values, -1).astype(np.int64)
    valid &= (ints >= 0) & (ints < _MAX_SYSCALL_NUMBER)
    return ints, valid


def syscall_names(
    arch_values: Sequence[str | int | ArchInfo | None] | npt.ArrayLike | str | ArchInfo,
    numbers: Sequence[int | float | str | None] | npt.ArrayLike,
) -> npt.NDArray[np.object_]:
    """Name many syscalls at once, each with its own architecture.

    The work is done once per distinct architecture value and once per distinct
    (table, number) pair, not once per row, so a column of 200k events costs about
    as much as a few hundred lookups plus two hash passes.

    Parameters
    ----------
    arch_values : array-like of str, or a single str or ArchInfo
        One ``arch=`` value per row (``None`` allowed), or one value for every row.
    numbers : array-like of int
        One syscall number per row. Floats with NaN, strings of digits and ``None`` are
        accepted; anything that is not a non-negative integer gives ``None``.

    Returns
    -------
    numpy.ndarray of object
        The syscall names, ``None`` where the arch or number is unknown or missing.

    Raises
    ------
    ValueError
        If ``numbers`` is not one-dimensional with one entry per arch value.

    Examples
    --------
    >>> import numpy as np
    >>> arches = np.array(["c000003e", "c000003e", "c00000b7", "40000003", "bogus"])
    >>> syscall_names(arches, np.array([59, 42, 221, 102, 59]))
    array(['execve', 'connect', 'execve', 'socketcall', None], dtype=object)
    >>> syscall_names("x86_64", [43, 288, None])
    array(['accept', 'accept4', None], dtype=object)
    """
    table_names = syscall_table_names()
    table_position = {table: position for position, table in enumerate(table_names)}
    if isinstance(arch_values, str | ArchInfo):
        size = len(np.asarray(numbers, dtype=object).reshape(-1))
        table = _resolve_table(arch_values)
        row_table = np.full(size, -1 if table is None else table_position[table], np.int64)
    else:
        values = np.asarray(arch_values, dtype=object)
        if values.ndim != 1:
            raise ValueError(
                "syscall_names needs a one-dimensional sequence of arch values. Got an "
                f"array of shape {values.shape} instead."
            )
        size = len(values)
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        per_unique = np.array(
            [
                -1 if (table := _resolve_table(value)) is None else table_position[table]
                for value in uniques
            ],
            dtype=np.int64,
        )
        row_table = np.full(size, -1, dtype=np.int64)
        present = codes >= 0
        row_table[present] = per_unique[codes[present]]
    ints, valid = _as_int_array(numbers, size)
    valid &= row_table >= 0
    result = np.full(size, None, dtype=object)
    if not valid.any():
        return result
    stride = int(ints[valid].max()) + 1
    keys = row_table[valid] * stride + ints[valid]
    key_codes, unique_keys = pd.factorize(keys)
    tables = _syscall_tables()
    names = np.empty(len(unique_keys), dtype=object)
    for position, key in enumerate(unique_keys):
        table_index, number = divmod(int(key), stride)
        names[position] = tables[table_names[table_index]].get(number)
    result[valid] = names[key_codes]
    return result


@functools.cache
def _record_types() -> tuple[dict[int, str], dict[str, int]]:
    by_number = {int(row["number"]): row["name"] for row in _read_rows("record_types.csv")}
    by_name = {name: number for number, name in by_number.items()}
    # message-dictionary.csv spells 1500 AUDIT_AA; auditd logs it as APPARMOR.
    by_name.setdefault("AA", 1500)
    return by_number, by_name


def record_type_name(number: int) -> str | None:
    """Name a record type number the way auditd writes it in ``type=``.

    Examples
    --------
    >>> record_type_name(1300), record_type_name(1327), record_type_name(1112)
    ('SYSCALL', 'PROCTITLE', 'USER_LOGIN')
    >>> record_type_name(1500)
    'APPARMOR'
    >>> record_type_name(1999) is None
    True
    """
    return _record_types()[0].get(int(number))


def record_type_number(name: str) -> int | None:
    """Look up the number of a record type name.

    Parameters
    ----------
    name : str
        The name as in ``type=`` (``"SYSCALL"``); case and an ``AUDIT_`` prefix are
        ignored, and auditd's ``UNKNOWN[1338]`` form gives the number in brackets.

    Returns
    -------
    int or None
        None when the name is unknown.

    Examples
    --------
    >>> record_type_number("SYSCALL"), record_type_number("audit_eoe")
    (1300, 1320)
    >>> record_type_number("UNKNOWN[1338]")
    1338
    >>> record_type_number("NOT_A_TYPE") is None
    True
    """
    text = str(name).strip().upper().removeprefix("AUDIT_")
    number = _record_types()[1].get(text)
    if number is not None:
        return number
    match = _UNKNOWN_TYPE.fullmatch(text)
    return int(match.group(1)) if match else None


@functools.cache
def encoded_fields() -> frozenset[str]:
    """Fields whose values auditd hex-encodes when they are not in double quotes.

    These are the fields the Linux Audit documentation project's field dictionary marks
    ``encoded``. A quoted value is plain text; an unquoted one is hex (or a marker such
    as ``(null)`` or ``?``). EXECVE arguments follow the same rule but are matched by
    pattern; use :func:`is_encoded_field` to include them.

    Examples
    --------
    >>> fields = encoded_fields()
    >>> sorted({"exe", "comm", "proctitle", "saddr", "pid"} & fields)
    ['comm', 'exe', 'proctitle', 'saddr']
    """
    return frozenset(row["name"] for row in _read_rows("encoded_fields.csv"))


def _record_type_text(record_type: str | int) -> str | None:
    if isinstance(record_type, int | np.integer) and not isinstance(record_type, bool):
        return record_type_name(int(record_type))
    if isinstance(record_type, str):
        return record_type.strip().upper().removeprefix("AUDIT_")
    return None


def is_encoded_field(name: str, record_type: str | int) -> bool:
    """Tell whether field ``name`` of a ``record_type`` record may be hex-encoded.

    Parameters
    ----------
    name : str
        The field name as logged (``"exe"``, ``"a0"``, ``"a1[2]"``).
    record_type : str or int
        The record type name (``"EXECVE"``) or number (1309).

    Returns
    -------
    bool
        True for the fields in :func:`encoded_fields`, and in EXECVE records for the
        arguments ``aN`` and their pieces ``aN[i]``. ``aN_len`` and ``argc`` are plain
        numbers, and SYSCALL's ``a0``..``a3`` are numeric hex, not encoded text.

    Examples
    --------
    >>> is_encoded_field("a1", "EXECVE"), is_encoded_field("a1[0]", 1309)
    (True, True)
    >>> is_encoded_field("a1_len", "EXECVE"), is_encoded_field("argc", "EXECVE")
    (False, False)
    >>> is_encoded_field("a1", "SYSCALL"), is_encoded_field("exe", "SYSCALL")
    (False, True)
    """
    if _record_type_text(record_type) == "EXECVE" and _EXECVE_ARGUMENT.fullmatch(name):
        return True
    return name in encoded_fields()


def is_standalone_record(type_name_or_number: str | int) -> bool:
    """Tell whether records of this type always make an event by themselves.

    User-space messages (1100-1199 and 2100-2999) and audit-daemon messages
    (1200-1299) are complete events on their own. Everything else may share its serial
    number with other records: kernel records 1300-1399 are parts of syscall events,
    and SELinux, AppArmor, integrity and anomaly records can be attached to one too.

    Parameters
    ----------
    type_name_or_number : str or int
        A record type name as logged (``"USER_LOGIN"``, ``"UNKNOWN[1139]"``) or number.

    Returns
    -------
    bool
        False for unknown names.

    Examples
    --------
    >>> is_standalone_record("USER_LOGIN"), is_standalone_record(1200)
    (True, True)
    >>> is_standalone_record("SYSCALL"), is_standalone_record("EOE"), is_standalone_record("AVC")
    (False, False, False)
    >>> is_standalone_record("ANOM_LOGIN_FAILURES"), is_standalone_record("BOGUS")
    (True, False)
    """
    if isinstance(type_name_or_number, bool):
        return False
    if isinstance(type_name_or_number, int | np.integer):
        number: int | None = int(type_name_or_number)
    elif isinstance(type_name_or_number, str):
        number = record_type_number(type_name_or_number)
    else:
        return False
    if number is None:
        return False
    return any(low <= number <= high for low, high in _STANDALONE_RANGES)
