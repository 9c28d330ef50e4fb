"""What one baseline has that another lacks: the check behind CI gates.

A release that suddenly makes a new binary talk to the network shows up as a
key the candidate baseline has and the approved one does not.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

import pandas as pd

from behavemodel.artifacts._format import SizeLimits
from behavemodel.artifacts._persist import load
from behavemodel.models import BaselineDetector

__all__ = ["CHANGE_COLUMNS", "SUMMARY_COLUMNS", "BaselineDiff", "diff"]

#: Columns of :attr:`BaselineDiff.changes`.
CHANGE_COLUMNS = (
    "host_group",
    "feature",
    "key",
    "key_values",
    "change",
    "observations",
    "events",
    "hosts",
    "first_time",
    "last_time",
)
#: Columns of :attr:`BaselineDiff.summary`.
SUMMARY_COLUMNS = ("host_group", "feature", "approved_keys", "candidate_keys", "added", "removed")
_PAIR = ["host_group", "feature"]
_DURATIONS = ("min_span", "max_age")


@dataclass(frozen=True)
class BaselineDiff:
    """The difference between an approved baseline and a candidate.

    Attributes
    ----------
    changes : pandas.DataFrame
        One row per (group, feature, key) in one baseline but not the other,
        columns :data:`CHANGE_COLUMNS`: ``change`` is ``"added"`` (only in the
        candidate) or ``"removed"`` (only in the approved); the counts and
        times are those of the baseline that has the key. Added rows first.
    summary : pandas.DataFrame
        One row per (group, feature) of either baseline, columns
        :data:`SUMMARY_COLUMNS`: keys in each, added, removed.
    settings : tuple of str
        Parameters and feature definitions that differ, e.g.
        ``"min_span: 1 days 00:00:00 -> 2 days 00:00:00"``. Keys of features
        defined differently are not comparable.

    Examples
    --------
    See :func:`diff`.
    """

    changes: pd.DataFrame
    summary: pd.DataFrame
    settings: tuple[str, ...]

    @property
    def added(self) -> int:
        """Keys only the candidate has."""
        return int((self.changes["change"] == "added").sum())

    @property
    def removed(self) -> int:
        """Keys only the approved baseline has."""
        return int((self.changes["change"] == "removed").sum())

    @property
    def has_additions(self) -> bool:
        """Whether the candidate learned anything the approved baseline lacks."""
        return self.added > 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form: totals, settings, per-pair summary and changes."""
        changes = []
        for row in self.changes.to_dict("records"):
            for name in ("first_time", "last_time"):
                row[name] = _iso(row[name])
            row["key_values"] = [str(v) for v in row["key_values"]]
            for name in ("observations", "events", "hosts"):
                row[name] = int(row[name])
            changes.append(row)
        summary = [
            {k: (int(v) if k not in _PAIR else str(v)) for k, v in row.items()}
            for row in self.summary.to_dict("records")
        ]
        return {
            "added": self.added,
            "removed": self.removed,
            "settings": list(self.settings),
            "summary": summary,
            "changes": changes,
        }


def _iso(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    return str(pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def _as_model(
    value: Any,
    what: str,
    key: bytes | str | None,
    require_signature: bool,
    limits: SizeLimits | None,
) -> BaselineDetector:
    if isinstance(value, BaselineDetector):
        value._check_fitted("diff")
        return value
    if isinstance(value, (str, os.PathLike)):
        return load(value, key=key, require_signature=require_signature, limits=limits)
    raise TypeError(
        f"diff compares fitted BaselineDetector models or model file paths. The {what} is a "
        f"{type(value).__name__}."
    )


def _keys(model: BaselineDetector) -> pd.DataFrame:
    frame = model.baseline_.copy()
    frame["_joined"] = ["\x00".join(map(str, v)) for v in frame["key_values"]]
    return frame


def _only_in(left: pd.DataFrame, right: pd.DataFrame, change: str) -> pd.DataFrame:
    on = [*_PAIR, "_joined"]
    inner = pd.MultiIndex.from_frame(left[on]).isin(pd.MultiIndex.from_frame(right[on]))
    return left[~inner].assign(change=change)


def _counts(frame: pd.DataFrame, name: str) -> pd.Series:
    if frame.empty:
        return pd.Series([], index=pd.MultiIndex.from_arrays([[], []], names=_PAIR), name=name)
    return frame.groupby(_PAIR, sort=True).size().rename(name)


def _normalise(name: str, value: Any) -> Any:
    if name in _DURATIONS and isinstance(value, (str, datetime.timedelta)):
        try:
            return str(pd.Timedelta(value))
        except ValueError:
            return value
    return value


def _settings(approved: BaselineDetector, candidate: BaselineDetector) -> tuple[str, ...]:
    out = []
    for name in ("novelty_threshold", "min_span", "max_age", "alert_while_learning"):
        a = _normalise(name, getattr(approved, name))
        c = _normalise(name, getattr(candidate, name))
        if a != c:
            out.append(f"{name}: {a} -> {c}")
    ca, cc = approved.config_.to_dict(), candidate.config_.to_dict()
    if ca["bucket"] != cc["bucket"]:
        out.append(f"bucket: {ca['bucket']} -> {cc['bucket']}")
    if ca["normaliser"] != cc["normaliser"]:
        out.append("normaliser: the path normalisation rules differ")
    if ca["groups"] != cc["groups"]:
        out.append("groups: the group maps differ")
    ea = {e["name"]: e for e in ca["extractors"]}
    ec = {e["name"]: e for e in cc["extractors"]}
    for name in sorted(set(ea) | set(ec)):
        if name not in ea:
            out.append(f"feature {name}: only in the candidate")
        elif name not in ec:
            out.append(f"feature {name}: only in the approved baseline")
        elif ea[name] != ec[name]:
            out.append(f"feature {name}: defined differently")
    return tuple(out)


def diff(
    approved: BaselineDetector | str | os.PathLike[str],
    candidate: BaselineDetector | str | os.PathLike[str],
    *,
    key: bytes | str | None = None,
    require_signature: bool = False,
    limits: SizeLimits | None = None,
) -> BaselineDiff:
    """List what the candidate baseline has that the approved one lacks, and the reverse.

    Keys are compared per (group, feature) as the models use them (keys aged
    out by ``max_age`` do not count).

    Parameters
    ----------
    approved, candidate : BaselineDetector or path
        Fitted models, or model files to :func:`load`.
    key, require_signature, limits
        Passed to :func:`load` for the arguments that are paths.

    Returns
    -------
    BaselineDiff
        ``changes`` (tidy, one row per key), ``summary`` (per group and
        feature) and ``settings`` (parameters that differ).

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector
    >>> from behavemodel.artifacts import diff
    >>> def events(exes):
    ...     return schema.conform(pd.DataFrame({
    ...         "time": pd.to_datetime(["2024-01-01T00:00Z"] * len(exes)),
    ...         "host_name": "web-01", "host_group": "web", "event_type": "net_connect",
    ...         "process_exe": exes, "net_direction": "outbound",
    ...         "event_id": [f"e{i}" for i in range(len(exes))], "source_format": "canonical",
    ...     }), fill_missing=True)
    >>> features = ["NetworkProcesses"]
    >>> approved = BaselineDetector(features=features).fit(events(["/usr/sbin/nginx"]))
    >>> candidate = BaselineDetector(features=features).fit(
    ...     events(["/usr/sbin/nginx", "/usr/bin/nc"]))
    >>> result = diff(approved, candidate)
    >>> result.changes[["host_group", "feature", "key", "change"]]
      host_group           feature                                key change
    0        web  NetworkProcesses  exe=/usr/bin/nc, direction=outbound  added
    >>> result.has_additions, result.added, result.removed
    (True, 1, 0)
    >>> result.summary.to_dict("records")
    [{'host_group': 'web', 'feature': 'NetworkProcesses', 'approved_keys': 1, \
'candidate_keys': 2, 'added': 1, 'removed': 0}]
    """
    a = _as_model(approved, "approved model", key, require_signature, limits)
    c = _as_model(candidate, "candidate model", key, require_signature, limits)
    ka, kc = _keys(a), _keys(c)
    added = _only_in(kc, ka, "added")
    removed = _only_in(ka, kc, "removed")
    changes = pd.concat([added, removed], ignore_index=True)
    if changes.empty:
        changes = pd.DataFrame({name: pd.Series([], dtype=object) for name in CHANGE_COLUMNS})
    changes = changes.sort_values(
        ["change", *_PAIR, "key"], ascending=[True, True, True, True], kind="stable"
    )
    changes = changes[list(CHANGE_COLUMNS)].reset_index(drop=True)
    summary = pd.concat(
        [
            _counts(ka, "approved_keys"),
            _counts(kc, "candidate_keys"),
            _counts(added, "added"),
            _counts(removed, "removed"),
        ],
        axis=1,
    )
    summary = summary.fillna(0).astype("int64").rename_axis(_PAIR).reset_index()
    summary = summary.sort_values(_PAIR, kind="stable").reset_index(drop=True)
    return BaselineDiff(
        changes=changes, summary=summary[list(SUMMARY_COLUMNS)], settings=_settings(a, c)
    )
