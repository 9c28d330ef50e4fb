"""Tests for behavemodel/io/_unreadable.py: damaged Parquet files name themselves.

Every reader of Parquet dumps (``read_events``, ``iter_events``,
``score_parquet``, ``fit_parquet``) turns Arrow's errors for a damaged file into
a :class:`ParseError` that names the file: not a Parquet file at all, a
truncated footer, or a corrupt page found only while reading.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from behavemodel import BaselineDetector, fit_parquet, iter_events, read_events, score_parquet
from behavemodel.exceptions import ParseError

SAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "attack-day" / "events.parquet"


def _events() -> pa.Table:
    return pq.read_table(SAMPLE)


def _not_parquet(folder: Path) -> Path:
    path = folder / "events.parquet"
    path.write_bytes(b"PAR1 but nothing after it")
    return path


def _truncated(folder: Path) -> Path:
    path = folder / "events.parquet"
    pq.write_table(_events(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _corrupt_page(folder: Path) -> Path:
    """A valid footer, but a data page in the third row group is garbage."""
    path = folder / "events.parquet"
    pq.write_table(_events(), path, compression="snappy", row_group_size=10_000)
    start = pq.ParquetFile(path).metadata.row_group(2).column(0).data_page_offset
    data = bytearray(path.read_bytes())
    for i in range(start, start + 400):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


def _fitted() -> BaselineDetector:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BaselineDetector(features=["NetworkProcesses"]).fit(_events().slice(0, 2000))


READERS: dict[str, Callable[[Path, Path], object]] = {
    "read_events": lambda path, tmp: read_events(path),
    "iter_events": lambda path, tmp: list(iter_events(path)),
    "score_parquet": lambda path, tmp: score_parquet(_fitted(), path, tmp / "alerts.parquet"),
    "fit_parquet": lambda path, tmp: fit_parquet(BaselineDetector(), path),
}


@pytest.mark.parametrize("damage", [_not_parquet, _truncated, _corrupt_page])
@pytest.mark.parametrize("reader", list(READERS))
def test_a_damaged_file_is_a_parse_error_naming_it(
    tmp_path: Path, reader: str, damage: Callable[[Path], Path]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    path = damage(data)
    with pytest.raises(ParseError) as caught:
        READERS[reader](path, tmp_path)
    assert caught.value.file == str(path)
    assert str(caught.value).startswith(f"{path}: cannot read this Parquet file: ")
    assert isinstance(caught.value.__cause__, (pa.ArrowException, OSError))


def test_a_damaged_alert_only_column_names_the_file(tmp_path: Path) -> None:
    """score_parquet reads the command line for alert rows only, after the scan."""
    path = tmp_path / "events.parquet"
    pq.write_table(_events(), path, compression="snappy", row_group_size=10_000)
    metadata = pq.ParquetFile(path).metadata
    column = metadata.schema.to_arrow_schema().get_field_index("process_cmdline")
    data = bytearray(path.read_bytes())
    for group in range(metadata.num_row_groups):
        chunk = metadata.row_group(group).column(column)
        start = chunk.dictionary_page_offset or chunk.data_page_offset
        for i in range(start, start + min(400, chunk.total_compressed_size)):
            data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    model = BaselineDetector(features=["ProcessOwners"], min_span="1h", novelty_threshold=1.0)
    model.fit(_events().slice(0, 20_000))  # monitoring: later rows deviate
    with pytest.raises(ParseError) as caught:
        score_parquet(model, path, tmp_path / "alerts.parquet")
    assert caught.value.file == str(path)
    assert isinstance(caught.value.__cause__, (pa.ArrowException, OSError))
    assert not (tmp_path / "alerts.parquet").exists()


def test_missing_files_keep_their_own_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_events(tmp_path / "nothing.parquet")


def test_an_intact_file_reads() -> None:
    assert len(read_events(SAMPLE)) == _events().num_rows
