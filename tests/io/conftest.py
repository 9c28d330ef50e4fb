"""Fixtures for the io tests: the shared audit-log corpus that lives beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
#: ``<repo>/../shared/corpus/auditlogs``, found from this file, never from the cwd.
CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus" / "auditlogs"
#: Set to 1 (in CI) to turn a missing corpus into a failure instead of a skip.
CORPUS_REQUIRED_ENV = "BEHAVEMODEL_CORPUS_REQUIRED"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The shared audit-log corpus; skips (or fails when required) if it is absent."""
    if CORPUS_DIR.is_dir():
        return CORPUS_DIR
    message = (
        f"shared audit-log corpus not found at {CORPUS_DIR}: clone the project beside ../shared"
    )
    if os.environ.get(CORPUS_REQUIRED_ENV) == "1":
        pytest.fail(f"{message} ({CORPUS_REQUIRED_ENV}=1)")
    pytest.skip(message)
