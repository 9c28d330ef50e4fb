"""Compile templates once into flat process and event descriptions the engine vectorises.

A compiled template resolves what can be resolved ahead of time: executable
paths through the catalog (symlinks, script interpreters, comm truncation), the
argv the kernel will log, the audit key of each file watch, and which strings are
static (interned once) and which hold ``{var}`` placeholders (filled per instance).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from behavemodel.datasets import _catalog as cat
from behavemodel.datasets._rows import Vocab
from behavemodel.datasets._templates import INHERIT, Child, Daemon, Ev, Exec, Fmt, Template

__all__ = ["CEv", "CProc", "CTemplate", "Compiler", "file_key"]


K_EXEC, K_FORK, K_DAEMON, K_INHERIT = range(4)
U_INHERIT, U_VAR = -1, -2
ALLOC_NONE, ALLOC_SHORT, ALLOC_LONG = -1, 0, 1


@dataclass
class CProc:
    name: str
    kind: int
    parent: int = -1
    on_peer: bool = False
    service: str = ""
    worker: bool = False
    alloc: int = ALLOC_NONE
    local: int = 0
    same: int = -1
    exe: Any = -1
    comm: Any = -1
    argv0: Any = -1
    title0: Any = None
    path0: Any = -1
    interp: Any = -1
    cwd: Any = None
    user: int = U_INHERIT
    euser: int = -1
    container: bool = False
    title_override: Any = None


@dataclass
class CEv:
    ev: Ev
    proc: int
    at: float
    at_var: str | None
    fmts: dict[str, Any]
    port: Any
    key: int
    step: int
    record: int
    syscall: int
    event_type: int
    direction: int
    family: int
    nametype: int


@dataclass
class CTemplate:
    tpl: Template
    procs: list[CProc]
    events: list[CEv]
    n_alloc: dict[tuple[bool, int], int]
    ses_self: bool
    children: list[tuple[Child, list[tuple[CTemplate, float]], int]] = field(default_factory=list)
    needs_self: set[str] = field(default_factory=set)
    needs_peer: set[str] = field(default_factory=set)
    vars: dict[str, Any] = field(default_factory=dict)


_FILE_KEYS = (
    ("/.ssh/", "ssh_keys"),
    ("/var/spool/cron", "cron"),
    ("/etc/cron", "cron"),
    ("/etc/ssh/", "sshd_config"),
    ("/etc/sudoers", "sudoers"),
    ("/etc/passwd", "identity"),
    ("/etc/shadow", "identity"),
    ("/etc/", "etc"),
    ("/srv/", "app_dir"),
    ("/opt/billing", "app_dir"),
    ("/tmp/", "tmp"),
    ("/var/tmp/", "tmp"),
    ("/dev/shm/", "tmp"),
    ("/usr/", "packages"),
    ("/var/lib/dpkg", "packages"),
    ("/var/run/utmp", "session"),
    ("/run/utmp", "session"),
    ("/var/log/wtmp", "session"),
    ("/var/log/btmp", "session"),
    ("/var/www/", "webroot"),
    ("/root/", "root_home"),
    ("/home/", "home"),
    ("/var/lib/containerd", "containers"),
    ("/var/lib/docker", "containers"),
    ("/var/backups", "backup"),
    ("/var/lib/apt", "apt"),
)


def file_key(text: str) -> str:
    """The audit key of the watch rule that sees a write to ``text``.

    Examples
    --------
    >>> file_key("/etc/nginx/nginx.conf"), file_key("{home}/.ssh/authorized_keys")
    ('etc', 'ssh_keys')
    """
    for prefix, key in _FILE_KEYS:
        if prefix in text if prefix.startswith("/.") else text.startswith(prefix):
            return key
    if text.startswith("{home}"):
        return "home"
    return "file_write"


class Compiler:
    """Turns :class:`Template` objects into :class:`CTemplate` (cached)."""

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        self.cache: dict[int, CTemplate] = {}

    def s(self, text: str | None, extra: Sequence[str] = ()) -> Any:
        """A vocab code for static text, a Fmt for text with placeholders, -1 for None."""
        if text is None:
            return -1
        f = Fmt.parse(text, extra)
        return self.vocab.code(text) if f.is_static else f

    def nul(self, parts: Sequence[str], extra: Sequence[str]) -> Any:
        joined = "\x00".join(parts)
        return self.s(joined, extra)

    def compile(self, tpl: Template) -> CTemplate:
        key = id(tpl)
        hit = self.cache.get(key)
        if hit is not None and hit.tpl is tpl:
            return hit
        extra = [name for name, _ in tpl.vars]
        procs: list[CProc] = []
        index: dict[str, int] = {}
        hidden: dict[Any, int] = {}

        def parent_ref(parent: Any, on: str) -> int:
            if isinstance(parent, Daemon):
                k = ("daemon", parent.service, parent.worker, parent.on)
                if k not in hidden:
                    hidden[k] = len(procs)
                    procs.append(
                        CProc(
                            f"@{parent.service}",
                            K_DAEMON,
                            on_peer=parent.on == "peer",
                            service=parent.service,
                            worker=parent.worker,
                        )
                    )
                return hidden[k]
            if parent == INHERIT:
                if "inherit" not in hidden:
                    hidden["inherit"] = len(procs)
                    procs.append(CProc("@inherit", K_INHERIT))
                return hidden["inherit"]
            return index[parent]

        n_alloc: dict[tuple[bool, int], int] = {}
        for name, p in tpl.procs:
            if isinstance(p, Daemon):
                idx = parent_ref(p, p.on)
                index[name] = idx
                continue
            on_peer = p.on == "peer"
            cp = CProc(name, K_EXEC if isinstance(p, Exec) else K_FORK, on_peer=on_peer)
            if isinstance(p, Exec) and p.same_pid is not None:
                cp.same = index[p.same_pid]
                cp.parent = procs[cp.same].parent
            else:
                cp.parent = parent_ref(p.parent, p.on)
                cp.alloc = ALLOC_LONG if p.long else ALLOC_SHORT
                slot = (on_peer, cp.alloc)
                cp.local = n_alloc.get(slot, 0)
                n_alloc[slot] = cp.local + 1
            cp.user = (
                U_INHERIT
                if p.user is None
                else U_VAR
                if p.user == "{user}"
                else cat.user_index(p.user)
            )
            if isinstance(p, Exec):
                self._exec(cp, p, extra)
            else:
                cp.title_override = None if p.title is None else self.nul(p.title, extra)
            index[name] = len(procs)
            procs.append(cp)
        events = [self._event(tpl, ev, index, procs, extra) for ev in tpl.events]
        ct = CTemplate(
            tpl=tpl,
            procs=procs,
            events=events,
            n_alloc=n_alloc,
            ses_self=tpl.ctx in ("session", "cron"),
            vars=dict(tpl.vars),
        )
        for cp in procs:
            if cp.kind == K_DAEMON:
                (ct.needs_peer if cp.on_peer else ct.needs_self).add(cp.service)
        if tpl.peer_service:
            ct.needs_peer.add(tpl.peer_service)
        self.cache[key] = ct
        for child in tpl.children:
            options = (
                [(child.template, 1.0)]
                if isinstance(child.template, Template)
                else list(child.template)
            )
            compiled = [(self.compile(t), float(w)) for t, w in options]
            parent_idx = -1 if child.parent is None else index[child.parent]
            ct.children.append((child, compiled, parent_idx))
            if child.on == "self":
                for c, _ in compiled:
                    ct.needs_self |= c.needs_self
        return ct

    def _exec(self, cp: CProc, p: Exec, extra: Sequence[str]) -> None:
        argv0 = Fmt.parse(p.argv[0], extra)
        path_text = p.path
        if argv0.is_static and (path_text is None or Fmt.parse(path_text, extra).is_static):
            r = cat.resolve_exec((p.argv[0],), path_text)
            shebang = r.argv[:-1] if r.interp is not None else ()
            if p.interp is not None:
                shebang = (p.interp,)
            logged = (*shebang, r.path, *p.argv[1:]) if shebang else (p.argv[0], *p.argv[1:])
            cp.path0 = self.vocab.code(r.path)
            exe = p.exe or (cat.realpath(shebang[0]) if shebang else r.exe)
            cp.exe = self.s(exe, extra)
            cp.comm = self.vocab.code(p.comm or r.comm)
            cp.interp = self.vocab.code(shebang[0]) if shebang else -1
        else:
            path = path_text or p.argv[0]
            cp.path0 = self.s(path, extra)
            cp.exe = self.s(p.exe or path, extra)
            base = Fmt.parse(path, extra).pieces[-1][1].rsplit("/", 1)[-1]
            cp.comm = self.vocab.code(p.comm or base.encode()[:15].decode())
            shebang = (p.interp,) if p.interp else ()
            cp.interp = self.vocab.code(p.interp) if p.interp else -1
            logged = (*shebang, path, *p.argv[1:]) if shebang else tuple(p.argv)
        cp.argv0 = self.nul(logged, extra)
        cp.title0 = None if p.title is None else self.nul(p.title, extra)
        cp.cwd = None if p.cwd is None else self.s(p.cwd, extra)
        cp.euser = -1 if p.euid is None else cat.user_index(p.euid)
        cp.container = p.container

    def _event(
        self,
        tpl: Template,
        ev: Ev,
        index: dict[str, int],
        procs: list[CProc],
        extra: Sequence[str],
    ) -> CEv:
        v = self.vocab
        at: float = 0.0
        at_var: str | None = None
        if isinstance(ev.at, str):
            name, _, off = ev.at.partition("+")
            at_var, at = name, float(off or 0.0)
        else:
            at = float(ev.at)
        fmts = {}
        for fname in ("ip", "path", "name", "old_path", "old_name", "acct", "terminal", "addr"):
            text = getattr(ev, fname)
            fmts[fname] = self.s(text, extra)
        port: Any = ev.port
        kind = ev.kind
        event_type = {
            "exec": "process_start",
            "connect": "net_connect",
            "accept": "net_accept",
            "bind": "net_listen",
            "open": "file_write",
            "rename": "file_write",
            "unlink": "file_write",
            "chmod": "file_write",
            "mkdir": "file_write",
        }.get(kind, "other")
        if kind == "user" and ev.record == "USER_LOGIN":
            event_type = "login"
        direction = {"connect": "outbound", "accept": "inbound", "bind": "listen"}.get(kind)
        if ev.key is not None:
            key = ev.key
        elif kind == "exec":
            key = "exec"
        elif kind in ("connect", "accept", "bind"):
            key = {
                "connect": "network_connect",
                "accept": "network_accept",
                "bind": "network_bind",
            }[kind]
        elif kind in ("open", "rename", "unlink", "chmod", "mkdir"):
            key = file_key(ev.path or "")
        else:
            key = None
        step = ev.step or tpl.step
        return CEv(
            ev=ev,
            proc=index[ev.proc],
            at=at,
            at_var=at_var,
            fmts=fmts,
            port=port,
            key=v.code(key),
            step=v.code(step),
            record=v.code(ev.record or "SYSCALL"),
            syscall=v.code(None if kind == "user" else ev.syscall),
            event_type=v.code(event_type),
            direction=v.code(direction),
            family=v.code(ev.family if direction else None),
            nametype=v.code(ev.nametype),
        )
