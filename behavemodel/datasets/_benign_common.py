"""Benign activity every simulated host has: systemd timers, cron, agents, updates, sessions.

chef-client every 30 minutes with its ohai probes, apt and logrotate timers,
cron's sysstat / hourly / daily / weekly / monthly run-parts with their PAM
records, a daily compliance scan, agents phoning home (SSM, NTP, log shipping), the
monitoring host's NRPE checks, weekly security updates with maintainer scripts,
and admin ssh sessions (from the VPN to the bastion, hopping on to other hosts).
"""

from __future__ import annotations

from behavemodel.datasets._sessions import (
    Cmd,
    command_pool,
    command_template,
    failed_login_template,
    hop_template,
    session_template,
)
from behavemodel.datasets._templates import (
    Child,
    Daemon,
    Ev,
    Exec,
    Fork,
    Template,
    accept,
    connect,
    exec_,
    rename,
    template,
    unlink,
    user_record,
    write,
)

__all__ = [
    "GROUP_NAMES",
    "INIT",
    "KNIFE_SSH",
    "NRPE_CHECKS",
    "SESSIONS",
    "chef_run",
    "cron_job",
    "nrpe_check",
]

GROUP_NAMES = ("web", "db", "worker", "bastion", "monitoring", "cache")


INIT = Daemon("init")


_CRON_PAM = dict(terminal="cron", addr="?")


def cron_job(
    name: str,
    command: str,
    procs: dict[str, Exec | Fork | Daemon],
    events: list[Ev],
    *,
    user: str = "root",
    dur: float = 2.0,
    children: tuple[Child, ...] = (),
) -> Template:
    """A crontab line: cron's PAM session records around ``sh -c COMMAND``."""
    all_procs: dict[str, Exec | Fork | Daemon] = {
        "cronx": Fork(Daemon("cron")),
        "sh": Exec(("/bin/sh", "-c", command), parent=Daemon("cron"), user=user,
                   cwd="/root" if user == "root" else None),
    }  # fmt: skip
    all_procs.update(procs)
    pam_open = [
        user_record("USER_ACCT", "cronx", 0.0, ctx="unset", **_CRON_PAM),
        user_record("CRED_ACQ", "cronx", 0.001, ctx="unset", **_CRON_PAM),
        user_record("LOGIN", "cronx", 0.002),
        user_record("USER_START", "cronx", 0.003, **_CRON_PAM),
        exec_("sh", 0.006),
    ]
    pam_close = [
        user_record("CRED_DISP", "cronx", dur, **_CRON_PAM),
        user_record("USER_END", "cronx", dur + 0.001, **_CRON_PAM),
    ]
    return template(
        name,
        all_procs,
        pam_open + events + pam_close,
        ctx="cron",
        children=children,
        cron_user=user,
    )


def _probe(parent: str, argv: str, at: float) -> tuple[str, Exec, Ev]:
    key = "x" + argv.split()[0].rsplit("/", 1)[-1].replace("-", "_") + str(int(at * 1000))
    return key, Exec(tuple(argv.split()), parent=parent), exec_(key, at)


def _sequence(parent: str, lines: list[str], start: float, step: float) -> tuple[dict, list]:
    procs: dict = {}
    events: list = []
    for i, line in enumerate(lines):
        key, p, e = _probe(parent, line, start + i * step)
        procs[key] = p
        events.append(e)
    return procs, events


_OHAI = [
    "uname -s",
    "uname -r",
    "uname -m",
    "hostname",
    "hostname --fqdn",
    "/sbin/ip addr",
    "/sbin/ip -d -s link",
    "/sbin/ip -f inet neigh show",
    "/sbin/ip route show",
    "/sbin/ip -f inet6 route show",
    "lsblk -n -P -b -o NAME,UUID,LABEL,FSTYPE",
    "df -P",
    "df -iP",
    "mount",
    "lscpu",
    "getconf -a",
    "sysctl -n kernel.random.boot_id",
    "dpkg-query -W -f=${Package}\\t${Version}\\n",
    "systemctl --no-pager list-units",
    "lsb_release -a",
    "/usr/bin/which docker",
    "cat /proc/cpuinfo",
    "lspci -vnnmk",
    "/usr/sbin/dmidecode",
    "who -u",
    "getent passwd",
    "ls /sys/class/net",
]


def chef_run(
    name: str, extra_procs: dict | None = None, extra_events: list | None = None, lead: float = 0.0
) -> Template:
    procs: dict = {
        "chef": Exec(("/opt/chef/bin/chef-client", "--no-fork", "-c", "/etc/chef/client.rb"),
                     parent=INIT, cwd="/"),
        "ohai": Fork("chef"),
    }  # fmt: skip
    p, e = _sequence("chef", _OHAI, 1.2, 0.09)
    procs.update(p)
    events: list[Ev] = [
        exec_("chef", 0.0),
        connect("chef", "{pool.chef}", 443, 0.9),
        *e,
        connect("chef", "{pool.chef}", 443, 5.0),
    ]
    procs.update(extra_procs or {})
    events += extra_events or []
    # deploys get the old and new versions from the plan as {old} / {new}
    change_vars = {"new": None, "old": None} if lead else None
    return template(name, procs, events, ctx="daemon", vars=change_vars, lead_s=lead)


CHEF_RUN = chef_run("chef_client")


CHEF_RUN_ETC = chef_run(
    "chef_client_update_etc",
    extra_events=[
        write("chef", "/etc/.chef-motd{tmp6}", 6.0, key="etc"),
        rename("chef", "/etc/.chef-motd{tmp6}", "/etc/motd", 6.01),
        write("chef", "/etc/ssh/.chef-sshd_config{tmp6}", 6.2),
        rename("chef", "/etc/ssh/.chef-sshd_config{tmp6}", "/etc/ssh/sshd_config", 6.21),
    ],
)


SYSSTAT = cron_job(
    "cron_sysstat",
    "command -v debian-sa1 > /dev/null && debian-sa1 1 1",
    {
        "sa1": Exec(("/usr/lib/sysstat/debian-sa1", "1", "1"), parent="sh"),
        "sa1b": Exec(("/usr/lib/sysstat/sa1", "1", "1"), parent="sa1"),
        "sadc": Exec(
            ("/usr/lib/sysstat/sadc", "-F", "-L", "-S", "DISK", "1", "1", "/var/log/sysstat"),
            parent="sa1b",
        ),
    },
    [exec_("sa1", 0.01), exec_("sa1b", 0.02), exec_("sadc", 0.03)],
    dur=1.1,
)


CRON_HOURLY = cron_job(
    "cron_hourly",
    "cd / && run-parts --report /etc/cron.hourly",
    {"rp": Exec(("run-parts", "--report", "/etc/cron.hourly"), parent="sh")},
    [exec_("rp", 0.01)],
    dur=0.1,
)


_DAILY_SCRIPTS = [
    "/etc/cron.daily/apt-compat",
    "/etc/cron.daily/dpkg",
    "/etc/cron.daily/logrotate",
    "/etc/cron.daily/man-db",
    "/etc/cron.daily/sysstat",
]


def _cron_daily() -> Template:
    procs: dict = {"rp": Exec(("run-parts", "--report", "/etc/cron.daily"), parent="sh")}
    events: list = [exec_("rp", 0.01)]
    for i, script in enumerate(_DAILY_SCRIPTS):
        k = f"s{i}"
        procs[k] = Exec((script,), parent="rp")
        events.append(exec_(k, 0.1 + i * 0.8))
    more = [
        ("s0", "systemctl is-system-running"),
        ("s1", "dpkg --audit"),
        ("s1", "cmp -s /var/lib/dpkg/status /var/backups/dpkg.status.0"),
        ("s1", "cp -p /var/lib/dpkg/status /var/backups/dpkg.status"),
        ("s2", "systemctl is-system-running"),
        ("s3", "start-stop-daemon --version"),
        ("s3", "mandb --quiet"),
        ("s4", "sa2 -A"),
    ]
    # Each probe runs after the script that starts it has exec'd (a child can
    # never appear before its parent's exec in a real log).
    started = {f"s{i}": 0.1 + i * 0.8 for i in range(len(_DAILY_SCRIPTS))}
    probes_of: dict[str, int] = {}
    for par, line in more:
        n = probes_of.get(par, 0)
        probes_of[par] = n + 1
        k, p, e = _probe(par, line, started[par] + 0.05 + 0.12 * n)
        procs[k] = p
        events.append(e)
    procs["sa2"] = Exec(("/usr/lib/sysstat/sadf", "-d", "/var/log/sysstat/sa{dd}"), parent="s4")
    events.append(exec_("sa2", 4.2))
    return cron_job(
        "cron_daily",
        "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }",
        procs,
        events,
        dur=8.0,
    )


CRON_DAILY = _cron_daily()


_AUDIT_TOOLS = [
    "/usr/bin/ssh -V",
    "/usr/sbin/sshd -V",
    "/usr/bin/openssl version",
    "/usr/bin/gpg --version",
    "/usr/bin/bash --version",
    "/usr/bin/python3 --version",
    "/usr/bin/perl -v",
    "/usr/bin/sudo -V",
    "/usr/bin/su --version",
    "/usr/bin/passwd -S root",
    "/usr/bin/chage -l root",
    "/usr/sbin/useradd -D",
    "/usr/bin/crontab -l",
    "/usr/bin/at -V",
    "/usr/bin/find / -xdev -perm -4000 -type f",
    "/usr/bin/stat -c %a /etc/shadow",
    "/usr/bin/getent group sudo",
    "/usr/bin/lsattr /etc/passwd",
    "/usr/sbin/sysctl net.ipv4.ip_forward",
    "/usr/sbin/modprobe -n -v cramfs",
    "/usr/sbin/lsmod",
    "/usr/bin/systemctl is-enabled rsync",
    "/usr/bin/dpkg -s aide",
    "/usr/sbin/auditctl -s",
    "/usr/bin/journalctl --disk-usage",
    "/usr/bin/timedatectl status",
    "/usr/bin/apt-cache policy",
    "/usr/bin/mount",
    "/usr/bin/grep -E ^PermitRootLogin /etc/ssh/sshd_config",
    "/usr/bin/awk -F: ($3==0){print} /etc/passwd",
    "/usr/bin/cut -d: -f1 /etc/shadow",
    "/usr/bin/sort -u /etc/group",
    "/usr/bin/uniq -d",
    "/usr/bin/wc -l /etc/passwd",
    "/usr/bin/ls -l /etc/cron.d",
    "/usr/bin/id -u",
    "/usr/bin/whoami",
    "/usr/bin/uname -a",
    "/usr/sbin/iptables -L -n",
    "/usr/sbin/nft list tables",
    "/usr/bin/ss -lntu",
    "/usr/bin/getcap -r /usr/bin",
    "/usr/bin/file /usr/bin/passwd",
    "/usr/bin/sha256sum /usr/bin/sudo",
    "/usr/bin/md5sum /etc/ssh/sshd_config",
    "/usr/bin/readlink -f /bin/sh",
    "/usr/bin/nproc",
    "/usr/bin/free -m",
    "/usr/bin/df -h",
    "/usr/bin/lsblk -f",
    "/usr/sbin/blkid",
    "/usr/bin/findmnt --verify",
    "/usr/bin/last -n 5",
    "/usr/bin/lastlog",
    "/usr/sbin/pwck -r",
    "/usr/sbin/grpck -r",
    "/usr/bin/tail -n 20 /var/log/auth.log",
    "/usr/bin/head -n 5 /etc/login.defs",
    "/usr/bin/env",
    "/usr/bin/locale",
]


def _weekly_audit() -> Template:
    procs, events = _sequence("sh", _AUDIT_TOOLS, 0.5, 0.4)
    return cron_job(
        "cron_weekly_audit", "/usr/local/sbin/security-audit --quiet", procs, events, dur=30.0
    )


WEEKLY_AUDIT = _weekly_audit()


CRON_WEEKLY = cron_job(
    "cron_weekly",
    "cd / && run-parts --report /etc/cron.weekly",
    {
        "rp": Exec(("run-parts", "--report", "/etc/cron.weekly"), parent="sh"),
        "mandb": Exec(("/etc/cron.weekly/man-db",), parent="rp"),
        "m2": Exec(("mandb", "--quiet", "--create"), parent="mandb"),
        "rk": Exec(("/etc/cron.weekly/rkhunter",), parent="rp"),
        "rk2": Exec(("rkhunter", "--versioncheck", "--nocolors", "--appendlog"), parent="rk"),
    },
    [
        exec_("rp", 0.01),
        exec_("mandb", 0.05),
        exec_("m2", 0.1),
        exec_("rk", 3.0),
        exec_("rk2", 3.1),
        connect("rk2", "{pool.github}", 443, 3.5),
    ],
    dur=8.0,
)


CRON_MONTHLY = cron_job(
    "cron_monthly",
    "cd / && run-parts --report /etc/cron.monthly",
    {
        "rp": Exec(("run-parts", "--report", "/etc/cron.monthly"), parent="sh"),
        "rk": Exec(("/etc/cron.monthly/rkhunter",), parent="rp"),
        "rk2": Exec(("rkhunter", "--update", "--nocolors"), parent="rk"),
        "deb": Exec(("debsums", "-s"), parent="rp"),
        "md5": Exec(("md5sum", "--check", "--quiet"), parent="deb"),
    },
    [
        exec_("rp", 0.01),
        exec_("rk", 0.05),
        exec_("rk2", 0.1),
        connect("rk2", "{pool.github}", 443, 0.8),
        write("rk2", "/var/lib/rkhunter/db/mirrors.dat", 1.5),
        exec_("deb", 4.0),
        exec_("md5", 4.2),
    ],
    dur=60.0,
)


LOGROTATE = template(
    "timer_logrotate",
    {
        "lr": Exec(("/usr/sbin/logrotate", "/etc/logrotate.conf"), parent=INIT),
        "gz": Exec(("gzip", "-9"), parent="lr"),
        "rc": Exec(("/usr/lib/rsyslog/rsyslog-rotate",), parent="lr", interp="/bin/sh"),
        "kill": Exec(("systemctl", "kill", "-s", "HUP", "rsyslog.service"), parent="rc"),
    },
    [exec_("lr"), exec_("gz", 0.3), exec_("rc", 0.6), exec_("kill", 0.62)],
    ctx="daemon",
)


MANDB = template(
    "timer_man_db",
    {"m": Exec(("/usr/bin/mandb", "--quiet"), parent=INIT)},
    [exec_("m")],
    ctx="daemon",
)


TMPFILES = template(
    "timer_tmpfiles",
    {"t": Exec(("systemd-tmpfiles", "--clean"), parent=INIT, path="/usr/bin/systemd-tmpfiles")},
    [
        exec_("t"),
        unlink("t", "/tmp/tmp.{tmp8}", 0.05),
        unlink("t", "/var/tmp/systemd-private-{hex8}.tmp", 0.06),
    ],
    ctx="daemon",
)


FSTRIM = template(
    "timer_fstrim",
    {
        "f": Exec(
            (
                "/sbin/fstrim",
                "--listed-in",
                "/etc/fstab:/proc/self/mountinfo",
                "--verbose",
                "--quiet-unsupported",
            ),
            parent=INIT,
        )
    },
    [exec_("f")],
    ctx="daemon",
)


E2SCRUB = template(
    "timer_e2scrub_all",
    {
        "e": Exec(("/sbin/e2scrub_all", "-A", "-r"), parent=INIT),
        "lvs": Exec(
            ("lvs", "--nameprefixes", "-o", "name,vg_name,lv_role", "--noheadings"),
            parent="e",
            path="/usr/sbin/lvs",
        ),
    },
    [exec_("e"), exec_("lvs", 0.1)],
    ctx="daemon",
)


def _apt_update() -> Template:
    procs: dict = {
        "daily": Exec(("/usr/lib/apt/apt.systemd.daily", "update"), parent=INIT),
        "cfg": Exec(
            ("apt-config", "shell", "StampVar", "APT::Periodic::Update-Package-Lists"),
            parent="daily",
        ),
        "get": Exec(("apt-get", "-qq", "-y", "update"), parent="daily"),
        "http": Exec(("/usr/lib/apt/methods/http",), parent="get", user="_apt"),
        "gpgv": Exec(("/usr/lib/apt/methods/gpgv",), parent="get", user="_apt"),
        "store": Exec(("/usr/lib/apt/methods/store",), parent="get", user="_apt"),
    }
    events = [
        exec_("daily"),
        exec_("cfg", 0.05),
        exec_("get", 0.3),
        exec_("http", 0.35),
        connect("http", "{pool.debian_mirror}", 80, 0.4, exit=-115),
        exec_("gpgv", 1.5),
        exec_("store", 1.6),
        write(
            "store",
            "/var/lib/apt/lists/partial/deb.debian.org_debian_dists_bookworm_InRelease",
            1.7,
        ),
        rename(
            "get",
            "/var/lib/apt/lists/partial/deb.debian.org_debian_dists_bookworm_InRelease",
            "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
            2.0,
        ),
    ]
    return template("timer_apt_update", procs, events, ctx="daemon")


APT_UPDATE = _apt_update()


APT_UPGRADE_NOOP = template(
    "timer_apt_upgrade",
    {
        "daily": Exec(("/usr/lib/apt/apt.systemd.daily", "install"), parent=INIT),
        "uu": Exec(("unattended-upgrade",), parent="daily"),
        "arch": Exec(("dpkg", "--print-architecture"), parent="uu"),
        "lsb": Exec(("lsb_release", "-a"), parent="uu"),
    },
    [exec_("daily"), exec_("uu", 0.1), exec_("arch", 1.0), exec_("lsb", 1.1)],
    ctx="daemon",
)


NTP = template(
    "ntp_sync", {"d": Daemon("systemd-timesyncd")}, [connect("d", "{pool.ntp}", 123)], ctx="daemon"
)


SSM_POLL = template(
    "ssm_poll",
    {"d": Daemon("ssm-agent")},
    [connect("d", "{pool.ssm}", 443, exit=-115)],
    ctx="daemon",
)


FILEBEAT = template(
    "filebeat_reconnect",
    {"d": Daemon("filebeat")},
    [connect("d", "{pool.logstash}", 5044)],
    ctx="daemon",
)


_INVENTORY_SCRIPT = "\n".join(
    ["#!/bin/bash", "set -euo pipefail", "# AWS-GatherSoftwareInventory (simulated)"]
    + [
        f'echo "{{\\"name\\": \\"pkg{i:03d}\\", \\"cmd\\": \\"dpkg-query -W -f=\'${{Package}}'
        f'\\\\t${{Version}}\\\\n\' pkg{i:03d}\\"}}" >> /var/lib/amazon/ssm/inventory.json'
        for i in range(120)
    ]
)  # about 12 kB: the kernel splits it over several EXECVE records


SSM_INVENTORY = template(
    "ssm_inventory",
    {
        "w": Exec(("/usr/bin/ssm-document-worker", "{hex8}-{hex8}"), parent=Daemon("ssm-agent")),
        "sh": Exec(("/bin/bash", "-c", _INVENTORY_SCRIPT), parent="w"),
        "q": Exec(("dpkg-query", "-W"), parent="sh"),
    },
    [exec_("w"), exec_("sh", 0.2), exec_("q", 0.4), connect("w", "{pool.ssm}", 443, 2.0)],
    ctx="daemon",
)


NRPE_CHECKS = ("check_load", "check_disk", "check_procs", "check_swap", "check_users",
               "check_apt")  # fmt: skip


def nrpe_check(check: str) -> Template:
    args = {
        "check_load": "-r -w .15,.10,.05 -c .30,.25,.20",
        "check_disk": "-w 20% -c 10% -p /",
        "check_procs": "-w 250 -c 400",
        "check_swap": "-w 20% -c 10%",
        "check_users": "-w 5 -c 10",
        "check_apt": "",
    }[check]
    cmd = f"/usr/lib/nagios/plugins/{check} {args}".strip()
    return template(
        f"nrpe_{check}",
        {
            "nrpe": Daemon("nrpe"),
            "sh": Exec(("/bin/sh", "-c", cmd), parent=Daemon("nrpe")),
            "chk": Exec(tuple(cmd.split()), same_pid="sh"),
        },
        [accept("nrpe", "{src_ip}", "eport"), exec_("sh", 0.01), exec_("chk", 0.012)],
        ctx="daemon",
    )


def _sessions() -> dict[str, Template]:
    remote = {g: session_template(f"ssh_session_{g}", command_pool(g), mean_commands=12.0)
              for g in GROUP_NAMES}  # fmt: skip
    hops = [(hop_template(g, remote[g]), w) for g, w in
            (("web", 0.3), ("db", 0.2), ("worker", 0.25), ("monitoring", 0.1), ("cache", 0.1),
             ("bastion", 0.05))]  # fmt: skip
    bastion = session_template(
        "ssh_session_bastion_vpn",
        command_pool("bastion"),
        mean_commands=3.0,
        extra_children=[Child(tuple(hops), parent="shell", count=1.3, between=(3.0, "dur-5"))],
    )
    remote["bastion_vpn"] = bastion
    return remote


SESSIONS = _sessions()


SSH_BRUTEFORCE = failed_login_template()

#: ``knife ssh`` from the chef server: the deploy account converges a host on demand.
KNIFE_SSH = session_template(
    "knife_ssh",
    tuple(
        (command_template(Cmd(line), f"knife:{i}"), w)
        for i, (line, w) in enumerate(
            (
                ("sudo chef-client --once -o recipe[base::audit]", 1.0),
                ("uptime", 0.5),
                ("sudo -n true", 0.3),
            )
        )
    ),
    mean_commands=1.5,
    user="deploy",
    src=("10.0.0.5",),
)


def _security_updates() -> Template:
    lib = "/usr/lib/x86_64-linux-gnu"
    deb = "/var/cache/apt/archives/openssl_3.0.13-1~deb12u1_amd64.deb"
    procs: dict = {
        "daily": Exec(("/usr/lib/apt/apt.systemd.daily", "install"), parent=INIT),
        "uu": Exec(("unattended-upgrade",), parent="daily"),
        "http": Exec(("/usr/lib/apt/methods/http",), parent="uu", user="_apt"),
        "dpkg": Exec(
            (
                "/usr/bin/dpkg",
                "--status-fd",
                "10",
                "--no-triggers",
                "--unpack",
                "--auto-deconfigure",
                deb,
            ),
            parent="uu",
        ),
        "debx": Exec(("dpkg-deb", "--fsys-tarfile", deb), parent="dpkg"),
        "prerm": Exec(
            ("/var/lib/dpkg/info/openssl.prerm", "upgrade", "3.0.13-1~deb12u1"),
            parent="dpkg",
            interp="/bin/sh",
        ),
        "cfg": Exec(
            ("/usr/bin/dpkg", "--status-fd", "10", "--configure", "--pending"), parent="uu"
        ),
        "post": Exec(
            ("/var/lib/dpkg/info/openssl.postinst", "configure", "3.0.11-1~deb12u2"), parent="cfg"
        ),
        "mh": Exec(
            ("dpkg-maintscript-helper", "rm_conffile", "/etc/ssl/openssl.cnf.old"),
            parent="post",
            interp="/bin/sh",
        ),
        "ucf": Exec(
            ("ucf", "--three-way", "/usr/share/openssl/openssl.cnf", "/etc/ssl/openssl.cnf"),
            parent="post",
            interp="/bin/sh",
        ),
        "ucfr": Exec(("ucfr", "openssl", "/etc/ssl/openssl.cnf"), parent="post", interp="/bin/sh"),
        "uca": Exec(
            ("update-ca-certificates", "--fresh"),
            parent="post",
            path="/usr/sbin/update-ca-certificates",
            interp="/bin/sh",
        ),
        "rp": Exec(("run-parts", "--test", "/etc/ca-certificates/update.d"), parent="uca"),
        "rehash": Exec(("openssl", "rehash", "/etc/ssl/certs"), parent="uca"),
        "trig": Exec(
            ("/usr/bin/dpkg", "--status-fd", "10", "--triggers-only", "--pending"), parent="uu"
        ),
        "ldc": Exec(("/sbin/ldconfig",), parent="trig", interp="/bin/sh"),
        "ldr": Exec(("/sbin/ldconfig.real",), parent="ldc"),
        "mandb": Exec(("/usr/bin/mandb", "--quiet"), parent="trig"),
        "ii": Exec(("install-info", "--quiet", "/usr/share/info/openssl.info.gz"), parent="trig"),
        "dsh": Exec(("deb-systemd-helper", "unmask", "ssh.service"), parent="trig"),
        "dsi": Exec(("deb-systemd-invoke", "restart", "ssh.service"), parent="trig"),
        "ctl": Exec(("systemctl", "--quiet", "--system", "restart", "ssh.service"), parent="dsi"),
        "sysu": Exec(("systemd-sysusers",), parent="trig", path="/usr/bin/systemd-sysusers"),
        "tmpf": Exec(
            ("systemd-tmpfiles", "--create"), parent="trig", path="/usr/bin/systemd-tmpfiles"
        ),
        "nr": Exec(("needrestart", "-r", "a", "-m", "a"), parent="uu"),
    }
    events: list[Ev] = [
        exec_("daily"),
        exec_("uu", 0.1),
        exec_("http", 1.0),
        connect("http", "{pool.debian_mirror}", 80, 1.1),
        write("http", "/var/cache/apt/archives/partial/openssl_3.0.13-1~deb12u1_amd64.deb", 1.3),
        exec_("dpkg", 5.0),
        exec_("debx", 5.1),
        exec_("prerm", 5.05),
    ]
    for i, f in enumerate(
        (
            f"{lib}/libssl.so.3",
            f"{lib}/libcrypto.so.3",
            "/usr/bin/openssl",
            "/usr/lib/ssl/misc/CA.pl",
        )
    ):
        events.append(write("dpkg", f + ".dpkg-new", 5.3 + i * 0.02))
        events.append(rename("dpkg", f + ".dpkg-new", f, 6.0 + i * 0.01))
    events += [
        write("dpkg", "/var/lib/dpkg/status-new", 6.5),
        rename("dpkg", "/var/lib/dpkg/status-new", "/var/lib/dpkg/status", 6.51),
        exec_("cfg", 7.0),
        exec_("post", 7.1),
        exec_("mh", 7.15),
        exec_("ucf", 7.2),
        exec_("ucfr", 7.3),
        exec_("uca", 7.4),
        exec_("rp", 7.45),
        exec_("rehash", 7.5),
        exec_("trig", 9.0),
        exec_("ldc", 9.1),
        exec_("ldr", 9.12),
        exec_("mandb", 9.5),
        exec_("ii", 10.0),
        exec_("dsh", 10.2),
        exec_("dsi", 10.3),
        exec_("ctl", 10.35),
        exec_("sysu", 10.8),
        exec_("tmpf", 10.9),
        exec_("nr", 12.0),
    ]
    return template("security_updates", procs, events, ctx="daemon")


SECURITY_UPDATES = _security_updates()
