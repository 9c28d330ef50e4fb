"""fit_parquet: learn a baseline from a dump streamed batch by batch, in bounded memory."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pyarrow as pa

from behavemodel.features._loops import load_compiled, loops_for
from behavemodel.models import BaselineDetector, NoEventsError, merge_stats, partial_stats
from behavemodel.scoring._read import EventSource, SourceLike, open_source
from behavemodel.scoring._score import _progress

if TYPE_CHECKING:
    from behavemodel.models._stats import StatsConfig

__all__ = ["fit_parquet"]

#: Events counted at once (consecutive batches of the same schema, concatenated).
_CHUNK_ROWS = 2_000_000
#: Statistics rows held unmerged before they are merged into the running total.
_MERGE_ROWS = 1 << 21
#: Dumps of fewer events are fitted with the numpy loops when numba is not
#: imported yet: fitting spends little of its time in them, so numba's start-up
#: (about 0.3 s) is won back only between 10 and 28 million events
#: (``benchmarks/score_parquet.py --engines --large``).
NUMPY_BELOW_ROWS = 10_000_000


def fit_parquet(
    model: BaselineDetector,
    source: SourceLike,
    *,
    schema: str = "canonical",
    batch_size: int = 500_000,
    progress: bool | None = None,
) -> BaselineDetector:
    """Fit ``model`` on event dumps read one record batch at a time.

    The result is the model :meth:`BaselineDetector.fit
    <behavemodel.models.BaselineDetector.fit>` gives on all the events at once
    (its statistics merge exactly), but only a few batches of events are held
    in memory (about two million events): they are counted with
    :func:`~behavemodel.models.partial_stats` and the counts merged with
    :func:`~behavemodel.models.merge_stats` as they come. Only the columns the
    features need are read (strings
    dictionary-encoded), as :func:`score_parquet` does.

    Parameters
    ----------
    model : BaselineDetector
        Its parameters say what to learn; anything learned before is forgotten.
    source : path, directory, glob or list of them, pyarrow FileSystemDataset, or batches
        As for :func:`score_parquet`.
    schema : {"canonical", "ocsf", "ecs", "osquery", "laurel"}, default "canonical"
    batch_size : int, default 500_000
        Most events per batch.
    progress : bool, optional
        Show a progress bar (tqdm, on stderr). Default: when stderr is a terminal.

    Returns
    -------
    BaselineDetector
        ``model``, fitted.

    Raises
    ------
    NoEventsError
        When the dump holds no event.
    SchemaError
        When a file lacks a column the features need.
    ParseError
        When a Parquet file cannot be read (not Parquet, truncated, a corrupt
        page); the message names the file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pandas as pd, pyarrow.parquet as pq
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector
    >>> from behavemodel.scoring import fit_parquet
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": pd.to_datetime(["2024-01-01 00:00", "2024-01-01 05:00"], utc=True),
    ...     "host_name": ["web-01"] * 2, "event_type": ["process_start"] * 2,
    ...     "process_exe": ["/usr/sbin/nginx"] * 2, "user_name": ["www-data", "root"],
    ...     "event_id": ["a", "b"], "source_format": ["canonical"] * 2,
    ... }), fill_missing=True)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> pq.write_table(events, folder / "day1.parquet")
    >>> streamed = fit_parquet(BaselineDetector(features=["ProcessOwners"]), folder, batch_size=1)
    >>> whole = BaselineDetector(features=["ProcessOwners"]).fit(events)
    >>> streamed.stats_.equals(whole.stats_)
    True
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            "The 'batch_size' parameter of fit_parquet must be a positive integer. "
            f"Got {batch_size!r} instead."
        )
    model._validate_params()
    config = model._make_config()
    required, optional, needs = config.columns()
    reader = open_source(
        source,
        schema=schema,
        required=required,
        optional=optional,
        needs=needs,
        batch_size=batch_size,
        who="fit_parquet",
    )
    with loops_for(reader.rows, NUMPY_BELOW_ROWS):
        return _fit_batches(model, config, reader, source, progress)


def _fit_batches(
    model: BaselineDetector,
    config: StatsConfig,
    reader: EventSource,
    source: SourceLike,
    progress: bool | None,
) -> BaselineDetector:
    total: pa.Table | None = None
    pending: list[pa.Table] = []
    chunk: list[pa.Table] = []
    held = events = rows = 0

    def count() -> None:
        # one partial_stats per chunk of batches: every batch touches most keys, so
        # fewer, larger partial counts leave far less to merge
        nonlocal held, rows
        if chunk:
            pending.append(partial_stats(pa.concat_tables(chunk), config))
            held += pending[-1].num_rows
            chunk.clear()
            rows = 0

    with _progress(progress, reader.rows) as bar:
        for batch in reader.batches(meanwhile=load_compiled):
            table = model._events(batch.table, config, reset=not events, who="fit_parquet")
            events += table.num_rows
            if chunk and not table.schema.equals(chunk[0].schema):
                count()
            if table.num_rows:
                chunk.append(table)
                rows += table.num_rows
            if rows >= _CHUNK_ROWS:
                count()
            # merge once the unmerged counts outgrow the total: each row is merged
            # a few times at most, and memory stays about twice the statistics
            if held >= max(_MERGE_ROWS, 0 if total is None else total.num_rows):
                total = merge_stats([*([] if total is None else [total]), *pending])
                pending, held = [], 0
            bar.update(batch.table.num_rows)
        count()
    if not events:
        raise NoEventsError(
            f"fit_parquet found 0 events in {_name(source)}; a baseline needs events to "
            "learn from. Check the files or the filter that produced them."
        )
    if total is None and len(pending) == 1:
        stats = pending[0]  # one batch: exactly what fit() computes
    else:
        stats = merge_stats([*([] if total is None else [total]), *pending])
    model._set_state(config, stats)
    return model


def _name(source: SourceLike) -> str:
    if isinstance(source, (str, os.PathLike)):
        return repr(os.fspath(source))
    return "the source"
