"""The zip container: a defensive reader and an atomic writer.

The reader never extracts anything to disk. Before reading a byte of content
it refuses archives with unsafe member names (absolute, ``..``, backslashes,
NUL), duplicate names, encryption, compression methods other than stored and
deflate, too many entries, or declared sizes over the :class:`SizeLimits`;
while reading it stops as soon as a member yields more than it declared.

The writer builds the archive in a temporary file next to the destination,
flushes it to disk and renames it over the destination, so readers see either
the old file or the complete new one, never a partial write.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import stat
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from behavemodel.artifacts._errors import ArtifactError, IntegrityError, UnsafeArchiveError
from behavemodel.artifacts._format import MANIFEST_NAME, SizeLimits

__all__ = ["Archive", "read_bounded", "write_atomic"]

_CHUNK = 1 << 16
_ALLOWED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_DRIVE = re.compile(r"^[A-Za-z]:")
#: Fixed member timestamp, so equal content gives equal archives.
_EPOCH = (1980, 1, 1, 0, 0, 0)


def unsafe_name_reason(name: str) -> str | None:
    """Why a member name is unsafe, or None when it is a plain relative name.

    Examples
    --------
    >>> unsafe_name_reason("stats.parquet") is None
    True
    >>> unsafe_name_reason("../evil.parquet")
    "it contains a '..' component"
    >>> unsafe_name_reason("/etc/passwd")
    'it is an absolute path'
    """
    if not name:
        return "it is empty"
    if "\x00" in name:
        return "it contains a NUL character"
    if "\\" in name:
        return "it contains a backslash"
    if name.startswith("/") or _DRIVE.match(name):
        return "it is an absolute path"
    parts = name.split("/")
    if ".." in parts:
        return "it contains a '..' component"
    if any(p in ("", ".") for p in parts):
        return "it has an empty or '.' component (or names a directory)"
    if any(not ch.isprintable() for ch in name):
        return "it contains control characters"
    return None


def read_bounded(handle: IO[bytes], limit: int, *, name: str, path: str) -> tuple[bytes, str]:
    """Read at most ``limit`` bytes from ``handle``; refuse if there are more.

    Returns the bytes and their SHA-256 (hex).

    Examples
    --------
    >>> import io
    >>> data, digest = read_bounded(io.BytesIO(b"abc"), 3, name="m", path="f.bmz")
    >>> data, digest[:8]
    (b'abc', 'ba7816bf')
    >>> read_bounded(io.BytesIO(b"abcd"), 3, name="m", path="f.bmz")
    Traceback (most recent call last):
    ...
    behavemodel.artifacts._errors.UnsafeArchiveError: f.bmz: member 'm' inflates beyond \
the 3 bytes it may hold; refusing to read it (possible zip bomb).
    """
    digest = hashlib.sha256()
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = handle.read(min(_CHUNK, limit - total + 1))
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            raise UnsafeArchiveError(
                f"member {name!r} inflates beyond the {limit} bytes it may hold; refusing to "
                "read it (possible zip bomb).",
                path=path,
                member=name,
            )
        digest.update(chunk)
        chunks.append(chunk)
    return b"".join(chunks), digest.hexdigest()


class Archive:
    """A model file opened for defensive reading (use :meth:`open`)."""

    def __init__(self, zf: zipfile.ZipFile, path: str, limits: SizeLimits) -> None:
        self._zf = zf
        self.path = path
        self.limits = limits
        self.entries: dict[str, zipfile.ZipInfo] = {}
        self._check_directory()

    @classmethod
    @contextlib.contextmanager
    def open(cls, path: str | os.PathLike[str], limits: SizeLimits) -> Iterator[Archive]:
        """Open ``path`` and check its directory; raise ArtifactError subclasses."""
        shown = os.fspath(path)
        try:
            size = os.stat(path).st_size
        except OSError as exc:
            raise ArtifactError(
                f"cannot open the model file: {exc.strerror or exc}.", path=shown
            ) from None
        if size > limits.total + (1 << 20):
            raise UnsafeArchiveError(
                f"the file is {size} bytes, over the limit of {limits.total} bytes of model "
                "data; refusing to read it. Raise SizeLimits(total=...) if it is genuine.",
                path=shown,
            )
        try:
            zf = zipfile.ZipFile(path, "r")
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
            raise ArtifactError(
                f"not a behavemodel model file: it is not a readable zip archive ({exc}). "
                "Model files are written by behavemodel.save() or 'behavemodel fit'.",
                path=shown,
            ) from None
        except OSError as exc:
            raise ArtifactError(
                f"cannot open the model file: {exc.strerror or exc}.", path=shown
            ) from None
        with zf:
            yield cls(zf, shown, limits)

    def _refuse(self, reason: str, member: str | None = None) -> UnsafeArchiveError:
        return UnsafeArchiveError(reason, path=self.path, member=member)

    def _check_directory(self) -> None:
        infos = self._zf.infolist()
        if len(infos) > self.limits.entries:
            raise self._refuse(
                f"the archive has {len(infos)} entries; a model file has a few (limit "
                f"{self.limits.entries}). Refusing to read it."
            )
        total = 0
        for info in infos:
            # orig_filename is the name as stored; zipfile cuts filename at a NUL.
            for name in (info.orig_filename, info.filename):
                reason = unsafe_name_reason(name)
                if reason is not None:
                    raise self._refuse(
                        f"the member name {name!r} is unsafe: {reason}. A model file only "
                        "holds plain relative names; refusing to read it.",
                        name,
                    )
            name = info.filename
            if name in self.entries:
                raise self._refuse(
                    f"the member name {name!r} appears twice in the archive; refusing to "
                    "guess which one is meant.",
                    name,
                )
            if info.flag_bits & 0x1:
                raise self._refuse(f"member {name!r} is encrypted; model files never are.", name)
            if info.compress_type not in _ALLOWED_METHODS:
                raise self._refuse(
                    f"member {name!r} uses zip compression method {info.compress_type}; "
                    "model files use only stored (0) or deflate (8).",
                    name,
                )
            limit = self.limits.manifest if name == MANIFEST_NAME else self.limits.member
            if info.file_size > limit:
                raise self._refuse(
                    f"member {name!r} declares {info.file_size} bytes, over the limit of "
                    f"{limit}; refusing to read it (possible zip bomb). Raise SizeLimits "
                    "if the file is genuine.",
                    name,
                )
            total += info.file_size
            self.entries[name] = info
        if total > self.limits.total:
            raise self._refuse(
                f"the members declare {total} bytes in all, over the limit of "
                f"{self.limits.total}; refusing to read them (possible zip bomb)."
            )

    def read(self, name: str) -> tuple[bytes, str]:
        """The content of member ``name`` and its SHA-256, read within the limits."""
        info = self.entries[name]
        cap = self.limits.manifest if name == MANIFEST_NAME else self.limits.member
        try:
            with self._zf.open(info) as handle:
                data, digest = read_bounded(
                    handle, min(cap, info.file_size), name=name, path=self.path
                )
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise IntegrityError(
                f"member {name!r} is damaged and cannot be read ({exc}). Get an intact copy "
                "of the file.",
                path=self.path,
                member=name,
            ) from None
        if len(data) != info.file_size:
            raise IntegrityError(
                f"member {name!r} holds {len(data)} bytes but declares {info.file_size}; the "
                "file is damaged. Get an intact copy.",
                path=self.path,
                member=name,
            )
        return data, digest


def write_atomic(path: str | os.PathLike[str], members: Sequence[tuple[str, bytes, int]]) -> None:
    """Write a zip of ``(name, data, compress_type)`` members to ``path`` atomically.

    The archive is written to a temporary file in the same directory, flushed
    and fsynced, then renamed over ``path`` (and the directory fsynced). On any
    failure, including running out of disk space, the temporary file is
    removed and ``path`` is left as it was.
    """
    target = Path(path)
    directory = target.parent
    tmp = directory / f".{target.name}.{secrets.token_hex(6)}.tmp"
    # O_EXCL: never follow or reuse someone else's file; mode 0o666 minus the umask.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            with zipfile.ZipFile(handle, "w", allowZip64=True) as zf:
                for name, data, method in members:
                    info = zipfile.ZipInfo(name, date_time=_EPOCH)
                    info.compress_type = method
                    info.external_attr = (stat.S_IFREG | 0o644) << 16
                    info.create_system = 3  # Unix
                    zf.writestr(info, data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; best effort (not every filesystem allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
