"""Feature extraction: from canonical events to keyed observations per server group.

An extractor says which events it looks at and which columns form its key; a
:class:`PathNormaliser` makes paths that mean the same program compare equal; a
:class:`GroupMap` says which hosts are expected to behave alike.
"""

from behavemodel.features._exceptions import FeatureConfigError
from behavemodel.features._extractors import (
    DEFAULT_FEATURES,
    Extractor,
    FileWriters,
    Key,
    NetworkPorts,
    NetworkProcesses,
    ParentNames,
    ProcessOwners,
    default_extractors,
)
from behavemodel.features._groups import GroupMap
from behavemodel.features._normalise import DEFAULT_RULES, NormalisationRule, PathNormaliser
from behavemodel.features._observe import KEY_SEPARATOR, extract

__all__ = [
    "DEFAULT_FEATURES",
    "DEFAULT_RULES",
    "KEY_SEPARATOR",
    "Extractor",
    "FeatureConfigError",
    "FileWriters",
    "GroupMap",
    "Key",
    "NetworkPorts",
    "NetworkProcesses",
    "NormalisationRule",
    "ParentNames",
    "PathNormaliser",
    "ProcessOwners",
    "default_extractors",
    "extract",
]
