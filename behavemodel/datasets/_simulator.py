"""The public face of the fleet simulator: :func:`simulate_fleet` and its streaming forms."""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from behavemodel import schema as s
from behavemodel.datasets import _catalog as cat
from behavemodel.datasets._benign import CHANGE_TEMPLATES, GROUP_NAMES, behaviours
from behavemodel.datasets._engine import Engine
from behavemodel.datasets._finalize import EXTRA_COLUMNS, LABEL_SCHEMA, Finalizer
from behavemodel.datasets._plan import DAY_MS, make_plan, schedule_changes

if TYPE_CHECKING:
    from behavemodel.datasets._scenarios import Scenario

__all__ = [
    "DEFAULT_GROUPS",
    "DEFAULT_START",
    "Simulation",
    "SimulationBatch",
    "iter_fleet_batches",
    "simulate_fleet",
    "simulate_fleet_to_parquet",
]

DEFAULT_GROUPS: tuple[str, ...] = GROUP_NAMES
DEFAULT_START = "2024-03-04T00:00:00Z"  # a Monday
WINDOW_MS = 6 * 3_600_000
_WINDOW_MINUTES = (360, 180, 120, 60, 30, 20, 15, 10)


def window_ms(n_hosts: int) -> int:
    """Length of the generation windows: six hours for small fleets, shorter for big ones.

    It depends only on the fleet size, so every way of running a simulation (in
    memory, batches, Parquet) draws the same random numbers and gives the same events.

    Examples
    --------
    >>> window_ms(6) // 60_000, window_ms(60) // 60_000, window_ms(1000) // 60_000
    (360, 60, 10)
    """
    target = 360 * 12 / max(n_hosts, 1)
    minutes = next((m for m in _WINDOW_MINUTES if m <= target), _WINDOW_MINUTES[-1])
    return minutes * 60_000


@dataclass(frozen=True)
class _Config:
    groups: dict[str, int]
    start_ms: int
    end_ms: int
    scenarios: tuple[Scenario, ...]
    seed: int
    activity: float


def _to_ms(value: str | dt.datetime | pd.Timestamp | np.datetime64) -> int:
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return int(ts.tz_convert("UTC").value // 1_000_000)


def _config(
    groups: Sequence[str] | Mapping[str, int],
    hosts_per_group: int | Mapping[str, int],
    days: float,
    start: str | dt.datetime | pd.Timestamp,
    scenarios: Iterable[str | Scenario] | str | None,
    seed: int,
    activity: float,
) -> _Config:
    from behavemodel.datasets._scenarios import resolve_scenarios

    if isinstance(groups, str):
        groups = [groups]
    if isinstance(groups, Mapping):
        counts = {str(g): int(n) for g, n in groups.items()}
    else:
        if isinstance(hosts_per_group, Mapping):
            counts = {g: int(hosts_per_group.get(g, 0)) for g in groups}
        else:
            counts = {g: int(hosts_per_group) for g in groups}
    unknown = [g for g in counts if g not in cat.GROUPS]
    if unknown:
        raise ValueError(
            f"The 'groups' parameter of simulate_fleet names unknown server group(s) {unknown}; "
            f"choose among {list(cat.GROUPS)}."
        )
    if any(n < 0 for n in counts.values()) or sum(counts.values()) == 0:
        raise ValueError(
            "simulate_fleet needs at least one host: 'hosts_per_group' must be a positive "
            f"number per group. Got {counts} instead."
        )
    counts = {g: n for g, n in counts.items() if n > 0}
    if not days > 0:
        raise ValueError(f"The 'days' parameter of simulate_fleet must be positive. Got {days!r}.")
    if not activity > 0:
        raise ValueError(
            f"The 'activity' parameter of simulate_fleet must be positive. Got {activity!r}."
        )
    start_ms = _to_ms(start)
    end_ms = start_ms + round(days * DAY_MS)
    return _Config(
        groups=counts,
        start_ms=start_ms,
        end_ms=end_ms,
        scenarios=resolve_scenarios(scenarios),
        seed=int(seed),
        activity=float(activity),
    )


@dataclass(frozen=True)
class SimulationBatch:
    """One batch of a streamed simulation: canonical events and their labels.

    ``extras`` holds the simulator's private columns (exact argv, PATH names...)
    that :func:`render_auditd` uses to write exact logs.
    """

    events: pa.Table
    labels: pa.Table
    extras: pa.Table = field(repr=False)


class _Run:
    """A configured simulation: plan, engine and finaliser, ready to stream."""

    def __init__(self, config: _Config) -> None:
        rng = np.random.default_rng(config.seed)
        plan = make_plan(
            config.groups, start_ms=config.start_ms, end_ms=config.end_ms, rng=rng,
            activity=config.activity,
        )  # fmt: skip
        schedule_changes(plan, rng, CHANGE_TEMPLATES)
        for scenario in config.scenarios:
            scenario.inject(plan, rng)
        self.plan = plan
        self.engine = Engine(plan, behaviours(), rng, window_ms=window_ms(len(plan.hosts)))
        self.finalizer = Finalizer(plan, self.engine.serial, rng)

    @property
    def host_groups(self) -> dict[str, str]:
        return {h.name: h.group for h in self.plan.hosts}

    @property
    def host_info(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "host": [h.name for h in self.plan.hosts],
                "group": [h.group for h in self.plan.hosts],
                "ip": [h.ip for h in self.plan.hosts],
                "arch": [h.arch for h in self.plan.hosts],
            }
        )

    def batches(self, batch_size: int) -> Iterator[SimulationBatch]:
        for rows in self.engine.windows():
            out = self.finalizer(rows)
            n = out.events.num_rows
            for start in range(0, n, batch_size):
                ev = out.events.slice(start, batch_size)
                ex = out.extras.slice(start, batch_size)
                ids = ev.column(s.EVENT_ID)
                if out.labels.num_rows:
                    import pyarrow.compute as pc

                    mask = pc.is_in(out.labels.column("event_id"), value_set=ids.combine_chunks())
                    lab = out.labels.filter(mask)
                else:
                    lab = out.labels
                yield SimulationBatch(ev, lab, ex)


@dataclass(frozen=True)
class Simulation:
    """A simulated fleet: canonical events, their attack labels and the host groups.

    Attributes
    ----------
    events : pyarrow.Table
        Events conforming to :data:`behavemodel.schema.CANONICAL_SCHEMA`, in time
        order, with ``source_format="canonical"`` and ``host_group`` set to the
        simulated group.
    labels : pyarrow.Table
        ``event_id``, ``scenario``, ``step`` for every event an injected scenario
        caused (empty without scenarios).
    host_groups : Mapping[str, str]
        Host name -> group.
    hosts : pandas.DataFrame
        One row per host: ``host``, ``group``, ``ip``, ``arch``.

    Examples
    --------
    >>> import tempfile
    >>> from behavemodel.datasets import simulate_fleet
    >>> sim = simulate_fleet(groups=["cache"], hosts_per_group=1, days=0.02, seed=0)
    >>> sim.hosts.to_dict("records")
    [{'host': 'cache-01', 'group': 'cache', 'ip': '10.0.6.11', 'arch': 'aarch64'}]
    >>> paths = sim.write_audit_logs(tempfile.mkdtemp())
    >>> [p.parts[-2:] for p in paths]
    [('cache-01', 'audit.log')]
    """

    events: pa.Table
    labels: pa.Table
    host_groups: Mapping[str, str]
    hosts: pd.DataFrame = field(repr=False, compare=False)
    _extras: pa.Table = field(repr=False, compare=False)

    def __repr__(self) -> str:
        return (
            f"Simulation({self.events.num_rows} events, {len(self.host_groups)} hosts, "
            f"{self.labels.num_rows} labelled)"
        )

    def to_pandas(self) -> pd.DataFrame:
        """The events as a DataFrame with Arrow-backed dtypes (see :func:`schema.to_pandas`)."""
        return s.to_pandas(self.events)

    def labels_frame(self) -> pd.DataFrame:
        """The labels as a DataFrame."""
        return self.labels.to_pandas()

    def write_audit_logs(
        self,
        directory: str | os.PathLike[str],
        *,
        enriched: bool = True,
        max_bytes: int | None = None,
        interleave: float = 0.002,
        container_records: bool = False,
    ) -> list[Path]:
        """Write one raw audit log per host: ``DIR/HOST/audit.log`` (rotated when large).

        The logs are what auditd writes to disk with ``log_format=ENRICHED``: the
        records of each event (SYSCALL, EXECVE, SOCKADDR, CWD, PATH, PROCTITLE, user
        records), never EOE. Reading them back with
        :func:`behavemodel.io.read_auditd` gives the simulation's events.

        Parameters
        ----------
        directory : path
            Created if needed.
        enriched : bool, default True
            Append the ENRICHED translations after a 0x1D byte.
        max_bytes : int, optional
            Rotate like auditd's ``max_log_file``: the newest records are in
            ``audit.log``, older ones in ``audit.log.1``, ``audit.log.2``...
        interleave : float, default 0.002
            Fraction of events whose records interleave with the next event of
            another process, as records of concurrent syscalls do.
        container_records : bool, default False
            Add a ``CONTAINER_ID`` record (``contid=``) to containerised events.
            Mainline kernels do not write it; off by default.

        Returns
        -------
        list of Path
            The files written, per host oldest first.
        """
        from behavemodel.datasets._auditd_files import write_host_logs

        return write_host_logs(
            self.events,
            Path(directory),
            extras=self._extras,
            enriched=enriched,
            max_bytes=max_bytes,
            interleave=interleave,
            container_records=container_records,
            seed=0,
        )


def simulate_fleet(
    *,
    groups: Sequence[str] | Mapping[str, int] = DEFAULT_GROUPS,
    hosts_per_group: int | Mapping[str, int] = 2,
    days: float = 1.0,
    start: str | dt.datetime | pd.Timestamp = DEFAULT_START,
    scenarios: Iterable[str | Scenario] | str | None = (),
    seed: int = 0,
    activity: float = 1.0,
) -> Simulation:
    """Simulate a fleet of Linux servers and return its syscall-level events.

    Every host boots (systemd starts its services, which bind their ports), then
    runs its group's daemons, cron jobs and timers, takes admin ssh sessions,
    package upgrades and deploys; attack scenarios are injected on top and every
    event they cause is labelled. The same arguments give the same events.

    Parameters
    ----------
    groups : sequence of str or mapping of str to int
        Server groups (``web``, ``db``, ``worker``, ``bastion``, ``monitoring``,
        ``cache``), or a mapping group -> number of hosts.
    hosts_per_group : int or mapping, default 2
        Hosts in each group (ignored when ``groups`` is a mapping).
    days : float, default 1.0
        Length of the simulated period.
    start : str or datetime, default "2024-03-04T00:00:00Z"
        Start of the period (UTC when naive). Hosts boot in its first 20 seconds.
    scenarios : "all", or iterable of scenario names or :class:`Scenario`
        Attacks to inject (see :data:`SCENARIOS`). Names get a default host and a
        time in the last day.
    seed : int, default 0
        Seed of the random generator.
    activity : float, default 1.0
        Multiplier of request-driven activity (web requests, logins,
        connections); scheduled jobs keep their schedule.

    Returns
    -------
    Simulation

    Examples
    --------
    >>> from behavemodel.datasets import simulate_fleet
    >>> sim = simulate_fleet(groups=["web", "db"], hosts_per_group=1, days=0.05, seed=1)
    >>> sorted(sim.host_groups.items())
    [('db-01', 'db'), ('web-01', 'web')]
    >>> df = sim.to_pandas()
    >>> sorted(df["event_type"].unique())
    ['file_write', 'net_accept', 'net_connect', 'net_listen', 'other', 'process_start']
    >>> first = df.iloc[0]
    >>> first["process_exe"], first["process_pid"], first["process_cmdline"]
    ('/usr/lib/systemd/systemd', 1, '/sbin/init')
    """
    config = _config(groups, hosts_per_group, days, start, scenarios, seed, activity)
    run = _Run(config)
    events, labels, extras = [], [], []
    for batch in run.batches(1 << 30):
        events.append(batch.events)
        labels.append(batch.labels)
        extras.append(batch.extras)
    ev = pa.concat_tables(events).combine_chunks() if events else s.empty_table()
    ev = ev.unify_dictionaries() if events else ev
    lab = pa.concat_tables(labels) if labels else LABEL_SCHEMA.empty_table()
    ex = pa.concat_tables(extras).unify_dictionaries() if extras else EXTRA_COLUMNS.empty_table()
    return Simulation(
        events=ev,
        labels=lab.combine_chunks(),
        host_groups=MappingProxyType(run.host_groups),
        hosts=run.host_info,
        _extras=ex.combine_chunks(),
    )


def iter_fleet_batches(
    *,
    groups: Sequence[str] | Mapping[str, int] = DEFAULT_GROUPS,
    hosts_per_group: int | Mapping[str, int] = 2,
    days: float = 1.0,
    start: str | dt.datetime | pd.Timestamp = DEFAULT_START,
    scenarios: Iterable[str | Scenario] | str | None = (),
    seed: int = 0,
    activity: float = 1.0,
    batch_size: int = 500_000,
) -> Iterator[SimulationBatch]:
    """Stream a simulation in time order, batch by batch, in bounded memory.

    Parameters are those of :func:`simulate_fleet`; ``batch_size`` caps the rows
    per batch. Concatenating the batches gives exactly ``simulate_fleet``'s events.

    Examples
    --------
    >>> from behavemodel.datasets import iter_fleet_batches
    >>> batches = list(iter_fleet_batches(groups=["db"], hosts_per_group=1, days=0.02,
    ...                                   batch_size=100))
    >>> max(b.events.num_rows for b in batches)
    100
    """
    if batch_size < 1:
        raise ValueError(
            f"The 'batch_size' parameter must be a positive integer. Got {batch_size!r}."
        )
    config = _config(groups, hosts_per_group, days, start, scenarios, seed, activity)
    yield from _Run(config).batches(batch_size)


@dataclass(frozen=True)
class ParquetSimulation:
    """What :func:`simulate_fleet_to_parquet` wrote."""

    events_path: Path
    labels_path: Path
    host_groups_path: Path
    n_events: int
    n_labels: int
    audit_log_paths: tuple[Path, ...] = ()


def simulate_fleet_to_parquet(
    directory: str | os.PathLike[str],
    *,
    groups: Sequence[str] | Mapping[str, int] = DEFAULT_GROUPS,
    hosts_per_group: int | Mapping[str, int] = 2,
    days: float = 1.0,
    start: str | dt.datetime | pd.Timestamp = DEFAULT_START,
    scenarios: Iterable[str | Scenario] | str | None = (),
    seed: int = 0,
    activity: float = 1.0,
    batch_size: int = 1_000_000,
    audit_logs: bool = False,
    progress: Any = None,
) -> ParquetSimulation:
    """Simulate straight to files in bounded memory (months of a large fleet).

    Writes ``events.parquet`` (canonical, zstd, dictionary-encoded, one row group
    per batch), ``labels.parquet``, ``host_groups.csv`` (``host,group``) and, with
    ``audit_logs=True``, raw ENRICHED logs under ``audit/HOST/audit.log``.

    Parameters
    ----------
    directory : path
        Output directory (created).
    batch_size : int, default 1_000_000
        Rows per Parquet row group.
    audit_logs : bool, default False
        Also write raw audit logs.
    progress : callable, optional
        Called as ``progress(events_so_far, simulated_until)`` after each batch.

    Other parameters are those of :func:`simulate_fleet`.

    Returns
    -------
    ParquetSimulation

    Examples
    --------
    >>> import tempfile
    >>> import pyarrow.parquet as pq
    >>> from behavemodel.datasets import simulate_fleet_to_parquet
    >>> out = simulate_fleet_to_parquet(tempfile.mkdtemp(), groups=["db"], hosts_per_group=1,
    ...                                 days=0.05, seed=1, batch_size=1000)
    >>> pq.read_metadata(out.events_path).num_rows == out.n_events
    True
    >>> out.host_groups_path.read_text()
    'host,group\\ndb-01,db\\n'
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    config = _config(groups, hosts_per_group, days, start, scenarios, seed, activity)
    run = _Run(config)
    events_path = out / "events.parquet"
    labels_path = out / "labels.parquet"
    groups_path = out / "host_groups.csv"
    writer = None
    log_writer = None
    n_events = 0
    label_tables = []
    if audit_logs:
        from behavemodel.datasets._auditd_files import StreamingLogWriter

        log_writer = StreamingLogWriter(out / "audit", enriched=True)
    try:
        for batch in run.batches(batch_size):
            if writer is None:
                writer = pq.ParquetWriter(
                    events_path, s.CANONICAL_SCHEMA, compression="zstd",
                    use_dictionary=True, write_statistics=True,
                )  # fmt: skip
            writer.write_table(batch.events, row_group_size=batch_size)
            if log_writer is not None:
                log_writer.write(batch.events, batch.extras)
            n_events += batch.events.num_rows
            if batch.labels.num_rows:
                label_tables.append(batch.labels)
            if progress is not None:
                last = batch.events.column(s.TIME)[-1].as_py()
                progress(n_events, last)
    finally:
        if writer is not None:
            writer.close()
        if log_writer is not None:
            log_writer.close()
    if writer is None:
        pq.write_table(s.empty_table(), events_path)
    labels = pa.concat_tables(label_tables) if label_tables else LABEL_SCHEMA.empty_table()
    pq.write_table(labels, labels_path, compression="zstd")
    write_host_groups(run.host_groups, groups_path)
    return ParquetSimulation(
        events_path=events_path,
        labels_path=labels_path,
        host_groups_path=groups_path,
        n_events=n_events,
        n_labels=labels.num_rows,
        audit_log_paths=tuple(log_writer.paths) if log_writer is not None else (),
    )


def write_host_groups(host_groups: Mapping[str, str], path: str | os.PathLike[str]) -> None:
    """Write a ``host,group`` CSV (sorted by host)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["host", "group"])
        for host in sorted(host_groups):
            w.writerow([host, host_groups[host]])
