"""Cross-host connections: pair a connect on one host with the accept on another.

Audit logs give each side only half of a TCP connection: ``connect`` logs the
remote address the client dialled (``dst_ip:dst_port``), ``accept`` logs the
client's address (``src_ip:src_port``) but not the local address it was
accepted on. To pair them, the matcher needs to know which host owns which IP
address. It takes them, in this order, from

1. ``host_addresses`` given by the caller (authoritative);
2. loopback addresses (``127.0.0.0/8``, ``::1``), which belong to the host itself;
3. inference from the events: a connect from host A to address X at time t and
   an accept (or, where accepts are not audited, a ``USER_LOGIN`` record) on
   host B from client address Y near t are evidence that X is B's address and Y
   is A's. Candidate pairs are made one-to-one (each connect and each accept
   used once, nearest in time first, with the listening port checked when the
   accepting process's ``listen`` was logged); an address is assigned to a host
   when at least ``min_votes`` pairs say so, they are at least 60 % of the pairs
   naming that address and they explain at least 30 % of the connections to (or
   from) it. Chance coincidences spread over many hosts and fail these tests.

Clock skew: each host's clock may be off. For every pair of hosts with enough
candidate pairs, the offset is the peak of the histogram of (accept time -
connect time) within ``max_skew``; hosts linked through such pairs get per-host
offsets, so two hosts that rarely talk still get one. Pairs then match when
their times agree within ``window`` after correcting the offset.

A connection into an ssh session continues the path of the connection that
opened that session: the accept on the next host is linked to its login
(:mod:`behavemodel.investigate._sessions`), and a connect made from that
session (same host, login uid and session id) is the next hop. So ``bastion ->
web-01 -> db-02`` comes out as one path with hops 1 and 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel import schema
from behavemodel.investigate._common import (
    NO_TIME,
    Cell,
    EventColumns,
    clock,
    format_rows,
    parse_seconds,
    pick,
    plain_text,
)
from behavemodel.investigate._sessions import _build as _build_sessions

__all__ = [
    "ADDRESS_COLUMNS",
    "CONNECTION_COLUMNS",
    "STATUSES",
    "ConnectionReport",
    "infer_host_addresses",
    "match_connections",
]

_US = pa.timestamp("us", tz="UTC")
_EINPROGRESS = -115
_MAX_CANDIDATES = 32  # per inbound event, on each side of its time
_SHARE, _COVERAGE = 0.6, 0.3

#: Values of the ``status`` column of :func:`match_connections`.
STATUSES = (
    "matched",  # both sides found
    "outside_fleet",  # connect to an address no host in the events owns
    "not_accepted",  # connect to a fleet host, but no accept or login there matches
    "failed",  # connect failed (not EINPROGRESS) and nothing accepted it
    "from_outside",  # accept from an address no host in the events owns
    "not_connected",  # accept from a fleet host's address, but no connect there matches
)

#: Columns of :func:`match_connections`, in order.
CONNECTION_COLUMNS = (
    "connection",
    "status",
    "match_basis",
    schema.TIME,
    "src_host",
    "src_ip",
    "src_port",
    "src_pid",
    "src_process",
    "src_exe",
    "src_cmdline",
    "src_user",
    "src_login_uid",
    "src_login_name",
    "src_session",
    "src_event_id",
    "dst_host",
    "dst_ip",
    "dst_port",
    "dst_time",
    "dst_kind",
    "dst_pid",
    "dst_process",
    "dst_exe",
    "dst_user",
    "dst_event_id",
    "dst_session",
    "dst_login_name",
    "dst_login_event_id",
    "time_delta",
    "clock_offset",
    "parent_connection",
    "path_id",
    "hop",
    "path",
)

#: Columns of :func:`infer_host_addresses`, in order.
ADDRESS_COLUMNS = (schema.HOST_NAME, "ip", "source", "votes", "share")


def _normalise_ips(column: pa.ChunkedArray) -> pa.ChunkedArray:
    text = pc.utf8_lower(pc.utf8_trim_whitespace(column))
    return pc.replace_substring_regex(text, r"^::ffff:(\d+\.\d+\.\d+\.\d+)$", r"\1")


def _is_loopback(values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values), bool)
    for i, v in enumerate(values):
        out[i] = isinstance(v, str) and (v.startswith("127.") or v in ("::1", "localhost"))
    return out


@dataclass
class _Sides:
    """Outbound (connect) and inbound (accept, unlinked login) events, as arrays."""

    o_row: np.ndarray
    o_host: np.ndarray
    o_addr: np.ndarray  # dst address code
    o_port: np.ndarray
    o_time: np.ndarray
    i_row: np.ndarray
    i_host: np.ndarray
    i_addr: np.ndarray  # client address code
    i_lport: np.ndarray  # local port, -1 unknown
    i_listener: np.ndarray  # pid whose listening ports bound the local port, -1 none
    listen_keys: np.ndarray  # _port_key of every (host, pid, port) listened on
    i_time: np.ndarray
    i_login: np.ndarray  # True for USER_LOGIN rows standing in for an accept
    addresses: np.ndarray  # address strings by code
    loopback: np.ndarray  # by address code
    hosts: np.ndarray  # host names by code


@dataclass
class _Config:
    window: int
    tolerance: int
    login_window: int
    min_votes: int


def _sides(ev: EventColumns, logins: np.ndarray, login_accepts: np.ndarray) -> _Sides:
    host, hosts = ev.host_codes()
    pid = ev.ints(schema.PROCESS_PID)
    family_ok = ~ev.equals(schema.NET_FAMILY, ["unix", "netlink", "packet"])
    dst = _normalise_ips(ev.arrow(schema.DST_IP))
    src = _normalise_ips(ev.arrow(schema.SRC_IP))
    both = pa.chunked_array(dst.chunks + src.chunks, pa.string()).dictionary_encode()
    both = both.combine_chunks()
    codes = np.asarray(both.indices.cast(pa.int64()).fill_null(-1).to_numpy(), np.int64)
    addresses = np.asarray(both.dictionary.to_numpy(zero_copy_only=False), dtype=object)
    invalid = np.isin(addresses, ["", "?", "unknown", "0.0.0.0", "::"])
    dst_code, src_code = codes[: ev.n], codes[ev.n :]
    dst_code = np.where(pick(invalid, dst_code, missing=True), -1, dst_code)
    src_code = np.where(pick(invalid, src_code, missing=True), -1, src_code)
    o_row = np.flatnonzero(
        ev.equals(schema.EVENT_TYPE, "net_connect") & family_ok & (dst_code >= 0)
    )
    accepts = np.flatnonzero(
        ev.equals(schema.EVENT_TYPE, "net_accept")
        & family_ok
        & (src_code >= 0)
        & ~ev.is_false(schema.SUCCESS)
    )
    alone = logins[(login_accepts < 0) & (src_code[logins] >= 0)]
    i_row = np.concatenate([accepts, alone])
    # Local port of an accept: its own dst_port, else the ports its process (or, for
    # pre-forked servers, its parent) listens on: one port is known, several constrain.
    dport = ev.ints(schema.DST_PORT)
    ppid = ev.ints(schema.PARENT_PID)
    listens = np.flatnonzero(ev.equals(schema.EVENT_TYPE, "net_listen") & (dport > 0))
    n_acc = len(accepts)
    lport = np.where(dport[i_row] > 0, dport[i_row], -1)
    lport[n_acc:] = -1
    listen_keys = np.unique(_port_key(host[listens], pid[listens], dport[listens]))
    listener = np.full(len(i_row), -1, np.int64)
    if len(listens):
        owners = np.unique(
            _port_key(host[listens], pid[listens], np.zeros(len(listens), np.int64))
        )
        for who in (ppid[i_row], pid[i_row]):  # the accepting process wins over its parent
            own = np.isin(_port_key(host[i_row], who, np.zeros(len(i_row), np.int64)), owners)
            listener = np.where(own & (who > 0), who, listener)
        listener[n_acc:] = -1
        listener[lport > 0] = -1
        single = pd.DataFrame({"h": host[listens], "p": pid[listens], "port": dport[listens]})
        ports = single.groupby(["h", "p"])["port"].agg(["nunique", "first"])
        ports = ports[ports["nunique"] == 1]["first"]
        known = ports.reindex(pd.MultiIndex.from_arrays([host[i_row], listener])).to_numpy(
            dtype=float
        )
        one = (lport < 0) & ~np.isnan(known)
        lport = np.where(one, np.nan_to_num(known, nan=-1), lport).astype(np.int64)
        listener[one] = -1
    time_us = ev.time_us()
    return _Sides(
        o_row=o_row,
        o_host=host[o_row],
        o_addr=dst_code[o_row],
        o_port=dport[o_row],
        o_time=time_us[o_row],
        i_row=i_row,
        i_host=host[i_row],
        i_addr=src_code[i_row],
        i_lport=lport,
        i_listener=listener,
        listen_keys=listen_keys,
        i_time=time_us[i_row],
        i_login=np.arange(len(i_row)) >= len(accepts),
        addresses=addresses,
        loopback=_is_loopback(addresses),
        hosts=hosts,
    )


def _port_key(host: np.ndarray, pid: np.ndarray, port: np.ndarray) -> np.ndarray:
    """One int64 per (host code, pid, port)."""
    return (host.astype(np.int64) << 40) | (np.clip(pid, 0, (1 << 24) - 1) << 16) | (port & 0xFFFF)


def _candidates(s: _Sides, cfg: _Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(outbound index, inbound index, dt) pairs whose times are within the tolerance.

    An inbound event whose local port is known only looks at connects to that port.
    At most ``_MAX_CANDIDATES`` on each side of its time are kept, nearest first.
    """
    if len(s.o_row) == 0 or len(s.i_row) == 0:
        empty = np.empty(0, np.int64)
        return empty, empty, empty
    n = len(s.o_row)
    by_time = np.argsort(s.o_time, kind="stable")
    times = s.o_time[by_time]
    rank = np.empty(n, np.int64)
    rank[by_time] = np.arange(n)
    # Connects ordered by (port, time), addressed as port * (n + 1) + time rank.
    port = np.clip(s.o_port, 0, 0xFFFF)
    by_port = np.lexsort((rank, port))
    port_key = (port * (n + 1) + rank)[by_port]
    tol = cfg.tolerance
    late = np.where(s.i_login, cfg.login_window, 0)
    lo = np.searchsorted(times, s.i_time - tol - late, side="left")
    hi = np.searchsorted(times, s.i_time + tol, side="right")
    mid = np.searchsorted(times, s.i_time)
    known = s.i_lport >= 0
    base = np.where(known, s.i_lport, 0) * (n + 1)
    left = np.where(known, np.searchsorted(port_key, base + lo, side="left"), lo)
    right = np.where(known, np.searchsorted(port_key, base + hi, side="left"), hi)
    centre = np.where(known, np.searchsorted(port_key, base + mid, side="left"), mid)
    # A login comes after its connect: look further back for it.
    left = np.maximum(left, centre - np.where(s.i_login, 2, 1) * _MAX_CANDIDATES)
    right = np.minimum(right, centre + _MAX_CANDIDATES)
    counts = np.clip(right - left, 0, None)
    inbound = np.repeat(np.arange(len(s.i_row)), counts)
    position = np.repeat(left - np.cumsum(counts) + counts, counts) + np.arange(len(inbound))
    outbound = np.where(known[inbound], by_port[position], by_time[position])
    dt = s.i_time[inbound] - s.o_time[outbound]
    listener = s.i_listener[inbound]
    bounded = listener > 0
    if bounded.any():
        key = _port_key(s.i_host[inbound[bounded]], listener[bounded], s.o_port[outbound[bounded]])
        fits = np.ones(len(inbound), bool)
        fits[bounded] = np.isin(key, s.listen_keys)
        outbound, inbound, dt = outbound[fits], inbound[fits], dt[fits]
    return outbound, inbound, dt


def _greedy(a: np.ndarray, b: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Candidate indices kept so each ``a`` and each ``b`` is used once, cheapest first.

    Rounds of mutual best choices (the earliest live candidate of both its ends) give
    the same pairs as the sequential greedy, many at a time.
    """
    order = np.lexsort((b, a, cost))
    a, b, index = a[order], b[order], order
    used_a = np.zeros(int(a.max(initial=-1)) + 1, bool)
    used_b = np.zeros(int(b.max(initial=-1)) + 1, bool)
    chosen: list[np.ndarray] = []
    for _ in range(50):
        if len(a) == 0:
            break
        first_a = ~pd.Series(a).duplicated().to_numpy()
        first_b = ~pd.Series(b).duplicated().to_numpy()
        won = first_a & first_b
        chosen.append(index[won])
        used_a[a[won]] = True
        used_b[b[won]] = True
        keep = ~used_a[a] & ~used_b[b]
        a, b, index = a[keep], b[keep], index[keep]
    else:  # long preference chains: finish one candidate at a time
        rest = []
        for k in range(len(a)):
            if not used_a[a[k]] and not used_b[b[k]]:
                used_a[a[k]] = used_b[b[k]] = True
                rest.append(index[k])
        chosen.append(np.asarray(rest, np.int64))
    return np.concatenate(chosen) if chosen else np.empty(0, np.int64)


def _pair_offsets(
    a: np.ndarray, b: np.ndarray, dt: np.ndarray, n_hosts: int, cfg: _Config
) -> dict[tuple[int, int], int]:
    """Clock offset (B minus A, in us) for host pairs whose time differences peak clearly."""
    if len(dt) == 0:
        return {}
    width = max(cfg.window // 20, 5_000)
    n_bins = 2 * cfg.tolerance // width + 2
    pair = a * n_hosts + b
    bins = (dt + cfg.tolerance) // width
    keys, counts = np.unique(pair * n_bins + bins, return_counts=True)
    kp, kb = keys // n_bins, keys % n_bins
    highest = pd.Series(counts).groupby(kp).transform("max").to_numpy()
    totals = pd.Series(counts).groupby(kp).transform("sum").to_numpy()
    # Periodic jobs on several hosts make coincidences pile up too: among the bins
    # at least half as high as the highest, the one nearest zero offset wins.
    tall = (2 * counts >= highest) & (counts >= 3) & (counts >= 5 * totals / n_bins + 2)
    if not tall.any():
        return {}
    distance = np.abs(kb * width + width // 2 - cfg.tolerance)
    pick_order = np.lexsort((distance[tall], kp[tall]))
    kp_t, kb_t = kp[tall][pick_order], kb[tall][pick_order]
    first = np.r_[True, kp_t[1:] != kp_t[:-1]]
    peak_pair, peak_bin = kp_t[first], kb_t[first]
    strong = np.ones(len(peak_pair), bool)
    peak_of = pd.Series(peak_bin[strong], index=peak_pair[strong])
    near = peak_of.reindex(pair).to_numpy(dtype=float)
    use = ~np.isnan(near) & (np.abs(bins - np.nan_to_num(near)) <= 1)
    median = pd.Series(dt[use]).groupby(pair[use]).median()
    return {(int(p // n_hosts), int(p % n_hosts)): int(v) for p, v in median.items()}


def _host_offsets(pairs: dict[tuple[int, int], int], n_hosts: int) -> dict[tuple[int, int], int]:
    """Per-host clock offsets from the pair offsets, for host pairs without their own."""
    if not pairs:
        return {}
    a = np.array([p[0] for p in pairs], np.int64)
    b = np.array([p[1] for p in pairs], np.int64)
    o = np.array(list(pairs.values()), np.float64)
    label = np.arange(n_hosts)
    for _ in range(n_hosts):
        low = np.minimum(label[a], label[b])
        new = label.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        if (new == label).all():
            break
        label = new
    offset = np.zeros(n_hosts)
    degree = np.bincount(a, minlength=n_hosts) + np.bincount(b, minlength=n_hosts)
    for _ in range(200):
        total = np.bincount(b, weights=offset[a] + o, minlength=n_hosts) + np.bincount(
            a, weights=offset[b] - o, minlength=n_hosts
        )
        offset = np.where(degree > 0, total / np.maximum(degree, 1), 0.0)
    linked = np.flatnonzero(degree > 0)
    return {
        (int(x), int(y)): round(offset[y] - offset[x])
        for x in linked
        for y in linked
        if x != y and label[x] == label[y] and (x, y) not in pairs
    }


def _offset_lookup(
    offsets: dict[tuple[int, int], int], a: np.ndarray, b: np.ndarray, n_hosts: int
) -> np.ndarray:
    if not offsets or len(a) == 0:
        return np.zeros(len(a), np.int64)
    keys = np.array([x * n_hosts + y for x, y in offsets], np.int64)
    values = np.array(list(offsets.values()), np.int64)
    sorter = np.argsort(keys)
    wanted = a * n_hosts + b
    pos = np.clip(np.searchsorted(keys[sorter], wanted), 0, len(keys) - 1)
    hit = keys[sorter][pos] == wanted
    return np.where(hit, values[sorter][pos], 0)


def _within(s: _Sides, inbound: np.ndarray, lag: np.ndarray, cfg: _Config) -> np.ndarray:
    """Times agree: |lag| <= window (accepts) or -window <= lag <= login_window (logins)."""
    upper = np.where(s.i_login[inbound], cfg.login_window + cfg.window, cfg.window)
    return (lag >= -cfg.window) & (lag <= upper)


def _given(
    host_addresses: Mapping[str, str | Iterable[str]] | None, s: _Sides
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str]]]:
    """Host code of each address code from the caller's map (-1 unknown), and extra hosts."""
    owner = np.full(len(s.addresses), -1, np.int64)
    extra: list[tuple[str, str]] = []
    if not host_addresses:
        return owner, s.hosts, extra
    if not isinstance(host_addresses, Mapping):
        raise ValueError(
            "The 'host_addresses' parameter must map host names to an IP address or a list "
            f"of them, such as {{'web-01': ['10.0.1.11']}}. Got {type(host_addresses).__name__}."
        )
    hosts = list(s.hosts)
    index = {h: i for i, h in enumerate(hosts)}
    where = {a: i for i, a in enumerate(s.addresses)}
    for host, ips in host_addresses.items():
        values = [ips] if isinstance(ips, str) else list(ips)
        if host not in index:
            index[host] = len(hosts)
            hosts.append(host)
        for ip in values:
            text = str(ip).strip().lower()
            text = text[7:] if text.startswith("::ffff:") and "." in text else text
            extra.append((host, text))
            if text in where:
                owner[where[text]] = index[host]
    return owner, np.asarray(hosts, dtype=object), extra


@dataclass
class _AddressMap:
    owner: np.ndarray  # host code by address code, -1 unknown
    source: np.ndarray  # "given" / "inferred" / "" by address code
    votes: np.ndarray
    share: np.ndarray
    hosts: np.ndarray
    extra: list[tuple[str, str]]
    offsets: dict[tuple[int, int], int]


def _vote(
    addr: np.ndarray,
    host: np.ndarray,
    total: np.ndarray,
    n_hosts: int,
    cfg: _Config,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Addresses whose pairs point clearly at one host: (address, host, votes, share)."""
    if len(addr) == 0:
        empty = np.empty(0, np.int64)
        return empty, empty, empty, np.empty(0)
    key = addr * n_hosts + host
    uniq, counts = np.unique(key, return_counts=True)
    ua, uh = uniq // n_hosts, uniq % n_hosts
    per_addr = np.bincount(ua, weights=counts, minlength=len(total))
    top = np.lexsort((-counts, ua))
    first = np.r_[True, ua[top][1:] != ua[top][:-1]]
    ta, th, tc = ua[top][first], uh[top][first], counts[top][first]
    frac = tc / per_addr[ta]
    good = (tc >= cfg.min_votes) & (frac >= _SHARE) & (tc >= _COVERAGE * total[ta])
    return ta[good], th[good], tc[good], frac[good]


Candidates = tuple[np.ndarray, np.ndarray, np.ndarray]


def _infer(s: _Sides, cfg: _Config, host_addresses: Any, cands: Candidates) -> _AddressMap:
    given, hosts, extra = _given(host_addresses, s)
    n_hosts = len(hosts)
    o, i, dt = cands
    a, b = s.o_host[o], s.i_host[i]
    x, y = s.o_addr[o], s.i_addr[i]
    gx, gy = given[x], given[y]
    ok = (a != b) & ~s.loopback[x] & ~s.loopback[y]
    ok &= ((gx < 0) | (gx == b)) & ((gy < 0) | (gy == a))
    o, i, dt, a, b, x, y = o[ok], i[ok], dt[ok], a[ok], b[ok], x[ok], y[ok]
    accepts = ~s.i_login[i]
    pairs = _pair_offsets(a[accepts], b[accepts], dt[accepts], n_hosts, cfg)
    offsets = {**_host_offsets(pairs, n_hosts), **pairs}
    lag = dt - _offset_lookup(offsets, a, b, n_hosts)
    near = _within(s, i, lag, cfg)
    o, i, a, b, x, y, lag = o[near], i[near], a[near], b[near], x[near], y[near], lag[near]
    n_out = np.bincount(s.o_addr[s.o_addr >= 0], minlength=len(s.addresses))
    n_in = np.bincount(s.i_addr[s.i_addr >= 0], minlength=len(s.addresses))
    # Pass 1: every one-to-one pair votes. Pass 2: with pass 1's map, a pair votes
    # only when its other address belongs to the other host, which drops
    # coincidences with accepts from outside the fleet.
    owner = given.copy()
    for mutual in (False, True):
        if mutual:
            hx, hy = owner[x], owner[y]
            fits = ((hx < 0) | (hx == b)) & ((hy < 0) | (hy == a))
        else:
            fits = np.ones(len(o), bool)
        won = np.flatnonzero(fits)[_greedy(o[fits], i[fits], np.abs(lag[fits]))]
        to_b, to_a = np.ones(len(won), bool), np.ones(len(won), bool)
        if mutual:
            to_b = owner[y[won]] == a[won]
            to_a = owner[x[won]] == b[won]
        found = owner.copy() if mutual else given.copy()
        if mutual:
            found[given < 0] = -1
        source = np.where(given >= 0, "given", "").astype(object)
        votes = np.zeros(len(s.addresses), np.int64)
        share = np.zeros(len(s.addresses))
        addr = np.concatenate([x[won][to_b], y[won][to_a]])
        host = np.concatenate([b[won][to_b], a[won][to_a]])
        va, vh, vc, vs = _vote(addr, host, n_out + n_in, n_hosts, cfg)
        fresh = given[va] < 0
        found[va[fresh]] = vh[fresh]
        source[va[fresh]] = "inferred"
        votes[va[fresh]] = vc[fresh]
        share[va[fresh]] = vs[fresh]
        owner = found
    return _AddressMap(owner, source, votes, share, hosts, extra, offsets)


def _config(window: Any, max_skew: Any, login_window: Any, min_votes: Any) -> _Config:
    w = parse_seconds(window, "window")
    skew = parse_seconds(max_skew, "max_skew")
    login = parse_seconds(login_window, "login_window")
    if (
        isinstance(min_votes, bool)
        or not isinstance(min_votes, (int, np.integer))
        or min_votes < 1
    ):
        raise ValueError(
            f"The 'min_votes' parameter must be a positive integer. Got {min_votes!r} instead."
        )
    return _Config(
        window=int(w * 1e6),
        tolerance=int((w + skew) * 1e6),
        login_window=int(login * 1e6),
        min_votes=int(min_votes),
    )


def infer_host_addresses(
    events: Any,
    *,
    host_addresses: Mapping[str, str | Iterable[str]] | None = None,
    window: str | float = "2s",
    max_skew: str | float = "10s",
    login_window: str | float = "60s",
    min_votes: int = 2,
) -> pd.DataFrame:
    """Which IP addresses belong to which host, as far as the events show.

    See the module notes for the method. Parameters are those of
    :func:`match_connections`.

    Returns
    -------
    pandas.DataFrame
        One row per (host, address): ``host_name``, ``ip``, ``source``
        (``"given"`` or ``"inferred"``), ``votes`` (connection pairs that
        support an inferred address) and ``share`` (their fraction of the pairs
        naming the address). Given addresses not seen in the events are listed too.

    Examples
    --------
    Two connections from ``web-01`` to ``10.0.2.12:5432`` are accepted on
    ``db-01`` from ``10.0.1.11``, so each side learns the other's address:

    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.investigate import infer_host_addresses
    >>> t = pd.Timestamp("2024-03-04T10:00:00Z")
    >>> ms = pd.Timedelta("5ms")
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": [t, t + ms, t + pd.Timedelta("1min"), t + pd.Timedelta("1min") + ms],
    ...     "host_name": ["web-01", "db-01"] * 2,
    ...     "event_type": ["net_connect", "net_accept"] * 2,
    ...     "process_pid": [700, 800] * 2,
    ...     "src_ip": [None, "10.0.1.11"] * 2, "src_port": [None, 40000, None, 40001],
    ...     "dst_ip": ["10.0.2.12", None] * 2, "dst_port": [5432, None] * 2,
    ...     "event_id": list("abcd"), "source_format": "canonical"}), fill_missing=True)
    >>> infer_host_addresses(events)[["host_name", "ip", "source", "votes"]]
      host_name         ip    source  votes
    0     db-01  10.0.2.12  inferred      2
    1    web-01  10.0.1.11  inferred      2
    """
    cfg = _config(window, max_skew, login_window, min_votes)
    ev = EventColumns(events, "infer_host_addresses")
    logins, login_accepts = _login_links(ev, cfg)
    sides = _sides(ev, logins, login_accepts)
    amap = _infer(sides, cfg, host_addresses, _candidates(sides, cfg))
    return _to_frame(_address_table(amap, sides))


def _address_table(amap: _AddressMap, s: _Sides) -> pa.Table:
    known = np.flatnonzero(amap.owner >= 0)
    rows = {
        (str(amap.hosts[amap.owner[k]]), str(s.addresses[k])): (
            str(amap.source[k]),
            int(amap.votes[k]),
            float(amap.share[k]),
        )
        for k in known
    }
    for host, ip in amap.extra:
        rows.setdefault((host, ip), ("given", 0, 0.0))
    ordered = sorted(rows.items())
    return pa.table(
        {
            schema.HOST_NAME: pa.array([k[0] for k, _ in ordered], pa.string()),
            "ip": pa.array([k[1] for k, _ in ordered], pa.string()),
            "source": pa.array([v[0] for _, v in ordered], pa.string()),
            "votes": pa.array([v[1] for _, v in ordered], pa.int64()),
            "share": pa.array([v[2] for _, v in ordered], pa.float64()),
        }
    )


def _to_frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _login_links(ev: EventColumns, cfg: _Config) -> tuple[np.ndarray, np.ndarray]:
    from behavemodel.investigate._sessions import link_logins

    return link_logins(ev, cfg.login_window)


def match_connections(
    events: Any,
    *,
    window: str | float = "2s",
    max_skew: str | float = "10s",
    login_window: str | float = "60s",
    host_addresses: Mapping[str, str | Iterable[str]] | None = None,
    min_votes: int = 2,
) -> pd.DataFrame:
    """Pair outbound connects with the accepts they caused on other hosts, across ssh hops.

    Parameters
    ----------
    events : pandas.DataFrame or pyarrow.Table
        Canonical events of the fleet (all hosts together).
    window : str or float, default "2s"
        Largest difference between the connect and accept times, after correcting
        the estimated clock offset of the two hosts.
    max_skew : str or float, default "10s"
        Largest clock offset between two hosts the matcher looks for.
    login_window : str or float, default "60s"
        Longest time from a connect to the login it opened, where only the
        ``USER_LOGIN`` record stands for the accept (accepts not audited), and
        from an accept to its login.
    host_addresses : mapping of host name to IP address(es), optional
        Known addresses; they win over inferred ones.
    min_votes : int, default 2
        Connection pairs needed to infer that an address belongs to a host.

    Returns
    -------
    pandas.DataFrame
        One row per connection, in time order, columns :data:`CONNECTION_COLUMNS`:

        - ``connection``: row id; ``status`` (:data:`STATUSES`: ``matched``,
          ``outside_fleet``, ``not_accepted``, ``failed``, ``from_outside``,
          ``not_connected``); ``match_basis``: ``addresses`` (both addresses
          known), ``destination`` (the dialled address is the accepting host's),
          ``source`` (the client address is the connecting host's) or ``loopback``;
        - ``time``: of the connect (of the accept for inbound-only rows);
        - the initiator: ``src_host``, ``src_ip`` and ``src_port`` (the client
          address as the accepting side saw it), ``src_pid``, ``src_process``,
          ``src_exe``, ``src_cmdline``, ``src_user``, ``src_login_uid``,
          ``src_login_name``, ``src_session`` (``"host:ses"``, see
          :func:`list_sessions`), ``src_event_id``;
        - the responder: ``dst_host``, ``dst_ip``, ``dst_port``, ``dst_time``,
          ``dst_kind`` (``accept`` or ``login``), ``dst_pid``, ``dst_process``,
          ``dst_exe``, ``dst_user``, ``dst_event_id``, and the login session the
          connection opened there: ``dst_session``, ``dst_login_name``,
          ``dst_login_event_id``;
        - ``time_delta``: accept time minus connect time, seconds (raw clocks);
          ``clock_offset``: the estimated offset of the two hosts' clocks;
        - ``parent_connection``: the connection that opened the session this
          one was made from; ``path_id`` (the first connection of the path),
          ``hop`` (1, 2, ...) and ``path`` (``"bastion-01 -> web-01 -> db-02"``).

    See Also
    --------
    infer_host_addresses : The address map the matcher uses.
    ConnectionReport : The same rows as readable text.

    Examples
    --------
    ``web-01`` connects to the database twice; the second time the accept is
    logged. A third connection leaves the fleet:

    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.investigate import match_connections
    >>> t = pd.Timestamp("2024-03-04T10:00:00Z")
    >>> s = lambda x: t + pd.Timedelta(seconds=x)
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": [s(0), s(0.004), s(60), s(60.003), s(90)],
    ...     "host_name": ["web-01", "db-01", "web-01", "db-01", "web-01"],
    ...     "event_type": ["net_connect", "net_accept"] * 2 + ["net_connect"],
    ...     "process_pid": [700, 800, 700, 800, 701],
    ...     "process_name": ["java", "postgres", "java", "postgres", "curl"],
    ...     "src_ip": [None, "10.0.1.11", None, "10.0.1.11", None],
    ...     "src_port": [None, 40000, None, 40001, None],
    ...     "dst_ip": ["10.0.2.12", None, "10.0.2.12", None, "93.184.216.34"],
    ...     "dst_port": [5432, None, 5432, None, 443],
    ...     "event_id": list("abcde"), "source_format": "canonical"}), fill_missing=True)
    >>> found = match_connections(events)
    >>> found[["status", "src_host", "src_process", "dst_host", "dst_process", "dst_port"]]
              status src_host src_process dst_host dst_process  dst_port
    0        matched   web-01        java    db-01    postgres      5432
    1        matched   web-01        java    db-01    postgres      5432
    2  outside_fleet   web-01        curl     <NA>        <NA>       443
    """
    cfg = _config(window, max_skew, login_window, min_votes)
    ev = EventColumns(events, "match_connections")
    built = _build_sessions(ev, cfg.login_window)
    logins, login_accepts = _login_links(ev, cfg)
    sides = _sides(ev, logins, login_accepts)
    cands = _candidates(sides, cfg)
    amap = _infer(sides, cfg, host_addresses, cands)
    pairs = _match(sides, amap, cfg, cands)
    return _to_frame(_assemble(ev, sides, amap, pairs, built))


def _match(s: _Sides, amap: _AddressMap, cfg: _Config, cands: Candidates) -> pd.DataFrame:
    """One-to-one pairs (outbound index, inbound index, offset, basis) consistent with the map."""
    n_hosts = len(amap.hosts)
    o, i, dt = cands
    a, b = s.o_host[o], s.i_host[i]
    x, y = s.o_addr[o], s.i_addr[i]
    hx, hy = amap.owner[x], amap.owner[y]
    lx, ly = s.loopback[x], s.loopback[y]
    same = a == b
    # Evidence: the dialled address is the accepting host's, or the client address is
    # the connecting host's (loopback: both on one host). Nothing may contradict it.
    dest_ok = np.where(lx, same, hx == b)
    src_ok = np.where(ly, same, hy == a)
    fits = np.where(lx | ly, same, True)
    fits &= (hx < 0) | lx | (hx == b)
    fits &= (hy < 0) | ly | (hy == a)
    fits &= ~same | lx | ly | (hx == a)
    keep = np.flatnonzero(fits & (dest_ok | src_ok))
    offset = np.where(same[keep], 0, _offset_lookup(amap.offsets, a[keep], b[keep], n_hosts))
    lag = dt[keep] - offset
    near = _within(s, i[keep], lag, cfg)
    keep, offset, lag = keep[near], offset[near], lag[near]
    won = _greedy(o[keep], i[keep], np.abs(lag))
    keep, offset = keep[won], offset[won]
    basis = np.select(
        [lx[keep], dest_ok[keep] & src_ok[keep], dest_ok[keep]],
        ["loopback", "addresses", "destination"],
        default="source",
    )
    return pd.DataFrame({"o": o[keep], "i": i[keep], "offset": offset, "basis": basis})


@dataclass
class _Rows:
    """The connection rows: which outbound and inbound event each one has (-1 none)."""

    out: np.ndarray  # index into the outbound side
    inn: np.ndarray  # index into the inbound side
    o_row: np.ndarray  # event rows
    i_row: np.ndarray
    when: np.ndarray
    t_dst: np.ndarray
    offset: np.ndarray
    basis: np.ndarray


def _rows(ev: EventColumns, s: _Sides, pairs: pd.DataFrame) -> _Rows:
    """Matched pairs, connects alone and accepts alone, in time order."""
    paired_o = pairs["o"].to_numpy(np.int64)
    paired_i = pairs["i"].to_numpy(np.int64)
    used_o = np.zeros(len(s.o_row), bool)
    used_o[paired_o] = True
    used_i = np.zeros(len(s.i_row), bool)
    used_i[paired_i] = True
    lone_o, lone_i = np.flatnonzero(~used_o), np.flatnonzero(~used_i)
    out = np.concatenate([paired_o, lone_o, np.full(len(lone_i), -1, np.int64)])
    inn = np.concatenate([paired_i, np.full(len(lone_o), -1, np.int64), lone_i])
    o_row = pick(s.o_row, out)
    i_row = pick(s.i_row, inn)
    time_us = ev.time_us()
    t_src = pick(time_us, o_row, missing=NO_TIME)
    t_dst = pick(time_us, i_row, missing=NO_TIME)
    when = np.where(o_row >= 0, t_src, t_dst)
    extra = len(out) - len(pairs)
    offset = np.concatenate([pairs["offset"].to_numpy(np.int64), np.zeros(extra, np.int64)])
    basis = np.concatenate(
        [pairs["basis"].to_numpy(dtype=object), np.full(extra, None, dtype=object)]
    )
    by = np.lexsort((np.arange(len(out)), when))
    return _Rows(
        out[by], inn[by], o_row[by], i_row[by], when[by], t_dst[by], offset[by], basis[by]
    )


def _paths(
    src_sess: np.ndarray, dst_sess: np.ndarray, when: np.ndarray, t_dst: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parent connection (the one that opened the session a connect came from), root, hop."""
    n = len(when)
    opened_by = np.full(int(max(src_sess.max(initial=-1), dst_sess.max(initial=-1))) + 1, -1)
    has = dst_sess >= 0
    firsts = np.unique(dst_sess[has], return_index=True)[1]  # one opener per session
    opened_by[dst_sess[has][firsts]] = np.flatnonzero(has)[firsts]
    parent = pick(opened_by, src_sess)
    parent[parent == np.arange(n)] = -1
    # The session must have been opened before the connect left it.
    parent[pick(t_dst, parent, missing=NO_TIME) > when] = -1
    root = np.arange(n)
    hop = np.ones(n, np.int64)
    up = parent.copy()
    for _ in range(64):
        moving = up >= 0
        if not moving.any():
            break
        root = np.where(moving, up, root)
        hop += moving
        up = pick(parent, up)
    return parent, root, hop


def _path_strings(parent: np.ndarray, src_label: pa.Array, dst_label: pa.Array) -> pa.Array:
    """``src -> dst`` per row; rows with a parent connection walk up to the first one."""
    single = pc.binary_join_element_wise(src_label, dst_label, " -> ")
    deep = np.flatnonzero(parent >= 0)
    if len(deep) == 0:
        return single
    out = np.asarray(single.to_numpy(zero_copy_only=False), dtype=object).copy()
    src, dst = src_label.to_pylist(), dst_label.to_pylist()
    for k in deep.tolist():
        chain = [dst[k]]
        j = k
        for _ in range(64):
            if parent[j] < 0:
                break
            j = int(parent[j])
            chain.append(dst[j])
        chain.append(src[j])
        out[k] = " -> ".join(reversed(chain))
    return pa.array(out.tolist(), pa.string())


def _assemble(
    ev: EventColumns, s: _Sides, amap: _AddressMap, pairs: pd.DataFrame, built: Any
) -> pa.Table:
    r = _rows(ev, s, pairs)
    n = len(r.out)
    has_o, has_i = r.out >= 0, r.inn >= 0
    o_addr = pick(s.o_addr, r.out)
    i_addr = pick(s.i_addr, r.inn)
    o_host = pick(s.o_host, r.out)
    i_host = pick(s.i_host, r.inn)
    owner_o = pick(amap.owner, o_addr)
    owner_i = pick(amap.owner, i_addr)
    loop_o = (o_addr >= 0) & s.loopback[np.clip(o_addr, 0, None)]
    loop_i = (i_addr >= 0) & s.loopback[np.clip(i_addr, 0, None)]
    src_host = np.where(has_o, o_host, np.where(loop_i, i_host, owner_i))
    dst_host = np.where(has_i, i_host, np.where(loop_o, o_host, owner_o))

    failed = ev.is_false(schema.SUCCESS) & (ev.ints(schema.EXIT_CODE) != _EINPROGRESS)
    status = np.full(n, "matched", dtype=object)
    alone_o, alone_i = has_o & ~has_i, has_i & ~has_o
    status[alone_o] = np.where(dst_host[alone_o] >= 0, "not_accepted", "outside_fleet")
    status[alone_o & failed[np.clip(r.o_row, 0, None)]] = "failed"
    status[alone_i] = np.where(src_host[alone_i] >= 0, "not_connected", "from_outside")

    # Sessions: the one each connect ran in, the one each accept (or login) opened.
    row_session = np.full(ev.n, -1, np.int64)
    row_session[built.rows] = built.session
    src_sess = pick(row_session, r.o_row)
    dst_sess = pick(row_session, r.i_row)
    summary = built.summary
    parent, root, hop = _paths(src_sess, dst_sess, r.when, r.t_dst)

    def per_session(column: str, sess: np.ndarray) -> pa.Array:
        values = [None if _missing(v) else str(v) for v in summary[column]] if len(summary) else []
        index = pa.array(sess, pa.int64(), mask=sess < 0)
        return pa.array(values, pa.string()).take(index)

    def text(rows: np.ndarray, name: str) -> pa.Array:
        return ev.arrow_at(name, rows)

    def ints(values: np.ndarray, typ: pa.DataType) -> pa.Array:
        return pa.array(values, pa.int64(), mask=values < 0).cast(typ)

    def from_rows(rows: np.ndarray, name: str) -> np.ndarray:
        return np.where(rows >= 0, ev.ints(name)[np.clip(rows, 0, None)], -1)

    def process(rows: np.ndarray) -> pa.Array:
        name = ev.arrow_at(schema.PROCESS_NAME, rows)
        name = pc.if_else(pc.equal(name, ""), pa.scalar(None, pa.string()), name)
        base = pc.replace_substring_regex(ev.arrow_at(schema.PROCESS_EXE, rows), r"^.*/", "")
        return pc.coalesce(name, base)

    host_values = pa.array(list(amap.hosts), pa.string())
    address_values = pa.array(list(s.addresses), pa.string())

    def hosts_of(codes: np.ndarray) -> pa.Array:
        return host_values.take(pa.array(codes, pa.int64(), mask=codes < 0))

    def addresses(codes: np.ndarray) -> pa.Array:
        return address_values.take(pa.array(codes, pa.int64(), mask=codes < 0))

    unknown = pa.scalar("?", pa.string())
    src_label = pc.coalesce(hosts_of(src_host), addresses(i_addr), unknown)
    dst_label = pc.coalesce(hosts_of(dst_host), addresses(o_addr), unknown)

    def times(us: np.ndarray) -> pa.Array:
        return pa.array(us, pa.int64(), mask=us == NO_TIME).cast(_US)

    i_lport = pick(s.i_lport, r.inn)
    dst_port = np.where(has_o, from_rows(r.o_row, schema.DST_PORT), i_lport)
    both = has_o & has_i
    t_src = np.where(has_o, r.when, NO_TIME)
    delta = np.where(both, (r.t_dst - t_src) / 1e6, np.nan)
    kind = np.full(n, None, dtype=object)
    if len(s.i_row):
        kind[has_i] = np.where(s.i_login[r.inn[has_i]], "login", "accept")
    columns: dict[str, pa.Array] = {
        "connection": pa.array(np.arange(n), pa.int64()),
        "status": pa.array(status.tolist(), pa.string()),
        "match_basis": pa.array(r.basis.tolist(), pa.string()),
        schema.TIME: times(r.when),
        "src_host": hosts_of(src_host),
        "src_ip": addresses(i_addr),
        "src_port": ints(from_rows(r.i_row, schema.SRC_PORT), pa.int32()),
        "src_pid": ints(from_rows(r.o_row, schema.PROCESS_PID), pa.int64()),
        "src_process": process(r.o_row),
        "src_exe": text(r.o_row, schema.PROCESS_EXE),
        "src_cmdline": text(r.o_row, schema.PROCESS_CMDLINE),
        "src_user": text(r.o_row, schema.USER_NAME),
        "src_login_uid": ints(from_rows(r.o_row, schema.LOGIN_UID), pa.int64()),
        "src_login_name": per_session("login_name", src_sess),
        "src_session": per_session("session_name", src_sess),
        "src_event_id": text(r.o_row, schema.EVENT_ID),
        "dst_host": hosts_of(dst_host),
        "dst_ip": addresses(o_addr),
        "dst_port": ints(dst_port, pa.int32()),
        "dst_time": times(r.t_dst),
        "dst_kind": pa.array(kind.tolist(), pa.string()),
        "dst_pid": ints(from_rows(r.i_row, schema.PROCESS_PID), pa.int64()),
        "dst_process": process(r.i_row),
        "dst_exe": text(r.i_row, schema.PROCESS_EXE),
        "dst_user": text(r.i_row, schema.USER_NAME),
        "dst_event_id": text(r.i_row, schema.EVENT_ID),
        "dst_session": per_session("session_name", dst_sess),
        "dst_login_name": per_session("login_name", dst_sess),
        "dst_login_event_id": per_session("login_event_id", dst_sess),
        "time_delta": pa.array(delta, pa.float64(), mask=~both),
        "clock_offset": pa.array(r.offset / 1e6, pa.float64(), mask=~both),
        "parent_connection": pa.array(parent, pa.int64(), mask=parent < 0),
        "path_id": pa.array(root, pa.int64()),
        "hop": pa.array(hop, pa.int64()),
        "path": _path_strings(parent, src_label, dst_label),
    }
    return pa.table({c: columns[c] for c in CONNECTION_COLUMNS})


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, (str, bytes)) and bool(pd.isna(value)))


def _endpoint(ip: Any, port: Any) -> str:
    if _missing(ip):
        return "?" if _missing(port) else f"?:{int(port)}"
    text = f"[{ip}]" if ":" in str(ip) else str(ip)
    return text if _missing(port) else f"{text}:{int(port)}"


@dataclass(frozen=True)
class ConnectionReport:
    """Readable connections: the rows of :func:`match_connections` as text, by path.

    Parameters
    ----------
    connections : pandas.DataFrame
        Rows of :func:`match_connections`.
    addresses : pandas.DataFrame, optional
        Rows of :func:`infer_host_addresses`, printed first.
    limit : int, optional
        Print at most this many paths (a note says how many were left out).

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel.investigate import ConnectionReport
    >>> rows = pd.DataFrame({
    ...     "connection": [0, 1], "status": ["matched", "outside_fleet"],
    ...     "time": pd.to_datetime(["2024-03-04T10:00:00Z", "2024-03-04T10:01:00Z"]),
    ...     "src_host": ["web-01", "web-01"], "src_pid": [700, 701],
    ...     "src_process": ["java", "curl"], "src_user": ["app", "www"],
    ...     "src_session": [None, None], "dst_host": ["db-01", None],
    ...     "dst_ip": ["10.0.2.12", "93.184.216.34"], "dst_port": [5432, 443],
    ...     "dst_pid": [800, None], "dst_process": ["postgres", None],
    ...     "dst_user": ["postgres", None], "dst_session": [None, None],
    ...     "dst_login_name": [None, None], "time_delta": [0.004, None],
    ...     "path_id": [0, 1], "hop": [1, 1],
    ...     "path": ["web-01 -> db-01", "web-01 -> 93.184.216.34"]})
    >>> print(ConnectionReport(rows))
    10:00:00.000  web-01  app  java [700]  -> db-01 (10.0.2.12:5432)  postgres [800]  +0.004s
    10:01:00.000  web-01  www  curl [701]  -> 93.184.216.34:443       outside the fleet
    """

    connections: pd.DataFrame
    addresses: pd.DataFrame | None = None
    limit: int | None = None

    def to_text(self, cell: Cell = plain_text) -> str:
        """Render paths (multi-hop ones with a heading) and single connections, in time order."""

        def show(value: object) -> str:
            return "" if _missing(value) else cell(value)

        lines: list[str] = []
        if self.addresses is not None and not self.addresses.empty:
            lines.append("host addresses:")
            lines += format_rows(
                [
                    [show(r.host_name), show(r.ip), show(r.source)]
                    for r in self.addresses.itertuples(index=False)
                ],
                indent="  ",
            )
            lines.append("")
        frame = self.connections
        if frame.empty:
            lines.append("no connections")
            return "\n".join(lines)
        paths = frame.groupby("path_id", sort=False)
        order = frame.groupby("path_id", sort=False)["time"].min().sort_values(kind="stable")
        shown = order.index if self.limit is None else order.index[: self.limit]
        rows: list[list[str]] = []
        for path_id in shown:
            part = paths.get_group(path_id).sort_values(["hop", "time"], kind="stable")
            if part["hop"].max() > 1:
                start = str(part["path"].iloc[0]).split(" -> ")[0]
                rows.append(
                    [
                        f"path from {show(start)}: {len(part)} connections, "
                        f"{int(part['hop'].max())} hops"
                    ]
                )
            for rec in part.itertuples(index=False):
                rows.append(self._row(rec, show))
        lines += _align(rows)
        if self.limit is not None and len(order) > self.limit:
            lines.append(f"... {len(order) - self.limit} more paths not shown")
        return "\n".join(lines)

    @staticmethod
    def _row(rec: Any, show: Any) -> list[str]:
        """Cells: time, source, user, process, target, peer or outcome, delta, session note."""
        hop = int(rec.hop)
        when = "   " * (hop - 1) + ("└─ " if hop > 1 else "") + clock(_us(rec.time))
        src = show(rec.src_host) or show(getattr(rec, "src_ip", None)) or "?"
        process = _process(rec.src_process, rec.src_pid, show)
        peer = _process(rec.dst_process, rec.dst_pid, show)
        opened = ""
        if not _missing(rec.dst_session):
            opened = f"opened session {show(rec.dst_session)}"
            if not _missing(rec.dst_login_name):
                opened += f" ({show(rec.dst_login_name)})"
        endpoint = show(_endpoint(rec.dst_ip, rec.dst_port))
        if rec.status == "matched":
            delta = "" if _missing(rec.time_delta) else f"{float(rec.time_delta):+.3f}s"
            target = f"-> {show(rec.dst_host)} ({endpoint})"
            return [when, src, show(rec.src_user), process, target, peer, delta, opened]
        if rec.status in ("from_outside", "not_connected"):
            port = "" if _missing(rec.dst_port) else f":{int(rec.dst_port)}"
            what = "from outside the fleet" if rec.status == "from_outside" else "no connect seen"
            note = what + (f", {opened}" if opened else "")
            return [when, src, "", "", f"-> {show(rec.dst_host)}{port}", peer, "", note]
        outcome = {
            "outside_fleet": "outside the fleet",
            "not_accepted": f"no accept seen on {show(rec.dst_host)}",
            "failed": "connect failed",
        }.get(str(rec.status), show(rec.status))
        return [when, src, show(rec.src_user), process, "-> " + endpoint, outcome]

    def __str__(self) -> str:
        return self.to_text()


def _process(name: Any, pid: Any, show: Any) -> str:
    if _missing(name):
        return ""
    return show(name) if _missing(pid) else f"{show(name)} [{int(pid)}]"


def _align(rows: list[list[str]]) -> list[str]:
    """Align connection rows; one-cell rows (path headings) are printed as they are."""
    body = [r for r in rows if len(r) > 1]
    aligned = iter(format_rows(body))
    return [r[0] if len(r) == 1 else next(aligned) for r in rows]


def _us(value: Any) -> int:
    if _missing(value):
        return NO_TIME
    return int(pd.Timestamp(value).value // 1000)
