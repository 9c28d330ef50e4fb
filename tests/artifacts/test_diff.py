"""diff(approved, candidate) for CI gates (behavemodel/artifacts/_diff.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from behavemodel.artifacts import BaselineDiff, SignatureError, diff, save
from behavemodel.artifacts._diff import CHANGE_COLUMNS, SUMMARY_COLUMNS
from behavemodel.models import BaselineDetector


@pytest.fixture(scope="module")
def candidate(train_events: pa.Table, score_events: pa.Table) -> BaselineDetector:
    return BaselineDetector(min_span="1h").fit(pa.concat_tables([train_events, score_events]))


def test_candidate_additions_are_listed(
    model: BaselineDetector, candidate: BaselineDetector
) -> None:
    result = diff(model, candidate)
    assert isinstance(result, BaselineDiff)
    assert tuple(result.changes.columns) == CHANGE_COLUMNS
    added = result.changes[result.changes["change"] == "added"]
    assert sorted(zip(added["host_group"], added["feature"], added["key"], strict=True)) == [
        ("web", "NetworkPorts", "exe=/usr/bin/nc, direction=listen, port=4444"),
        ("web", "NetworkProcesses", "exe=/usr/bin/nc, direction=listen"),
        ("web", "ParentNames", "parent=/bin/bash, exe=/usr/bin/psql"),
        ("web", "ParentNames", "parent=/usr/sbin/nginx, exe=/bin/bash"),
        ("web", "ProcessOwners", "exe=/bin/bash, user=www-data"),
        ("web", "ProcessOwners", "exe=/usr/bin/psql, user=www-data"),
    ]
    assert result.added == 6 and result.removed == 0 and result.has_additions
    nc = added[added["feature"] == "NetworkProcesses"].iloc[0]
    assert list(nc["key_values"]) == ["/usr/bin/nc", "listen"]
    assert (nc["observations"], nc["events"], nc["hosts"]) == (1, 1, 1)
    assert str(nc["first_time"]) == "2024-01-05 00:11:00+00:00"
    assert result.settings == ()


def test_reverse_diff_lists_removals(model: BaselineDetector, candidate: BaselineDetector) -> None:
    result = diff(candidate, model)
    assert (result.added, result.removed, result.has_additions) == (0, 6, False)
    assert set(result.changes["change"]) == {"removed"}


def test_summary_per_group_and_feature(
    model: BaselineDetector, candidate: BaselineDetector
) -> None:
    summary = diff(model, candidate).summary
    assert tuple(summary.columns) == SUMMARY_COLUMNS
    rows = {(r.host_group, r.feature): r for r in summary.itertuples(index=False)}
    web = rows[("web", "ParentNames")]
    assert (web.approved_keys, web.candidate_keys, web.added, web.removed) == (2, 4, 2, 0)
    db = rows[("db", "ParentNames")]
    assert (db.approved_keys, db.candidate_keys, db.added, db.removed) == (2, 2, 0, 0)
    assert list(summary["host_group"]) == sorted(summary["host_group"])


def test_identical_models_have_no_changes(model: BaselineDetector, saved: Path) -> None:
    result = diff(model, saved)
    assert result.changes.empty and tuple(result.changes.columns) == CHANGE_COLUMNS
    assert not result.has_additions
    assert (result.summary["approved_keys"] == result.summary["candidate_keys"]).all()


def test_paths_and_keys(
    model: BaselineDetector, candidate: BaselineDetector, tmp_path: Path, signing_key: bytes
) -> None:
    save(model, tmp_path / "approved.bmz", key=signing_key)
    save(candidate, tmp_path / "candidate.bmz")
    with pytest.raises(SignatureError, match=r"candidate\.bmz: the model is not signed"):
        diff(
            tmp_path / "approved.bmz",
            str(tmp_path / "candidate.bmz"),
            key=signing_key,
            require_signature=True,
        )
    save(candidate, tmp_path / "candidate.bmz", key=signing_key)
    result = diff(
        tmp_path / "approved.bmz", tmp_path / "candidate.bmz", key=signing_key,
        require_signature=True,
    )  # fmt: skip
    assert result.added == 6


def test_to_dict_is_json(model: BaselineDetector, candidate: BaselineDetector) -> None:
    document = diff(model, candidate).to_dict()
    parsed = json.loads(json.dumps(document))
    assert parsed["added"] == 6 and parsed["removed"] == 0
    assert parsed["changes"][0]["first_time"].endswith("Z")
    assert set(parsed["changes"][0]) == set(CHANGE_COLUMNS)
    assert set(parsed["summary"][0]) == set(SUMMARY_COLUMNS)


def test_settings_that_differ_are_reported(
    train_events: pa.Table, make_events: Callable[..., pa.Table]
) -> None:
    a = BaselineDetector(features=["ParentNames", "ProcessOwners"], min_span="1h")
    b = BaselineDetector(features=["ParentNames", "NetworkPorts"], min_span="2h", bucket="30min")
    result = diff(a.fit(train_events), b.fit(train_events))
    assert result.settings == (
        "min_span: 0 days 01:00:00 -> 0 days 02:00:00",
        "bucket: 0 days 01:00:00 -> 0 days 00:30:00",
        "feature NetworkPorts: only in the candidate",
        "feature ProcessOwners: only in the approved baseline",
    )
    assert set(result.changes["feature"]) == {"NetworkPorts", "ProcessOwners"}


def test_refuses_other_things(model: BaselineDetector) -> None:
    with pytest.raises(TypeError, match="The candidate model is a list"):
        diff(model, [])  # type: ignore[arg-type]
    with pytest.raises(Exception, match="not fitted"):
        diff(BaselineDetector(), model)
