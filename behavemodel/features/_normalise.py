"""Path normalisation: make paths that mean the same program compare equal.

Package upgrades change version numbers in install directories, temporary files
get random names, and container overlays prefix every path with a random id. A
set model that compared raw paths would raise an alert for each of those. The
rules here rewrite such paths before they become keys. They are plain data
(name, regular expression, replacement) so a model file can record them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from behavemodel.features._exceptions import FeatureConfigError

__all__ = ["DEFAULT_RULES", "NormalisationRule", "PathNormaliser"]


@dataclass(frozen=True)
class NormalisationRule:
    """One rewrite: every match of ``pattern`` is replaced by ``replacement``.

    Patterns use the syntax shared by RE2 and Python's ``re`` (no look-around,
    no back-references in the pattern); the replacement may refer to groups as
    ``\\1``. Rules run in order over the distinct values of a column, so their
    cost does not grow with the number of events.

    Parameters
    ----------
    name : str
        Identifies the rule so users can remove or replace it.
    pattern : str
        Regular expression.
    replacement : str
        Replacement text; ``\\1`` ... refer to groups of ``pattern``.

    Examples
    --------
    >>> from behavemodel.features import NormalisationRule
    >>> rule = NormalisationRule("deleted_suffix", r" \\(deleted\\)$", "")
    >>> rule.apply(["/usr/sbin/sshd (deleted)"])
    ['/usr/sbin/sshd']
    """

    name: str
    pattern: str
    replacement: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise FeatureConfigError(
                f"A normalisation rule needs a non-empty name. Got {self.name!r} instead."
            )
        for what in ("pattern", "replacement"):
            if not isinstance(getattr(self, what), str):
                raise FeatureConfigError(
                    f"The {what} of normalisation rule {self.name!r} must be a string. "
                    f"Got {getattr(self, what)!r} instead."
                )
        try:
            pc.replace_substring_regex(pa.array(["/"]), self.pattern, self.replacement)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise FeatureConfigError(
                f"The pattern of normalisation rule {self.name!r} is not a valid RE2 "
                f"expression: {exc}. Got {self.pattern!r}; rewrite it without look-around "
                "or back-references."
            ) from None

    def apply(self, values: Sequence[str | None] | pa.Array) -> Any:
        """Rewrite ``values`` (a list or a string array); returns the same kind."""
        array = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
        out = pc.replace_substring_regex(array, self.pattern, self.replacement)
        return out if isinstance(values, pa.Array) else out.to_pylist()


#: The rules :class:`PathNormaliser` starts from, in the order they run.
DEFAULT_RULES: tuple[NormalisationRule, ...] = (
    # "/usr/sbin/sshd (deleted)" after a package upgrade replaced the binary.
    NormalisationRule("deleted_suffix", r" \(deleted\)$", ""),
    # Container overlay prefixes: docker/podman overlay2 and containerd rootfs.
    NormalisationRule(
        "container_overlay",
        r"^/(?:var/lib/docker/overlay2|var/lib/containers/storage/overlay)/[^/]+/"
        r"(?:merged|diff)/|^/run/containerd/io\.containerd\.runtime\.v2\.task/[^/]+/[^/]+/rootfs/",
        "/",
    ),
    # /proc/1234/exe, /proc/self/fd/3
    NormalisationRule("proc_pid", r"^/proc/(?:[0-9]+|self|thread-self)(/|$)", r"/proc/<pid>\1"),
    # mktemp (tmp.XXXXXXXXXX), Python tempfile (tmpXXXXXXXX) directly under temp dirs.
    NormalisationRule(
        "temp_names",
        r"^(/tmp|/var/tmp|/dev/shm)/(?:tmp|temp)[._-]?[A-Za-z0-9_]{6,12}(/|$)",
        r"\1/<tmp>\2",
    ),
    # systemd PrivateTmp directories keep the unit name.
    NormalisationRule(
        "systemd_private",
        r"/systemd-private-[0-9a-f]{32}-([^/]+)-[A-Za-z0-9]{6}(/|$)",
        r"/systemd-private-<id>-\1-<id>\2",
    ),
    NormalisationRule(
        "uuids",
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        "<uuid>",
    ),
    # Capistrano-style /srv/app/releases/20240101120000/
    NormalisationRule("release_dirs", r"/releases/[0-9]{8,14}(/|$)", r"/releases/<release>\1"),
    # java-17-openjdk-17.0.8, app-2.3.1, node-v18.17.1, 6.1.0-13-amd64, gems/2.7.0
    NormalisationRule(
        "versioned_dirs",
        r"([-_/@])v?[0-9]+(?:\.[0-9]+)+(?:[-+~][0-9A-Za-z.]*[0-9][0-9A-Za-z.]*)*",
        r"\1<version>",
    ),
)


@dataclass(frozen=True)
class PathNormaliser:
    """An ordered list of :class:`NormalisationRule` applied to path-like keys.

    Parameters
    ----------
    rules : sequence of NormalisationRule or (name, pattern, replacement), optional
        Defaults to :data:`DEFAULT_RULES`: ``deleted_suffix``,
        ``container_overlay``, ``proc_pid``, ``temp_names``, ``systemd_private``,
        ``uuids``, ``release_dirs``, ``versioned_dirs``. Pass ``()`` to compare
        raw paths.

    Examples
    --------
    >>> from behavemodel.features import PathNormaliser
    >>> norm = PathNormaliser()
    >>> norm.normalise([
    ...     "/usr/lib/jvm/java-17-openjdk-17.0.8/bin/java",
    ...     "/opt/app-2.3.1/bin/server",
    ...     "/proc/4242/exe",
    ...     "/var/lib/docker/overlay2/3f2a9c/merged/usr/sbin/nginx",
    ...     "/tmp/tmp8x_2kd9a/run.sh",
    ...     "/usr/sbin/sshd (deleted)",
    ... ])
    ['/usr/lib/jvm/java-17-openjdk-<version>/bin/java', '/opt/app-<version>/bin/server', \
'/proc/<pid>/exe', '/usr/sbin/nginx', '/tmp/<tmp>/run.sh', '/usr/sbin/sshd']

    Rules are data, so they can be removed, added and saved:

    >>> strict = norm.remove("versioned_dirs").add("home", r"^/home/[^/]+/", "/home/<user>/")
    >>> strict.normalise(["/opt/app-2.3.1/bin/server", "/home/alice/bin/tool"])
    ['/opt/app-2.3.1/bin/server', '/home/<user>/bin/tool']
    >>> PathNormaliser.from_dict(strict.to_dict()) == strict
    True
    """

    rules: tuple[NormalisationRule, ...] = field(default=DEFAULT_RULES)

    def __post_init__(self) -> None:
        rules: list[NormalisationRule] = []
        for rule in self.rules:
            if isinstance(rule, NormalisationRule):
                rules.append(rule)
            elif isinstance(rule, Mapping):
                rules.append(NormalisationRule(**rule))
            elif isinstance(rule, (list, tuple)) and len(rule) == 3:
                rules.append(NormalisationRule(*rule))
            else:
                raise FeatureConfigError(
                    "Each rule of PathNormaliser must be a NormalisationRule or a "
                    f"(name, pattern, replacement) triple. Got {rule!r} instead."
                )
        names = [r.name for r in rules]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise FeatureConfigError(
                f"PathNormaliser rule names must be unique. Got {duplicates} more than once; "
                "rename or remove the duplicates."
            )
        object.__setattr__(self, "rules", tuple(rules))

    @property
    def names(self) -> list[str]:
        """The rule names, in the order they run."""
        return [r.name for r in self.rules]

    def add(
        self, name: str, pattern: str, replacement: str, *, before: str | None = None
    ) -> PathNormaliser:
        """Return a copy with one more rule, at the end or just before rule ``before``."""
        rule = NormalisationRule(name, pattern, replacement)
        rules = [r for r in self.rules if r.name != name]
        if before is None:
            rules.append(rule)
        else:
            self._check_names([before])
            position = [r.name for r in rules].index(before)
            rules.insert(position, rule)
        return PathNormaliser(tuple(rules))

    def remove(self, *names: str) -> PathNormaliser:
        """Return a copy without the named rules."""
        self._check_names(names)
        return PathNormaliser(tuple(r for r in self.rules if r.name not in names))

    def _check_names(self, names: Iterable[str]) -> None:
        for name in names:
            if name not in self.names:
                raise FeatureConfigError(
                    f"PathNormaliser has no rule named {name!r}. Its rules are: "
                    f"{self.names}; pick one of those."
                )

    def apply(self, values: pa.Array) -> pa.Array:
        """Normalise a string array (vectorised; nulls stay null)."""
        for rule in self.rules:
            values = pc.replace_substring_regex(values, rule.pattern, rule.replacement)
        return values

    def normalise(self, paths: Sequence[str | None]) -> list[str | None]:
        """Normalise a list of paths; convenient for single values and tests."""
        return self.apply(pa.array(list(paths), pa.string())).to_pylist()  # type: ignore[no-any-return]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form stored in model files."""
        return {"rules": [[r.name, r.pattern, r.replacement] for r in self.rules]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PathNormaliser:
        """Rebuild a normaliser from :meth:`to_dict` output."""
        try:
            rules = data["rules"]
        except (KeyError, TypeError):
            raise FeatureConfigError(
                "A PathNormaliser description must be a mapping with a 'rules' list. "
                f"Got {data!r} instead."
            ) from None
        return cls(tuple(NormalisationRule(*r) for r in rules))
