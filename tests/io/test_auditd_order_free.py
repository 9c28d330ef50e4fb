"""Shortcuts of the reader that must give what the long way gives.

User-space records filled in one go instead of record type by record type, and
the process history that remembers (exe, comm) pairs by number.
"""

from __future__ import annotations

import io
import random

import numpy as np
import pyarrow as pa
import pytest

from behavemodel import schema as s
from behavemodel.io import _auditd_chunk as chunk
from behavemodel.io import _auditd_history as history
from behavemodel.io import iter_auditd
from behavemodel.io._auditd_history import ProcessHistory

GS = "\x1d"


def _read(data: bytes, engine: str) -> pa.Table:
    batches = list(iter_auditd(io.BytesIO(data), engine=engine, on_error="skip"))  # type: ignore[arg-type]
    return pa.Table.from_batches(batches, schema=batches[0].schema)


def _user_log(seed: int, shared_events: bool) -> bytes:
    """User-space records of several types, some sharing an event, some with a CWD."""
    rng = random.Random(seed)
    types = ["USER_LOGIN", "USER_START", "CRED_ACQ", "USER_CMD", "AVC", "USER_AUTH"]
    lines = []
    for serial in range(1, 400):
        t = f"1700000{serial // 10:03d}.{serial % 1000:03d}"
        n_records = rng.choice([1, 2, 3]) if shared_events else 1
        for _ in range(n_records):
            kind = rng.choice(types)
            fields = [f"pid={rng.randint(1, 50)}", f"uid={rng.choice([0, 1000, 'x'])}"]
            if rng.random() < 0.5:
                fields.append(f"auid={rng.choice([1000, 4294967295])}")
            if rng.random() < 0.5:
                fields.append(f'exe="/bin/{kind.lower()}{rng.randint(1, 3)}"')
            if rng.random() < 0.3:
                fields.append(f'cwd="/home/u{rng.randint(1, 3)}"')
            if rng.random() < 0.4:
                fields.append(f"id={rng.randint(0, 2000)}")
            if rng.random() < 0.4:
                fields.append(f'acct="user{rng.randint(1, 4)}"')
            fields.append(f"terminal={rng.choice(['ssh', '/dev/pts/1', '?'])}")
            fields.append(f"res={rng.choice(['success', 'failed'])}")
            body = " ".join(fields)
            lines.append(
                f"node=n{serial % 2} type={kind} msg=audit({t}:{serial}): "
                f'msg=\'{body}\'{GS}UID="u{rng.randint(0, 3)}" AUID="a{rng.randint(0, 3)}"'
            )
        if shared_events and rng.random() < 0.3:
            lines.append(
                f'node=n{serial % 2} type=CWD msg=audit({t}:{serial}): cwd="/srv/{serial % 5}"'
            )
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("engine", ["regex", "scan"])
@pytest.mark.parametrize("shared_events", [False, True])
def test_generic_records_at_once_equal_type_by_type(
    monkeypatch: pytest.MonkeyPatch, engine: str, shared_events: bool
) -> None:
    if engine == "scan":
        pytest.importorskip("numba")
    data = _user_log(7, shared_events)
    used: list[bool] = []
    at_once = chunk._GenericRecords.fill_all_at_once

    def spy(self: chunk._GenericRecords, *args: object) -> bool:
        used.append(at_once(self, *args))  # type: ignore[arg-type]
        return used[-1]

    monkeypatch.setattr(chunk._GenericRecords, "fill_all_at_once", spy)
    fast = _read(data, engine)
    # Without an event of two generic records or one with a CWD, every block goes at once.
    assert used and all(used) != shared_events
    monkeypatch.setattr(chunk._GenericRecords, "fill_all_at_once", lambda *a: False)
    slow = _read(data, engine)
    assert fast.equals(slow)


def _process_table(rng: np.random.Generator, n: int, host: str | None) -> pa.Table:
    table = s.empty_table()
    exes = [None, "/bin/a", "/bin/b", "/usr/bin/c"]
    comms = [None, "a", "b", "c"]
    columns = {name: pa.nulls(n, table.schema.field(name).type) for name in table.column_names}
    columns[s.HOST_NAME] = pa.array([host] * n, pa.string())
    pid = rng.integers(1, 30, n)
    columns[s.PROCESS_PID] = pa.array(pid, pa.int64(), mask=rng.random(n) < 0.1)
    columns[s.PARENT_PID] = pa.array(rng.integers(1, 30, n), pa.int64(), mask=rng.random(n) < 0.1)
    columns[s.PROCESS_EXE] = pa.array([exes[k] for k in rng.integers(0, 4, n)], pa.string())
    columns[s.PROCESS_NAME] = pa.array([comms[k] for k in rng.integers(0, 4, n)], pa.string())
    return pa.table(columns, schema=table.schema)


def _brute_force_parents(tables: list[pa.Table]) -> list[tuple[list, list]]:
    """parent_exe / parent_name of each table, event by event with a plain dict."""
    last: dict[tuple, tuple] = {}
    out = []
    for table in tables:
        rows = table.to_pylist()
        exes, names = [], []
        for row in rows:
            parent = last.get((row[s.HOST_NAME], row[s.PARENT_PID]))
            if row[s.PARENT_PID] is None:
                parent = None
            exes.append(parent[0] if parent else None)
            names.append(parent[1] if parent else None)
            if row[s.PROCESS_PID] is not None and row[s.PROCESS_EXE] is not None:
                last[(row[s.HOST_NAME], row[s.PROCESS_PID])] = (
                    row[s.PROCESS_EXE],
                    row[s.PROCESS_NAME],
                )
        out.append((exes, names))
    return out


@pytest.mark.parametrize("max_processes", [None, 5])
def test_history_with_numbered_pairs_equals_a_plain_dict(
    monkeypatch: pytest.MonkeyPatch, max_processes: int | None
) -> None:
    monkeypatch.setattr(history, "_SPARE_PAIRS", 0)  # compact the pair table often
    rng = np.random.default_rng(11)
    tables = [_process_table(rng, int(rng.integers(1, 60)), ["h", None][k % 2]) for k in range(30)]
    hist = ProcessHistory("s", max_processes=max_processes)
    got = [hist.apply(table) for table in tables]
    assert len(hist._exes) <= 2 * len(hist._last)
    if max_processes is not None:
        assert len(hist._last) <= max_processes
        return  # forgetting changes parents: compared with the unbounded history below
    for table, (exes, names) in zip(got, _brute_force_parents(tables), strict=True):
        assert table.column(s.PARENT_EXE).to_pylist() == exes
        assert table.column(s.PARENT_NAME).to_pylist() == names
    # exported state round-trips through both merge paths
    state = hist.export_state()
    by_rows, in_bulk = ProcessHistory("t"), ProcessHistory("t")
    by_rows.merge_state(state)
    in_bulk.merge_arrays(hist.export_arrays())
    assert by_rows.export_state() == in_bulk.export_state() == state


def test_compiled_process_map_equals_the_dict() -> None:
    pytest.importorskip("numba")
    rng = np.random.default_rng(5)
    compiled, plain = history._CompiledKeys(), history._DictKeys(None)
    for _ in range(60):
        n = int(rng.integers(0, 900))
        keys = (rng.integers(0, 3, n) << 32) | rng.integers(0, 4000, n)
        ids = rng.integers(0, 50, n)
        compiled.put(keys, ids)
        plain.put(keys.tolist(), ids.tolist())
        queries = (rng.integers(0, 4, 500) << 32) | rng.integers(0, 5000, 500)
        assert np.array_equal(compiled.get(queries), plain.get(queries))
        assert len(compiled) == len(plain)
    for got, expected in zip(compiled.items(), plain.items(), strict=True):
        assert np.asarray(got).tolist() == expected  # same order: first insertion
    new_id = rng.permutation(50)
    compiled.renumber(new_id)
    plain.renumber(new_id)
    assert np.asarray(compiled.items()[1]).tolist() == plain.items()[1]


def test_compiled_process_map_refuses_maps_it_did_not_make() -> None:
    scan = pytest.importorskip("behavemodel.io._auditd_scan")
    keys = np.arange(5, dtype=np.int64)
    for size in (0, 3, 6):
        slots = np.zeros(size, np.int64)  # (not a power of two, or nothing)
        assert (scan.map_get(slots, slots.copy(), keys) == -1).all()
        assert scan.map_put(slots, np.full(size, -1), slots.copy(), keys, keys, 0) == -1
    full = np.zeros(8, np.int64)  # every slot taken by key 0
    assert scan.map_get(full, full.copy(), np.array([1, 0])).tolist() == [-1, 0]
    assert scan.map_put(full, full.copy(), full.copy(), keys, keys, 8) == -1


def test_compiled_decimals_equal_python_ints_at_every_length() -> None:
    scan = pytest.importorskip("behavemodel.io._auditd_scan")
    rng = random.Random(9)
    texts = [b"", b"-", b"--1", b"1-", b"12a", b"-0", b"0" * 19, b"9" * 19, b"9" * 20]
    texts += [b"9223372036854775807", b"9223372036854775808", b"-9223372036854775807"]
    for length in range(1, 21):
        for _ in range(20):
            digits = "".join(rng.choice("0123456789") for _ in range(length))
            texts.append(rng.choice(["", "-"]).encode() + digits.encode())
    buf = np.frombuffer(b" ".join(texts), np.uint8)
    start = 0
    for text in texts:
        value, valid = scan.decimal_at(buf, start, start + len(text))
        body = text[1:] if text[:1] == b"-" else text
        expected_valid = 0 < len(body) <= 19 and body.isdigit() and abs(int(text)) < 2**63
        assert (valid, value if valid else 0) == (
            expected_valid,
            int(text) if expected_valid else 0,
        )
        start += len(text) + 1


def test_compiled_hexadecimals_equal_python_ints() -> None:
    scan = pytest.importorskip("behavemodel.io._auditd_scan")
    rng = random.Random(4)
    texts = [b"", b"0x1", b"-1", b"g", b"fF", b"F" * 15, b"F" * 16, bytes(range(256))]
    for length in range(1, 17):
        for _ in range(30):
            texts.append(
                "".join(
                    rng.choice("0123456789abcdefABCDEFxg/:@`G") for _ in range(length)
                ).encode()
            )
    buf = np.frombuffer(b" ".join(texts), np.uint8)
    start = 0
    for text in texts:
        value, valid = scan.hex_at(buf, start, start + len(text))
        expected_valid = 0 < len(text) <= 15 and all(c in b"0123456789abcdefABCDEF" for c in text)
        assert (valid, value if valid else 0) == (
            expected_valid,
            int(text, 16) if expected_valid else 0,
        )
        start += len(text) + 1


@pytest.mark.parametrize(
    "args",
    [
        "argc=4 " + " ".join(f"a{k}=" for k in range(4)),  # the shortest tokens
        'argc=3 a0="x"a1="y"a2="z"',  # quoted values without separators
        "argc=3 a0=ab a1=c a2=" + "d" * 50,
        'argc=2 a0="unclosed a1=x',
        " ".join(f"a{k}=1" for k in range(300)),
    ],
)
def test_execve_tokens_all_found_in_dense_bodies(args: str) -> None:
    pytest.importorskip("numba")
    line = (
        "type=SYSCALL msg=audit(1700000000.1:7): arch=c000003e syscall=59 success=yes "
        'exit=0 ppid=1 pid=2 comm="x" exe="/bin/x"\n'
        f"type=EXECVE msg=audit(1700000000.1:7): {args}\n"
    ).encode()
    scanned, regex = _read(line, "scan"), _read(line, "regex")
    assert scanned.column(s.PROCESS_CMDLINE).equals(regex.column(s.PROCESS_CMDLINE))
