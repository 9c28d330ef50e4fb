"""Save and load model files (``.bmz``): the current format is written here.

A model file is a zip holding ``manifest.json`` and one Parquet member per
state table of the model. The manifest says what the file is (format name and
version, the behavemodel that wrote it, model type, parameters, feature
configuration, training window, a SHA-256 per member) and may carry an
HMAC-SHA256 signature. ``docs/model-format.md`` documents every field and the
version policy.

Loading trusts nothing in the file: the container is checked before it is
read (:mod:`behavemodel.artifacts._archive`), then the format name and version
pick the reader of that protocol (:mod:`behavemodel.artifacts._v1` for format
1), which checks the manifest against an explicit schema
(:mod:`behavemodel.artifacts._manifest`), the signature before the members are
used, every member against its digest, and the model type against the registry
(:mod:`behavemodel.artifacts._registry`). Readers for older format versions,
when there are some, live in their own modules under
``behavemodel/artifacts/old/`` and are listed in ``_READERS``.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from behavemodel._version import __version__
from behavemodel.artifacts import _v1
from behavemodel.artifacts._archive import Archive, write_atomic
from behavemodel.artifacts._errors import (
    ArtifactError,
    FormatVersionError,
    IntegrityError,
    ManifestError,
)
from behavemodel.artifacts._format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST_NAME,
    SizeLimits,
    format_version_text,
    manifest_bytes,
    parse_json,
    parse_version,
)
from behavemodel.artifacts._manifest import MANIFEST_SCHEMA, Manifest
from behavemodel.artifacts._registry import ModelType, for_model
from behavemodel.artifacts._sign import SignatureStatus, key_bytes, sign
from behavemodel.artifacts._spec import validate
from behavemodel.artifacts._v1 import ReadResult
from behavemodel.models import BaselineDetector

__all__ = ["ModelArtifact", "SignatureStatus", "load", "load_artifact", "save"]

PathLike = str | os.PathLike[str]
_META_KEYS = {"model", "state_version", "params", "config", "n_features_in", "feature_names_in"}


@dataclass(frozen=True)
class ModelArtifact:
    """A loaded model file: the model, what the file says about itself, and trust.

    Attributes
    ----------
    model : BaselineDetector
        The fitted model.
    manifest : Manifest
        The validated manifest.
    signature : {"verified", "unverified", "unsigned"}
        ``"verified"``: signed, and the key given verified it. ``"unverified"``:
        signed, but no key was given. ``"unsigned"``: no signature.
    path : str
        The file it came from.

    Examples
    --------
    See :func:`load_artifact`.
    """

    model: BaselineDetector
    manifest: Manifest
    signature: SignatureStatus
    path: str


def _created() -> str:
    """Now, or ``SOURCE_DATE_EPOCH`` when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None and epoch.strip().isdigit():
        moment = datetime.datetime.fromtimestamp(int(epoch), datetime.UTC)
    else:
        moment = datetime.datetime.now(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def save(model: BaselineDetector, path: PathLike, *, key: bytes | str | None = None) -> Manifest:
    """Write a fitted model to a model file (``.bmz``), atomically.

    The file is a zip of ``manifest.json`` and Parquet tables of the learned
    state; it holds no pickle and no code. It appears under ``path`` only once
    complete: a crash or a full disk leaves any previous file intact.

    Parameters
    ----------
    model : BaselineDetector
        Fitted.
    path : str or path-like
        Destination; replaced if it exists. ``.bmz`` by convention.
    key : bytes or str, optional
        Sign the manifest with HMAC-SHA256 under this key (text is UTF-8
        encoded). Keep it secret; give the same key to :func:`load`.

    Returns
    -------
    Manifest
        What was written.

    Raises
    ------
    NotFittedError
        When the model is not fitted.
    TypeError
        When the model's type is not registered.
    OSError
        When the file cannot be written; the destination is unchanged.

    See Also
    --------
    load : Read it back.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector
    >>> from behavemodel.artifacts import load, save
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": pd.to_datetime(["2024-01-01T00:00Z", "2024-01-01T05:00Z"]),
    ...     "host_name": ["web-01", "web-02"], "host_group": ["web", "web"],
    ...     "event_type": ["process_start"] * 2, "process_exe": ["/bin/ls", "/bin/ps"],
    ...     "user_name": ["root", "root"],
    ...     "event_id": ["a", "b"], "source_format": ["canonical"] * 2,
    ... }), fill_missing=True)
    >>> model = BaselineDetector(features=["ProcessOwners"], min_span="1h").fit(events)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "web.bmz"
    >>> manifest = save(model, path, key=b"approval key")
    >>> manifest.format_version, manifest.model_type, manifest.signed
    ('1.0', 'BaselineDetector', True)
    >>> manifest.training["events"], manifest.training["first_event"]
    (2, '2024-01-01T00:00:00.000000Z')
    >>> loaded = load(path, key=b"approval key", require_signature=True)
    >>> (loaded.predict(events) == model.predict(events)).all()
    np.True_
    """
    secret = None if key is None else key_bytes(key)
    entry = for_model(model)
    meta, tables = model._get_state()
    _check_state(entry, meta, tables)
    members: dict[str, dict[str, Any]] = {}
    payload: list[tuple[str, bytes, int]] = []
    written: dict[str, pa.Table] = {}
    for table_name, schema in entry.tables.items():
        table = tables[table_name].select(schema.names).cast(schema)
        data = _parquet_bytes(table)
        name = f"{table_name}.parquet"
        members[name] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "rows": table.num_rows,
        }
        # Parquet is compressed already (zstd): store it as is.
        payload.append((name, data, zipfile.ZIP_STORED))
        written[table_name] = table
    manifest: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": format_version_text(),
        "behavemodel_version": __version__,
        "created": _created(),
        "model": {
            "type": entry.name,
            "state_version": entry.state_version,
            "params": meta["params"],
            "config": meta["config"],
            "n_features_in": meta["n_features_in"],
            "feature_names_in": meta["feature_names_in"],
        },
        "training": entry.summarise(written),
        "members": members,
        "signature": None,
    }
    # Check what we write with the schema we read with, so the two cannot drift.
    shown = os.fspath(path)
    validate(manifest, MANIFEST_SCHEMA, path=shown)
    _v1.validate_model(manifest, entry, path=shown, lenient=False)
    if secret is not None:
        manifest["signature"] = sign(manifest, secret)
    write_atomic(path, [(MANIFEST_NAME, manifest_bytes(manifest), zipfile.ZIP_DEFLATED), *payload])
    return Manifest.from_dict(manifest)


def _check_state(entry: ModelType, meta: Mapping[str, Any], tables: Mapping[str, Any]) -> None:
    """The model's state must be what its registry entry describes (a library bug if not)."""
    problems = []
    if set(meta) != _META_KEYS:
        problems.append(f"metadata keys {sorted(meta)} instead of {sorted(_META_KEYS)}")
    if meta.get("model") != entry.name or meta.get("state_version") != entry.state_version:
        problems.append(
            f"state {meta.get('model')!r} version {meta.get('state_version')!r} instead of "
            f"{entry.name!r} version {entry.state_version}"
        )
    if set(tables) != set(entry.tables):
        problems.append(f"tables {sorted(tables)} instead of {sorted(entry.tables)}")
    if problems:
        raise ArtifactError(
            f"cannot save this {entry.name}: its state has {'; '.join(problems)}. The "
            "registry in behavemodel/artifacts/_registry.py must be updated with the model "
            "(and a reader for the old state added); please report this."
        )


def load(
    path: PathLike,
    *,
    key: bytes | str | None = None,
    require_signature: bool = False,
    limits: SizeLimits | None = None,
) -> BaselineDetector:
    """Read a model file written by :func:`save`, refusing anything suspicious.

    Every refusal raises an :class:`ArtifactError` subclass whose one-line
    message names the file, what is wrong and what to do: a damaged or altered
    member (checksum), unsafe member names, members not listed or missing,
    sizes over ``limits``, malformed JSON or fields of the wrong type, an
    unknown model type, a newer major format version, or a signature that does
    not verify.

    Parameters
    ----------
    path : str or path-like
        The ``.bmz`` file.
    key : bytes or str, optional
        Verify the signature with this key. A signed file whose signature does
        not verify is refused; an unsigned file loads with an
        :class:`UnverifiedSignatureWarning` (unless ``require_signature``).
    require_signature : bool, default False
        Refuse files that are not signed and verified with ``key``.
    limits : SizeLimits, optional
        Size caps; the defaults allow 2 GiB per member, 4 GiB in all.

    Returns
    -------
    BaselineDetector
        Fitted, scoring exactly as the saved model did.

    Warns
    -----
    VersionMismatchWarning
        The file was saved by a different behavemodel version (it still loads).
    UnverifiedSignatureWarning
        The file is signed but no key was given, or a key was given but the file
        is not signed.
    ArtifactWarning
        The file is of a newer minor format version and has fields this version
        ignores.

    See Also
    --------
    load_artifact : Also returns the manifest and the signature status.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector
    >>> from behavemodel.artifacts import load, save
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": pd.to_datetime(["2024-01-01T00:00Z", "2024-01-01T05:00Z"]),
    ...     "host_name": ["db-01", "db-01"], "event_type": ["process_start"] * 2,
    ...     "process_exe": ["/usr/bin/psql"] * 2, "user_name": ["postgres"] * 2,
    ...     "event_id": ["a", "b"], "source_format": ["canonical"] * 2,
    ... }), fill_missing=True)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "db.bmz"
    >>> _ = save(BaselineDetector(features=["ProcessOwners"]).fit(events), path)
    >>> load(path).baseline_["key"].tolist()
    ['exe=/usr/bin/psql, user=postgres']
    >>> load(path, key=b"k", require_signature=True)
    Traceback (most recent call last):
    ...
    behavemodel.artifacts._errors.SignatureError: .../db.bmz: the model is not signed, but \
require_signature=True refuses unsigned files. Sign it with behavemodel.save(model, path, \
key=...) where it is approved.
    """
    return _load(path, key=key, require_signature=require_signature, limits=limits).model


def load_artifact(
    path: PathLike,
    *,
    key: bytes | str | None = None,
    require_signature: bool = False,
    limits: SizeLimits | None = None,
) -> ModelArtifact:
    """Like :func:`load`, and also return the manifest and signature status.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.models import BaselineDetector
    >>> from behavemodel.artifacts import load_artifact, save
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": pd.to_datetime(["2024-01-01T00:00Z"]), "host_name": ["db-01"],
    ...     "event_type": ["process_start"], "process_exe": ["/usr/bin/psql"],
    ...     "user_name": ["postgres"], "event_id": ["a"], "source_format": ["canonical"],
    ... }), fill_missing=True)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "db.bmz"
    >>> _ = save(BaselineDetector(features=["ProcessOwners"]).fit(events), path, key="k")
    >>> artifact = load_artifact(path, key="k")
    >>> artifact.signature, artifact.manifest.members[0].name, artifact.manifest.members[0].rows
    ('verified', 'stats.parquet', 2)
    """
    return _load(path, key=key, require_signature=require_signature, limits=limits)


def _load(
    path: PathLike,
    *,
    key: bytes | str | None,
    require_signature: bool,
    limits: SizeLimits | None,
) -> ModelArtifact:
    shown = os.fspath(path)
    secret = None if key is None else key_bytes(key)
    if limits is None:
        limits = SizeLimits()
    elif not isinstance(limits, SizeLimits):
        raise TypeError(f"limits must be a SizeLimits. Got {type(limits).__name__} instead.")
    with Archive.open(path, limits) as archive:
        if MANIFEST_NAME not in archive.entries:
            raise IntegrityError(
                f"not a behavemodel model file: the archive has no {MANIFEST_NAME}. Model "
                "files are written by behavemodel.save() or 'behavemodel fit'.",
                path=shown,
                member=MANIFEST_NAME,
            )
        raw, _ = archive.read(MANIFEST_NAME)
        data = parse_json(raw, path=shown)
        version = _check_format(data, shown)
        reader = _READERS.get(version[0])
        if reader is None:
            raise FormatVersionError(
                f"the file uses format {format_version_text(version)}, older than any this "
                f"behavemodel {__version__} reads ({sorted(_READERS)}). Load it with the "
                "behavemodel that saved it and save it again.",
                path=shown,
            )
        model, manifest, status, notes = reader(archive, data, version, secret, require_signature)
    for category, message in notes:
        warnings.warn(message, category, stacklevel=3)
    return ModelArtifact(model=model, manifest=manifest, signature=status, path=shown)


def _check_format(data: Any, path: str) -> tuple[int, int]:
    """The format name and version, checked before the rest of the manifest."""
    if not isinstance(data, dict):
        raise ManifestError(
            f"{MANIFEST_NAME} must hold a JSON object; it holds "
            f"{type(data).__name__}. The file is damaged or was not written by behavemodel.",
            path=path,
            member=MANIFEST_NAME,
        )
    if data.get("format") != FORMAT_NAME:
        raise ArtifactError(
            f"not a behavemodel model file: {MANIFEST_NAME} says format "
            f"{str(data.get('format'))[:60]!r}, expected {FORMAT_NAME!r}.",
            path=path,
        )
    version = parse_version(data.get("format_version"))
    if version is None:
        raise ManifestError(
            f"{MANIFEST_NAME} field 'format_version' must be 'MAJOR.MINOR' such as '1.0'; "
            f"got {str(data.get('format_version'))[:30]!r}. The file is damaged.",
            path=path,
            member=MANIFEST_NAME,
        )
    if version[0] > FORMAT_VERSION[0]:
        raise FormatVersionError(
            f"the file uses format {format_version_text(version)}, newer than the "
            f"{format_version_text()} this behavemodel {__version__} reads. Upgrade "
            "behavemodel to load it.",
            path=path,
        )
    return version


Reader = Callable[[Archive, dict[str, Any], tuple[int, int], bytes | None, bool], ReadResult]
#: Readers by major format version; older majors' readers live in ``old/``.
_READERS: dict[int, Reader] = {1: _v1.read}
