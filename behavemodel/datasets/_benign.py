"""All benign behaviour of the simulated fleet, with the hosts and schedules that run it."""

from __future__ import annotations

from behavemodel.datasets._benign_common import (
    APT_UPDATE,
    APT_UPGRADE_NOOP,
    CHEF_RUN,
    CHEF_RUN_ETC,
    CRON_DAILY,
    CRON_HOURLY,
    CRON_MONTHLY,
    CRON_WEEKLY,
    E2SCRUB,
    FILEBEAT,
    FSTRIM,
    GROUP_NAMES,
    KNIFE_SSH,
    LOGROTATE,
    MANDB,
    NTP,
    SECURITY_UPDATES,
    SESSIONS,
    SSH_BRUTEFORCE,
    SSM_INVENTORY,
    SSM_POLL,
    SYSSTAT,
    TMPFILES,
    WEEKLY_AUDIT,
)
from behavemodel.datasets._benign_groups import (
    APP_REQUEST,
    BILLING_API,
    BILLING_DB,
    CERTBOT,
    CHECK_HTTP,
    CHECK_JVM,
    CHECK_NRPE,
    CHECK_PG,
    CHECK_PING,
    CHECK_REDIS,
    CHECK_SSH,
    CHEF_WEB_CONFIG,
    DEPLOY_BILLING,
    DEPLOY_SHOP,
    ETL,
    FAIL2BAN,
    IMAGE_PULL,
    INVOICE,
    LOCAL_CHECKS,
    MEDIA,
    NAGIOS_UI,
    NOTIFY,
    PG_BACKUP,
    PG_BASEBACKUP,
    PG_LOCAL,
    PG_VACUUM,
    RECONCILE,
    REDIS_SAVE,
    REPORTS,
    SCRAPE,
    THUMBNAIL,
    UPGRADE_JVM,
    WAL_PUSH,
    WEB_BILLING,
    WEB_CACHE,
    WEB_DB,
    WEB_REQUEST,
)
from behavemodel.datasets._schedule import Behaviour, Cron, Every, Poisson

__all__ = ["CHANGE_TEMPLATES", "GROUP_NAMES", "behaviours"]


CHANGE_TEMPLATES = {"deploy_shop": DEPLOY_SHOP, "deploy_billing": DEPLOY_BILLING,
                    "upgrade_jvm": UPGRADE_JVM}  # fmt: skip


def behaviours() -> list[Behaviour]:
    """Every benign behaviour of the fleet with its hosts and schedule."""
    B = Behaviour
    out = [
        # every host
        B(CHEF_RUN, Every(1800, jitter=300)),
        B(CHEF_RUN_ETC, Every(86400 * 3, jitter=3600)),
        B(SYSSTAT, Cron("5-55/10 * * * *")),
        B(CRON_HOURLY, Cron("17 * * * *")),
        B(CRON_DAILY, Cron("25 6 * * *")),
        B(CRON_WEEKLY, Cron("47 6 * * 7")),
        B(CRON_MONTHLY, Cron("52 6 1 * *")),
        B(WEEKLY_AUDIT, Cron("30 3 * * *", delay=600)),
        B(LOGROTATE, Cron("0 0 * * *", delay=30)),
        B(MANDB, Cron("0 0 * * *", delay=3600)),
        B(TMPFILES, Cron("15 0 * * *", delay=60)),
        B(FSTRIM, Cron("0 0 * * 1", delay=3600)),
        B(E2SCRUB, Cron("10 3 * * 7", delay=600)),
        B(APT_UPDATE, Cron("0 6,18 * * *", delay=43200)),
        B(APT_UPGRADE_NOOP, Cron("0 6 * * *", delay=3600)),
        B(NTP, Every(2048, jitter=2)),
        B(SSM_POLL, Every(600, jitter=30)),
        B(SSM_INVENTORY, Every(3 * 3600, jitter=600)),
        B(KNIFE_SSH, Poisson(0.25, diurnal=0.9, weekend=0.1)),
        B(FILEBEAT, Every(3 * 3600, jitter=600)),
        # sessions
        B(SESSIONS["bastion_vpn"], Poisson(3.0, diurnal=0.9, weekend=0.2), groups=("bastion",)),
        B(SSH_BRUTEFORCE, Poisson(25.0), groups=("bastion",)),
        B(FAIL2BAN, Poisson(0.8), groups=("bastion",)),
        # web
        B(WEB_REQUEST, Poisson(300.0, diurnal=0.8, weekend=0.7), groups=("web",)),
        B(APP_REQUEST, Poisson(60.0, diurnal=0.8, weekend=0.7), groups=("web",)),
        B(WEB_DB, Poisson(20.0, diurnal=0.8), groups=("web",)),
        B(WEB_CACHE, Poisson(30.0, diurnal=0.8), groups=("web",)),
        B(WEB_BILLING, Poisson(8.0, diurnal=0.8), groups=("web",)),
        B(THUMBNAIL, Poisson(5.0, diurnal=0.8), groups=("web",)),
        B(INVOICE, Poisson(2.0, diurnal=0.9, weekend=0.3), groups=("web",)),
        B(CERTBOT, Cron("0 0,12 * * *", delay=43200), groups=("web",)),
        B(CHEF_WEB_CONFIG, Every(86400 * 2, jitter=7200), groups=("web",)),
        # db
        B(PG_LOCAL, Poisson(3.0, diurnal=0.6), groups=("db",)),
        B(WAL_PUSH, Every(300, jitter=20), groups=("db",)),
        B(PG_BACKUP, Cron("15 2 * * *"), groups=("db",)),
        B(PG_VACUUM, Cron("30 3 * * 0"), groups=("db",)),
        B(PG_BASEBACKUP, Cron("0 4 1 * *"), groups=("db",)),
        # worker
        B(BILLING_DB, Poisson(40.0, diurnal=0.7), groups=("worker",)),
        B(BILLING_API, Poisson(15.0, diurnal=0.9, weekend=0.4), groups=("worker",)),
        B(RECONCILE, Cron("30 1 * * *"), groups=("worker",)),
        B(ETL, Cron("0 * * * *"), groups=("worker",)),
        B(IMAGE_PULL, Cron("0 9 * * 1", delay=600), groups=("worker",)),
        # monitoring
        *(
            B(
                t,
                Every(900 if t.name.endswith(("load", "disk")) else 1800, jitter=5),
                groups=("monitoring",),
                fanout=True,
            )
            for t in CHECK_NRPE
        ),
        B(CHECK_SSH, Every(600, jitter=5), groups=("monitoring",), fanout=True),
        B(CHECK_PING, Every(300, jitter=5), groups=("monitoring",), fanout=True),
        B(CHECK_HTTP, Every(300, jitter=2), groups=("monitoring",), fanout=True),
        B(CHECK_PG, Every(300, jitter=5), groups=("monitoring",), fanout=True),
        B(CHECK_REDIS, Every(300, jitter=5), groups=("monitoring",), fanout=True),
        B(SCRAPE, Every(4 * 3600, jitter=600), groups=("monitoring",), fanout=True),
        B(NOTIFY, Poisson(0.3), groups=("monitoring",)),
        # cache
        B(REDIS_SAVE, Every(900, jitter=60), groups=("cache",)),
    ]
    for tpl, w in NAGIOS_UI:
        out.append(B(tpl, Poisson(3.0 * w, diurnal=0.9, weekend=0.2), groups=("monitoring",)))
    out += [
        B(SECURITY_UPDATES, Cron("30 6 * * 2", delay=3600)),
        B(REPORTS, Cron("10 */4 * * *"), groups=("worker",)),
        *(B(t, Every(600, jitter=5), groups=("monitoring",)) for t in LOCAL_CHECKS),
        B(CHECK_JVM, Every(900, jitter=5), groups=("monitoring",), fanout=True),
        *(B(t, Poisson(rate, diurnal=0.8), groups=("web",)) for t, rate in MEDIA),
    ]
    return out
