"""Every audit log in the shared corpus parses, and every line is accounted for.

The corpus (``../shared/corpus/auditlogs``, described in its ``SOURCES.md``) holds
real audit logs collected from other parsers' test suites. Each log file and each
raw-lines case of go-libaudit's YAML wrappers is one test: it must parse with
``on_error="collect"`` without an exception, report no line, and its
:class:`~behavemodel.io.ParseReport` must agree with an independent count of the
file's lines, records, blank and comment lines, and events.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from behavemodel import schema as s
from behavemodel.io import ParseReport, iter_auditd, read_auditd

pytestmark = pytest.mark.corpus

# Same location as the ``corpus_dir`` fixture (tests/io/conftest.py); needed here at
# collection time to make one test per file. Tests still request ``corpus_dir``, which
# skips, or fails when BEHAVEMODEL_CORPUS_REQUIRED=1, if the corpus is absent.
_CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "auditlogs"

# Files in the corpus that are not raw audit logs.
_NOT_LOGS = ("SOURCES.md", "auparse_test.ref")
_NOT_LOG_SUFFIXES = (".golden", ".yaml", ".json")
_NOT_LOG_DIRS = ("audit-documentation",)  # reference tables, not logs

# Logs and YAML wrappers the corpus had when these tests were written (SOURCES.md);
# more may come, fewer means the file discovery below lost some.
_MIN_LOG_FILES = 80
_MIN_YAML_FILES = 5

# An audit record header, as an independent oracle for the reader's record and event
# counts: (node, "seconds.millis:serial") identifies one event.
_HEADER = re.compile(rb"^(?:node=(\S+) )?type=\S+ msg=audit\((\d+\.\d+:\d+)\):")


def _log_files(corpus: Path) -> list[Path]:
    return sorted(
        p
        for p in corpus.rglob("*")
        if p.is_file()
        and p.name not in _NOT_LOGS
        and not p.name.endswith(_NOT_LOG_SUFFIXES)
        and not set(p.relative_to(corpus).parts) & set(_NOT_LOG_DIRS)
    )


def _yaml_cases(corpus: Path) -> list[tuple[str, str, str]]:
    """(file, case name, raw text) for each case of go-libaudit's YAML wrappers."""
    cases = []
    for path in sorted(corpus.rglob("*.yaml")):
        tests = yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
        for name, text in tests.items():
            cases.append((path.relative_to(corpus).as_posix(), name, text))
    return cases


def _missing_corpus_param() -> list[object]:
    # One placeholder so the test still runs and its corpus_dir fixture skips or fails.
    return [pytest.param(None, id="corpus-missing")]


def _log_params() -> list[object]:
    if not _CORPUS.is_dir():
        return _missing_corpus_param()
    return [
        pytest.param(p.relative_to(_CORPUS).as_posix(), id=p.relative_to(_CORPUS).as_posix())
        for p in _log_files(_CORPUS)
    ]


def _yaml_params() -> list[object]:
    if not _CORPUS.is_dir():
        return _missing_corpus_param()
    return [
        pytest.param((file, name, text), id=f"{file}#{name}")
        for file, name, text in _yaml_cases(_CORPUS)
    ]


def _expected_counts(data: bytes) -> dict[str, int]:
    """Count lines the way the reader must: split on LF only (0x1D is no line break)."""
    lines = data.split(b"\n")
    if lines[-1] == b"":  # the final newline ends the last line, it starts none
        lines.pop()
    blank = sum(1 for line in lines if not line.strip())
    comment = sum(1 for line in lines if line.strip().startswith(b"#"))
    events = {m.groups() for line in lines if (m := _HEADER.match(line)) is not None}
    return {
        "lines_read": len(lines),
        "records": len(lines) - blank - comment,
        "blank_lines": blank,
        "comment_lines": comment,
        "events": len(events),
    }


def _check_parse(source: Path | io.BytesIO, data: bytes, name: str) -> None:
    report = ParseReport()
    events, errors = read_auditd(source, on_error="collect", report=report)

    # No line of the corpus is unusable; a file that truly has bad lines would get its
    # exact expected count here, with the reason.
    assert errors.empty, f"{name}: lines reported:\n{errors.to_string()}"
    assert report.lines_reported == 0
    assert report.lines_read == report.lines_used + report.lines_reported

    expected = _expected_counts(data)
    actual = {
        "lines_read": report.lines_read,
        "records": report.records,
        "blank_lines": report.blank_lines,
        "comment_lines": report.comment_lines,
        "events": len(events),
    }
    assert actual == expected
    assert report.events == len(events)
    # One row per (node, timestamp, serial): no event split in two, none merged.
    assert events[s.EVENT_ID].is_unique, events[s.EVENT_ID].tolist()


def _check_schema(source: Path | io.BytesIO) -> None:
    batches = list(iter_auditd(source, on_error="collect"))
    assert batches
    s.validate(pa.Table.from_batches(batches))


def test_corpus_is_complete(corpus_dir: Path) -> None:
    assert len(_log_files(corpus_dir)) >= _MIN_LOG_FILES
    assert len(list(corpus_dir.rglob("*.yaml"))) >= _MIN_YAML_FILES
    assert _yaml_cases(corpus_dir), "go-libaudit YAML wrappers hold no test case"


@pytest.mark.parametrize("relpath", _log_params())
def test_log_file_parses(corpus_dir: Path, relpath: str) -> None:
    path = corpus_dir / relpath
    _check_parse(path, path.read_bytes(), relpath)
    _check_schema(path)


@pytest.mark.parametrize("case", _yaml_params())
def test_yaml_case_parses(corpus_dir: Path, case: tuple[str, str, str]) -> None:
    file, name, text = case
    data = text.encode("utf-8")
    _check_parse(io.BytesIO(data), data, f"{file}#{name}")
    _check_schema(io.BytesIO(data))
