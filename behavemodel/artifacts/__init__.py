"""Model files: save, load, sign, inspect and diff versioned, data-only models.

A model file (``.bmz``) is a zip of ``manifest.json`` and Parquet tables; it
holds no pickle and no code, and loading it cannot run any. The format, field
by field, and its version policy are in ``docs/model-format.md``.

- :func:`save` / :func:`load`: write atomically, read defensively; optional
  HMAC-SHA256 signing with a key you supply.
- :func:`load_artifact`: the model plus its :class:`Manifest` and whether the
  signature was verified.
- :func:`diff`: what a candidate baseline has that the approved one lacks.
"""

from behavemodel.artifacts._diff import BaselineDiff, diff
from behavemodel.artifacts._errors import (
    ArtifactError,
    ArtifactWarning,
    FormatVersionError,
    IntegrityError,
    ManifestError,
    SignatureError,
    UnknownModelTypeError,
    UnsafeArchiveError,
    UnverifiedSignatureWarning,
    VersionMismatchWarning,
)
from behavemodel.artifacts._format import FORMAT_NAME, FORMAT_VERSION, SizeLimits
from behavemodel.artifacts._manifest import Manifest, MemberInfo
from behavemodel.artifacts._persist import ModelArtifact, load, load_artifact, save
from behavemodel.artifacts._registry import REGISTRY
from behavemodel.artifacts._sign import key_id

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "REGISTRY",
    "ArtifactError",
    "ArtifactWarning",
    "BaselineDiff",
    "FormatVersionError",
    "IntegrityError",
    "Manifest",
    "ManifestError",
    "MemberInfo",
    "ModelArtifact",
    "SignatureError",
    "SizeLimits",
    "UnknownModelTypeError",
    "UnsafeArchiveError",
    "UnverifiedSignatureWarning",
    "VersionMismatchWarning",
    "diff",
    "key_id",
    "load",
    "load_artifact",
    "save",
]
