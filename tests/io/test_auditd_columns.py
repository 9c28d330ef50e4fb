"""Tests for the coded columns of a parsed block: each must equal its object-array form.

A block's string columns are kept as codes into value tables (``_Strings``) and
its low-cardinality columns as codes into fixed names (``_dictionary``), so
that Arrow is built with one ``take`` per column. These tests hold them to the
plain per-row object arrays they replace.
"""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

from behavemodel.io import _auditd_chunk as chunk
from behavemodel.io._auditd_front import Coded
from behavemodel.io._auditd_values import decode_sockaddrs

_WORDS = ["a", "b", "", "exe", None, "comm", "b"]


def _reference_set(col: np.ndarray, idx: np.ndarray, values: np.ndarray, *, fill: bool) -> None:
    """The object-array form of ``_Strings.set`` (the definition of its result)."""
    if fill:
        empty = col[idx] == None  # noqa: E711
        idx, values = idx[empty], values[empty]
    col[idx] = values


@pytest.mark.parametrize("seed", range(5))
def test_strings_column_equals_object_array(seed: int) -> None:
    rng = random.Random(seed)
    n = 60
    got = chunk._Strings(n)
    expected = np.full(n, None, dtype=object)
    for _ in range(8):
        idx = np.array(rng.sample(range(n), rng.randrange(0, n)), np.int64)
        fill = rng.random() < 0.5
        if rng.random() < 0.5:  # a table of distinct values and codes into it
            table = rng.sample(_WORDS, 4)
            codes = np.array([rng.randrange(-1, len(table)) for _ in idx], np.int64)
            values = np.array([None if c < 0 else table[c] for c in codes], dtype=object)
            got.set(idx, codes, table, fill=fill)
        else:  # one value per cell, codes given or implied
            values = np.array([rng.choice(_WORDS) for _ in idx], dtype=object)
            codes = np.arange(len(idx), dtype=np.int64)
            implied = rng.random() < 0.5
            got.set(
                idx,
                None if implied else codes,
                values.tolist(),
                fill=fill,
                absent=values == None,  # noqa: E711
            )
        _reference_set(expected, idx, values, fill=fill)
        assert got.objects().tolist() == expected.tolist()
    assert got.arrow().equals(pa.array(expected, pa.string()))


def test_events_string_columns_and_codes() -> None:
    events = chunk._Events(5)
    raw = Coded(np.array([1, -1, 0, 1], np.int64), [b"x", b"y"])
    events.set_coded("c", np.array([0, 1, 2, 3]), raw, lambda b: b.decode() * 2)
    events.set_obj("c", np.array([1, 4]), np.array(["z", None], dtype=object), fill=True)
    assert events.get_obj("c").tolist() == ["yy", "z", "xx", "yy", None]
    assert events.has("c") and not events.has("d")
    assert events.arrow("d").equals(pa.nulls(5, pa.string()))
    assert events.obj["c"].tolist() == ["yy", "z", "xx", "yy", None]


@pytest.mark.parametrize("seed", range(6))
def test_dictionary_equals_dictionary_encode(seed: int) -> None:
    rng = random.Random(seed)
    n_names = 6 if seed % 2 else 100  # few names, or a table of many (see _distinct_names)
    names = [rng.choice(["SYSCALL", "PATH", "CWD", None, "1300"]) for _ in range(n_names)]
    codes = np.array([rng.randrange(-1, len(names)) for _ in range(rng.randrange(0, 40))])
    values = [None if c < 0 else names[c] for c in codes.tolist()]
    expected = pa.array(values, pa.string()).dictionary_encode()
    got = chunk._dictionary(codes.astype(np.int64), names)
    assert got.type == expected.type
    assert got.dictionary.equals(expected.dictionary)
    assert got.indices.equals(expected.indices)


_SADDRS = [
    b"02002BCB7F0000010000000000000000",
    b"0A002BCB000000000000000000000000000000000000000100000000",
    b"0100002F746D702F2E58313100",
    b"0002005000000000",
    b"1000000000000000000000000",
    b"",
]


@pytest.mark.parametrize("seed", range(3))
def test_sockaddr_columns_equal_per_record_decoding(seed: int) -> None:
    rng = random.Random(seed)
    uniques = rng.sample(_SADDRS, 4)
    m = 30
    codes = np.array([rng.randrange(-1, len(uniques)) for _ in range(m)], np.int64)
    big = np.array([rng.random() < 0.3 * seed for _ in range(m)], bool)
    got = chunk._sockaddr_columns(Coded(codes, uniques), big)
    for j in range(m):
        raw = uniques[codes[j]] if codes[j] >= 0 else b""
        (family,), (address,), (port,) = decode_sockaddrs([raw], big_endian=bool(big[j]))
        at = got.codes[j]
        assert (got.family[at] if at >= 0 else None) == family
        assert (got.address[at] if at >= 0 else None) == address
        assert got.port_ok[j] == (port is not None)
        assert got.port[j] == (port or 0)


@pytest.mark.parametrize("seed", range(5))
def test_events_set_obj_equals_object_array(seed: int) -> None:
    rng = random.Random(seed)
    n = 40
    events = chunk._Events(n)
    expected = np.full(n, None, dtype=object)
    for _ in range(10):
        idx = np.array(rng.sample(range(n), rng.randrange(0, n)), np.int64)
        fill = rng.random() < 0.5
        words = [None] if rng.random() < 0.3 else _WORDS  # sometimes nothing to fill
        values = np.array([rng.choice(words) for _ in idx], dtype=object)
        events.set_obj("c", idx, values, fill=fill)
        _reference_set(expected, idx, values, fill=fill)
        assert events.has("c")
        assert events.get_obj("c").tolist() == expected.tolist()


def test_set_obj_with_nothing_to_fill_still_makes_the_column() -> None:
    events = chunk._Events(3)
    events.set_obj("c", np.array([0, 2]), np.array([None, None], dtype=object), fill=True)
    assert events.has("c")
    assert events.strings["c"].table == []
    assert events.arrow("c").equals(pa.nulls(3, pa.string()))
