"""Tests for behavemodel.models._baseline: BaselineDetector and merge_models."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sklearn.exceptions
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils._param_validation import InvalidParameterError

from behavemodel import schema
from behavemodel.exceptions import BehaveModelError, SchemaError
from behavemodel.features import FeatureConfigError, GroupMap
from behavemodel.models import (
    BaselineDetector,
    IncompatibleModelsError,
    NoEventsError,
    NotFittedError,
    alerts,
    merge_models,
    score_batch,
)

Make = Callable[..., pa.Table]

WEB = {"host_group": "web"}
DB = {"host_group": "db", "host_name": "db-01"}


def _fleet_rows(hours: int = 48) -> list[dict[str, Any]]:
    """Two web hosts and one db host, hourly activity, a cron job every 6 hours."""
    rows: list[dict[str, Any]] = []
    for hour in range(hours):
        minutes = hour * 60
        for host in ("web-01", "web-02"):
            rows.append(
                {
                    **WEB,
                    "host_name": host,
                    "minutes": minutes,
                    "process_exe": "/usr/sbin/nginx",
                    "user_name": "www-data",
                    "parent_exe": "/sbin/init",
                }
            )
            rows.append(
                {
                    **WEB,
                    "host_name": host,
                    "minutes": minutes + 1,
                    "event_type": "net_accept",
                    "net_family": "inet",
                    "net_direction": "inbound",
                    "dst_port": 443,
                    "process_exe": "/usr/sbin/nginx",
                    "user_name": "www-data",
                }
            )
        rows.append(
            {
                **DB,
                "minutes": minutes,
                "process_exe": "/usr/lib/postgresql/bin/postgres",
                "user_name": "postgres",
                "parent_exe": "/sbin/init",
            }
        )
        rows.append(
            {
                **DB,
                "minutes": minutes + 2,
                "event_type": "net_accept",
                "net_family": "inet",
                "net_direction": "inbound",
                "dst_port": 5432,
                "process_exe": "/usr/lib/postgresql/bin/postgres",
                "user_name": "postgres",
            }
        )
        if hour % 6 == 0:
            for host, group in (("web-01", "web"), ("web-02", "web"), ("db-01", "db")):
                rows.append(
                    {
                        "host_name": host,
                        "host_group": group,
                        "minutes": minutes + 3,
                        "process_exe": "/usr/bin/backup",
                        "user_name": "root",
                        "parent_exe": "/usr/sbin/cron",
                    }
                )
    return rows


@pytest.fixture(scope="module")
def fleet(make_events: Make) -> pa.Table:
    return make_events(_fleet_rows())


@pytest.fixture(scope="module")
def model(fleet: pa.Table) -> BaselineDetector:
    return BaselineDetector().fit(fleet)


def _day3(make_events: Make, rows: list[dict[str, Any]]) -> pa.Table:
    return make_events(rows, start="2024-01-03T00:00:00Z")


def test_fit_returns_self_and_learns_per_group(model: BaselineDetector) -> None:
    report = model.convergence_report()
    assert set(report["host_group"]) == {"web", "db"}
    assert (report["state"] == "monitoring").all(), report[["host_group", "feature", "detail"]]
    web = model.baseline_[
        (model.baseline_["host_group"] == "web")
        & (model.baseline_["feature"] == "NetworkProcesses")
    ]
    assert web["key"].tolist() == ["exe=/usr/sbin/nginx, direction=inbound"]
    assert web["hosts"].tolist() == [2] and web["observations"].tolist() == [96]


def test_scores_are_graded(model: BaselineDetector, make_events: Make) -> None:
    model = BaselineDetector().fit(
        pa.concat_tables(
            [
                make_events(_fleet_rows()),
                make_events(
                    [
                        {
                            **WEB,
                            "host_name": "web-01",
                            "process_exe": "/usr/bin/rare",
                            "user_name": "root",
                            "parent_exe": "/usr/sbin/cron",
                        }
                    ]
                ),
            ]
        )
    )
    today = _day3(
        make_events,
        [
            {
                **WEB,
                "host_name": "web-01",
                "process_exe": "/usr/sbin/nginx",
                "user_name": "www-data",
                "parent_exe": "/sbin/init",
            },
            {
                **WEB,
                "host_name": "web-01",
                "process_exe": "/usr/bin/rare",
                "user_name": "root",
                "parent_exe": "/usr/sbin/cron",
            },
            {
                **WEB,
                "host_name": "web-01",
                "process_exe": "/usr/lib/postgresql/bin/postgres",
                "user_name": "postgres",
                "parent_exe": "/sbin/init",
            },
            {
                **WEB,
                "host_name": "web-01",
                "process_exe": "/tmp/x",
                "user_name": "www-data",
                "parent_exe": "/usr/sbin/nginx",
            },
        ],
    )
    frequent, rare, elsewhere, never = model.anomaly_score(today)
    assert 0 < frequent < rare < 0.5 < elsewhere < never == 1.0
    assert model.predict(today).tolist() == [1, 1, -1, -1]
    np.testing.assert_allclose(model.decision_function(today), 0.5 - model.anomaly_score(today))
    np.testing.assert_allclose(model.score_samples(today), -model.anomaly_score(today))
    assert model.offset_ == -0.5


def test_fewer_groups_having_a_key_scores_higher(make_events: Make) -> None:
    rows = []
    for group, exes in {
        "a": ["/bin/x", "/bin/y"],
        "b": ["/bin/x"],
        "c": ["/bin/x", "/bin/y"],
        "d": ["/bin/z"],
    }.items():
        for exe in exes:
            rows += [
                {
                    "host_name": group,
                    "host_group": group,
                    "process_exe": exe,
                    "user_name": "u",
                    "minutes": m,
                }
                for m in (0, 60)
            ]
    model = BaselineDetector(features=["ProcessOwners"], min_span="1h").fit(make_events(rows))
    today = _day3(
        make_events,
        [
            {"host_name": "d", "host_group": "d", "process_exe": "/bin/x", "user_name": "u"},
            {"host_name": "d", "host_group": "d", "process_exe": "/bin/y", "user_name": "u"},
        ],
    )
    common, less_common = model.anomaly_score(today)
    assert 0.5 < common < less_common < 1.0


def test_explain_rows(model: BaselineDetector, make_events: Make) -> None:
    attack = {
        **WEB,
        "host_name": "web-02",
        "event_type": "net_listen",
        "net_family": "inet",
        "net_direction": "listen",
        "dst_port": 4444,
        "process_exe": "/bin/nc.openbsd",
        "user_name": "www-data",
        "parent_exe": "/bin/bash",
        "process_cmdline": "nc -l -p 4444 -e /bin/bash",
        "process_pid": 4242,
    }
    today = _day3(
        make_events,
        [
            {
                **WEB,
                "host_name": "web-01",
                "process_exe": "/usr/sbin/nginx",
                "user_name": "www-data",
                "parent_exe": "/sbin/init",
            },
            {**attack, "minutes": 5, "event_id": "web-02:1.000:7"},
            {**attack, "minutes": 6},
            {
                **WEB,
                "host_name": "web-01",
                "process_exe": "/usr/lib/postgresql/bin/postgres",
                "user_name": "postgres",
                "parent_exe": "/sbin/init",
                "minutes": 7,
            },
        ],
    )
    found = model.explain(today)
    assert tuple(found.columns) == alerts.ALERT_COLUMNS
    assert found[alerts.FEATURE].tolist() == [
        "NetworkProcesses",
        "NetworkPorts",
        "ProcessOwners",
        "ParentNames",
    ]
    nc = found.iloc[0]
    assert nc[alerts.KEY] == "exe=/bin/nc.openbsd, direction=listen"
    assert list(nc[alerts.KEY_VALUES]) == ["/bin/nc.openbsd", "listen"]
    assert nc[alerts.EVENTS] == 2 and nc[schema.EVENT_ID] == "web-02:1.000:7"
    assert nc[alerts.DEVIATION] == alerts.NEW_EVERYWHERE and nc[alerts.SCORE] == 1.0
    assert nc[schema.PROCESS_CMDLINE] == "nc -l -p 4444 -e /bin/bash"
    assert nc[schema.DST_PORT] == 4444 and nc[schema.PROCESS_PID] == 4242
    assert nc[alerts.REASON] == (
        "/bin/nc.openbsd used the network (listen) for the first time in group 'web'; "
        "it has never been seen in any group."
    )
    assert pd.isna(nc[alerts.FIRST_SEEN_ELSEWHERE]) and nc[alerts.GROUP_STATE] == "monitoring"
    pg = found[found[alerts.FEATURE] == "ProcessOwners"].iloc[0]
    assert pg[alerts.DEVIATION] == alerts.NEW_TO_GROUP
    assert (pg[alerts.OTHER_GROUPS], pg[alerts.OTHER_HOSTS]) == (1, 1)
    assert pg[alerts.FIRST_SEEN_ELSEWHERE] == pd.Timestamp("2024-01-01T00:00:00Z")
    assert "known in 1 other group (1 host) since 2024-01-01 00:00 UTC" in pg[alerts.REASON]
    per_event = model.explain(today, one_row_per="event")
    assert len(per_event) == 6 and (per_event[alerts.EVENTS] == 1).all()
    as_table = score_batch(today, model)
    assert as_table.schema.equals(alerts.ALERT_SCHEMA) and as_table.num_rows == 6
    assert model.explain(today.slice(0, 1)).empty
    with pytest.raises(ValueError, match="'key' or 'event'"):
        model.explain(today, one_row_per="host")  # type: ignore[arg-type]


def test_learning_groups_stay_quiet_unless_asked(make_events: Make) -> None:
    rows = _fleet_rows(hours=3)
    new = _day3(
        make_events, [{**WEB, "host_name": "web-01", "process_exe": "/tmp/x", "user_name": "root"}]
    )
    quiet = BaselineDetector().fit(make_events(rows))
    assert (quiet.convergence_report()["state"] == "learning").all()
    assert "watched for" in quiet.convergence_report()["detail"].iloc[0]
    assert quiet.predict(new).tolist() == [1] and quiet.explain(new).empty
    loud = BaselineDetector(alert_while_learning=True).fit(make_events(rows))
    assert loud.predict(new).tolist() == [-1]
    found = loud.explain(new)
    assert set(found[alerts.GROUP_STATE]) == {"learning"}
    assert "(still learning)" in found[alerts.REASON].iloc[0]


def test_scoring_parameters_apply_after_set_params(make_events: Make) -> None:
    rows = _fleet_rows(hours=3)
    new = _day3(
        make_events, [{**WEB, "host_name": "web-01", "process_exe": "/tmp/x", "user_name": "root"}]
    )
    model = BaselineDetector().fit(make_events(rows))
    assert model.predict(new).tolist() == [1]
    model.set_params(alert_while_learning=True)
    assert model.predict(new).tolist() == [-1]
    model.set_params(alert_while_learning=False)
    assert model.explain(new).empty
    with pytest.raises(ValueError, match="novelty_threshold"):
        model.set_params(novelty_threshold=2.0).predict(new)


def test_unknown_groups_are_learning(model: BaselineDetector, make_events: Make) -> None:
    new_host = _day3(make_events, [{"host_name": "mail-01", "process_exe": "/tmp/x"}])
    assert model.predict(new_host).tolist() == [1]


def test_good_turing_convergence_with_deduplication(make_events: Make) -> None:
    # one chatty key (600 events in one hour) and three keys seen once
    chatty = [
        {"process_exe": "/bin/chatty", "user_name": "u", "minutes": m % 60} for m in range(600)
    ]
    singles = [
        {"process_exe": f"/bin/once{i}", "user_name": "u", "minutes": 60 * (i + 2)}
        for i in range(3)
    ]
    span = [{"process_exe": "/bin/chatty", "user_name": "u", "minutes": 60 * 30}]
    model = BaselineDetector(features=["ProcessOwners"]).fit(make_events(chatty + singles + span))
    row = model.convergence_report().iloc[0]
    assert (row["observations"], row["distinct_keys"], row["singletons"]) == (5, 4, 3)
    assert row["novelty_rate"] == pytest.approx(0.6)
    assert row["state"] == "learning" and "novelty rate 0.6 > 0.01" in row["detail"]
    assert row["span"] == pd.Timedelta(hours=30)
    relaxed = BaselineDetector(features=["ProcessOwners"], novelty_threshold=0.7)
    assert relaxed.fit(make_events(chatty + singles + span)).convergence_report()[
        "state"
    ].tolist() == ["monitoring"]


def test_accept_forget_and_age_out(model: BaselineDetector, make_events: Make) -> None:
    today = _day3(
        make_events,
        [
            {
                **WEB,
                "host_name": "web-01",
                "process_exe": "/usr/bin/new",
                "user_name": "deploy",
                "parent_exe": "/usr/bin/chef-client",
            }
        ],
    )
    detector = BaselineDetector().fit(make_events(_fleet_rows()))
    found = detector.explain(today)
    assert len(found) == 2
    assert detector.accept(found) is detector
    assert detector.predict(today).tolist() == [1] and detector.explain(today).empty
    detector.forget(host_group="web", feature="ProcessOwners", key=["/usr/bin/new", "deploy"])
    assert detector.explain(today)[alerts.FEATURE].tolist() == ["ProcessOwners"]
    detector.accept(pa.Table.from_pandas(detector.explain(today), preserve_index=False))
    assert detector.predict(today).tolist() == [1]
    # the backup job was last seen at hour 42; nginx at hour 47
    backup = _day3(
        make_events,
        [
            {
                **WEB,
                "host_name": "web-01",
                "process_exe": "/usr/bin/backup",
                "user_name": "root",
                "parent_exe": "/usr/sbin/cron",
            }
        ],
    )
    aged = BaselineDetector(max_age="2h").fit(make_events(_fleet_rows()))
    assert aged.predict(backup).tolist() == [-1]  # ignored while scoring...
    assert aged.stats_["feature"].to_pylist().count("ProcessOwners") == model.stats_[
        "feature"
    ].to_pylist().count("ProcessOwners")  # ...but kept
    aged.age_out()
    assert aged.stats_.num_rows < model.stats_.num_rows
    kept = BaselineDetector().fit(make_events(_fleet_rows())).age_out("2D")
    assert kept.stats_.equals(model.stats_)
    assert kept.age_out("1h", now="2024-02-01").baseline_.empty
    detector.forget(host="web-01")
    assert "web-01" not in detector.stats_["host_name"].to_pylist()


def test_care_errors(model: BaselineDetector) -> None:
    with pytest.raises(ValueError, match="at least one of host_group"):
        model.forget()
    with pytest.raises(ValueError, match="older_than="):
        BaselineDetector().fit(model.stats_.slice(0, 0)) if False else model.age_out()
    with pytest.raises(SchemaError, match=r"needs the alert column\(s\)"):
        model.accept(pd.DataFrame({"feature": ["x"]}))
    bad = pd.DataFrame(
        {
            "host_group": ["web"],
            "feature": ["Nope"],
            "key_values": [["a"]],
            "host_name": ["web-01"],
            "time": [pd.Timestamp("2024-01-01", tz="UTC")],
        }
    )
    with pytest.raises(SchemaError, match=r"feature\(s\) \['Nope'\]"):
        model.accept(bad)
    with pytest.raises(SchemaError, match="DataFrame or pyarrow Table"):
        model.accept([1])


def test_merge_is_order_independent_and_equals_one_fit(fleet: pa.Table) -> None:
    n = fleet.num_rows
    parts = [fleet.slice(0, n // 3), fleet.slice(n // 3, n // 3), fleet.slice(2 * (n // 3))]
    models = [BaselineDetector().fit(p) for p in parts]
    whole = BaselineDetector().fit(fleet)
    ab = models[0].merge(models[1]).merge(models[2])
    ba = merge_models([models[2], models[0], models[1]])
    assert ab.stats_.equals(whole.stats_) and ba.stats_.equals(whole.stats_)
    pd.testing.assert_frame_equal(ba.convergence_report(), whole.convergence_report())
    incremental = BaselineDetector()
    for p in parts[::-1]:
        incremental.partial_fit(p)
    assert incremental.stats_.equals(whole.stats_)


def test_merge_refuses_different_settings(fleet: pa.Table) -> None:
    a = BaselineDetector().fit(fleet)
    b = BaselineDetector(bucket="2h").fit(fleet)
    with pytest.raises(IncompatibleModelsError, match=r"differs from model 0 in \['bucket'\]"):
        a.merge(b)
    with pytest.raises(TypeError, match="Item 1 is a str"):
        merge_models([a, "b"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="at least one"):
        merge_models([])
    with pytest.raises(NotFittedError):
        a.merge(BaselineDetector())


@settings(max_examples=15, deadline=None)
@given(cuts=st.lists(st.integers(0, 320), max_size=3), order=st.randoms())
def test_merge_property(fleet: pa.Table, cuts: list[int], order: Any) -> None:
    bounds = sorted({0, *[min(c, fleet.num_rows) for c in cuts], fleet.num_rows})
    chunks = [fleet.slice(a, b - a) for a, b in itertools.pairwise(bounds) if b > a]
    order.shuffle(chunks)
    merged = merge_models([BaselineDetector(features=["ProcessOwners"]).fit(c) for c in chunks])
    whole = BaselineDetector(features=["ProcessOwners"]).fit(fleet)
    assert merged.stats_.equals(whole.stats_)


def test_state_round_trips_without_pickle(
    model: BaselineDetector, make_events: Make, tmp_path: Path
) -> None:
    meta, tables = model._get_state()
    meta = json.loads(json.dumps(meta))
    for name, table in tables.items():
        pq.write_table(table, tmp_path / f"{name}.parquet")
    loaded = BaselineDetector._from_state(
        meta, {name: pq.read_table(tmp_path / f"{name}.parquet") for name in tables}
    )
    assert loaded.stats_.equals(model.stats_)
    assert loaded.get_params()["bucket"] == model.get_params()["bucket"]
    today = _day3(
        make_events,
        [
            {
                **WEB,
                "host_name": "web-01",
                "process_exe": "/tmp/x",
                "user_name": "www-data",
                "parent_exe": "/usr/sbin/nginx",
            }
        ],
    )
    np.testing.assert_array_equal(loaded.anomaly_score(today), model.anomaly_score(today))
    pd.testing.assert_frame_equal(loaded.explain(today), model.explain(today))
    assert tables["stats"].schema.field("key").type == pa.list_(pa.string())
    with pytest.raises(IncompatibleModelsError, match="reads version 1"):
        BaselineDetector._from_state({**meta, "state_version": 99}, tables)


def test_timedelta_params_and_groups(make_events: Make) -> None:
    rows = _fleet_rows(hours=30)
    model = BaselineDetector(
        bucket=pd.Timedelta("30min"),
        min_span=pd.Timedelta("1D"),
        groups={"web-01": "front", "web-02": "front"},
    ).fit(make_events(rows))
    assert set(model.convergence_report()["host_group"]) == {"front", "db"}
    meta, tables = model._get_state()
    json.dumps(meta)
    again = BaselineDetector._from_state(meta, tables)
    assert again.stats_.equals(model.stats_)
    regex = BaselineDetector(groups=GroupMap.per_host()).fit(make_events(rows))
    assert set(regex.convergence_report()["host_group"]) == {"web-01", "web-02", "db-01"}


def test_input_kinds_agree(model: BaselineDetector, make_events: Make) -> None:
    today = _day3(
        make_events,
        [
            {**WEB, "host_name": "web-01", "process_exe": "/tmp/x", "user_name": "www-data"},
            {
                **WEB,
                "host_name": "web-01",
                "process_exe": "/usr/sbin/nginx",
                "user_name": "www-data",
                "parent_exe": "/sbin/init",
            },
        ],
    )
    expected = model.anomaly_score(today)
    frame = schema.to_pandas(today)
    np.testing.assert_array_equal(model.anomaly_score(frame), expected)
    np.testing.assert_array_equal(model.anomaly_score(today.to_batches()[0]), expected)
    shuffled = frame[list(reversed(frame.columns))].assign(extra="x")
    np.testing.assert_array_equal(model.anomaly_score(shuffled), expected)
    fitted_on_pandas = BaselineDetector().fit(schema.to_pandas(make_events(_fleet_rows())))
    assert fitted_on_pandas.stats_.equals(model.stats_)


def test_errors(model: BaselineDetector, make_events: Make) -> None:
    with pytest.raises(SchemaError, match=r"Got a ndarray of shape \(2, 2\)"):
        BaselineDetector().fit(np.zeros((2, 2)))
    with pytest.raises(NotFittedError, match="Call fit") as info:
        BaselineDetector().predict(make_events([{}]))
    assert isinstance(info.value, sklearn.exceptions.NotFittedError)
    assert isinstance(info.value, BehaveModelError)
    with pytest.raises(NoEventsError, match="0 events"):
        BaselineDetector().fit(make_events([{}]).slice(0, 0))
    with pytest.raises(InvalidParameterError, match="novelty_threshold"):
        BaselineDetector(novelty_threshold=2.0).fit(make_events([{}]))
    with pytest.raises(FeatureConfigError, match="bucket must be a positive duration"):
        BaselineDetector(bucket="soon").fit(make_events([{}]))
    with pytest.raises(FeatureConfigError, match=r"min_span.*Got '-1h'"):
        BaselineDetector(min_span="-1h").fit(make_events([{}]))
    with pytest.raises(SchemaError, match="needed by ProcessOwners"):
        model.predict(make_events([{}]).drop_columns(["user_name"]))
    detector = BaselineDetector().fit(make_events([{"process_exe": "/bin/ls"}]))
    detector.set_params(bucket="2h")
    with pytest.raises(IncompatibleModelsError, match="changed since fit"):
        detector.partial_fit(make_events([{}]))
    detector.set_params(bucket="1h", novelty_threshold=0.5)  # thresholds may change
    detector.partial_fit(make_events([{"process_exe": "/bin/ps"}]))


def test_tags() -> None:
    tags = BaselineDetector().__sklearn_tags__()
    assert tags.estimator_type == "outlier_detector"
    assert tags.input_tags.string and tags.input_tags.allow_nan and tags.requires_fit


def test_a_nul_byte_in_a_value_cannot_split_its_key(make_events: Make) -> None:
    # NUL separates key components inside the library; JSON dumps may carry NULs.
    rows = [{"process_exe": "/bin/ls", "user_name": "root", "minutes": 1440 * d} for d in range(4)]
    model = BaselineDetector(min_span="1h", features=["ProcessOwners"]).fit(make_events(rows))
    hostile = make_events([{"process_exe": "/tmp/a\x00b", "user_name": "root", "minutes": 7000}])
    found = model.explain(hostile)
    assert found[alerts.KEY].tolist() == ["exe=/tmp/a\\x00b, user=root"]
    assert list(found[alerts.KEY_VALUES].iloc[0]) == ["/tmp/a\\x00b", "root"]
