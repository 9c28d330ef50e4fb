"""PATH items and user-space records (PAM, logins) of the audit-log writer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel import schema as s
from behavemodel.datasets._logtext import (
    CRON_GRANTORS,
    GS,
    LD_SO,
    PAM,
    UNSET,
    Lines,
    col,
    encode_value,
    ints,
    opt,
    owner_name,
)
from behavemodel.datasets._strings import audit_encode, by_unique

__all__ = ["render_paths", "render_user"]


def render_paths(
    ev: pa.Table,
    ex: pa.Table | None,
    idx: np.ndarray,
    h: pa.Array,
    mm: pa.Array,
    keys: np.ndarray,
    is_exec: np.ndarray,
    is_file: np.ndarray,
    sc_np: np.ndarray,
    arch_np: np.ndarray,
    creates: np.ndarray,
    interp: pa.Array | None,
    n_items: np.ndarray,
    enriched: bool,
    lines: Lines,
    c: Any,
    x: Any,
) -> None:
    m = len(idx)
    rows: list[np.ndarray] = []  # positions
    items: list[np.ndarray] = []
    names: list[pa.Array] = []
    ntypes: list[np.ndarray] = []
    modes: list[np.ndarray] = []
    owners: list[np.ndarray] = []

    def add(
        pos: np.ndarray, item: int, name: pa.Array, ntype: str, mode: str, owner: np.ndarray
    ) -> None:
        rows.append(pos)
        items.append(np.full(len(pos), item))
        names.append(name)
        ntypes.append(np.full(len(pos), ntype, dtype=object))
        modes.append(np.full(len(pos), mode, dtype=object))
        owners.append(owner)

    zeros = np.zeros(m, np.int64)
    uid = c(s.USER_UID).fill_null(0).to_numpy()
    ex_pos = np.flatnonzero(is_exec)
    if len(ex_pos):
        ea = pa.array(ex_pos)
        path0 = x("_path0")
        p0 = (
            pc.coalesce(path0.take(ea), c(s.PROCESS_EXE).take(ea))
            if path0 is not None
            else (c(s.PROCESS_EXE).take(ea))
        )
        add(ex_pos, 0, pc.fill_null(p0, ""), "NORMAL", "0100755", zeros[ex_pos])
        has_interp = (
            ~np.asarray(pc.is_null(interp.take(ea)))
            if interp is not None
            else np.zeros(len(ex_pos), bool)
        )
        sp = ex_pos[has_interp]
        if len(sp):
            assert interp is not None
            add(sp, 1, interp.take(pa.array(sp)), "NORMAL", "0100755", zeros[sp])
        ld = pa.array([LD_SO.get(a_, LD_SO["x86_64"]) for a_ in arch_np[ex_pos].tolist()])
        last = np.where(has_interp, 2, 1)
        for item in (1, 2):
            sel = last == item
            if sel.any():
                add(
                    ex_pos[sel],
                    item,
                    ld.filter(pa.array(sel)),
                    "NORMAL",
                    "0100755",
                    zeros[ex_pos[sel]],
                )
    f_pos = np.flatnonzero(is_file)
    if len(f_pos):
        fa = pa.array(f_pos)
        name_x = x("_name")
        fpath = c(s.FILE_PATH).take(fa)
        name = pc.coalesce(name_x.take(fa), fpath) if name_x is not None else fpath
        name = pc.fill_null(name, "")
        cwd = pc.fill_null(c(s.CWD).take(fa), "/")
        parent = _parent_names(name, cwd)
        sc_f = sc_np[f_pos]
        own = uid[f_pos]
        opens = np.isin(sc_f, ("openat", "open", "creat", "mkdir", "mkdirat"))
        creates = creates.copy()
        creates[f_pos[np.isin(sc_f, ("mkdir", "mkdirat"))]] = True
        two = opens & (creates[f_pos] | (sc_f == "creat"))
        one = opens & ~two
        nt_x = x("_nametype")
        ntype = (
            pc.fill_null(nt_x.take(fa), "NORMAL").to_numpy(zero_copy_only=False).astype(object)
            if nt_x is not None
            else np.full(len(f_pos), "CREATE", dtype=object)
        )
        for sel_mask, kind in ((two, "two"), (one, "one")):
            sel = np.flatnonzero(sel_mask)
            if not len(sel):
                continue
            sa = pa.array(sel)
            if kind == "two":
                add(f_pos[sel], 0, parent.take(sa), "PARENT", "040755", zeros[f_pos[sel]])
                _add_typed(add, f_pos[sel], 1, name.take(sa), ntype[sel], own[sel])
            else:
                _add_typed(add, f_pos[sel], 0, name.take(sa), ntype[sel], own[sel])
        sel = np.flatnonzero(np.isin(sc_f, ("unlink", "unlinkat")))
        if len(sel):
            sa = pa.array(sel)
            add(f_pos[sel], 0, parent.take(sa), "PARENT", "040755", zeros[f_pos[sel]])
            add(f_pos[sel], 1, name.take(sa), "DELETE", "0100644", own[sel])
        sel = np.flatnonzero(np.isin(sc_f, ("chmod", "fchmodat")))
        if len(sel):
            add(f_pos[sel], 0, name.take(pa.array(sel)), "NORMAL", "0100755", own[sel])
        sel = np.flatnonzero(np.isin(sc_f, ("rename", "renameat", "renameat2")))
        if len(sel):
            sa = pa.array(sel)
            old_x = x("_old_name")
            old = (
                old_x.take(pa.array(f_pos[sel]))
                if old_x is not None
                else pc.binary_join_element_wise(name.take(sa), ".tmp", "")
            )
            old = pc.fill_null(old, "")
            old_parent = _parent_names(old, cwd.take(sa))
            add(f_pos[sel], 0, old_parent, "PARENT", "040755", zeros[f_pos[sel]])
            add(f_pos[sel], 1, parent.take(sa), "PARENT", "040755", zeros[f_pos[sel]])
            add(f_pos[sel], 2, old, "DELETE", "0100644", own[sel])
            add(f_pos[sel], 3, name.take(sa), "DELETE", "0100644", own[sel])
            add(f_pos[sel], 4, name.take(sa), "CREATE", "0100644", own[sel])
    if not rows:
        return
    pos = np.concatenate(rows)
    item_no = np.concatenate(items)
    name_all = pa.concat_arrays([n_.cast(pa.string()) for n_ in names])
    ntype_all = pa.array(np.concatenate(ntypes).astype(str))
    mode_all = pa.array(np.concatenate(modes).astype(str))
    owner = np.concatenate(owners)
    pa_pos = pa.array(pos)
    serial_hint = (keys[pos] // 64).astype(np.uint64)
    inode = (
        np.frombuffer(np.asarray(pc.binary_length(name_all)).astype(np.int64).tobytes(), np.int64)
        * np.int64(7919)
        + item_no * 131
        + 400_000
        + (serial_hint % np.uint64(97)).astype(np.int64)
    )
    body = pc.binary_join_element_wise(
        h.take(pa_pos),
        " type=PATH",
        mm.take(pa_pos),
        "item=",
        ints(item_no),
        " name=",
        by_unique(name_all, audit_encode),
        " inode=",
        ints(inode),
        " dev=fd:01 mode=",
        mode_all,
        " ouid=",
        ints(owner),
        " ogid=",
        ints(owner),
        " rdev=00:00 nametype=",
        ntype_all,
        " cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0",
        "",
    )
    if enriched:
        onames = pa.array([owner_name(int(o)) for o in owner], pa.string())
        body = pc.binary_join_element_wise(body, GS, 'OUID="', onames, '" OGID="', onames, '"', "")
    lines.add(pc.binary_join_element_wise(body, "\n", ""), keys[pos] + 10 + item_no)


def _add_typed(
    add: Any, pos: np.ndarray, item: int, name: pa.Array, ntype: np.ndarray, owner: np.ndarray
) -> None:
    for t in ("CREATE", "NORMAL", "DELETE"):
        sel = np.flatnonzero(ntype == t)
        if len(sel):
            add(pos[sel], item, name.take(pa.array(sel)), t, "0100644", owner[sel])
    other = np.flatnonzero(~np.isin(ntype, ("CREATE", "NORMAL", "DELETE")))
    if len(other):
        add(pos[other], item, name.take(pa.array(other)), "NORMAL", "0100644", owner[other])


def _parent_names(name: pa.Array, cwd: pa.Array) -> pa.Array:
    """The kernel's PARENT item name: the directory part with its slash, or the cwd."""
    names = name.to_pylist()
    cwds = cwd.to_pylist()
    out = []
    for nm, cw in zip(names, cwds, strict=True):
        slash = nm.rfind("/")
        out.append(nm[: slash + 1] if slash >= 0 else cw)
    return pa.array(out, pa.string())


def render_user(
    ev: pa.Table,
    ex: pa.Table | None,
    idx: np.ndarray,
    head: pa.Array,
    msg: pa.Array,
    enriched: bool,
    lines: Lines,
    base: np.ndarray,
) -> None:
    ia = pa.array(idx)

    def c(name: str) -> pa.Array:
        return col(ev, name).take(ia)

    def x(name: str) -> pa.Array | None:
        arr = opt(ex, name)
        return None if arr is None else arr.take(ia)

    rec = c(s.RECORD_TYPE).to_pylist()
    pid = c(s.PROCESS_PID).fill_null(0).to_pylist()
    user_uid = c(s.USER_UID).fill_null(0).to_pylist()
    user_name = c(s.USER_NAME).to_pylist()
    auid = c(s.LOGIN_UID).to_pylist()
    login_name = c(s.LOGIN_NAME).to_pylist()
    ses = c(s.SESSION_ID).to_pylist()
    exe = c(s.PROCESS_EXE).to_pylist()
    src = c(s.SRC_IP).to_pylist()
    tty = c(s.TTY).to_pylist()
    success = c(s.SUCCESS).fill_null(True).to_pylist()
    proc_uid = x("_uid")
    proc_uid_l = proc_uid.to_pylist() if proc_uid is not None else [None] * len(idx)
    proc_uname = x("_uname")
    proc_uname_l = proc_uname.to_pylist() if proc_uname is not None else [None] * len(idx)
    acct_x = x("_acct")
    acct_l = acct_x.to_pylist() if acct_x is not None else [None] * len(idx)
    term_x = x("_terminal")
    term_l = term_x.to_pylist() if term_x is not None else [None] * len(idx)
    op_x = x("_op")
    op_l = op_x.to_pylist() if op_x is not None else [None] * len(idx)
    h = head.take(ia).to_pylist()
    mm = msg.take(ia).to_pylist()
    out = []
    for j in range(len(idx)):
        r = rec[j]
        is_login_rec = r in ("USER_LOGIN", "USER_LOGOUT")
        uid = proc_uid_l[j]
        if uid is None:
            uid = 0 if is_login_rec else user_uid[j]
        a_ = UNSET if auid[j] is None else auid[j]
        se = UNSET if ses[j] is None else ses[j]
        uname = proc_uname_l[j] or (user_name[j] if not is_login_rec else owner_name(uid))
        aname = "unset" if auid[j] is None else (login_name[j] or f"unknown({a_})")
        if r == "LOGIN":
            body = (
                f"pid={pid[j]} uid={uid} subj=unconfined old-auid={UNSET} auid={a_} "
                f"tty=(none) old-ses={UNSET} ses={se} res={1 if success[j] else 0}"
            )
            if enriched:
                body += f'{GS}UID="{uname}" OLD-AUID="unset" AUID="{aname}"'
            out.append(f"{h[j]} type=LOGIN{mm[j]}{body}\n")
            continue
        addr = src[j] or "?"
        terminal = term_l[j] or (
            f"/dev/{tty[j][:3]}/{tty[j][3:]}"
            if tty[j] and tty[j].startswith("pts")
            else (tty[j] or "?")
        )
        exe_s = exe[j]
        exe_enc = "?" if exe_s is None else encode_value(exe_s)
        res = "success" if success[j] else "failed"
        if is_login_rec:
            if success[j] and user_name[j] is not None and user_uid[j] is not None:
                who = f"id={user_uid[j]}"
            else:
                who = f"acct={encode_value(acct_l[j] or user_name[j] or '?')}"
            inner = (
                f"op=login {who} exe={exe_enc} hostname={addr} addr={addr} "
                f"terminal={terminal} res={res}"
            )
        else:
            op, grantors = PAM.get(r, ("PAM:" + r.lower(), "?"))
            if op_l[j]:
                op = op_l[j]
            if exe_s and exe_s.endswith("/cron"):
                grantors = CRON_GRANTORS.get(r, grantors)
            if not success[j]:
                grantors = "?"
            acct = acct_l[j] or "root"
            g = "" if op == "pubkey" else f" grantors={grantors}"
            host_part = "?" if addr == "?" else addr
            inner = (
                f"op={op}{g} acct={encode_value(acct)} exe={exe_enc} "
                f"hostname={host_part} addr={addr} terminal={terminal} res={res}"
            )
        body = f"pid={pid[j]} uid={uid} auid={a_} ses={se} subj=unconfined msg='{inner}'"
        if enriched:
            body += f'{GS}UID="{uname}" AUID="{aname}"'
            if is_login_rec and success[j] and user_name[j] is not None and "id=" in inner:
                body += f' ID="{user_name[j]}"'
        out.append(f"{h[j]} type={r}{mm[j]}{body}\n")
    lines.add(pa.array(out, pa.string()), base[idx] + 0)
