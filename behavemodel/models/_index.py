"""The baseline view derived from learned statistics, and per-key scoring.

Everything here is a pure function of the statistics table and the detector's
parameters, recomputed after every change to the statistics, so merged,
accepted or aged models score the same however they were built.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel.features._codes import combine_codes, encode
from behavemodel.features._observe import EventCodes, KeyedEvents, join_parts, observe
from behavemodel.models import _fused, alerts
from behavemodel.models._count import dense, digits, mixed_radix, ranks
from behavemodel.models._kernels import apply_scores
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

__all__ = ["Baseline", "FeatureLookup", "KeyScores"]

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
class FeatureLookup:
    """What the model knows about one feature, indexed by model codes.

    ``key_values`` are the feature's distinct keys in the model; arrays named
    ``else_*`` are indexed by their position. ``known`` holds, sorted, the code
    ``group * len(key_values) + key`` of every known (group, key) pair, and
    ``known_observations`` its observations. ``monitoring`` says, per model
    group, whether the (group, feature) has converged.
    """

    key_values: pa.Array
    known: np.ndarray
    known_observations: np.ndarray
    else_groups: np.ndarray
    else_hosts: np.ndarray
    else_observations: np.ndarray
    else_first: np.ndarray
    monitoring: np.ndarray


@dataclass
class Baseline:
    """Lookup tables derived from the statistics (private to the detector).

    ``keys``, ``groups`` and ``convergence`` are the readable frames behind
    ``baseline_`` and ``convergence_report()``; scoring uses ``group_values``
    (every group of the model), ``in_model`` (per group: was it watched) and
    one :class:`FeatureLookup` per feature, all plain arrays.
    """

    keys: pd.DataFrame
    groups: pd.DataFrame
    convergence: pd.DataFrame
    group_values: pa.Array
    in_model: np.ndarray
    features: dict[str, FeatureLookup]
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
        g, group_values = _sorted_codes(stats.column(HOST_GROUP))
        f, feature_values = _sorted_codes(stats.column(FEATURE))
        k, key_values = _sorted_codes(stats.column(KEY))
        h, host_values = _sorted_codes(stats.column(HOST_NAME))
        n_g, n_f, n_k, n_h = (
            len(v) for v in (group_values, feature_values, key_values, host_values)
        )
        events = stats.column(EVENTS).to_numpy()
        first = stats.column(FIRST_TIME).cast(pa.int64()).to_numpy()
        last = stats.column(LAST_TIME).cast(pa.int64()).to_numpy()
        obs = observations(stats)

        # coverage rows: how long and on how many hosts each group was watched
        cov = np.flatnonzero((f < 0) & (g >= 0))
        gc = g[cov]
        in_model = np.bincount(gc, minlength=n_g) > 0
        _, (pair_group, _) = combine_codes([gc, h[cov]], [n_g, n_h])
        g_hosts = np.bincount(pair_group, minlength=n_g)
        g_events = _sum(gc, events[cov], n_g)
        g_first = _min(gc, first[cov], n_g)
        g_last = _max(gc, last[cov], n_g)
        watched = np.flatnonzero(in_model)
        groups = pd.DataFrame(
            {
                "hosts": g_hosts[watched].astype(np.int64),
                "events": g_events[watched],
                "first_time": g_first[watched],
                "last_time": g_last[watched],
            },
            index=pd.Index(group_values.take(pa.array(watched)).to_pandas(), name=HOST_GROUP),
        )
        groups["span"] = groups["last_time"] - groups["first_time"]
        latest = int(last[cov].max()) if len(cov) else None

        # keyed rows: one row per (group, feature, key), in string order
        kr = np.flatnonzero((f >= 0) & (k >= 0) & (g >= 0))
        ids, (ug, uf, uk) = combine_codes([g[kr], f[kr], k[kr]], [n_g, n_f, n_k])
        n = len(ug)
        _, (owner, _) = combine_codes([ids, h[kr]], [n, n_h])
        k_obs = _sum(ids, obs[kr], n)
        k_events = _sum(ids, events[kr], n)
        k_hosts = np.bincount(owner, minlength=n).astype(np.int64)
        k_first = _min(ids, first[kr], n)
        k_last = _max(ids, last[kr], n)
        if max_age is not None and latest is not None and n:
            cutoff = latest - int(max_age // pd.Timedelta(1, "us"))
            keep = np.flatnonzero(k_last >= cutoff)
            ug, uf, uk = ug[keep], uf[keep], uk[keep]
            k_obs, k_events, k_hosts = k_obs[keep], k_events[keep], k_hosts[keep]
            k_first, k_last = k_first[keep], k_last[keep]
        keys = pd.DataFrame(
            {
                HOST_GROUP: group_values.take(pa.array(ug)).to_pandas(),
                FEATURE: feature_values.take(pa.array(uf)).to_pandas(),
                KEY: key_values.take(pa.array(uk)).to_pandas(),
                "observations": k_obs,
                "events": k_events,
                "hosts": k_hosts,
                "first_time": k_first,
                "last_time": k_last,
            }
        )
        per = _per_group_feature(keys, ug, uf, group_values, feature_values)
        convergence = _convergence(per, groups, feature_names, novelty_threshold, min_span)

        # per feature: the model's keys, the (group, key) pairs known, facts elsewhere
        state = convergence[convergence["state"] == MONITORING]
        monitored_groups = _index_in(
            pa.array(state[HOST_GROUP].tolist(), pa.string()), group_values
        )
        monitored_features = state[FEATURE].to_numpy(dtype=object)
        names = feature_values.to_pylist()
        features = {}
        for name in feature_names:
            code = names.index(name) if name in names else -1
            rows = np.flatnonzero(uf == code)
            ek, local = np.unique(uk[rows], return_inverse=True)
            monitoring = np.zeros(n_g, dtype=bool)
            chosen = (monitored_features == name) & (monitored_groups >= 0)
            monitoring[monitored_groups[chosen]] = True
            n_keys = len(ek)
            features[name] = FeatureLookup(
                key_values=key_values.take(pa.array(ek, pa.int64())),
                known=ug[rows] * max(n_keys, 1) + local,
                known_observations=k_obs[rows],
                else_groups=np.bincount(local, minlength=n_keys).astype(np.int64),
                else_hosts=_sum(local, k_hosts[rows], n_keys),
                else_observations=_sum(local, k_obs[rows], n_keys),
                else_first=_min(local, k_first[rows], n_keys),
                monitoring=monitoring,
            )
        return cls(
            keys=keys,
            groups=groups,
            convergence=convergence,
            group_values=group_values,
            in_model=in_model,
            features=features,
            n_groups=len(groups),
            alert_while_learning=alert_while_learning,
            latest=latest,
        )

    # -- scoring ---------------------------------------------------------------------
    def _score(self, lookup: FeatureLookup, group: np.ndarray, key: np.ndarray) -> KeyScores:
        """Score pairs given as model group codes and model key codes (-1: unknown)."""
        n = len(group)
        n_keys = len(lookup.key_values)
        has_group = group >= 0
        has_key = key >= 0  # a key of the model is known in at least one group
        if len(lookup.known):
            code = np.where(has_group & has_key, group * max(n_keys, 1) + key, -1)
            pos = np.minimum(np.searchsorted(lookup.known, code), len(lookup.known) - 1)
            known = (code >= 0) & (lookup.known[pos] == code)
            obs_group = np.where(known, lookup.known_observations[pos], 0)
        else:
            known = np.zeros(n, dtype=bool)
            obs_group = np.zeros(n, dtype=np.int64)
        if n_keys:
            take = np.maximum(key, 0)
            e_groups = np.where(has_key, lookup.else_groups[take], 0)
            e_hosts = np.where(has_key, lookup.else_hosts[take], 0)
            e_obs = np.where(has_key, lookup.else_observations[take], 0)
            e_first = np.where(has_key, lookup.else_first[take], np.iinfo(np.int64).min)
        else:
            e_groups = e_hosts = e_obs = np.zeros(n, np.int64)
            e_first = np.full(n, np.iinfo(np.int64).min, np.int64)
        if len(self.in_model):
            gtake = np.maximum(group, 0)
            monitoring = has_group & lookup.monitoring[gtake]
            in_model = has_group & self.in_model[gtake]
        else:
            monitoring = in_model = np.zeros(n, dtype=bool)
        active = monitoring | self.alert_while_learning
        others = np.maximum(self.n_groups - in_model.astype(np.int64), 1)
        share = np.minimum(e_groups / others, 1.0)
        score = np.where(
            known,
            _KNOWN_MAX / (1.0 + obs_group),
            np.where(
                has_key,
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
        """Per-event anomaly scores and, with ``detail``, a row per deviating (event, feature).

        Scores come from the one-pass scorer (:mod:`behavemodel.models._fused`)
        where it applies; the rows of the deviating events, few as a rule, then
        go through the reference path for their alert rows.
        """
        fused = _fused.score_fused(self, table, config) if _fused.ENABLED else None
        if fused is None:
            return self._evaluate(table, config, detail=detail)
        row_score, rows = fused
        if not detail or not len(rows):
            return row_score, None
        _, deviations = self._evaluate(table.take(pa.array(rows)), config, detail=True)
        if deviations is not None:
            deviations["row"] = rows[deviations["row"].to_numpy()]
        return row_score, deviations

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state.pop(_fused._CACHE, None)  # lookup tables: rebuilt on first use
        return state

    def _evaluate(
        self, table: pa.Table, config: StatsConfig, *, detail: bool
    ) -> tuple[np.ndarray, pd.DataFrame | None]:
        """The reference path of :meth:`evaluate`: filters and key codes in numpy passes."""
        codes = EventCodes.build(table, config._groups)
        row_score = np.zeros(table.num_rows, dtype=np.float64)
        parts: list[pd.DataFrame] = []
        model_group = _index_in(codes.group_values, self.group_values)
        for keyed in observe(table, config._extractors, config._normaliser, codes):
            if not len(keyed.rows):
                continue
            pairs = _Pairs.of(keyed, codes)
            lookup = self.features[keyed.extractor.name]
            ks = self._score(
                lookup, model_group[pairs.group], _index_in(pairs.key, lookup.key_values)
            )
            deviating = ~ks.known & ks.active
            hits = apply_scores(
                keyed.rows, pairs.index, pairs.spread(ks.score), pairs.spread(deviating), row_score
            )
            if detail and len(hits):
                u = pairs.which(hits)
                groups = codes.group_values.take(pa.array(pairs.group[u]))
                parts.append(
                    pd.DataFrame(
                        {
                            "row": keyed.rows[hits],
                            alerts.FEATURE: keyed.extractor.name,
                            HOST_GROUP: groups.to_numpy(zero_copy_only=False),
                            KEY: pairs.key.take(pa.array(u)).to_numpy(zero_copy_only=False),
                            alerts.SCORE: ks.score[u],
                            alerts.DEVIATION: np.where(
                                ks.other_groups[u] > 0,
                                alerts.NEW_TO_GROUP,
                                alerts.NEW_EVERYWHERE,
                            ),
                            alerts.OTHER_GROUPS: ks.other_groups[u],
                            alerts.OTHER_HOSTS: ks.other_hosts[u],
                            alerts.FIRST_SEEN_ELSEWHERE: ks.first_elsewhere[u],
                            alerts.GROUP_STATE: np.where(ks.monitoring[u], MONITORING, LEARNING),
                        }
                    )
                )
        if not detail:
            return row_score, None
        deviations = pd.concat(parts, ignore_index=True) if parts else None
        return row_score, deviations


@dataclass
class _Pairs:
    """The distinct (group, key) pairs of one feature's events.

    ``group`` (batch group codes) and ``key`` (joined keys) describe each pair.
    ``index`` gives, per event, where its pair's facts are in tables made by
    :meth:`spread`: in a small code space it is the mixed-radix code of
    (group, key parts) itself, so no per-event renumbering is needed.
    """

    index: np.ndarray
    group: np.ndarray
    key: pa.Array
    present: np.ndarray | None  # dense: the codes of the pairs, ascending

    @classmethod
    def of(cls, keyed: KeyedEvents, codes: EventCodes) -> _Pairs:
        group = codes.group[keyed.rows]
        sizes = [len(codes.group_values), *(max(len(v), 1) for v in keyed.part_values)]
        if dense(sizes, len(group)):
            index = mixed_radix(group, keyed.parts, sizes)
            seen = np.zeros(int(np.prod(sizes)), dtype=bool)
            seen[index] = True
            present = np.flatnonzero(seen)
            unique = digits(present, sizes)
            return cls(index, unique[0], join_parts(keyed.part_values, unique[1:]), present)
        ids, unique = combine_codes([group, *keyed.parts], sizes)
        return cls(ids, unique[0], join_parts(keyed.part_values, unique[1:]), None)

    def spread(self, values: np.ndarray) -> np.ndarray:
        """Per-pair ``values`` as a table ``index`` points into."""
        if self.present is None:
            return values
        table = np.zeros(int(self.present[-1]) + 1, dtype=values.dtype)
        table[self.present] = values
        return table

    def which(self, positions: np.ndarray) -> np.ndarray:
        """The pair number of the events at ``positions`` (of ``rows``)."""
        at = self.index[positions]
        if self.present is None:
            return at
        return np.searchsorted(self.present, at)


def _sorted_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Codes into the distinct values sorted in Arrow's order (``-1`` for nulls)."""
    codes, values = encode(column)
    rank = ranks(values)
    order = np.empty(len(rank), dtype=np.int64)
    order[rank] = np.arange(len(rank), dtype=np.int64)
    return np.append(rank, -1)[codes], values.take(pa.array(order))


def _index_in(values: pa.Array, dictionary: pa.Array) -> np.ndarray:
    """Position of each value in ``dictionary`` (``-1`` when absent or null)."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    found = pc.index_in(values, value_set=dictionary)
    return np.asarray(pc.fill_null(found.cast(pa.int64()), -1).to_numpy(zero_copy_only=False))


def _sum(ids: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, ids, values)
    return out


def _min(ids: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, ids, values)
    return out


def _max(ids: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(out, ids, values)
    return out


def _per_group_feature(
    keys: pd.DataFrame,
    group: np.ndarray,
    feature: np.ndarray,
    group_values: pa.Array,
    feature_values: pa.Array,
) -> pd.DataFrame | None:
    """Observations, keys, singletons and most hosts per (group, feature) of ``keys``.

    ``group`` / ``feature`` are the codes of the rows of ``keys`` into the
    values; counted on integer codes (a groupby over the strings, in numpy).
    """
    if not len(keys):
        return None
    n_features = max(len(feature_values), 1)
    pair, inverse = np.unique(group * n_features + feature, return_inverse=True)
    observed = keys["observations"].to_numpy(np.int64)
    n = len(pair)
    sums = np.zeros(n, dtype=np.int64)
    np.add.at(sums, inverse, observed)
    singles = np.bincount(inverse, weights=observed == 1, minlength=n).astype(np.int64)
    hosts = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(hosts, inverse, keys["hosts"].to_numpy(np.int64))
    index = pd.MultiIndex.from_arrays(
        [
            np.array(group_values.take(pa.array(pair // n_features)).to_pylist(), dtype=object),
            np.array(feature_values.take(pa.array(pair % n_features)).to_pylist(), dtype=object),
        ],
        names=[HOST_GROUP, FEATURE],
    )
    return pd.DataFrame(
        {
            "observations": sums,
            "distinct_keys": np.bincount(inverse, minlength=n).astype(np.int64),
            "singletons": singles,
            "key_hosts": hosts,
        },
        index=index,
    )


def _convergence(
    per: pd.DataFrame | None,
    groups: pd.DataFrame,
    feature_names: list[str],
    novelty_threshold: float,
    min_span: pd.Timedelta,
) -> pd.DataFrame:
    grid = pd.MultiIndex.from_product(
        [groups.index.astype(object), feature_names], names=[HOST_GROUP, FEATURE]
    )
    if per is not None:
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
