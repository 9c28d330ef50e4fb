"""The baseline view derived from learned statistics, and per-key scoring.

Everything here is a pure function of the statistics table and the detector's
parameters, recomputed after every change to the statistics, so merged,
accepted or aged models score the same however they were built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from behavemodel.features._codes import combine_codes
from behavemodel.features._observe import EventCodes, KeyedEvents, observe
from behavemodel.models import alerts
from behavemodel.models._stats import (
    EVENTS,
    FEATURE,
    FIRST_TIME,
    HOST_GROUP,
    HOST_NAME,
    KEY,
    LAST_TIME,
    StatsConfig,
    observations,
)

__all__ = ["Baseline", "KeyScores"]

LEARNING = "learning"
MONITORING = "monitoring"

# Anomaly scores, in [0, 1]; 0.5 separates normal from deviating.
THRESHOLD = 0.5
_KNOWN_MAX = 0.5  # known key seen once scores 0.25, frequent keys approach 0
_ELSEWHERE_BASE = 0.6  # new to the group but known elsewhere: 0.6 .. 0.85
_ELSEWHERE_SPREAD = 0.2
_ELSEWHERE_RARITY = 0.1
_NEW_EVERYWHERE = 1.0


@dataclass
class KeyScores:
    """Scores and facts for distinct (group, key) pairs of one feature."""

    score: np.ndarray
    known: np.ndarray
    active: np.ndarray
    monitoring: np.ndarray
    other_groups: np.ndarray
    other_hosts: np.ndarray
    first_elsewhere: np.ndarray  # int64 us, or min int when none


@dataclass
class Baseline:
    """Lookup tables derived from the statistics (private to the detector)."""

    keys: pd.DataFrame
    key_lookup: pd.MultiIndex
    elsewhere: pd.DataFrame
    elsewhere_lookup: pd.MultiIndex
    groups: pd.DataFrame
    convergence: pd.DataFrame
    monitoring: pd.MultiIndex
    n_groups: int
    alert_while_learning: bool
    latest: int | None

    @classmethod
    def build(
        cls,
        stats: pa.Table,
        feature_names: list[str],
        *,
        novelty_threshold: float,
        min_span: pd.Timedelta,
        max_age: pd.Timedelta | None,
        alert_while_learning: bool,
    ) -> Baseline:
        frame = pd.DataFrame(
            {
                HOST_GROUP: stats.column(HOST_GROUP).to_numpy(zero_copy_only=False),
                FEATURE: stats.column(FEATURE).to_numpy(zero_copy_only=False),
                KEY: stats.column(KEY).to_numpy(zero_copy_only=False),
                HOST_NAME: stats.column(HOST_NAME).to_numpy(zero_copy_only=False),
                EVENTS: stats.column(EVENTS).to_numpy(),
                FIRST_TIME: stats.column(FIRST_TIME).cast(pa.int64()).to_numpy(),
                LAST_TIME: stats.column(LAST_TIME).cast(pa.int64()).to_numpy(),
                "observations": observations(stats),
            }
        )
        coverage = frame[frame[FEATURE].isna()]
        groups = coverage.groupby(HOST_GROUP, sort=True).agg(
            hosts=(HOST_NAME, "nunique"),
            events=(EVENTS, "sum"),
            first_time=(FIRST_TIME, "min"),
            last_time=(LAST_TIME, "max"),
        )
        groups["span"] = groups["last_time"] - groups["first_time"]
        latest = int(coverage[LAST_TIME].max()) if len(coverage) else None
        keyed = frame[frame[FEATURE].notna()]
        keys = (
            keyed.groupby([HOST_GROUP, FEATURE, KEY], sort=True)
            .agg(
                observations=("observations", "sum"),
                events=(EVENTS, "sum"),
                hosts=(HOST_NAME, "nunique"),
                first_time=(FIRST_TIME, "min"),
                last_time=(LAST_TIME, "max"),
            )
            .reset_index()
        )
        if max_age is not None and latest is not None and len(keys):
            cutoff = latest - int(max_age // pd.Timedelta(1, "us"))
            keys = keys[keys["last_time"] >= cutoff].reset_index(drop=True)
        elsewhere = (
            keys.groupby([FEATURE, KEY], sort=True)
            .agg(
                groups=(HOST_GROUP, "size"),
                hosts=("hosts", "sum"),
                observations=("observations", "sum"),
                first_time=("first_time", "min"),
            )
            .reset_index()
        )
        convergence = _convergence(keys, groups, feature_names, novelty_threshold, min_span)
        monitoring = convergence[convergence["state"] == MONITORING]
        return cls(
            keys=keys,
            key_lookup=_multi([keys[HOST_GROUP], keys[FEATURE], keys[KEY]]),
            elsewhere=elsewhere,
            elsewhere_lookup=_multi([elsewhere[FEATURE], elsewhere[KEY]]),
            groups=groups,
            convergence=convergence,
            monitoring=_multi([monitoring[HOST_GROUP], monitoring[FEATURE]]),
            n_groups=len(groups),
            alert_while_learning=alert_while_learning,
            latest=latest,
        )

    # -- scoring ---------------------------------------------------------------------
    def score_keys(self, feature: str, group: np.ndarray, key: np.ndarray) -> KeyScores:
        """Score distinct (group, key) pairs of ``feature`` (object arrays of str)."""
        n = len(group)
        feature_col = np.full(n, feature, dtype=object)
        pos = (
            self.key_lookup.get_indexer(_multi([group, feature_col, key]))
            if n
            else np.empty(0, np.int64)
        )
        known = pos >= 0
        obs_group = (
            np.where(known, self.keys["observations"].to_numpy()[np.maximum(pos, 0)], 0)
            if len(self.keys)
            else np.zeros(n, np.int64)
        )
        epos = (
            self.elsewhere_lookup.get_indexer(_multi([feature_col, key]))
            if n
            else np.empty(0, np.int64)
        )
        has_else = epos >= 0
        if len(self.elsewhere):
            take = np.maximum(epos, 0)
            e_groups = np.where(has_else, self.elsewhere["groups"].to_numpy()[take], 0)
            e_hosts = np.where(has_else, self.elsewhere["hosts"].to_numpy()[take], 0)
            e_obs = np.where(has_else, self.elsewhere["observations"].to_numpy()[take], 0)
            e_first = np.where(
                has_else, self.elsewhere["first_time"].to_numpy()[take], np.iinfo(np.int64).min
            )
        else:
            e_groups = e_hosts = e_obs = np.zeros(n, np.int64)
            e_first = np.full(n, np.iinfo(np.int64).min, np.int64)
        monitoring = (
            self.monitoring.get_indexer(_multi([group, feature_col])) >= 0
            if n and len(self.monitoring)
            else np.zeros(n, bool)
        )
        active = monitoring | self.alert_while_learning
        in_model = self.groups.index.get_indexer(pd.Index(group)) >= 0 if n else np.zeros(0, bool)
        others = np.maximum(self.n_groups - in_model.astype(np.int64), 1)
        share = np.minimum(e_groups / others, 1.0)
        score = np.where(
            known,
            _KNOWN_MAX / (1.0 + obs_group),
            np.where(
                has_else,
                _ELSEWHERE_BASE
                + _ELSEWHERE_SPREAD * (1.0 - share)
                + _ELSEWHERE_RARITY / (1.0 + e_obs),
                _NEW_EVERYWHERE,
            ),
        )
        score = np.where(active, score, 0.0)
        # For keys new to the group, every group that has them is another group.
        return KeyScores(
            score=score.astype(np.float64),
            known=known,
            active=active,
            monitoring=monitoring,
            other_groups=np.where(known, 0, e_groups).astype(np.int64),
            other_hosts=np.where(known, 0, e_hosts).astype(np.int64),
            first_elsewhere=np.where(known, np.iinfo(np.int64).min, e_first).astype(np.int64),
        )

    def evaluate(
        self, table: pa.Table, config: StatsConfig, *, detail: bool
    ) -> tuple[np.ndarray, pd.DataFrame | None]:
        """Per-event anomaly scores and, with ``detail``, a row per deviating (event, feature)."""
        codes = EventCodes.build(table, config._groups)
        row_score = np.zeros(table.num_rows, dtype=np.float64)
        parts: list[pd.DataFrame] = []
        for keyed in observe(table, config._extractors, config._normaliser, codes):
            if not len(keyed.rows):
                continue
            found = self._score_keyed(keyed, codes)
            ids, ks, group_u, key_u = found
            s = ks.score[ids]
            np.maximum(row_score[keyed.rows], s, out=s)
            row_score[keyed.rows] = s
            if detail:
                deviating = ~ks.known & ks.active
                mask = deviating[ids]
                if mask.any():
                    u = ids[mask]
                    parts.append(
                        pd.DataFrame(
                            {
                                "row": keyed.rows[mask],
                                alerts.FEATURE: keyed.extractor.name,
                                HOST_GROUP: group_u[u],
                                KEY: key_u[u],
                                alerts.SCORE: ks.score[u],
                                alerts.DEVIATION: np.where(
                                    ks.other_groups[u] > 0,
                                    alerts.NEW_TO_GROUP,
                                    alerts.NEW_EVERYWHERE,
                                ),
                                alerts.OTHER_GROUPS: ks.other_groups[u],
                                alerts.OTHER_HOSTS: ks.other_hosts[u],
                                alerts.FIRST_SEEN_ELSEWHERE: ks.first_elsewhere[u],
                                alerts.GROUP_STATE: np.where(
                                    ks.monitoring[u], MONITORING, LEARNING
                                ),
                            }
                        )
                    )
        if not detail:
            return row_score, None
        deviations = pd.concat(parts, ignore_index=True) if parts else None
        return row_score, deviations

    def _score_keyed(
        self, keyed: KeyedEvents, codes: EventCodes
    ) -> tuple[np.ndarray, KeyScores, np.ndarray, np.ndarray]:
        group = codes.group[keyed.rows]
        ids, (ug, uk) = combine_codes(
            [group, keyed.key], [len(codes.group_values), len(keyed.key_values)]
        )
        group_u = codes.group_values.take(pa.array(ug)).to_numpy(zero_copy_only=False)
        key_u = keyed.key_values.take(pa.array(uk)).to_numpy(zero_copy_only=False)
        ks = self.score_keys(keyed.extractor.name, group_u.astype(object), key_u.astype(object))
        return ids, ks, group_u, key_u


def _multi(arrays: list[Any]) -> pd.MultiIndex:
    arrays = [np.asarray(a, dtype=object) for a in arrays]
    return pd.MultiIndex.from_arrays(arrays)


def _convergence(
    keys: pd.DataFrame,
    groups: pd.DataFrame,
    feature_names: list[str],
    novelty_threshold: float,
    min_span: pd.Timedelta,
) -> pd.DataFrame:
    grid = pd.MultiIndex.from_product(
        [groups.index.astype(object), feature_names], names=[HOST_GROUP, FEATURE]
    )
    if len(keys):
        per = (
            keys.assign(single=keys["observations"] == 1)
            .groupby([HOST_GROUP, FEATURE])
            .agg(
                observations=("observations", "sum"),
                distinct_keys=(KEY, "size"),
                singletons=("single", "sum"),
                key_hosts=("hosts", "max"),
            )
        )
        per.index = per.index.set_levels([lvl.astype(object) for lvl in per.index.levels])
        per = per.reindex(grid, fill_value=0)
    else:
        per = pd.DataFrame(
            0, index=grid, columns=["observations", "distinct_keys", "singletons", "key_hosts"]
        )
    report = per.reset_index()
    report = report.drop(columns=["key_hosts"])
    report["observations"] = report["observations"].astype(np.int64)
    report["distinct_keys"] = report["distinct_keys"].astype(np.int64)
    report["singletons"] = report["singletons"].astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        report["novelty_rate"] = np.where(
            report["observations"] > 0,
            report["singletons"] / np.maximum(report["observations"], 1),
            np.nan,
        )
    g = groups.reindex(report[HOST_GROUP])
    report["hosts"] = g["hosts"].to_numpy().astype(np.int64)
    report["first_time"] = pd.to_datetime(g["first_time"].to_numpy(), unit="us", utc=True)
    report["last_time"] = pd.to_datetime(g["last_time"].to_numpy(), unit="us", utc=True)
    report["span"] = pd.to_timedelta(g["span"].to_numpy(), unit="us")
    span_ok = report["span"] >= min_span
    novelty_ok = report["observations"].eq(0) | (report["novelty_rate"] <= novelty_threshold)
    report["state"] = np.where(span_ok & novelty_ok, MONITORING, LEARNING)
    detail = []
    for ok_span, ok_novelty, rate, span in zip(
        span_ok, novelty_ok, report["novelty_rate"], report["span"], strict=True
    ):
        reasons = []
        if not ok_novelty:
            reasons.append(f"novelty rate {rate:.3g} > {novelty_threshold:g}")
        if not ok_span:
            reasons.append(f"watched for {span} < {min_span}")
        detail.append("; ".join(reasons))
    report["detail"] = detail
    return report
