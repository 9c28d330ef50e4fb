"""HMAC-SHA256 signatures over the canonical manifest.

The manifest records the SHA-256 of every member, so signing the manifest signs
the whole model: changing one byte of a member changes its digest, and changing
the digest in the manifest breaks the signature. The signed bytes are
:func:`~behavemodel.artifacts._format.canonical_json` of the manifest without
its ``signature`` field.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Literal

from behavemodel.artifacts._errors import SignatureError
from behavemodel.artifacts._format import canonical_json

__all__ = ["ALGORITHM", "SignatureStatus", "key_bytes", "key_id", "sign", "verify"]

ALGORITHM = "HMAC-SHA256"
#: What a load could say about a file's signature.
SignatureStatus = Literal["verified", "unverified", "unsigned"]
_KEY_ID_LABEL = b"behavemodel key id v1"


def key_bytes(key: bytes | str) -> bytes:
    """Normalise a signing key: bytes as given, text as UTF-8; refuse empty keys.

    Examples
    --------
    >>> key_bytes("s3cret") == key_bytes(b"s3cret")
    True
    >>> key_bytes("")
    Traceback (most recent call last):
    ...
    ValueError: The signing key is empty. Pass at least 32 random bytes, e.g. from \
'python -c "import secrets; print(secrets.token_hex(32))"'.
    """
    if isinstance(key, str):
        key = key.encode("utf-8")
    elif isinstance(key, (bytearray, memoryview)):
        key = bytes(key)
    if not isinstance(key, bytes):
        raise TypeError(f"The signing key must be bytes or str. Got {type(key).__name__} instead.")
    if not key:
        raise ValueError(
            "The signing key is empty. Pass at least 32 random bytes, e.g. from "
            "'python -c \"import secrets; print(secrets.token_hex(32))\"'."
        )
    return key


def key_id(key: bytes | str) -> str:
    """A public identifier of a key (16 hex digits), to tell keys apart in messages.

    It is an HMAC of a fixed label under the key, so it reveals nothing about
    the key itself.

    Examples
    --------
    >>> len(key_id(b"k")), key_id(b"k") == key_id("k"), key_id(b"k") == key_id(b"K")
    (16, True, False)
    """
    return hmac.new(key_bytes(key), _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def _unsigned(manifest: Mapping[str, Any]) -> bytes:
    return canonical_json({k: v for k, v in manifest.items() if k != "signature"})


def sign(manifest: Mapping[str, Any], key: bytes | str) -> dict[str, str]:
    """The signature block for ``manifest`` (its own ``signature`` field is ignored).

    Examples
    --------
    >>> block = sign({"format": "behavemodel-model", "members": {}}, b"k")
    >>> sorted(block), block["algorithm"]
    (['algorithm', 'key_id', 'value'], 'HMAC-SHA256')
    >>> block == sign({"members": {}, "format": "behavemodel-model", "signature": None}, b"k")
    True
    """
    secret = key_bytes(key)
    return {
        "algorithm": ALGORITHM,
        "key_id": key_id(secret),
        "value": hmac.new(secret, _unsigned(manifest), hashlib.sha256).hexdigest(),
    }


def verify(manifest: Mapping[str, Any], key: bytes | str, *, path: str) -> None:
    """Check the signature block of ``manifest`` against ``key`` in constant time.

    Raises
    ------
    SignatureError
        When the file is not signed or the signature does not match.
    """
    block = manifest.get("signature")
    if not isinstance(block, Mapping):
        raise SignatureError(
            "the model is not signed, so the key cannot verify it. Sign it with "
            "behavemodel.save(model, path, key=...) on the machine that approved it.",
            path=path,
        )
    secret = key_bytes(key)
    expected = hmac.new(secret, _unsigned(manifest), hashlib.sha256).hexdigest()
    if hmac.compare_digest(expected, str(block.get("value", ""))):
        return
    given_id = key_id(secret)
    if block.get("key_id") != given_id:
        raise SignatureError(
            f"the signature does not verify: the file says it was signed with key id "
            f"{str(block.get('key_id'))[:16]!r} and the key given has id {given_id!r}. Use "
            "the key the model was approved with; refusing to load it.",
            path=path,
        )
    raise SignatureError(
        "the signature does not verify: the manifest was changed after it was signed. "
        "Refusing to load it; get the approved file again.",
        path=path,
    )
