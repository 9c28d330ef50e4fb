"""laurel records: the per-schema preparation, PATH selection and socket addresses.

Helpers of :mod:`._laurel`, the mapping: what laurel's JSON holds beyond the
SYSCALL object (other record types, the PATH list, the SOCKADDR list) turned into
canonical values with the raw audit-log reader's rules.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel import schema as s
from behavemodel.io._audit_tables import arch_info
from behavemodel.io._auditd_chunk import _ACCOUNT_RECORDS
from behavemodel.io._auditd_values import decode_sockaddr
from behavemodel.io._mappings import _arrow as A
from behavemodel.io._mappings._common import join_cwd, percent_decode, unquote_bytes, when
from behavemodel.io._mappings._engine import Values

__all__ = ["FACTS", "files", "names", "needs_prepare", "network", "prepare", "text"]

_NULL = pa.scalar(None, pa.string())
FACTS = "__laurel__"
#: Keys that are not audit records of the event.
_NOT_RECORDS = {"ID", "NODE", "PARENT_INFO", "CONTAINER_INFO", FACTS}
#: record field(s) -> fact, for records other than SYSCALL (first record wins).
_GENERIC = {
    "pid": ("pid",),
    "ppid": ("ppid",),
    "uid": ("uid",),
    "auid": ("auid",),
    "ses": ("ses",),
    "exe": ("exe",),
    "comm": ("comm",),
    "tty": ("terminal", "tty"),
    "addr": ("addr",),
    "res": ("res", "success"),
    "exit": ("exit",),
    "id": ("id",),
    "acct": ("acct",),
    "cwd": ("cwd",),
    "contid": ("contid",),
    "cmd": ("cmd",),
    "UID": ("UID",),
    "AUID": ("AUID",),
    "ID": ("ID",),
}
_INTFACTS = {"pid", "ppid", "uid", "auid", "ses", "exit", "id"}
_PATH_RANK = {"CREATE": 0, "DELETE": 1, "NORMAL": 2, "UNKNOWN": 3, "PARENT": 4}
_ENRICHED_SADDR = re.compile(r"(\w[\w-]*)=(\S+)")
_SADDR_TYPE = pa.struct([("family", pa.string()), ("address", pa.string()), ("port", pa.int64())])
_FAMILIES = {
    "inet": "inet",
    "inet6": "inet6",
    "local": "unix",
    "unix": "unix",
    "netlink": "netlink",
}


# --- per-schema preparation: the record type and facts of non-SYSCALL records ---------


def _first(col: pa.Array) -> pa.Array:
    """A record column as one struct per event (the first of a list)."""
    if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
        lengths = pc.list_value_length(col).fill_null(0)
        safe = pc.if_else(pc.greater(lengths, 0), col, None)
        return pc.list_element(safe.fill_null(pa.scalar([None], safe.type)), 0)
    return col


def _child(struct: pa.Array, name: str) -> pa.Array | None:
    if not pa.types.is_struct(struct.type):
        return None
    names = [f.name for f in struct.type]
    if name in names:
        return pc.struct_field(struct, name)
    if "msg" in names and pa.types.is_struct(struct.type.field("msg").type):
        return _child(pc.struct_field(struct, "msg"), name)
    return None


def prepare(table: pa.Table) -> pa.Table:
    """Add ``FACTS``: the record type, and process facts of records other than SYSCALL."""
    n = table.num_rows
    syscall = table.column("SYSCALL") if "SYSCALL" in table.schema.names else None
    record = (
        when(pc.is_valid(A.as_array(syscall, n)), "SYSCALL", _NULL)
        if syscall
        else (pa.nulls(n, pa.string()))
    )
    facts: dict[str, pa.Array] = {}
    for name in table.schema.names:
        if name in _NOT_RECORDS or name == "SYSCALL" or name.startswith("__"):
            continue
        col = A.as_array(table.column(name), n)
        if not (pa.types.is_struct(col.type) or pa.types.is_list(col.type)):
            continue
        record = pc.coalesce(record, when(pc.is_valid(col), name, _NULL))
        first = _first(col)
        account = name in _ACCOUNT_RECORDS
        for fact, fields in _GENERIC.items():
            if fact in ("id", "acct", "ID") and not account:
                continue
            for field_name in fields:
                child = _child(first, field_name)
                if child is None:
                    continue
                value = A.to_int(child) if fact in _INTFACTS else A.to_string(child)
                facts[fact] = pc.coalesce(facts[fact], value) if fact in facts else value
    arrays = [record, *list(facts.values())]
    names = ["record_type", *facts]
    return table.append_column(FACTS, pa.StructArray.from_arrays(arrays, names=names))


def needs_prepare(schema: pa.Schema) -> bool:
    """Whether :func:`prepare` has not run on a table of this schema yet."""
    return FACTS not in schema.names


def text(value: pa.Array) -> pa.Array:
    """Percent-decoded text; the audit null markers are null."""
    return A.null_if_in(percent_decode(value), ("", "(null)", "(none)", "?"))


def names(value: pa.Array) -> pa.Array:
    """ENRICHED user names; unset and unknown(...) are null."""
    text = A.null_if_in(percent_decode(value), ("", "unset", "?", "(null)"))
    return when(pc.starts_with(text, "unknown("), _NULL, text)


def files(v: Values, syscall: pa.Array, kind: pa.Array) -> tuple[pa.Array, pa.Array]:
    """file_path (and an open that CREATEs is a file_write), as the raw reader decides."""
    paths = v["paths"]
    if not v.has("paths") or not pa.types.is_list(paths.type) or len(paths.values) == 0:
        return kind, v.nulls()
    items = paths.values
    parent = pc.list_parent_indices(paths).to_numpy()
    nametype = A.to_string(
        pc.coalesce(
            *[c for c in (_child(items, "nametype"), _child(items, "objtype")) if c is not None],
            pa.nulls(len(items), pa.string()),
        )
    )
    rank = pc.take(
        pa.array(list(_PATH_RANK.values())), pc.index_in(nametype, pa.array(list(_PATH_RANK)))
    ).fill_null(3)
    item = _child(items, "item")
    item = A.to_int(item).fill_null(0) if item is not None else pa.repeat(0, len(items))
    order = np.lexsort((item.to_numpy(), rank.to_numpy(), parent))
    first = np.ones(len(order), bool)
    first[1:] = parent[order][1:] != parent[order][:-1]
    best = order[first]
    rows = parent[best]
    name_col = _child(items, "name")
    names = np.full(v.n, None, dtype=object)
    creates = np.zeros(v.n, bool)
    if name_col is not None:
        names[rows] = text(name_col).take(pa.array(best)).to_numpy(zero_copy_only=False)
    creates[rows] = nametype.take(pa.array(best)).to_numpy(zero_copy_only=False) == "CREATE"
    opens = pc.is_in(syscall, pa.array(["open", "openat", "openat2", "open_by_handle_at"]))
    kind = when(pc.and_kleene(opens, pa.array(creates)), "file_write", kind)
    path = join_cwd(pa.array(names, pa.string()), text(v["cwd"]))
    return kind, when(pc.equal(kind, "file_write"), path, _NULL)


def _socket(raw: str) -> dict[str, Any] | None:
    big, _, encoded = raw.partition("|")
    address = decode_sockaddr(unquote_bytes(encoded).hex().encode(), big == "1")
    return {"family": address.family, "address": address.address, "port": address.port}


def _translated(translation: str) -> dict[str, Any] | None:
    fields: dict[str, str] = dict(_ENRICHED_SADDR.findall(translation))
    family = _FAMILIES.get(fields.get("fam") or fields.get("saddr_fam") or "", "other")
    port = fields.get("lport", fields.get("port", fields.get("nlnk-pid")))
    address = fields.get("laddr", fields.get("addr", fields.get("path")))
    return {
        "family": family,
        "address": address,
        "port": int(port) if port and port.isdigit() else None,
    }


def network(v: Values) -> dict[str, pa.Array]:
    """Addresses of the last SOCKADDR (raw bytes, else its SADDR translation)."""
    socks = v["sockaddrs"]
    none = {c: v.nulls() for c in (s.DST_IP, s.NET_FAMILY)}
    none.update({s.SRC_PORT: v.nulls(pa.int64()), s.DST_PORT: v.nulls(pa.int64())})
    addr = text(v["addr"])  # user-space records: the remote end of a login
    none[s.SRC_IP] = addr
    if not v.has("sockaddrs") or not pa.types.is_list(socks.type) or len(socks.values) == 0:
        return none
    offsets = socks.offsets.to_numpy()
    lengths = np.diff(offsets)
    has = lengths > 0
    last = pa.array(np.where(has, offsets[1:] - 1, 0))
    element = pc.if_else(pa.array(has), socks.values.take(last), None)
    big = A.per_unique(
        A.to_string(v["arch"]),
        lambda a: "1" if (i := arch_info(a)) and i.big_endian else "0",
        pa.string(),
    ).fill_null("0")
    decoded = pa.nulls(v.n, _SADDR_TYPE)
    raw = _child(element, "saddr")
    if raw is not None and pa.types.is_string(raw.type):
        keyed = pc.binary_join_element_wise(big, raw, "|")
        decoded = A.per_unique(keyed, _socket, _SADDR_TYPE)
    enriched = _child(element, "SADDR")
    if enriched is not None:
        if pa.types.is_struct(enriched.type):
            pieces = [
                pc.binary_join_element_wise(
                    pa.repeat(pa.scalar(f.name), v.n),
                    A.to_string(pc.struct_field(enriched, f.name)),
                    "=",
                ).fill_null("")
                for f in enriched.type
            ]
            joined = pc.binary_join_element_wise(*pieces, " ")
            enriched = pc.if_else(pc.is_valid(enriched), joined, _NULL)
        decoded = pc.coalesce(
            decoded, A.per_unique(A.to_string(enriched), _translated, _SADDR_TYPE)
        )
    family = pc.struct_field(decoded, "family")
    address = percent_decode(pc.struct_field(decoded, "address"))
    port = pc.struct_field(decoded, "port")
    inbound = pc.equal(v["@net_direction"], "inbound").fill_null(False)
    no_int = pa.scalar(None, pa.int64())
    return {
        s.NET_FAMILY: family,
        s.SRC_IP: pc.coalesce(pc.if_else(inbound, address, _NULL), addr),
        s.SRC_PORT: pc.if_else(inbound, port, no_int),
        s.DST_IP: pc.if_else(inbound, _NULL, address),
        s.DST_PORT: pc.if_else(inbound, no_int, port),
    }
