"""Benchmark: batch scoring and fitting of canonical Parquet dumps.

Writes a synthetic canonical dump (100 hosts in 10 groups, a week of network and
process events, 321 executables with a Zipf popularity, three injected bursts
of deviations) with :func:`behavemodel.io.write_events`, fits a
``BaselineDetector`` on its first part, then times in one run, each variant in
its own process so that its peak RSS is its own:

- ``score_parquet(model, dump, alerts.parquet)`` end to end;
- the plain pyarrow read the issue names: the same columns, batch by batch,
  default options (``ParquetFile.iter_batches``), nothing done with them;
- a tighter floor: the read ``score_parquet`` itself does (strings
  dictionary-encoded, which is about twice as fast as the plain read);
- a pandas ``merge``-based scorer (read the columns, anti-join every feature's
  keys with the learned keys);
- DuckDB's anti-join of the same keys, when ``duckdb`` is installed (``bench`` extra);
- ``score_parquet`` and both reads on a 1M-row dump (and 28M with ``--large``),
  for memory flatness and the ratio by dump size (with numba, scoring pays a
  fixed start-up, its import and cached loops, that weighs less as the dump
  grows; dumps below ``NUMPY_BELOW_ROWS`` use the numpy loops instead);
- with ``--engines``: ``score_parquet`` and ``fit_parquet`` with numba and with
  the numpy loops on dumps of 1M, 3M, 5M and ``--rows`` rows (and 28M with
  ``--large``), which is where their ``NUMPY_BELOW_ROWS`` come from;
- ``BaselineDetector.fit`` on the fitting rows in memory against a pyarrow
  ``group_by(...).aggregate(count)`` of the same key columns (one per feature,
  plus the coverage keys, summed), and ``fit_parquet`` streaming the whole dump
  (:func:`behavemodel.scoring.fit_parquet`, bounded memory).

Targets (issue 6): scoring at most 2x the plain read (both reads are printed);
no slower than DuckDB's anti-join; peak RSS under 1 GiB at 28M rows and within
1.3x between 1M and 28M rows; fitting at most 2x the group-by count. Timings
are the best of ``--repeat`` runs (the machines are shared; trust ratios, not
seconds).

Run::

    .venv/bin/python benchmarks/score_parquet.py [--rows 10000000] [--large] [--repeat 3]
        [--engines] [--dir /tmp/behavemodel-bench] [--features NetworkProcesses ...]

Dumps are cached in ``--dir`` by size and seed. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from behavemodel import schema
from behavemodel.features import KEY_SEPARATOR
from behavemodel.io import write_events
from behavemodel.models import BaselineDetector
from behavemodel.scoring._score import peak_rss

FEATURES = ["NetworkProcesses", "ProcessOwners", "ParentNames", "NetworkPorts"]
HOSTS = np.array([f"host-{i:03d}" for i in range(100)])
GROUPS = np.array([f"grp-{i // 10}" for i in range(100)])
EXES = np.array([f"/usr/bin/prog{i}" for i in range(321)])
USERS = np.array(["root", "www-data", "postgres", "app", "nobody"])
TYPES = np.array(["net_connect", "net_accept", "process_start"])
DIRECTIONS = np.array(["outbound", "inbound"])
PORTS = np.array([22, 80, 443, 5432, 8080], dtype=np.int32)
WEEK_US = 7 * 86400 * 10**6
T0 = int(np.datetime64("2024-01-01T00:00:00", "us").astype(np.int64))
CHUNK = 1_000_000
FIT_SHARE = 0.3


# -- the synthetic dump ----------------------------------------------------------------
def _chunks(rows: int, seed: int) -> Iterator[pa.Table]:
    """Canonical events in time order, a million at a time."""
    rng = np.random.default_rng(seed)
    popularity = 1 / np.arange(1, len(EXES) + 1) ** 1.1
    popularity /= popularity.sum()
    for start in range(0, rows, CHUNK):
        n = min(CHUNK, rows - start)
        lo, hi = T0 + WEEK_US * start // rows, T0 + WEEK_US * (start + n) // rows
        time_us = np.sort(rng.integers(lo, hi, n))
        host = rng.integers(0, len(HOSTS), n)
        kind = rng.integers(0, len(TYPES), n)
        exe = rng.choice(len(EXES), n, p=popularity)
        parent = (exe * 7 + rng.integers(0, 2, n)) % 40
        exes = EXES[exe].astype(object)
        users = USERS[exe % len(USERS)].astype(object)
        # deviations come in bursts (an intrusion on a few hosts for a few minutes) at
        # three moments after the fitting rows: a new binary, a new owner
        at = (start + np.arange(n)) / rows
        burst = np.zeros(n, dtype=bool)
        for moment in (0.45, 0.7, 0.95):
            burst |= (at >= moment) & (at < moment + 0.002)
        odd = burst & (host % 25 == 3) & (rng.random(n) < 0.01)
        exes[odd & (kind == 2)] = "/tmp/.cache/kworkerd"
        exes[odd & (kind == 0)] = "/usr/bin/ncat"
        users[odd & (kind == 1)] = "nobody"
        serial = start + np.arange(n)
        yield pa.table(
            {
                schema.TIME: pa.array(time_us, pa.int64()).cast(pa.timestamp("us", "UTC")),
                schema.HOST_NAME: HOSTS[host],
                schema.HOST_GROUP: GROUPS[host],
                schema.EVENT_TYPE: TYPES[kind],
                schema.SUCCESS: np.ones(n, dtype=bool),
                schema.EXIT_CODE: np.zeros(n, dtype=np.int64),
                schema.PROCESS_PID: rng.integers(300, 60000, n),
                schema.PARENT_PID: rng.integers(1, 300, n),
                schema.PROCESS_NAME: [e.rsplit("/", 1)[-1] for e in exes],
                schema.PROCESS_EXE: exes,
                schema.PROCESS_CMDLINE: pc.binary_join_element_wise(
                    pa.array(exes, pa.string()), pa.array(["--serve --port 8080"] * n), " "
                ),
                schema.PARENT_EXE: EXES[parent],
                schema.USER_NAME: users,
                schema.NET_FAMILY: np.where(kind < 2, "inet", None),
                schema.NET_DIRECTION: np.where(kind < 2, DIRECTIONS[np.minimum(kind, 1)], None),
                schema.SRC_IP: np.where(kind < 2, "10.0.0.1", None),
                schema.DST_IP: np.where(kind < 2, "10.0.1.2", None),
                schema.DST_PORT: pa.array(  # each binary uses two ports
                    PORTS[(exe + rng.integers(0, 2, n)) % len(PORTS)], mask=kind == 2
                ),
                schema.EVENT_ID: pc.binary_join_element_wise(
                    pa.array(HOSTS[host]), pa.array(serial.astype(str)), ":"
                ),
                schema.SOURCE_FORMAT: ["canonical"] * n,
            }
        )


def dump(directory: Path, rows: int, seed: int) -> Path:
    """The cached dump of ``rows`` events (written on first use)."""
    path = directory / f"events-{rows}-{seed}.parquet"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        batches = (
            schema.conform(t, fill_missing=True).to_batches()[0] for t in _chunks(rows, seed)
        )
        write_events(batches, path)
        print(
            f"wrote {path} ({path.stat().st_size / 2**20:.0f} MiB) in "
            f"{time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
    return path


# -- the variants, each run in a child process -------------------------------------------
def _model_columns(model: BaselineDetector, path: Path) -> list[str]:
    required, optional, _ = model.config_.columns()
    present = set(pq.read_schema(path).names)
    return [c for c in dict.fromkeys([*required, *optional]) if c in present]


def _dictionary_format(columns: list[str]) -> ds.ParquetFileFormat:
    strings = [c for c in columns if c != schema.TIME]
    return ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=strings))


def variant_floor(model: BaselineDetector, path: Path, out: Path) -> dict[str, Any]:
    """Read the columns score_parquet reads, the way it reads them, and do nothing."""
    columns = _model_columns(model, path)
    dataset = ds.dataset(path, format=_dictionary_format(columns))
    rows = 0
    for fragment in dataset.get_fragments():
        for group in fragment.split_by_row_group():
            for batch in group.to_batches(
                columns=columns, batch_size=500_000, batch_readahead=1, fragment_readahead=1
            ):
                rows += batch.num_rows
    return {"rows": rows}


def variant_plain(model: BaselineDetector, path: Path, out: Path) -> dict[str, Any]:
    """The plain pyarrow read the issue names: the same columns, default options."""
    rows = 0
    for batch in pq.ParquetFile(path).iter_batches(
        batch_size=500_000, columns=_model_columns(model, path)
    ):
        rows += batch.num_rows
    return {"rows": rows}


def _force_engine() -> None:
    """``BEHAVEMODEL_BENCH_ENGINE=numba|numpy``: those loops, whatever the dump's size."""
    engine = os.environ.get("BEHAVEMODEL_BENCH_ENGINE")
    if engine:
        from behavemodel.scoring import _fit, _score

        _score.NUMPY_BELOW_ROWS = _fit.NUMPY_BELOW_ROWS = 0 if engine == "numba" else 1 << 62


def variant_score(model: BaselineDetector, path: Path, out: Path) -> dict[str, Any]:
    from behavemodel.scoring import score_parquet

    _force_engine()
    summary = score_parquet(model, path, out / "alerts.parquet", progress=False)
    return {"rows": summary.rows, "alerts": summary.alerts}


def _known(model: BaselineDetector) -> dict[str, pa.Table]:
    """The learned (group, key...) pairs of every feature, one column per key part."""
    keys = model._baseline.keys
    out = {}
    for extractor in model.config_._extractors:
        mine = keys[keys["feature"] == extractor.name]
        parts = pc.split_pattern(pa.array(mine["key"].tolist(), pa.string()), KEY_SEPARATOR)
        columns = {"host_group": pa.array(mine["host_group"].tolist(), pa.string())}
        for i, name in enumerate(extractor.key_names):
            columns[f"k_{name}"] = pc.list_element(parts, i)
        out[extractor.name] = pa.table(columns)
    return out


# (filter, key expressions) of each feature, for pandas and SQL alike
_NET = "event_type IN ('net_connect', 'net_accept', 'net_listen')"
_SQL = {
    "NetworkProcesses": (
        f"{_NET} AND coalesce(success, true) AND coalesce(net_family IN ('inet', 'inet6'), true)",
        {"exe": "coalesce(process_exe, process_name)", "direction": "net_direction"},
    ),
    "ProcessOwners": (
        "event_type = 'process_start'",
        {"exe": "coalesce(process_exe, process_name)", "user": "user_name"},
    ),
    "ParentNames": (
        "event_type = 'process_start'",
        {
            "parent": "coalesce(parent_exe, parent_name)",
            "exe": "coalesce(process_exe, process_name)",
        },
    ),
    "NetworkPorts": (
        f"{_NET} AND coalesce(success, true) AND coalesce(net_family IN ('inet', 'inet6'), true)",
        {
            "exe": "coalesce(process_exe, process_name)",
            "direction": "net_direction",
            "port": "CAST(dst_port AS VARCHAR)",
        },
    ),
}


def variant_duckdb(model: BaselineDetector, path: Path, out: Path) -> dict[str, Any]:
    import duckdb

    known = _known(model)
    con = duckdb.connect()
    con.execute(f"SET threads TO {os.cpu_count() or 1}")
    selects = []
    for name, table in known.items():
        con.register(f"known_{name}", table)
        where, keys = _SQL[name]
        key_sql = ", ".join(f"{expr} AS k_{k}" for k, expr in keys.items())
        join = " AND ".join(f"e.k_{k} = k.k_{k}" for k in keys)
        selects.append(
            f"SELECT e.event_id, '{name}' AS feature FROM "
            f"(SELECT event_id, coalesce(host_group, host_name) AS host_group, {key_sql} "
            f"FROM read_parquet('{path}') WHERE {where}) e "
            f"ANTI JOIN known_{name} k ON e.host_group = k.host_group AND {join} "
            f"WHERE {' AND '.join(f'e.k_{k} IS NOT NULL' for k in keys)}"
        )
    target = out / "duckdb.parquet"
    con.execute(f"COPY ({' UNION ALL '.join(selects)}) TO '{target}' (FORMAT parquet)")
    rows = pq.read_metadata(target).num_rows
    return {"deviations": rows}


def variant_pandas(model: BaselineDetector, path: Path, out: Path) -> dict[str, Any]:
    import pandas as pd

    known = {name: t.to_pandas() for name, t in _known(model).items()}
    columns = [*_model_columns(model, path), schema.EVENT_ID]
    frame = pd.read_parquet(path, columns=columns)
    frame["host_group"] = frame["host_group"].fillna(frame["host_name"])
    net = frame["event_type"].isin(["net_connect", "net_accept", "net_listen"])
    ok = frame["success"].fillna(True) & frame["net_family"].isin(["inet", "inet6"])
    exe = frame["process_exe"].fillna(frame["process_name"])
    starts = frame["event_type"] == "process_start"
    parts = {
        "NetworkProcesses": (net & ok, {"exe": exe, "direction": frame["net_direction"]}),
        "ProcessOwners": (starts, {"exe": exe, "user": frame["user_name"]}),
        "ParentNames": (
            starts,
            {"parent": frame["parent_exe"].fillna(frame["parent_name"]), "exe": exe},
        ),
        "NetworkPorts": (
            net & ok,
            {
                "exe": exe,
                "direction": frame["net_direction"],
                "port": frame["dst_port"].astype("Int64").astype(str),
            },
        ),
    }
    deviations = 0
    for name, table in known.items():
        mask, keys = parts[name]
        events = pd.DataFrame(
            {"host_group": frame["host_group"][mask]}
            | {f"k_{k}": v[mask] for k, v in keys.items()}
        ).dropna()
        merged = events.merge(table, how="left", on=list(events.columns), indicator=True)
        deviations += int((merged["_merge"] == "left_only").sum())
    return {"deviations": deviations}


def variant_fit(model: BaselineDetector, path: Path, out: Path) -> dict[str, Any]:
    """Fit in memory vs group-by count on the same rows (one process, same table)."""
    columns = _model_columns(model, path)
    share = float(os.environ.get("BEHAVEMODEL_BENCH_FIT_SHARE", FIT_SHARE))
    rows = int(pq.read_metadata(path).num_rows * share)
    table = ds.dataset(path, format=_dictionary_format(columns)).head(rows, columns=columns)
    table = table.unify_dictionaries().combine_chunks()
    keys = {
        "coverage": [],
        "NetworkProcesses": ["process_exe", "net_direction"],
        "ProcessOwners": ["process_exe", "user_name"],
        "ParentNames": ["parent_exe", "process_exe"],
        "NetworkPorts": ["process_exe", "net_direction", "dst_port"],
    }
    best_fit = best_count = float("inf")
    # best of --repeat for both (the first fit also loads numba's loops)
    for _ in range(max(2, int(os.environ.get("BEHAVEMODEL_BENCH_REPEAT", "2")))):
        started = time.perf_counter()
        for k in keys.values():
            table.group_by(["host_group", "host_name", *k]).aggregate([("time", "count")])
        best_count = min(best_count, time.perf_counter() - started)
        started = time.perf_counter()
        BaselineDetector(**_params(model)).fit(table)
        best_fit = min(best_fit, time.perf_counter() - started)
    return {"rows": rows, "fit": best_fit, "group_by": best_count}


def variant_fit_parquet(model: BaselineDetector, path: Path, out: Path) -> dict[str, Any]:
    """Fit on the whole dump streamed batch by batch (bounded memory)."""
    from behavemodel.scoring import fit_parquet

    _force_engine()
    fitted = fit_parquet(BaselineDetector(**_params(model)), path, progress=False)
    return {"rows": pq.read_metadata(path).num_rows, "stats_rows": fitted.stats_.num_rows}


def _params(model: BaselineDetector) -> dict[str, Any]:
    return {k: v for k, v in model.get_params().items()}


VARIANTS = {
    "floor": variant_floor,
    "plain": variant_plain,
    "score_parquet": variant_score,
    "duckdb": variant_duckdb,
    "pandas": variant_pandas,
    "fit": variant_fit,
    "fit_parquet": variant_fit_parquet,
}


def child(name: str, model_path: Path, path: Path) -> None:
    with open(model_path, "rb") as handle:
        model = pickle.load(handle)  # our own file, written by the parent
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        result = VARIANTS[name](model, path, Path(out))
        result.setdefault("seconds", time.perf_counter() - started)
    result["rss"] = peak_rss()
    print(json.dumps(result))


def run(
    name: str, model_path: Path, path: Path, repeat: int, env: dict[str, str] | None = None
) -> dict[str, Any]:
    best: dict[str, Any] | None = None
    for _ in range(repeat):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", name, str(model_path), str(path)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
        )
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    assert best is not None
    return best


def engines(model_path: Path, args: argparse.Namespace) -> None:
    """score_parquet and fit_parquet in a fresh process, numba against numpy, by dump size."""
    from behavemodel.scoring import _fit, _score

    print(
        f"\nnumba against the numpy loops (NUMPY_BELOW_ROWS: scoring "
        f"{_score.NUMPY_BELOW_ROWS:,}, fitting {_fit.NUMPY_BELOW_ROWS:,})"
    )
    sizes = {1_000_000, 3_000_000, 5_000_000, args.rows, *([28_000_000] if args.large else [])}
    for rows in sorted(sizes):
        path = dump(args.dir, rows, args.seed)
        for name in ("score_parquet", "fit_parquet"):
            took = {
                engine: run(
                    name, model_path, path, args.repeat, {"BEHAVEMODEL_BENCH_ENGINE": engine}
                )["seconds"]
                for engine in ("numba", "numpy")
            }
            print(
                f"  {rows / 1e6:4.0f}M rows {name:14s} numba {took['numba']:6.2f} s, "
                f"numpy {took['numpy']:6.2f} s -> numpy / numba = "
                f"{took['numpy'] / took['numba']:.2f}",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--large", action="store_true", help="also 28M rows (memory flatness)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--dir", type=Path, default=Path(tempfile.gettempdir()) / "behavemodel-bench"
    )
    parser.add_argument("--features", nargs="+", default=FEATURES, choices=FEATURES)
    parser.add_argument(
        "--engines",
        action="store_true",
        help="also time numba against the numpy loops by dump size (NUMPY_BELOW_ROWS)",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return 0

    path = dump(args.dir, args.rows, args.seed)
    fit_rows = int(args.rows * FIT_SHARE)
    fit_table = ds.dataset(path).head(fit_rows)
    model = BaselineDetector(features=args.features, min_span="12h", novelty_threshold=0.05)
    model.fit(fit_table)
    del fit_table
    states = model.convergence_report()["state"].value_counts().to_dict()
    model_path = args.dir / "model.pkl"
    with open(model_path, "wb") as handle:
        pickle.dump(model, handle)
    print(
        f"dump: {args.rows:,} rows, {path.stat().st_size / 2**20:.0f} MiB; model fitted on "
        f"{fit_rows:,} rows, features {args.features}, (group, feature) states {states}"
    )

    results = {}
    names = ["floor", "plain", "score_parquet", "pandas", "fit", "fit_parquet"]
    try:
        import duckdb  # noqa: F401

        names.insert(3, "duckdb")
    except ImportError:
        print("duckdb is not installed: no DuckDB comparison (pip install 'behavemodel[bench]')")
    repeat = {"BEHAVEMODEL_BENCH_REPEAT": str(args.repeat)}
    for name in names:
        results[name] = run(
            name,
            model_path,
            path,
            1 if name in ("pandas", "fit", "fit_parquet") else args.repeat,
            repeat,
        )
        print(f"  {name:14s} {json.dumps(results[name])}", flush=True)
    small_path = dump(args.dir, 1_000_000, args.seed)
    small = run("score_parquet", model_path, small_path, args.repeat)
    # memory by dump size with the loops held fixed: the larger dumps run numba,
    # whose code and compiler take about 100 MiB that the numpy loops do not
    small_numba = run(
        "score_parquet", model_path, small_path, args.repeat, {"BEHAVEMODEL_BENCH_ENGINE": "numba"}
    )
    small_floor = run("floor", model_path, small_path, args.repeat)
    small_plain = run("plain", model_path, small_path, args.repeat)
    large = large_floor = large_plain = large_fit = large_stream = None
    if args.large:
        big = dump(args.dir, 28_000_000, args.seed)
        large = run("score_parquet", model_path, big, args.repeat)
        large_floor = run("floor", model_path, big, args.repeat)
        large_plain = run("plain", model_path, big, args.repeat)
        whole = {"BEHAVEMODEL_BENCH_FIT_SHARE": "1.0", **repeat}
        large_fit = run("fit", model_path, big, 1, whole)
        large_stream = run("fit_parquet", model_path, big, 1)

    if args.engines:
        engines(model_path, args)

    mib = 2**20
    floor, score = results["floor"]["seconds"], results["score_parquet"]["seconds"]
    print()
    print(
        f"score_parquet     {score:7.2f} s  {results['score_parquet']['rss'] / mib:6.0f} MiB  "
        f"({results['score_parquet']['alerts']:,} alert rows)"
    )
    plain = results["plain"]["seconds"]
    print(
        f"plain pyarrow read{plain:7.2f} s  {results['plain']['rss'] / mib:6.0f} MiB  "
        f"-> score / plain read = {score / plain:.2f} (target <= 2, the read issue 6 names)"
    )
    print(
        f"dictionary read   {floor:7.2f} s  {results['floor']['rss'] / mib:6.0f} MiB  "
        f"-> score / dictionary read = {score / floor:.2f} (the read score_parquet does)"
    )
    # The ratio by dump size: numba's start-up (import and cached loops, about
    # 0.3 s; small dumps use the numpy loops instead) weighs less as the dump grows.
    for rows, (scored, read, plain_read) in {
        1_000_000: (small, small_floor, small_plain),
        args.rows: (results["score_parquet"], results["floor"], results["plain"]),
        28_000_000: (large, large_floor, large_plain),
    }.items():
        if scored is not None and read is not None and plain_read is not None:
            took, plain_s, read_s = scored["seconds"], plain_read["seconds"], read["seconds"]
            print(
                f"  {rows / 1e6:4.0f}M rows: score {took:6.2f} s; plain read {plain_s:6.2f} s "
                f"-> {took / plain_s:.2f}; dictionary read {read_s:6.2f} s -> {took / read_s:.2f}"
            )
    if "duckdb" in results:
        duck = results["duckdb"]["seconds"]
        print(
            f"duckdb anti-join  {duck:7.2f} s  {results['duckdb']['rss'] / mib:6.0f} MiB  "
            f"-> score / duckdb = {score / duck:.2f} (target <= 1)"
        )
    pandas_s = results["pandas"]["seconds"]
    print(
        f"pandas merge      {pandas_s:7.2f} s  {results['pandas']['rss'] / mib:6.0f} MiB  "
        f"-> score / pandas = {score / pandas_s:.2f}"
    )
    for fit in (results["fit"], large_fit):
        if fit is None:
            continue
        print(
            f"fit {fit['rows']:,} rows  {fit['fit']:7.2f} s vs group_by count "
            f"{fit['group_by']:.2f} s -> {fit['fit'] / fit['group_by']:.2f} (target <= 2), "
            f"peak RSS {fit['rss'] / mib:.0f} MiB"
        )
    for stream in (results["fit_parquet"], large_stream):
        if stream is None:
            continue
        print(
            f"fit_parquet {stream['rows']:,} rows (streamed)  {stream['seconds']:7.2f} s, "
            f"peak RSS {stream['rss'] / mib:.0f} MiB -> fit_parquet / read = "
            f"{stream['seconds'] / floor * 1e7 / stream['rows']:.2f} (read scaled to its rows)"
        )
    base = small_numba["rss"]
    print(
        f"peak RSS score_parquet with numba: 1M {base / mib:.0f} MiB, {args.rows / 1e6:.0f}M "
        f"{results['score_parquet']['rss'] / mib:.0f} MiB "
        f"-> {results['score_parquet']['rss'] / base:.2f}x"
        + (
            f", 28M {large['rss'] / mib:.0f} MiB -> {large['rss'] / base:.2f}x "
            f"(targets < 1024 MiB, <= 1.3x; 28M in {large['seconds']:.1f} s)"
            if large
            else ""
        )
    )
    print(
        f"  1M with the numpy loops (the default below NUMPY_BELOW_ROWS): "
        f"{small['seconds']:.2f} s, {small['rss'] / mib:.0f} MiB; with numba "
        f"{small_numba['seconds']:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
