"""Field extraction from audit record bodies, in bulk.

Each function takes the bodies of many records of one type (the text after
``msg=audit(...):``) and returns columns. The common kernel layouts go through
one compiled regular expression over all bodies at once; a body that does not
fit the layout falls back to :func:`parse_fields`, the slow but general
tokenizer, so unusual kernels cost time, never correctness.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

__all__ = [
    "GENERIC_FIELDS",
    "SYSCALL_FIELDS",
    "extract_single",
    "extract_syscall",
    "kernel_fields",
    "parse_fields",
]

_GS = b"\x1d"

#: Fields read from user-space and other non-SYSCALL records (by ``parse_fields``).
GENERIC_FIELDS = (
    b"pid", b"ppid", b"uid", b"auid", b"ses", b"exit", b"rport", b"lport", b"exe", b"comm",
    b"cwd", b"cmd", b"addr", b"laddr", b"UID", b"id", b"acct", b"ID", b"AUID", b"terminal",
    b"tty", b"res", b"success",
)  # fmt: skip

# key=value tokens: quoted, braced (ENRICHED SADDR={ ... }) or bare; a bare word
# without "=" is captured too, so that "old auid=1 new auid=2" can be understood.
_TOKEN = re.compile(rb"""([A-Za-z_][\w\-\[\]]*)=("[^"]*"|\{[^}]*\}|[^\s\x1d]*)|([^\s=\x1d]+)""")
# An upper-case ENRICHED name glued to the previous value when the 0x1D byte was
# lost in a copy: key=(null)ARCH=x86_64
_GLUED = re.compile(rb"^(.*?[^A-Z_])([A-Z][A-Z_]*)=(.*)$")


def parse_fields(body: bytes) -> dict[bytes, bytes]:
    """Split a record body into its ``name=value`` fields (values still raw).

    User-space records carry a nested ``msg='...'`` (up to its last quote, since
    account names may hold quotes) whose fields are merged in; the outer fields
    win on a clash. ENRICHED translations after the 0x1D byte keep their
    upper-case names, also when the 0x1D byte was lost. In old kernels'
    ``old auid=X new auid=Y`` the new value is the field's value. The first
    occurrence of any other repeated name wins.

    Examples
    --------
    >>> f = parse_fields(b"pid=7 uid=0 auid=1000 ses=2 msg='op=login id=1000 "
    ...                  b"exe=\\"/usr/sbin/sshd\\" addr=10.0.0.9 res=success'\\x1dUID=\\"root\\"")
    >>> f[b"pid"], f[b"exe"], f[b"res"], f[b"UID"]
    (b'7', b'"/usr/sbin/sshd"', b'success', b'"root"')
    >>> parse_fields(b"login pid=1 old auid=4294967295 new auid=0")[b"auid"]
    b'0'
    >>> parse_fields(b"comm=\\"x\\" key=(null)ARCH=x86_64 AUID=\\"bob\\"")[b"ARCH"]
    b'x86_64'
    """
    fields: dict[bytes, bytes] = {}
    outer, inner = _split_msg(body)
    _tokens_into(outer, fields, trim=False)
    if inner is not None:
        for name, value in _inner_fields(inner):
            fields.setdefault(name, value)
    return fields


@lru_cache(maxsize=8192)
def _inner_fields(inner: bytes) -> tuple[tuple[bytes, bytes], ...]:
    """Fields of a user-space ``msg='...'``; these repeat a lot (PAM, cron), so cached."""
    nested: dict[bytes, bytes] = {}
    _tokens_into(inner, nested, trim=True)
    return tuple(nested.items())


def _split_msg(body: bytes) -> tuple[bytes, bytes | None]:
    """Separate a user-space ``msg='...'`` from the rest of the record."""
    start = body.find(b"msg='")
    if start < 0 or (start > 0 and body[start - 1 : start] not in (b" ", b"\x1d")):
        return body, None
    gs = body.find(_GS, start)
    stop = gs if gs >= 0 else len(body)
    end = body.rfind(b"'", start + 5, stop)
    if end < 0:
        return body, None
    return body[:start] + body[end + 1 :], body[start + 5 : end]


def _tokens_into(text: bytes, fields: dict[bytes, bytes], *, trim: bool) -> None:
    prefix = b""
    for name, value, word in _TOKEN.findall(text):
        if word:
            prefix = word
            continue
        if value[:1] not in (b'"', b"{") and b"=" in value:
            glued = _GLUED.match(value)
            if glued is not None:
                value = glued.group(1)
                _tokens_into(glued.group(2) + b"=" + glued.group(3), fields, trim=trim)
        if trim:
            value = _trim_bare(value)
        if prefix == b"new":
            fields[name] = value
        elif prefix == b"old":
            fields.setdefault(b"old-" + name, value)
        elif name not in fields:
            fields[name] = value
        prefix = b""


def _trim_bare(value: bytes) -> bytes:
    """Old PAM messages write ``(hostname=?, addr=?, terminal=cron res=success)``."""
    if value[-1:] in (b",", b")") and b"(" not in value and value[:1] not in (b'"', b"'", b"{"):
        return value.rstrip(b",)")
    return value


# Plain values: where these match, the compiled scanner reads the same bytes (a
# quoted value without separators inside, or a bare one without quotes, braces or
# "="); anything else goes to kernel_fields, which reads exactly as the scanner.
_BARE = rb"[^\s\x1d\"'{=]+"
_VALUE = rb"\"[^\"\s\x1d]*\"|" + _BARE
_TOKEN_PLAIN = rb"(?:[^\s\x1d\"'{=]*=(?:\"[^\"\s\x1d]*\"|[^\s\x1d\"'{=]*)|[^\s\x1d\"'{=]+)"
#: A body of plain tokens only: every reader splits it the same way. Tokens need a
#: separator between them, so the match is linear (never backtracks).
PLAIN_BODY = re.compile(
    rb"[ \x1d]*(?:" + _TOKEN_PLAIN + rb"(?:[ \x1d]+" + _TOKEN_PLAIN + rb")*)?[ \x1d]*"
)

# The SYSCALL record as every kernel since 2.6.x writes it. Optional parts:
# success/exit (absent when the syscall did not return), per= (old kernels),
# subj= (SELinux/AppArmor, may contain a space), the ENRICHED tail with or
# without its 0x1D separator.
_SYSCALL = re.compile(
    rb"^(?:arch=([0-9a-fA-F]+) syscall=(\d+) (?:per=\w+ )?"
    rb"(?:success=(yes|no) exit=(-?\d+) )?"
    rb"a0=([0-9a-fA-F]+) a1=([0-9a-fA-F]+) a2=([0-9a-fA-F]+) a3=[0-9a-fA-F]+ items=\d+ "
    rb"ppid=(\d+) pid=(\d+) auid=(\d+) uid=(\d+) gid=\d+ euid=\d+ suid=\d+ fsuid=\d+ "
    rb"egid=\d+ sgid=\d+ fsgid=\d+ tty=(" + _BARE + rb") ses=(\d+) "
    rb"comm=(" + _VALUE + rb") exe=(" + _VALUE + rb")"
    rb"(?: subj=[^\x1d\n\"'{= ]+)? key=(" + _VALUE + rb")"
    rb"(?:[\x1d ]ARCH=" + _BARE + rb" SYSCALL=" + _BARE + rb"(?: AUID=\"([^\"\s\x1d]*)\")?"
    rb" UID=\"([^\"\s\x1d]*)\"(?:[ \x1d]+" + _TOKEN_PLAIN + rb")*)?"
    rb"[ ]*$|)",
    re.M,
)

#: Column names returned by :func:`extract_syscall`, in order.
SYSCALL_FIELDS = (
    "arch",
    "syscall",
    "success",
    "exit",
    "a0",
    "a1",
    "a2",
    "ppid",
    "pid",
    "auid",
    "uid",
    "tty",
    "ses",
    "comm",
    "exe",
    "key",
    "AUID",
    "UID",
)
_SYSCALL_GENERIC_NAMES = tuple(name.encode() for name in SYSCALL_FIELDS)


def _unquote_name(value: bytes) -> bytes:
    return value[1:-1] if value[:1] == b'"' and value[-1:] == b'"' else value


def extract_syscall(bodies: Sequence[bytes]) -> list[tuple[bytes, ...]]:
    """Extract the SYSCALL fields of many records at once.

    Returns one tuple per body with the raw values of :data:`SYSCALL_FIELDS`
    (``b""`` where a field is absent; ENRICHED names unquoted).

    Examples
    --------
    >>> body = (b'arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=2 '
    ...         b'ppid=1 pid=2 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 '
    ...         b'fsgid=0 tty=pts1 ses=1 comm="id" exe="/usr/bin/id" key=(null)'
    ...         b'\\x1dARCH=x86_64 SYSCALL=execve AUID="alice" UID="root" GID="root"')
    >>> row = extract_syscall([body, b"arch=c000003e syscall=42 pid=9"])
    >>> row[0][:2], row[0][8], row[0][14], row[0][16:]
    ((b'c000003e', b'59'), b'2', b'"/usr/bin/id"', (b'alice', b'root'))
    >>> row[1][:2], row[1][8]
    ((b'c000003e', b'42'), b'9')
    """
    if not bodies:
        return []
    rows = _SYSCALL.findall(b"\n".join(bodies))
    if len(rows) != len(bodies):  # a body held a newline: cannot happen from a line split
        rows = [_SYSCALL.match(body).groups(b"") for body in bodies]  # type: ignore[union-attr]
    for i, row in enumerate(rows):
        if not row[0]:
            rows[i] = _syscall_generic(bodies[i])
    return rows


def _syscall_generic(body: bytes) -> tuple[bytes, ...]:
    fields = kernel_fields(body)
    values = [fields.get(name, b"") for name in _SYSCALL_GENERIC_NAMES]
    values[-2] = _unquote_name(values[-2])
    values[-1] = _unquote_name(values[-1])
    return tuple(values)


_SINGLE_CACHE: dict[bytes, re.Pattern[bytes]] = {}


def extract_single(
    bodies: Sequence[bytes], name: bytes, plain: Sequence[bool] | None = None
) -> list[bytes]:
    """Extract one field from many record bodies (``b""`` where absent).

    Examples
    --------
    >>> extract_single([b'cwd="/root"', b"cwd=2F746D7020", b"other=1"], b"cwd")
    [b'"/root"', b'2F746D7020', b'']
    >>> extract_single([b'item=0 name="/x" nametype=NORMAL'], b"nametype")
    [b'NORMAL']
    """
    pattern = _SINGLE_CACHE.get(name)
    if pattern is None:
        pattern = re.compile(
            rb"^(?:(?:[^\n]*?[ \x1d])?" + re.escape(name) + rb"=([^\s\x1d]*)|)", re.M
        )
        _SINGLE_CACHE[name] = pattern
    if not bodies:
        return []
    values = pattern.findall(b"\n".join(bodies))
    if len(values) != len(bodies):
        values = [kernel_fields(body).get(name, b"") for body in bodies]
    if plain is None:
        plain = plain_bodies(bodies)
    for i, body in enumerate(bodies):
        if not plain[i]:  # quotes, braces, odd spaces or glued names: read exactly
            values[i] = kernel_fields(body).get(name, b"")
    return values


def plain_bodies(bodies: Sequence[bytes]) -> list[bool]:
    """Whether each body is all plain tokens (:data:`PLAIN_BODY`): the fast layouts read it.

    Examples
    --------
    >>> plain_bodies([b'cwd="/root"', b'name="a b"', b"key=(null)ARCH=x86_64"])
    [True, False, False]
    """
    match = PLAIN_BODY.fullmatch
    return [match(body) is not None for body in bodies]


# One kernel-record token as the compiled scanner reads it: a name (no "=" or
# separator), then "=" and a value that runs to its closing quote or brace (or the
# end of the record) when it opens one, else to the next space or 0x1D.
_KERNEL_TOKEN = re.compile(rb"""([^= \x1d]*)(=?)("[^"]*"?|'[^']*'?|\{[^}]*\}?|[^ \x1d]*)""")


def kernel_fields(body: bytes) -> dict[bytes, bytes]:
    """The ``name=value`` fields of a kernel record, read as the compiled scanner reads them.

    Separators are spaces and 0x1D; quoted (``"``, ``'``) and braced values run to
    their closing character or the end of the record; an upper-case ENRICHED name
    glued to a bare value (its 0x1D byte lost) starts a field of its own. The
    first occurrence of a repeated name wins. Values stay raw.

    Examples
    --------
    >>> f = kernel_fields(b'item=0 name="/a b" mode=0100644\x1dOUID="root"')
    >>> f[b"name"], f[b"OUID"]
    (b'"/a b"', b'"root"')
    >>> kernel_fields(b"key=(null)ARCH=x86_64 pid=1 pid=2")
    {b'key': b'(null)', b'ARCH': b'x86_64', b'pid': b'1'}
    """
    fields: dict[bytes, bytes] = {}
    pos, end = 0, len(body)
    match = _KERNEL_TOKEN.match
    while pos < end:
        token = match(body, pos)
        assert token is not None  # the pattern matches the empty string
        stop = token.end()
        if stop == pos:  # a separator
            pos += 1
            continue
        name, equals, value = token.groups()
        if not equals:  # a word without "=": skipped, like the scanner
            pos = stop
            continue
        if value[:1] not in (b'"', b"'", b"{") and b"=" in value:
            cut = _glued_name_start(value)
            if cut is not None:
                value = value[:cut]
                stop = token.start(3) + cut
        fields.setdefault(name, value)
        pos = stop
    return fields


def _glued_name_start(value: bytes) -> int | None:
    """Where an upper-case ``NAME=`` glued onto a bare value begins, if one does."""
    at = value.find(b"=")
    while at >= 0:
        start = at
        while start > 0 and (65 <= value[start - 1] <= 90 or value[start - 1] == 95):
            start -= 1
        if 0 < start < at and 65 <= value[start] <= 90:
            return start
        at = value.find(b"=", at + 1)
    return None
