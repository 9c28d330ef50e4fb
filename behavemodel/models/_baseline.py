"""BaselineDetector: learn what each server group does, then flag what is new."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from numbers import Real
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from sklearn.utils import Tags
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from behavemodel import schema
from behavemodel.exceptions import SchemaError
from behavemodel.features._extractors import Extractor
from behavemodel.features._groups import GroupMap
from behavemodel.features._normalise import PathNormaliser
from behavemodel.features._observe import (
    KEY_SEPARATOR,
    as_event_table,
    display_keys,
    parse_duration,
    split_keys,
    time_us,
)
from behavemodel.models import alerts
from behavemodel.models._errors import IncompatibleModelsError, NoEventsError, NotFittedError
from behavemodel.models._index import LEARNING, THRESHOLD, Baseline
from behavemodel.models._stats import (
    FEATURE,
    HOST_GROUP,
    HOST_NAME,
    KEY,
    StatsConfig,
    check_stats,
    merge_stats,
    partial_stats,
    stats_for_observations,
)

__all__ = ["BaselineDetector", "merge_models", "score_batch"]

#: Version of the state layout returned by ``_get_state``.
STATE_VERSION = 1
_MODEL_TYPE = "BaselineDetector"
_TS = pa.timestamp("us", tz="UTC")


class BaselineDetector(OutlierMixin, BaseEstimator):
    """Learn the normal keys of each server group, then flag keys never seen there.

    For every group of hosts and every feature (which executables use the
    network, which user runs each executable, which parent starts it, which
    ports, who writes where), the detector learns the set of keys seen while
    learning. Once a group's feature has converged, an event whose key is not
    in that group's set is a deviation. Scores are graded: a key no group has
    ever shown is riskier than one new to this group but common elsewhere, and
    among known keys rare ones score higher than frequent ones.

    A (group, feature) has converged when the Good-Turing estimate of the chance
    that the next observation is new (keys seen once / observations) is at most
    ``novelty_threshold`` and the group has been watched for ``min_span``.
    Observations are de-duplicated per (host, key, ``bucket``) so one chatty
    process cannot make learning look finished. A feature with no observations
    at all over ``min_span`` is monitored: anything it sees later is new.

    Parameters
    ----------
    features : list of Extractor or str, optional
        The features to learn; names refer to the built-ins (``"NetworkProcesses"``,
        ``"ProcessOwners"``, ``"ParentNames"``, ``"NetworkPorts"``, ``"FileWriters"``).
        Defaults to all five.
    groups : GroupMap or dict, optional
        How hosts map to groups; a dict maps host name -> group. Defaults to the
        events' ``host_group`` column, else one group per host.
    normaliser : PathNormaliser, optional
        Path normalisation for path keys. Defaults to :data:`DEFAULT_RULES
        <behavemodel.features.DEFAULT_RULES>`.
    bucket : str or timedelta, default "1h"
        Width of the de-duplication buckets.
    novelty_threshold : float in [0, 1], default 0.01
        Highest estimated novelty rate at which a (group, feature) is converged.
    min_span : str or timedelta, default "1D"
        Shortest time a group must have been watched before it is monitored.
    max_age : str or timedelta, optional
        Keys not seen for this long before the latest event the model has seen
        are ignored when scoring (and removed by :meth:`age_out`).
    alert_while_learning : bool, default False
        Also report deviations in (group, feature) pairs still learning.

    Attributes
    ----------
    config_ : StatsConfig
        The resolved extractors, normaliser, group map and bucket.
    stats_ : pyarrow.Table
        The learned statistics (:data:`STATS_SCHEMA <behavemodel.models.STATS_SCHEMA>`).
    baseline_ : pandas.DataFrame
        One row per (group, feature, key) in use: observations, events, hosts,
        first and last time.
    offset_ : float
        ``decision_function = score_samples - offset_``; fixed at -0.5.
    n_features_in_ : int
        Number of event columns the detector reads.
    feature_names_in_ : ndarray of str
        Those columns.

    See Also
    --------
    behavemodel.features.extract : The observations the detector counts.
    merge_models : Combine detectors fitted on separate chunks.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector
    >>> def events(rows):
    ...     df = pd.DataFrame(rows, columns=["time", "host_name", "host_group",
    ...                                      "process_exe", "parent_exe", "user_name"])
    ...     df["time"] = pd.to_datetime(df["time"], utc=True)
    ...     df["event_type"] = "process_start"
    ...     df["event_id"] = [f"e{i}" for i in range(len(df))]
    ...     df["source_format"] = "canonical"
    ...     return schema.conform(df, fill_missing=True)
    >>> train = events([
    ...     ["2024-01-01 00:00", "web-01", "web", "/usr/sbin/nginx", "/sbin/init", "www-data"],
    ...     ["2024-01-01 02:00", "web-02", "web", "/usr/sbin/nginx", "/sbin/init", "www-data"],
    ...     ["2024-01-01 01:00", "db-01", "db", "/usr/bin/psql", "/bin/bash", "postgres"],
    ...     ["2024-01-01 03:00", "db-01", "db", "/usr/bin/psql", "/bin/bash", "postgres"],
    ... ])
    >>> model = BaselineDetector(features=["ParentNames"], min_span="1h").fit(train)
    >>> model.convergence_report()[["host_group", "observations", "state"]]
      host_group  observations       state
    0         db             2  monitoring
    1        web             2  monitoring
    >>> today = events([
    ...     ["2024-01-02 00:00", "web-01", "web", "/usr/sbin/nginx", "/sbin/init", "www-data"],
    ...     ["2024-01-02 00:05", "web-01", "web", "/bin/bash", "/usr/sbin/nginx", "www-data"],
    ...     ["2024-01-02 00:06", "web-01", "web", "/usr/bin/psql", "/bin/bash", "www-data"],
    ... ])
    >>> model.predict(today)
    array([ 1, -1, -1])
    >>> model.anomaly_score(today).round(3)
    array([0.167, 1.   , 0.633])
    >>> for reason in model.explain(today)["reason"]:
    ...     print(reason)
    /usr/sbin/nginx started /bin/bash for the first time in group 'web'; it has never been \
seen in any group.
    /bin/bash started /usr/bin/psql for the first time in group 'web'; it is known in 1 other \
group (1 host) since 2024-01-01 01:00 UTC.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "features": [None, list, tuple],
        "groups": [None, dict, GroupMap],
        "normaliser": [None, PathNormaliser],
        "bucket": [str, datetime.timedelta],
        "novelty_threshold": [Interval(Real, 0, 1, closed="both")],
        "min_span": [str, datetime.timedelta],
        "max_age": [None, str, datetime.timedelta],
        "alert_while_learning": ["boolean"],
    }

    def __init__(
        self,
        *,
        features: Sequence[Extractor | str] | None = None,
        groups: GroupMap | Mapping[str, str] | None = None,
        normaliser: PathNormaliser | None = None,
        bucket: str | datetime.timedelta = "1h",
        novelty_threshold: float = 0.01,
        min_span: str | datetime.timedelta = "1D",
        max_age: str | datetime.timedelta | None = None,
        alert_while_learning: bool = False,
    ) -> None:
        self.features = features
        self.groups = groups
        self.normaliser = normaliser
        self.bucket = bucket
        self.novelty_threshold = novelty_threshold
        self.min_span = min_span
        self.max_age = max_age
        self.alert_while_learning = alert_while_learning

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        # Event tables are 2-D tables of strings, categoricals and nulls.
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.input_tags.allow_nan = True
        tags.requires_fit = True
        return tags

    # -- learning --------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: None = None) -> BaselineDetector:
        """Learn the baseline from events, forgetting anything learned before.

        Parameters
        ----------
        X : pandas.DataFrame, pyarrow.Table or pyarrow.RecordBatch
            Canonical events (:mod:`behavemodel.schema`).
        y : None
            Ignored.

        Returns
        -------
        self : BaselineDetector
        """
        config = self._make_config()
        table = self._events(X, config, reset=True, who="fit")
        if table.num_rows == 0:
            raise NoEventsError(
                "BaselineDetector.fit received 0 events; a baseline needs events to learn "
                "from. Check the file or the filter that produced them."
            )
        self._set_state(config, partial_stats(table, config))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: Any, y: None = None) -> BaselineDetector:
        """Keep learning from more events (fits when called first).

        Equivalent to fitting on all events seen so far, in any order.
        """
        if not hasattr(self, "stats_"):
            config = self._make_config()
            table = self._events(X, config, reset=True, who="partial_fit")
            self._set_state(config, partial_stats(table, config))
            return self
        config = self._check_config_unchanged("partial_fit")
        table = self._events(X, config, reset=False, who="partial_fit")
        self._set_state(config, merge_stats([self.stats_, partial_stats(table, config)]))
        return self

    @classmethod
    def from_stats(cls, stats: pa.Table, **params: Any) -> BaselineDetector:
        """A fitted detector from statistics counted elsewhere.

        For engines that run :func:`partial_stats` and :func:`merge_stats`
        themselves (Dask, Spark's ``mapInArrow``, Ray's ``map_batches``). The
        statistics must have been counted with the :class:`StatsConfig` these
        parameters give (same features, normaliser, groups and bucket).

        Parameters
        ----------
        stats : pyarrow.Table
            In :data:`STATS_SCHEMA <behavemodel.models.STATS_SCHEMA>`.
        **params
            :class:`BaselineDetector` parameters.

        Returns
        -------
        BaselineDetector
            Fitted; equal to ``BaselineDetector(**params).fit(events)`` when
            ``stats`` counts ``events``.

        Examples
        --------
        >>> import pandas as pd
        >>> from behavemodel import schema
        >>> from behavemodel.models import (BaselineDetector, StatsConfig, merge_stats,
        ...                                 partial_stats)
        >>> events = schema.conform(pd.DataFrame({
        ...     "time": pd.to_datetime(["2024-01-01T00:00Z", "2024-01-01T05:00Z"]),
        ...     "host_name": ["web-01", "web-01"], "event_type": ["process_start"] * 2,
        ...     "process_exe": ["/bin/ls", "/bin/ps"], "user_name": ["root", "root"],
        ...     "event_id": ["a", "b"], "source_format": ["canonical"] * 2,
        ... }), fill_missing=True)
        >>> config = StatsConfig(["ProcessOwners"])
        >>> stats = merge_stats([partial_stats(events.slice(0, 1), config),
        ...                      partial_stats(events.slice(1), config)])
        >>> model = BaselineDetector.from_stats(stats, features=["ProcessOwners"])
        >>> model.stats_.equals(BaselineDetector(features=["ProcessOwners"]).fit(events).stats_)
        True
        """
        model = cls(**params)
        model._validate_params()
        config = model._make_config()
        stats = merge_stats([check_stats(stats, "statistics table of from_stats")])
        if stats.num_rows == 0:
            raise NoEventsError(
                "BaselineDetector.from_stats received statistics of 0 events; a baseline needs "
                "events to learn from."
            )
        required = config.columns()[0]
        model._set_state(config, stats)
        model.n_features_in_ = len(required)
        model.feature_names_in_ = np.asarray(required, dtype=object)
        return model

    # -- scoring ---------------------------------------------------------------------
    def anomaly_score(self, X: Any) -> np.ndarray:
        """Risk of each event, in [0, 1]; higher is riskier.

        - ``0``: no monitored feature looks at the event, or its group is still
          learning (unless ``alert_while_learning``);
        - up to ``0.25``: every key is known in the group, rarer keys higher
          (``0.5 / (1 + observations)``);
        - ``0.6`` to ``0.85``: a key new to the group but known in other groups,
          higher when fewer other groups have it and when it is rare there;
        - ``1``: a key never seen in any group.

        An event takes the highest score of its features. Scores of 0.5 and
        above are deviations.

        Returns
        -------
        numpy.ndarray of float64, shape (n_events,)
        """
        self._check_fitted("anomaly_score")
        table = self._events(X, self.config_, reset=False, who="anomaly_score")
        scores, _ = self._baseline.evaluate(table, self.config_, detail=False)
        return scores

    def score_samples(self, X: Any) -> np.ndarray:
        """Opposite of :meth:`anomaly_score`: higher is more normal (scikit-learn convention)."""
        self._check_fitted("score_samples")
        return -self.anomaly_score(X)

    def decision_function(self, X: Any) -> np.ndarray:
        """``score_samples(X) - offset_``: negative for deviations."""
        self._check_fitted("decision_function")
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """``-1`` for events that deviate from their group's baseline, ``+1`` otherwise."""
        self._check_fitted("predict")
        return np.where(self.decision_function(X) < 0, -1, 1)

    def explain(self, X: Any, *, one_row_per: Literal["key", "event"] = "key") -> pd.DataFrame:
        """Describe every deviation in ``X``: one row per new key on a host.

        Parameters
        ----------
        X : pandas.DataFrame or pyarrow.Table
            Canonical events; identifier columns (event_id, exe, parent, user,
            command line, addresses) are copied when present.
        one_row_per : {"key", "event"}, default "key"
            ``"key"``: one row per (host, group, feature, key), describing its
            first event, with ``events`` and ``last_time`` covering the rest.
            ``"event"``: one row per deviating (event, feature).

        Returns
        -------
        pandas.DataFrame
            Columns :data:`alerts.ALERT_COLUMNS <behavemodel.models.alerts.ALERT_COLUMNS>`
            with Arrow-backed dtypes, sorted by time.
        """
        self._check_fitted("explain")
        if one_row_per not in ("key", "event"):
            raise ValueError(
                "The 'one_row_per' parameter of BaselineDetector.explain must be 'key' or "
                f"'event'. Got {one_row_per!r} instead."
            )
        table = self._explain_table(X, one_row_per=one_row_per, who="explain")
        # Issue 7: a short process ancestry per alert, walked on the events given here.
        from behavemodel.investigate._tree import alert_ancestry

        where = table.schema.get_field_index(alerts.ANCESTRY)
        ancestry = alert_ancestry(X, table.column(schema.EVENT_ID))
        table = table.set_column(where, alerts.ANCESTRY, ancestry)
        return _alerts_to_pandas(table)

    def _explain_table(self, X: Any, *, one_row_per: str, who: str) -> pa.Table:
        table = self._events(X, self.config_, reset=False, who=who, extra=alerts.EVENT_COLUMNS)
        return self._score_table(table, one_row_per=one_row_per)[1]

    def _score_table(
        self, table: pa.Table, *, one_row_per: str
    ) -> tuple[np.ndarray, pa.Table, np.ndarray]:
        """Score checked events: every event's score, the alert rows, each alert's event row.

        One pass of the baseline gives both the scores and the deviations, so
        batch scoring does not evaluate a batch twice.
        """
        scores, dev = self._baseline.evaluate(table, self.config_, detail=True)
        if dev is None or dev.empty:
            return scores, alerts.ALERT_SCHEMA.empty_table(), np.empty(0, dtype=np.int64)
        times = time_us(table)
        hosts = table.column(schema.HOST_NAME)
        rows = dev["row"].to_numpy()
        dev[alerts.TIME] = times[rows]
        dev[HOST_NAME] = hosts.take(pa.array(rows)).to_numpy(zero_copy_only=False)
        dev = dev.sort_values([alerts.TIME, "row"], kind="stable")  # then extractor order
        if one_row_per == "key":
            by = [HOST_NAME, HOST_GROUP, alerts.FEATURE, KEY]
            grouped = dev.groupby(by, sort=False)
            dev = dev.assign(
                **{
                    alerts.EVENTS: grouped["row"].transform("size"),
                    alerts.LAST_TIME: grouped[alerts.TIME].transform("max"),
                }
            ).drop_duplicates(by, keep="first")
        else:
            dev = dev.assign(**{alerts.EVENTS: 1, alerts.LAST_TIME: dev[alerts.TIME]})
        dev = dev.reset_index(drop=True)
        return scores, self._alert_table(dev, table), dev["row"].to_numpy(np.int64)

    def _alert_table(self, dev: pd.DataFrame, table: pa.Table) -> pa.Table:
        extractors = {e.name: e for e in self.config_._extractors}
        keys = pa.array(dev[KEY].tolist(), pa.string())
        readable = np.empty(len(dev), dtype=object)
        reasons = np.empty(len(dev), dtype=object)
        uniq = dev.drop_duplicates([HOST_GROUP, alerts.FEATURE, KEY])
        sentence: dict[tuple[str, str, str], str] = {}
        display: dict[tuple[str, str], str] = {}
        for feature, part in uniq.groupby(alerts.FEATURE, sort=False):
            extractor = extractors[str(feature)]
            shown = display_keys(extractor, pa.array(part[KEY].tolist(), pa.string()))
            for key, text in zip(part[KEY], shown.to_pylist(), strict=True):
                display[(str(feature), key)] = text
            for row in part.itertuples(index=False):
                values = str(getattr(row, KEY)).split(KEY_SEPARATOR)
                sentence[(row.host_group, str(feature), getattr(row, KEY))] = _reason(
                    extractor.describe(values), row
                )
        for i, (group, feature, key) in enumerate(
            zip(dev[HOST_GROUP], dev[alerts.FEATURE], dev[KEY], strict=True)
        ):
            readable[i] = display[(feature, key)]
            reasons[i] = sentence[(group, feature, key)]
        first_else = dev[alerts.FIRST_SEEN_ELSEWHERE].to_numpy(np.int64)
        columns: dict[str, pa.Array] = {
            alerts.TIME: pa.array(dev[alerts.TIME].to_numpy(np.int64)).cast(_TS),
            alerts.HOST_NAME: pa.array(dev[HOST_NAME].tolist(), pa.string()),
            alerts.HOST_GROUP: pa.array(dev[HOST_GROUP].tolist(), pa.string()),
            alerts.FEATURE: pa.array(dev[alerts.FEATURE].tolist(), pa.string()),
            alerts.KEY: pa.array(readable.tolist(), pa.string()),
            alerts.SCORE: pa.array(dev[alerts.SCORE].to_numpy(np.float64)),
            alerts.DEVIATION: pa.array(dev[alerts.DEVIATION].tolist(), pa.string()),
            alerts.REASON: pa.array(reasons.tolist(), pa.string()),
            alerts.OTHER_GROUPS: pa.array(dev[alerts.OTHER_GROUPS].to_numpy(np.int64)),
            alerts.OTHER_HOSTS: pa.array(dev[alerts.OTHER_HOSTS].to_numpy(np.int64)),
            alerts.FIRST_SEEN_ELSEWHERE: pa.array(
                first_else, pa.int64(), mask=first_else == np.iinfo(np.int64).min
            ).cast(_TS),
            alerts.GROUP_STATE: pa.array(dev[alerts.GROUP_STATE].tolist(), pa.string()),
            alerts.EVENTS: pa.array(dev[alerts.EVENTS].to_numpy(np.int64)),
            alerts.LAST_TIME: pa.array(dev[alerts.LAST_TIME].to_numpy(np.int64)).cast(_TS),
            alerts.KEY_VALUES: split_keys(keys),
            alerts.ANCESTRY: pa.nulls(len(dev), pa.string()),  # issue 7: set by explain()
        }
        rows = pa.array(dev["row"].to_numpy(np.int64))
        for name in alerts.EVENT_COLUMNS:
            field = alerts.ALERT_SCHEMA.field(name)
            if name in table.column_names:
                column = table.column(name).take(rows)
                if pa.types.is_dictionary(column.type):
                    column = column.cast(column.type.value_type)
                columns[name] = column.cast(field.type)
            else:
                columns[name] = pa.nulls(len(dev), field.type)
        return pa.table(columns, schema=alerts.ALERT_SCHEMA)

    # -- reports ---------------------------------------------------------------------
    def convergence_report(self) -> pd.DataFrame:
        """Learning progress per (group, feature).

        Returns
        -------
        pandas.DataFrame
            ``host_group``, ``feature``, ``observations`` (de-duplicated),
            ``distinct_keys``, ``singletons`` (keys seen once), ``novelty_rate``
            (singletons / observations, NaN when nothing was observed), ``hosts``,
            ``first_time``, ``last_time``, ``span``, ``state`` (``"learning"`` or
            ``"monitoring"``) and ``detail`` (why it is still learning).
        """
        self._check_fitted("convergence_report")
        return self._baseline.convergence.copy()

    # -- combining and care ----------------------------------------------------------
    def merge(self, other: BaselineDetector) -> BaselineDetector:
        """Return a new detector holding what ``self`` and ``other`` learned.

        Both must be fitted with the same parameters. The result equals one fit
        on all the events of both, and ``a.merge(b)`` equals ``b.merge(a)``.

        Raises
        ------
        IncompatibleModelsError
            When parameters or feature configuration differ.
        """
        return merge_models([self, other])

    def accept(self, alerts_: Any) -> BaselineDetector:
        """Add reviewed deviations (rows of :meth:`explain`) to the baseline.

        Uses the ``host_group``, ``feature``, ``key_values``, ``host_name``,
        ``time`` and (if present) ``events`` columns. Returns ``self``.
        """
        self._check_fitted("accept")
        if isinstance(alerts_, (pa.Table, pa.RecordBatch)):
            alerts_ = _alerts_to_pandas(pa.table(alerts_))
        if not isinstance(alerts_, pd.DataFrame):
            raise SchemaError(
                "BaselineDetector.accept expects alert rows from explain() as a DataFrame or "
                f"pyarrow Table. Got {type(alerts_).__name__} instead."
            )
        needed = [
            alerts.HOST_GROUP,
            alerts.FEATURE,
            alerts.KEY_VALUES,
            alerts.HOST_NAME,
            alerts.TIME,
        ]
        missing = [c for c in needed if c not in alerts_.columns]
        if missing:
            raise SchemaError(
                f"BaselineDetector.accept needs the alert column(s) {missing}; pass rows "
                "returned by explain().",
                missing,
            )
        if alerts_.empty:
            return self
        known = set(self.config_.feature_names)
        unknown = sorted(set(alerts_[alerts.FEATURE].astype(str)) - known)
        if unknown:
            raise SchemaError(
                f"BaselineDetector.accept got alerts for feature(s) {unknown} this model does "
                f"not have; its features are {sorted(known)}."
            )
        times = pd.to_datetime(alerts_[alerts.TIME], utc=True)
        rows = pd.DataFrame(
            {
                HOST_GROUP: alerts_[alerts.HOST_GROUP].astype(str).to_numpy(dtype=object),
                FEATURE: alerts_[alerts.FEATURE].astype(str).to_numpy(dtype=object),
                KEY: [KEY_SEPARATOR.join(map(str, v)) for v in alerts_[alerts.KEY_VALUES]],
                HOST_NAME: alerts_[alerts.HOST_NAME].astype(str).to_numpy(dtype=object),
                "time": (times - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(1, "us"),
                "events": (
                    alerts_[alerts.EVENTS].fillna(1).astype(np.int64)
                    if alerts.EVENTS in alerts_.columns
                    else 1
                ),
            }
        )
        added = stats_for_observations(rows, self.config_.bucket_us)
        self._set_state(self.config_, merge_stats([self.stats_, added]))
        return self

    def forget(
        self,
        *,
        host_group: str | None = None,
        feature: str | None = None,
        key: str | Sequence[str] | None = None,
        host: str | None = None,
    ) -> BaselineDetector:
        """Remove learned entries matching every given criterion; returns ``self``.

        ``key`` is the list of key components (``["/usr/bin/nc", "listen"]``) or a
        single component. Forgetting a host or a group without ``feature`` and
        ``key`` also forgets how long it was watched.
        """
        self._check_fitted("forget")
        if host_group is None and feature is None and key is None and host is None:
            raise ValueError(
                "BaselineDetector.forget needs at least one of host_group, feature, key or "
                "host; to forget everything, fit a new detector."
            )
        stats = self.stats_
        match = pa.array(np.ones(stats.num_rows, dtype=bool))
        if host_group is not None:
            match = pc.and_(match, pc.equal(stats.column(HOST_GROUP), host_group))
        if host is not None:
            match = pc.and_(match, pc.equal(stats.column(HOST_NAME), host))
        if feature is not None:
            match = pc.and_(match, pc.equal(stats.column(FEATURE), feature))
        if key is not None:
            joined = key if isinstance(key, str) else KEY_SEPARATOR.join(map(str, key))
            match = pc.and_(match, pc.equal(stats.column(KEY), joined))
        keep = pc.invert(pc.fill_null(match, False))
        self._set_state(self.config_, stats.filter(keep).combine_chunks())
        return self

    def age_out(
        self,
        older_than: str | datetime.timedelta | None = None,
        *,
        now: Any = None,
    ) -> BaselineDetector:
        """Remove keys not seen for ``older_than`` (default ``max_age``) before ``now``.

        ``now`` defaults to the latest event the model has seen. Returns ``self``.
        """
        self._check_fitted("age_out")
        window = older_than if older_than is not None else self.max_age
        if window is None:
            raise ValueError(
                "BaselineDetector.age_out needs older_than= or the max_age parameter; both "
                "are None. Pass older_than='30D' for example."
            )
        age = parse_duration(window, "older_than of age_out")
        if now is None:
            latest = self._baseline.latest
            if latest is None:
                return self
            reference = latest
        else:
            reference = int(
                (
                    pd.Timestamp(now, tz="UTC")
                    if pd.Timestamp(now).tzinfo is None
                    else pd.Timestamp(now)
                ).value
                // 1000
            )
        cutoff = reference - int(age // pd.Timedelta(1, "us"))
        stats = self.stats_
        frame = pd.DataFrame(
            {
                HOST_GROUP: stats.column(HOST_GROUP).to_numpy(zero_copy_only=False),
                FEATURE: stats.column(FEATURE).to_numpy(zero_copy_only=False),
                KEY: stats.column(KEY).to_numpy(zero_copy_only=False),
                "last": stats.column("last_time").cast(pa.int64()).to_numpy(),
            }
        )
        last = frame.groupby([HOST_GROUP, FEATURE, KEY], dropna=False)["last"].transform("max")
        keep = frame[FEATURE].isna() | (last >= cutoff)
        self._set_state(self.config_, stats.filter(pa.array(keep.to_numpy())).combine_chunks())
        return self

    # -- state -----------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, pa.Table]]:
        """The learned state as JSON-able metadata and Arrow tables (no pickle).

        Returns
        -------
        meta : dict
            ``model``, ``state_version``, ``params`` (simple parameters as
            strings/numbers), ``config`` (:meth:`StatsConfig.to_dict`),
            ``n_features_in`` and ``feature_names_in``.
        tables : dict of str to pyarrow.Table
            ``{"stats": ...}`` in :data:`STATS_SCHEMA` except that ``key`` is a
            ``list<string>`` of key components (null for coverage rows).
        """
        self._check_fitted("_get_state")
        stats = self.stats_
        keys = stats.column(KEY).combine_chunks()
        listed = pc.if_else(
            pc.is_null(keys),
            pa.nulls(len(keys), pa.list_(pa.string())),
            split_keys(pc.fill_null(keys, "")),
        )
        exported = stats.set_column(stats.column_names.index(KEY), KEY, listed)
        meta = {
            "model": _MODEL_TYPE,
            "state_version": STATE_VERSION,
            "params": _simple_params(self),
            "config": self.config_.to_dict(),
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": [str(n) for n in self.feature_names_in_],
        }
        return meta, {"stats": exported}

    @classmethod
    def _from_state(
        cls, meta: Mapping[str, Any], tables: Mapping[str, pa.Table]
    ) -> BaselineDetector:
        """Rebuild a fitted detector from :meth:`_get_state` output."""
        if meta.get("model") != _MODEL_TYPE or meta.get("state_version") != STATE_VERSION:
            raise IncompatibleModelsError(
                f"This state is for model {meta.get('model')!r} version "
                f"{meta.get('state_version')!r}; BaselineDetector reads version "
                f"{STATE_VERSION}. Save it again with a matching behavemodel."
            )
        config = StatsConfig.from_dict(meta["config"])
        params = dict(meta["params"])
        model = cls(
            features=list(config._extractors),
            groups=config._groups,
            normaliser=config._normaliser,
            **params,
        )
        stats = tables["stats"]
        if KEY in stats.column_names and pa.types.is_list(stats.schema.field(KEY).type):
            keys = stats.column(KEY).combine_chunks()
            joined = pc.binary_join(keys, KEY_SEPARATOR)
            stats = stats.set_column(stats.column_names.index(KEY), KEY, joined)
        stats = merge_stats([check_stats(stats, "saved statistics table")])
        model._validate_params()
        model._set_state(config, stats)
        model.n_features_in_ = int(meta["n_features_in"])
        model.feature_names_in_ = np.asarray(meta["feature_names_in"], dtype=object)
        return model

    # -- internals -------------------------------------------------------------------
    def _make_config(self) -> StatsConfig:
        return StatsConfig(
            extractors=self.features,
            normaliser=self.normaliser,
            groups=self.groups,
            bucket=self.bucket,
        )

    def _check_config_unchanged(self, method: str) -> StatsConfig:
        current = self._make_config()
        if current.to_dict() != self.config_.to_dict():
            raise IncompatibleModelsError(
                f"BaselineDetector.{method} cannot continue: features, groups, normaliser or "
                "bucket changed since fit, so old and new counts would not match. Call fit "
                "again, or restore the parameters."
            )
        return self.config_

    def _events(
        self,
        X: Any,
        config: StatsConfig,
        *,
        reset: bool,
        who: str,
        extra: Iterable[str] = (),
    ) -> pa.Table:
        required, optional, needs = config.columns()
        table = as_event_table(
            X,
            required,
            optional=[*optional, *extra],
            who=f"BaselineDetector.{who}",
            needs=needs,
        )
        validate_data(self, table.select(required), reset=reset, skip_check_array=True)
        return table

    def _set_state(self, config: StatsConfig, stats: pa.Table) -> None:
        self.config_ = config
        self.stats_ = stats
        self.offset_ = -THRESHOLD
        self._built = self._build_baseline()

    def _scoring_params(self) -> tuple[Any, ...]:
        """The parameters that shape scoring (not learning): changeable after fit."""
        return (self.novelty_threshold, self.min_span, self.max_age, self.alert_while_learning)

    def _build_baseline(self) -> tuple[tuple[Any, ...], Baseline]:
        min_span = parse_duration(self.min_span, "min_span parameter of BaselineDetector")
        max_age = (
            None
            if self.max_age is None
            else parse_duration(
                self.max_age, "max_age parameter of BaselineDetector", allow_zero=False
            )
        )
        baseline = Baseline.build(
            self.stats_,
            self.config_.feature_names,
            novelty_threshold=float(self.novelty_threshold),
            min_span=min_span,
            max_age=max_age,
            alert_while_learning=bool(self.alert_while_learning),
        )
        return self._scoring_params(), baseline

    @property
    def _baseline(self) -> Baseline:
        """The scoring index, rebuilt when a scoring parameter was changed with set_params."""
        params, baseline = self._built
        if params != self._scoring_params():
            self._validate_params()
            self._built = self._build_baseline()
            baseline = self._built[1]
        return baseline

    @property
    def baseline_(self) -> pd.DataFrame:
        """One row per (group, feature, key) in use: observations, events, hosts, times."""
        self._check_fitted("baseline_")
        return _baseline_frame(self._baseline.keys, self.config_)

    def _check_fitted(self, method: str) -> None:
        try:
            check_is_fitted(self, "stats_")
        except _SklearnNotFittedError:
            raise NotFittedError(
                f"This BaselineDetector is not fitted yet, so {method} has no baseline to "
                "compare with. Call fit(events) or partial_fit(events) first."
            ) from None


def _reason(what: str, row: Any) -> str:
    where = f"for the first time in group {row.host_group!r}"
    if row.group_state == LEARNING:
        where += " (still learning)"
    if row.deviation == alerts.NEW_EVERYWHERE:
        return f"{what} {where}; it has never been seen in any group."
    groups = int(row.other_groups)
    hosts = int(row.other_hosts)
    since = pd.Timestamp(int(row.first_seen_elsewhere), unit="us", tz="UTC")
    return (
        f"{what} {where}; it is known in {groups} other group{'s' if groups != 1 else ''} "
        f"({hosts} host{'s' if hosts != 1 else ''}) since {since:%Y-%m-%d %H:%M} UTC."
    )


def _baseline_frame(keys: pd.DataFrame, config: StatsConfig) -> pd.DataFrame:
    columns = [
        HOST_GROUP,
        FEATURE,
        "key",
        "key_values",
        "observations",
        "events",
        "hosts",
        "first_time",
        "last_time",
    ]
    if keys.empty:
        return pd.DataFrame({c: [] for c in columns})
    extractors = {e.name: e for e in config._extractors}
    readable = np.empty(len(keys), dtype=object)
    for feature, index in keys.groupby(FEATURE, sort=False).indices.items():
        joined = pa.array(keys[KEY].to_numpy()[index].tolist(), pa.string())
        readable[index] = display_keys(extractors[str(feature)], joined).to_pylist()
    joined_all = pa.array(keys[KEY].tolist(), pa.string())
    return pd.DataFrame(
        {
            HOST_GROUP: keys[HOST_GROUP].to_numpy(dtype=object),
            FEATURE: keys[FEATURE].to_numpy(dtype=object),
            "key": readable,
            "key_values": split_keys(joined_all).to_pylist(),
            "observations": keys["observations"].to_numpy(np.int64),
            "events": keys["events"].to_numpy(np.int64),
            "hosts": keys["hosts"].to_numpy(np.int64),
            "first_time": pd.to_datetime(keys["first_time"].to_numpy(), unit="us", utc=True),
            "last_time": pd.to_datetime(keys["last_time"].to_numpy(), unit="us", utc=True),
        }
    )


def _simple_params(model: BaselineDetector) -> dict[str, Any]:
    def as_text(value: Any) -> Any:
        if isinstance(value, datetime.timedelta):
            return str(pd.Timedelta(value))
        return value

    return {
        "bucket": as_text(model.bucket),
        "novelty_threshold": float(model.novelty_threshold),
        "min_span": as_text(model.min_span),
        "max_age": as_text(model.max_age),
        "alert_while_learning": bool(model.alert_while_learning),
    }


def _alerts_to_pandas(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def merge_models(models: Sequence[BaselineDetector]) -> BaselineDetector:
    """Combine detectors fitted on separate chunks or machines into one.

    The result is the detector one fit on all their events would give, whatever
    the order of ``models``.

    Parameters
    ----------
    models : sequence of BaselineDetector
        Fitted, with equal parameters.

    Returns
    -------
    BaselineDetector
        A new fitted detector; the inputs are unchanged.

    Raises
    ------
    IncompatibleModelsError
        When the detectors' parameters or feature configurations differ.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector, merge_models
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": pd.to_datetime(["2024-01-01T00:00Z", "2024-01-01T05:00Z"]),
    ...     "host_name": ["web-01", "web-02"], "host_group": ["web", "web"],
    ...     "event_type": ["process_start"] * 2, "process_exe": ["/bin/ls", "/bin/ps"],
    ...     "user_name": ["root", "root"],
    ...     "event_id": ["a", "b"], "source_format": ["canonical"] * 2,
    ... }), fill_missing=True)
    >>> a = BaselineDetector(features=["ProcessOwners"]).fit(events.slice(0, 1))
    >>> b = BaselineDetector(features=["ProcessOwners"]).fit(events.slice(1))
    >>> merged = merge_models([a, b])
    >>> whole = BaselineDetector(features=["ProcessOwners"]).fit(events)
    >>> merged.stats_.equals(whole.stats_)
    True
    >>> merged.baseline_["key"].tolist()
    ['exe=/bin/ls, user=root', 'exe=/bin/ps, user=root']
    """
    models = list(models)
    if not models:
        raise ValueError("merge_models needs at least one fitted BaselineDetector. Got none.")
    for i, model in enumerate(models):
        if not isinstance(model, BaselineDetector):
            raise TypeError(
                f"merge_models combines BaselineDetector objects. Item {i} is a "
                f"{type(model).__name__}."
            )
        model._check_fitted("merge")
    first = models[0]
    reference = (_simple_params(first), first.config_.to_dict())
    for i, model in enumerate(models[1:], start=1):
        params, config = _simple_params(model), model.config_.to_dict()
        if (params, config) != reference:
            differing = sorted(
                {k for k in params if params[k] != reference[0][k]}
                | {k for k in config if config[k] != reference[1][k]}
            )
            raise IncompatibleModelsError(
                f"Cannot merge BaselineDetector models with different settings: model {i} "
                f"differs from model 0 in {differing}. Fit them with the same parameters."
            )
    merged = clone(first)
    merged._set_state(first.config_, merge_stats([m.stats_ for m in models]))
    merged.n_features_in_ = first.n_features_in_
    merged.feature_names_in_ = first.feature_names_in_
    return merged


def score_batch(batch: Any, model: BaselineDetector) -> pa.Table:
    """Score one batch of events: the map step of batch scoring.

    Parameters
    ----------
    batch : pyarrow.RecordBatch, pyarrow.Table or pandas.DataFrame
        Canonical events.
    model : BaselineDetector
        Fitted.

    Returns
    -------
    pyarrow.Table
        One row per deviating (event, feature), in :data:`alerts.ALERT_SCHEMA
        <behavemodel.models.alerts.ALERT_SCHEMA>`. Per-event scores come from
        :meth:`BaselineDetector.anomaly_score`.
    """
    model._check_fitted("score_batch")
    return model._explain_table(batch, one_row_per="event", who="score_batch")
