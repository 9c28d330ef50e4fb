"""The reader (and manifest checks) of format 1.x, the current format.

Kept in a module of its own, as protocol readers are: when format 2 arrives,
this module moves to ``behavemodel/artifacts/old/_v1.py`` unchanged and stays
registered in ``_READERS`` of :mod:`behavemodel.artifacts._persist`, so every
later behavemodel still reads format 1 files.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from behavemodel._version import __version__
from behavemodel.artifacts._archive import Archive
from behavemodel.artifacts._errors import (
    ArtifactError,
    ArtifactWarning,
    IntegrityError,
    ManifestError,
    SignatureError,
    UnverifiedSignatureWarning,
    VersionMismatchWarning,
)
from behavemodel.artifacts._format import FORMAT_VERSION, MANIFEST_NAME, format_version_text
from behavemodel.artifacts._manifest import MANIFEST_SCHEMA, Manifest
from behavemodel.artifacts._registry import ModelType, lookup
from behavemodel.artifacts._sign import SignatureStatus, verify
from behavemodel.artifacts._spec import validate
from behavemodel.exceptions import BehaveModelError

__all__ = ["Notes", "ReadResult", "read", "validate_model"]

#: Warnings to emit after a successful load: (category, message).
Notes = list[tuple[type[Warning], str]]
ReadResult = tuple[Any, Manifest, SignatureStatus, Notes]


def validate_model(
    manifest: Mapping[str, Any], entry: ModelType, *, path: str, lenient: bool
) -> list[str]:
    """Check the model block against the schemas its registry entry declares."""
    model = manifest["model"]
    ignored = validate(
        model["params"], entry.params, path=path, where="model.params", lenient=lenient
    )
    ignored += validate(
        model["config"], entry.config, path=path, where="model.config", lenient=lenient
    )
    if len(model["feature_names_in"]) != model["n_features_in"]:
        raise ManifestError(
            f"{MANIFEST_NAME} field 'model.n_features_in' is {model['n_features_in']} but "
            f"'model.feature_names_in' lists {len(model['feature_names_in'])} names. The file "
            "is damaged or was not written by behavemodel; save the model again.",
            path=path,
            member=MANIFEST_NAME,
        )
    return ignored


def read(
    archive: Archive,
    data: dict[str, Any],
    version: tuple[int, int],
    secret: bytes | None,
    require_signature: bool,
) -> ReadResult:
    """Format 1.x: check signature, schema, members and digests; rebuild the model.

    Returns the model, the manifest, the signature status and the warnings to
    emit once loading has succeeded.
    """
    path = archive.path
    notes: Notes = []
    signed = data.get("signature") is not None
    # A key verifies first, so a manifest edited after signing is reported as such
    # (a malformed signature block is left to the schema check).
    if secret is not None and isinstance(data.get("signature"), dict):
        verify(data, secret, path=path)
    newer_minor = version[1] > FORMAT_VERSION[1]
    ignored = validate(data, MANIFEST_SCHEMA, path=path, lenient=newer_minor)
    entry = lookup(data["model"]["type"], data["model"]["state_version"], path=path)
    ignored += validate_model(data, entry, path=path, lenient=newer_minor)
    status = _signature_status(signed, secret, require_signature, path, notes)
    tables = _read_members(archive, data["members"], entry)
    meta = {
        "model": entry.name,
        "state_version": entry.state_version,
        "params": data["model"]["params"],
        "config": data["model"]["config"],
        "n_features_in": data["model"]["n_features_in"],
        "feature_names_in": data["model"]["feature_names_in"],
    }
    try:
        model = entry.cls._from_state(meta, tables)
    except (BehaveModelError, ValueError, TypeError, KeyError) as exc:
        raise ArtifactError(
            f"the saved {entry.name} does not rebuild: {exc}. The file is damaged or was "
            "not written by behavemodel.",
            path=path,
        ) from exc
    if ignored:
        notes.append(
            (
                ArtifactWarning,
                f"{path}: format {data['format_version']} is newer than the "
                f"{format_version_text()} this behavemodel reads; ignored the field(s) "
                f"{sorted(set(ignored))}.",
            )
        )
    if data["behavemodel_version"] != __version__:
        notes.append(
            (
                VersionMismatchWarning,
                f"{path} was saved by behavemodel {data['behavemodel_version'][:40]}; this is "
                f"behavemodel {__version__}. It loaded; save it again with this version to "
                "silence this warning.",
            )
        )
    return model, Manifest.from_dict(data), status, notes


def _signature_status(
    signed: bool, secret: bytes | None, require: bool, path: str, notes: Notes
) -> SignatureStatus:
    if secret is not None and signed:
        return "verified"  # verify() already ran and passed
    if require:
        if signed:
            raise SignatureError(
                "the model is signed, but require_signature=True needs the key to verify it "
                "and none was given. Pass key=... (CLI: --key-env VAR).",
                path=path,
            )
        raise SignatureError(
            "the model is not signed, but require_signature=True refuses unsigned files. "
            "Sign it with behavemodel.save(model, path, key=...) where it is approved.",
            path=path,
        )
    if signed:
        notes.append(
            (
                UnverifiedSignatureWarning,
                f"{path} is signed but no key was given, so the signature was not verified. "
                "Pass the key (CLI: --key-env VAR) to verify it.",
            )
        )
        return "unverified"
    if secret is not None:
        notes.append(
            (
                UnverifiedSignatureWarning,
                f"{path} is not signed, so the key given verified nothing. Use "
                "require_signature=True (CLI: --require-signature) to refuse unsigned files.",
            )
        )
    return "unsigned"


def _read_members(
    archive: Archive, listed: Mapping[str, Mapping[str, Any]], entry: ModelType
) -> dict[str, pa.Table]:
    path = archive.path
    present = set(archive.entries) - {MANIFEST_NAME}
    extra = sorted(present - set(listed))
    if extra:
        raise IntegrityError(
            f"the archive holds member(s) {extra} that the manifest does not list; refusing "
            "a file with content nobody vouched for.",
            path=path,
            member=extra[0],
        )
    missing = sorted(set(listed) - present)
    if missing:
        raise IntegrityError(
            f"the member(s) {missing} listed in the manifest are missing from the archive; "
            "the file is incomplete. Get an intact copy.",
            path=path,
            member=missing[0],
        )
    expected = entry.members
    if set(listed) != set(expected):
        raise IntegrityError(
            f"the manifest lists the member(s) {sorted(listed)}, but a {entry.name} is saved "
            f"as {sorted(expected)}. The file was not written by behavemodel.",
            path=path,
        )
    tables: dict[str, pa.Table] = {}
    for name, table_name in sorted(expected.items()):
        record = listed[name]
        data, digest = archive.read(name)
        if len(data) != record["size"] or not hmac.compare_digest(digest, record["sha256"]):
            raise IntegrityError(
                f"member {name!r} does not match the SHA-256 in the manifest: it was changed "
                "or damaged after the model was saved. Refusing to load it; get the approved "
                "file again.",
                path=path,
                member=name,
            )
        tables[table_name] = _read_table(data, name, entry.tables[table_name], record, path)
    return tables


def _read_table(
    data: bytes, name: str, schema: pa.Schema, record: Mapping[str, Any], path: str
) -> pa.Table:
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise IntegrityError(
            f"member {name!r} is not a readable Parquet table ({exc}).",
            path=path,
            member=name,
        ) from None
    if table.column_names != schema.names:
        raise IntegrityError(
            f"member {name!r} has the columns {table.column_names[:20]}; expected "
            f"{schema.names}. The file was not written by behavemodel.",
            path=path,
            member=name,
        )
    try:
        table = table.cast(schema)
    except (pa.ArrowException, ValueError) as exc:
        raise IntegrityError(
            f"member {name!r} has column types that do not match the format ({exc}).",
            path=path,
            member=name,
        ) from None
    if table.num_rows != record["rows"]:
        raise IntegrityError(
            f"member {name!r} holds {table.num_rows} rows; the manifest says {record['rows']}.",
            path=path,
            member=name,
        )
    return table
