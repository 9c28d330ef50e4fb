"""Tests for behavemodel.features._groups."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from behavemodel.features import FeatureConfigError, GroupMap


def _groups(group_map: GroupMap, table: pa.Table) -> list[str | None]:
    codes, values = group_map.assign_codes(table)
    return values.take(pa.array(codes, mask=codes < 0)).to_pylist()  # type: ignore[no-any-return]


TABLE = pa.table(
    {
        "host_name": ["web-01", "web-02", "db-01", None, "bastion"],
        "host_group": [None, "frontend", None, "orphans", None],
    }
)


def test_default_uses_the_group_column_then_the_host_name() -> None:
    assert _groups(GroupMap(), TABLE) == ["web-01", "frontend", "db-01", "orphans", "bastion"]


def test_per_host_ignores_the_group_column() -> None:
    assert _groups(GroupMap.per_host(), TABLE) == ["web-01", "web-02", "db-01", None, "bastion"]


def test_mapping_wins_over_column() -> None:
    mapping = GroupMap.from_mapping({"web-01": "web", "web-02": "web"})
    assert _groups(mapping, TABLE) == ["web", "web", "db-01", "orphans", "bastion"]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"^(?P<group>[a-z]+)-\d+$", ["web", "web", "db", "orphans", "bastion"]),
        (r"^([a-z]+)-", ["web", "web", "db", "orphans", "bastion"]),
        (r"^web", ["web", "web", "db-01", "orphans", "bastion"]),
    ],
)
def test_regex_on_host_names(pattern: str, expected: list[str]) -> None:
    assert _groups(GroupMap.from_regex(pattern), TABLE) == expected


def test_column_may_be_absent_or_custom() -> None:
    table = pa.table({"host_name": ["a", "b"], "role": ["web", None]})
    assert _groups(GroupMap.from_column("role"), table) == ["web", "b"]
    assert _groups(GroupMap(), table.drop_columns(["role"])) == ["a", "b"]


def test_assign_codes_is_per_event() -> None:
    table = pa.table({"host_name": ["web-01"] * 4 + ["db-01"], "host_group": [None] * 5})
    codes, values = GroupMap.from_regex(r"^([a-z]+)").assign_codes(table)
    assert values.to_pylist() == ["db", "web"] or values.to_pylist() == ["web", "db"]
    assert len(np.unique(codes[:4])) == 1 and codes[4] != codes[0]


def test_csv_mapping(tmp_path: Path) -> None:
    path = tmp_path / "groups.csv"
    path.write_text("host,group\nweb-01,web\nweb-02, web\ndb-01,db\n")
    group_map = GroupMap.from_csv(path)
    assert dict(group_map.mapping or ()) == {"web-01": "web", "web-02": "web", "db-01": "db"}
    assert json.loads(json.dumps(group_map.to_dict()))["mapping"]["db-01"] == "db"
    assert GroupMap.from_dict(group_map.to_dict()) == group_map


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,role\nweb-01,web\n", "header 'host,group'"),
        ("host,group\nweb-01,\n", r"groups.csv:2: every row needs a host and a group"),
        ("host,group\nweb-01,web\nweb-01,db\n", r"groups.csv:3: host 'web-01' is given group"),
    ],
)
def test_csv_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "groups.csv"
    path.write_text(text)
    with pytest.raises(FeatureConfigError, match=message):
        GroupMap.from_csv(path)


def test_invalid_configuration() -> None:
    with pytest.raises(FeatureConfigError, match="regular expression"):
        GroupMap.from_regex("(")
    with pytest.raises(FeatureConfigError, match="host names to group names"):
        GroupMap.from_mapping({"web-01": ""})
    with pytest.raises(FeatureConfigError, match="'column', 'mapping' and 'pattern'"):
        GroupMap.from_dict({"kind": "regex"})


@pytest.mark.parametrize(
    "group_map", [GroupMap(), GroupMap.per_host(), GroupMap.from_regex(r"^([a-z]+)-")]
)
def test_pair_codes_dense_and_hashed_paths_agree(
    group_map: GroupMap, monkeypatch: pytest.MonkeyPatch
) -> None:
    from behavemodel.features import _groups as groups_module
    from behavemodel.features._codes import ColumnCodes

    rng = np.random.default_rng(2)
    hosts = ["web-01", "web-02", "db-01", None, "bastion"]
    groups = [None, "frontend", "orphans"]
    table = pa.table(
        {
            "host_name": [hosts[i] for i in rng.integers(0, 5, 300)],
            "host_group": [groups[i] for i in rng.integers(0, 3, 300)],
        }
    )
    dense = group_map.pair_codes(ColumnCodes(table))
    monkeypatch.setattr(groups_module, "_DENSE_LIMIT", 1)
    hashed = group_map.pair_codes(ColumnCodes(table))
    for a, b in zip(dense, hashed, strict=True):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a.equals(b)
    pair, pair_group, group_values, pair_host, host_values = dense
    assert (pair >= 0).sum() == sum(h is not None for h in table.column("host_name").to_pylist())
    valid = pair >= 0
    got = group_values.take(pa.array(pair_group[pair[valid]])).to_pylist()
    assert got == [g for g, ok in zip(_groups(group_map, table), valid, strict=True) if ok]
    assert host_values.take(pa.array(pair_host[pair[valid]])).to_pylist() == [
        h for h, ok in zip(table.column("host_name").to_pylist(), valid, strict=True) if ok
    ]


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("with_second", [False, True])
def test_pair_lookup_twins_agree(compiled: bool, with_second: bool) -> None:
    from behavemodel.features import _loops

    if compiled and not _loops.COMPILED:
        pytest.skip("numba is not installed")
    rng = np.random.default_rng(3)
    first = rng.integers(-1, 6, 500).astype(np.int32)
    second = rng.integers(-1, 3, 500).astype(np.int32) if with_second else None
    width = 4 if with_second else 1
    seen: list[np.ndarray] = []

    def number(pairs: np.ndarray) -> np.ndarray:
        seen.append(pairs)
        return np.arange(len(pairs), dtype=np.int64) * 3

    out = _loops.pair_lookup(first, second, width, 7 * width, number, compiled=compiled)
    code = (first.astype(np.int64) + 1) * width + (0 if second is None else second + 1)
    pairs = np.unique(code)
    np.testing.assert_array_equal(seen[0], pairs)
    np.testing.assert_array_equal(out, np.searchsorted(pairs, code) * 3)
    assert out.dtype == np.int32  # the numbers fit: half the memory


@pytest.mark.parametrize("compiled", [False, True])
def test_pair_lookup_keeps_numbers_beyond_int32(compiled: bool) -> None:
    from behavemodel.features import _loops

    if compiled and not _loops.COMPILED:
        pytest.skip("numba is not installed")
    first, second = np.array([0, 1, 0], dtype=np.int32), np.array([1, 0, 1], dtype=np.int32)
    out = _loops.pair_lookup(first, second, 3, 9, lambda pairs: pairs + 2**40, compiled=compiled)
    assert out.dtype == np.int64
    assert out.tolist() == [5 + 2**40, 7 + 2**40, 5 + 2**40]
