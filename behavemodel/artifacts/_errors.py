"""Errors and warnings raised while saving and loading model files.

Every refusal is an :class:`ArtifactError` (a :class:`~behavemodel.BehaveModelError`
and a :class:`ValueError`) whose message starts with the file it is about and
says, in one line, what was found and what to do. The subclasses let callers
tell a damaged or hostile file from one that is merely too new or not signed.
"""

from __future__ import annotations

import os

from behavemodel.exceptions import BehaveModelError

__all__ = [
    "ArtifactError",
    "ArtifactWarning",
    "FormatVersionError",
    "IntegrityError",
    "ManifestError",
    "SignatureError",
    "UnknownModelTypeError",
    "UnsafeArchiveError",
    "UnverifiedSignatureWarning",
    "VersionMismatchWarning",
]


class ArtifactError(BehaveModelError, ValueError):
    """A model file cannot be read (or written) as a behavemodel model.

    Parameters
    ----------
    reason : str
        What was found, what was expected, and the next step.
    path : str or path-like, optional
        The model file; the message starts with it.
    member : str, optional
        The archive member concerned, when there is one.

    Examples
    --------
    >>> err = ArtifactError("not a zip archive", path="model.bmz")
    >>> print(err)
    model.bmz: not a zip archive
    >>> isinstance(err, ValueError), err.path, err.member
    (True, 'model.bmz', None)
    """

    def __init__(
        self,
        reason: str,
        *,
        path: str | os.PathLike[str] | None = None,
        member: str | None = None,
    ) -> None:
        self.reason = reason
        self.path = None if path is None else os.fspath(path)
        self.member = member
        super().__init__(f"{self.path or '<model>'}: {reason}")


class ManifestError(ArtifactError):
    """``manifest.json`` is not valid JSON or does not follow the manifest schema."""


class IntegrityError(ArtifactError):
    """A member is damaged, altered, missing or not listed in the manifest."""


class UnsafeArchiveError(IntegrityError):
    """The archive is built to attack its reader: unsafe names, oversized members."""


class SignatureError(ArtifactError):
    """The signature does not verify, or a required signature is absent."""


class FormatVersionError(ArtifactError):
    """The file uses a format version this behavemodel cannot read."""


class UnknownModelTypeError(ArtifactError):
    """The manifest names a model type (or state version) the registry does not have."""


class ArtifactWarning(UserWarning):
    """Something about a model file deserves attention, but it loaded."""


class VersionMismatchWarning(ArtifactWarning):
    """The file was saved by a different behavemodel version than the one loading it."""


class UnverifiedSignatureWarning(ArtifactWarning):
    """The file loaded without its signature being verified (no key, or not signed)."""
