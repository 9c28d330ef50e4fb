"""Simulated fleets with labelled attacks, and the sample data made from them.

- :func:`simulate_fleet` returns a :class:`Simulation`: canonical events of a
  fleet of Linux servers (several groups with their own daemons, cron jobs,
  timers, deploys, package upgrades, admin ssh sessions, containers, day/night
  rhythm), attack labels and the host groups. :func:`iter_fleet_batches` and
  :func:`simulate_fleet_to_parquet` stream the same events in bounded memory.
- Six attack scenarios (:data:`SCENARIOS`), injectable into any host and time:
  :func:`shellshock`, :func:`reverse_shell`, :func:`unknown_binary`,
  :func:`app_dir_tamper`, :func:`unexpected_user`, :func:`lateral_movement`.
- :func:`render_auditd` writes events as raw ``log_format=ENRICHED`` audit logs;
  :meth:`Simulation.write_audit_logs` writes one per host, and reading them back
  with :func:`behavemodel.io.read_auditd` gives the simulated events.
- :func:`load_sample` / :func:`sample_path` give the small samples in
  ``datasets/`` (:func:`list_samples`); :func:`make_samples` rebuilds them.

All data here is simulated.

Examples
--------
>>> from behavemodel.datasets import simulate_fleet, shellshock
>>> sim = simulate_fleet(groups=["monitoring"], hosts_per_group=1, days=0.1, seed=0,
...                      scenarios=[shellshock(at="1h")])
>>> labels = sim.labels.to_pandas()
>>> labels["scenario"].unique().tolist()
['shellshock']
>>> "download" in set(labels["step"])
True
"""

from behavemodel.datasets._auditd_writer import render_auditd
from behavemodel.datasets._samples import (
    SAMPLES,
    Sample,
    list_samples,
    load_sample,
    make_samples,
    sample_path,
)
from behavemodel.datasets._scenarios import (
    SCENARIOS,
    Scenario,
    app_dir_tamper,
    lateral_movement,
    reverse_shell,
    shellshock,
    unexpected_user,
    unknown_binary,
)
from behavemodel.datasets._simulator import (
    DEFAULT_GROUPS,
    DEFAULT_START,
    ParquetSimulation,
    Simulation,
    SimulationBatch,
    iter_fleet_batches,
    simulate_fleet,
    simulate_fleet_to_parquet,
)

__all__ = [
    "DEFAULT_GROUPS",
    "DEFAULT_START",
    "SAMPLES",
    "SCENARIOS",
    "ParquetSimulation",
    "Sample",
    "Scenario",
    "Simulation",
    "SimulationBatch",
    "app_dir_tamper",
    "iter_fleet_batches",
    "lateral_movement",
    "list_samples",
    "load_sample",
    "make_samples",
    "render_auditd",
    "reverse_shell",
    "sample_path",
    "shellshock",
    "simulate_fleet",
    "simulate_fleet_to_parquet",
    "unexpected_user",
    "unknown_binary",
]
