"""The vocabulary simulated behaviour is written in: processes, events, templates.

A :class:`Template` is a small, fixed piece of host activity (a cron job, an ssh
login, one web request): the processes it starts and the syscall-level events they
cause, with time offsets. Strings may hold ``{var}`` placeholders that the engine
fills per instance (a random temp name, the session user, the peer host's IP, the
package version installed at that moment). Templates nest through :class:`Child`
(an ssh session runs commands; a command opens a session on another host).

Nothing here knows about hosts or time; :mod:`behavemodel.datasets._engine` turns
templates into vectorised event rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "INHERIT",
    "Child",
    "Choice",
    "Daemon",
    "Ev",
    "Exec",
    "Fmt",
    "Fork",
    "LogNormal",
    "Template",
    "Uniform",
    "accept",
    "bind",
    "chmod",
    "connect",
    "daemon_call",
    "exec_",
    "mkdir",
    "rename",
    "template",
    "unlink",
    "user_record",
    "write",
]

#: Parent reference meaning "the process handed down by the parent template".
INHERIT = "^"

#: Placeholders the engine knows how to fill (plus ``pool.NAME`` and template vars).
BUILTIN_VARS = frozenset(
    """host ip group peer_host peer_ip user home uid tty ses src_ip eport eport2 fd
    tmp6 tmp8 hex8 hex12 hex16 hex40 hex64 n2 n3 n5 date ts dd hh cid cshort snap ttypath
    jvm shop_rel billing pg_wal""".split()
)
_VAR = re.compile(r"\{([a-z_][a-z0-9_]*(?:\.[a-z0-9_-]+)?)\}")


@dataclass(frozen=True)
class Fmt:
    """A string with ``{var}`` placeholders, split into literal and variable pieces.

    Examples
    --------
    >>> f = Fmt.parse("/tmp/tmp.{tmp6}/x")
    >>> f.pieces, f.is_static
    (((False, '/tmp/tmp.'), (True, 'tmp6'), (False, '/x')), False)
    >>> Fmt.parse("${HOME}/{x}").pieces  # unknown names stay literal
    ((False, '${HOME}/{x}'),)
    """

    pieces: tuple[tuple[bool, str], ...]

    @classmethod
    def parse(cls, text: str, extra_vars: Sequence[str] = ()) -> Fmt:
        pieces: list[tuple[bool, str]] = []
        pos = 0
        for m in _VAR.finditer(text):
            name = m.group(1)
            if (
                name not in BUILTIN_VARS
                and not name.startswith("pool.")
                and name not in extra_vars
            ):
                continue
            if m.start() > pos:
                pieces.append((False, text[pos : m.start()]))
            pieces.append((True, name))
            pos = m.end()
        if pos < len(text) or not pieces:
            pieces.append((False, text[pos:]))
        merged: list[tuple[bool, str]] = []
        for is_var, piece in pieces:
            if merged and not is_var and not merged[-1][0]:
                merged[-1] = (False, merged[-1][1] + piece)
            else:
                merged.append((is_var, piece))
        return cls(tuple(merged))

    @property
    def is_static(self) -> bool:
        return all(not is_var for is_var, _ in self.pieces)

    @property
    def text(self) -> str:
        return "".join("{" + p + "}" if v else p for v, p in self.pieces)

    @property
    def literal_prefix(self) -> str:
        out = []
        for is_var, piece in self.pieces:
            if is_var:
                break
            out.append(piece)
        return "".join(out)

    @property
    def var_names(self) -> tuple[str, ...]:
        return tuple(p for v, p in self.pieces if v)


@dataclass(frozen=True)
class Daemon:
    """A long-running service process of the host (or of the peer host).

    ``worker=True`` means one of the service's forked workers (nginx, apache2,
    gunicorn, postgres), picked at random per instance.
    """

    service: str
    worker: bool = False
    on: str = "self"


@dataclass(frozen=True)
class Exec:
    """A process started by fork + execve (it has a ``process_start`` event).

    Parameters
    ----------
    argv : tuple of str
        The arguments as the caller passed them. For scripts the engine logs the
        kernel's rewritten argv (interpreter, script path, arguments).
    parent : str or Daemon
        Name of another process of the template, a :class:`Daemon`, or
        :data:`INHERIT`.
    path : str, optional
        The filename given to execve; default argv[0] looked up on ``$PATH``.
    exe : str, optional
        The binary the kernel reports; default the catalog's resolution of ``path``
        through symlinks and script interpreters.
    interp : str, optional
        Shebang line (``"/bin/sh"``) for a script the catalog does not know.
    comm : str, optional
        Default: basename of ``path``, truncated to 15 bytes like the kernel.
    user : str, optional
        Account the process runs as; default the parent's; ``"{user}"`` for the
        session user.
    cwd : str, optional
        Default the parent's working directory.
    title : tuple of str, optional
        Process title set after start (``setproctitle``), seen by later events.
    euid : str, optional
        Effective user when it differs (setuid programs such as sudo).
    long : bool
        Lives long (sessions): its pid comes from a range that does not wrap.
    same_pid : str, optional
        Another process of the template that execs this one in place (same pid).
    on : {"self", "peer"}
    container : bool
        Runs inside a container (gets the instance's container id).
    """

    argv: tuple[str, ...]
    parent: str | Daemon = INHERIT
    path: str | None = None
    exe: str | None = None
    interp: str | None = None
    comm: str | None = None
    user: str | None = None
    cwd: str | None = None
    title: tuple[str, ...] | None = None
    euid: str | None = None
    long: bool = False
    same_pid: str | None = None
    on: str = "self"
    container: bool = False


@dataclass(frozen=True)
class Fork:
    """A process forked without exec: it shares its parent's exe, comm and argv."""

    parent: str | Daemon = INHERIT
    user: str | None = None
    title: tuple[str, ...] | None = None
    long: bool = False
    on: str = "self"


@dataclass(frozen=True)
class Ev:
    """One event of a template (see the constructor helpers below)."""

    kind: str
    proc: str
    at: float | str = 0.0
    step: str | None = None
    syscall: str | None = None
    success: bool = True
    exit: int | str | None = None
    ip: str | None = None
    port: int | str | None = None
    family: str = "inet"
    path: str | None = None
    name: str | None = None
    old_path: str | None = None
    old_name: str | None = None
    nametype: str | None = None
    flags: int = 0
    mode: int = 0
    record: str | None = None
    acct: str | None = None
    terminal: str | None = None
    addr: str | None = None
    ctx: str | None = None
    key: str | None = None
    op: str | None = None


def exec_(proc: str, at: float | str = 0.0, **kw: Any) -> Ev:
    """The ``execve`` of a process of the template."""
    return Ev("exec", proc, at, syscall="execve", **kw)


def connect(
    proc: str, ip: str, port: int | str, at: float | str = 0.0, *, exit: int = 0, **kw: Any
) -> Ev:
    """An outbound ``connect``; ``exit=-115`` is a non-blocking connect in progress."""
    family = "inet6" if ":" in ip else "inet"
    return Ev(
        "connect",
        proc,
        at,
        syscall="connect",
        success=exit == 0,
        exit=exit,
        ip=ip,
        port=port,
        family=family,
        **kw,
    )


def accept(
    proc: str,
    ip: str,
    port: int | str,
    at: float | str = 0.0,
    *,
    syscall: str = "accept4",
    **kw: Any,
) -> Ev:
    """An inbound ``accept``/``accept4``; ``ip``/``port`` are the peer's."""
    family = "inet6" if ":" in ip else "inet"
    return Ev(
        "accept", proc, at, syscall=syscall, exit="fd", ip=ip, port=port, family=family, **kw
    )


def bind(
    proc: str, ip: str, port: int | str, at: float | str = 0.0, *, exit: int = 0, **kw: Any
) -> Ev:
    """A ``bind`` of a listening socket to a local address (``exit=-98``: in use)."""
    family = "inet6" if ":" in ip else "inet"
    kw.setdefault("success", exit == 0)
    return Ev("bind", proc, at, syscall="bind", exit=exit, ip=ip, port=port, family=family, **kw)


def write(
    proc: str,
    path: str,
    at: float | str = 0.0,
    *,
    name: str | None = None,
    append: bool = False,
    create: bool = True,
    syscall: str = "openat",
    flags: int | None = None,
    **kw: Any,
) -> Ev:
    """An open for writing (``O_WRONLY|O_CREAT|O_TRUNC`` or ``O_APPEND``) or ``creat``.

    ``create`` says whether the file is new (a CREATE PATH item); ``flags``
    overrides the open flags (e.g. ``0o2`` for ``O_RDWR`` on an existing file).
    """
    if flags is None:
        flags = 0o2101 if append else 0o1101  # O_WRONLY|O_CREAT|(O_APPEND or O_TRUNC)
    return Ev(
        "open",
        proc,
        at,
        syscall=syscall,
        exit="fd",
        path=path,
        name=name,
        nametype="CREATE" if create else "NORMAL",
        flags=flags,
        mode=0o644,
        **kw,
    )


def rename(
    proc: str,
    src: str,
    dst: str,
    at: float | str = 0.0,
    *,
    syscall: str = "rename",
    src_name: str | None = None,
    dst_name: str | None = None,
    **kw: Any,
) -> Ev:
    """A rename replacing ``dst`` (the kernel logs the new name as a CREATE item)."""
    return Ev(
        "rename",
        proc,
        at,
        syscall=syscall,
        exit=0,
        path=dst,
        name=dst_name,
        old_path=src,
        old_name=src_name,
        nametype="CREATE",
        **kw,
    )


def unlink(
    proc: str, path: str, at: float | str = 0.0, *, syscall: str = "unlinkat", **kw: Any
) -> Ev:
    """Removal of a file."""
    return Ev("unlink", proc, at, syscall=syscall, exit=0, path=path, nametype="DELETE", **kw)


def chmod(
    proc: str,
    path: str,
    mode: int = 0o755,
    at: float | str = 0.0,
    *,
    syscall: str = "fchmodat",
    **kw: Any,
) -> Ev:
    """A permission change (``chmod 755 FILE``)."""
    return Ev(
        "chmod", proc, at, syscall=syscall, exit=0, path=path, nametype="NORMAL", mode=mode, **kw
    )


def mkdir(proc: str, path: str, at: float | str = 0.0, *, syscall: str = "mkdir", **kw: Any) -> Ev:
    """Creation of a directory."""
    return Ev(
        "mkdir", proc, at, syscall=syscall, exit=0, path=path, nametype="CREATE", mode=0o755, **kw
    )


def user_record(record: str, proc: str, at: float | str = 0.0, **kw: Any) -> Ev:
    """A user-space audit record (``USER_LOGIN``, ``CRED_ACQ``, ``LOGIN``...) from ``proc``."""
    return Ev("user", proc, at, record=record, **kw)


@dataclass(frozen=True)
class Uniform:
    """A template variable drawn uniformly from ``[low, high)``."""

    low: float
    high: float


@dataclass(frozen=True)
class LogNormal:
    """A template variable with the given median and log-scale spread, clipped."""

    median: float
    sigma: float
    low: float = 0.0
    high: float = float("inf")


@dataclass(frozen=True)
class Choice:
    """A string template variable picked from ``values`` with ``weights``."""

    values: tuple[str, ...]
    weights: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Child:
    """Instances of another template started by each instance of this one.

    Parameters
    ----------
    template : Template or sequence of (Template, weight)
        What to run; with several, each child picks one by weight.
    parent : str, optional
        The process of this template that becomes the child's :data:`INHERIT`.
    count : int, float or (int, int)
        Children per instance: fixed, Poisson mean, or uniform range.
    between : (offset, offset)
        Start offsets (seconds or a variable such as ``"dur"``), uniform.
    every : float, optional
        Periodic children every so many seconds within ``between``.
    on : {"self", "peer"}
        Run the child on this instance's peer host.
    pass_vars : sequence of (child var, parent var)
        Variables handed down (the user, the session, the source IP are inherited
        anyway).
    """

    template: Template | tuple[tuple[Template, float], ...]
    parent: str | None = None
    count: int | float | tuple[int, int] = 1
    between: tuple[float | str, float | str] = (0.0, 0.0)
    every: float | None = None
    on: str = "self"
    pass_vars: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, eq=False)
class Template:
    """A fixed piece of activity: processes, their events, and child templates."""

    name: str
    procs: tuple[tuple[str, Exec | Fork | Daemon], ...]
    events: tuple[Ev, ...]
    ctx: str = "inherit"
    children: tuple[Child, ...] = ()
    peer: tuple[str, ...] | None = None
    peer_service: str | None = None
    vars: tuple[tuple[str, Any], ...] = ()
    step: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [n for n, _ in self.procs]
        if len(set(names)) != len(names):
            raise ValueError(f"Template {self.name!r} names a process twice: {names}.")
        for ev in self.events:
            if ev.proc not in names:
                raise ValueError(
                    f"Template {self.name!r}: event {ev.kind!r} refers to process {ev.proc!r}, "
                    f"which is not one of {names}."
                )
        for n, p in self.procs:
            parent = getattr(p, "parent", None)
            if isinstance(parent, str) and parent != INHERIT and parent not in names:
                raise ValueError(
                    f"Template {self.name!r}: process {n!r} has unknown parent {parent!r}."
                )


def daemon_call(
    name: str,
    client: tuple[str, Daemon],
    server: tuple[str, Daemon],
    port: int,
    latency: float,
    *,
    peer: Sequence[str],
    exit: int = 0,
    **kw: Any,
) -> Template:
    """A daemon's ``connect`` to a service on a peer host, and the peer's ``accept``.

    ``client`` and ``server`` are (name, process) pairs; the server runs ``on="peer"``.

    Examples
    --------
    >>> t = daemon_call("app_to_redis", ("a", Daemon("app")), ("r", Daemon("redis", on="peer")),
    ...                 6379, 0.001, peer=("cache",))
    >>> [e.syscall for e in t.events], t.ctx, t.peer
    (['connect', 'accept4'], 'daemon', ('cache',))
    """
    (c, client_proc), (s, server_proc) = client, server
    return template(
        name,
        {c: client_proc, s: server_proc},
        [connect(c, "{peer_ip}", port, exit=exit), accept(s, "{ip}", "eport", latency)],
        ctx="daemon",
        peer=peer,
        **kw,
    )


def template(
    name: str,
    procs: Mapping[str, Exec | Fork | Daemon],
    events: Sequence[Ev],
    *,
    ctx: str = "inherit",
    children: Sequence[Child] = (),
    peer: Sequence[str] | None = None,
    peer_service: str | None = None,
    vars: Mapping[str, Any] | None = None,
    step: str | None = None,
    **meta: Any,
) -> Template:
    """Build a :class:`Template` from a mapping of processes and a list of events.

    Examples
    --------
    >>> t = template("hello", {"sh": Exec(("/bin/sh", "-c", "id"), parent=Daemon("cron"))},
    ...              [exec_("sh")], ctx="cron")
    >>> t.name, [n for n, _ in t.procs], t.events[0].syscall
    ('hello', ['sh'], 'execve')
    """
    return Template(
        name=name,
        procs=tuple(procs.items()),
        events=tuple(events),
        ctx=ctx,
        children=tuple(children),
        peer=None if peer is None else tuple(peer),
        peer_service=peer_service,
        vars=tuple((vars or {}).items()),
        step=step,
        meta=dict(meta),
    )
