"""read_events / iter_events: sources, user mappings, errors, accounting, projection."""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from behavemodel import schema as s
from behavemodel.exceptions import ParseError, SchemaError
from behavemodel.io import write_events
from behavemodel.io._mapped import ReadReport, iter_events, read_events
from behavemodel.io._mappings import BUILTINS
from behavemodel.io._mappings._plan import compile_plan
from behavemodel.io._mappings._spec import (
    Computed,
    EventMapping,
    MissingSourceColumnError,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
T0 = 1_704_067_200


def _py(series: pd.Series) -> list[object]:
    """Values as Python objects, missing ones as None."""
    return [None if pd.isna(v) else v for v in series]


def _write(path: Path, rows: list[dict[str, object]] | pa.Table) -> Path:
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_struct_array(pa.array(rows))
    pq.write_table(table, path)
    return path


def _lines(path: Path, *lines: object) -> Path:
    path.write_text(
        "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines),
        encoding="utf-8",
    )
    return path


# --- user mappings ---------------------------------------------------------------------


@pytest.fixture
def custom_dump(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "dump.parquet",
        [
            {
                "ts": T0,
                "node": {"name": "h1"},
                "proc": {"exe": "/bin/a", "args": ["a", "x y"]},
                "uid": "7",
                "ms": 5,
                "port": 70000,
                "kind": "process_start",
            },
            {
                "ts": T0 + 1,
                "node": {"name": None},
                "proc": {"exe": None, "path": "/bin/b"},
                "uid": "not-a-number",
                "ms": 6,
                "port": 22,
                "kind": "net_connect",
            },
        ],
    )


def test_user_mapping_every_spec_form(custom_dump: Path) -> None:
    mapping = {
        "time": {"path": "ts", "unit": "s"},
        "host_name": "node.name",
        "event_type": "kind",
        "process_exe": ["proc.exe", "proc.path"],
        "process_cmdline": Computed(lambda args: pc.binary_join(args, " "), "proc.args"),
        "user_uid": "uid",
        "user_name": "who?",
        "exit_code": pc.field("ms") * 2,
        "dst_port": "port",
        "cwd": {"value": "/srv"},
        "audit_key": lambda batch: pa.array([f"k{i}" for i in range(batch.num_rows)]),
    }
    df = read_events(custom_dump, mapping=mapping, host="fallback")
    assert _py(df["host_name"]) == ["h1", "fallback"]
    assert _py(df["event_type"]) == ["process_start", "net_connect"]
    assert _py(df["process_exe"]) == ["/bin/a", "/bin/b"]
    assert _py(df["process_cmdline"]) == ["a x y", None]
    assert _py(df["user_uid"]) == [7, None]  # text that is no number is null, not guessed
    assert df["user_name"].isna().all()  # optional and absent
    assert _py(df["exit_code"]) == [10, 12]
    assert _py(df["dst_port"]) == [None, 22]  # 70000 is no port
    assert _py(df["cwd"]) == ["/srv", "/srv"]
    assert _py(df["audit_key"]) == ["k0", "k1"]
    assert _py(df["event_id"]) == [
        "h1:1704067200.000:dump.parquet#1",
        "fallback:1704067201.000:dump.parquet#2",
    ]


def test_mapping_overrides_a_builtin_column_by_column(tmp_path: Path) -> None:
    src = FIXTURES / "ocsf-1.0.parquet"
    df = read_events(src, schema="ocsf", mapping={"host_group": "metadata.product.vendor_name"})
    assert set(df["host_group"]) == {"example"}
    assert df["event_type"].iloc[0] == "process_start"


def test_mapping_plain_data_round_trip() -> None:
    m = EventMapping(
        {"time": {"path": ["t1", "t2"], "unit": "ms", "optional": True}, "tty": "a.tty?"},
        base="ecs",
        name="x",
    )
    data = json.loads(json.dumps(m.to_dict()))
    assert data["columns"] == {
        "time": {"path": ["t1", "t2"], "unit": "ms", "optional": True},
        "tty": "a.tty?",
    }
    assert EventMapping.from_dict(data) == m
    assert EventMapping.from_dict({"tty": "x"}).columns["tty"].paths == ("x",)
    with pytest.raises(ValueError, match="code, not data"):
        EventMapping({"tty": Computed(str, "a")}).to_dict()
    with pytest.raises(SchemaError, match="version 9"):
        EventMapping.from_dict(
            {"format": "behavemodel.event-mapping", "version": 9, "columns": {}}
        )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"procexe": "x"}, "Did you mean 'process_exe'"),
        ({"tty": {"path": "x", "unit": "hours"}}, "must be one of s, ms, us, ns"),
        ({"tty": {"path": "x", "bogus": 1}}, "unknown option"),
        ({"tty": 3}, "must be a path"),
        ({"tty": ""}, "non-empty source paths"),
    ],
)
def test_mapping_mistakes_are_explained(spec: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        EventMapping(spec)


def test_numeric_time_without_a_unit_is_refused(custom_dump: Path) -> None:
    with pytest.raises(SchemaError, match="no time unit was given"):
        read_events(custom_dump, mapping={"time": "ts", "event_type": "kind"})


def test_parameter_checks(custom_dump: Path) -> None:
    with pytest.raises(ValueError, match="'schema' parameter"):
        read_events(custom_dump, schema="cef")
    with pytest.raises(ValueError, match="'on_error' parameter"):
        read_events(custom_dump, on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'batch_size' parameter"):
        list(iter_events(custom_dump, batch_size=0))
    with pytest.raises(ValueError, match="based on 'ecs'"):
        read_events(custom_dump, schema="ocsf", mapping=EventMapping(base="ecs"))
    with pytest.raises(FileNotFoundError, match="No file matches"):
        read_events(str(custom_dump.parent / "*.nothing"))


# --- missing source columns --------------------------------------------------------------


def test_missing_required_column_names_column_mapping_and_file(tmp_path: Path) -> None:
    table = pq.read_table(FIXTURES / "ocsf-1.0.parquet").drop_columns(["class_uid"])
    path = _write(tmp_path / "no-class.parquet", table)
    with pytest.raises(MissingSourceColumnError) as info:
        read_events(path, schema="ocsf")
    err = info.value
    assert isinstance(err, SchemaError) and isinstance(err, ValueError)
    assert err.columns == ("class_uid",) and err.mapping == "ocsf" and err.file == str(path)
    text = str(err)
    assert "'class_uid'" in text and "'ocsf' mapping" in text and "no-class.parquet" in text
    assert "event_type" in text  # what it was needed for


def test_missing_alternatives_are_all_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.parquet", [{"a": 1}])
    with pytest.raises(MissingSourceColumnError, match=r"one of the source columns 'b', 'c'"):
        read_events(path, mapping={"time": ["b", "c"], "event_type": {"value": "other"}})


def test_missing_optional_columns_are_null(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "min.parquet", [{"time": T0 * 1000, "class_uid": 1007, "activity_id": 1}]
    )
    df = read_events(path, schema="ocsf")
    row = df.iloc[0]
    assert row["event_type"] == "process_start"
    nullable = [
        f.name
        for f in s.CANONICAL_SCHEMA
        if f.name not in ("time", "event_type", "event_id", "source_format")
    ]
    assert df[nullable].isna().all().all()


# --- projection ------------------------------------------------------------------------


def test_columns_reads_only_what_they_need() -> None:
    plan = compile_plan(EventMapping(base="ocsf"), BUILTINS, ["process_exe"])
    paths = {p for f in plan.fields.values() for p in f.paths}
    assert "process.file.path" in paths and "actor.process.path" in paths
    assert not any(p.startswith(("dst_endpoint", "src_endpoint", "file.")) for p in paths)
    df = read_events(FIXTURES / "ocsf-1.0.parquet", schema="ocsf", columns=["process_exe"])
    assert df["process_exe"].iloc[1] == "/usr/bin/curl"
    assert df["dst_ip"].isna().all() and df["user_name"].isna().all()
    assert df["event_type"].iloc[1] == "net_connect"  # always filled


def test_a_file_lacking_an_unrequested_column_still_reads(tmp_path: Path) -> None:
    table = pq.read_table(FIXTURES / "canonical.parquet").drop_columns(["process_exe"])
    path = _write(tmp_path / "c.parquet", table)
    df = read_events(path, columns=["dst_port"])
    assert _py(df["dst_port"]) == [None, 443]


# --- sources -------------------------------------------------------------------------


def test_partitioned_directory_filter_and_partition_columns() -> None:
    lake = FIXTURES / "ocsf_lake"
    df = read_events(lake, schema="ocsf")
    assert len(df) == 7  # _SUCCESS is skipped
    late = read_events(
        lake,
        schema="ocsf",
        filter=pc.field("eventDay") == 20240102,
        mapping={"host_group": "eventDay"},
    )
    assert _py(late["host_group"]) == ["20240102"] * 3
    assert _py(late["event_type"]) == ["file_write", "login", "other"]
    assert late["time"].iloc[0] == pd.Timestamp("2024-01-02T00:00:04Z")


def test_row_filter_on_a_source_column() -> None:
    df = read_events(
        FIXTURES / "ocsf-1.0.parquet", schema="ocsf", filter=pc.field("class_uid") == 4001
    )
    assert _py(df["event_type"]) == ["net_connect", "net_accept", "net_connect"]


def test_glob_list_and_dataset_sources() -> None:
    by_glob = read_events(str(FIXTURES / "ocsf-1.*.parquet"), schema="ocsf")
    by_list = read_events(
        [FIXTURES / "ocsf-1.0.parquet", FIXTURES / "ocsf-1.4.parquet"], schema="ocsf"
    )
    dataset = ds.dataset(
        [str(FIXTURES / "ocsf-1.0.parquet"), str(FIXTURES / "ocsf-1.4.parquet")],
        format="parquet",
    )
    by_dataset = read_events(dataset, schema="ocsf")
    assert len(by_glob) == 12
    pd.testing.assert_frame_equal(by_glob, by_list)
    pd.testing.assert_frame_equal(by_glob, by_dataset)


def test_canonical_round_trip_through_write_events(tmp_path: Path) -> None:
    original = read_events(FIXTURES / "laurel-audit.log", schema="laurel")
    write_events(s.conform(original, fill_missing=True), tmp_path / "events.parquet")
    again = read_events(tmp_path / "events.parquet")
    pd.testing.assert_frame_equal(again, original)


def test_gzip_json_and_format_override(tmp_path: Path) -> None:
    raw = (FIXTURES / "laurel-audit.log").read_bytes()
    packed = tmp_path / "laurel.data"
    packed.write_bytes(gzip.compress(raw, mtime=0))
    df = read_events(packed, schema="laurel", format="json")
    assert len(df) == 7


# --- bad rows ------------------------------------------------------------------------


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    good = {"time": "2024-01-01T00:00:00Z", "event_type": "login", "host_name": "h"}
    return _lines(
        tmp_path / "messy.jsonl",
        good,
        {**good, "time": "yesterday"},
        "",
        "{not json",
        {**good, "event_type": "teleport"},
        {**good, "dst_port": "80"},
        [1, 2],
    )


def test_on_error_raise_names_file_and_line(messy: Path) -> None:
    with pytest.raises(ParseError) as info:
        read_events(messy)
    assert info.value.file == str(messy) and info.value.line == 2
    assert "no usable event time" in str(info.value)


def test_on_error_collect_accounts_for_every_row(messy: Path) -> None:
    report = ReadReport()
    events, errors = read_events(messy, on_error="collect", report=report)
    assert _py(events["dst_port"]) == [None, 80]
    assert report.rows_read == report.events + report.rows_reported == 6
    assert report.blank_lines == 1
    assert errors["line"].tolist() == [2, 4, 5, 7]  # file order
    reasons = errors.set_index("line")["reason"]
    assert reasons[2] == "no usable event time"
    assert reasons[4].startswith("not valid JSON")
    assert "teleport" in reasons[5] and "event_type" in reasons[5]
    assert reasons[7] == "a JSON list, not an object"
    assert errors.set_index("line")["text"][2].startswith('{"time": "yesterday"')


def test_on_error_skip_counts_without_keeping(messy: Path) -> None:
    report = ReadReport()
    events = read_events(messy, on_error="skip", report=report)
    assert len(events) == 2 and report.rows_reported == 4 and report.errors == []


def test_bad_parquet_row_has_its_row_number_and_values(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "p.parquet",
        [
            {"time": "2024-01-01T00:00:00Z", "event_type": "login"},
            {"time": "soon", "event_type": "login"},
        ],
    )
    events, errors = read_events(path, on_error="collect")
    assert len(events) == 1
    assert errors["line"].tolist() == [2]
    assert json.loads(errors["text"][0])["time"] == "soon"


def test_json_lines_with_changing_types_and_duplicate_keys(tmp_path: Path) -> None:
    path = _lines(
        tmp_path / "mixed.jsonl",
        {"time": 1_704_067_200_000, "event_type": "login", "session_id": 5},
        {"time": 1_704_067_201_000, "event_type": "login", "session_id": "6"},
        '{"time": 1704067202000, "event_type": "login", "session_id": 7, "session_id": 8}',
    )
    df = read_events(path, mapping={"time": {"path": "time", "unit": "ms"}})
    assert _py(df["session_id"]) == [5, 6, 8]


def test_memory_is_bounded_by_batches(tmp_path: Path) -> None:
    rows = [
        {"time": f"2024-01-01T00:00:{i % 60:02d}Z", "event_type": "login"} for i in range(2000)
    ]
    path = _lines(tmp_path / "many.jsonl", *rows)
    sizes = [b.num_rows for b in iter_events(path, batch_size=256)]
    assert sum(sizes) == 2000 and max(sizes) == 256


@pytest.mark.skipif(sys.platform != "linux", reason="copies a fixture tree")
def test_hidden_files_in_a_directory_are_skipped(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "canonical.parquet", tmp_path / "a.parquet")
    (tmp_path / ".hidden.parquet").write_bytes(b"junk")
    assert len(read_events(tmp_path)) == 2


def test_fixtures_are_reproducible(tmp_path: Path) -> None:
    """make_fixtures.py rewrites exactly the committed fixtures (same rows, same text)."""
    sys.path.insert(0, str(FIXTURES))
    try:
        import make_fixtures
    finally:
        sys.path.remove(str(FIXTURES))
    make_fixtures.build(tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(
        p.relative_to(FIXTURES)
        for p in FIXTURES.rglob("*")
        if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts
    )
    assert written == committed
    for rel in written:
        if rel.suffix == ".parquet":
            assert pq.read_table(tmp_path / rel).equals(pq.read_table(FIXTURES / rel)), rel
        elif rel.suffix == ".gz":
            assert gzip.decompress((tmp_path / rel).read_bytes()) == gzip.decompress(
                (FIXTURES / rel).read_bytes()
            )
        else:
            assert (tmp_path / rel).read_bytes() == (FIXTURES / rel).read_bytes(), rel
