"""behavemodel: learn how each group of Linux servers behaves, flag what deviates.

The public API is re-exported here; see the README for a tour.
"""

from behavemodel import schema
from behavemodel._version import __version__
from behavemodel.exceptions import BehaveModelError, ParseError, SchemaError

__all__ = [
    "BehaveModelError",
    "ParseError",
    "SchemaError",
    "__version__",
    "schema",
]
