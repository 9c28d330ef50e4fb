"""Render canonical events as raw Linux audit logs, the way auditd writes them to disk.

:func:`render_auditd` turns a canonical event table into the records the kernel
and PAM emit (``SYSCALL``, ``EXECVE``, ``SOCKADDR``, ``CWD``, ``PATH``,
``PROCTITLE`` for syscalls; ``USER_LOGIN``, ``CRED_ACQ``, ``LOGIN``... for user
space), with the kernel's value encoding (``"quoted"`` or uppercase hex), long
EXECVE arguments split as ``aN_len``/``aN[i]`` across records, SOCKADDR as the raw
``struct sockaddr`` bytes, and optionally auditd's ENRICHED translations after a
0x1D byte. auditd never writes EOE records to disk, so neither does this.

Everything is built with Arrow string kernels over whole columns; only EXECVE
records too long for one record take a per-event path.

The simulator passes private ``_`` columns (exact argv, PATH names, open flags,
group names); without them values are derived from the canonical columns.
"""

from __future__ import annotations

import ipaddress
import shlex
from functools import lru_cache
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel import schema as s
from behavemodel.datasets._auditd_records import render_paths, render_user
from behavemodel.datasets._catalog import ARCH_HEX, syscall_number
from behavemodel.datasets._logtext import (
    GROUP_OF_UID,
    GS,
    MAX_EXECVE,
    O_CREAT,
    UNSET,
    Lines,
    col,
    ints,
    non_null_strings,
    opt,
)
from behavemodel.datasets._strings import (
    audit_encode,
    by_unique,
    hex_encode,
    int_hex,
    offsets_data,
    truncate_proctitle_bytes,
)

__all__ = ["render_auditd"]


@lru_cache(maxsize=65536)
def _sockaddr(ip: str, port: int) -> tuple[str, str, str]:
    """(saddr hex, family, interpreted address) of an inet/inet6 address."""
    addr = ipaddress.ip_address(ip)
    if addr.version == 4:
        raw = b"\x02\x00" + port.to_bytes(2, "big") + addr.packed + b"\x00" * 8
        return raw.hex().upper(), "inet", ip
    raw = b"\x0a\x00" + port.to_bytes(2, "big") + b"\x00" * 4 + addr.packed + b"\x00" * 4
    return raw.hex().upper(), "inet6", addr.compressed


def _ptr(serial: np.ndarray, salt: int) -> np.ndarray:
    """Plausible user-space pointer values, deterministic per event."""
    mixed = (
        serial.astype(np.uint64) * np.uint64(2654435761) + np.uint64(salt * 40503)
    ) & np.uint64(0xFFFFFFFF)
    return np.uint64(0x55D000000000) + (mixed << np.uint64(4))


def _execve_bodies_slow(args: list[bytes]) -> list[str]:
    """EXECVE record bodies for an argv too long for one record (kernel-like splitting)."""
    records: list[str] = []
    cur = f"argc={len(args)}"
    rem = MAX_EXECVE
    for i, arg in enumerate(args):
        control = any(b < 0x21 or b > 0x7E or b == 0x22 for b in arg)
        encode = control or len(arg) >= MAX_EXECVE
        size = len(arg) * 2 if encode else len(arg) + 2
        if rem < 104:
            records.append(cur)
            cur, rem = "", MAX_EXECVE
        if size + 96 <= rem:
            text = (
                arg.hex().upper() if encode else '"' + arg.decode("utf-8", "surrogateescape") + '"'
            )
            piece = f" a{i}={text}"
            cur += piece
            rem -= len(piece)
            continue
        # split: a<i>_len announces the (encoded) length, a<i>[k] carry the chunks
        pos, k = 0, 0
        while pos < len(arg) or k == 0:
            if rem < 104:
                records.append(cur)
                cur, rem = "", MAX_EXECVE
            hdr = (f" a{i}_len={size if encode else len(arg)}" if k == 0 else "") + f" a{i}[{k}]="
            rem -= len(hdr)
            if encode:
                n = min(len(arg) - pos, rem // 2)
                chunk = arg[pos : pos + n].hex().upper()
            else:
                n = min(len(arg) - pos, rem - 2)
                chunk = '"' + arg[pos : pos + n].decode("utf-8", "surrogateescape") + '"'
            cur += hdr + chunk
            rem -= len(chunk)
            pos += n
            k += 1
    records.append(cur)
    return records


def _argv_list(argv0: pa.Array) -> pa.ListArray:
    return pc.split_pattern(argv0, "\x00")


def _execve_fast(argv: pa.ListArray) -> tuple[pa.Array, np.ndarray]:
    """One-record EXECVE bodies, and a mask of events that need the slow path."""
    n = len(argv)
    offsets = argv.offsets.to_numpy()
    offsets = offsets - offsets[0]
    flat = pc.list_flatten(argv)
    enc = audit_encode(flat)
    k = np.arange(len(flat)) - np.repeat(offsets[:-1], np.diff(offsets))
    prefix = pc.binary_join_element_wise(" a", ints(k), "=", "")
    pieces = pc.binary_join_element_wise(prefix, enc, "")
    # kernel budget check per argument
    plen = pc.binary_length(pieces).to_numpy(zero_copy_only=False).astype(np.int64)
    elen = pc.binary_length(enc).to_numpy(zero_copy_only=False).astype(np.int64)
    cum = np.cumsum(plen)
    starts = np.repeat(offsets[:-1], np.diff(offsets))
    before = cum - plen - np.r_[0, cum][starts]
    rem = MAX_EXECVE - before
    bad_arg = (rem < 104) | (elen + 96 > rem)
    slow = np.zeros(n, bool)
    if bad_arg.any():
        owner = np.repeat(np.arange(n), np.diff(offsets))
        slow[np.unique(owner[bad_arg])] = True
    joined = pc.binary_join(
        pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pieces), ""
    )
    argc = ints(np.diff(offsets))
    bodies = pc.binary_join_element_wise("argc=", argc, joined, "")
    return bodies, slow


def render_auditd(
    events: pa.Table | Any,
    stream: IO[bytes] | None = None,
    *,
    enriched: bool = True,
    extras: pa.Table | None = None,
    interleave: float = 0.0,
    container_records: bool = False,
    seed: int = 0,
    chunk_size: int = 50_000,
) -> bytes | int:
    """Write canonical events as a raw audit log (``log_format=ENRICHED`` by default).

    Parameters
    ----------
    events : pyarrow.Table, pandas.DataFrame or Simulation
        Canonical events in log order (e.g. one host's events sorted by serial).
        ``event_id`` must follow ``host:seconds.millis:serial``. A
        :class:`~behavemodel.datasets.Simulation` brings its private columns
        (exact argv, PATH names, open flags), which make the output exact.
    stream : binary file, optional
        Where to write; without one the log is returned as bytes.
    enriched : bool, default True
        Append the ENRICHED translations (``UID="root"``...) after a 0x1D byte.
    extras : pyarrow.Table, optional
        The simulator's private columns, row-aligned with ``events``.
    interleave : float, default 0.0
        Fraction of syscall events whose records are interleaved with the next
        event's SYSCALL record (concurrent syscalls on other CPUs).
    container_records : bool, default False
        Write a ``CONTAINER_ID`` record for events with a ``container_id``.
    seed : int, default 0
        Seed for the interleaving choice.
    chunk_size : int, default 50000
        Events rendered at a time.

    Returns
    -------
    bytes or int
        The log (without ``stream``) or the number of bytes written.

    Examples
    --------
    >>> import io
    >>> from behavemodel.datasets import simulate_fleet, render_auditd
    >>> sim = simulate_fleet(groups=["db"], hosts_per_group=1, days=0.01, seed=3)
    >>> log = render_auditd(sim)
    >>> first = log.split(b"\\n")[0].decode()
    >>> first.split(" msg=")[0], "exe=\\"/usr/lib/systemd/systemd\\"" in first
    ('node=db-01 type=SYSCALL', True)
    >>> from behavemodel.io import read_auditd
    >>> back = read_auditd(io.BytesIO(log))
    >>> len(back) == sim.events.num_rows
    True
    """
    if hasattr(events, "_extras") and hasattr(events, "events"):
        extras = events._extras if extras is None else extras
        events = events.events
    if not isinstance(events, pa.Table):
        events = s.conform(events, fill_missing=True)
    rng = np.random.default_rng(seed)
    total = 0
    out: list[bytes] = []
    for start in range(0, max(events.num_rows, 1), chunk_size):
        ev = events.slice(start, chunk_size)
        if ev.num_rows == 0:
            break
        ex = extras.slice(start, chunk_size) if extras is not None else None
        data = _render_chunk(ev, ex, enriched, interleave, container_records, rng)
        if stream is not None:
            stream.write(data)
        else:
            out.append(data)
        total += len(data)
    return total if stream is not None else b"".join(out)


def _split_event_ids(ids: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """``host:seconds.millis:serial`` -> (host, seconds.millis, serial); explains bad ids."""
    parts = pc.split_pattern(ids, ":", max_splits=2, reverse=True)
    ok = pc.equal(pc.list_value_length(parts), 3)
    if pc.all(ok).as_py():
        node, stamp, serial = (pc.list_element(parts, k) for k in range(3))
        good = pc.and_(
            pc.match_substring_regex(stamp, r"^\d+\.\d+$"),
            pc.match_substring_regex(serial, r"^\d+$"),
        )
        if pc.all(good).as_py():
            return node, stamp, serial
        ok = good
    bad = np.flatnonzero(~ok.to_numpy(zero_copy_only=False))
    raise ValueError(
        "render_auditd needs event ids of the form 'host:seconds.millis:serial'; "
        f"{len(bad)} event(s) have another form, e.g. {ids[int(bad[0])].as_py()!r}."
    )


def _render_chunk(
    ev: pa.Table,
    ex: pa.Table | None,
    enriched: bool,
    interleave: float,
    container_records: bool,
    rng: np.random.Generator,
) -> pa.Buffer:
    n = ev.num_rows
    node, stamp, serial_text = _split_event_ids(col(ev, s.EVENT_ID))
    ts = pc.binary_join_element_wise(stamp, ":", serial_text, "")
    serial_np = pc.cast(serial_text, pa.int64()).to_numpy(zero_copy_only=False).astype(np.int64)
    head = pc.binary_join_element_wise("node=", node, "", "")
    msg = pc.binary_join_element_wise(" msg=audit(", ts, "): ", "")

    def header(typ: str, idx: np.ndarray) -> tuple[pa.Array, pa.Array]:
        ia = pa.array(idx)
        return head.take(ia), msg.take(ia)

    record = col(ev, s.RECORD_TYPE)
    syscall = col(ev, s.SYSCALL)
    is_sys = pc.and_(pc.equal(record, "SYSCALL"), pc.invert(pc.is_null(syscall)))
    is_sys_np = is_sys.to_numpy(zero_copy_only=False)
    lines = Lines()
    sys_idx = np.flatnonzero(is_sys_np)
    user_idx = np.flatnonzero(~is_sys_np)

    # keys: event position * 64 + record rank (PROCTITLE last)
    base = np.arange(n, dtype=np.int64) * 64
    syscall_key_shift = np.zeros(n, np.int64)
    if interleave > 0 and len(sys_idx) > 1:
        pid = col(ev, s.PROCESS_PID).fill_null(-1).to_numpy()
        ppid = col(ev, s.PARENT_PID).fill_null(-2).to_numpy()
        host = node.to_numpy(zero_copy_only=False)
        cand = sys_idx[:-1]
        nxt = cand + 1
        ok = (
            is_sys_np[nxt]
            & (host[cand] == host[nxt])
            & (pid[cand] != pid[nxt])
            & (ppid[nxt] != pid[cand])
            & (ppid[cand] != pid[nxt])
            & (rng.random(len(cand)) < interleave)
        )
        chosen = cand[ok]
        # no chains: an event that receives an interleaved record is not itself moved
        chosen = chosen[~np.isin(chosen, chosen + 1)]
        syscall_key_shift[chosen + 1] = -(64 - 1)  # right after the previous SYSCALL line

    if len(sys_idx):
        _render_syscalls(
            ev,
            ex,
            sys_idx,
            head,
            msg,
            serial_np,
            enriched,
            lines,
            base,
            syscall_key_shift,
            container_records,
        )
    if len(user_idx):
        render_user(ev, ex, user_idx, head, msg, enriched, lines, base)
    return lines.buffer()


def _names_for(uids: np.ndarray, names: pa.Array | None) -> pa.Array:
    """ENRICHED account names: the given names, else unknown(uid)."""
    fallback = pc.binary_join_element_wise("unknown(", ints(uids), ")", "")
    if names is None:
        return fallback
    return pc.coalesce(names, fallback)


def _render_syscalls(
    ev: pa.Table,
    ex: pa.Table | None,
    idx: np.ndarray,
    head: pa.Array,
    msg: pa.Array,
    serial: np.ndarray,
    enriched: bool,
    lines: Lines,
    base: np.ndarray,
    shift: np.ndarray,
    container_records: bool,
) -> None:
    ia = pa.array(idx)
    m = len(idx)

    def c(name: str) -> pa.Array:
        return col(ev, name).take(ia)

    def x(name: str) -> pa.Array | None:
        arr = opt(ex, name)
        return None if arr is None else arr.take(ia)

    h = head.take(ia)
    mm = msg.take(ia)
    keys = base[idx]
    sc = c(s.SYSCALL)
    arch = x("_arch")
    if arch is None:
        arch = pa.array(["x86_64"] * m, pa.string())
    arch_np = arch.to_numpy(zero_copy_only=False).astype(str)
    sc_np = sc.to_numpy(zero_copy_only=False).astype(str)
    pairs, inv = np.unique(np.char.add(np.char.add(arch_np, "|"), sc_np), return_inverse=True)
    nums = np.array([syscall_number(*p.split("|")) for p in pairs.tolist()], np.int64)[inv]
    arch_hex = (
        pa.array([ARCH_HEX[a] for a in arch_np.tolist()])
        if len(set(arch_np)) > 1
        else (pa.array(np.full(m, ARCH_HEX[arch_np[0]])))
    )
    etype = c(s.EVENT_TYPE).to_numpy(zero_copy_only=False).astype(str)
    is_exec = etype == "process_start"
    is_net = np.isin(etype, ("net_connect", "net_accept", "net_listen"))
    is_file = ~is_exec & ~is_net
    ser = serial[idx]

    success = c(s.SUCCESS).fill_null(True).to_numpy(zero_copy_only=False)
    exit_code = c(s.EXIT_CODE).fill_null(0).to_numpy()
    flags = x("_flags")
    flags_np = flags.fill_null(0o1101).to_numpy() if flags is not None else np.full(m, 0o1101)
    mode_x = x("_mode")
    mode_np = mode_x.fill_null(0o644).to_numpy() if mode_x is not None else np.full(m, 0o644)
    fam6 = pc.equal(
        pc.fill_null(
            c(s.NET_FAMILY).cast(pa.string())
            if not pa.types.is_dictionary(c(s.NET_FAMILY).type)
            else c(s.NET_FAMILY).dictionary_decode(),
            "",
        ),
        "inet6",
    ).to_numpy(zero_copy_only=False)

    # syscall arguments a0..a3
    fd = (ser % 29 + 3).astype(np.uint64)
    p1, p2, p3 = _ptr(ser, 1), _ptr(ser, 2), _ptr(ser, 3)
    atfd = np.uint64(0xFFFFFF9C)
    a = [np.zeros(m, np.uint64) for _ in range(4)]
    sel = is_exec
    a[0][sel], a[1][sel], a[2][sel] = p1[sel], p2[sel], p3[sel]
    a[3][sel] = (ser[sel] % 0x7F0 + 0x10).astype(np.uint64)
    sel = is_net
    salen = np.where(fam6, 0x1C, 0x10).astype(np.uint64)
    a[0][sel], a[1][sel] = fd[sel], p1[sel]
    is_acc = np.isin(sc_np, ("accept", "accept4"))
    a[2][sel] = np.where(is_acc[sel], p2[sel], salen[sel])
    a[3][sel] = np.where(sc_np[sel] == "accept4", np.uint64(0x80800), np.uint64(0))
    at_calls = np.isin(
        sc_np, ("openat", "unlinkat", "fchmodat", "renameat", "renameat2", "mkdirat")
    )
    sel = is_file & at_calls
    a[0][sel], a[1][sel] = atfd, p1[sel]
    op = sc_np == "openat"
    a[2][sel & op] = flags_np[sel & op].astype(np.uint64)
    a[3][sel & op] = mode_np[sel & op].astype(np.uint64)
    chm = np.isin(sc_np, ("fchmodat", "mkdirat"))
    a[2][sel & chm] = mode_np[sel & chm].astype(np.uint64)
    ren = np.isin(sc_np, ("renameat", "renameat2"))
    a[2][sel & ren] = atfd
    a[3][sel & ren] = p2[sel & ren]
    sel = is_file & ~at_calls
    a[0][sel], a[1][sel] = p1[sel], p2[sel]
    a[1][sel & (sc_np == "open")] = flags_np[sel & (sc_np == "open")].astype(np.uint64)
    a[1][sel & (sc_np == "creat")] = mode_np[sel & (sc_np == "creat")].astype(np.uint64)
    a[1][sel & (sc_np == "chmod")] = mode_np[sel & (sc_np == "chmod")].astype(np.uint64)
    a[1][sel & (sc_np == "mkdir")] = mode_np[sel & (sc_np == "mkdir")].astype(np.uint64)
    a[1][sel & (sc_np == "unlink")] = 0

    # PATH items
    interp = x("_interp")
    interp_np = ~np.asarray(pc.is_null(interp)) if interp is not None else np.zeros(m, bool)
    creates = (flags_np & O_CREAT) != 0
    n_items = np.zeros(m, np.int64)
    n_items[is_exec] = np.where(interp_np[is_exec], 3, 2)
    opens = np.isin(sc_np, ("openat", "open"))
    n_items[is_file & opens] = np.where(creates[is_file & opens], 2, 1)
    n_items[is_file & (sc_np == "creat")] = 2
    n_items[is_file & np.isin(sc_np, ("unlink", "unlinkat", "mkdir", "mkdirat"))] = 2
    n_items[is_file & np.isin(sc_np, ("chmod", "fchmodat"))] = 1
    n_items[is_file & np.isin(sc_np, ("rename", "renameat", "renameat2"))] = 5

    uid = c(s.USER_UID).fill_null(0).to_numpy()
    gid_x = x("_gid")
    gid = (
        gid_x.fill_null(0).to_numpy()
        if gid_x is not None
        else np.array([GROUP_OF_UID.get(int(u), (int(u), ""))[0] for u in uid], np.int64)
    )
    euid_x = x("_euid")
    euid = euid_x.fill_null(0).to_numpy() if euid_x is not None else uid
    auid = c(s.LOGIN_UID).fill_null(UNSET).to_numpy()
    ses = c(s.SESSION_ID).fill_null(UNSET).to_numpy()
    tty = pc.fill_null(c(s.TTY), "(none)")
    comm = by_unique(pc.fill_null(c(s.PROCESS_NAME), ""), audit_encode)
    exe = by_unique(pc.fill_null(c(s.PROCESS_EXE), ""), audit_encode)
    key_raw = c(s.AUDIT_KEY)
    key = pc.if_else(
        pc.is_null(key_raw), "(null)", by_unique(pc.fill_null(key_raw, ""), audit_encode)
    )
    container = c(s.CONTAINER_ID)
    subj = pc.if_else(pc.is_null(container), "unconfined", "docker-default (enforce)")

    body = pc.binary_join_element_wise(
        " type=SYSCALL",
        mm,
        "arch=",
        arch_hex,
        " syscall=",
        ints(nums),
        " success=",
        pa.array(np.where(success, "yes", "no")),
        " exit=",
        ints(exit_code),
        " a0=",
        int_hex(a[0]),
        " a1=",
        int_hex(a[1]),
        " a2=",
        int_hex(a[2]),
        " a3=",
        int_hex(a[3]),
        " items=",
        ints(n_items),
        " ppid=",
        ints(c(s.PARENT_PID).fill_null(0)),
        " pid=",
        ints(c(s.PROCESS_PID).fill_null(0)),
        " auid=",
        ints(auid),
        " uid=",
        ints(uid),
        " gid=",
        ints(gid),
        " euid=",
        ints(euid),
        " suid=",
        ints(euid),
        " fsuid=",
        ints(euid),
        " egid=",
        ints(gid),
        " sgid=",
        ints(gid),
        " fsgid=",
        ints(gid),
        " tty=",
        tty,
        " ses=",
        ints(ses),
        " comm=",
        comm,
        " exe=",
        exe,
        " subj=",
        subj,
        " key=",
        key,
        "",
    )
    if enriched:
        uname = _names_for(uid, c(s.USER_NAME))
        gname_x = x("_gname")
        gname = (
            gname_x
            if gname_x is not None
            else pa.array([GROUP_OF_UID.get(int(g), (0, None))[1] for g in gid], pa.string())
        )
        gname = _names_for(gid, gname)
        euname_x = x("_euname")
        euname = _names_for(euid, euname_x if euname_x is not None else c(s.USER_NAME))
        aname = pc.if_else(pa.array(auid == UNSET), "unset", _names_for(auid, c(s.LOGIN_NAME)))
        body = pc.binary_join_element_wise(
            body,
            GS,
            "ARCH=",
            arch,
            " SYSCALL=",
            sc,
            ' AUID="',
            aname,
            '" UID="',
            uname,
            '" GID="',
            gname,
            '" EUID="',
            euname,
            '" SUID="',
            euname,
            '" FSUID="',
            euname,
            '" EGID="',
            gname,
            '" SGID="',
            gname,
            '" FSGID="',
            gname,
            '"',
            "",
        )
    lines.add(pc.binary_join_element_wise(h, body, "\n", ""), keys + shift[idx])

    # EXECVE
    argv_raw = opt(ex, "_argv", decode=False)
    argv_x = None if argv_raw is None else argv_raw.take(ia)
    cmdline = c(s.PROCESS_CMDLINE)
    if argv_x is None:
        argv_x = pa.array(
            ["\x00".join(shlex.split(v)) if v is not None else None for v in cmdline.to_pylist()],
            pa.string(),
        )
    ex_pos = np.flatnonzero(is_exec)
    if len(ex_pos):
        argv0 = non_null_strings(argv_x.take(pa.array(ex_pos)))
        # argv values repeat a lot: build each distinct EXECVE body once
        enc = argv0 if pa.types.is_dictionary(argv0.type) else pc.dictionary_encode(argv0)
        u_bodies, u_slow = _execve_fast(_argv_list(enc.dictionary))
        bodies = u_bodies.take(enc.indices)
        slow = u_slow[enc.indices.to_numpy()]
        fast = np.flatnonzero(~slow)
        if len(fast):
            fa = pa.array(fast)
            hh = h.take(pa.array(ex_pos[fast]))
            mmx = mm.take(pa.array(ex_pos[fast]))
            lines.add(
                pc.binary_join_element_wise(hh, " type=EXECVE", mmx, bodies.take(fa), "\n", ""),
                keys[ex_pos[fast]] + 1,
            )
        for j in np.flatnonzero(slow).tolist():
            pos = int(ex_pos[j])
            args = [a_.encode("utf-8", "surrogateescape") for a_ in argv0[j].as_py().split("\x00")]
            hdr = h[pos].as_py() + " type=EXECVE" + mm[pos].as_py()
            recs = [hdr + b + "\n" for b in _execve_bodies_slow(args)]
            lines.add(pa.array(recs, pa.string()), np.full(len(recs), keys[pos] + 1))

    # SOCKADDR
    net_pos = np.flatnonzero(is_net)
    if len(net_pos):
        na = pa.array(net_pos)
        inbound = np.isin(etype[net_pos], ("net_accept",))
        ip = pc.if_else(pa.array(inbound), c(s.SRC_IP).take(na), c(s.DST_IP).take(na))
        port = pc.if_else(pa.array(inbound), c(s.SRC_PORT).take(na), c(s.DST_PORT).take(na))
        ip = pc.fill_null(ip, "0.0.0.0")
        port_np = port.fill_null(0).to_numpy().astype(np.uint64)
        # per distinct address: family bytes, packed address, interpreted text
        parts_ip = pc.dictionary_encode(ip)
        uniq = [_sockaddr(a_, 0) for a_ in parts_ip.dictionary.to_pylist()]
        ip_idx = parts_ip.indices
        fam_hex = pa.array([u[0][:4] for u in uniq]).take(ip_idx)
        addr_hex = pa.array([u[0][8:] for u in uniq]).take(ip_idx)
        saddr = pc.binary_join_element_wise(
            fam_hex, int_hex(port_np, lower=False, width=4), addr_hex, ""
        )
        line = pc.binary_join_element_wise(
            h.take(na), " type=SOCKADDR", mm.take(na), "saddr=", saddr, ""
        )
        if enriched:
            fam = pa.array([u[1] for u in uniq]).take(ip_idx)
            laddr = pa.array([u[2] for u in uniq]).take(ip_idx)
            line = pc.binary_join_element_wise(
                line, GS, "SADDR={ saddr_fam=", fam, " laddr=", laddr, " lport=",
                ints(port_np.astype(np.int64)), " }", "",
            )  # fmt: skip
        lines.add(pc.binary_join_element_wise(line, "\n", ""), keys[net_pos] + 3)

    # CWD
    cwd = c(s.CWD)
    cwd_pos = np.flatnonzero(~np.asarray(pc.is_null(cwd)) & ~is_net)
    if len(cwd_pos):
        ca = pa.array(cwd_pos)
        lines.add(
            pc.binary_join_element_wise(
                h.take(ca),
                " type=CWD",
                mm.take(ca),
                "cwd=",
                by_unique(cwd.take(ca), audit_encode),
                "\n",
                "",
            ),
            keys[cwd_pos] + 4,
        )

    # PATH
    render_paths(
        ev,
        ex,
        idx,
        h,
        mm,
        keys,
        is_exec,
        is_file,
        sc_np,
        arch_np,
        creates,
        interp,
        n_items,
        enriched,
        lines,
        c,
        x,
    )

    # CONTAINER_ID (optional, not written by mainline kernels)
    if container_records:
        cpos = np.flatnonzero(~np.asarray(pc.is_null(container)))
        if len(cpos):
            ca = pa.array(cpos)
            lines.add(
                pc.binary_join_element_wise(
                    h.take(ca),
                    " type=CONTAINER_ID",
                    mm.take(ca),
                    "contid=",
                    container.take(ca),
                    "\n",
                    "",
                ),
                keys[cpos] + 40,
            )

    # PROCTITLE
    if argv_x is None:  # pragma: no cover - set above
        return
    title_enc = by_unique(
        non_null_strings(argv_x), lambda u: _encode_bytes(truncate_proctitle_bytes(u))
    )
    lines.add(
        pc.binary_join_element_wise(h, " type=PROCTITLE", mm, "proctitle=", title_enc, "\n", ""),
        keys + 50,
    )


def _encode_bytes(values: pa.Array) -> pa.Array:
    """Kernel encoding of binary values (quoted when printable ASCII, else hex)."""
    offsets, data = offsets_data(values)
    data = data[offsets[0] : offsets[-1]]
    flag = ((data < 0x21) | (data > 0x7E) | (data == 0x22)).astype(np.int64)
    cum = np.r_[0, np.cumsum(flag)]
    rel = offsets - offsets[0]
    needs = (cum[rel[1:]] - cum[rel[:-1]]) > 0
    hexed = hex_encode(values)
    quoted = pc.binary_join_element_wise('"', values.cast(pa.string(), safe=False), '"', "")
    return pc.if_else(pa.array(needs), hexed.cast(pa.string()), quoted)
