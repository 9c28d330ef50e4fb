"""The committed format 1.0 model still loads, verifies and scores the same.

tests/fixtures/models/baseline-v1.bmz was written once by make_baseline_v1.py
beside it; baseline-v1.json records its key, its manifest, the events to score
and what the model said about them. Every later behavemodel must agree.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from behavemodel import schema
from behavemodel.artifacts import SignatureError, load, load_artifact

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "models"
MODEL = FIXTURES / "baseline-v1.bmz"

# A later behavemodel loading this file warns that it was saved by 0.1.0: that is
# expected here, and exactly what the fixture exists to exercise.
pytestmark = pytest.mark.filterwarnings("ignore::behavemodel.artifacts.VersionMismatchWarning")


@pytest.fixture(scope="module")
def facts() -> dict[str, Any]:
    return json.loads((FIXTURES / "baseline-v1.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def events(facts: dict[str, Any]) -> pa.Table:
    frame = pd.DataFrame.from_records(facts["events"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame["dst_port"] = frame["dst_port"].astype("Int32")
    frame["success"] = frame["success"].astype("boolean")
    frame["source_format"] = "canonical"
    return schema.conform(frame, fill_missing=True)


def test_fixture_is_the_committed_file(facts: dict[str, Any]) -> None:
    with zipfile.ZipFile(MODEL) as zf:
        stats = zf.read("stats.parquet")
    assert hashlib.sha256(stats).hexdigest() == facts["manifest"]["stats_sha256"]


def test_fixture_loads_and_verifies(facts: dict[str, Any]) -> None:
    key = facts["key"].encode()
    artifact = load_artifact(MODEL, key=key, require_signature=True)
    assert artifact.signature == "verified"
    manifest = artifact.manifest
    recorded = facts["manifest"]
    assert manifest.format_version == recorded["format_version"] == "1.0"
    assert manifest.behavemodel_version == recorded["behavemodel_version"]
    assert manifest.created == recorded["created"]
    assert (manifest.model_type, manifest.state_version) == (
        recorded["model_type"],
        recorded["state_version"],
    )
    assert manifest.key_id == recorded["key_id"]
    assert manifest.training == recorded["training"]
    with pytest.raises(SignatureError):
        load(MODEL, key=b"not the fixture key")


def test_fixture_scores_as_recorded(facts: dict[str, Any], events: pa.Table) -> None:
    model = load(MODEL, key=facts["key"].encode(), require_signature=True)
    expected = facts["expected"]
    assert model.predict(events).tolist() == expected["predict"]
    assert model.anomaly_score(events).tolist() == pytest.approx(
        expected["anomaly_score"], abs=1e-12
    )
    alerts = model.explain(events)
    columns = ["host_name", "host_group", "feature", "key", "deviation", "event_id", "reason"]
    got = [{c: str(r[c]) for c in columns} for r in alerts.to_dict("records")]
    assert got == [{c: a[c] for c in columns} for a in expected["alerts"]]
    assert alerts["score"].tolist() == pytest.approx([a["score"] for a in expected["alerts"]])
    report = model.convergence_report()
    states = [
        {"host_group": str(g), "feature": str(f), "state": str(s)}
        for g, f, s in zip(report["host_group"], report["feature"], report["state"], strict=True)
    ]
    assert states == expected["convergence"]
