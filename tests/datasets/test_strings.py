"""Vectorised string helpers agree with their plain-Python definitions."""

from __future__ import annotations

import shlex

import numpy as np
import pyarrow as pa
import pytest

from behavemodel.datasets._strings import (
    audit_encode,
    hex_encode,
    int_hex,
    shlex_join_nul,
    truncate_proctitle_bytes,
)

ALPHABET = list("abcXYZ019 -_./:=@%+,'\"\t$*é\x00")


def _kernel(value: str) -> str:
    raw = value.encode()
    if any(b < 0x21 or b > 0x7E or b == 0x22 for b in raw):
        return raw.hex().upper()
    return '"' + value + '"'


@pytest.fixture(scope="module")
def words() -> list[str]:
    rng = np.random.default_rng(0)
    out = ["", "ls", "a b", "it's"]
    for _ in range(300):
        n = int(rng.integers(0, 12))
        out.append("".join(rng.choice(ALPHABET, n)))
    return out


def test_hex_and_kernel_encoding(words: list[str]) -> None:
    arr = pa.array(words)
    assert hex_encode(arr).to_pylist() == [w.encode().hex().upper() for w in words]
    assert audit_encode(arr).to_pylist() == [_kernel(w) for w in words]


def test_shlex_join_of_nul_separated_argv(words: list[str]) -> None:
    argvs = [[w.replace("\x00", "") for w in words[i : i + 3]] for i in range(0, 90, 3)]
    joined = pa.array(["\x00".join(a) for a in argvs])
    expected = [shlex.join(a if a != [""] else [""]) for a in argvs]
    got = shlex_join_nul(joined).to_pylist()
    for a, e, g in zip(argvs, expected, got, strict=True):
        if "\x00".join(a).split("\x00") == a:
            assert g == e


def test_proctitle_truncation() -> None:
    values = ["x" * 200, "a\x00b\x00", "abc\x00" + "d" * 130, "short"]
    raw = [(v + "\x00").encode()[:128].rstrip(b"\x00") for v in values]
    assert truncate_proctitle_bytes(pa.array(values)).to_pylist() == raw


def test_int_hex() -> None:
    values = np.array([0, 1, 255, 0xFFFFFF9C, 2**64 - 1], dtype=np.uint64)
    assert int_hex(values).to_pylist() == [format(int(v), "x") for v in values]
    assert int_hex(values[:3], lower=False, width=4).to_pylist() == ["0000", "0001", "00FF"]
