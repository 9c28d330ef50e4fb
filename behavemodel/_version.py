"""The behavemodel version, the single place it is spelled."""

__version__ = "0.1.0"
