"""Constants of the model file format and its JSON conventions.

The format is described field by field in ``docs/model-format.md``; this module
holds the pieces every protocol version shares: the format name, the current
version, the size limits a reader enforces, and the one canonical JSON encoding
used both to write ``manifest.json`` and to sign it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, NoReturn

from behavemodel.artifacts._errors import ManifestError

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "SizeLimits",
    "canonical_json",
    "format_version_text",
    "manifest_bytes",
    "parse_json",
    "parse_version",
]

#: The ``format`` field of every manifest.
FORMAT_NAME = "behavemodel-model"
#: The format version this module writes, as (major, minor).
FORMAT_VERSION = (1, 0)
#: The one member every model file has.
MANIFEST_NAME = "manifest.json"

_MiB = 1 << 20
_VERSION = re.compile(r"^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$")


@dataclass(frozen=True)
class SizeLimits:
    """The largest model file a reader accepts (a guard against zip bombs).

    Sizes are uncompressed bytes. A member whose declared size is over a limit
    is refused before it is read, and reading stops as soon as a member yields
    more than it declared, so a lying header cannot exhaust memory either.

    Parameters
    ----------
    manifest : int, default 16 MiB
        Largest ``manifest.json`` (it holds the group map, so it grows with
        the number of hosts mapped explicitly).
    member : int, default 2 GiB
        Largest other member.
    total : int, default 4 GiB
        Largest sum of all members, and (plus 1 MiB) largest file on disk.
    entries : int, default 64
        Most entries in the archive's directory.

    Examples
    --------
    >>> from behavemodel.artifacts import SizeLimits
    >>> SizeLimits(member=1 << 20).member
    1048576
    >>> SizeLimits(total=0)
    Traceback (most recent call last):
    ...
    ValueError: The 'total' size limit must be a positive integer. Got 0 instead.
    """

    manifest: int = 16 * _MiB
    member: int = 2048 * _MiB
    total: int = 4096 * _MiB
    entries: int = 64

    def __post_init__(self) -> None:
        for name in ("manifest", "member", "total", "entries"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f"The {name!r} size limit must be a positive integer. Got {value!r} instead."
                )


def format_version_text(version: tuple[int, int] = FORMAT_VERSION) -> str:
    """``(1, 0)`` -> ``"1.0"``."""
    return f"{version[0]}.{version[1]}"


def parse_version(text: object) -> tuple[int, int] | None:
    """``"1.0"`` -> ``(1, 0)``; ``None`` when ``text`` is not ``MAJOR.MINOR``.

    Examples
    --------
    >>> parse_version("1.12"), parse_version("1"), parse_version("01.0")
    ((1, 12), None, None)
    """
    if not isinstance(text, str):
        return None
    match = _VERSION.match(text)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def canonical_json(value: Any) -> bytes:
    """The canonical encoding signatures are computed over.

    Keys sorted, no insignificant whitespace, non-ASCII characters escaped, no
    NaN or infinities: the same value always gives the same bytes.

    Examples
    --------
    >>> canonical_json({"b": [1, 0.5], "a": "é"})
    b'{"a":"\\\\u00e9","b":[1,0.5]}'
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def manifest_bytes(value: Any) -> bytes:
    """How ``manifest.json`` is stored: canonical JSON, indented for people."""
    text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=True, allow_nan=False)
    return (text + "\n").encode("ascii")


def parse_json(data: bytes, *, path: str, member: str = MANIFEST_NAME) -> Any:
    """Parse strict JSON: UTF-8, no duplicate keys, no NaN or Infinity.

    Raises
    ------
    ManifestError
        Naming the line and column of the first problem.
    """

    def refuse(reason: str) -> NoReturn:
        raise ManifestError(
            f"{member} is not valid JSON: {reason}. The file is damaged or was not written "
            "by behavemodel; save the model again.",
            path=path,
            member=member,
        )

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                refuse(f"the key {key!r} appears twice in one object")
            out[key] = value
        return out

    def no_constants(name: str) -> NoReturn:
        refuse(f"{name} is not a JSON number")

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        refuse(f"byte {exc.start} is not UTF-8")
    try:
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except json.JSONDecodeError as exc:
        refuse(f"{exc.msg} at line {exc.lineno} column {exc.colno}")
    except RecursionError:
        refuse("it is nested too deeply")
