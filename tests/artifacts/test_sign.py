"""HMAC signing and verification (behavemodel/artifacts/_sign.py and its use in _v1.py)."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from behavemodel.artifacts import (
    SignatureError,
    UnverifiedSignatureWarning,
    key_id,
    load,
    load_artifact,
    save,
)
from behavemodel.artifacts._format import canonical_json
from behavemodel.artifacts._sign import sign, verify
from behavemodel.models import BaselineDetector

Rezip = Callable[..., Path]


def test_signed_file_verifies_with_its_key(
    model: BaselineDetector, signed: Path, signing_key: bytes, score_events: pa.Table
) -> None:
    artifact = load_artifact(signed, key=signing_key, require_signature=True)
    assert artifact.signature == "verified"
    assert artifact.manifest.signed and artifact.manifest.key_id == key_id(signing_key)
    assert (artifact.model.predict(score_events) == model.predict(score_events)).all()
    # The same key as text (UTF-8) verifies too.
    assert load_artifact(signed, key=signing_key.decode()).signature == "verified"


def test_signature_covers_the_canonical_manifest(signed: Path, signing_key: bytes) -> None:
    with zipfile.ZipFile(signed) as zf:
        doc = json.loads(zf.read("manifest.json"))
    block = doc.pop("signature")
    expected = hmac.new(signing_key, canonical_json(doc), hashlib.sha256).hexdigest()
    assert block == {
        "algorithm": "HMAC-SHA256",
        "key_id": key_id(signing_key),
        "value": expected,
    }


def test_wrong_key_is_refused(signed: Path) -> None:
    with pytest.raises(SignatureError, match=r"signed with key id .* the key given has id") as e:
        load(signed, key=b"another key")
    assert "\n" not in str(e.value)


def test_manifest_edited_after_signing_is_refused(
    signed: Path, signing_key: bytes, rezip: Rezip
) -> None:
    def loosen(doc: dict[str, Any]) -> None:
        doc["model"]["params"]["novelty_threshold"] = 1.0

    path = rezip(signed, manifest=loosen)
    with pytest.raises(SignatureError, match="the manifest was changed after it was signed"):
        load(path, key=signing_key)


def _swap_stats(doc_member: bytes) -> Callable[..., Any]:
    def manifest(doc: dict[str, Any]) -> None:
        doc["members"]["stats.parquet"] = {
            "sha256": hashlib.sha256(doc_member).hexdigest(),
            "size": len(doc_member),
            "rows": pq.read_metadata(io.BytesIO(doc_member)).num_rows,
        }

    return manifest


def test_someone_adding_their_own_binary_is_caught(
    model: BaselineDetector,
    signed: Path,
    signing_key: bytes,
    rezip: Rezip,
    score_events: pa.Table,
    tmp_path: Path,
) -> None:
    """Accept the attacker's listener into the baseline, fix up the digest, keep the signature."""
    poisoned = load(signed, key=signing_key)
    poisoned.accept(poisoned.explain(score_events))
    save(poisoned, tmp_path / "poisoned.bmz")
    with zipfile.ZipFile(tmp_path / "poisoned.bmz") as zf:
        stats = zf.read("stats.parquet")

    def swap(entries: list[tuple[zipfile.ZipInfo, bytes]]) -> list[tuple[zipfile.ZipInfo, bytes]]:
        return [(i, stats if i.filename == "stats.parquet" else d) for i, d in entries]

    path = rezip(signed, manifest=_swap_stats(stats), members=swap)
    with pytest.raises(SignatureError, match="changed after it was signed"):
        load(path, key=signing_key)
    # Without the key it loads, but says it could not verify, and it is poisoned.
    with pytest.warns(UnverifiedSignatureWarning, match="signature was not verified"):
        unverified = load(path)
    assert (unverified.predict(score_events) == 1).all()
    assert (model.predict(score_events) == -1).any()


def test_resigned_with_another_key_is_refused(
    signed: Path, signing_key: bytes, rezip: Rezip
) -> None:
    def resign(doc: dict[str, Any]) -> None:
        doc["model"]["params"]["min_span"] = "1000D"
        doc["signature"] = sign(doc, b"attacker key")

    path = rezip(signed, manifest=resign)
    with pytest.raises(SignatureError, match="signed with key id"):
        load(path, key=signing_key)


@pytest.mark.parametrize("value", ["0" * 64, "f" * 64])
def test_forged_signature_value_is_refused(
    signed: Path, signing_key: bytes, rezip: Rezip, value: str
) -> None:
    path = rezip(signed, manifest=lambda d: d["signature"].update(value=value))
    with pytest.raises(SignatureError, match="does not verify"):
        load(path, key=signing_key)


def test_stripped_signature(signed: Path, signing_key: bytes, rezip: Rezip) -> None:
    path = rezip(signed, manifest=lambda d: d.update(signature=None))
    with pytest.raises(SignatureError, match="not signed, but require_signature=True refuses"):
        load(path, key=signing_key, require_signature=True)
    with pytest.warns(UnverifiedSignatureWarning, match="is not signed, so the key"):
        assert load_artifact(path, key=signing_key).signature == "unsigned"


def test_signed_file_without_a_key(signed: Path) -> None:
    with pytest.warns(UnverifiedSignatureWarning, match="no key was given"):
        assert load_artifact(signed).signature == "unverified"
    with pytest.raises(SignatureError, match="needs the key to verify it and none was given"):
        load(signed, require_signature=True)


def test_unsigned_file(saved: Path) -> None:
    assert load_artifact(saved).signature == "unsigned"
    with pytest.raises(SignatureError, match="not signed"):
        load(saved, require_signature=True)


def test_verification_compares_in_constant_time(
    signed: Path, signing_key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, Any]] = []
    original = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    load(signed, key=signing_key)
    assert len(calls) == 2  # the signature, then the member digest
    assert all(len(a) == len(b) == 64 for a, b in calls)


def test_signing_is_deterministic_and_ignores_key_order() -> None:
    a = {"format": "behavemodel-model", "members": {"b": 1, "a": 2}, "signature": None}
    b = {"signature": {"value": "x"}, "members": {"a": 2, "b": 1}, "format": "behavemodel-model"}
    assert sign(a, b"k") == sign(b, b"k")
    assert sign(a, b"k") != sign(a, b"K")
    verify({**a, "signature": sign(a, b"k")}, b"k", path="m.bmz")
    with pytest.raises(SignatureError, match=r"^m\.bmz: the model is not signed"):
        verify(a, b"k", path="m.bmz")


def test_bad_keys() -> None:
    with pytest.raises(ValueError, match="empty"):
        key_id(b"")
    with pytest.raises(TypeError, match="bytes or str"):
        key_id(42)  # type: ignore[arg-type]
    assert key_id(bytearray(b"k")) == key_id(b"k")  # type: ignore[arg-type]
