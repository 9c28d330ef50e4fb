"""Regenerate the audit lookup tables in ``behavemodel/io/data/``.

Writes three CSV files, each sorted so that a regeneration from the same sources gives a
byte-identical file:

``syscalls.csv`` (``table,number,name``)
    One row per syscall per table. The x86_64, i386, aarch64, arm, ppc, s390 and s390x
    tables come from ``ausyscall <arch> --dump`` (Debian ``auditd`` 3.0.9 when this was
    written). ausyscall silently falls back to the x86_64 table for an architecture it
    does not know, so the ``Using <arch> syscall table`` header is checked for every dump.
    The riscv64 and riscv32 tables are read from local copies of audit-userspace
    ``lib/riscv64_table.h`` and ``lib/riscv32_table.h`` (``--riscv64-table`` and
    ``--riscv32-table``). A table whose source is not available on this machine keeps the
    rows it already has in the existing CSV, with a note on stderr.
``record_types.csv`` (``number,name``)
    Record type names without the ``AUDIT_`` prefix, from the Linux Audit documentation
    project's ``message-dictionary.csv``, plus the entries of ``EXTRA_RECORD_TYPES`` below.
``encoded_fields.csv`` (``name``)
    The fields ``field-dictionary.csv`` marks as ``encoded``.

When libaudit (``libaudit.so.1``) or the kernel header ``/usr/include/linux/audit.h`` is
installed, the record types are cross-checked against them and differences are printed.

Usage::

    .venv/bin/python scripts/generate_audit_tables.py \\
        --riscv64-table /path/to/audit-userspace/lib/riscv64_table.h \\
        --riscv32-table /path/to/audit-userspace/lib/riscv32_table.h

``--check`` compares instead of writing and exits with status 1 when a file would change.
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import ctypes.util
import io
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT_DIR = REPO_ROOT / "behavemodel" / "io" / "data"
DEFAULT_DICTIONARY_DIR = (
    REPO_ROOT.parent / "shared" / "corpus" / "auditlogs" / "audit-documentation"
)
KERNEL_HEADER = Path("/usr/include/linux/audit.h")

# table name -> (ausyscall argument, table name ausyscall must announce in its header).
# ausyscall maps "arm" to its "armeb" table: ARM little and big endian share the numbers.
# ppc64 and ppc64le print the same table as ppc, so one "ppc" table covers all three.
AUSYSCALL_TABLES: dict[str, tuple[str, str]] = {
    "x86_64": ("x86_64", "x86_64"),
    "i386": ("i386", "i386"),
    "aarch64": ("aarch64", "aarch64"),
    "arm": ("arm", "armeb"),
    "ppc": ("ppc", "ppc"),
    "s390": ("s390", "s390"),
    "s390x": ("s390x", "s390x"),
}
HEADER_TABLES = ("riscv64", "riscv32")
TABLE_ORDER = (*AUSYSCALL_TABLES, *HEADER_TABLES)

# The dictionary spells 1500 AUDIT_AA; auditd writes it as type=APPARMOR (libaudit
# lib/msg_typetab.h: _S(AUDIT_AA, "APPARMOR")), and the table stores names as logged.
RECORD_TYPE_RENAMES = {"AA": "APPARMOR"}

# Record types message-dictionary.csv lacks, each with where it was confirmed.
EXTRA_RECORD_TYPES: tuple[tuple[int, str, str], ...] = (
    (2119, "ANOM_LOGIN_ROOT", "audit-userspace lib/audit-records.h; libaudit 3.0.9"),
    (2120, "ANOM_ORIGIN_FAILURES", "audit-userspace lib/audit-records.h; libaudit 3.0.9"),
    (2121, "ANOM_SESSION", "audit-userspace lib/audit-records.h; libaudit 3.0.9"),
    (2215, "RESP_ORIGIN_UNBLOCK_TIMED", "audit-userspace lib/audit-records.h; libaudit 3.0.9"),
    (1420, "IPE_ACCESS", "Linux include/uapi/linux/audit.h (IPE, Linux 6.12)"),
    (1421, "IPE_CONFIG_CHANGE", "Linux include/uapi/linux/audit.h (IPE, Linux 6.12)"),
    (1422, "IPE_POLICY_LOAD", "Linux include/uapi/linux/audit.h (IPE, Linux 6.12)"),
    (1423, "LANDLOCK_ACCESS", "Linux include/uapi/linux/audit.h (Landlock audit)"),
    (1424, "LANDLOCK_DOMAIN", "Linux include/uapi/linux/audit.h (Landlock audit)"),
    (1425, "MAC_TASK_CONTEXTS", "Linux include/uapi/linux/audit.h (LSM stacking)"),
    (1426, "MAC_OBJ_CONTEXTS", "Linux include/uapi/linux/audit.h (LSM stacking)"),
)

_HEADER_ROW = re.compile(r'^\s*_S\(\s*(\d+)\s*,\s*"([A-Za-z0-9_]+)"\s*\)')
_DUMP_HEADER = re.compile(r"^Using (\S+) syscall table:?\s*$")
_FIELD_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_KERNEL_DEFINE = re.compile(r"^#define\s+AUDIT_([A-Z0-9_]+)\s+(\d{4})\b")


def note(message: str) -> None:
    """Print a progress or warning line on stderr."""
    print(f"generate_audit_tables: {message}", file=sys.stderr)


def read_existing_syscalls(path: Path) -> dict[str, list[tuple[int, str]]]:
    """Return the rows of an existing ``syscalls.csv`` grouped by table."""
    tables: dict[str, list[tuple[int, str]]] = {}
    if not path.exists():
        return tables
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            tables.setdefault(row["table"], []).append((int(row["number"]), row["name"]))
    return tables


def dump_ausyscall(executable: str, arch: str, expected: str) -> list[tuple[int, str]]:
    """Run ``ausyscall <arch> --dump`` and return its rows, checking the header line."""
    result = subprocess.run(
        [executable, arch, "--dump"], capture_output=True, text=True, check=True
    )
    lines = result.stdout.splitlines()
    match = _DUMP_HEADER.match(lines[0]) if lines else None
    if match is None or match.group(1) != expected:
        header = lines[0] if lines else "<no output>"
        raise SystemExit(
            f"ausyscall {arch} --dump should announce the {expected!r} table; "
            f"its first line is {header!r}. Refusing to write a table from the wrong source."
        )
    rows: list[tuple[int, str]] = []
    for line in lines[1:]:
        number, name = line.split()
        rows.append((int(number), name))
    return rows


def parse_table_header(path: Path) -> list[tuple[int, str]]:
    """Read the ``_S(number, "name")`` entries of an audit-userspace ``*_table.h``."""
    rows: list[tuple[int, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _HEADER_ROW.match(line)
        if match:
            rows.append((int(match.group(1)), match.group(2)))
    if not rows:
        raise SystemExit(f'{path} has no _S(number, "name") entries; is it a *_table.h?')
    return rows


def check_table(table: str, rows: list[tuple[int, str]]) -> None:
    """Refuse a table with a repeated number or name."""
    numbers = [number for number, _ in rows]
    names = [name for _, name in rows]
    if len(set(numbers)) != len(numbers) or len(set(names)) != len(names):
        raise SystemExit(f"The {table} syscall table repeats a number or a name.")


def build_syscalls(
    existing: dict[str, list[tuple[int, str]]], header_paths: dict[str, Path | None]
) -> list[tuple[str, int, str]]:
    """Collect every syscall table, from its source or from the existing CSV."""
    executable = shutil.which("ausyscall")
    tables: dict[str, list[tuple[int, str]]] = {}
    for table, (arch, expected) in AUSYSCALL_TABLES.items():
        if executable is not None:
            tables[table] = dump_ausyscall(executable, arch, expected)
        elif table in existing:
            note(f"ausyscall not found; keeping the {table} rows already in syscalls.csv")
            tables[table] = existing[table]
        else:
            raise SystemExit(f"ausyscall not found and syscalls.csv has no {table} rows.")
    for table in HEADER_TABLES:
        path = header_paths[table]
        if path is not None:
            tables[table] = parse_table_header(path)
        elif table in existing:
            note(f"no --{table}-table given; keeping the {table} rows already in syscalls.csv")
            tables[table] = existing[table]
        else:
            raise SystemExit(f"Give --{table}-table: syscalls.csv has no {table} rows yet.")
    rows: list[tuple[str, int, str]] = []
    for table in TABLE_ORDER:
        check_table(table, tables[table])
        rows.extend((table, number, name) for number, name in sorted(tables[table]))
    return rows


def build_record_types(dictionary: Path) -> list[tuple[int, str]]:
    """Read message-dictionary.csv and add the confirmed extra record types."""
    types: dict[int, str] = {}
    with dictionary.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            macro = row["MACRO NAME"].strip()
            number = int(row["VALUE"])
            name = macro.removeprefix("AUDIT_")
            name = RECORD_TYPE_RENAMES.get(name, name)
            if types.get(number, name) != name:
                raise SystemExit(f"{dictionary} gives {number} two names.")
            types[number] = name
    for number, name, source in EXTRA_RECORD_TYPES:
        if number in types:
            raise SystemExit(
                f"EXTRA_RECORD_TYPES lists {number} {name} ({source}), but the dictionary "
                f"already has it as {types[number]}; remove the extra entry."
            )
        types[number] = name
    names = list(types.values())
    if len(set(names)) != len(names):
        raise SystemExit("Two record types share a name.")
    return sorted(types.items())


def libaudit_names(numbers: Iterable[int]) -> dict[int, str]:
    """Names libaudit gives record type numbers, or nothing when libaudit is absent."""
    library = ctypes.util.find_library("audit")
    if library is None:
        return {}
    lib = ctypes.CDLL(library)
    lib.audit_msg_type_to_name.restype = ctypes.c_char_p
    lib.audit_msg_type_to_name.argtypes = [ctypes.c_int]
    found: dict[int, str] = {}
    for number in numbers:
        name = lib.audit_msg_type_to_name(number)
        if name:
            found[number] = name.decode()
    return found


def kernel_names() -> dict[int, str]:
    """Record type numbers defined by the installed kernel uapi header, if any."""
    if not KERNEL_HEADER.exists():
        return {}
    found: dict[int, str] = {}
    for line in KERNEL_HEADER.read_text(encoding="utf-8").splitlines():
        match = _KERNEL_DEFINE.match(line)
        if match is None or match.group(1).startswith(("FIRST_", "LAST_")):
            continue
        number = int(match.group(2))
        if 1000 <= number < 3000:
            found.setdefault(number, match.group(1))
    return found


def cross_check_record_types(types: list[tuple[int, str]]) -> None:
    """Print where libaudit or the kernel header disagree with the generated table."""
    ours = dict(types)
    for source, theirs in (
        ("libaudit", libaudit_names(range(1000, 3000))),
        (str(KERNEL_HEADER), kernel_names()),
    ):
        if not theirs:
            note(f"{source} not available; record types not cross-checked against it")
            continue
        for number, name in sorted(theirs.items()):
            if number not in ours:
                note(f"{source} knows {number} {name}; record_types.csv does not")
            elif ours[number] != name:
                note(f"{source} names {number} {name}; record_types.csv says {ours[number]}")


def build_encoded_fields(dictionary: Path) -> list[str]:
    """Field names field-dictionary.csv marks as ``encoded`` (patterns are skipped)."""
    names: set[str] = set()
    with dictionary.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["FORMAT"].strip() != "encoded":
                continue
            name = row["NAME"].strip()
            if _FIELD_NAME.match(name):
                names.add(name)
            else:
                note(f"skipping the pattern {name!r}; the loader handles EXECVE arguments")
    return sorted(names)


def render(header: list[str], rows: Iterable[Iterable[object]]) -> str:
    """Render rows as CSV text with Unix line endings."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dictionary-dir", type=Path, default=DEFAULT_DICTIONARY_DIR)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--riscv64-table", type=Path, default=None)
    parser.add_argument("--riscv32-table", type=Path, default=None)
    parser.add_argument(
        "--check", action="store_true", help="compare with the files on disk, write nothing"
    )
    args = parser.parse_args(argv)

    out_dir: Path = args.out_dir
    existing = read_existing_syscalls(out_dir / "syscalls.csv")
    syscalls = build_syscalls(
        existing, {"riscv64": args.riscv64_table, "riscv32": args.riscv32_table}
    )
    record_types = build_record_types(args.dictionary_dir / "message-dictionary.csv")
    cross_check_record_types(record_types)
    encoded = build_encoded_fields(args.dictionary_dir / "field-dictionary.csv")

    outputs = {
        "syscalls.csv": render(["table", "number", "name"], syscalls),
        "record_types.csv": render(["number", "name"], record_types),
        "encoded_fields.csv": render(["name"], ([name] for name in encoded)),
    }
    changed = []
    for filename, text in outputs.items():
        path = out_dir / filename
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old == text:
            continue
        changed.append(filename)
        if not args.check:
            path.write_text(text, encoding="utf-8")
            note(f"wrote {path} ({text.count(chr(10)) - 1} rows)")
    if args.check and changed:
        note(f"out of date: {', '.join(changed)}")
        return 1
    if not changed:
        note("all tables up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
