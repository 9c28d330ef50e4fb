"""Find the files of a dump and read them as raw Arrow tables.

Parquet goes through :mod:`pyarrow.dataset` fragments (projection and filter are
pushed into the scan, hive ``key=value`` directories become columns). JSON lines
are read in blocks of whole lines with :func:`pyarrow.json.read_json`; a block
that does not parse is split in halves until the lines that fail alone are
found. Those are parsed by :func:`json.loads` (which accepts duplicate keys, as
laurel writes when the kernel logs a field twice) or reported as bad lines.
"""

from __future__ import annotations

import glob
import gzip
import io
import json
import os
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.json as pj

from behavemodel.io._mappings._plan import ROW
from behavemodel.io._unreadable import reading_parquet

__all__ = ["InputFile", "JsonChunk", "SourceLike", "iter_json", "resolve_inputs"]

SourceLike: TypeAlias = str | os.PathLike[str] | ds.FileSystemDataset
_PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")
_JSON_SUFFIXES = (".json", ".jsonl", ".ndjson", ".log")
_GLOB_CHARS = "*?["
_WHITESPACE = np.array([9, 10, 13, 32], np.uint8)
_TEXT_LIMIT = 300


@dataclass(frozen=True)
class InputFile:
    """One file of a dump, with the hive partition values of its directories."""

    path: str
    format: str
    partition: dict[str, Any] = field(default_factory=dict)
    fragment: ds.Fragment | None = None
    partition_schema: pa.Schema | None = None


def _is_hidden(rel: str) -> bool:
    return any(part.startswith((".", "_")) for part in Path(rel).parts)


def _sniff(path: str) -> str:
    name = path.lower().removesuffix(".gz")
    if name.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(_JSON_SUFFIXES):
        return "json"
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"PAR1":
        return "parquet"
    if head[:2] == b"\x1f\x8b" or head.lstrip()[:1] in (b"{", b""):
        return "json"
    raise ValueError(
        f"Cannot tell the format of {path!r}: it is neither Parquet (PAR1) nor JSON lines. "
        "Pass format='parquet' or format='json'."
    )


def _hive_keys(root: Path, path: Path) -> dict[str, str]:
    keys = {}
    for part in path.relative_to(root).parts[:-1]:
        if "=" in part:
            k, v = part.split("=", 1)
            keys[urllib.parse.unquote(k)] = urllib.parse.unquote(v)
    return keys


def _directory(root: Path, fmt: str | None) -> list[InputFile]:
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and not _is_hidden(str(p.relative_to(root)))
    )
    if not files:
        return []
    fmt = fmt or _sniff(str(files[0]))
    if fmt == "parquet":
        with reading_parquet(root):
            dataset = ds.dataset(root, format="parquet", partitioning="hive")
        part_schema = dataset.partitioning.schema if dataset.partitioning else None
        return [
            InputFile(
                f.path,
                "parquet",
                ds.get_partition_keys(f.partition_expression) or {},
                f,
                part_schema,
            )
            for f in dataset.get_fragments()
        ]
    return [InputFile(str(p), fmt, _hive_keys(root, p)) for p in files]


def _file(path: str, fmt: str | None) -> InputFile:
    fmt = fmt or _sniff(path)
    if fmt == "parquet":
        with reading_parquet(path):
            fragment = next(iter(ds.dataset(path, format="parquet").get_fragments()))
        return InputFile(path, fmt, {}, fragment)
    return InputFile(path, fmt)


def resolve_inputs(source: SourceLike | Sequence[SourceLike], fmt: str | None) -> list[InputFile]:
    """The files of ``source``: a file, a directory, a glob, a list, or a dataset.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "host=web-1").mkdir()
    >>> _ = (d / "host=web-1" / "a.jsonl").write_text('{"x": 1}\\n')
    >>> _ = (d / "_SUCCESS").write_text("")
    >>> [(pathlib.Path(f.path).name, f.format, f.partition) for f in resolve_inputs(d, None)]
    [('a.jsonl', 'json', {'host': 'web-1'})]
    """
    if fmt not in (None, "parquet", "json"):
        raise ValueError(f"The 'format' parameter must be 'parquet', 'json' or None. Got {fmt!r}.")
    if isinstance(source, ds.FileSystemDataset):
        kind = "parquet" if isinstance(source.format, ds.ParquetFileFormat) else "json"
        part_schema = source.partitioning.schema if source.partitioning else None
        return [
            InputFile(
                f.path, kind, ds.get_partition_keys(f.partition_expression) or {}, f, part_schema
            )
            for f in source.get_fragments()
        ]
    items = [source] if isinstance(source, str | os.PathLike) else list(source)
    out: list[InputFile] = []
    for item in items:
        if isinstance(item, ds.FileSystemDataset):
            out.extend(resolve_inputs(item, fmt))
            continue
        text = os.fspath(item)
        if any(c in text for c in _GLOB_CHARS) and not os.path.exists(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise FileNotFoundError(f"No file matches {text!r}.")
            out.extend(resolve_inputs(matches, fmt))
            continue
        path = Path(text)
        if path.is_dir():
            out.extend(_directory(path, fmt))
        elif path.exists():
            out.append(_file(text, fmt))
        else:
            raise FileNotFoundError(f"No such file or directory: {text!r}")
    return out


@dataclass
class JsonChunk:
    """Parsed lines of one JSON block, and how to get a line's text back."""

    table: pa.Table
    text: Callable[[int], str]


@dataclass
class _Block:
    data: bytes
    starts: np.ndarray  # byte offset of each non-blank line
    ends: np.ndarray
    lines: np.ndarray  # 1-based line numbers

    def text(self, line: int) -> str:
        i = int(np.searchsorted(self.lines, line))
        raw = self.data[self.starts[i] : self.ends[i]]
        return raw[:_TEXT_LIMIT].decode("utf-8", "backslashreplace")


def _open(path: str) -> BinaryIO:
    """The file for binary reading, gunzipped when its magic bytes say gzip."""
    with open(path, "rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    if gzipped:
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _block(data: bytes, first_line: int) -> tuple[_Block, int]:
    """Non-blank lines of ``data`` (complete lines ending with a newline)."""
    arr = np.frombuffer(data, np.uint8)
    newlines = np.flatnonzero(arr == 10)
    starts = np.concatenate([[0], newlines[:-1] + 1]).astype(np.int64)
    ends = newlines.astype(np.int64)
    content = np.concatenate([[0], np.cumsum(~np.isin(arr, _WHITESPACE))])
    keep = content[ends] - content[starts] > 0
    numbers = first_line + np.arange(len(starts), dtype=np.int64)
    return _Block(data, starts[keep], ends[keep], numbers[keep]), int((~keep).sum())


def _parse(data: bytes, lines: np.ndarray) -> pa.Table:
    table = pj.read_json(
        io.BytesIO(data),
        read_options=pj.ReadOptions(block_size=max(1 << 20, len(data) + 1)),
        parse_options=pj.ParseOptions(newlines_in_values=False),
    )
    if table.num_rows != len(lines):
        raise pa.ArrowInvalid(f"parsed {table.num_rows} rows from {len(lines)} lines")
    return table


def _parse_lines(
    block: _Block, lo: int, hi: int, bad: Callable[[int, str, str], None]
) -> Iterator[pa.Table]:
    """Tables for lines ``lo:hi`` of the block, halving around the ones that fail."""
    lines = block.lines[lo:hi]
    try:
        table = _parse(_compact(block, lo, hi), lines)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    else:
        yield _with_rows(table, lines)
        return
    if hi - lo > 1:
        mid = (lo + hi) // 2
        yield from _parse_lines(block, lo, mid, bad)
        yield from _parse_lines(block, mid, hi, bad)
        return
    text = block.data[block.starts[lo] : block.ends[lo]].decode("utf-8", "backslashreplace")
    try:
        obj = json.loads(text)
    except ValueError as exc:
        bad(int(lines[0]), f"not valid JSON: {exc}", text[:_TEXT_LIMIT])
        return
    if not isinstance(obj, dict):
        bad(int(lines[0]), f"a JSON {type(obj).__name__}, not an object", text[:_TEXT_LIMIT])
        return
    try:
        yield _with_rows(pa.Table.from_pylist([obj]), lines)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        bad(int(lines[0]), f"JSON that Arrow cannot represent: {exc}", text[:_TEXT_LIMIT])


def _compact(block: _Block, lo: int, hi: int) -> bytes:
    """The bytes of non-blank lines ``lo:hi``, each with its newline."""
    start, end = block.starts[lo], block.ends[hi - 1] + 1
    span = block.data[start:end]
    if (block.ends[lo:hi] + 1 - block.starts[lo:hi]).sum() == end - start:
        return span
    offsets = block.starts[lo:hi] - start
    lengths = block.ends[lo:hi] + 1 - block.starts[lo:hi]
    marks = np.zeros(end - start + 1, np.int64)
    np.add.at(marks, offsets, 1)
    np.add.at(marks, offsets + lengths, -1)
    keep = np.cumsum(marks)[:-1] > 0
    return np.frombuffer(span, np.uint8)[keep].tobytes()


def _with_rows(table: pa.Table, lines: np.ndarray) -> pa.Table:
    return table.append_column(ROW, pa.array(lines, pa.int64()))


def iter_json(
    path: str,
    *,
    block_bytes: int,
    bad: Callable[[int, str, str], None],
    blank: Callable[[int], None],
) -> Iterator[JsonChunk]:
    """Parsed chunks of a JSON lines file (gzip recognised by its magic bytes)."""
    with _open(path) as fh:
        remainder = b""
        line = 1
        while True:
            buf = fh.read(block_bytes)
            if not buf:
                break
            buf = remainder + buf
            cut = buf.rfind(b"\n")
            if cut < 0:
                remainder = buf
                continue
            data, remainder = buf[: cut + 1], buf[cut + 1 :]
            yield from _chunks(data, line, bad, blank)
            line += data.count(b"\n")
        if remainder.strip():
            yield from _chunks(remainder + b"\n", line, bad, blank)


def _chunks(
    data: bytes, line: int, bad: Callable[[int, str, str], None], blank: Callable[[int], None]
) -> Iterator[JsonChunk]:
    block, blanks = _block(data, line)
    if blanks:
        blank(blanks)
    if len(block.lines) == 0:
        return
    for table in _parse_lines(block, 0, len(block.lines), bad):
        yield JsonChunk(table, block.text)
