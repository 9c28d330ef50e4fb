"""Detection quality on the fleet simulator: each scenario is caught on a small fleet.

Learn on the benign days before the first attack, monitor the rest; every
labelled scenario must get at least one alert on its own events, and false
alerts stay under the issue's target of 1 per host per monitored day.
"""

from __future__ import annotations

import inspect
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from behavemodel import schema
from behavemodel.models import BaselineDetector, alerts

datasets = pytest.importorskip("behavemodel.datasets")
if not hasattr(datasets, "simulate_fleet"):  # pragma: no cover - until the simulator lands
    pytest.skip(
        "behavemodel.datasets.simulate_fleet is not available yet", allow_module_level=True
    )


def _table(value: Any) -> pa.Table:
    return (
        pa.Table.from_pandas(value, preserve_index=False)
        if isinstance(value, pd.DataFrame)
        else value
    )


@pytest.fixture(scope="module")
def outcome() -> dict[str, Any]:
    params = inspect.signature(datasets.simulate_fleet).parameters
    kwargs: dict[str, Any] = {"days": 6, "seed": 0}
    if "hosts_per_group" in params:
        kwargs["hosts_per_group"] = 2
    if "scenarios" in params:
        kwargs["scenarios"] = "all"
    sim = datasets.simulate_fleet(**kwargs)
    events, labels = _table(sim.events), _table(sim.labels).to_pandas()
    labelled = pc.is_in(
        events[schema.EVENT_ID], value_set=pa.array(labels["event_id"].astype(str).tolist())
    )
    first = pd.Timestamp(pc.min(events[schema.TIME].filter(labelled)).as_py()).floor("D")
    before = pc.less(
        events[schema.TIME], pa.scalar(first.to_pydatetime(), events[schema.TIME].type)
    )
    model = BaselineDetector().fit(events.filter(pc.and_(before, pc.invert(labelled))))
    monitor = events.filter(pc.invert(before))
    found = model.explain(monitor, one_row_per="event")
    scenario_of = dict(
        zip(labels["event_id"].astype(str), labels["scenario"].astype(str), strict=False)
    )
    found["scenario"] = found[schema.EVENT_ID].astype(str).map(scenario_of)
    days = pd.to_datetime(monitor[schema.TIME].to_pandas(), utc=True).dt.floor("D").nunique()
    hosts = len(set(events[schema.HOST_NAME].unique().to_pylist()))
    return {"labels": labels, "found": found, "days": days, "hosts": hosts}


def test_every_scenario_is_detected(outcome: dict[str, Any]) -> None:
    scenarios = sorted(set(outcome["labels"]["scenario"].astype(str)))
    assert len(scenarios) >= 6, scenarios
    caught = set(outcome["found"]["scenario"].dropna())
    assert set(scenarios) <= caught, sorted(set(scenarios) - caught)


def test_false_alerts_stay_under_target(outcome: dict[str, Any]) -> None:
    found = outcome["found"]
    found = found.assign(day=pd.to_datetime(found[alerts.TIME], utc=True).dt.floor("D"))
    per_key = found.groupby(["day", schema.HOST_NAME, alerts.FEATURE, alerts.KEY])
    false_alerts = int(per_key["scenario"].apply(lambda s: s.isna().all()).sum())
    assert false_alerts / (outcome["hosts"] * outcome["days"]) <= 1.0
