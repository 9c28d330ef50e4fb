"""Built-in template variables: per-instance values for ``{placeholders}``.

Host facts (``{host}``, ``{ip}``, ``{peer_ip}``), the session (``{user}``,
``{home}``, ``{tty}``), random names (``{tmp6}``, ``{hex8}``, ``{cid}``), times
(``{date}``, ``{ts}``), versions live on the host at that moment (``{jvm}``,
``{shop_rel}``, ``{billing}``) and address pools (``{pool.s3}``). Each is computed
for all instances of a template at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel.datasets import _catalog as cat
from behavemodel.datasets._rows import SV
from behavemodel.datasets._strings import int_hex

if TYPE_CHECKING:
    from behavemodel.datasets._engine import Engine, ISet

__all__ = ["compute_var", "random_text"]


def compute_var(engine: Engine, s: ISet, name: str) -> Any:
    """The value of built-in variable ``name`` for every instance of ``s``."""
    rng = engine.rng
    n = s.n
    v = engine.vocab
    if name == "host":
        return SV(codes=engine.host_name[s.host])
    if name == "ip":
        return SV(codes=engine.host_ip[s.host])
    if name == "group":
        return SV(codes=engine.host_group[s.host])
    if name in ("peer_host", "peer_ip"):
        assert s.peer is not None, f"template {s.ct.tpl.name!r} uses {{{name}}} without a peer"
        table = engine.host_name if name == "peer_host" else engine.host_ip
        return SV(codes=table[s.peer])
    if name == "user":
        return SV(codes=engine.user_name[s.user])
    if name == "home":
        return SV(codes=engine.user_home[s.user])
    if name == "uid":
        return engine.uids[s.user]
    if name == "tty":
        return s.tty
    if name == "ttypath":
        return SV(arr=pc.replace_substring(s.tty.to_arrow(v), "pts", "/dev/pts/"))
    if name == "ses":
        return s.ses
    if name == "src_ip":
        pool = cat.POOLS["vpn"]
        codes = np.array([v.code(x) for x in pool], np.int32)
        return SV(codes=codes[rng.integers(0, len(pool), n)])
    if name in ("eport", "eport2"):
        return rng.integers(32768, 61000, n)
    if name == "fd":
        return rng.integers(3, 40, n)
    if name in ("tmp6", "tmp8"):
        return SV(arr=random_text(rng, n, int(name[3:]), _ALNUM))
    if name.startswith("hex"):
        return SV(arr=random_text(rng, n, int(name[3:]), _HEX))
    if name in ("n2", "n3", "n5"):
        digits = int(name[1:])
        return rng.integers(10 ** (digits - 1), 10**digits, n)
    if name == "snap":
        return rng.integers(120, 980, n)
    if name == "cid":
        return SV(arr=random_text(rng, n, 64, _HEX))
    if name == "cshort":
        return SV(arr=pc.utf8_slice_codeunits(engine.sv(s, "cid").to_arrow(v), 0, 12))
    if name in ("date", "ts", "dd", "hh"):
        t = s.t0.astype("datetime64[ms]")
        days = t.astype("datetime64[D]")
        if name == "dd":
            day = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
            return SV(arr=pc.utf8_lpad(pc.cast(pa.array(day), pa.string()), 2, "0"))
        if name == "hh":
            hour = (s.t0 // 3_600_000) % 24
            return SV(arr=pc.utf8_lpad(pc.cast(pa.array(hour), pa.string()), 2, "0"))
        unit = "D" if name == "date" else "s"
        text = np.datetime_as_string(t, unit=unit)  # type: ignore[call-overload]
        arr = pa.array(np.asarray(text).astype(str))
        arr = pc.replace_substring(pc.replace_substring(arr, "-", ""), ":", "")
        return SV(arr=arr)
    if name == "pg_wal":
        seg = (s.t0 - engine.plan.start_ms) // 300_000 + 0x3A00
        hi = int_hex((seg >> 8).astype(np.uint64), lower=False, width=8)
        lo = int_hex((seg & 0xFF).astype(np.uint64), lower=False, width=8)
        return SV(arr=pc.binary_join_element_wise("00000001", hi, lo, ""))
    if name in ("jvm", "shop_rel", "billing"):
        codes = np.empty(n, np.int32)
        for h in np.unique(s.host).tolist():
            sel = np.flatnonzero(s.host == h)
            timeline = engine.plan.versions.get((h, name))
            if not timeline:
                codes[sel] = v.code(engine.plan.version(h, name, 0))
                continue
            times = np.array([tt for tt, _ in timeline], np.int64)
            vals = np.array([v.code(x) for _, x in timeline], np.int32)
            pos = np.maximum(np.searchsorted(times, s.t0[sel], side="right") - 1, 0)
            codes[sel] = vals[pos]
        return SV(codes=codes)
    if name.startswith("pool."):
        pool = cat.POOLS[name[5:]]
        codes = np.array([v.code(x) for x in pool], np.int32)
        return SV(codes=codes[rng.integers(0, len(pool), n)])
    raise KeyError(f"template {s.ct.tpl.name!r} uses unknown variable {{{name}}}")


_ALNUM = np.frombuffer(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", np.uint8)


_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)


def random_text(rng: np.random.Generator, n: int, length: int, alphabet: np.ndarray) -> pa.Array:
    chars = alphabet[rng.integers(0, len(alphabet), (n, length))]
    buf = np.ascontiguousarray(chars).reshape(-1)
    offsets = np.arange(0, (n + 1) * length, length, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf)])
