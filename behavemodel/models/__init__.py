"""Learn-then-monitor detectors with the scikit-learn outlier API.

:class:`BaselineDetector` learns, per server group and feature, the set of keys
seen while learning and flags keys new to a group once it has converged. The
pure functions :func:`partial_stats`, :func:`merge_stats` and :func:`score_batch`
carry the work for engines that distribute it.
"""

from behavemodel.models import alerts
from behavemodel.models._baseline import BaselineDetector, merge_models, score_batch
from behavemodel.models._errors import IncompatibleModelsError, NoEventsError, NotFittedError
from behavemodel.models._stats import STATS_SCHEMA, StatsConfig, merge_stats, partial_stats

__all__ = [
    "STATS_SCHEMA",
    "BaselineDetector",
    "IncompatibleModelsError",
    "NoEventsError",
    "NotFittedError",
    "StatsConfig",
    "alerts",
    "merge_models",
    "merge_stats",
    "partial_stats",
    "score_batch",
]
