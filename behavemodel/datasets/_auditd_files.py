"""Writing rendered audit logs to files: one log per host, rotation, streaming."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa

from behavemodel import schema as s
from behavemodel.datasets._auditd_writer import render_auditd
from behavemodel.datasets._logtext import col

__all__ = ["StreamingLogWriter", "write_host_logs"]


def _host_order(events: pa.Table) -> dict[str, np.ndarray]:
    hosts = col(events, s.HOST_NAME).to_numpy(zero_copy_only=False)
    order: dict[str, np.ndarray] = {}
    for h in sorted(set(hosts.tolist())):
        order[h] = np.flatnonzero(hosts == h)
    return order


def write_host_logs(
    events: pa.Table,
    directory: Path,
    *,
    extras: pa.Table | None = None,
    enriched: bool = True,
    max_bytes: int | None = None,
    interleave: float = 0.0,
    container_records: bool = False,
    seed: int = 0,
) -> list[Path]:
    """Write ``DIR/HOST/audit.log`` per host (rotated into ``audit.log.N`` when large)."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for host, rows in _host_order(events).items():
        ra = pa.array(rows)
        ev = events.take(ra)
        ex = extras.take(ra) if extras is not None else None
        data = render_auditd(
            ev,
            None,
            enriched=enriched,
            extras=ex,
            interleave=interleave,
            container_records=container_records,
            seed=seed,
        )
        assert isinstance(data, bytes)
        written += _write_rotated(directory / host, data, max_bytes)
    return written


def _write_rotated(host_dir: Path, data: bytes, max_bytes: int | None) -> list[Path]:
    host_dir.mkdir(parents=True, exist_ok=True)
    for old in host_dir.glob("audit.log*"):
        old.unlink()
    if not max_bytes or len(data) <= max_bytes:
        path = host_dir / "audit.log"
        path.write_bytes(data)
        return [path]
    pieces = []
    start = 0
    while start < len(data):
        end = min(start + max_bytes, len(data))
        if end < len(data):
            cut = data.rfind(b"\n", start, end)
            end = cut + 1 if cut > start else end
        pieces.append(data[start:end])
        start = end
    paths = []
    count = len(pieces)
    for k, piece in enumerate(pieces):
        number = count - 1 - k
        path = host_dir / ("audit.log" if number == 0 else f"audit.log.{number}")
        path.write_bytes(piece)
        paths.append(path)
    return paths


class StreamingLogWriter:
    """Append batches of events to per-host audit logs (``DIR/HOST/audit.log``)."""

    def __init__(self, directory: str | os.PathLike[str], *, enriched: bool = True) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.enriched = enriched
        self.files: dict[str, IO[bytes]] = {}
        self.paths: list[Path] = []

    def write(self, events: pa.Table, extras: pa.Table | None = None) -> None:
        for host, rows in _host_order(events).items():
            fh = self.files.get(host)
            if fh is None:
                path = self.directory / host / "audit.log"
                path.parent.mkdir(parents=True, exist_ok=True)
                fh = open(path, "wb")
                self.files[host] = fh
                self.paths.append(path)
            ra = pa.array(rows)
            render_auditd(
                events.take(ra),
                fh,
                enriched=self.enriched,
                extras=extras.take(ra) if extras is not None else None,
            )

    def close(self) -> None:
        for fh in self.files.values():
            fh.close()
