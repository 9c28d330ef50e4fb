"""When template instances start: Poisson with a day/night rhythm, periodic, cron, timers.

A :class:`Behaviour` ties a top-level template to the hosts that run it and to a
schedule. Schedules turn a time window into instance start times per host,
vectorised over hosts and hours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from behavemodel.datasets._templates import Template

__all__ = ["Behaviour", "Cron", "Every", "Poisson"]

HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def diurnal_factor(hour_of_day: np.ndarray, strength: float) -> np.ndarray:
    """Day/night activity multiplier with mean 1: low around 02:00, high around 14:00.

    Examples
    --------
    >>> import numpy as np
    >>> f = diurnal_factor(np.arange(24), 0.8)
    >>> round(float(f.mean()), 6), bool(f[14] > 1.7), bool(f[2] < 0.3)
    (1.0, True, True)
    """
    g = 1.0 + np.cos(2.0 * np.pi * (hour_of_day + 0.5 - 14.0) / 24.0)
    return (1.0 - strength) + strength * g


def weekday_of(t_ms: np.ndarray) -> np.ndarray:
    """0 = Monday ... 6 = Sunday (UTC)."""
    return (t_ms // DAY_MS + 3) % 7


@dataclass(frozen=True)
class Poisson:
    """Random starts at ``per_hour`` per host, shaped by time of day and weekends."""

    per_hour: float
    diurnal: float = 0.0
    weekend: float = 1.0

    def sample(
        self, hosts: np.ndarray, activity: np.ndarray, w0: int, w1: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        h0 = w0 // HOUR_MS
        h1 = -(-w1 // HOUR_MS)
        hours = np.arange(h0, h1, dtype=np.int64) * HOUR_MS
        lo = np.maximum(hours, w0)
        hi = np.minimum(hours + HOUR_MS, w1)
        frac = (hi - lo) / HOUR_MS
        hod = (hours % DAY_MS) // HOUR_MS
        factor = diurnal_factor(hod.astype(float), self.diurnal) * frac
        if self.weekend != 1.0:
            factor = factor * np.where(weekday_of(hours) >= 5, self.weekend, 1.0)
        lam = self.per_hour * activity[:, None] * factor[None, :]
        counts = rng.poisson(lam)
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.int64)
        flat = counts.ravel()
        cell = np.repeat(np.arange(flat.size), flat)
        hi_idx, hour_idx = np.divmod(cell, len(hours))
        start = lo[hour_idx]
        span = (hi - lo)[hour_idx]
        t = start + (rng.random(total) * span).astype(np.int64)
        return hosts[hi_idx].astype(np.int32), t


@dataclass(frozen=True)
class Every:
    """Periodic starts with a fixed per-stream phase and a little jitter (ms)."""

    seconds: float
    jitter: float = 0.5

    def sample_streams(
        self, phases_ms: np.ndarray, w0: int, w1: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        period = int(self.seconds * 1000)
        k0 = np.ceil((w0 - phases_ms) / period).astype(np.int64)
        k1 = np.ceil((w1 - phases_ms) / period).astype(np.int64)
        counts = np.maximum(k1 - k0, 0)
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        stream = np.repeat(np.arange(len(phases_ms)), counts)
        first = np.repeat(np.cumsum(counts) - counts, counts)
        k = k0[stream] + (np.arange(total) - first)
        t = phases_ms[stream] + k * period
        t = t + (rng.random(total) * self.jitter * 1000).astype(np.int64)
        return stream, t


def _field(spec: str, lo: int, hi: int) -> np.ndarray:
    allowed = np.zeros(hi + 1, bool)
    for part in spec.split(","):
        step = 1
        if "/" in part:
            part, step_s = part.split("/")
            step = int(step_s)
        if part == "*":
            a, b = lo, hi
        elif "-" in part:
            a_s, b_s = part.split("-")
            a, b = int(a_s), int(b_s)
        else:
            a = b = int(part)
        allowed[a : b + 1 : step] = True
    return allowed


@dataclass(frozen=True)
class Cron:
    """Starts at the minutes a crontab line names (``"17 * * * *"``), all hosts alike,
    plus up to ``delay`` seconds of random delay per start (systemd
    ``RandomizedDelaySec``; cron itself starts within the first second)."""

    spec: str
    delay: float = 0.8

    def minutes(self, w0: int, w1: int) -> np.ndarray:
        m0 = -(-w0 // 60_000)
        m1 = -(-w1 // 60_000)
        t = np.arange(m0, m1, dtype=np.int64) * 60_000
        if len(t) == 0:
            return t
        minute, hour, dom, month, dow = self.spec.split()
        mm = (t // 60_000) % 60
        hh = (t // HOUR_MS) % 24
        days = (t // DAY_MS).astype("datetime64[D]")
        dom_v = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
        mon_v = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
        dow_v = (weekday_of(t) + 1) % 7  # cron: 0 = Sunday
        ok = (
            _field(minute, 0, 59)[mm]
            & _field(hour, 0, 23)[hh]
            & _field(dom, 1, 31)[dom_v]
            & _field(month, 1, 12)[mon_v]
            & _field(dow, 0, 7)[dow_v]
        )
        return t[ok]

    def sample(
        self, hosts: np.ndarray, w0: int, w1: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        base = self.minutes(w0, w1)
        if len(base) == 0 or len(hosts) == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.int64)
        h = np.tile(hosts, len(base)).astype(np.int32)
        t = np.repeat(base, len(hosts))
        t = t + (rng.random(len(t)) * self.delay * 1000).astype(np.int64)
        return h, t


@dataclass(frozen=True, eq=False)
class Behaviour:
    """A top-level template, which hosts run it, and when.

    Parameters
    ----------
    template : Template
    groups : tuple of str, optional
        Host groups that run it (default: every host with the services it needs).
    when : Poisson, Every or Cron
    fanout : bool
        One periodic stream per (host, peer) pair, e.g. a monitoring check per
        monitored host; the template's ``peer`` groups say which peers.
    share : float
        Fraction of eligible hosts that have it (a stable per-host choice).
    """

    template: Template
    when: Poisson | Every | Cron
    groups: tuple[str, ...] | None = None
    fanout: bool = False
    share: float = 1.0
