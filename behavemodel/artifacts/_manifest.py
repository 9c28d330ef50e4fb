"""The manifest of a model file: its explicit schema, and the record a load returns.

The schema is written out here as data (the specs of
:mod:`behavemodel.artifacts._spec`) so that every field a reader relies on is
checked for presence and type before anything uses it. ``model.params`` and
``model.config`` are checked next, against the schema the model type registers.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from behavemodel.artifacts._format import FORMAT_NAME
from behavemodel.artifacts._spec import (
    AnyObject,
    Int,
    ListOf,
    MapOf,
    Nullable,
    Obj,
    Str,
    Timestamp,
)

__all__ = ["MANIFEST_SCHEMA", "Manifest", "MemberInfo"]

HEX64 = Str(pattern=r"[0-9a-f]{64}", what="64 lowercase hexadecimal digits")
KEY_ID = Str(pattern=r"[0-9a-f]{16}", what="16 lowercase hexadecimal digits")
MEMBER_NAME = Str(
    pattern=r"[a-z][a-z0-9_]{0,63}\.parquet",
    what="a lowercase name ending in '.parquet'",
)

_MEMBER = Obj({"sha256": HEX64, "size": Int(0), "rows": Int(0)})
_SIGNATURE = Obj({"algorithm": Str(const="HMAC-SHA256"), "key_id": KEY_ID, "value": HEX64})
_GROUP_SUMMARY = Obj(
    {
        "host_group": Str(),
        "hosts": Int(0),
        "events": Int(0),
        "first_event": Timestamp(),
        "last_event": Timestamp(),
    }
)
_TRAINING = Obj(
    {
        "events": Int(0),
        "hosts": Int(0),
        "host_groups": Int(0),
        "keys": Int(0),
        "first_event": Nullable(Timestamp()),
        "last_event": Nullable(Timestamp()),
        "per_group": ListOf(_GROUP_SUMMARY),
    }
)
_MODEL = Obj(
    {
        "type": Str(nonempty=True),
        "state_version": Int(1),
        "params": AnyObject(),
        "config": AnyObject(),
        "n_features_in": Int(0),
        "feature_names_in": ListOf(Str()),
    }
)

#: Format 1.x: the whole manifest (``model.params`` and ``model.config`` are
#: checked next against the schema the model type registers).
MANIFEST_SCHEMA = Obj(
    {
        "format": Str(const=FORMAT_NAME),
        "format_version": Str(pattern=r"[0-9]{1,6}\.[0-9]{1,6}", what="'MAJOR.MINOR'"),
        "behavemodel_version": Str(nonempty=True),
        "created": Timestamp(),
        "model": _MODEL,
        "training": _TRAINING,
        "members": MapOf(_MEMBER, key=MEMBER_NAME),
        "signature": Nullable(_SIGNATURE),
    }
)


@dataclass(frozen=True)
class MemberInfo:
    """One Parquet member as the manifest records it.

    Examples
    --------
    >>> MemberInfo("stats.parquet", "ab" * 32, size=3355, rows=8).rows
    8
    """

    name: str
    sha256: str
    size: int
    rows: int


@dataclass(frozen=True)
class Manifest:
    """A validated manifest: what the model file says about itself.

    Build it with :meth:`from_dict` (which expects a manifest that already
    passed :data:`MANIFEST_SCHEMA`); :meth:`to_dict` gives the JSON form back.

    Attributes
    ----------
    format_version : str
        ``"MAJOR.MINOR"`` of the file.
    behavemodel_version : str
        The version that saved it.
    created : str
        When it was saved (ISO 8601, UTC).
    model_type, state_version : str, int
        Registry name of the model, and the version of its state layout.
    params, config, training : dict
        Model parameters, feature configuration (extractors, normaliser, group
        map, bucket) and training summary (window, event counts, per group).
    members : tuple of MemberInfo
        The Parquet members, by name.
    key_id : str or None
        Identifier of the signing key; None when the file is not signed.

    Examples
    --------
    :func:`~behavemodel.artifacts.save` returns one, and
    :func:`~behavemodel.artifacts.load_artifact` reads one:

    >>> import tempfile, pathlib, pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector
    >>> from behavemodel.artifacts import save
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": pd.to_datetime(["2024-01-01T00:00Z", "2024-01-01T02:00Z"]),
    ...     "host_name": ["web-01", "web-02"], "event_type": ["process_start"] * 2,
    ...     "process_exe": ["/usr/sbin/nginx"] * 2, "user_name": ["www-data"] * 2,
    ...     "event_id": ["a", "b"], "source_format": ["canonical"] * 2,
    ... }), fill_missing=True)
    >>> model = BaselineDetector(features=["ProcessOwners"]).fit(events)
    >>> manifest = save(model, pathlib.Path(tempfile.mkdtemp()) / "m.bmz")
    >>> manifest.signed, manifest.params["min_span"], manifest.training["hosts"]
    (False, '1D', 2)
    >>> manifest.to_dict()["format"]
    'behavemodel-model'
    """

    format_version: str
    behavemodel_version: str
    created: str
    model_type: str
    state_version: int
    params: dict[str, Any] = field(repr=False)
    config: dict[str, Any] = field(repr=False)
    training: dict[str, Any] = field(repr=False)
    members: tuple[MemberInfo, ...] = field(repr=False)
    key_id: str | None
    _data: dict[str, Any] = field(repr=False, compare=False)

    @property
    def signed(self) -> bool:
        """Whether the file carries a signature block."""
        return self.key_id is not None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        """Wrap a manifest dict that passed :data:`MANIFEST_SCHEMA`."""
        own: dict[str, Any] = copy.deepcopy(dict(data))
        model = own["model"]
        signature = own.get("signature")
        return cls(
            format_version=own["format_version"],
            behavemodel_version=own["behavemodel_version"],
            created=own["created"],
            model_type=model["type"],
            state_version=model["state_version"],
            params=copy.deepcopy(model["params"]),
            config=copy.deepcopy(model["config"]),
            training=copy.deepcopy(own["training"]),
            members=tuple(
                MemberInfo(name, m["sha256"], m["size"], m["rows"])
                for name, m in sorted(own["members"].items())
            ),
            key_id=None if signature is None else signature["key_id"],
            _data=own,
        )

    def to_dict(self) -> dict[str, Any]:
        """The manifest as stored in ``manifest.json`` (a deep copy)."""
        return copy.deepcopy(self._data)
