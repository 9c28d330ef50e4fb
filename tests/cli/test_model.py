"""Tests for the model-file commands, run in-process.

They share training data and a fitted model, so one module covers
``behavemodel/cli/_fit.py``, ``_score.py``, ``_inspect.py`` (inspect and diff) and
``_inputs.py``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from behavemodel import schema
from behavemodel.artifacts import load, load_artifact
from behavemodel.io import write_events
from behavemodel.models import alerts

KEY_VAR = "BEHAVEMODEL_TEST_KEY"
KEY = "a cli test key"


def run(*args: Any, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    from behavemodel.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], env=env, input=input)


def events(rows: list[dict[str, Any]]) -> pa.Table:
    records = []
    for i, row in enumerate(rows):
        row = dict(row)
        minutes = row.pop("minutes", i)
        row["time"] = pd.Timestamp("2024-01-01T00:00:00Z") + pd.Timedelta(minutes=minutes)
        row.setdefault("event_type", "process_start")
        row.setdefault("event_id", f"ev-{i}")
        row.setdefault("source_format", "canonical")
        records.append(row)
    frame = pd.DataFrame.from_records(records)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return schema.conform(frame, fill_missing=True)


def usual(day: int) -> list[dict[str, Any]]:
    t = day * 1440
    rows = []
    for host in ("web-01", "web-02"):
        rows.append(
            {"host_name": host, "process_exe": "/usr/sbin/nginx", "parent_exe": "/sbin/init",
             "user_name": "www-data", "minutes": t}
        )  # fmt: skip
        rows.append(
            {"host_name": host, "event_type": "net_listen", "process_exe": "/usr/sbin/nginx",
             "net_direction": "listen", "net_family": "inet", "dst_port": 443, "success": True,
             "user_name": "www-data", "minutes": t + 1}
        )  # fmt: skip
    rows.append(
        {"host_name": "db-01", "process_exe": "/usr/bin/psql", "parent_exe": "/bin/bash",
         "user_name": "postgres", "minutes": t + 2}
    )  # fmt: skip
    return rows


ATTACK = [
    {"host_name": "web-01", "process_exe": "/bin/bash", "parent_exe": "/usr/sbin/nginx",
     "user_name": "www-data", "minutes": 5 * 1440},
    {"host_name": "web-01", "event_type": "net_listen", "process_exe": "/usr/bin/nc",
     "net_direction": "listen", "net_family": "inet", "dst_port": 4444, "success": True,
     "user_name": "www-data", "minutes": 5 * 1440 + 1},
]  # fmt: skip


@pytest.fixture
def train(tmp_path: Path) -> Path:
    path = tmp_path / "train.parquet"
    write_events(events([r for day in range(3) for r in usual(day)]), path)
    return path


@pytest.fixture
def today(tmp_path: Path) -> Path:
    path = tmp_path / "today.parquet"
    write_events(events(usual(5) + ATTACK), path)
    return path


@pytest.fixture
def approved(tmp_path: Path, train: Path) -> Path:
    out = tmp_path / "approved.bmz"
    result = run("fit", train, "-o", out, "--group-regex", r"^([a-z]+)-", "--min-span", "1h")
    assert result.exit_code == 0, result.output
    return out


def one_error_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("behavemodel: error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# -- fit --------------------------------------------------------------------------------
def test_fit_writes_a_model_and_a_summary(approved: Path, tmp_path: Path) -> None:
    artifact = load_artifact(approved)
    assert artifact.signature == "unsigned"
    assert artifact.manifest.config["groups"]["pattern"] == "^([a-z]+)-"
    assert artifact.manifest.training["events"] == 15
    report = artifact.model.convergence_report()
    assert set(report["host_group"]) == {"web", "db"}
    result = run("fit", tmp_path / "train.parquet", "-o", tmp_path / "again.bmz")
    assert result.exit_code == 0, result.output
    assert "learned from 15 events on 3 hosts in 3 groups" in result.stdout
    assert "2024-01-01 00:00:00 .. 2024-01-03 00:02:00 UTC" in result.stdout
    assert f"wrote {tmp_path / 'again.bmz'} (" in result.stdout
    assert "unsigned" in result.stdout


def test_fit_in_batches_equals_one_fit(
    tmp_path: Path, train: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from behavemodel.cli import _inputs
    from behavemodel.scoring import _fit

    monkeypatch.setattr(_inputs, "_READ_ROWS", 2)
    monkeypatch.setattr(_fit, "_CHUNK_ROWS", 3)
    monkeypatch.setattr(_fit, "_MERGE_ROWS", 4)
    out = tmp_path / "batched.bmz"
    assert run("fit", train, "-o", out, "--min-span", "1h").exit_code == 0
    whole = tmp_path / "whole.bmz"
    monkeypatch.undo()
    assert run("fit", train, "-o", whole, "--min-span", "1h").exit_code == 0
    assert load(out).stats_.equals(load(whole).stats_)


def test_fit_options_reach_the_model(tmp_path: Path, train: Path) -> None:
    groups = tmp_path / "groups.csv"
    groups.write_text("host,group\nweb-01,frontend\nweb-02,frontend\n")
    out = tmp_path / "m.bmz"
    result = run(
        "fit", train, "-o", out, "--groups", groups, "--features", "ParentNames,ProcessOwners",
        "--features", "NetworkPorts", "--bucket", "30min", "--min-span", "2h",
        "--novelty-threshold", "0.2", "--max-age", "30D",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = load_artifact(out).manifest
    assert [e["name"] for e in manifest.config["extractors"]] == [
        "ParentNames",
        "ProcessOwners",
        "NetworkPorts",
    ]
    assert manifest.config["groups"]["mapping"] == {"web-01": "frontend", "web-02": "frontend"}
    assert manifest.params == {
        "bucket": "30min",
        "novelty_threshold": 0.2,
        "min_span": "2h",
        "max_age": "30D",
        "alert_while_learning": False,
    }


def test_fit_from_raw_audit_logs_and_directories(tmp_path: Path, train: Path) -> None:
    line = (
        "node=web-9 type=SYSCALL msg=audit(1700000000.{n:03d}:{n}): arch=c000003e syscall=59 "
        "success=yes exit=0 a0=3 a1=0 a2=0 a3=0 items=1 ppid=1 pid={n} auid=1000 uid=0 gid=0 "
        'euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="id" exe="/usr/bin/id" '
        "key=(null)"
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "audit.log").write_text("\n".join(line.format(n=n) for n in range(1, 4)) + "\n")
    (logs / "audit.log.1").write_text(line.format(n=100) + "\n")  # sniffed, not by suffix
    (logs / "copy.parquet").write_bytes(train.read_bytes())
    (logs / "_SUCCESS").write_text("")  # skipped, like .hidden files
    out = tmp_path / "mixed.bmz"
    result = run("fit", logs, "-o", out, "--features", "ProcessOwners")
    assert result.exit_code == 0, result.output
    training = load_artifact(out).manifest.training
    assert training["events"] == 15 + 4
    assert "web-9" in [g["host_group"] for g in training["per_group"]]
    stdin = run("fit", "-", "-o", tmp_path / "stdin.bmz", input=line.format(n=1) + "\n")
    assert stdin.exit_code == 0, stdin.output


def test_fit_signs_with_a_key_from_the_environment(tmp_path: Path, train: Path) -> None:
    out = tmp_path / "signed.bmz"
    result = run("fit", train, "-o", out, "--key-env", KEY_VAR, env={KEY_VAR: KEY})
    assert result.exit_code == 0, result.output
    assert "signed with key id" in result.stdout
    assert load_artifact(out, key=KEY, require_signature=True).signature == "verified"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--key-env", KEY_VAR], {}, f"the environment variable {KEY_VAR} named by --key-env"),
        (["--key-env", "s3cr3t key!"], {}, "takes the NAME of an environment variable"),
        (["--group-regex", "x", "--group-column", "c"], {}, "are alternatives"),
        (["--features", "NoSuchFeature"], {}, "NoSuchFeature"),
        (["--min-span", "-3h"], {}, "min_span"),
    ],
)
def test_fit_usage_errors_exit_2(
    tmp_path: Path, train: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = run("fit", train, "-o", tmp_path / "m.bmz", *args, env=env)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "s3cr3t" not in result.output.replace("'s3cr3t key!'", "")  # never echo a key
    assert "Traceback" not in result.output
    assert not (tmp_path / "m.bmz").exists()


def test_fit_without_events_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.parquet"
    write_events(schema.empty_table(), empty)
    line = one_error_line(run("fit", empty, "-o", tmp_path / "m.bmz"))
    assert "no events found" in line


def test_fit_misnamed_parquet_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "events.parquet"
    bad.write_text("this is not parquet")
    assert "not a Parquet file" in one_error_line(run("fit", bad, "-o", tmp_path / "m.bmz"))


# -- score ------------------------------------------------------------------------------
def test_score_finds_deviations_and_exits_1(approved: Path, today: Path, tmp_path: Path) -> None:
    out = tmp_path / "alerts.parquet"
    result = run("score", approved, today, "-o", out)
    assert result.exit_code == 1, result.output
    table = pq.read_table(out)
    assert table.schema.equals(alerts.ALERT_SCHEMA)
    assert table.schema.metadata == alerts.ALERT_SCHEMA.metadata  # alerts-v1, no pandas
    assert sorted(table.column("feature").to_pylist()) == [
        "NetworkPorts",
        "NetworkProcesses",
        "ParentNames",
        "ProcessOwners",
    ]
    assert "4 deviation(s) on 1 host(s)" in result.stdout
    assert "/usr/sbin/nginx started /bin/bash for the first time in group 'web'" in result.stdout


def test_score_without_deviations_exits_0(approved: Path, train: Path, tmp_path: Path) -> None:
    out = tmp_path / "alerts.parquet"
    result = run("score", approved, train, "-o", out)
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).num_rows == 0
    assert "0 deviation(s)" in result.stdout


def test_score_of_a_small_dump_loads_and_scores_without_numba(
    approved: Path, today: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a process without numba, a small Parquet dump needs none: not to load, not to score."""
    from behavemodel.features import _loops
    from behavemodel.models import _kernels

    compiled = run("score", approved, today, "-o", tmp_path / "compiled.parquet")

    def no_compiled_loop(function: Any) -> Any:
        raise AssertionError(f"compiled loop {function.__qualname__} called")

    monkeypatch.setattr(_loops, "numba_loaded", lambda: False)
    monkeypatch.setattr(_loops, "_jit", no_compiled_loop)
    monkeypatch.setattr(_kernels, "_jit", no_compiled_loop)
    result = run("score", approved, today, "-o", tmp_path / "numpy.parquet")
    assert result.exit_code == compiled.exit_code == 1, result.output
    assert result.stdout == compiled.stdout.replace("compiled.parquet", "numpy.parquet")
    assert pq.read_table(tmp_path / "numpy.parquet").equals(
        pq.read_table(tmp_path / "compiled.parquet")
    )


def test_score_json_lines(approved: Path, today: Path, tmp_path: Path) -> None:
    result = run("score", approved, today, "-o", tmp_path / "a.parquet", "--json")
    assert result.exit_code == 1, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 4
    assert set(rows[0]) == set(alerts.ALERT_COLUMNS)
    assert rows[0]["time"] == "2024-01-06T00:00:00.000000Z"


def test_score_combines_alerts_across_batches(
    approved: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from behavemodel.cli import _inputs

    again = [dict(r, minutes=r["minutes"] + 30) for r in ATTACK]
    path = tmp_path / "two.parquet"
    write_events(events(ATTACK + again), path)
    monkeypatch.setattr(_inputs, "_READ_ROWS", 1)  # one event per batch
    out = tmp_path / "alerts.parquet"
    assert run("score", approved, path, "-o", out).exit_code == 1
    table = pq.read_table(out).to_pandas()
    assert len(table) == 4 and (table["events"] == 2).all()
    assert (table["last_time"] - table["time"] == pd.Timedelta(minutes=30)).all()


def test_score_refuses_an_unsigned_model_when_asked(
    approved: Path, today: Path, tmp_path: Path
) -> None:
    result = run(
        "score", approved, today, "-o", tmp_path / "a.parquet", "--key-env", KEY_VAR,
        "--require-signature", env={KEY_VAR: KEY},
    )  # fmt: skip
    assert "not signed" in one_error_line(result)
    assert not (tmp_path / "a.parquet").exists()


# -- inspect ----------------------------------------------------------------------------
def test_inspect_prints_manifest_signature_and_convergence(tmp_path: Path, train: Path) -> None:
    out = tmp_path / "signed.bmz"
    run("fit", train, "-o", out, "--min-span", "1h", "--key-env", KEY_VAR, env={KEY_VAR: KEY})
    verified = run("inspect", out, "--key-env", KEY_VAR, "--require-signature", env={KEY_VAR: KEY})
    assert verified.exit_code == 0, verified.output
    text = verified.stdout
    assert "behavemodel-model 1.0" in text
    assert "BaselineDetector (state version 1)" in text
    assert "signed, verified (HMAC-SHA256, key id" in text
    assert "stats.parquet" in text and "sha256" in text
    assert "15 events, 3 hosts" in text
    assert "convergence:" in text and "monitoring" in text and "ProcessOwners" in text
    unverified = run("inspect", out)
    assert unverified.exit_code == 0
    assert "NOT verified" in unverified.stdout
    assert "behavemodel: warning:" in unverified.stderr


def test_inspect_json(approved: Path) -> None:
    result = run("inspect", approved, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["signature"] == "unsigned"
    assert document["manifest"]["format"] == "behavemodel-model"
    assert {r["state"] for r in document["convergence"]} <= {"learning", "monitoring"}
    assert {"host_group", "feature", "novelty_rate"} <= set(document["convergence"][0])


def _tamper(src: Path, dst: Path, how: str) -> Path:
    with zipfile.ZipFile(src) as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    if how == "byte":
        stats = bytearray(entries["stats.parquet"])
        stats[-100] ^= 1
        entries["stats.parquet"] = bytes(stats)
    elif how == "member":
        entries["evil.so"] = b"\x7fELF"
    elif how == "name":
        entries["../evil"] = entries.pop("stats.parquet")
    elif how == "major":
        doc = json.loads(entries["manifest.json"])
        doc["format_version"] = "2.0"
        entries["manifest.json"] = json.dumps(doc).encode()
    elif how == "type":
        doc = json.loads(entries["manifest.json"])
        doc["model"]["type"] = "Evil"
        entries["manifest.json"] = json.dumps(doc).encode()
    elif how == "json":
        entries["manifest.json"] = b"{not json"
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return dst


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("byte", "does not match the SHA-256"),
        ("member", "that the manifest does not list"),
        ("name", "is unsafe"),
        ("major", "newer than the 1.0"),
        ("type", "model type 'Evil' is not one"),
        ("json", "is not valid JSON"),
    ],
)
@pytest.mark.parametrize("command", ["inspect", "score", "diff"])
def test_every_refusal_is_one_line_and_exit_2(
    approved: Path, today: Path, tmp_path: Path, how: str, reason: str, command: str
) -> None:
    bad = _tamper(approved, tmp_path / "bad.bmz", how)
    args: list[Any] = {
        "inspect": ["inspect", bad],
        "score": ["score", bad, today, "-o", tmp_path / "a.parquet"],
        "diff": ["diff", approved, bad],
    }[command]
    line = one_error_line(run(*args))
    assert reason in line
    assert line.startswith(f"behavemodel: error: {bad}: ")


def test_wrong_key_is_one_line(tmp_path: Path, train: Path) -> None:
    out = tmp_path / "signed.bmz"
    run("fit", train, "-o", out, "--key-env", KEY_VAR, env={KEY_VAR: KEY})
    line = one_error_line(run("inspect", out, "--key-env", KEY_VAR, env={KEY_VAR: "other"}))
    assert "the signature does not verify" in line


def test_not_a_model_file(tmp_path: Path) -> None:
    path = tmp_path / "x.bmz"
    path.write_text("hello")
    assert "not a readable zip archive" in one_error_line(run("inspect", path))


# -- diff -------------------------------------------------------------------------------
def test_diff_gate(approved: Path, train: Path, today: Path, tmp_path: Path) -> None:
    candidate = tmp_path / "candidate.bmz"
    fit = run("fit", train, today, "-o", candidate, "--group-regex", r"^([a-z]+)-",
              "--min-span", "1h")  # fmt: skip
    assert fit.exit_code == 0, fit.output
    gate = run("diff", approved, candidate, "--fail-on-new")
    assert gate.exit_code == 1, gate.output
    assert "+ web  NetworkProcesses  exe=/usr/bin/nc, direction=listen" in gate.stdout
    assert "4 added, 0 removed in 4 (group, feature) pair(s)" in gate.stdout
    assert "--fail-on-new" in gate.stderr
    assert run("diff", approved, candidate).exit_code == 0
    reverse = run("diff", candidate, approved, "--fail-on-new")
    assert reverse.exit_code == 0, reverse.output
    assert "0 added, 4 removed" in reverse.stdout
    same = run("diff", approved, approved, "--fail-on-new")
    assert same.exit_code == 0 and "0 added, 0 removed in 0" in same.stdout


def test_diff_json(approved: Path, train: Path, today: Path, tmp_path: Path) -> None:
    candidate = tmp_path / "candidate.bmz"
    run("fit", train, today, "-o", candidate, "--group-regex", r"^([a-z]+)-", "--min-span", "1h")
    result = run("diff", approved, candidate, "--json", "--fail-on-new")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert (document["added"], document["removed"]) == (4, 0)
    assert {c["change"] for c in document["changes"]} == {"added"}
    assert document["approved"] == str(approved)


def test_hostile_values_cannot_reach_the_terminal_raw(tmp_path: Path) -> None:
    evil = "web-01\x1b[2J"
    rows = [dict(r, host_name=evil) for day in range(3) for r in usual(day)]
    path = tmp_path / "evil.parquet"
    write_events(events(rows), path)
    model = tmp_path / "m.bmz"
    assert run("fit", path, "-o", model, "--min-span", "1h").exit_code == 0
    attack = tmp_path / "attack.parquet"
    write_events(events([dict(r, host_name=evil) for r in ATTACK]), attack)
    for result in (
        run("inspect", model),
        run("score", model, attack, "-o", tmp_path / "a.parquet"),
    ):
        assert "\x1b" not in result.output
        assert "\\x1b[2J" in result.output


FIXTURES = Path(__file__).resolve().parents[1] / "io" / "fixtures"


@pytest.mark.parametrize(
    ("schema_name", "fixture"),
    [("ocsf", "ocsf-1.4.parquet"), ("ocsf", "ocsf-1.1.jsonl"), ("ecs", "auditbeat.ndjson")],
)
def test_fit_and_score_mapped_schemas(tmp_path: Path, schema_name: str, fixture: str) -> None:
    from behavemodel.io import read_events

    source = FIXTURES / fixture
    expected = read_events(source, schema=schema_name)
    model_path = tmp_path / "m.bmz"
    fitted = run("fit", str(source), "--schema", schema_name, "--min-span", "1s",
                 "-o", str(model_path))  # fmt: skip
    assert fitted.exit_code == 0, fitted.output
    model = load(model_path)
    assert model.stats_.num_rows > 0
    assert len(expected) > 0
    scored = run("score", str(model_path), str(source), "--schema", schema_name,
                 "-o", str(tmp_path / "a.parquet"))  # fmt: skip
    assert scored.exit_code == 0, scored.output  # scored on what it learned: nothing new


def test_schema_choices_are_the_readers() -> None:
    from behavemodel.io import SCHEMAS

    result = run("score", "--help")
    assert all(name in result.output for name in SCHEMAS)
