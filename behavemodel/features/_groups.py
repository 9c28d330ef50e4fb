"""Server groups: which hosts are expected to behave alike.

A baseline is learned per group of functionally identical servers. The group of
an event comes, in this order, from an explicit host -> group mapping (a dict or
a ``host,group`` CSV), a regular expression on the host name, a column of the
events (``host_group`` by default), and finally the host name itself, so with
nothing configured every host is its own group.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from behavemodel import schema
from behavemodel.features._codes import _DENSE_LIMIT, ColumnCodes, combine_codes, encode
from behavemodel.features._exceptions import FeatureConfigError
from behavemodel.features._loops import pair_lookup

__all__ = ["GroupMap"]


@dataclass(frozen=True)
class GroupMap:
    """How events are assigned to server groups.

    Parameters
    ----------
    column : str or None, default "host_group"
        Column whose non-null values name the group. ``None`` ignores columns.
    mapping : mapping of str to str, optional
        Explicit host name -> group; wins over everything else.
    pattern : str, optional
        Regular expression searched in the host name; the group is its named
        group ``group``, else its first group, else the whole match. Hosts it
        does not match fall back to ``column`` and then to their own name.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from behavemodel.features import GroupMap
    >>> hosts = pa.array(["web-01", "web-02", "db-01", "bastion"])
    >>> GroupMap.from_regex(r"^([a-z]+)-\\d+$").assign(hosts).to_pylist()
    ['web', 'web', 'db', 'bastion']
    >>> GroupMap.from_mapping({"web-01": "web", "web-02": "web"}).assign(hosts).to_pylist()
    ['web', 'web', 'db-01', 'bastion']
    >>> GroupMap.from_dict(GroupMap.from_regex("^(web)").to_dict())
    GroupMap(column='host_group', mapping=None, pattern='^(web)')
    """

    column: str | None = schema.HOST_GROUP
    mapping: tuple[tuple[str, str], ...] | None = None
    pattern: str | None = None

    def __post_init__(self) -> None:
        if self.column is not None and (not isinstance(self.column, str) or not self.column):
            raise FeatureConfigError(
                "The column of a GroupMap must be a column name or None. "
                f"Got {self.column!r} instead."
            )
        if self.mapping is not None:
            items = self.mapping.items() if isinstance(self.mapping, Mapping) else self.mapping
            pairs = []
            for item in items:
                if (
                    not isinstance(item, (tuple, list))
                    or len(item) != 2
                    or not all(isinstance(v, str) and v for v in item)
                ):
                    raise FeatureConfigError(
                        "A GroupMap mapping must map host names to group names (non-empty "
                        f"strings). Got the entry {item!r} instead."
                    )
                pairs.append((item[0], item[1]))
            object.__setattr__(self, "mapping", tuple(sorted(pairs)))
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except (re.error, TypeError) as exc:
                raise FeatureConfigError(
                    f"The pattern of a GroupMap must be a regular expression: {exc}. "
                    f"Got {self.pattern!r} instead."
                ) from None

    # -- constructors -----------------------------------------------------------------
    @classmethod
    def per_host(cls) -> GroupMap:
        """Every host is its own group, whatever the events' ``host_group`` says."""
        return cls(column=None)

    @classmethod
    def from_column(cls, column: str) -> GroupMap:
        """Take the group from ``column`` (host name where it is null)."""
        return cls(column=column)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str]) -> GroupMap:
        """Take the group from an explicit host -> group dict."""
        return cls(mapping=tuple(mapping.items()))

    @classmethod
    def from_regex(cls, pattern: str) -> GroupMap:
        """Take the group from a regular expression on the host name."""
        return cls(pattern=pattern)

    @classmethod
    def from_csv(cls, path: str | Path) -> GroupMap:
        """Read a ``host,group`` CSV file (with that header) into a mapping.

        Raises
        ------
        FeatureConfigError
            When the header lacks ``host`` or ``group``, a row is incomplete, or a
            host is given two different groups; the message names file and line.
        """
        path = Path(path)
        pairs: dict[str, str] = {}
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            fields = [f.strip() for f in reader.fieldnames or []]
            if "host" not in fields or "group" not in fields:
                raise FeatureConfigError(
                    f"{path}: a group map CSV needs the header 'host,group'. "
                    f"Got the columns {fields} instead."
                )
            reader.fieldnames = fields
            for row in reader:
                line = reader.line_num
                host = (row.get("host") or "").strip()
                group = (row.get("group") or "").strip()
                if not host or not group:
                    raise FeatureConfigError(
                        f"{path}:{line}: every row needs a host and a group. "
                        f"Got host={host!r}, group={group!r}; fill in or delete the row."
                    )
                if pairs.get(host, group) != group:
                    raise FeatureConfigError(
                        f"{path}:{line}: host {host!r} is given group {group!r} but an "
                        f"earlier row gave it {pairs[host]!r}; keep one of them."
                    )
                pairs[host] = group
        return cls.from_mapping(pairs)

    # -- serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form stored in model files."""
        return {
            "column": self.column,
            "mapping": None if self.mapping is None else dict(self.mapping),
            "pattern": self.pattern,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupMap:
        """Rebuild a group map from :meth:`to_dict` output."""
        if not isinstance(data, Mapping) or set(data) - {"column", "mapping", "pattern"}:
            raise FeatureConfigError(
                "A GroupMap description must be a mapping with the keys 'column', "
                f"'mapping' and 'pattern'. Got {data!r} instead."
            )
        mapping = data.get("mapping")
        return cls(
            column=data.get("column", schema.HOST_GROUP),
            mapping=None if mapping is None else tuple(dict(mapping).items()),
            pattern=data.get("pattern"),
        )

    # -- assignment ------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        """The event columns assignment reads."""
        return [schema.HOST_NAME] + ([self.column] if self.column else [])

    def assign(self, hosts: pa.Array, column_values: pa.Array | None = None) -> pa.Array:
        """Return the group of each (host, column value) pair as a string array.

        This runs once per distinct pair; use :meth:`assign_codes` for events.
        """
        hosts_list = hosts.to_pylist()
        values = [None] * len(hosts_list) if column_values is None else column_values.to_pylist()
        mapping = dict(self.mapping or ())
        regex = re.compile(self.pattern) if self.pattern else None
        out: list[str | None] = []
        for host, value in zip(hosts_list, values, strict=True):
            group = mapping.get(host) if host is not None else None
            if group is None and regex is not None and host is not None:
                match = regex.search(host)
                if match is not None:
                    if "group" in match.re.groupindex:
                        group = match.group("group")
                    elif match.re.groups:
                        group = match.group(1)
                    else:
                        group = match.group(0)
                    group = group or None
            if group is None and value is not None and value != "":
                group = str(value)
            if group is None:
                group = host
            out.append(group)
        return pa.array(out, pa.string())

    def assign_codes(self, table: pa.Table) -> tuple[np.ndarray, pa.Array]:
        """Group codes for every event of ``table`` and the group names they index.

        Work per event is integer only: groups are computed once per distinct
        (host name, group column) pair. Events with neither get code ``-1``.
        """
        ids, _, pair_groups, group_values = self._pairs(ColumnCodes(table))
        return (np.append(pair_groups, -1)[ids] if len(ids) else ids), group_values

    def pair_codes(
        self, columns: ColumnCodes
    ) -> tuple[np.ndarray, np.ndarray, pa.Array, np.ndarray, pa.Array]:
        """Per event, a code for its (group, host) pair; and each pair's group and host.

        Returns
        -------
        pair : numpy.ndarray of int32 or int64
            One per event, ``-1`` where the group or the host is null; int32
            when the possible (host, group column) pairs fit a lookup table (the
            usual case), else int64.
        pair_group, group_values : numpy.ndarray, pyarrow.Array
            The group of each pair, as codes into ``group_values``.
        pair_host, host_values : numpy.ndarray, pyarrow.Array
            The host of each pair, as codes into ``host_values``.
        """
        host_codes, host_values = columns(schema.HOST_NAME)
        col_codes, col_values = self._group_column(columns)
        width = len(col_values) + 1
        size = (len(host_values) + 1) * width
        if size > _DENSE_LIMIT:  # too many (host, column value) pairs for a dense table
            ids, pair_hosts, pair_groups, group_values = self._pairs(columns)
            mapping, ug, uh = _number_pairs(pair_groups, pair_hosts, group_values, host_values)
            return np.append(mapping, -1)[ids], ug, group_values, uh, host_values
        found: dict[str, Any] = {}

        def number(pairs: np.ndarray) -> np.ndarray:
            # ``pairs`` ascending: the (host + 1, value + 1) tuples in _pairs' order
            pair_hosts, pair_groups, group_values = self._assign(
                host_values, col_values, pairs // width, pairs % width
            )
            mapping, found["ug"], found["uh"] = _number_pairs(
                pair_groups, pair_hosts, group_values, host_values
            )
            found["group_values"] = group_values
            return mapping

        pair = pair_lookup(host_codes, col_codes, width, size, number)
        return pair, found["ug"], found["group_values"], found["uh"], host_values

    def _group_column(self, columns: ColumnCodes) -> tuple[np.ndarray | None, pa.Array]:
        """Codes and values of the group column (None and no values without one)."""
        if self.column is not None and self.column in columns:
            return columns(self.column)
        return None, pa.array([], pa.string())

    def _pairs(self, columns: ColumnCodes) -> tuple[np.ndarray, np.ndarray, np.ndarray, pa.Array]:
        """Distinct (host, group column) pairs: per-event pair ids, each pair's host and group."""
        host_codes, host_values = columns(schema.HOST_NAME)
        col_codes, col_values = self._group_column(columns)
        if col_codes is not None:
            # shift by one so that null (-1) becomes code 0
            ids, (h, c) = combine_codes(
                [host_codes + 1, col_codes + 1], [len(host_values) + 1, len(col_values) + 1]
            )
        else:
            ids, (h,) = combine_codes([host_codes + 1], [len(host_values) + 1])
            c = np.zeros(len(h), dtype=np.int64)
        return (ids, *self._assign(host_values, col_values, h, c))

    def _assign(
        self, host_values: pa.Array, col_values: pa.Array, h: np.ndarray, c: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, pa.Array]:
        """Host and group of the distinct pairs (host code + 1 ``h``, column code + 1 ``c``)."""
        pair_hosts = _take_or_null(host_values, h - 1)
        pair_values = _take_or_null(col_values, c - 1)
        groups = self.assign(pair_hosts, pair_values)
        group_codes, group_values = encode(groups)
        return h - 1, group_codes, group_values


def _number_pairs(
    pair_groups: np.ndarray, pair_hosts: np.ndarray, group_values: pa.Array, host_values: pa.Array
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Number the distinct (group, host) of the pairs: per pair its number (-1: a null)."""
    ok = (pair_groups >= 0) & (pair_hosts >= 0)
    gh, (ug, uh) = combine_codes(
        [pair_groups[ok], pair_hosts[ok]], [len(group_values), len(host_values)]
    )
    mapping = np.full(len(pair_groups), -1, dtype=np.int64)
    mapping[np.flatnonzero(ok)] = gh
    return mapping, ug, uh


def _take_or_null(values: pa.Array, codes: np.ndarray) -> pa.Array:
    indices = pa.array(codes, mask=codes < 0, type=pa.int64())
    return values.take(indices)
