"""Interactive ssh sessions: logins with every PAM record, shells, and commands.

Admins log in from the VPN to the bastion and hop from there to the other hosts
(``ssh web-02``): the ssh client's ``connect`` on the bastion and the ``accept``
and login on the target are one chain of template instances. The commands typed
in a session come from a ranked pool with Zipf-like weights (``ls`` and ``cat``
all the time, ``strace`` once a month), so the executables of a fleet show the
heavy-tailed activity that real fleets do.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from behavemodel.datasets._templates import (
    INHERIT,
    Child,
    Choice,
    Daemon,
    Ev,
    Exec,
    Fork,
    LogNormal,
    Template,
    accept,
    connect,
    exec_,
    template,
    unlink,
    user_record,
    write,
)

__all__ = ["Cmd", "command_pool", "command_template", "session_template"]

ZIPF_S = 1.1


@dataclass(frozen=True)
class Cmd:
    """One command line typed in a session.

    ``line`` is shell syntax (``|`` pipelines, a leading ``sudo``); ``net`` makes
    the (last) command connect somewhere (``"{pool.github}:443"``); ``writes``
    are files it writes (``vim`` also writes and removes its swap file).
    """

    line: str
    net: str | None = None
    writes: tuple[str, ...] = ()
    cwd: str | None = None


def command_template(c: Cmd, name: str) -> Template:
    stages = [shlex.split(part) for part in c.line.split(" | ")]
    procs: dict[str, Exec] = {}
    events: list[Ev] = []
    last = ""
    for i, argv in enumerate(stages):
        key = f"p{i}"
        at = 0.002 * i
        if argv[0] == "sudo":
            procs[f"sudo{i}"] = Exec(tuple(argv), euid="root", cwd=c.cwd)
            procs[key] = Exec(tuple(argv[1:]), parent=f"sudo{i}", user="root")
            events += [exec_(f"sudo{i}", at), exec_(key, at + 0.09)]
            last_at = at + 0.09
        else:
            procs[key] = Exec(tuple(argv), cwd=c.cwd)
            events.append(exec_(key, at))
            last_at = at
        last = key
    if c.net:
        host, _, port = c.net.rpartition(":")
        events.append(connect(last, host, int(port), last_at + 0.05))
    for path in c.writes:
        base = path.rsplit("/", 1)
        swap = f"{base[0]}/.{base[1]}.swp"
        if stages[-1][-1:] and stages[-1][0] in ("vim", "vi", "sudo"):
            events += [
                write(last, swap, last_at + 0.2, key=None),
                write(last, path, last_at + 30.0, create=False),
                unlink(last, swap, last_at + 30.1),
            ]
        else:
            events.append(write(last, path, last_at + 0.05))
    return template(name, procs, events)


# Commands typed in sessions, most frequent first (Zipf rank = line number).
_COMMON_LINES = """
ls -la
ls
cat /etc/os-release
ls -l /var/log
tail -n 100 /var/log/syslog
df -h
uptime
free -m
ps aux | grep -v grep | grep -i java
w
id
sudo systemctl status --no-pager
sudo journalctl -u ssh --since today --no-pager
top -b -n 1 | head -n 20
hostname
grep -r error /var/log/syslog
less /var/log/syslog
sudo tail -n 50 /var/log/auth.log
ip addr
ss -tlnp
cat /proc/loadavg
du -sh /var/log
date
who
uname -a
sudo -i
last -n 20
lsblk
mount | column -t
sudo lsof -i -P -n
systemctl list-timers --no-pager
journalctl -p err -b --no-pager
find /tmp -mtime +7
env
ping -c 3 10.0.0.1
dig +short deb.debian.org
sudo apt list --upgradable
dpkg -l | grep -i ssl
cat /etc/resolv.conf
sudo cat /etc/sudoers.d/ops
stat /etc/passwd
getent passwd alice
sudo ss -s
vmstat 1 5
iostat -x 1 3
sar -q
sudo dmesg -T | tail -n 30
lscpu
nproc
whoami
which python3
python3 --version
file /usr/bin/ssh
sha256sum /usr/bin/ssh
traceroute -n 10.0.0.1
mtr -r -c 3 10.0.0.1
sudo iptables -L -n
sudo nft list ruleset
cat /etc/fstab
sudo blkid
sudo fdisk -l
sudo systemctl list-units --failed --no-pager
tmux ls
screen -ls
sort /etc/passwd | uniq -c | sort -rn | head
awk -F: '{print $1}' /etc/passwd
cut -d: -f1 /etc/group
wc -l /var/log/syslog
head -n 5 /etc/hosts
sudo du -sh /var/lib
ls -lah /tmp
zgrep -i fail /var/log/auth.log.2.gz
zcat /var/log/syslog.2.gz | tail
sudo apt-get update
sudo timedatectl
hostnamectl
localectl
loginctl list-sessions
sudo needrestart -b
ps -eo pid,ppid,cmd --sort=-%mem | head
pstree -p | head -n 40
pgrep -a sshd
nice -n 10 true
sudo ionice -c3 true
tree -L 2 /etc/systemd
md5sum /etc/passwd
base64 /etc/hostname
xxd -l 64 /bin/ls
strings -n 8 /bin/true
openssl version
openssl s_client -connect 10.0.0.5:443 -brief
ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub
gpg --list-keys
git --version
jq --version
sudo lsmod
sudo sysctl -a
getconf PAGESIZE
sudo ausearch -m USER_LOGIN -ts today
sudo aureport --summary
sudo auditctl -l
timeout 5 tcpdump -c 5 -n -i any port 22
nslookup deb.debian.org
host github.com
whois example.org
sudo chage -l alice
groups
realpath /etc/alternatives/editor
readlink -f /usr/bin/python3
basename /usr/bin/python3
dirname /usr/bin/python3
seq 1 3
yes | head -n 2
sleep 1
rev /etc/hostname
tac /etc/hostname
nl /etc/hosts
od -c /etc/hostname
expr 1 + 1
bc -v
factor 42
cal
ncal
shuf -n 1 /etc/services
split --version
paste /etc/hostname /etc/hostname
join --version
comm --version
diff /etc/hosts /etc/hosts
cmp /etc/hosts /etc/hosts
patch --version
tar tzf /var/backups/dpkg.status.1.gz
gzip -t /var/log/syslog.2.gz
bzip2 --help
xz --version
zip -v
unzip -v
rsync --version
scp -V
sftp -V
curl --version
nc -h
socat -V
telnet --help
perl -v
ruby -v
node --version
php -v
lua -v
make --version
gcc --version
strace -V
ltrace -V
gdb --version
valgrind --version
perf --version
sudo iotop -b -n 1
htop --version
ncdu --version
lsof -v
fuser -V
pmap 1
sudo ldd /usr/sbin/sshd
ldconfig -p
locale
sudo visudo -c
sudo pwck -r
sudo grpck -r
sudo faillog -a
lastlog
sudo debsums -s
sudo rkhunter --check --sk
apt-cache show curl
dpkg -L coreutils
dpkg -S /bin/ls
sudo systemd-analyze blame
systemd-cgls --no-pager
busctl list --no-pager
sudo journalctl --vacuum-time=30d
networkctl status
resolvectl status
sudo ethtool eth0
arp -n
route -n
netstat -tulpn
sudo conntrack -L
sudo nstat -az
sudo lsns
nsenter --version
unshare --version
chrt -p 1
taskset -p 1
prlimit --pid 1
sudo slabtop -o
lsipc
lslocks
lslogins
findmnt
sudo smartctl -H /dev/vda
sudo parted -l
sudo pvs
sudo vgs
sudo tune2fs -l /dev/vda1
sudo dumpe2fs -h /dev/vda1
sudo swapon --show
sudo losetup -a
sudo dmsetup ls
sudo blockdev --report
sudo iptables-save
sudo ip6tables -L -n
sudo ipset list
sudo tc qdisc show
sudo bridge link
ip rule
sudo arping -c 1 10.0.0.1
tshark -v
iperf3 --version
nmap --version
lftp --version
rclone version
s3cmd --version
aws --version
terraform version
ansible --version
kubectl version --client
helm version
docker --version
pip3 --version
go version
java -version
npm --version
gem --version
sqlite3 --version
redis-cli --version
ldapsearch -VV
klist -V
getfacl /etc
lsattr /etc/hosts
mktemp -u
shred --version
truncate --version
fallocate --version
dd --version
sync
stdbuf --version
watch --version
atq
crontab -l
logger --version
apt-mark showhold
""".strip().splitlines()

# Commands that also connect or write, and where they rank.
_SPECIAL: dict[int, Cmd] = {
    54: Cmd("curl -sI https://deb.debian.org/", net="{pool.debian_mirror}:443"),
    70: Cmd("wget -q -O /dev/null https://github.com/", net="{pool.github}:443"),
    64: Cmd("vim notes.txt", writes=("{home}/notes.txt",), cwd="{home}"),
    150: Cmd("pip3 download -q --no-deps requests -d /tmp", net="{pool.pypi}:443"),
}


def _common() -> tuple[Cmd, ...]:
    out = [Cmd(line) for line in _COMMON_LINES]
    for rank, cmd in sorted(_SPECIAL.items()):
        out.insert(rank, cmd)
    return tuple(out)


_COMMON = _common()

_GROUP: dict[str, tuple[Cmd, ...]] = {
    "web": (
        Cmd("sudo nginx -t"),
        Cmd("sudo tail -f /var/log/nginx/access.log"),
        Cmd("sudo systemctl status shop"),
        Cmd("curl -s localhost:8000/health"),
        Cmd("sudo systemctl reload nginx"),
        Cmd("ls /srv/shop/releases"),
        Cmd("sudo -u shop /srv/shop/venv/bin/python3.11 -m pip list"),
        Cmd("sudo journalctl -u shop -n 200 --no-pager"),
        Cmd("goaccess --version"),
    ),
    "db": (
        Cmd("sudo -u postgres psql -c 'select count(*) from pg_stat_activity'"),
        Cmd("pg_lsclusters"),
        Cmd("sudo systemctl status postgresql@15-main"),
        Cmd("sudo -u postgres psql -c 'select * from pg_stat_replication'"),
        Cmd("ls -l /var/backups/postgresql"),
        Cmd("sudo du -sh /var/lib/postgresql/15/main"),
        Cmd("pgbench --version"),
        Cmd("sudo -u postgres vacuumdb --analyze-only shop"),
    ),
    "worker": (
        Cmd("sudo docker ps"),
        Cmd("sudo docker images"),
        Cmd("sudo docker logs --tail 50 etl"),
        Cmd("sudo systemctl status billing"),
        Cmd("sudo ctr -n moby containers ls"),
        Cmd("sudo jcmd 1 VM.version"),
        Cmd("ls /opt/billing"),
        Cmd("sudo docker system df"),
        Cmd("sudo runc --root /var/run/docker/runtime-runc/moby list"),
    ),
    "bastion": (
        Cmd("sudo fail2ban-client status sshd"),
        Cmd("ssh-add -l"),
        Cmd("sudo tail -n 100 /var/log/auth.log"),
        Cmd("cat ~/.ssh/config"),
        Cmd("sudo lastb -n 20"),
    ),
    "monitoring": (
        Cmd("sudo nagios4 -v /etc/nagios4/nagios.cfg"),
        Cmd("sudo systemctl reload nagios4"),
        Cmd("curl -s localhost:9090/-/healthy"),
        Cmd("promtool --version"),
        Cmd("sudo tail -n 50 /var/log/nagios4/nagios.log"),
        Cmd("sudo apache2ctl -S"),
    ),
    "cache": (
        Cmd("redis-cli ping"),
        Cmd("redis-cli info memory"),
        Cmd("redis-cli --bigkeys"),
        Cmd("sudo systemctl status redis-server"),
        Cmd("echo stats | nc -q1 127.0.0.1 11211"),
    ),
}


def command_pool(group: str) -> tuple[tuple[Template, float], ...]:
    """The commands typed on hosts of ``group``, as (template, Zipf weight).

    Group-specific commands are interleaved near the top of the ranking, since
    people mostly log in to a host to look at its own service.

    Examples
    --------
    >>> pool = command_pool("web")
    >>> len(pool) > 200
    True
    >>> pool[0][1] > pool[50][1] > pool[-1][1]
    True
    """
    ranked: list[Cmd] = []
    group_cmds = list(_GROUP.get(group, ()))
    for i, c in enumerate(_COMMON):
        ranked.append(c)
        if i % 3 == 2 and group_cmds:
            ranked.append(group_cmds.pop(0))
    ranked += group_cmds
    return tuple(
        (command_template(c, f"cmd:{group}:{i}"), 1.0 / (i + 1) ** ZIPF_S)
        for i, c in enumerate(ranked)
    )


_PAM_SSH = dict(terminal="ssh", addr="{src_ip}")


def session_template(
    name: str,
    commands: Sequence[tuple[Template, float]],
    *,
    extra_children: Sequence[Child] = (),
    mean_commands: float = 7.0,
    step: str | None = None,
    user: str | None = None,
    src: tuple[str, ...] | None = None,
) -> Template:
    """An ssh login from ``{src_ip}`` by ``{user}``: accept, sshd re-exec, PAM records,
    LOGIN, utmp/wtmp writes, the login shell, commands, logout."""
    procs: dict[str, Exec | Fork | Daemon] = {
        "sshd": Daemon("sshd"),
        "priv": Exec(("/usr/sbin/sshd", "-D", "-R"), parent=Daemon("sshd"),
                     title=("sshd: {user} [priv]",), long=True),
        "shell": Exec(("-bash",), path="/bin/bash", parent="priv", user="{user}", cwd="{home}",
                      long=True, comm="bash"),
    }  # fmt: skip
    events = [
        accept("sshd", "{src_ip}", "eport", 0.0, syscall="accept"),
        exec_("priv", 0.004, ctx="unset"),
        user_record("USER_AUTH", "priv", 0.21, ctx="unset", op="pubkey", **_PAM_SSH),
        user_record("USER_ACCT", "priv", 0.22, ctx="unset", **_PAM_SSH),
        user_record("CRED_ACQ", "priv", 0.23, ctx="unset", **_PAM_SSH),
        user_record("LOGIN", "priv", 0.24),
        user_record("USER_START", "priv", 0.26, **_PAM_SSH),
        user_record("USER_LOGIN", "priv", 0.30, terminal="{ttypath}", addr="{src_ip}"),
        write("priv", "/var/run/utmp", 0.31, create=False, flags=0o2),
        write("priv", "/var/log/wtmp", 0.32, create=False, flags=0o2001),
        exec_("shell", 0.35),
        user_record("USER_END", "priv", "dur", **_PAM_SSH),
        user_record("USER_LOGOUT", "priv", "dur+0.002", terminal="{ttypath}", addr="{src_ip}"),
        user_record("CRED_DISP", "priv", "dur+0.004", **_PAM_SSH),
    ]
    children = [
        Child(tuple(commands), parent="shell", count=mean_commands, between=(1.0, "dur-1")),
        *extra_children,
    ]
    meta: dict[str, Any] = {}
    if user is not None:
        meta["session_user"] = user
    tvars: dict[str, Any] = {"dur": LogNormal(420.0, 0.8, 30.0, 7200.0)}
    if src is not None:
        tvars["src_ip"] = Choice(src)
    return template(
        name,
        procs,
        events,
        ctx="session",
        children=children,
        vars=tvars,
        step=step,
        **meta,
    )


def failed_login_template() -> Template:
    """An internet scanner guessing a password: accept, sshd child, failed PAM, failed login."""
    procs: dict[str, Exec | Fork | Daemon] = {
        "sshd": Daemon("sshd"),
        "priv": Exec(("/usr/sbin/sshd", "-D", "-R"), parent=Daemon("sshd"),
                     title=("sshd: {guess} [priv]",)),
    }  # fmt: skip
    events = [
        accept("sshd", "{src_ip}", "eport", 0.0, syscall="accept"),
        exec_("priv", 0.004, ctx="unset"),
        user_record(
            "USER_AUTH",
            "priv",
            2.1,
            ctx="unset",
            success=False,
            acct="{guess}",
            op="PAM:authentication",
            terminal="ssh",
            addr="{src_ip}",
        ),
        user_record(
            "USER_LOGIN",
            "priv",
            2.2,
            ctx="unset",
            success=False,
            acct="{guess}",
            terminal="ssh",
            addr="{src_ip}",
        ),
    ]
    guesses = (
        "admin",
        "root",
        "test",
        "ubuntu",
        "oracle",
        "postgres",
        "user",
        "pi",
        "git",
        "ftpuser",
        "support",
        "guest",
        "deploy",
        "jenkins",
    )
    return template(
        "ssh_bruteforce",
        procs,
        events,
        ctx="daemon",
        vars={"guess": Choice(guesses), "src_ip": Choice(_SCANNERS)},
    )


_SCANNERS = (
    "198.51.100.7", "198.51.100.23", "198.51.100.101", "198.51.100.142", "198.51.100.199",
    "192.0.2.44", "192.0.2.87", "192.0.2.150",
)  # fmt: skip


def hop_template(group: str, remote: Template) -> Template:
    """``ssh HOST`` from a bastion shell to a host of ``group``, opening ``remote`` there."""
    procs = {"ssh": Exec(("ssh", "{peer_host}"), parent=INHERIT)}
    events = [exec_("ssh"), connect("ssh", "{peer_ip}", 22, 0.01)]
    return template(
        f"ssh_hop_{group}",
        procs,
        events,
        peer=(group,),
        peer_service="sshd",
        children=[Child(remote, on="peer", between=(0.05, 0.05), pass_vars=(("src_ip", "ip"),))],
    )
