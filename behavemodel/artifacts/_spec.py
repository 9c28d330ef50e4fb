"""A small schema language for the manifest: explicit, strict, with clear refusals.

Each :class:`Spec` says what one JSON value must be and refuses anything else
with a :class:`ManifestError` naming the field (``model.params.min_span``), what
it must be, and what it is. No third-party validator: the whole language is
here, so what a reader accepts is written down in one place.
"""

from __future__ import annotations

import datetime
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from behavemodel.artifacts._errors import ManifestError
from behavemodel.artifacts._format import MANIFEST_NAME

__all__ = [
    "AnyObject",
    "Bool",
    "Int",
    "ListOf",
    "MapOf",
    "Nullable",
    "Number",
    "Obj",
    "OneOf",
    "Spec",
    "Str",
    "Template",
    "Timestamp",
    "validate",
]

_NEXT_STEP = "The file is damaged or was not written by behavemodel; save the model again."
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class _Context:
    path: str
    lenient: bool
    ignored: list[str] = field(default_factory=list)


def _show(value: Any) -> str:
    kind = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)
    if value is None or isinstance(value, (dict, list)):
        return kind
    text = repr(value)
    return f"{text if len(text) <= 60 else text[:57] + '...'} ({kind})"


def _child(where: str, name: str) -> str:
    if _IDENTIFIER.match(name):
        return f"{where}.{name}" if where else name
    return f"{where}[{name!r}]"


class Spec:
    """One node of the schema: what a value must be (``what`` reads as a phrase)."""

    what = "a value"
    #: JSON types the spec can accept at all (booleans are never numbers).
    kinds: tuple[type, ...] = (object,)

    def check(self, value: Any, where: str, ctx: _Context) -> None:
        """Raise :class:`ManifestError` unless ``value`` conforms."""
        raise NotImplementedError

    def kind_ok(self, value: Any) -> bool:
        """Whether ``value`` has a JSON type this spec could accept."""
        if isinstance(value, bool) and bool not in self.kinds:
            return False
        return isinstance(value, self.kinds)

    def fail(self, value: Any, where: str, ctx: _Context) -> None:
        raise ManifestError(
            f"{MANIFEST_NAME} field {where!r} must be {self.what}; got {_show(value)}. "
            + _NEXT_STEP,
            path=ctx.path,
            member=MANIFEST_NAME,
        )


class Str(Spec):
    """A string, optionally equal to ``const`` or matching ``pattern``."""

    kinds = (str,)

    def __init__(
        self,
        *,
        const: str | None = None,
        pattern: str | None = None,
        what: str | None = None,
        nonempty: bool = False,
    ) -> None:
        self.const = const
        self.pattern = None if pattern is None else re.compile(pattern)
        self.nonempty = nonempty
        if what is not None:
            self.what = what
        elif const is not None:
            self.what = f"the string {const!r}"
        else:
            self.what = "a non-empty string" if nonempty else "a string"

    def check(self, value: Any, where: str, ctx: _Context) -> None:
        if (
            not isinstance(value, str)
            or (self.const is not None and value != self.const)
            or (self.pattern is not None and not self.pattern.fullmatch(value))
            or (self.nonempty and not value)
        ):
            self.fail(value, where, ctx)


class Int(Spec):
    """An integer (not a boolean, not a float) within bounds."""

    kinds = (int,)

    def __init__(self, minimum: int = 0, maximum: int | None = None) -> None:
        self.minimum, self.maximum = minimum, maximum
        upper = "" if maximum is None else f" and at most {maximum}"
        self.what = f"an integer of at least {minimum}{upper}"

    def check(self, value: Any, where: str, ctx: _Context) -> None:
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or value < self.minimum
            or (self.maximum is not None and value > self.maximum)
        ):
            self.fail(value, where, ctx)


class Number(Spec):
    """A finite number (integer or float) within bounds."""

    kinds = (int, float)

    def __init__(self, minimum: float, maximum: float) -> None:
        self.minimum, self.maximum = minimum, maximum
        self.what = f"a number between {minimum} and {maximum}"

    def check(self, value: Any, where: str, ctx: _Context) -> None:
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not self.minimum <= value <= self.maximum
        ):
            self.fail(value, where, ctx)


class Bool(Spec):
    kinds = (bool,)
    what = "true or false"

    def check(self, value: Any, where: str, ctx: _Context) -> None:
        if not isinstance(value, bool):
            self.fail(value, where, ctx)


class Timestamp(Spec):
    """An ISO 8601 UTC time written ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``."""

    what = "a UTC time like '2024-01-31T23:59:59Z'"
    kinds = (str,)
    _PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$")

    def check(self, value: Any, where: str, ctx: _Context) -> None:
        if not isinstance(value, str) or not self._PATTERN.match(value):
            self.fail(value, where, ctx)
        try:
            datetime.datetime.fromisoformat(value)
        except ValueError:
            self.fail(value, where, ctx)


class Template(Spec):
    """A sentence template: plain ``{name}`` fields only, no conversions or format specs.

    Format specs such as ``{exe:>999999999}`` would let a model file make every
    alert allocate gigabytes; conversions are never needed.
    """

    what = "a template with plain {name} fields (no '!' conversions or ':' format specs)"
    kinds = (str,)

    def check(self, value: Any, where: str, ctx: _Context) -> None:
        if not isinstance(value, str):
            self.fail(value, where, ctx)
        try:
            parts = list(string.Formatter().parse(value))
        except ValueError:
            self.fail(value, where, ctx)
        for _, name, spec, conversion in parts:
            if name is not None and (spec or conversion or not _IDENTIFIER.match(name)):
                self.fail(value, where, ctx)


class Nullable(Spec):
    def __init__(self, inner: Spec) -> None:
        self.inner = inner
        self.what = f"{inner.what} or null"

    def check(self, value: Any, where: str, ctx: _Context) -> None:
        if value is None:
            return
        if not self.inner.kind_ok(value):
            self.fail(value, where, ctx)
        self.inner.check(value, where, ctx)


class OneOf(Spec):
    """The first of ``options`` that accepts the value wins."""

    def __init__(self, *options: Spec) -> None:
        self.options = options
        self.what = " or ".join(o.what for o in options)

    def check(self, value: Any, where: str, ctx: _Context) -> None:
        for option in self.options:
            try:
                option.check(value, where, ctx)
            except ManifestError:
                continue
            return
        self.fail(value, where, ctx)


class ListOf(Spec):
    kinds = (list,)

    def __init__(self, item: Spec, *, length: int | None = None) -> None:
        self.item, self.length = item, length
        count = "" if length is None else f"{length} "
        self.what = f"a list of {count}items, each {item.what}"

    def check(self, value: Any, where: str, ctx: _Context) -> None:
        if not isinstance(value, list) or (self.length is not None and len(value) != self.length):
            self.fail(value, where, ctx)
        for i, item in enumerate(value):
            self.item.check(item, f"{where}[{i}]", ctx)


class MapOf(Spec):
    """An object with any keys (matching ``key``), each value ``value``."""

    kinds = (dict,)

    def __init__(self, value: Spec, *, key: Str | None = None) -> None:
        self.value, self.key = value, key or Str()
        self.what = f"an object whose values are each {value.what}"

    def check(self, value: Any, where: str, ctx: _Context) -> None:
        if not isinstance(value, dict):
            self.fail(value, where, ctx)
        for name, item in value.items():
            if self.key.pattern is not None and not self.key.pattern.fullmatch(name):
                raise ManifestError(
                    f"{MANIFEST_NAME} field {where!r} has the key {name!r}, which must be "
                    f"{self.key.what}. " + _NEXT_STEP,
                    path=ctx.path,
                    member=MANIFEST_NAME,
                )
            self.value.check(item, _child(where, name), ctx)


class AnyObject(Spec):
    """A JSON object whose content another schema checks later."""

    kinds = (dict,)

    what = "an object"

    def check(self, value: Any, where: str, ctx: _Context) -> None:
        if not isinstance(value, dict):
            self.fail(value, where, ctx)


class Obj(Spec):
    """An object with exactly these fields (``optional`` ones may be absent).

    Unknown fields are refused, except in a file of a newer minor format
    version, where they are removed from the value and reported as ignored.
    """

    what = "an object"
    kinds = (dict,)

    def __init__(self, fields: Mapping[str, Spec], *, optional: tuple[str, ...] = ()) -> None:
        self.fields = dict(fields)
        self.optional = frozenset(optional)

    def check(self, value: Any, where: str, ctx: _Context) -> None:
        if not isinstance(value, dict):
            self.fail(value, where, ctx)
        for name, spec in self.fields.items():
            if name not in value:
                if name in self.optional:
                    continue
                raise ManifestError(
                    f"{MANIFEST_NAME} lacks the field {_child(where, name)!r} "
                    f"({spec.what}). " + _NEXT_STEP,
                    path=ctx.path,
                    member=MANIFEST_NAME,
                )
            spec.check(value[name], _child(where, name), ctx)
        unknown = sorted(set(value) - set(self.fields))
        if unknown and not ctx.lenient:
            raise ManifestError(
                f"{MANIFEST_NAME} has the unknown field(s) "
                f"{[_child(where, u) for u in unknown]}; this format version defines "
                f"{sorted(_child(where, f) for f in self.fields)}. " + _NEXT_STEP,
                path=ctx.path,
                member=MANIFEST_NAME,
            )
        for name in unknown:  # lenient: a newer minor version's additions are dropped
            ctx.ignored.append(_child(where, name))
            del value[name]


def validate(
    value: Any, spec: Spec, *, path: str, where: str = "", lenient: bool = False
) -> list[str]:
    """Check ``value`` against ``spec``; return the fields ignored (``lenient`` only).

    With ``lenient``, fields the schema does not define are removed from
    ``value`` (in place) instead of refused.

    Examples
    --------
    >>> spec = Obj({"size": Int(0)})
    >>> validate({"size": 3}, spec, path="m.bmz")
    []
    >>> validate({"size": "3"}, spec, path="m.bmz")
    Traceback (most recent call last):
    ...
    behavemodel.artifacts._errors.ManifestError: m.bmz: manifest.json field 'size' must be an \
integer of at least 0; got '3' (a string). The file is damaged or was not written by \
behavemodel; save the model again.
    >>> validate({"size": 3, "colour": "red"}, spec, path="m.bmz", lenient=True)
    ['colour']
    """
    ctx = _Context(path=path, lenient=lenient)
    spec.check(value, where, ctx)
    return ctx.ignored
