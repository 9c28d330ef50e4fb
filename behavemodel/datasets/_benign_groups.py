"""Benign activity of each server group: its daemons' traffic, jobs, deploys and upgrades.

web (nginx, a gunicorn shop and its media helpers, certbot), db (postgres,
pgbouncer, WAL archiving, backups), worker (a Java billing service, an hourly ETL
container, reports), bastion (brute-force noise, fail2ban), monitoring (Nagios
checks over NRPE/ssh/http/tcp, Prometheus scrapes, the Nagios web UI), cache
(redis on aarch64). Deploys and package upgrades are one-off templates the plan
schedules.
"""

from __future__ import annotations

from behavemodel.datasets._benign_common import INIT, NRPE_CHECKS, chef_run, cron_job, nrpe_check
from behavemodel.datasets._templates import (
    Child,
    Daemon,
    Ev,
    Exec,
    Fork,
    Template,
    accept,
    connect,
    daemon_call,
    exec_,
    rename,
    template,
    unlink,
    write,
)

WEB_REQUEST = template(
    "nginx_accept",
    {"w": Daemon("nginx", worker=True)},
    [accept("w", "{pool.lb}", "eport")],
    ctx="daemon",
)

#: A request nginx passes to the application: connect to gunicorn, a worker accepts.
APP_REQUEST = template(
    "nginx_to_gunicorn",
    {"w": Daemon("nginx", worker=True), "g": Daemon("shop", worker=True)},
    [
        accept("w", "{pool.lb}", "eport"),
        connect("w", "127.0.0.1", 8000, 0.001),
        accept("g", "127.0.0.1", "eport2", 0.002),
    ],
    ctx="daemon",
)


WEB_DB = daemon_call(
    "shop_to_pgbouncer",
    ("g", Daemon("shop", worker=True)),
    ("pgb", Daemon("pgbouncer", on="peer")),
    6432,
    0.002,
    exit=-115,
    peer=("db",),
)


WEB_CACHE = daemon_call(
    "shop_to_redis",
    ("g", Daemon("shop", worker=True)),
    ("r", Daemon("redis", on="peer")),
    6379,
    0.001,
    peer=("cache",),
)


WEB_BILLING = daemon_call(
    "shop_to_billing",
    ("g", Daemon("shop", worker=True)),
    ("b", Daemon("billing", on="peer")),
    8081,
    0.002,
    peer=("worker",),
)


THUMBNAIL = template(
    "shop_thumbnail",
    {
        "g": Daemon("shop", worker=True),
        "c": Exec(
            (
                "/usr/bin/convert",
                "/tmp/upload-{tmp8}.jpg",
                "-resize",
                "400x400>",
                "/srv/shop/media/thumbs/{hex12}.jpg",
            ),
            parent=Daemon("shop", worker=True),
        ),
    },
    [
        write("g", "/tmp/upload-{tmp8}.jpg"),
        exec_("c", 0.05),
        write("c", "/srv/shop/media/thumbs/{hex12}.jpg", 0.4),
        unlink("g", "/tmp/upload-{tmp8}.jpg", 0.5),
    ],
    ctx="daemon",
)


INVOICE = template(
    "shop_invoice_pdf",
    {
        "w": Exec(
            (
                "/usr/bin/wkhtmltopdf",
                "--quiet",
                "http://127.0.0.1:8000/invoice/{n5}",
                "/tmp/invoice-{n5}.pdf",
            ),
            parent=Daemon("shop", worker=True),
        )
    },
    [exec_("w"), connect("w", "127.0.0.1", 8000, 0.1), write("w", "/tmp/invoice-{n5}.pdf", 1.2)],
    ctx="daemon",
)


CERTBOT = template(
    "timer_certbot",
    {"c": Exec(("/usr/bin/certbot", "-q", "renew", "--no-random-sleep-on-renew"), parent=INIT)},
    [exec_("c"), connect("c", "{pool.acme}", 443, 0.8)],
    ctx="daemon",
)


CHEF_WEB_CONFIG = chef_run(
    "chef_client_update_app_config",
    extra_events=[
        write("chef", "/srv/shop/shared/config/.chef-settings.yml{tmp6}", 6.0),
        rename(
            "chef",
            "/srv/shop/shared/config/.chef-settings.yml{tmp6}",
            "/srv/shop/shared/config/settings.yml",
            6.01,
        ),
    ],
)


PG_LOCAL = template(
    "pgbouncer_to_postgres",
    {"b": Daemon("pgbouncer"), "pg": Daemon("postgresql")},
    [connect("b", "127.0.0.1", 5432), accept("pg", "127.0.0.1", "eport", 0.001)],
    ctx="daemon",
)


WAL_PUSH = template(
    "postgres_archive_wal",
    {
        "arch": Daemon("postgresql", worker=True),
        "sh": Exec(
            ("/bin/sh", "-c", "wal-g wal-push pg_wal/{pg_wal}"),
            parent=Daemon("postgresql", worker=True),
        ),
        "wg": Exec(("wal-g", "wal-push", "pg_wal/{pg_wal}"), same_pid="sh"),
    },
    [exec_("sh"), exec_("wg", 0.002), connect("wg", "{pool.s3}", 443, 0.1)],
    ctx="daemon",
)


PG_BACKUP = cron_job(
    "cron_pg_backup",
    "/usr/local/bin/backup-db.sh",
    {
        "bk": Exec(("/usr/local/bin/backup-db.sh",), parent="sh"),
        "dump": Exec(("pg_dump", "-Fc", "shop"), parent="bk"),
        "dump2": Exec(("/usr/lib/postgresql/15/bin/pg_dump", "-Fc", "shop"), same_pid="dump"),
        "gz": Exec(("gzip", "-c"), parent="bk"),
        "aws": Exec(
            (
                "aws",
                "s3",
                "cp",
                "/var/backups/postgresql/shop-{date}.dump.gz",
                "s3://acme-db-backups/{host}/",
            ),
            parent="bk",
        ),
    },
    [
        exec_("bk", 0.01),
        exec_("dump", 0.05),
        exec_("dump2", 0.12),
        exec_("gz", 0.06),
        connect("dump2", "127.0.0.1", 5432, 0.2),
        write("bk", "/var/backups/postgresql/shop-{date}.dump.gz", 0.07),
        exec_("aws", 40.0),
        connect("aws", "{pool.s3}", 443, 41.0),
    ],
    user="postgres",
    dur=50.0,
)


PG_VACUUM = cron_job(
    "cron_pg_vacuum",
    "vacuumdb --all --analyze --quiet",
    {
        "v": Exec(("vacuumdb", "--all", "--analyze", "--quiet"), parent="sh"),
        "v2": Exec(
            ("/usr/lib/postgresql/15/bin/vacuumdb", "--all", "--analyze", "--quiet"), same_pid="v"
        ),
    },
    [exec_("v", 0.01), exec_("v2", 0.08), connect("v2", "127.0.0.1", 5432, 0.1)],
    user="postgres",
    dur=300.0,
)


PG_BASEBACKUP = cron_job(
    "cron_pg_basebackup",
    "wal-g backup-push /var/lib/postgresql/15/main",
    {"w": Exec(("wal-g", "backup-push", "/var/lib/postgresql/15/main"), parent="sh")},
    [exec_("w", 0.01), connect("w", "127.0.0.1", 5432, 0.1), connect("w", "{pool.s3}", 443, 1.0)],
    user="postgres",
    dur=900.0,
)


BILLING_DB = daemon_call(
    "billing_to_pgbouncer",
    ("j", Daemon("billing")),
    ("pgb", Daemon("pgbouncer", on="peer")),
    6432,
    0.002,
    peer=("db",),
)


BILLING_API = template(
    "billing_payments_api",
    {"j": Daemon("billing")},
    [connect("j", "{pool.payments_api}", 443)],
    ctx="daemon",
)


RECONCILE = cron_job(
    "cron_billing_reconcile",
    "/opt/billing/bin/reconcile.sh",
    {
        "r": Exec(("/opt/billing/bin/reconcile.sh",), parent="sh", cwd="/opt/billing"),
        "j": Exec(
            (
                "/usr/lib/jvm/java-17-openjdk-{jvm}/bin/java",
                "-jar",
                "/opt/billing/tools/reconcile.jar",
                "--date={date}",
            ),
            parent="r",
        ),
    },
    [
        exec_("r", 0.01),
        exec_("j", 0.05),
        connect("j", "{pool.payments_api}", 443, 3.0),
        write("j", "/opt/billing/reports/reconcile-{date}.csv", 20.0),
    ],
    user="billing",
    dur=25.0,
)


def _etl() -> Template:
    image = "registry.internal:5000/etl:1.4"
    procs: dict = {
        "cli": Exec(
            ("docker", "run", "--rm", "--name", "etl-{hex8}", image, "python", "/app/etl.py"),
            parent="sh",
        ),
        "dockerd": Daemon("dockerd"),
        "shim": Exec(
            (
                "/usr/bin/containerd-shim-runc-v2",
                "-namespace",
                "moby",
                "-id",
                "{cid}",
                "-address",
                "/run/containerd/containerd.sock",
            ),
            parent=Daemon("containerd"),
        ),
        "runc": Exec(
            (
                "runc",
                "--root",
                "/var/run/docker/runtime-runc/moby",
                "--log",
                "/run/containerd/io.containerd.runtime.v2.task/moby/{cid}/log.json",
                "--log-format",
                "json",
                "create",
                "--bundle",
                "/run/containerd/io.containerd.runtime.v2.task/moby/{cid}",
                "{cid}",
            ),
            parent="shim",
            path="/usr/bin/runc",
        ),
        "init": Exec(
            ("runc", "init"),
            parent="shim",
            path="/proc/self/exe",
            exe="/memfd:runc_cloned:/proc/self/exe (deleted)",
            comm="exe",
        ),
        "py": Exec(
            ("python", "/app/etl.py"),
            same_pid="init",
            path="/usr/local/bin/python",
            exe="/usr/local/bin/python3.12",
            container=True,
            cwd="/app",
            user="root",
        ),
    }
    events = [
        exec_("cli", 0.01),
        write("dockerd", "/var/lib/docker/containers/{cid}/config.v2.json", 0.05),
        write("dockerd", "/var/lib/docker/containers/{cid}/hostconfig.json", 0.051),
        exec_("shim", 0.08),
        exec_("runc", 0.1),
        exec_("init", 0.15),
        exec_("py", 0.3),
        connect("py", "{peer_ip}", 6432, 1.0),
        connect("py", "{pool.s3}", 443, 20.0),
    ]
    return cron_job(
        "cron_etl_container",
        "docker run --rm registry.internal:5000/etl:1.4 python /app/etl.py",
        procs,
        events,
        dur=60.0,
        children=(),
    )


ETL = _etl()


ETL = template(
    ETL.name, dict(ETL.procs), list(ETL.events), ctx="cron", peer=("db",), cron_user="root"
)


IMAGE_PULL = template(
    "docker_image_pull",
    {"d": Daemon("dockerd"), "c": Daemon("containerd")},
    [connect("d", "{pool.registry}", 5000)]
    + [
        write(
            "c",
            f"/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/{{snap}}"
            f"/fs/{p}",
            1.0 + i * 0.01,
        )
        for i, p in enumerate(
            (
                "app/etl.py",
                "app/requirements.txt",
                "app/lib/transform.py",
                "usr/local/lib/python3.12/site-packages/etl-1.4.dist-info/RECORD",
            )
        )
    ]
    + [
        write("c", "/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db", 1.2, create=False)
    ],
    ctx="daemon",
)


FAIL2BAN = template(
    "fail2ban_ban",
    {
        "f": Daemon("fail2ban"),
        "ipt": Exec(
            (
                "iptables",
                "-w",
                "-I",
                "f2b-sshd",
                "1",
                "-s",
                "{pool.internet_scanners}",
                "-j",
                "REJECT",
                "--reject-with",
                "icmp-port-unreachable",
            ),
            parent=Daemon("fail2ban"),
        ),
    },
    [exec_("ipt")],
    ctx="daemon",
)


def _nagios_check(
    name: str,
    argv: tuple[str, ...],
    port: int | None,
    peer_groups: tuple[str, ...],
    peer_events: list[Ev] | None = None,
    peer_procs: dict | None = None,
    extra: dict | None = None,
    extra_events: list | None = None,
) -> Template:
    procs: dict = {
        "chk": Exec(argv, parent=Daemon("nagios")),
    }
    events: list = [exec_("chk")]
    if port is not None:
        events.append(connect("chk", "{peer_ip}", port, 0.01, exit=-115))
    procs.update(extra or {})
    events += extra_events or []
    procs.update(peer_procs or {})
    events += peer_events or []
    return template(name, procs, events, ctx="daemon", peer=peer_groups)


CHECK_NRPE = tuple(
    template(
        f"nagios_check_nrpe_{c}",
        {
            "chk": Exec(
                ("/usr/lib/nagios/plugins/check_nrpe", "-H", "{peer_ip}", "-c", c),
                parent=Daemon("nagios"),
            )
        },
        [exec_("chk"), connect("chk", "{peer_ip}", 5666, 0.01, exit=-115)],
        ctx="daemon",
        peer=("*",),
        peer_service="nrpe",
        children=[
            Child(nrpe_check(c), on="peer", between=(0.02, 0.02), pass_vars=(("src_ip", "ip"),))
        ],
    )
    for c in NRPE_CHECKS
)


CHECK_SSH = _nagios_check(
    "nagios_check_ssh",
    ("/usr/lib/nagios/plugins/check_ssh", "-H", "{peer_ip}"),
    22,
    ("*",),
    peer_procs={
        "sshd": Daemon("sshd", on="peer"),
        "pre": Exec(("/usr/sbin/sshd", "-D", "-R"), parent=Daemon("sshd", on="peer"), on="peer"),
    },
    peer_events=[accept("sshd", "{ip}", "eport", 0.012, syscall="accept"), exec_("pre", 0.016)],
)


CHECK_PING = _nagios_check(
    "nagios_check_ping",
    (
        "/usr/lib/nagios/plugins/check_ping",
        "-H",
        "{peer_ip}",
        "-w",
        "100.0,20%",
        "-c",
        "500.0,60%",
        "-p",
        "5",
    ),
    None,
    ("*",),
    extra={
        "ping": Exec(
            ("/usr/bin/ping", "-n", "-U", "-w", "10", "-c", "5", "{peer_ip}"), parent="chk"
        )
    },
    extra_events=[exec_("ping", 0.005)],
)


CHECK_HTTP = _nagios_check(
    "nagios_check_http",
    ("/usr/lib/nagios/plugins/check_http", "-H", "{peer_ip}", "-u", "/health"),
    80,
    ("web",),
    peer_procs={"w": Daemon("nginx", worker=True, on="peer")},
    peer_events=[accept("w", "{ip}", "eport", 0.011)],
)


CHECK_PG = _nagios_check(
    "nagios_check_pgsql",
    ("/usr/lib/nagios/plugins/check_tcp", "-H", "{peer_ip}", "-p", "5432"),
    5432,
    ("db",),
    peer_procs={"pg": Daemon("postgresql", on="peer")},
    peer_events=[accept("pg", "{ip}", "eport", 0.011)],
)


CHECK_REDIS = _nagios_check(
    "nagios_check_redis",
    (
        "/usr/lib/nagios/plugins/check_tcp",
        "-H",
        "{peer_ip}",
        "-p",
        "6379",
        "-E",
        "-s",
        "PING\\r\\n",
        "-e",
        "+PONG",
    ),
    6379,
    ("cache",),
    peer_procs={"r": Daemon("redis", on="peer")},
    peer_events=[accept("r", "{ip}", "eport", 0.011)],
)


SCRAPE = daemon_call(
    "prometheus_scrape_reconnect",
    ("p", Daemon("prometheus")),
    ("ne", Daemon("node_exporter", on="peer")),
    9100,
    0.003,
    exit=-115,
    peer=("*",),
    peer_service="node_exporter",
)


def _cgi(name: str, query: str) -> Template:
    return template(
        f"nagios_ui_{name}",
        {
            "a": Daemon("apache2", worker=True),
            "cgi": Exec(
                (f"/usr/lib/cgi-bin/nagios4/{name}.cgi",),
                parent=Daemon("apache2", worker=True),
                cwd="/usr/lib/cgi-bin/nagios4",
            ),
        },
        [accept("a", "{pool.vpn}", "eport"), exec_("cgi", 0.01)],
        ctx="daemon",
        query=query,
    )


NAGIOS_UI = tuple((_cgi(n, q), w) for n, q, w in (
    ("status", "host=all", 0.45), ("tac", "", 0.2), ("summary", "standardreport", 0.1),
    ("extinfo", "type=2", 0.15), ("history", "host=all", 0.05), ("trends", "", 0.05),
))  # fmt: skip


NOTIFY = template(
    "nagios_notify",
    {
        "sh": Exec(
            (
                "/bin/sh",
                "-c",
                '/usr/bin/printf "%b" "***** Nagios *****" | '
                '/usr/bin/mail -s "** PROBLEM Service Alert **" ops@example.org',
            ),
            parent=Daemon("nagios"),
        ),
        "pf": Exec(("/usr/bin/printf", "%b", "***** Nagios *****"), parent="sh"),
        "mail": Exec(
            ("/usr/bin/mail", "-s", "** PROBLEM Service Alert **", "ops@example.org"), parent="sh"
        ),
        "sm": Exec(("/usr/sbin/sendmail", "-i", "--", "ops@example.org"), parent="mail"),
    },
    [
        exec_("sh"),
        exec_("pf", 0.01),
        exec_("mail", 0.01),
        exec_("sm", 0.05),
        connect("sm", "{pool.smtp}", 25, 0.1),
    ],
    ctx="daemon",
)


REDIS_SAVE = template(
    "redis_bgsave",
    {"r": Daemon("redis"), "child": Fork(Daemon("redis"), title=("redis-rdb-bgsave",))},
    [
        write("child", "/var/lib/redis/temp-{n5}.rdb", 0.01),
        rename("child", "/var/lib/redis/temp-{n5}.rdb", "/var/lib/redis/dump.rdb", 0.6),
    ],
    ctx="daemon",
)


DEPLOY_SHOP = chef_run(
    "deploy_shop",
    extra_procs={
        "git": Exec(
            (
                "git",
                "clone",
                "--depth",
                "1",
                "--branch",
                "release-{new}",
                "https://github.com/acme/shop.git",
                "/srv/shop/releases/{new}",
            ),
            parent="chef",
        ),
        "rem": Exec(
            ("/usr/lib/git-core/git-remote-https", "origin", "https://github.com/acme/shop.git"),
            parent="git",
        ),
        "pip": Exec(
            (
                "/srv/shop/venv/bin/python3.11",
                "-m",
                "pip",
                "install",
                "-q",
                "-r",
                "/srv/shop/releases/{new}/requirements.txt",
            ),
            parent="chef",
            user="shop",
        ),
        "mig": Exec(
            ("/srv/shop/venv/bin/python3.11", "manage.py", "migrate", "--noinput"),
            parent="chef",
            user="shop",
            cwd="/srv/shop/releases/{new}",
        ),
        "ctl": Exec(("systemctl", "restart", "shop.service"), parent="chef"),
    },
    extra_events=[
        exec_("git", 6.0),
        exec_("rem", 6.05),
        connect("rem", "{pool.github}", 443, 6.1),
        *[
            write("git", f"/srv/shop/releases/{{new}}/{p}", 8.0 + i * 0.02)
            for i, p in enumerate(
                (
                    "requirements.txt",
                    "manage.py",
                    "shop/settings.py",
                    "shop/wsgi.py",
                    "shop/urls.py",
                    "shop/views.py",
                    "shop/models.py",
                    "static/app.js",
                )
            )
        ],
        exec_("pip", 12.0),
        connect("pip", "{pool.pypi}", 443, 12.5),
        write("chef", "/srv/shop/releases/{new}/shop/.chef-local_settings.py{tmp6}", 20.0),
        rename(
            "chef",
            "/srv/shop/releases/{new}/shop/.chef-local_settings.py{tmp6}",
            "/srv/shop/releases/{new}/shop/local_settings.py",
            20.01,
        ),
        exec_("mig", 22.0),
        connect("mig", "{pool.db_vip}", 6432, 22.5),
        exec_("ctl", 39.5),
    ],
    lead=40.0,
)


DEPLOY_BILLING = chef_run(
    "deploy_billing",
    extra_events=[
        connect("chef", "{pool.s3}", 443, 6.0),
        write("chef", "/opt/billing/.chef-billing-{new}.jar{tmp6}", 6.5),
        rename(
            "chef",
            "/opt/billing/.chef-billing-{new}.jar{tmp6}",
            "/opt/billing/billing-{new}.jar",
            14.0,
        ),
        write("chef", "/opt/billing/.chef-application.yml{tmp6}", 14.5),
        rename(
            "chef",
            "/opt/billing/.chef-application.yml{tmp6}",
            "/opt/billing/application.yml",
            14.51,
        ),
        exec_("ctl", 29.5),
    ],
    extra_procs={"ctl": Exec(("systemctl", "restart", "billing.service"), parent="chef")},
    lead=30.0,
)


def _upgrade_jvm() -> Template:
    base = "/usr/lib/jvm/java-17-openjdk-{new}"
    old = "/usr/lib/jvm/java-17-openjdk-{old}"
    files = (
        "bin/java",
        "bin/keytool",
        "lib/server/libjvm.so",
        "lib/libjava.so",
        "lib/modules",
        "conf/security/java.security",
        "release",
    )
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
                "/var/cache/apt/archives/openjdk-17-jre-headless_{new}+7-1~deb12u1_amd64.deb",
            ),
            parent="uu",
        ),
        "deb": Exec(
            (
                "dpkg-deb",
                "--fsys-tarfile",
                "/var/cache/apt/archives/openjdk-17-jre-headless_{new}+7-1~deb12u1_amd64.deb",
            ),
            parent="dpkg",
        ),
        "cfg": Exec(
            ("/usr/bin/dpkg", "--status-fd", "10", "--configure", "--pending"), parent="uu"
        ),
        "post": Exec(
            ("/var/lib/dpkg/info/openjdk-17-jre-headless:amd64.postinst", "configure", "{old}"),
            parent="cfg",
        ),
        "ua": Exec(
            (
                "update-alternatives",
                "--install",
                "/usr/bin/java",
                "java",
                base + "/bin/java",
                "1711",
            ),
            parent="post",
        ),
        "ldc": Exec(("ldconfig",), parent="cfg"),
        "nr": Exec(("needrestart", "-r", "a", "-m", "a"), parent="uu"),
        "ctl": Exec(("systemctl", "restart", "billing.service"), parent="nr"),
    }
    events: list[Ev] = [
        exec_("daily"),
        exec_("uu", 0.1),
        exec_("http", 1.0),
        connect("http", "{pool.debian_mirror}", 80, 1.1),
        write(
            "http",
            "/var/cache/apt/archives/partial/openjdk-17-jre-headless_{new}+7-1~deb12u1_amd64.deb",
            1.2,
        ),
        exec_("dpkg", 8.0),
        exec_("deb", 8.1),
    ]
    for i, f in enumerate(files):
        events.append(write("dpkg", f"{base}/{f}.dpkg-new", 8.5 + i * 0.05))
        events.append(rename("dpkg", f"{base}/{f}.dpkg-new", f"{base}/{f}", 10.0 + i * 0.02))
    for i, f in enumerate(files):
        events.append(unlink("dpkg", f"{old}/{f}", 10.5 + i * 0.01))
    events += [
        exec_("cfg", 12.0),
        exec_("post", 12.2),
        exec_("ua", 12.3),
        exec_("ldc", 13.0),
        exec_("nr", 14.0),
        exec_("ctl", 19.5),
    ]
    return template(
        "upgrade_jvm", procs, events, ctx="daemon", vars={"new": None, "old": None}, lead_s=20.0
    )


UPGRADE_JVM = _upgrade_jvm()


REPORTS = cron_job(
    "cron_billing_reports",
    "/opt/billing/bin/export-report.sh",
    {
        "r": Exec(
            ("/opt/billing/bin/export-report.sh",),
            parent="sh",
            interp="/bin/bash",
            cwd="/opt/billing",
        ),
        "mk": Exec(("mktemp", "-d"), parent="r"),
        "psql": Exec(
            (
                "psql",
                "-h",
                "{pool.db_vip}",
                "-p",
                "6432",
                "-c",
                "\\copy invoices to stdout csv",
                "billing",
            ),
            parent="r",
        ),
        "psql2": Exec(
            (
                "/usr/lib/postgresql/15/bin/psql",
                "-h",
                "{pool.db_vip}",
                "-p",
                "6432",
                "-c",
                "\\copy invoices to stdout csv",
                "billing",
            ),
            same_pid="psql",
        ),
        "gz": Exec(("gzip", "-9"), parent="r"),
        "gpg": Exec(
            (
                "gpg",
                "--batch",
                "--yes",
                "--encrypt",
                "-r",
                "finance@example.org",
                "/tmp/tmp.{tmp8}/invoices-{date}.csv.gz",
            ),
            parent="r",
        ),
        "aws": Exec(
            (
                "aws",
                "s3",
                "cp",
                "/tmp/tmp.{tmp8}/invoices-{date}.csv.gz.gpg",
                "s3://acme-finance-exports/",
            ),
            parent="r",
        ),
        "rm": Exec(("rm", "-rf", "/tmp/tmp.{tmp8}"), parent="r"),
    },
    [
        exec_("r", 0.01),
        exec_("mk", 0.02),
        exec_("psql", 0.05),
        exec_("psql2", 0.12),
        connect("psql2", "{pool.db_vip}", 6432, 0.2),
        exec_("gz", 0.06),
        write("gz", "/tmp/tmp.{tmp8}/invoices-{date}.csv.gz", 0.1),
        exec_("gpg", 3.0),
        write("gpg", "/tmp/tmp.{tmp8}/invoices-{date}.csv.gz.gpg", 3.2),
        exec_("aws", 4.0),
        connect("aws", "{pool.s3}", 443, 4.6),
        exec_("rm", 8.0),
        unlink("rm", "/tmp/tmp.{tmp8}/invoices-{date}.csv.gz", 8.01),
    ],
    user="billing",
    dur=9.0,
)


def _local_check(
    name: str, argv: tuple[str, ...], extra: dict | None = None, extra_events: list | None = None
) -> Template:
    procs: dict = {"chk": Exec(argv, parent=Daemon("nagios"))}
    procs.update(extra or {})
    return template(f"nagios_{name}", procs, [exec_("chk"), *(extra_events or [])], ctx="daemon")


LOCAL_CHECKS = (
    _local_check(
        "check_dns",
        ("/usr/lib/nagios/plugins/check_dns", "-H", "deb.debian.org"),
        {"ns": Exec(("/usr/bin/nslookup", "deb.debian.org"), parent="chk")},
        [exec_("ns", 0.01), connect("ns", "127.0.0.53", 53, 0.02)],
    ),
    _local_check(
        "check_ntp",
        ("/usr/lib/nagios/plugins/check_ntp_time", "-H", "169.254.169.123"),
        extra_events=[connect("chk", "{pool.ntp}", 123, 0.01)],
    ),
    _local_check(
        "check_smtp",
        ("/usr/lib/nagios/plugins/check_smtp", "-H", "10.0.0.25"),
        extra_events=[connect("chk", "{pool.smtp}", 25, 0.01, exit=-115)],
    ),
    _local_check(
        "check_mailq",
        ("/usr/lib/nagios/plugins/check_mailq", "-w", "10", "-c", "20"),
        {"mq": Exec(("/usr/bin/mailq",), parent="chk")},
        [exec_("mq", 0.02)],
    ),
)


def _media(tool: str, argv: tuple[str, ...], out: str | None = None) -> Template:
    events: list = [exec_("x")]
    if out:
        events.append(write("x", out, 0.3))
    return template(
        f"shop_{tool}", {"x": Exec(argv, parent=Daemon("shop", worker=True))}, events, ctx="daemon"
    )


MEDIA = (
    (_media("identify", ("/usr/bin/identify", "-format", "%wx%h", "/tmp/upload-{tmp8}.jpg")), 3.0),
    (
        _media(
            "exiftool",
            (
                "/usr/bin/exiftool",
                "-all=",
                "-overwrite_original",
                "/srv/shop/media/uploads/{hex12}.jpg",
            ),
            "/srv/shop/media/uploads/{hex12}.jpg",
        ),
        1.5,
    ),
    (
        _media(
            "jpegoptim",
            (
                "/usr/bin/jpegoptim",
                "--strip-all",
                "--max=85",
                "/srv/shop/media/thumbs/{hex12}.jpg",
            ),
        ),
        1.0,
    ),
    (
        _media(
            "optipng", ("/usr/bin/optipng", "-quiet", "-o2", "/srv/shop/media/thumbs/{hex12}.png")
        ),
        0.6,
    ),
    (
        _media(
            "cwebp",
            (
                "/usr/bin/cwebp",
                "-quiet",
                "-q",
                "80",
                "/tmp/upload-{tmp8}.png",
                "-o",
                "/srv/shop/media/thumbs/{hex12}.webp",
            ),
            "/srv/shop/media/thumbs/{hex12}.webp",
        ),
        0.4,
    ),
    (
        _media(
            "pdftoppm",
            (
                "/usr/bin/pdftoppm",
                "-png",
                "-r",
                "72",
                "-singlefile",
                "/tmp/invoice-{n5}.pdf",
                "/tmp/preview-{n5}",
            ),
        ),
        0.3,
    ),
    (
        _media(
            "qpdf",
            ("/usr/bin/qpdf", "--linearize", "/tmp/invoice-{n5}.pdf", "/tmp/invoice-{n5}-web.pdf"),
        ),
        0.2,
    ),
    (
        _media(
            "ffprobe",
            (
                "/usr/bin/ffprobe",
                "-v",
                "error",
                "-show_format",
                "/srv/shop/media/uploads/{hex12}.mp4",
            ),
        ),
        0.15,
    ),
    (_media("gifsicle", ("/usr/bin/gifsicle", "-O2", "/tmp/upload-{tmp8}.gif")), 0.1),
)


CHECK_JVM = template(
    "nagios_check_nrpe_check_jvm",
    {
        "chk": Exec(
            ("/usr/lib/nagios/plugins/check_nrpe", "-H", "{peer_ip}", "-c", "check_jvm_heap"),
            parent=Daemon("nagios"),
        )
    },
    [exec_("chk"), connect("chk", "{peer_ip}", 5666, 0.01, exit=-115)],
    ctx="daemon",
    peer=("worker",),
    peer_service="nrpe",
    children=[
        Child(
            template(
                "nrpe_check_jvm",
                {
                    "nrpe": Daemon("nrpe"),
                    "sh": Exec(
                        ("/bin/sh", "-c", "/usr/local/lib/nagios/check_jvm_heap -w 80 -c 90"),
                        parent=Daemon("nrpe"),
                    ),
                    "chk": Exec(
                        ("/usr/local/lib/nagios/check_jvm_heap", "-w", "80", "-c", "90"),
                        same_pid="sh",
                        interp="/bin/bash",
                    ),
                    "jstat": Exec(
                        ("/usr/lib/jvm/java-17-openjdk-{jvm}/bin/jstat", "-gcutil", "billing"),
                        parent="chk",
                        user="billing",
                    ),
                    "pg": Exec(("pgrep", "-u", "billing", "java"), parent="chk"),
                },
                [
                    accept("nrpe", "{src_ip}", "eport"),
                    exec_("sh", 0.01),
                    exec_("chk", 0.012),
                    exec_("pg", 0.03),
                    exec_("jstat", 0.06),
                ],
                ctx="daemon",
            ),
            on="peer",
            between=(0.02, 0.02),
            pass_vars=(("src_ip", "ip"),),
        )
    ],
)
