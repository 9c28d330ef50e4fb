"""Extractors: which events a feature looks at and which columns form its key.

An :class:`Extractor` is plain data: an event filter (event types, success, value
lists) and key columns (:class:`Key`), each optionally path-normalised, with a
fallback column, or cut to a directory prefix. The five built-in features of the
design are subclasses that only set defaults; user features are built directly::

    Extractor("CronChildren", keys=["process_exe"], event_types=["process_start"],
              where={"parent_exe": ["/usr/sbin/cron"]})
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from behavemodel import schema
from behavemodel.features._codes import ColumnCodes, _recode, combine_codes
from behavemodel.features._exceptions import FeatureConfigError
from behavemodel.features._loops import and_lookup
from behavemodel.features._normalise import PathNormaliser

__all__ = [
    "DEFAULT_FEATURES",
    "Extractor",
    "FileWriters",
    "Key",
    "NetworkPorts",
    "NetworkProcesses",
    "ParentNames",
    "ProcessOwners",
    "default_extractors",
]

#: errno a non-blocking connect(2) returns while the connection is being set up.
EINPROGRESS = -115
#: The last dictionary each key transformed (normalisation is per distinct value,
#: but its regular expressions cost something even on small dictionaries).
_TRANSFORMED: dict[tuple[Any, Any], tuple[pa.Array, pa.Array]] = {}
_TRANSFORMED_LIMIT = 64
_TRANSFORMED_VALUES = 100_000  # larger dictionaries are not kept


@dataclass(frozen=True)
class Key:
    """One component of a feature key.

    Parameters
    ----------
    column : str
        Event column holding the value (any type; values become strings).
    name : str, optional
        Name in alerts and reason templates; defaults to ``column``.
    path : bool, default False
        Run the model's :class:`PathNormaliser` over the values.
    fallback : str, optional
        Column used where ``column`` is null (``parent_name`` for ``parent_exe``).
    relative_to : str, optional
        Column prefixed to relative values (``cwd`` for ``file_path``).
    directory_depth : int, optional
        Keep only the directory of the path, cut to this many components.
    directory_prefixes : sequence of str, optional
        Directories that stand for everything below them; the longest matching
        prefix wins over ``directory_depth``.

    Examples
    --------
    >>> from behavemodel.features import Key
    >>> Key("file_path", "directory", path=True, directory_depth=2).to_dict()["directory_depth"]
    2
    """

    column: str
    name: str = ""
    path: bool = False
    fallback: str | None = None
    relative_to: str | None = None
    directory_depth: int | None = None
    directory_prefixes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.column, str) or not self.column:
            raise FeatureConfigError(f"A Key needs a column name. Got {self.column!r} instead.")
        if not self.name:
            object.__setattr__(self, "name", self.column)
        if self.directory_depth is not None and (
            not isinstance(self.directory_depth, int)
            or isinstance(self.directory_depth, bool)
            or self.directory_depth < 1
        ):
            raise FeatureConfigError(
                f"The directory_depth of key {self.name!r} must be a positive integer. "
                f"Got {self.directory_depth!r} instead."
            )
        prefixes = self.directory_prefixes
        if isinstance(prefixes, str):
            prefixes = (prefixes,)
        cleaned = []
        for prefix in prefixes:
            if not isinstance(prefix, str) or not prefix.startswith("/"):
                raise FeatureConfigError(
                    f"The directory_prefixes of key {self.name!r} must be absolute paths. "
                    f"Got {prefix!r} instead."
                )
            cleaned.append(prefix.rstrip("/") or "/")
        object.__setattr__(self, "directory_prefixes", tuple(cleaned))

    @property
    def columns(self) -> list[str]:
        """The event column this key needs."""
        return [self.column]

    @property
    def optional_columns(self) -> list[str]:
        """Columns used when present: the fallback and the base of relative paths."""
        return [c for c in (self.fallback, self.relative_to) if c]

    @property
    def is_directory(self) -> bool:
        return self.directory_depth is not None or bool(self.directory_prefixes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form stored in model files."""
        return {
            "column": self.column,
            "name": self.name,
            "path": self.path,
            "fallback": self.fallback,
            "relative_to": self.relative_to,
            "directory_depth": self.directory_depth,
            "directory_prefixes": list(self.directory_prefixes),
        }

    def values(self, table: pa.Table, normaliser: PathNormaliser) -> tuple[np.ndarray, pa.Array]:
        """Codes and distinct values of this key over ``table`` (already filtered)."""
        return self.codes(ColumnCodes(table), None, normaliser)

    def codes(
        self, columns: ColumnCodes, rows: np.ndarray | None, normaliser: PathNormaliser
    ) -> tuple[np.ndarray, pa.Array]:
        """Codes of this key for ``rows`` of the table (all rows when None), and its values.

        Fallbacks, relative paths and normalisation work on distinct values (or
        distinct pairs of values); per row there are only integer gathers.
        ``values`` may hold values no selected row uses.
        """
        codes, values, _ = self.coded(columns, rows, normaliser)
        return codes, values

    def coded(
        self, columns: ColumnCodes, rows: np.ndarray | None, normaliser: PathNormaliser
    ) -> tuple[np.ndarray, pa.Array, bool]:
        """:meth:`codes`, and whether some codes may be ``-1`` (no key for that event)."""
        all_codes, values = columns(self.column)
        codes = all_codes if rows is None else all_codes[rows]
        nulls = not columns.complete(self.column)
        if nulls and self.fallback and self.fallback in columns:
            missing = np.flatnonzero(codes < 0)
            if len(missing):
                fallback_codes, fallback_values = columns(self.fallback)
                taken = fallback_codes if rows is None else fallback_codes[rows]
                taken = taken[missing]
                if rows is None:
                    codes = codes.copy()
                codes[missing] = np.where(taken >= 0, taken + len(values), -1)
                values = pa.concat_arrays([values, fallback_values])
                nulls = bool((taken < 0).any())
            else:
                nulls = False
        if self.relative_to and self.relative_to in columns:
            relative_value = pc.invert(pc.starts_with(values, "/")).to_numpy(zero_copy_only=False)
            if relative_value.any():
                relative = np.flatnonzero(np.append(relative_value, False)[codes])
                if len(relative):
                    codes, values = _join_relative(
                        codes, values, relative, columns, self.relative_to, rows
                    )
        codes, values, emptied = _recode(codes, values, self._transform(normaliser))
        return codes, values, nulls or emptied

    def _transform(self, normaliser: PathNormaliser) -> Any:
        if not self.path and not self.is_directory:
            return None

        def transform(values: pa.Array) -> pa.Array:
            # Batches of one dump usually carry the same dictionary: reuse the result.
            memo = (self, normaliser)
            last = _TRANSFORMED.get(memo)
            if last is not None and last[0].equals(values):
                return last[1]
            out = values
            if self.path:
                out = normaliser.apply(out)
            if self.is_directory:
                out = _directory(out, self.directory_depth, self.directory_prefixes)
            if len(values) <= _TRANSFORMED_VALUES:
                if len(_TRANSFORMED) >= _TRANSFORMED_LIMIT:
                    _TRANSFORMED.clear()
                _TRANSFORMED[memo] = (values, out)
            return out

        return transform


def _join_relative(
    codes: np.ndarray,
    values: pa.Array,
    relative: np.ndarray,
    columns: ColumnCodes,
    base_column: str,
    rows: np.ndarray | None,
) -> tuple[np.ndarray, pa.Array]:
    """Prefix the values at positions ``relative`` with ``base_column`` (null base: ``""``)."""
    base_codes, base_values = columns(base_column)
    base = (base_codes if rows is None else base_codes[rows])[relative]
    ids, (value_part, base_part) = combine_codes(
        [codes[relative], base + 1], [len(values), len(base_values) + 1]
    )
    bases = pc.fill_null(
        base_values.take(pa.array(base_part - 1, mask=base_part == 0, type=pa.int64())), ""
    )
    joined = pc.binary_join_element_wise(bases, values.take(pa.array(value_part)), "/")
    codes = codes.copy()
    codes[relative] = ids + len(values)
    return codes, pa.concat_arrays([values, joined])


def _directory(values: pa.Array, depth: int | None, prefixes: tuple[str, ...]) -> pa.Array:
    """The directory of each path, cut to ``depth`` components or to a listed prefix."""
    dirs = pc.replace_substring_regex(values, r"/[^/]*$", "")
    dirs = pc.if_else(pc.equal(dirs, ""), pa.scalar("/"), dirs)
    if depth is not None:
        dirs = pc.replace_substring_regex(dirs, rf"^((?:/[^/]+){{1,{depth}}}).*$", r"\1")
    if prefixes:
        chosen = pa.nulls(len(values), pa.string())
        for prefix in sorted(prefixes, key=len):  # longest last, so it wins
            under = prefix if prefix == "/" else prefix + "/"
            hit = pc.or_(pc.equal(values, prefix), pc.starts_with(values, under))
            chosen = pc.if_else(pc.fill_null(hit, False), pa.scalar(prefix), chosen)
        dirs = pc.coalesce(chosen, dirs)
    return dirs


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return (value,)
    return tuple(value)


@dataclass(frozen=True)
class Extractor:
    """A feature: an event filter plus key columns.

    Parameters
    ----------
    name : str
        Feature name used in alerts, reports and model files.
    keys : sequence of Key, str or dict
        Key components; a string is a plain column.
    event_types : sequence of str, optional
        ``event_type`` values to look at; empty means all.
    successful_only : bool, default False
        Skip events whose ``success`` is false (null counts as success, since
        many sources lack it). A non-blocking ``connect`` that returned
        ``EINPROGRESS`` counts as successful.
    where : mapping of column to value or values, optional
        Further filters: the event's value must be one of the listed values;
        list ``None`` to let nulls through.
    template : str, optional
        Sentence fragment describing one key for alerts, with key names in
        braces, e.g. ``"{exe} ran as user {user}"``.
    interactive : {"include", "exclude"}, default "include"
        Whether events of interactive terminal sessions (a ``tty`` such as
        ``pts0``, ``tty1``, ``console``) count. People at a terminal run
        whatever they need; features about services (who runs a daemon, what a
        daemon starts) exclude them and leave sessions to
        :func:`behavemodel.investigate.session_timeline`.

    Examples
    --------
    >>> import pandas as pd
    >>> from behavemodel import schema
    >>> from behavemodel.features import Extractor, extract
    >>> events = schema.conform(pd.DataFrame({
    ...     "time": pd.to_datetime(["2024-01-01T00:00:00Z"] * 3),
    ...     "host_name": ["web-01"] * 3,
    ...     "event_type": ["process_start"] * 3,
    ...     "event_id": ["a", "b", "c"], "source_format": ["canonical"] * 3,
    ...     "process_exe": ["/usr/bin/crontab", "/bin/sh", "/bin/sh"],
    ...     "parent_exe": ["/usr/sbin/cron", "/usr/sbin/cron", "/usr/sbin/sshd"],
    ... }), fill_missing=True)
    >>> cron = Extractor("CronChildren", keys=["process_exe"],
    ...                  event_types=["process_start"],
    ...                  where={"parent_exe": ["/usr/sbin/cron"]},
    ...                  template="cron started {process_exe}")
    >>> extract(events, [cron])["key"].to_list()
    ['process_exe=/bin/sh', 'process_exe=/usr/bin/crontab']
    """

    name: str
    keys: tuple[Key, ...]
    event_types: tuple[str, ...] = ()
    successful_only: bool = False
    where: tuple[tuple[str, tuple[str | None, ...]], ...] = ()
    template: str = ""
    interactive: str = "include"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise FeatureConfigError(
                f"An Extractor needs a non-empty name. Got {self.name!r} instead."
            )
        keys = []
        for key in _as_tuple(self.keys):
            if isinstance(key, Key):
                keys.append(key)
            elif isinstance(key, str):
                keys.append(Key(key))
            elif isinstance(key, Mapping):
                keys.append(
                    Key(
                        **{**key, "directory_prefixes": tuple(key.get("directory_prefixes") or ())}
                    )
                )
            else:
                raise FeatureConfigError(
                    f"The keys of extractor {self.name!r} must be column names, Key objects "
                    f"or Key dicts. Got {key!r} instead."
                )
        if not keys:
            raise FeatureConfigError(
                f"Extractor {self.name!r} needs at least one key column. Got none; pass "
                "keys=['process_exe'] for example."
            )
        names = [k.name for k in keys]
        if len(set(names)) != len(names):
            raise FeatureConfigError(
                f"The key names of extractor {self.name!r} must be unique. Got {names}; "
                "give repeated columns a distinct name=."
            )
        object.__setattr__(self, "keys", tuple(keys))
        event_types = tuple(_as_tuple(self.event_types))
        unknown = sorted(set(event_types) - set(schema.EVENT_TYPES))
        if unknown:
            raise FeatureConfigError(
                f"The event_types of extractor {self.name!r} must be among "
                f"{list(schema.EVENT_TYPES)}. Got {unknown} instead."
            )
        object.__setattr__(self, "event_types", event_types)
        where = self.where.items() if isinstance(self.where, Mapping) else self.where
        clauses = []
        for clause in where or ():
            if not isinstance(clause, (tuple, list)) or len(clause) != 2:
                raise FeatureConfigError(
                    f"The where filter of extractor {self.name!r} must map column names to "
                    f"allowed values. Got {clause!r} instead."
                )
            column, allowed = clause
            allowed_values = _as_tuple(allowed)
            if not isinstance(column, str) or not all(
                v is None or isinstance(v, (str, int)) for v in allowed_values
            ):
                raise FeatureConfigError(
                    f"The where filter of extractor {self.name!r} must map column names to "
                    f"strings, integers or None. Got {column!r}: {allowed!r} instead."
                )
            clauses.append((column, tuple(allowed_values)))
        object.__setattr__(self, "where", tuple(sorted(clauses, key=lambda c: c[0])))
        if self.interactive not in ("include", "exclude"):
            raise FeatureConfigError(
                f"The interactive parameter of extractor {self.name!r} must be 'include' or "
                f"'exclude'. Got {self.interactive!r} instead."
            )
        if not isinstance(self.template, str):
            raise FeatureConfigError(
                f"The template of extractor {self.name!r} must be a string. "
                f"Got {self.template!r} instead."
            )
        fields_used = {f for _, f, _, _ in string.Formatter().parse(self.template) if f}
        missing = sorted(fields_used - set(names))
        if missing:
            raise FeatureConfigError(
                f"The template of extractor {self.name!r} refers to {missing}, which are not "
                f"key names; use some of {names}."
            )

    # -- description -----------------------------------------------------------------
    @property
    def key_names(self) -> list[str]:
        """The names of the key components, in order."""
        return [k.name for k in self.keys]

    @property
    def columns(self) -> list[str]:
        """The event columns this extractor needs."""
        cols: list[str] = []
        if self.event_types:
            cols.append(schema.EVENT_TYPE)
        if self.successful_only:
            cols += [schema.SUCCESS, schema.EVENT_TYPE]
        cols += [c for c, _ in self.where]
        for key in self.keys:
            cols += key.columns
        return list(dict.fromkeys(cols))

    @property
    def _optional_filter_columns(self) -> list[str]:
        return [schema.TTY] if self.interactive == "exclude" else []

    @property
    def optional_columns(self) -> list[str]:
        """Columns used when present (fallbacks, ``exit_code`` for ``EINPROGRESS``)."""
        cols = [schema.EXIT_CODE] if self.successful_only else []
        cols += self._optional_filter_columns
        for key in self.keys:
            cols += key.optional_columns
        return [c for c in dict.fromkeys(cols) if c not in self.columns]

    def describe(self, values: Sequence[str]) -> str:
        """Render the template for one key, e.g. ``'/usr/bin/nc used the network'``."""
        named = dict(zip(self.key_names, values, strict=True))
        if self.template:
            return self.template.format(**named)
        return ", ".join(f"{k}={v}" for k, v in named.items())

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form stored in model files (always as a plain Extractor)."""
        return {
            "name": self.name,
            "keys": [k.to_dict() for k in self.keys],
            "event_types": list(self.event_types),
            "successful_only": self.successful_only,
            "where": {c: list(v) for c, v in self.where},
            "template": self.template,
            "interactive": self.interactive,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Extractor:
        """Rebuild an extractor from :meth:`to_dict` output."""
        allowed = {f.name for f in fields(Extractor)}
        if not isinstance(data, Mapping) or set(data) - allowed or "name" not in data:
            raise FeatureConfigError(
                f"An Extractor description must be a mapping with keys among {sorted(allowed)}"
                f" including 'name'. Got {data!r} instead."
            )
        return Extractor(**dict(data))

    # -- evaluation ------------------------------------------------------------------
    def mask(self, table: pa.Table, columns: ColumnCodes | None = None) -> np.ndarray:
        """Boolean mask of the events this extractor looks at (a new array the caller may change).

        ``columns`` (the table's shared :class:`ColumnCodes`) saves encoding the
        same columns again for every extractor.
        """
        columns = columns if columns is not None else ColumnCodes(table)
        keep = np.ones(table.num_rows, dtype=bool)
        if self.event_types:
            member = _member(columns, schema.EVENT_TYPE, self.event_types)
            _and_column(keep, columns, schema.EVENT_TYPE, member)
        if self.successful_only:
            keep &= _successful(columns)
        for column, allowed in self.where:
            _and_column(keep, columns, column, _member(columns, column, allowed))
        if self.interactive == "exclude" and schema.TTY in columns.table.column_names:
            _and_column(keep, columns, schema.TTY, _terminals(columns), negate=True)
        return keep


def _and_column(
    keep: np.ndarray,
    columns: ColumnCodes,
    column: str,
    lookup: np.ndarray,
    *,
    negate: bool = False,
) -> None:
    """``keep &= lookup[code]`` for the codes of ``column`` (null: the last slot).

    A column without any value (every event null) needs no pass over the events.
    """
    if columns.all_null(column):
        if bool(lookup[-1]) == negate:
            keep[:] = False
        return
    codes, _ = columns(column)
    and_lookup(keep, codes, lookup, negate=negate)


#: Terminal names of interactive sessions (``tty`` column).
_TERMINAL_PREFIXES = ("pts", "tty", "console", "hvc", "vc/")


def _terminals(columns: ColumnCodes) -> np.ndarray:
    """Per ``tty`` code (null last), whether it is an interactive terminal session."""
    found = columns.memo.get("terminals")
    if isinstance(found, np.ndarray):
        return found
    if columns.all_null(schema.TTY):  # no value: only the null slot, without coding the rows
        return np.zeros(1, dtype=bool)
    _, values = columns(schema.TTY)
    terminal = np.array(
        [v is not None and v.startswith(_TERMINAL_PREFIXES) for v in values.to_pylist()] + [False],
        dtype=bool,
    )
    columns.memo["terminals"] = terminal
    return terminal


def _successful(columns: ColumnCodes) -> np.ndarray:
    """Events that succeeded (null counts as success; so does a connect in progress)."""
    found = columns.memo.get("successful")
    if isinstance(found, np.ndarray):
        return found
    table = columns.table
    success = pc.fill_null(table.column(schema.SUCCESS), True)
    ok = success.to_numpy(zero_copy_only=False).astype(bool)
    if not ok.all() and schema.EXIT_CODE in table.column_names:
        exit_code = pc.fill_null(table.column(schema.EXIT_CODE), 0)
        in_progress = exit_code.to_numpy(zero_copy_only=False) == EINPROGRESS
        in_progress &= _isin(columns, schema.EVENT_TYPE, ("net_connect",))
        ok |= in_progress
    columns.memo["successful"] = ok
    return ok


def _isin(columns: ColumnCodes, column: str, allowed: Sequence[Any]) -> np.ndarray:
    """Vectorised membership of a column's values in ``allowed`` (None matches null)."""
    codes, _ = columns(column)
    return _member(columns, column, allowed)[codes]


def _member(columns: ColumnCodes, column: str, allowed: Sequence[Any]) -> np.ndarray:
    """Per code of ``column`` (null last), whether its value is in ``allowed``."""
    _, values = columns(column)
    wanted = [str(v) for v in allowed if v is not None]
    hit = pc.is_in(values, value_set=pa.array(wanted, pa.string())).to_numpy(zero_copy_only=False)
    return np.append(hit.astype(bool), None in allowed)  # code -1 -> last slot


def _key(column: str, name: str, **kwargs: Any) -> Key:
    return Key(column, name, **kwargs)


_NET_EVENTS = ("net_connect", "net_accept", "net_listen")
_IP_FAMILIES = (("net_family", ("inet", "inet6", None)),)


@dataclass(frozen=True)
class NetworkProcesses(Extractor):
    """Executables with successful network activity, per direction.

    Catches a binary that never talked on the network and now does (a netcat
    bind shell, curl started by nagios). Unix and netlink sockets are not
    network activity and are skipped.

    Examples
    --------
    >>> from behavemodel.features import NetworkProcesses
    >>> f = NetworkProcesses()
    >>> f.name, f.key_names, f.describe(["/usr/bin/nc", "listen"])
    ('NetworkProcesses', ['exe', 'direction'], '/usr/bin/nc used the network (listen)')
    """

    name: str = "NetworkProcesses"
    keys: tuple[Key, ...] = (
        _key(schema.PROCESS_EXE, "exe", path=True, fallback=schema.PROCESS_NAME),
        _key(schema.NET_DIRECTION, "direction"),
    )
    event_types: tuple[str, ...] = _NET_EVENTS
    successful_only: bool = True
    where: tuple[tuple[str, tuple[str | None, ...]], ...] = _IP_FAMILIES
    template: str = "{exe} used the network ({direction})"


@dataclass(frozen=True)
class ProcessOwners(Extractor):
    """(executable, user) for process starts: a daemon running as an unexpected user.

    Examples
    --------
    >>> from behavemodel.features import ProcessOwners
    >>> ProcessOwners().describe(["/usr/sbin/nginx", "root"])
    '/usr/sbin/nginx ran as user root'
    """

    name: str = "ProcessOwners"
    keys: tuple[Key, ...] = (
        _key(schema.PROCESS_EXE, "exe", path=True, fallback=schema.PROCESS_NAME),
        _key(schema.USER_NAME, "user", fallback=schema.USER_UID),
    )
    event_types: tuple[str, ...] = ("process_start",)
    template: str = "{exe} ran as user {user}"
    interactive: str = "exclude"


@dataclass(frozen=True)
class ParentNames(Extractor):
    """(parent executable, executable) for process starts: a web server spawning a shell.

    Examples
    --------
    >>> from behavemodel.features import ParentNames
    >>> ParentNames().describe(["/usr/sbin/nagios3", "/usr/bin/curl"])
    '/usr/sbin/nagios3 started /usr/bin/curl'
    """

    name: str = "ParentNames"
    keys: tuple[Key, ...] = (
        _key(schema.PARENT_EXE, "parent", path=True, fallback=schema.PARENT_NAME),
        _key(schema.PROCESS_EXE, "exe", path=True, fallback=schema.PROCESS_NAME),
    )
    event_types: tuple[str, ...] = ("process_start",)
    template: str = "{parent} started {exe}"
    interactive: str = "exclude"


@dataclass(frozen=True)
class NetworkPorts(Extractor):
    """(executable, direction, port): a known binary on a new port.

    The port is the responder's (``dst_port``): the remote service for outbound
    connections, the local service for accepted and listening sockets.

    Examples
    --------
    >>> from behavemodel.features import NetworkPorts
    >>> NetworkPorts().describe(["/usr/sbin/sshd", "listen", "2222"])
    '/usr/sbin/sshd used port 2222 (listen)'
    """

    name: str = "NetworkPorts"
    keys: tuple[Key, ...] = (
        _key(schema.PROCESS_EXE, "exe", path=True, fallback=schema.PROCESS_NAME),
        _key(schema.NET_DIRECTION, "direction"),
        _key(schema.DST_PORT, "port"),
    )
    event_types: tuple[str, ...] = _NET_EVENTS
    successful_only: bool = True
    where: tuple[tuple[str, tuple[str | None, ...]], ...] = _IP_FAMILIES
    template: str = "{exe} used port {port} ({direction})"


@dataclass(frozen=True, init=False)
class FileWriters(Extractor):
    """(directory prefix, user) for file writes: someone other than chef changed the app.

    Parameters
    ----------
    depth : int, default 3
        Directory components kept (``/srv/app/current/config/x.yml`` ->
        ``/srv/app/current`` at depth 3).
    prefixes : sequence of str, optional
        Directories that stand for everything below them, e.g. ``["/srv/app"]``.
    name : str, default "FileWriters"

    Examples
    --------
    >>> from behavemodel.features import FileWriters
    >>> f = FileWriters(depth=2, prefixes=["/etc"])
    >>> f.keys[0].directory_depth, f.keys[0].directory_prefixes
    (2, ('/etc',))
    >>> f.describe(["/srv/app", "deploy"])
    'deploy wrote to /srv/app'
    """

    def __init__(
        self,
        depth: int = 3,
        prefixes: Sequence[str] = (),
        *,
        name: str = "FileWriters",
    ) -> None:
        super().__init__(
            name=name,
            keys=(
                Key(
                    schema.FILE_PATH,
                    "directory",
                    path=True,
                    relative_to=schema.CWD,
                    directory_depth=depth,
                    directory_prefixes=tuple(prefixes),
                ),
                Key(schema.USER_NAME, "user", fallback=schema.USER_UID),
            ),
            event_types=("file_write",),
            template="{user} wrote to {directory}",
        )


def default_extractors() -> list[Extractor]:
    """The five built-in features, freshly built.

    Examples
    --------
    >>> from behavemodel.features import default_extractors
    >>> [e.name for e in default_extractors()]
    ['NetworkProcesses', 'ProcessOwners', 'ParentNames', 'NetworkPorts', 'FileWriters']
    """
    return [NetworkProcesses(), ProcessOwners(), ParentNames(), NetworkPorts(), FileWriters()]


#: Names of the built-in features, usable wherever an extractor is expected.
DEFAULT_FEATURES: tuple[str, ...] = tuple(e.name for e in default_extractors())

_BUILTINS: dict[str, Callable[[], Extractor]] = {
    "NetworkProcesses": NetworkProcesses,
    "ProcessOwners": ProcessOwners,
    "ParentNames": ParentNames,
    "NetworkPorts": NetworkPorts,
    "FileWriters": FileWriters,
}


def resolve_extractors(features: Sequence[Extractor | str] | None) -> list[Extractor]:
    """Turn a ``features`` parameter (names or extractors) into extractors."""
    if features is None:
        return default_extractors()
    out: list[Extractor] = []
    for feature in features:
        if isinstance(feature, Extractor):
            out.append(feature)
        elif isinstance(feature, str) and feature in _BUILTINS:
            out.append(_BUILTINS[feature]())
        elif isinstance(feature, Mapping):
            out.append(Extractor.from_dict(feature))
        else:
            raise FeatureConfigError(
                "Each feature must be an Extractor, an Extractor dict, or one of the names "
                f"{list(_BUILTINS)}. Got {feature!r} instead."
            )
    names = [e.name for e in out]
    if not out or len(set(names)) != len(names):
        raise FeatureConfigError(
            f"The features must be a non-empty list of distinctly named extractors. Got {names}"
            "; give repeated extractors distinct name=."
        )
    return out
