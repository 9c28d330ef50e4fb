"""Batch scoring: stream event dumps through a fitted detector and write alerts.

:func:`score_parquet` reads a Parquet dump (a file, a list, a glob or a
partitioned directory) one record batch at a time, reads only the columns the
model needs, scores each batch with the same code as
:func:`behavemodel.models.score_batch` and writes the alert rows
(:data:`behavemodel.models.alerts.ALERT_SCHEMA`) to Parquet as they come.
Memory depends on the batch size, not on the size of the dump.
:func:`fit_parquet` learns a baseline from dumps the same way, batch by batch.

For datasets bigger than one machine, :mod:`behavemodel.dask` runs the same
pure functions on a Dask cluster.
"""

from behavemodel.scoring._fit import fit_parquet
from behavemodel.scoring._score import SCORES_SCHEMA, ScoreSummary, score_parquet, scores_path_for

__all__ = ["SCORES_SCHEMA", "ScoreSummary", "fit_parquet", "score_parquet", "scores_path_for"]
