"""The small simulated samples shipped in ``datasets/``: their recipes and loaders.

Every sample is made by :func:`simulate_fleet` with a fixed call (see
:data:`SAMPLES` and ``datasets/README.md``), so it can be rebuilt byte for byte
with :func:`make_samples`. :func:`load_sample` finds the files in this order:

1. the directory named by the ``BEHAVEMODEL_DATASETS`` environment variable;
2. ``behavemodel/datasets/data/`` inside an installed package, if the files were
   packaged there;
3. ``datasets/`` at the root of a source checkout;
4. otherwise the sample is simulated again (deterministically) into a cache
   directory (``BEHAVEMODEL_CACHE`` or ``~/.cache/behavemodel``) and read from there.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from behavemodel import schema as s
from behavemodel._version import __version__
from behavemodel.datasets._finalize import LABEL_SCHEMA
from behavemodel.datasets._scenarios import (
    Scenario,
    app_dir_tamper,
    lateral_movement,
    reverse_shell,
    shellshock,
    unexpected_user,
    unknown_binary,
)
from behavemodel.datasets._simulator import Simulation, simulate_fleet, write_host_groups

__all__ = ["SAMPLES", "Sample", "list_samples", "load_sample", "make_samples", "sample_path"]

DATASETS_ENV = "BEHAVEMODEL_DATASETS"
CACHE_ENV = "BEHAVEMODEL_CACHE"
EVENTS = "events.parquet"
LABELS = "labels.parquet"
HOST_GROUPS = "host_groups.csv"
AUDIT_DIR = "audit"


@dataclass(frozen=True)
class SampleSpec:
    """How a sample is made (the exact call is in ``call``, for the README)."""

    name: str
    description: str
    call: str
    make: Callable[[], tuple[Simulation, pd.Timestamp | None, pd.Timestamp | None]]
    audit_logs: bool = False


@dataclass(frozen=True)
class Sample:
    """A loaded sample: canonical events, attack labels, host groups, and where it lives.

    Attributes
    ----------
    name : str
    events : pyarrow.Table
        Canonical events (``behavemodel.schema``), in time order.
    labels : pyarrow.Table
        ``event_id``, ``scenario``, ``step`` (empty for benign samples).
    host_groups : Mapping[str, str]
        Host -> group.
    path : Path
        The sample's directory.
    audit_logs : Path or None
        Directory of raw audit logs (``HOST/audit.log``), for samples that have them.
    """

    name: str
    events: pa.Table = field(repr=False)
    labels: pa.Table = field(repr=False)
    host_groups: Mapping[str, str]
    path: Path
    audit_logs: Path | None = None

    def to_pandas(self) -> pd.DataFrame:
        """The events as a DataFrame with Arrow-backed dtypes."""
        return s.to_pandas(self.events)


_FLEET_CALL = """simulate_fleet(
    groups=("web", "db", "worker", "bastion", "monitoring", "cache"), hosts_per_group=1,
    days=8, start="2024-03-04T00:00:00Z", seed=7, activity=0.25,
    scenarios=[
        unknown_binary("worker-01", "2024-03-11T03:12:00Z"),
        shellshock("monitoring-01", "2024-03-11T09:42:00Z"),
        reverse_shell("web-01", "2024-03-11T11:05:00Z", variant="bash"),
        unexpected_user("cache-01", "2024-03-11T13:00:00Z", service="redis"),
        app_dir_tamper("web-01", "2024-03-11T15:20:00Z"),
        lateral_movement("web-01", "2024-03-11T20:31:00Z", target="db-01"),
    ],
)"""

_RAW_CALL = """simulate_fleet(
    groups={"monitoring": 1}, days=0.25, start="2024-03-11T06:00:00Z", seed=11,
    scenarios=[shellshock("monitoring-01", "2024-03-11T09:42:00Z")],
).write_audit_logs(DIR / "audit")"""

ATTACK_DAY = pd.Timestamp("2024-03-11T00:00:00Z")


def _fleet_scenarios() -> list[Scenario]:
    return [
        unknown_binary("worker-01", "2024-03-11T03:12:00Z"),
        shellshock("monitoring-01", "2024-03-11T09:42:00Z"),
        reverse_shell("web-01", "2024-03-11T11:05:00Z", variant="bash"),
        unexpected_user("cache-01", "2024-03-11T13:00:00Z", service="redis"),
        app_dir_tamper("web-01", "2024-03-11T15:20:00Z"),
        lateral_movement("web-01", "2024-03-11T20:31:00Z", target="db-01"),
    ]


@functools.lru_cache(maxsize=1)
def _fleet() -> Simulation:
    return simulate_fleet(
        groups=("web", "db", "worker", "bastion", "monitoring", "cache"),
        hosts_per_group=1,
        days=8,
        start="2024-03-04T00:00:00Z",
        seed=7,
        activity=0.25,
        scenarios=_fleet_scenarios(),
    )


def _week() -> tuple[Simulation, pd.Timestamp | None, pd.Timestamp | None]:
    return _fleet(), None, ATTACK_DAY


def _attack_day() -> tuple[Simulation, pd.Timestamp | None, pd.Timestamp | None]:
    return _fleet(), ATTACK_DAY, None


def _raw() -> tuple[Simulation, pd.Timestamp | None, pd.Timestamp | None]:
    sim = simulate_fleet(
        groups={"monitoring": 1},
        days=0.25,
        start="2024-03-11T06:00:00Z",
        seed=11,
        scenarios=[shellshock("monitoring-01", "2024-03-11T09:42:00Z")],
    )
    return sim, None, None


#: The samples in ``datasets/``, by name.
SAMPLES: Mapping[str, SampleSpec] = MappingProxyType(
    {
        "fleet-week": SampleSpec(
            "fleet-week",
            "A benign learning week (Mon 2024-03-04 to Sun 2024-03-10) of a six-host fleet, "
            "one host per group, with deploys (Tue, Thu), a JVM upgrade (Wed) and the weekly "
            "jobs. Days 1-7 of the call.",
            _FLEET_CALL,
            _week,
        ),
        "attack-day": SampleSpec(
            "attack-day",
            "The eighth day (Mon 2024-03-11) of the same fleet with all six attack scenarios, "
            "every attack event labelled. Day 8 of the call.",
            _FLEET_CALL,
            _attack_day,
        ),
        "auditd-sample": SampleSpec(
            "auditd-sample",
            "Raw ENRICHED audit log of a stand-alone Nagios host from its boot at 06:00 to "
            "noon, with the "
            "Shellshock attack at 09:42, plus the events it must parse to and the labels.",
            _RAW_CALL,
            _raw,
            audit_logs=True,
        ),
    }
)


def list_samples() -> list[str]:
    """Names of the bundled samples.

    Examples
    --------
    >>> from behavemodel.datasets import list_samples
    >>> list_samples()
    ['attack-day', 'auditd-sample', 'fleet-week']
    """
    return sorted(SAMPLES)


def _check_name(name: str) -> SampleSpec:
    try:
        return SAMPLES[name]
    except KeyError:
        raise ValueError(
            f"Unknown sample {name!r}; the bundled samples are {list_samples()}."
        ) from None


def _checkout_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "datasets"


def _cache_dir() -> Path:
    base = os.environ.get(CACHE_ENV)
    root = Path(base) if base else Path.home() / ".cache" / "behavemodel"
    return root / "datasets" / __version__


def _complete(directory: Path, spec: SampleSpec) -> bool:
    needed = [EVENTS, LABELS, HOST_GROUPS]
    if not all((directory / n).is_file() for n in needed):
        return False
    return not spec.audit_logs or (directory / AUDIT_DIR).is_dir()


def sample_path(name: str, *, regenerate: bool = True) -> Path:
    """Directory of a sample (``events.parquet``, ``labels.parquet``, ``host_groups.csv``,
    and ``audit/HOST/audit.log`` for raw-log samples).

    Parameters
    ----------
    name : str
        One of :func:`list_samples`.
    regenerate : bool, default True
        Simulate the sample into the cache directory when no copy is found.

    Examples
    --------
    >>> from behavemodel.datasets import sample_path
    >>> sorted(p.name for p in sample_path("auditd-sample").iterdir())
    ['audit', 'events.parquet', 'host_groups.csv', 'labels.parquet']
    """
    spec = _check_name(name)
    candidates = []
    env = os.environ.get(DATASETS_ENV)
    if env:
        candidates.append(Path(env) / name)
    candidates.append(Path(__file__).resolve().parent / "data" / name)
    candidates.append(_checkout_dir() / name)
    candidates.append(_cache_dir() / name)
    for directory in candidates:
        if _complete(directory, spec):
            return directory
    if not regenerate:
        raise FileNotFoundError(
            f"Sample {name!r} was not found in {[str(c) for c in candidates]}; call "
            "sample_path(name) with regenerate=True (the default) to simulate it again."
        )
    target = _cache_dir() / name
    write_sample(name, target)
    return target


def load_sample(name: str) -> Sample:
    """Load a bundled sample (see :data:`SAMPLES` and ``datasets/README.md``).

    Examples
    --------
    >>> from behavemodel.datasets import load_sample
    >>> sample = load_sample("attack-day")
    >>> sorted(sample.host_groups.items())[:2]
    [('bastion-01', 'bastion'), ('cache-01', 'cache')]
    >>> labels = sample.labels.to_pandas()
    >>> sorted(labels["scenario"].unique())[:3]
    ['app_dir_tamper', 'lateral_movement', 'reverse_shell']
    """
    directory = sample_path(name)
    events = pq.read_table(directory / EVENTS)
    events = s.conform(_time_order(events))
    labels = pq.read_table(directory / LABELS)
    host_groups = pd.read_csv(directory / HOST_GROUPS, dtype=str)
    audit = directory / AUDIT_DIR
    return Sample(
        name=name,
        events=events,
        labels=labels,
        host_groups=MappingProxyType(
            dict(zip(host_groups["host"], host_groups["group"], strict=True))
        ),
        path=directory,
        audit_logs=audit if audit.is_dir() else None,
    )


def _time_order(events: pa.Table) -> pa.Table:
    """Samples are stored by host (smaller files); events are used in time order."""
    serial = pc.cast(
        pc.struct_field(pc.extract_regex(events.column(s.EVENT_ID), r":(?P<n>\d+)$"), "n"),
        pa.int64(),
    )
    keyed = events.append_column("__serial", serial)
    order = pc.sort_indices(
        keyed, [(s.TIME, "ascending"), (s.HOST_NAME, "ascending"), ("__serial", "ascending")]
    )
    return events.take(order)


def _slice(sim: Simulation, start: pd.Timestamp | None, end: pd.Timestamp | None) -> Simulation:
    if start is None and end is None:
        return sim
    t = sim.events.column(s.TIME)
    mask = pa.array([True] * sim.events.num_rows)
    if start is not None:
        mask = pc.and_(mask, pc.greater_equal(t, pa.scalar(start, pa.timestamp("us", "UTC"))))
    if end is not None:
        mask = pc.and_(mask, pc.less(t, pa.scalar(end, pa.timestamp("us", "UTC"))))
    events = sim.events.filter(mask)
    extras = sim._extras.filter(mask)
    labels = sim.labels.filter(
        pc.is_in(
            sim.labels.column("event_id"), value_set=events.column(s.EVENT_ID).combine_chunks()
        )
    )
    return Simulation(events, labels, sim.host_groups, sim.hosts, extras)


def build_sample(name: str) -> Simulation:
    """Simulate a sample in memory (what :func:`write_sample` stores)."""
    spec = _check_name(name)
    sim, start, end = spec.make()
    return _slice(sim, start, end)


def write_sample(name: str, directory: str | os.PathLike[str]) -> Path:
    """Simulate one sample and write its files into ``directory`` (replaced atomically)."""
    spec = _check_name(name)
    sim = build_sample(name)
    target = Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        events = sim.events.take(
            pc.sort_indices(sim.events, [(s.HOST_NAME, "ascending"), (s.TIME, "ascending")])
        )
        pq.write_table(
            events, tmp / EVENTS, compression="zstd", compression_level=19, row_group_size=1 << 20
        )
        labels = sim.labels if sim.labels.num_rows else LABEL_SCHEMA.empty_table()
        pq.write_table(labels, tmp / LABELS, compression="zstd", compression_level=19)
        write_host_groups(sim.host_groups, tmp / HOST_GROUPS)
        if spec.audit_logs:
            sim.write_audit_logs(tmp / AUDIT_DIR)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return target


def make_samples(directory: str | os.PathLike[str] | None = None) -> list[Path]:
    """Rebuild every sample into ``directory`` (default: ``datasets/`` of the checkout).

    The output is identical from run to run with the same library versions.
    """
    root = Path(directory) if directory is not None else _checkout_dir()
    return [write_sample(name, root / name) for name in list_samples()]
