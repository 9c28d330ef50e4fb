"""Errors raised while configuring or running feature extraction."""

from __future__ import annotations

from behavemodel.exceptions import BehaveModelError

__all__ = ["FeatureConfigError"]


class FeatureConfigError(BehaveModelError, ValueError):
    """An extractor, normalisation rule or group map is misconfigured.

    Examples
    --------
    >>> from behavemodel.features import PathNormaliser
    >>> PathNormaliser().remove("no_such_rule")
    Traceback (most recent call last):
    ...
    behavemodel.features._exceptions.FeatureConfigError: PathNormaliser has no rule named \
'no_such_rule'. Its rules are: ['deleted_suffix', ...]; pick one of those.
    """
