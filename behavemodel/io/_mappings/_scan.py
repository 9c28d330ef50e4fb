"""Read one file of a dump as projected chunks, ready for :meth:`Bound.evaluate`.

Parquet: ``pyarrow.dataset`` finds the row groups a ``filter`` can match (partition
values and column statistics) and evaluates the filter; the mapped columns are
read with :class:`pyarrow.parquet.ParquetFile` *leaf* selection, because a dataset
projection of one nested field reads its whole top-level struct (about 100x more
work for OCSF's ``actor``). JSON lines: parsed in blocks (:mod:`._input`), filtered
and projected in memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from behavemodel.exceptions import SchemaError
from behavemodel.io._mappings._engine import Bound, bind
from behavemodel.io._mappings._input import InputFile, iter_json
from behavemodel.io._mappings._plan import ROW, Plan

__all__ = ["Chunk", "json_chunks", "parquet_chunks"]

#: (bound plan, projected table, raw table for row functions, bad-row text by position)
Chunk = tuple[Bound, pa.Table, pa.Table | None, Callable[[int], str]]
_TEXT_LIMIT = 300
_JSON_BLOCK_BYTES = 4 << 20


def _scan_schema(item: InputFile) -> pa.Schema:
    assert item.fragment is not None
    physical = item.fragment.physical_schema
    if item.partition_schema is None:
        return physical
    extra = [f for f in item.partition_schema if f.name not in physical.names]
    return pa.schema([*physical, *extra])


def _with_partition(table: pa.Table, item: InputFile) -> pa.Table:
    for key, value in item.partition.items():
        if key not in table.schema.names:
            table = table.append_column(key, pa.repeat(pa.scalar(value), table.num_rows))
    return table


def _groups(
    item: InputFile, schema: pa.Schema, filter: pc.Expression | None, plan: Plan
) -> Iterator[tuple[int, pa.Array | None]]:
    """Row groups to read, each with its filter mask (None: every row)."""
    assert item.fragment is not None
    if filter is None:
        for i in range(item.fragment.metadata.num_row_groups):
            yield i, None
        return
    try:
        for part in item.fragment.split_by_row_group(filter, schema=schema):
            scan = ds.Scanner.from_fragment(part, schema=schema, columns={"keep": filter})
            mask = scan.to_table().column("keep").combine_chunks()
            yield part.row_groups[0].id, mask
    except pa.ArrowInvalid as exc:
        if "No match for FieldRef" in str(exc):
            raise SchemaError(
                f"The filter names a column that {item.path} does not have: {exc}"
            ) from None
        raise


def parquet_chunks(
    item: InputFile, plan: Plan, filter: pc.Expression | None, batch_size: int
) -> Iterator[Chunk]:
    """Projected chunks of one Parquet file."""
    fragment = item.fragment
    assert fragment is not None
    schema = _scan_schema(item)
    physical = set(fragment.physical_schema.names)
    whole = plan.reads_everything or plan.needs_prepare(schema)
    bound = None if whole else bind(plan, schema, item.path)
    columns = None if bound is None else bound.leaves(physical)
    source = fragment.filesystem.open_input_file(fragment.path)
    with pq.ParquetFile(source) as pf:
        starts = np.concatenate(
            [[0], np.cumsum([pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)])]
        )
        for group, mask in _groups(item, schema, filter, plan):
            position = 0
            for batch in pf.iter_batches(
                batch_size=batch_size, row_groups=[group], columns=columns, use_threads=True
            ):
                n = batch.num_rows
                first = int(starts[group]) + position + 1
                rows = pa.array(np.arange(first, first + n, dtype=np.int64))
                table = _with_partition(pa.Table.from_batches([batch]), item)
                table = table.append_column(ROW, rows)
                if mask is not None:
                    table = table.filter(mask.slice(position, n))
                position += n
                if table.num_rows == 0:
                    continue
                here = bound
                if here is None:
                    if plan.needs_prepare(table.schema):
                        assert plan.builtin.prepare is not None
                        table = plan.builtin.prepare(table)
                    here = bind(plan, table.schema, item.path)
                projected = here.project(table)
                yield here, projected, table if whole else None, _describe(here, projected)


def json_chunks(
    item: InputFile,
    plan: Plan,
    filter: pc.Expression | None,
    bad: Callable[[int, str, str], None],
    blank: Callable[[int], None],
) -> Iterator[Chunk]:
    """Projected chunks of one JSON-lines file (bad lines go to ``bad``)."""
    for chunk in iter_json(item.path, block_bytes=_JSON_BLOCK_BYTES, bad=bad, blank=blank):
        raw = _with_partition(chunk.table, item)
        if filter is not None:
            raw = ds.dataset(raw).to_table(filter=filter)
        if plan.needs_prepare(raw.schema):
            assert plan.builtin.prepare is not None
            raw = plan.builtin.prepare(raw)
        bound = bind(plan, raw.schema, item.path)
        projected = bound.project(raw)
        yield bound, projected, raw, _line_text(projected.column(ROW), chunk.text)


def _line_text(lines: pa.ChunkedArray, text: Callable[[int], str]) -> Callable[[int], str]:
    """A bad JSON row as text: its line."""
    return lambda i: text(lines[i].as_py())


def _describe(bound: Bound, table: pa.Table) -> Callable[[int], str]:
    """A bad Parquet row as text: its mapped source values."""

    def text(i: int) -> str:
        row = table.slice(i, 1).to_pylist()[0]
        shown = {bound.source_name(k): v for k, v in row.items() if k != ROW}
        return json.dumps(shown, default=str)[:_TEXT_LIMIT]

    return text
