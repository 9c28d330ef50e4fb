"""``--learn``: (group, feature) pairs still learning keep learning while monitored.

Only pairs whose state is ``learning`` in :meth:`BaselineDetector.convergence_report`
take in new observations (plus groups the model has never seen, which are
learning by definition); a converged pair never absorbs what it is there to
flag. Counts are computed per batch with :func:`partial_stats` and merged into
the model every ``merge_interval`` seconds (merging rebuilds the lookup tables,
so not on every batch); the model file is replaced atomically every
``save_interval`` seconds and when the monitor stops.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from behavemodel.models import BaselineDetector, merge_stats, partial_stats

__all__ = ["Learner"]


class Learner:
    """Keep the learning pairs of a model learning from monitored events.

    Parameters
    ----------
    model : BaselineDetector
        Fitted; updated in place.
    path : path, optional
        Model file to replace (atomically) with the updated model.
    key : bytes, optional
        Signing key for the saved file.
    save_interval : float, default 60.0
        Seconds between saves (when something was learned).
    merge_interval : float, default 10.0
        Seconds between merges of the new counts into the model.
    """

    def __init__(
        self,
        model: BaselineDetector,
        path: str | os.PathLike[str] | None = None,
        *,
        key: bytes | None = None,
        save_interval: float = 60.0,
        merge_interval: float = 10.0,
    ) -> None:
        self.model = model
        self.path = None if path is None else Path(path)
        self.key = key
        self.save_interval = float(save_interval)
        self.merge_interval = float(merge_interval)
        self.learned_rows = 0
        self.saves = 0
        self._pending: list[pa.Table] = []
        self._unsaved = False
        now = time.monotonic()
        self._last_merge = self._last_save = now
        self._refresh()

    def _refresh(self) -> None:
        report = self.model.convergence_report()
        self._known = {str(g) for g in report["host_group"]}
        learning = report[report["state"] == "learning"]
        self._pairs = {
            (str(g), str(f))
            for g, f in zip(learning["host_group"], learning["feature"], strict=True)
        }
        self._groups = {str(g) for g in learning["host_group"]}

    @property
    def learning_pairs(self) -> set[tuple[str, str]]:
        """The (group, feature) pairs that learn (groups the model lacks learn too)."""
        return set(self._pairs)

    def observe(self, events: pa.Table) -> int:
        """Count the events' observations for the learning pairs; return rows kept."""
        stats = partial_stats(events, self.model.config_)
        if stats.num_rows == 0:
            return 0
        groups = stats.column("host_group").to_pylist()
        features = stats.column("feature").to_pylist()
        keep = np.fromiter(
            (
                g not in self._known or (g in self._groups if f is None else (g, f) in self._pairs)
                for g, f in zip(groups, features, strict=True)
            ),
            dtype=bool,
            count=len(groups),
        )
        if not keep.any():
            return 0
        kept = stats.filter(pa.array(keep))
        self._pending.append(kept)
        return kept.num_rows

    def step(self, *, force: bool = False) -> bool:
        """Merge and save when due (or ``force``); True when the file was saved."""
        now = time.monotonic()
        if force or now - self._last_merge >= self.merge_interval:
            self._last_merge = now
            if self._pending:
                self._merge()
        if (
            self._unsaved
            and self.path is not None
            and (force or now - self._last_save >= self.save_interval)
        ):
            self.save()
            return True
        return False

    def _merge(self) -> None:
        model = self.model
        merged = merge_stats([model.stats_, *self._pending])
        self.learned_rows += sum(t.num_rows for t in self._pending)
        self._pending.clear()
        # No public "learn only these (group, feature) pairs" API yet: BaselineDetector
        # rebuilds its lookup tables from merged statistics exactly as partial_fit does.
        model._set_state(model.config_, merged)
        self._unsaved = True
        self._refresh()

    def save(self) -> Any:
        """Write the model file atomically (signed when a key was given)."""
        from behavemodel.artifacts import save

        if self.path is None:
            return None
        manifest = save(self.model, self.path, key=self.key)
        self._unsaved = False
        self._last_save = time.monotonic()
        self.saves += 1
        return manifest
