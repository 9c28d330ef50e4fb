"""Errors raised by the detectors."""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

from behavemodel.exceptions import BehaveModelError

__all__ = ["IncompatibleModelsError", "NoEventsError", "NotFittedError"]


class NotFittedError(BehaveModelError, _SklearnNotFittedError):
    """A detector was used before ``fit``; also a scikit-learn ``NotFittedError``."""


class IncompatibleModelsError(BehaveModelError, ValueError):
    """Models with different parameters or feature configuration cannot be merged."""


class NoEventsError(BehaveModelError, ValueError):
    """A detector was asked to learn from an empty event table."""
