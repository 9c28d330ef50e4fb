"""What the simulated fleet is made of: accounts, binaries, services, groups, networks.

This is static knowledge about a Debian 12 style server fleet: where binaries live
(merged ``/usr``: ``/bin/chmod`` runs ``/usr/bin/chmod``), which names are symlinks
(``sh`` is ``dash``, ``python3`` is ``python3.11``), which commands are scripts and
their interpreters (``psql`` is a Perl wrapper, ``gunzip`` a shell script), the
accounts with their uids, the long-running services of each server group, and the
address plan. The engine resolves templates against it.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

__all__ = [
    "ADMINS",
    "GROUPS",
    "POOLS",
    "SERVICES",
    "USERS",
    "GroupSpec",
    "Service",
    "User",
    "resolve_exec",
    "syscall_number",
    "user_index",
]


@dataclass(frozen=True)
class User:
    """An account of the fleet (the same on every host)."""

    name: str
    uid: int
    gid: int
    group: str
    home: str


USERS: tuple[User, ...] = (
    User("root", 0, 0, "root", "/root"),
    User("daemon", 1, 1, "daemon", "/usr/sbin"),
    User("www-data", 33, 33, "www-data", "/var/www"),
    User("_apt", 42, 65534, "nogroup", "/nonexistent"),
    User("nobody", 65534, 65534, "nogroup", "/nonexistent"),
    User("messagebus", 100, 107, "messagebus", "/nonexistent"),
    User("sshd", 101, 65534, "nogroup", "/run/sshd"),
    User("postgres", 104, 111, "postgres", "/var/lib/postgresql"),
    User("nagios", 105, 112, "nagios", "/var/lib/nagios"),
    User("redis", 106, 113, "redis", "/var/lib/redis"),
    User("prometheus", 107, 114, "prometheus", "/var/lib/prometheus"),
    User("memcache", 108, 115, "memcache", "/nonexistent"),
    User("systemd-network", 998, 998, "systemd-network", "/"),
    User("systemd-timesync", 997, 997, "systemd-timesync", "/"),
    User("systemd-resolve", 996, 996, "systemd-resolve", "/"),
    User("shop", 990, 990, "shop", "/srv/shop"),
    User("billing", 991, 991, "billing", "/opt/billing"),
    User("alice", 1000, 1000, "alice", "/home/alice"),
    User("bob", 1001, 1001, "bob", "/home/bob"),
    User("carol", 1002, 1002, "carol", "/home/carol"),
    User("dave", 1003, 1003, "dave", "/home/dave"),
    User("deploy", 1500, 1500, "deploy", "/home/deploy"),
)
_USER_INDEX = {u.name: i for i, u in enumerate(USERS)}

#: The operations team, with how often each logs in.
ADMINS: tuple[tuple[str, float], ...] = (
    ("alice", 0.4),
    ("bob", 0.3),
    ("carol", 0.2),
    ("dave", 0.1),
)


def user_index(name: str) -> int:
    """Position of an account in :data:`USERS`.

    Examples
    --------
    >>> USERS[user_index("www-data")].uid
    33
    """
    try:
        return _USER_INDEX[name]
    except KeyError:
        raise ValueError(
            f"Unknown simulated account {name!r}; known accounts: {sorted(_USER_INDEX)}."
        ) from None


# --- binaries --------------------------------------------------------------------

_SBIN = set(
    """sshd cron rsyslogd auditd nginx apache2 apache2ctl iptables ip6tables nft
    logrotate fstrim e2scrub_all ldconfig update-alternatives invoke-rc.d update-rc.d
    needrestart service sysctl modprobe lsmod blkid ip ss dmidecode nrpe nagios4
    useradd usermod groupadd chpasswd visudo dpkg-reconfigure runuser a2enmod
    a2dismod pam-auth-update iotop tcpdump arp route ifup xtables-nft-multi
    killall5 rkhunter postfix sendmail unix_chkpwd pg_updatedicts chronyd
    mkfs.ext4 e2fsck dumpe2fs tune2fs fdisk parted lvs vgs pvs swapon mount.nfs
    fail2ban-server getcap setcap""".split()
)
_BIN_DIRS: dict[str, str] = {name: "/usr/sbin" for name in _SBIN}

#: Symlinks resolved by the kernel when it reports ``exe`` (after merged /usr).
SYMLINKS: dict[str, str] = {
    "/usr/bin/sh": "/usr/bin/dash",
    "/usr/bin/python3": "/usr/bin/python3.11",
    "/usr/bin/awk": "/usr/bin/mawk",
    "/usr/bin/vi": "/usr/bin/vim.basic",
    "/usr/bin/vim": "/usr/bin/vim.basic",
    "/usr/bin/view": "/usr/bin/vim.basic",
    "/usr/bin/editor": "/usr/bin/vim.basic",
    "/usr/bin/nc": "/usr/bin/nc.openbsd",
    "/usr/bin/netcat": "/usr/bin/nc.openbsd",
    "/usr/bin/pager": "/usr/bin/less",
    "/usr/bin/pidof": "/usr/sbin/killall5",
    "/usr/sbin/init": "/usr/lib/systemd/systemd",
    "/usr/sbin/iptables": "/usr/sbin/xtables-nft-multi",
    "/usr/sbin/ip6tables": "/usr/sbin/xtables-nft-multi",
    "/usr/bin/which": "/usr/bin/which.debianutils",
    "/usr/bin/psql": "/usr/share/postgresql-common/pg_wrapper",
    "/usr/bin/pg_dump": "/usr/share/postgresql-common/pg_wrapper",
    "/usr/bin/pg_dumpall": "/usr/share/postgresql-common/pg_wrapper",
    "/usr/bin/vacuumdb": "/usr/share/postgresql-common/pg_wrapper",
    "/usr/bin/pg_basebackup": "/usr/share/postgresql-common/pg_wrapper",
    "/usr/bin/pg_isready": "/usr/share/postgresql-common/pg_wrapper",
    "/usr/bin/ftp": "/usr/bin/netkit-ftp",
    "/usr/bin/mt": "/usr/bin/mt-gnu",
    "/usr/bin/rview": "/usr/bin/vim.basic",
    "/usr/bin/traceroute": "/usr/bin/traceroute.db",
    "/usr/bin/nawk": "/usr/bin/mawk",
    "/usr/bin/gpg2": "/usr/bin/gpg",
    "/usr/bin/telnet": "/usr/bin/inetutils-telnet",
    "/usr/bin/mail": "/usr/bin/bsd-mailx",
    "/usr/sbin/sendmail": "/usr/sbin/postfix",
    "/usr/bin/lzma": "/usr/bin/xz",
    "/usr/bin/unxz": "/usr/bin/xz",
    "/usr/bin/xzcat": "/usr/bin/xz",
    "/usr/bin/bunzip2": "/usr/bin/bzip2",
    "/usr/bin/nc.traditional": "/usr/bin/nc.traditional",
    "/usr/bin/rbash": "/usr/bin/bash",
    "/usr/bin/lsof": "/usr/bin/lsof",
    "/usr/bin/mawk": "/usr/bin/mawk",
    "/usr/bin/gawk": "/usr/bin/gawk",
}

#: Scripts and their shebang (interpreter and interpreter arguments), by real path.
SCRIPTS: dict[str, tuple[str, ...]] = {
    "/usr/share/postgresql-common/pg_wrapper": ("/usr/bin/perl",),
    "/usr/bin/pg_lsclusters": ("/usr/bin/perl",),
    "/usr/bin/pg_ctlcluster": ("/usr/bin/perl",),
    "/usr/bin/gunzip": ("/bin/sh",),
    "/usr/bin/zcat": ("/bin/sh",),
    "/usr/bin/zgrep": ("/bin/sh",),
    "/usr/bin/zless": ("/bin/sh",),
    "/usr/bin/which.debianutils": ("/bin/sh",),
    "/usr/bin/ldd": ("/bin/bash",),
    "/usr/bin/savelog": ("/bin/sh",),
    "/usr/bin/lesspipe": ("/bin/sh",),
    "/usr/bin/lsb_release": ("/usr/bin/python3", "-Es"),
    "/usr/bin/unattended-upgrade": ("/usr/bin/python3",),
    "/usr/bin/deb-systemd-helper": ("/usr/bin/perl",),
    "/usr/bin/deb-systemd-invoke": ("/usr/bin/perl",),
    "/usr/bin/certbot": ("/usr/bin/python3",),
    "/usr/bin/aws": ("/usr/bin/python3",),
    "/usr/bin/fail2ban-client": ("/usr/bin/python3",),
    "/usr/sbin/fail2ban-server": ("/usr/bin/python3",),
    "/usr/sbin/needrestart": ("/usr/bin/perl",),
    "/usr/sbin/invoke-rc.d": ("/bin/sh",),
    "/usr/sbin/update-rc.d": ("/usr/bin/perl",),
    "/usr/sbin/service": ("/bin/sh",),
    "/usr/sbin/pam-auth-update": ("/usr/bin/perl",),
    "/usr/sbin/e2scrub_all": ("/bin/bash",),
    "/usr/sbin/rkhunter": ("/bin/sh",),
    "/usr/bin/ssh-copy-id": ("/bin/sh",),
    "/usr/bin/debsums": ("/usr/bin/perl",),
    "/usr/lib/apt/apt.systemd.daily": ("/bin/sh",),
    "/usr/lib/sysstat/debian-sa1": ("/bin/sh",),
    "/usr/lib/sysstat/sa1": ("/bin/sh",),
    "/opt/chef/bin/chef-client": ("/opt/chef/embedded/bin/ruby", "--disable-gems"),
    "/opt/chef/bin/ohai": ("/opt/chef/embedded/bin/ruby", "--disable-gems"),
    "/srv/shop/venv/bin/gunicorn": ("/srv/shop/venv/bin/python3.11",),
    "/srv/shop/venv/bin/python3.11": (),
    "/usr/local/bin/backup-db.sh": ("/bin/bash",),
    "/usr/local/bin/healthcheck.sh": ("/bin/bash",),
    "/usr/local/sbin/rotate-app-logs": ("/bin/bash",),
    "/opt/billing/bin/reconcile.sh": ("/bin/bash",),
    "/usr/lib/nagios/plugins/check_log": ("/bin/sh",),
    "/usr/lib/nagios/plugins/check_ifstatus": ("/usr/bin/perl",),
    "/usr/share/nagios4/htdocs/ssi/common-header.ssi": ("/bin/bash",),
    "/etc/cron.daily/apt-compat": ("/bin/sh",),
    "/etc/cron.daily/dpkg": ("/bin/sh",),
    "/etc/cron.daily/man-db": ("/bin/sh",),
    "/etc/cron.daily/logrotate": ("/bin/sh",),
    "/etc/cron.daily/sysstat": ("/bin/sh",),
    "/etc/cron.daily/rkhunter": ("/bin/sh",),
    "/etc/cron.weekly/man-db": ("/bin/sh",),
    "/etc/cron.weekly/rkhunter": ("/bin/sh",),
    "/etc/cron.monthly/rkhunter": ("/bin/sh",),
    "/var/lib/dpkg/info/openjdk-17-jre-headless:amd64.postinst": ("/bin/sh",),
    "/var/lib/dpkg/info/openjdk-17-jre-headless:arm64.postinst": ("/bin/sh",),
    "/var/lib/dpkg/info/openssl.postinst": ("/bin/sh",),
    "/var/lib/dpkg/info/libc-bin.postinst": ("/bin/sh",),
    "/var/lib/dpkg/info/man-db.postinst": ("/bin/sh",),
}
# The venv's python3.11 is a symlink to the system interpreter.
SYMLINKS["/srv/shop/venv/bin/python3.11"] = "/usr/bin/python3.11"
del SCRIPTS["/srv/shop/venv/bin/python3.11"]


def _merged_usr(path: str) -> str:
    for old, new in (("/bin/", "/usr/bin/"), ("/sbin/", "/usr/sbin/"), ("/lib/", "/usr/lib/")):
        if path.startswith(old):
            return new + path[len(old) :]
    return path


def realpath(path: str) -> str:
    """Resolve merged-/usr and catalog symlinks the way the kernel reports ``exe``.

    Examples
    --------
    >>> realpath("/bin/sh"), realpath("/bin/chmod"), realpath("/sbin/init")
    ('/usr/bin/dash', '/usr/bin/chmod', '/usr/lib/systemd/systemd')
    """
    seen = 0
    path = _merged_usr(path)
    while path in SYMLINKS and SYMLINKS[path] != path and seen < 8:
        path = _merged_usr(SYMLINKS[path])
        seen += 1
    return path


def which(name: str) -> str:
    """Where ``$PATH`` finds a bare command name.

    Examples
    --------
    >>> which("curl"), which("sshd"), which("/opt/x")
    ('/usr/bin/curl', '/usr/sbin/sshd', '/opt/x')
    """
    if "/" in name:
        return name
    return posixpath.join(_BIN_DIRS.get(name, "/usr/bin"), name)


@dataclass(frozen=True)
class Resolved:
    """How the kernel sees one execve."""

    path: str  # filename given to execve (PATH item 0)
    exe: str  # what SYSCALL exe= reports
    comm: str  # 15-byte comm
    argv: tuple[str, ...]  # argv as EXECVE logs it (after shebang rewriting)
    interp: str | None  # shebang interpreter as written (PATH item 1) for scripts


def resolve_exec(argv: tuple[str, ...], path: str | None = None) -> Resolved:
    """Resolve an execve of ``argv`` (static strings) against the catalog.

    Examples
    --------
    >>> r = resolve_exec(("psql", "-c", "select 1"))
    >>> r.path, r.exe, r.comm, r.argv, r.interp
    ('/usr/bin/psql', '/usr/bin/perl', 'psql', ('/usr/bin/perl', '/usr/bin/psql', '-c', \
'select 1'), '/usr/bin/perl')
    >>> resolve_exec(("sh", "-c", "true")).exe
    '/usr/bin/dash'
    >>> resolve_exec(("/usr/lib/systemd/systemd-journald",)).comm
    'systemd-journal'
    """
    path0 = path if path is not None else which(argv[0])
    real = realpath(path0)
    shebang = SCRIPTS.get(real)
    comm = posixpath.basename(path0).encode()[:15].decode("ascii", "ignore")
    if shebang:
        interp = shebang[0]
        new_argv = (interp, *shebang[1:], path0, *argv[1:])
        return Resolved(path0, realpath(interp), comm, new_argv, interp)
    return Resolved(path0, real, comm, tuple(argv), None)


# --- services --------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    """A long-running service started by systemd.

    ``argv`` may hold ``{var}`` placeholders resolved at each (re)start (versions).
    """

    name: str
    argv: tuple[str, ...]
    user: str = "root"
    exe: str | None = None
    path: str | None = None
    title: tuple[str, ...] | None = None
    workers: int = 0
    worker_user: str | None = None
    worker_title: tuple[str, ...] | None = None
    binds: tuple[tuple[str, int], ...] = ()
    cwd: str = "/"
    comm: str | None = None


def _svc(name: str, argv: str | tuple[str, ...], **kw: object) -> Service:
    if isinstance(argv, str):
        argv = tuple(argv.split())
    return Service(name, argv, **kw)  # type: ignore[arg-type]


SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        _svc("init", "/sbin/init", comm="systemd"),
        _svc("systemd-journald", "/usr/lib/systemd/systemd-journald"),
        _svc("systemd-udevd", "/usr/lib/systemd/systemd-udevd"),
        _svc("systemd-networkd", "/usr/lib/systemd/systemd-networkd", user="systemd-network"),
        _svc(
            "systemd-resolved",
            "/usr/lib/systemd/systemd-resolved",
            user="systemd-resolve",
            binds=(("127.0.0.53", 53), ("127.0.0.54", 53)),
        ),
        _svc("systemd-timesyncd", "/usr/lib/systemd/systemd-timesyncd", user="systemd-timesync"),
        _svc("systemd-logind", "/usr/lib/systemd/systemd-logind"),
        _svc(
            "dbus",
            "/usr/bin/dbus-daemon --system --address=systemd: --nofork --nopidfile "
            "--systemd-activation --syslog-only",
            user="messagebus",
        ),
        _svc("auditd", "/sbin/auditd"),
        _svc("rsyslog", "/usr/sbin/rsyslogd -n -iNONE"),
        _svc("cron", "/usr/sbin/cron -f"),
        _svc(
            "sshd",
            "/usr/sbin/sshd -D",
            title=("sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",),
            binds=(("0.0.0.0", 22), ("::", 22)),
        ),
        _svc("ssm-agent", "/usr/bin/amazon-ssm-agent"),
        _svc(
            "node_exporter",
            "/usr/bin/prometheus-node-exporter",
            user="prometheus",
            binds=(("::", 9100),),
        ),
        _svc(
            "filebeat",
            "/usr/share/filebeat/bin/filebeat --environment systemd -c "
            "/etc/filebeat/filebeat.yml --path.home /usr/share/filebeat --path.config "
            "/etc/filebeat --path.data /var/lib/filebeat --path.logs /var/log/filebeat",
        ),
        _svc(
            "nrpe",
            "/usr/sbin/nrpe -c /etc/nagios/nrpe.cfg -f",
            user="nagios",
            binds=(("0.0.0.0", 5666), ("::", 5666)),
        ),
        # web
        _svc(
            "nginx",
            ("/usr/sbin/nginx", "-g", "daemon on; master_process on;"),
            title=("nginx: master process /usr/sbin/nginx -g daemon on; master_process on;",),
            workers=2,
            worker_user="www-data",
            worker_title=("nginx: worker process",),
            binds=(("0.0.0.0", 80), ("::", 80), ("0.0.0.0", 443), ("::", 443)),
        ),
        _svc(
            "shop",
            (
                "/srv/shop/venv/bin/gunicorn",
                "--workers",
                "4",
                "--bind",
                "127.0.0.1:8000",
                "--chdir",
                "/srv/shop/releases/{shop_rel}",
                "shop.wsgi:application",
            ),
            user="shop",
            title=("gunicorn: master [shop.wsgi:application]",),
            workers=4,
            worker_title=("gunicorn: worker [shop.wsgi:application]",),
            binds=(("127.0.0.1", 8000),),
            cwd="/srv/shop/releases/{shop_rel}",
        ),
        # db
        _svc(
            "postgresql",
            "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main "
            "-c config_file=/etc/postgresql/15/main/postgresql.conf",
            user="postgres",
            title=("postgres: 15/main: postmaster",),
            workers=3,
            worker_title=("postgres: 15/main: background writer",),
            binds=(("0.0.0.0", 5432), ("::", 5432)),
            cwd="/var/lib/postgresql/15/main",
        ),
        _svc(
            "pgbouncer",
            "/usr/sbin/pgbouncer /etc/pgbouncer/pgbouncer.ini",
            user="postgres",
            binds=(("0.0.0.0", 6432),),
        ),
        # worker
        _svc("containerd", "/usr/bin/containerd"),
        _svc(
            "dockerd",
            "/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock",
        ),
        _svc(
            "billing",
            (
                "/usr/lib/jvm/java-17-openjdk-{jvm}/bin/java",
                "-Xms512m",
                "-Xmx2g",
                "-Dspring.profiles.active=prod",
                "-jar",
                "/opt/billing/billing-{billing}.jar",
            ),
            user="billing",
            binds=(("0.0.0.0", 8081),),
            cwd="/opt/billing",
        ),
        # bastion
        _svc(
            "fail2ban",
            "/usr/bin/python3 /usr/bin/fail2ban-server -xf start",
            path="/usr/sbin/fail2ban-server",
        ),
        # monitoring
        _svc(
            "nagios",
            "/usr/sbin/nagios4 /etc/nagios4/nagios.cfg",
            user="nagios",
            cwd="/",
        ),
        _svc(
            "apache2",
            "/usr/sbin/apache2 -k start",
            workers=5,
            worker_user="www-data",
            binds=(("::", 80),),
        ),
        _svc(
            "prometheus",
            "/usr/bin/prometheus --config.file=/etc/prometheus/prometheus.yml "
            "--storage.tsdb.path=/var/lib/prometheus/metrics2",
            user="prometheus",
            binds=(("::", 9090),),
            cwd="/var/lib/prometheus",
        ),
        # cache
        _svc(
            "redis",
            "/usr/bin/redis-server 127.0.0.1:6379",
            user="redis",
            title=("/usr/bin/redis-server 0.0.0.0:6379",),
            binds=(("0.0.0.0", 6379), ("::", 6379)),
            cwd="/var/lib/redis",
        ),
        _svc(
            "memcached",
            "/usr/bin/memcached -m 64 -p 11211 -u memcache -l 0.0.0.0 -P "
            "/var/run/memcached/memcached.pid",
            user="memcache",
            binds=(("0.0.0.0", 11211),),
        ),
    )
}

BASE_SERVICES: tuple[str, ...] = (
    "init", "systemd-journald", "systemd-udevd", "systemd-networkd", "systemd-resolved",
    "systemd-timesyncd", "dbus", "systemd-logind", "auditd", "rsyslog", "cron", "sshd",
    "ssm-agent", "node_exporter", "filebeat", "nrpe",
)  # fmt: skip


@dataclass(frozen=True)
class GroupSpec:
    """A server role: its services, application directory, architecture and pid range."""

    name: str
    services: tuple[str, ...]
    app_dir: str
    subnet: int
    arch: str = "x86_64"
    pid_max: int = 32768
    busy: float = 1.0  # hidden forks/threads between audited processes (pid gaps)
    versions: tuple[tuple[str, str], ...] = field(default_factory=tuple)


GROUPS: dict[str, GroupSpec] = {
    g.name: g
    for g in (
        GroupSpec("web", ("nginx", "shop"), "/srv/shop", 1, pid_max=4194304, busy=6.0),
        GroupSpec("db", ("postgresql", "pgbouncer"), "/etc/postgresql", 2, busy=2.0),
        GroupSpec("worker", ("containerd", "dockerd", "billing"), "/opt/billing", 3, busy=8.0),
        GroupSpec("bastion", ("fail2ban",), "/etc/ssh", 4, busy=1.0),
        GroupSpec("monitoring", ("nagios", "apache2", "prometheus"), "/etc/nagios4", 5, busy=3.0),
        GroupSpec("cache", ("redis", "memcached"), "/etc/redis", 6, arch="aarch64", busy=1.5),
    )
}

# --- networks --------------------------------------------------------------------

#: Named address pools for ``{pool.NAME}`` placeholders.
POOLS: dict[str, tuple[str, ...]] = {
    "lb": ("10.0.0.10", "10.0.0.11", "10.0.0.12"),
    "vpn": ("10.8.0.6", "10.8.0.10", "10.8.0.14", "10.8.0.18", "10.8.0.22"),
    "internet_scanners": (
        "198.51.100.7",
        "198.51.100.23",
        "198.51.100.101",
        "198.51.100.142",
        "198.51.100.199",
        "192.0.2.44",
        "192.0.2.87",
        "192.0.2.150",
    ),
    "debian_mirror": ("151.101.2.132", "151.101.66.132", "151.101.130.132", "2a04:4e42::644"),
    "s3": ("52.217.45.118", "52.216.8.61", "54.231.202.80", "3.5.9.206"),
    "ssm": ("52.94.228.167", "52.94.229.13"),
    "payments_api": ("104.18.10.222", "104.18.11.222"),
    "acme": ("172.65.32.248",),
    "ntp": ("169.254.169.123",),
    "registry": ("10.0.0.30",),
    "logstash": ("10.0.0.20",),
    "chef": ("10.0.0.5",),
    "db_vip": ("10.0.2.100",),
    "smtp": ("10.0.0.25",),
    "github": ("140.82.112.3", "140.82.113.4"),
    "pypi": ("151.101.0.223", "151.101.64.223"),
}

# x86_64 and aarch64 numbers of the syscalls the simulator writes (Linux uapi tables;
# identical to ``ausyscall --dump``). aarch64 has no open/creat/rename/unlink/chmod.
_SYSCALLS = {
    "x86_64": {
        "execve": 59, "connect": 42, "accept": 43, "accept4": 288, "bind": 49,
        "openat": 257, "open": 2, "creat": 85, "mkdir": 83, "mkdirat": 258, "rename": 82,
        "renameat": 264, "renameat2": 316, "unlink": 87, "unlinkat": 263, "chmod": 90,
        "fchmodat": 268, "write": 1,
    },
    "aarch64": {
        "execve": 221, "connect": 203, "accept": 202, "accept4": 242, "bind": 200,
        "openat": 56, "mkdirat": 34, "renameat": 38, "renameat2": 276, "unlinkat": 35,
        "fchmodat": 53, "write": 64,
    },
}  # fmt: skip

#: x86-only syscalls and what the same program calls on aarch64.
AARCH64_EQUIVALENT = {
    "open": "openat", "creat": "openat", "rename": "renameat", "unlink": "unlinkat",
    "chmod": "fchmodat", "mkdir": "mkdirat",
}  # fmt: skip

ARCH_HEX = {"x86_64": "c000003e", "aarch64": "c00000b7"}


def syscall_number(arch: str, name: str) -> int:
    """Syscall number for writing logs (prefers ``behavemodel.io``'s tables).

    Examples
    --------
    >>> syscall_number("x86_64", "execve"), syscall_number("aarch64", "connect")
    (59, 203)
    """
    try:
        from behavemodel.io._audit_tables import syscall_number as lookup

        number = lookup(arch, name)
        if number is not None:
            return int(number)
    except ImportError:  # pragma: no cover - the io package is optional here
        pass
    return _SYSCALLS[arch][name]
