"""Shared simulations for the dataset tests (built once per test session)."""

from __future__ import annotations

import pandas as pd
import pytest

from behavemodel.datasets import Simulation, simulate_fleet


@pytest.fixture(scope="session")
def fleet_day() -> Simulation:
    """One host per group, one day, every scenario injected."""
    return simulate_fleet(hosts_per_group=1, days=1, seed=3, scenarios="all")


@pytest.fixture(scope="session")
def fleet_day_df(fleet_day: Simulation) -> pd.DataFrame:
    return fleet_day.to_pandas()


@pytest.fixture(scope="session")
def labelled(fleet_day: Simulation, fleet_day_df: pd.DataFrame) -> pd.DataFrame:
    """Events of the scenarios, with their labels."""
    labels = fleet_day.labels.to_pandas()
    return fleet_day_df.merge(labels, on="event_id", how="inner")
