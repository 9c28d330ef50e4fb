"""Fit and score event datasets on a Dask cluster (the ``behavemodel[dask]`` extra).

Both functions are thin graphs over three pure functions of Arrow data, so they
give exactly the single-process results:

- :func:`fit`: :func:`~behavemodel.models.partial_stats` on every partition, then
  :func:`~behavemodel.models.merge_stats` in a tree (the statistics merge in any
  order and grouping with the same result);
- :func:`score`: :func:`~behavemodel.models.score_batch` on every partition
  (``map_partitions``), giving a Dask DataFrame of alert rows.

They take a Dask DataFrame or a path (a Parquet file, a directory, a glob or a
list). Paths are read with ``dd.read_parquet(..., dtype_backend="pyarrow")`` so
that nullable integers stay integers (a port read as a float would become the
key ``"443.0"``). A single Parquet file is one partition unless
``split_row_groups=True`` (the default here), which makes one partition per row
group. Dumps in another schema (``schema="ocsf"``...) are read file by file with
:func:`behavemodel.io.read_events`.

Use the scheduler you like: with a ``distributed.Client`` active, work goes to
its cluster; without one, to Dask's local threads.

Other engines
-------------
The same three functions run on any engine that maps a function over Arrow
batches. With Spark (``mapInArrow`` hands each task an iterator of ``pyarrow.RecordBatch``),
fitting and scoring a DataFrame ``events`` of canonical columns look like this
(``config`` and ``model`` reach the executors by pickling)::

    import pyarrow as pa
    from pyspark.sql.pandas.types import from_arrow_schema
    from behavemodel.models import (STATS_SCHEMA, BaselineDetector, StatsConfig, alerts,
                                    merge_stats, partial_stats, score_batch)

    params = {"features": ["NetworkProcesses", "ProcessOwners"], "bucket": "1h"}
    config = StatsConfig(params["features"], bucket=params["bucket"])

    def count(batches):                      # map: the statistics of each task's events
        for batch in batches:
            yield from partial_stats(batch, config).to_batches()

    counted = events.mapInArrow(count, from_arrow_schema(STATS_SCHEMA)).toArrow()
    stats = merge_stats([counted])           # reduce: exact, in any order
    model = BaselineDetector.from_stats(stats, **params)

    def alert(batches):                      # score: one row per deviating event
        for batch in batches:
            yield from score_batch(batch, model).to_batches()

    found = events.mapInArrow(alert, from_arrow_schema(alerts.ALERT_SCHEMA))

With Ray Data the map steps are ``ds.map_batches(fn, batch_format="pyarrow")``
with the same ``fn`` bodies (returning one table per batch).

See :func:`fit` and :func:`score` for runnable examples.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pyarrow as pa

from behavemodel import schema as s
from behavemodel.models import BaselineDetector, alerts, merge_stats, partial_stats
from behavemodel.models._errors import NoEventsError
from behavemodel.models._stats import StatsConfig

__all__ = ["ALERTS_META", "SCORES_META", "fit", "score"]

_EXTRA = "behavemodel[dask]"

#: The empty partition of :func:`score`'s result (alert rows, Arrow-backed dtypes).
ALERTS_META = alerts.ALERT_SCHEMA.empty_table().to_pandas(types_mapper=pd.ArrowDtype)
#: The empty partition of :func:`score` with ``all_rows=True``.
SCORES_META = pd.DataFrame(
    {
        s.EVENT_ID: pd.Series([], dtype=pd.ArrowDtype(pa.string())),
        alerts.SCORE: pd.Series([], dtype=pd.ArrowDtype(pa.float64())),
    }
)


def _dask() -> Any:
    """Import dask.dataframe, or say which extra provides it."""
    try:
        import dask
        import dask.dataframe as dd
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        raise ImportError(
            f"behavemodel.dask needs Dask and distributed: pip install '{_EXTRA}' ({exc})."
        ) from None
    return dask, dd


def fit(
    data: Any,
    model: BaselineDetector | None = None,
    *,
    schema: str = "canonical",
    split_row_groups: bool = True,
    fan_in: int = 8,
    **params: Any,
) -> BaselineDetector:
    """Fit a :class:`BaselineDetector` on a Dask DataFrame or a Parquet dump.

    Every partition is counted with :func:`~behavemodel.models.partial_stats`
    where it lives; the statistics tables are merged in a tree of
    :func:`~behavemodel.models.merge_stats`. The result equals
    ``BaselineDetector(**params).fit(all_events)``.

    Parameters
    ----------
    data : dask.dataframe.DataFrame or path-like or list of paths
        Canonical events, or Parquet files (file, directory, glob, list).
    model : BaselineDetector, optional
        A detector whose parameters to use (a template, left as it is, as
        :func:`sklearn.base.clone` would); else ``params``.
    schema : {"canonical", "ocsf", "ecs", "osquery", "laurel"}, default "canonical"
        The schema of the files when ``data`` is a path.
    split_row_groups : bool, default True
        One partition per Parquet row group (else per file).
    fan_in : int, default 8
        How many statistics tables each merge task combines.
    **params
        :class:`BaselineDetector` parameters, when ``model`` is not given.

    Returns
    -------
    BaselineDetector
        A new fitted detector.

    Raises
    ------
    NoEventsError
        When the data hold no event.
    SchemaError
        When a file or the DataFrame lacks a column the features need.

    Examples
    --------
    >>> import pandas as pd
    >>> import dask.dataframe as dd
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector
    >>> import behavemodel.dask as bmdask
    >>> events = schema.to_pandas(schema.conform(pd.DataFrame({
    ...     "time": pd.to_datetime(["2024-01-01 00:00", "2024-01-01 06:00",
    ...                             "2024-01-01 07:00"], utc=True),
    ...     "host_name": ["web-01", "web-02", "web-01"], "event_type": ["process_start"] * 3,
    ...     "process_exe": ["/usr/sbin/nginx", "/usr/sbin/nginx", "/bin/sh"],
    ...     "user_name": ["www-data", "www-data", "root"],
    ...     "event_id": ["a", "b", "c"], "source_format": ["canonical"] * 3,
    ... }), fill_missing=True))
    >>> model = bmdask.fit(dd.from_pandas(events, npartitions=2), features=["ProcessOwners"])
    >>> single = BaselineDetector(features=["ProcessOwners"]).fit(events)
    >>> model.stats_.equals(single.stats_)
    True
    """
    dask, _ = _dask()
    if model is not None and params:
        raise TypeError("Pass either a model or BaselineDetector parameters to fit, not both.")
    detector = model if model is not None else BaselineDetector(**params)
    detector._validate_params()
    config = detector._make_config()
    required, optional, needs = config.columns()
    frame = _frame(data, schema, required, optional, needs, split_row_groups, "fit")
    tables = [dask.delayed(_count)(part, config) for part in frame.to_delayed()]
    if not tables:
        raise NoEventsError("behavemodel.dask.fit received no partitions; nothing to learn from.")
    fan_in = max(int(fan_in), 2)
    while len(tables) > 1:
        tables = [
            dask.delayed(merge_stats)(tables[i : i + fan_in])
            for i in range(0, len(tables), fan_in)
        ]
    (stats,) = dask.compute(tables[0])
    if stats.num_rows == 0:
        raise NoEventsError(
            "behavemodel.dask.fit received 0 events; a baseline needs events to learn from."
        )
    return BaselineDetector.from_stats(stats, **detector.get_params())


def score(
    model: BaselineDetector,
    data: Any,
    *,
    schema: str = "canonical",
    all_rows: bool = False,
    split_row_groups: bool = True,
) -> Any:
    """Score a Dask DataFrame or a Parquet dump; returns a lazy Dask DataFrame.

    Each partition goes through :func:`~behavemodel.models.score_batch` (one
    row per deviating event and feature, columns
    :data:`~behavemodel.models.alerts.ALERT_COLUMNS`, the dtypes of
    :data:`ALERTS_META`), or, with ``all_rows``, through
    :meth:`~behavemodel.models.BaselineDetector.anomaly_score` (``event_id`` and
    ``score`` of every event, :data:`SCORES_META`). Partitions keep their order;
    within one, alert rows are sorted by time.

    Parameters
    ----------
    model : BaselineDetector
        Fitted; shipped to the workers once.
    data : dask.dataframe.DataFrame or path-like or list of paths
    schema : str, default "canonical"
        The schema of the files when ``data`` is a path.
    all_rows : bool, default False
        Every event's score instead of the alert rows.
    split_row_groups : bool, default True
        One partition per Parquet row group (else per file).

    Returns
    -------
    dask.dataframe.DataFrame
        Call ``.compute()`` or ``.to_parquet(path)``.

    Examples
    --------
    >>> import pandas as pd
    >>> import dask.dataframe as dd
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector
    >>> import behavemodel.dask as bmdask
    >>> events = schema.to_pandas(schema.conform(pd.DataFrame({
    ...     "time": pd.to_datetime(["2024-01-01 00:00", "2024-01-02 00:00",
    ...                             "2024-01-03 00:00", "2024-01-03 00:05"], utc=True),
    ...     "host_name": ["web-01"] * 4, "event_type": ["process_start"] * 4,
    ...     "process_exe": ["/usr/sbin/nginx"] * 3 + ["/bin/sh"],
    ...     "user_name": ["www-data"] * 4,
    ...     "event_id": ["a", "b", "c", "d"], "source_format": ["canonical"] * 4,
    ... }), fill_missing=True))
    >>> model = BaselineDetector(features=["ProcessOwners"]).fit(events[:2])
    >>> found = bmdask.score(model, dd.from_pandas(events, npartitions=2)).compute()
    >>> found[["event_id", "deviation"]].to_dict("records")
    [{'event_id': 'd', 'deviation': 'new_everywhere'}]
    >>> scores = bmdask.score(model, dd.from_pandas(events, npartitions=2), all_rows=True)
    >>> scores.compute()["score"].round(2).tolist()
    [0.17, 0.17, 0.17, 1.0]
    """
    dask, _ = _dask()
    model._check_fitted("behavemodel.dask.score")
    required, optional, needs = model.config_.columns()
    extra = [] if all_rows else list(alerts.EVENT_COLUMNS)
    if all_rows:
        extra = [s.EVENT_ID]
    frame = _frame(data, schema, required, [*optional, *extra], needs, split_row_groups, "score")
    shipped = dask.delayed(model, pure=True, traverse=False)
    if all_rows:
        return frame.map_partitions(_scores, shipped, meta=SCORES_META)
    return frame.map_partitions(_alerts, shipped, meta=ALERTS_META)


# -- partition functions (run on the workers) ---------------------------------------------
def _count(part: pd.DataFrame, config: StatsConfig) -> pa.Table:
    return partial_stats(_arrow(part), config)


def _alerts(part: pd.DataFrame, model: BaselineDetector) -> pd.DataFrame:
    from behavemodel.models import score_batch

    if len(part) == 0:
        return ALERTS_META.copy()
    return score_batch(_arrow(part), model).to_pandas(types_mapper=pd.ArrowDtype)


def _scores(part: pd.DataFrame, model: BaselineDetector) -> pd.DataFrame:
    if len(part) == 0:
        return SCORES_META.copy()
    table = _arrow(part)
    ids = (
        table.column(s.EVENT_ID).cast(pa.string())
        if s.EVENT_ID in table.column_names
        else pa.nulls(table.num_rows, pa.string())
    )
    out = pa.table({s.EVENT_ID: ids, alerts.SCORE: pa.array(model.anomaly_score(table))})
    return out.to_pandas(types_mapper=pd.ArrowDtype)


def _arrow(part: pd.DataFrame) -> pa.Table:
    """A partition as Arrow, integer columns that pandas made float turned back."""
    table = pa.Table.from_pandas(part, preserve_index=False)
    for i, field in enumerate(table.schema):
        if field.name not in s.CANONICAL_SCHEMA.names:
            continue
        wanted = s.CANONICAL_SCHEMA.field(field.name).type
        if pa.types.is_integer(wanted) and pa.types.is_floating(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(wanted))
    return table


# -- inputs ---------------------------------------------------------------------------------
def _frame(
    data: Any,
    schema: str,
    required: Sequence[str],
    optional: Sequence[str],
    needs: dict[str, str],
    split_row_groups: bool,
    who: str,
) -> Any:
    """The Dask DataFrame of the columns the model reads (``optional`` ones when present)."""
    _, dd = _dask()
    if isinstance(data, dd.DataFrame):
        present = [str(c) for c in data.columns]
        missing = [c for c in required if c not in present]
        if missing:
            from behavemodel.exceptions import SchemaError

            detail = ", ".join(
                f"{c!r}" + (f" (needed by {needs[c]})" if c in needs else "") for c in missing
            )
            raise SchemaError(f"behavemodel.dask.{who} got a DataFrame without {detail}.", missing)
        wanted = dict.fromkeys([*required, *(c for c in optional if c in present)])
        return data[list(wanted)]
    from behavemodel.scoring._read import open_source

    source = open_source(
        data,
        schema=schema,
        required=required,
        optional=optional,
        needs=needs,
        eager=optional,
        batch_size=1,
        who=f"behavemodel.dask.{who}",
    )
    if source._format is None:  # another schema, or JSON lines: read file by file
        from behavemodel.io import read_events

        meta = s.to_pandas(s.empty_table())
        return dd.from_map(
            read_events, source.paths, schema=schema, meta=meta, enforce_metadata=False
        )
    names = set(pa.unify_schemas([f.physical_schema for f in _fragments(source)]).names)
    names |= {k for f in source.files for k in f.partition}
    columns = [c for c in dict.fromkeys([*required, *optional]) if c in names]
    paths = data if isinstance(data, (str, os.PathLike)) else source.paths
    return dd.read_parquet(
        paths,
        columns=columns,
        split_row_groups=split_row_groups,
        dtype_backend="pyarrow",
    )


def _fragments(source: Any) -> list[Any]:
    return [source._fragment(f) for f in source.files]
