"""Tests for behavemodel/monitor/_monitor.py, in-process (the monitor runs in a thread)."""

from __future__ import annotations

import importlib.util
import json
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from behavemodel import schema
from behavemodel.artifacts import load, save
from behavemodel.datasets import render_auditd
from behavemodel.models import BaselineDetector
from behavemodel.monitor import CheckpointError, Monitor, MonitorStats, StateLock


def _load_logs() -> Any:
    """tests/monitor/logs.py (test modules cannot import each other under importlib mode)."""
    name = "behavemodel_tests_monitor_logs"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).resolve().parents[1] / "monitor" / "logs.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


logs = _load_logs()
HOST, T0 = logs.HOST, logs.T0
alert_model, audit_lines = logs.alert_model, logs.audit_lines
event_ids, event_rows = logs.event_ids, logs.event_rows

HOSTILE_ARGV = [
    "/bin/sh",
    "-c",
    "x; rm -rf / $(touch PWNED) `touch PWNED2` 'q\"uote' \\ back",
    "two\nlines\r\x1b[2J\x07",
    "sep\u2028\u2029end",
    '{"event_id": "forged", "feature": "x"}',
]


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")


def alert_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    return [json.loads(line) for line in complete.splitlines()]


class Running:
    """A Monitor in a background thread; collects what it reports."""

    def __init__(self, model: BaselineDetector, follow: Any, **kw: Any) -> None:
        self.notes: list[str] = []
        kw.setdefault("poll_interval", 0.05)
        kw.setdefault("start", "beginning")
        self.monitor = Monitor(model, follow, report=self.notes.append, **kw)
        self.stats: MonitorStats | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.stats = self.monitor.run()
        except BaseException as exc:  # handed to the test thread
            self.error = exc

    def stop(self) -> MonitorStats:
        self.monitor.stop()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the monitor did not stop"
        if self.error is not None:
            raise self.error
        assert self.stats is not None
        return self.stats


@pytest.fixture
def model() -> BaselineDetector:
    return alert_model()


@pytest.fixture
def running() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for r in started:
        r.monitor.stop()
        r.thread.join(10)


def test_every_event_once_as_valid_ascii_json(
    tmp_path: Path, model: BaselineDetector, running: list[Running]
) -> None:
    log, out = tmp_path / "audit.log", tmp_path / "alerts.jsonl"
    table, extras = event_rows([3, 4])
    extras = pa.table({"_argv": ["\x00".join(HOSTILE_ARGV), "/opt/t/bin-4"]})
    log.write_bytes(render_auditd(table, extras=extras))  # type: ignore[arg-type]
    r = Running(model, log, alerts=out)
    running.append(r)
    wait_for(lambda: len(alert_lines(out)) == 2, what="two alerts")
    stats = r.stop()
    raw = out.read_bytes()
    assert raw.isascii() and raw.count(b"\n") == 2
    assert b"\xe2\x80\xa8" not in raw and b"\x1b" not in raw
    rows = alert_lines(out)
    assert {row["event_id"] for row in rows} == event_ids([3, 4])
    execs = [row for row in rows if row["feature"] == "ProcessOwners"]
    assert shlex.split(execs[0]["process_cmdline"]) == HOSTILE_ARGV
    assert set(rows[0]) >= {"time", "host_name", "feature", "key", "score", "reason", "event_id"}
    assert rows[0]["time"].endswith("Z")
    assert not (tmp_path / "PWNED").exists()
    assert (stats.events, stats.alerts, stats.malformed_lines) == (2, 2, 0)


def test_malformed_lines_are_reported_and_skipped(
    tmp_path: Path, model: BaselineDetector, running: list[Running]
) -> None:
    log, out = tmp_path / "audit.log", tmp_path / "alerts.jsonl"
    good = audit_lines(range(1, 7)).splitlines(keepends=True)
    garbage = [b"this is not an audit record\n", b"\xff\xfe\x00binary\x1b[2J\n", b"type=\n"]
    log.write_bytes(b"".join(good[:3] + garbage + good[3:]))
    r = Running(model, log, alerts=out)
    running.append(r)
    wait_for(lambda: len(alert_lines(out)) == 6, what="six alerts")
    stats = r.stop()
    assert {row["event_id"] for row in alert_lines(out)} == event_ids(range(1, 7))
    assert stats.malformed_lines == 3
    reported = [n for n in r.notes if n.startswith("skipped malformed line")]
    assert len(reported) == 3
    assert f"{log}:4: no audit record header" in reported[0]


def test_open_events_are_completed_when_the_log_goes_quiet(
    tmp_path: Path, model: BaselineDetector, running: list[Running]
) -> None:
    log, out = tmp_path / "audit.log", tmp_path / "alerts.jsonl"
    log.write_bytes(b"")
    r = Running(model, log, alerts=out, idle_flush=0.3)
    running.append(r)
    # No PROCTITLE: nothing closes these events but silence.
    with log.open("ab") as fh:
        fh.write(audit_lines([10, 11], without_proctitle=lambda s: True))
    written = time.monotonic()
    wait_for(lambda: len(alert_lines(out)) == 2, timeout=20, what="the open events")
    assert time.monotonic() - written < 10
    r.stop()
    assert {row["event_id"] for row in alert_lines(out)} == event_ids([10, 11])


def test_stopping_keeps_open_events_in_the_checkpoint(
    tmp_path: Path, model: BaselineDetector, running: list[Running]
) -> None:
    log, out, state = tmp_path / "audit.log", tmp_path / "alerts.jsonl", tmp_path / "state"
    log.write_bytes(audit_lines(range(1, 4)) + audit_lines([4], without_proctitle=lambda s: True))
    r = Running(model, log, alerts=out, checkpoint=state, idle_flush=1000)
    running.append(r)
    wait_for(lambda: len(alert_lines(out)) == 3, what="three alerts")
    r.stop()
    saved = json.loads(state.read_text())
    assert saved["parser"]["carry"] and ":4):" in saved["parser"]["carry"]
    # The restarted monitor completes the event it was holding, and only that one.
    again = Running(model, log, alerts=out, checkpoint=state, idle_flush=0.2)
    running.append(again)
    wait_for(lambda: len(alert_lines(out)) == 4, what="the held event")
    stats = again.stop()
    assert sorted(row["event_id"] for row in alert_lines(out)) == sorted(event_ids(range(1, 5)))
    assert stats.alerts == 1


def test_alerts_written_after_the_checkpoint_are_not_written_again(
    tmp_path: Path, model: BaselineDetector
) -> None:
    """What kill -9 between an alert and the next checkpoint leaves, replayed in-process."""
    log, out, state = tmp_path / "audit.log", tmp_path / "alerts.jsonl", tmp_path / "state"
    log.write_bytes(audit_lines(range(1, 11)))
    Monitor(model, log, alerts=out, checkpoint=state, start="beginning", report=print)._open()
    checkpoint = state.read_bytes()  # taken before any event was read
    (tmp_path / "state.lock").unlink()  # the abandoned monitor's lock (its process "died")
    first = Running(model, log, alerts=out, checkpoint=state)
    wait_for(lambda: len(alert_lines(out)) == 10, what="ten alerts")
    first.stop()
    state.write_bytes(checkpoint)  # as if killed right after writing the alerts
    with out.open("ab") as fh:
        fh.write(b'{"event_id": "half-writ')  # and in the middle of one more line
    second = Running(model, log, alerts=out, checkpoint=state)
    wait_for(lambda: second.monitor.stats.replayed == 10, what="the replay")
    stats = second.stop()
    assert stats.alerts == 0
    assert out.read_bytes().endswith(b"}\n")
    assert sorted(row["event_id"] for row in alert_lines(out)) == sorted(event_ids(range(1, 11)))
    assert any("half-written" in n for n in second.notes)


def test_checkpoint_errors(tmp_path: Path, model: BaselineDetector) -> None:
    log, state = tmp_path / "audit.log", tmp_path / "state"
    log.write_bytes(b"")
    lock = StateLock(state)
    with pytest.raises(CheckpointError, match="another behavemodel monitor"):
        Monitor(model, log, checkpoint=state, report=print).run()
    lock.release()
    state.write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        Monitor(model, log, checkpoint=state, report=print).run()
    state.unlink()
    monitor = Monitor(model, log, checkpoint=state, report=print)
    monitor.stop()
    monitor.run()
    with pytest.raises(CheckpointError, match="was written while following"):
        Monitor(model, tmp_path / "other.log", checkpoint=state, report=print).run()
    with pytest.raises(CheckpointError, match="needs a file to follow"):
        Monitor(model, "-", checkpoint=state, report=print).run()


def test_failing_hooks_are_reported_and_monitoring_goes_on(
    tmp_path: Path, model: BaselineDetector, running: list[Running]
) -> None:
    log, out = tmp_path / "audit.log", tmp_path / "alerts.jsonl"
    log.write_bytes(audit_lines(range(1, 4)))
    hook = [sys.executable, "-c", "import sys; sys.stderr.write('pager down'); sys.exit(3)"]
    r = Running(model, log, alerts=out, on_alert=hook)
    running.append(r)
    wait_for(lambda: len(alert_lines(out)) == 3, what="three alerts")
    wait_for(lambda: sum("exited with status 3" in n for n in r.notes) == 3, what="reports")
    with log.open("ab") as fh:
        fh.write(audit_lines(range(4, 6)))
    wait_for(lambda: len(alert_lines(out)) == 5, what="monitoring to go on")
    stats = r.stop()
    assert (stats.hook_runs, stats.hook_failures) == (5, 5)
    assert any("pager down" in n for n in r.notes)


def test_a_hook_that_hangs_is_killed(
    tmp_path: Path, model: BaselineDetector, running: list[Running]
) -> None:
    log, out = tmp_path / "audit.log", tmp_path / "alerts.jsonl"
    log.write_bytes(audit_lines([1]))
    hook = [sys.executable, "-c", "import time; time.sleep(60)"]
    r = Running(model, log, alerts=out, on_alert=hook, hook_timeout=0.5)
    running.append(r)
    wait_for(lambda: any("was killed" in n for n in r.notes), what="the timeout")
    stats = r.stop()
    assert stats.hook_failures == 1 and stats.alerts == 1


def test_a_missing_hook_program_fails_at_start(tmp_path: Path, model: BaselineDetector) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="not found"):
        Monitor(model, log, on_alert="no-such-program-here --x", report=print).run()


def test_the_hook_gets_hostile_text_only_as_json_on_stdin(
    tmp_path: Path, model: BaselineDetector, running: list[Running], monkeypatch: Any
) -> None:
    log, out, seen = tmp_path / "audit.log", tmp_path / "alerts.jsonl", tmp_path / "seen"
    seen.mkdir()
    script = tmp_path / "hook.py"
    script.write_text(
        "import json, os, sys\n"
        "out = sys.argv[1]\n"
        "n = len(os.listdir(out))\n"
        "data = sys.stdin.buffer.read()\n"
        "json.dump({'argv': sys.argv, 'stdin': data.decode('latin-1'),\n"
        "           'secret': os.environ.get('BM_TEST_KEY')}, open(f'{out}/{n}.json', 'w'))\n"
    )
    monkeypatch.setenv("BM_TEST_KEY", "signing key")
    table, _ = event_rows([3])
    extras = pa.table({"_argv": ["\x00".join(HOSTILE_ARGV)]})
    log.write_bytes(render_auditd(table, extras=extras))  # type: ignore[arg-type]
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} {shlex.quote(str(seen))}"
    r = Running(model, log, alerts=out, on_alert=command, hide_env=["BM_TEST_KEY"])
    running.append(r)
    wait_for(lambda: len(list(seen.iterdir())) == 1, what="the hook run")
    r.stop()
    record = json.loads((seen / "0.json").read_text())
    assert record["argv"] == [str(script), str(seen)]  # exactly the operator's arguments
    assert record["secret"] is None
    stdin = record["stdin"]
    assert stdin.endswith("\n") and stdin.count("\n") == 1 and stdin.isascii()
    alert = json.loads(stdin)
    assert shlex.split(alert["process_cmdline"]) == HOSTILE_ARGV
    assert not (tmp_path / "PWNED").exists() and not (seen / "PWNED").exists()
    assert not list(Path.cwd().glob("PWNED*"))


def learning_model() -> BaselineDetector:
    """ProcessOwners converged for web-1, NetworkProcesses still learning."""
    rows = []
    start = pd.Timestamp(T0 - 3 * 86_400, unit="s", tz="UTC")
    for hour in range(48):
        rows.append({"event_type": "process_start", "process_exe": "/usr/sbin/cron",
                     "user_name": "root", "time": start + pd.Timedelta(hours=hour)})  # fmt: skip
    for i in range(3):
        rows.append({"event_type": "net_connect", "process_exe": f"/usr/bin/tool{i}",
                     "net_direction": "outbound", "success": True,
                     "time": start + pd.Timedelta(hours=i)})  # fmt: skip
    frame = pd.DataFrame(rows).assign(
        host_name=HOST, event_id=[f"t{i}" for i in range(len(rows))], source_format="canonical"
    )
    model = BaselineDetector(features=["ProcessOwners", "NetworkProcesses"], min_span="1D")
    model.fit(schema.conform(frame, fill_missing=True))
    state = model.convergence_report().set_index("feature")["state"]
    assert state.to_dict() == {"ProcessOwners": "monitoring", "NetworkProcesses": "learning"}
    return model


def test_learn_updates_only_pairs_still_learning(tmp_path: Path, running: list[Running]) -> None:
    log, out, path = tmp_path / "audit.log", tmp_path / "alerts.jsonl", tmp_path / "model.bmz"
    save(learning_model(), path)
    log.write_bytes(audit_lines(range(1, 7)))  # execs 3, 6; connects 1, 2, 4, 5
    model = load(path)
    r = Running(model, log, alerts=out, learn=True, model_path=path, save_interval=0.2)
    running.append(r)
    wait_for(lambda: r.monitor.stats.events == 6, what="six events")
    stats = r.stop()
    # Only the converged pair alerts: the two execs.
    assert {row["event_id"] for row in alert_lines(out)} == event_ids([3, 6])
    assert stats.model_saves >= 1
    learned = load(path).baseline_
    keys = set(zip(learned["feature"], learned["key"], strict=True))
    assert ("NetworkProcesses", "exe=/opt/t/bin-4, direction=outbound") in keys
    assert not any(k.startswith("exe=/opt/t/") for f, k in keys if f == "ProcessOwners")
