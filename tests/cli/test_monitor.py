"""Tests for behavemodel/cli/_monitor.py.

Options and errors run in-process (CliRunner). Crash safety and rotation run the
real command as a subprocess, write the log while it runs, ``kill -9`` it at a
random moment and restart it: the alerted event ids must be exactly the events
written, each once. The model alerts on every event (see tests/monitor/logs.py),
which is what makes "seen once" countable.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from click.testing import CliRunner, Result

from behavemodel.artifacts import save


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
Popen = subprocess.Popen[bytes]
COMMAND = [sys.executable, "-c", "from behavemodel.cli import main; main()", "monitor"]
KEY_VAR = "BEHAVEMODEL_TEST_MONITOR_KEY"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "alert-all.bmz"
    save(logs.alert_model(), path)
    return path


def run(*args: Any, env: dict[str, str] | None = None, input: bytes | None = None) -> Result:
    from behavemodel.cli import main

    return CliRunner().invoke(main, ["monitor", *map(str, args)], env=env, input=input)


def wait_for_count(
    count: Callable[[], int], n: int, what: str, proc: Popen | None = None, stall: float = 15.0
) -> None:
    """Wait until ``count() >= n``; fail once it has not grown for ``stall`` seconds."""
    last, since = -1, time.monotonic()
    while True:
        now = count()
        if now >= n:
            return
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > stall:
            errors = "" if proc is None else f"; monitor stderr: {stderr_of(proc)}"
            raise AssertionError(f"stuck at {now} of {n} {what} for {stall} s{errors}")
        time.sleep(0.05)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def alerted(path: Path) -> list[str]:
    """Event ids of the complete alert lines in a JSON lines file."""
    if not path.exists():
        return []
    data = path.read_bytes()
    return [json.loads(line)["event_id"] for line in data[: data.rfind(b"\n") + 1].splitlines()]


def wait_started(proc: Popen, state: Path, generation_at_least: int, what: str) -> None:
    """Wait for the monitor's startup checkpoint; fail with its stderr if it exits."""
    deadline = time.monotonic() + 120  # a cold numba cache can take a while to load
    while generation(state) < generation_at_least:
        if proc.poll() is not None:
            raise AssertionError(
                f"the monitor exited with {proc.returncode} ({what}): {stderr_of(proc)}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"the monitor did not start in 120 s ({what})")
        time.sleep(0.05)


def generation(state: Path) -> int:
    try:
        return int(json.loads(state.read_bytes())["generation"])
    except (OSError, ValueError, KeyError):
        return 0


class Writer(threading.Thread):
    """Append ``data`` to ``path`` in random pieces (lines cut anywhere) at a steady pace."""

    def __init__(self, path: Path, data: bytes, seconds: float, rng: random.Random) -> None:
        super().__init__(daemon=True)
        self.path, self.data, self.seconds, self.rng = path, data, seconds, rng

    def run(self) -> None:
        pieces = []
        pos = 0
        while pos < len(self.data):
            size = self.rng.randint(1, 6000)
            pieces.append(self.data[pos : pos + size])
            pos += size
        pause = self.seconds / max(len(pieces), 1)
        for piece in pieces:
            with self.path.open("ab") as fh:
                fh.write(piece)
            time.sleep(pause)


_STDERR: dict[int, IO[bytes]] = {}


def start(args: list[Any], stdout: int | IO[bytes] = subprocess.DEVNULL) -> Popen:
    """The monitor as a subprocess; its stderr goes to a file (a pipe could fill up)."""
    errors = tempfile.TemporaryFile()
    proc = subprocess.Popen([*COMMAND, *map(str, args)], stdout=stdout, stderr=errors, cwd="/")
    _STDERR[proc.pid] = errors
    return proc


def stderr_of(proc: Popen) -> str:
    errors = _STDERR[proc.pid]
    errors.seek(0)
    return errors.read().decode(errors="replace")


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
        _STDERR.pop(proc.pid).close()


# -- crash safety (subprocess) ---------------------------------------------------------
def test_kill_9_and_restart_neither_lose_nor_repeat_an_event(
    tmp_path: Path, model_file: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    log, out, state = tmp_path / "audit.log", tmp_path / "alerts.jsonl", tmp_path / "state.json"
    log.write_bytes(b"")
    n = 2400
    # One event in five has no PROCTITLE: it stays open in the parser (and in checkpoints)
    # until two seconds of event time have passed.
    data = logs.audit_lines(range(1, n + 1), without_proctitle=lambda s: s % 5 == 0)
    args = ["--model", model_file, "--follow", log, "--checkpoint", state, "--alerts", out,
            "--start", "beginning", "--poll", 0.1, "--checkpoint-interval", 0.3]  # fmt: skip
    writer = Writer(log, data, seconds=12.0, rng=rng)
    writer.start()
    for _ in range(2):
        started = generation(state) + 1
        proc = start(args)
        processes.append(proc)
        wait_started(proc, state, started, f"seed {seed}")
        time.sleep(rng.uniform(0.0, 1.5))
        proc.kill()  # SIGKILL: no chance to write anything
        proc.wait(10)
    proc = start(args)
    processes.append(proc)
    writer.join(60)
    wait_for_count(lambda: len(set(alerted(out))), n, f"events (seed {seed})", proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    ids = alerted(out)
    expected = logs.event_ids(range(1, n + 1))
    assert set(ids) == expected, f"lost {len(expected - set(ids))} events (seed {seed})"
    repeats = len(ids) - len(set(ids))
    assert repeats == 0, f"{repeats} events alerted twice (seed {seed})"


def test_kill_9_with_alerts_on_stdout(
    tmp_path: Path, model_file: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    log, state = tmp_path / "audit.log", tmp_path / "state.json"
    log.write_bytes(b"")
    n = 900
    data = logs.audit_lines(range(1, n + 1), without_proctitle=lambda s: s % 7 == 0)
    args = ["--model", model_file, "--follow", log, "--checkpoint", state,
            "--start", "beginning", "--poll", 0.1, "--checkpoint-interval", 0.3]  # fmt: skip
    lines: list[bytes] = []  # every line any of the processes wrote, as it is written

    def collect(proc: subprocess.Popen[bytes]) -> threading.Thread:
        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)

        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        return thread

    proc = start(args, stdout=subprocess.PIPE)
    processes.append(proc)
    reader = collect(proc)
    wait_started(proc, state, 1, f"seed {seed}")
    writer = Writer(log, data, seconds=5.0, rng=rng)
    writer.start()
    time.sleep(rng.uniform(0.3, 4.0))  # while lines are being written
    proc.kill()
    proc.wait(10)
    reader.join(10)
    proc = start(args, stdout=subprocess.PIPE)
    processes.append(proc)
    reader = collect(proc)
    writer.join(60)
    expected = logs.event_ids(range(1, n + 1))
    wait_for_count(
        lambda: len({json.loads(x)["event_id"] for x in lines}), n, f"events ({seed})", proc
    )
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    reader.join(10)
    ids = [json.loads(line)["event_id"] for line in lines]
    assert set(ids) == expected, f"lost {len(expected - set(ids))} events (seed {seed})"
    assert len(ids) == len(set(ids)), f"events alerted twice (seed {seed})"


def test_rotation_while_running_and_while_stopped(
    tmp_path: Path, model_file: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    log, out, state = tmp_path / "audit.log", tmp_path / "alerts.jsonl", tmp_path / "state.json"
    rotated = [tmp_path / f"audit.log.{i}" for i in range(4)]
    log.write_bytes(b"")
    args = ["--model", model_file, "--follow", log, "--checkpoint", state, "--alerts", out,
            "--start", "beginning", "--poll", 0.1, "--checkpoint-interval", 0.3]  # fmt: skip
    proc = start(args)
    processes.append(proc)
    wait_started(proc, state, 1, "rotation")

    def write(path: Path, serials: range) -> None:
        with path.open("ab") as fh:
            fh.write(logs.audit_lines(serials))

    def expect(upto: int) -> None:
        wait_for_count(lambda: len(set(alerted(out))), upto, "events", proc)

    write(log, range(1, 101))
    expect(100)
    # 1. auditd-style rename: unread lines stay in the renamed file; the writer keeps
    #    appending to it until it reopens.
    write(log, range(101, 151))
    log.rename(rotated[1])
    write(log, range(151, 201))
    write(rotated[1], range(201, 211))
    expect(210)
    # 2. logrotate copytruncate: copy, then truncate in place; the tail is read from the copy.
    write(log, range(211, 261))
    rotated[1].rename(rotated[2])
    shutil.copyfile(log, rotated[1])
    with log.open("r+b") as fh:
        fh.truncate(0)
    write(log, range(261, 301))
    expect(300)
    # 3. Killed, then rotated while stopped: the old file is finished first on restart.
    proc.kill()
    proc.wait(10)
    write(log, range(301, 351))
    log.rename(rotated[0])
    write(log, range(351, 401))
    proc = start(args)
    processes.append(proc)
    expect(400)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert "rotated while stopped" in stderr_of(proc)
    ids = alerted(out)
    assert set(ids) == logs.event_ids(range(1, 401))
    assert len(ids) == len(set(ids))


# -- in-process ---------------------------------------------------------------------------
def test_standard_input_to_the_end(model_file: Path) -> None:
    data = logs.audit_lines(range(1, 5)) + b"garbage line\n"
    result = run("--model", model_file, "--follow", "-", "--poll", 0.05, input=data)
    assert result.exit_code == 1, result.output
    ids = [json.loads(line)["event_id"] for line in result.stdout.splitlines()]
    assert sorted(ids) == sorted(logs.event_ids(range(1, 5)))
    assert "skipped malformed line <stdin>:" in result.stderr
    assert "stopped: lines" in result.stderr


def test_no_deviation_exits_0(tmp_path: Path) -> None:
    from behavemodel.io import read_auditd
    from behavemodel.models import BaselineDetector

    data = logs.audit_lines(range(1, 4))
    import io

    model = BaselineDetector(features=logs.FEATURES, min_span="0s", novelty_threshold=1.0)
    path = tmp_path / "knows-all.bmz"
    save(model.fit(read_auditd(io.BytesIO(data))), path)
    result = run("--model", path, "--follow", "-", "--poll", 0.05, input=data)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def test_usage_errors(tmp_path: Path, model_file: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b"")
    result = run("--model", model_file, "--follow", "-", "--checkpoint", tmp_path / "s")
    assert result.exit_code == 2 and "needs a file to follow" in result.stderr
    result = run("--model", model_file, "--follow", log, "--on-alert", "no-such-hook-program")
    assert result.exit_code == 2 and "not found" in result.stderr
    (tmp_path / "state").write_text("[]")
    result = run("--model", model_file, "--follow", log, "--checkpoint", tmp_path / "state")
    assert result.exit_code == 2 and "not a behavemodel monitor checkpoint" in result.stderr
    result = run("--model", model_file, "--follow", log, "--key-env", "not a name!")
    assert result.exit_code == 2 and "NAME of an environment variable" in result.stderr


def test_learn_keeps_a_signed_model_signed(tmp_path: Path) -> None:
    signed = tmp_path / "signed.bmz"
    save(logs.alert_model(), signed, key="k")
    data = logs.audit_lines([1])
    result = run("--model", signed, "--follow", "-", "--learn", input=data)
    assert result.exit_code == 2 and "give the key with --key-env" in result.stderr
    env = {KEY_VAR: "k"}
    result = run(
        "--model", signed, "--follow", "-", "--learn", "--key-env", KEY_VAR, "--poll", 0.05,
        input=data, env=env,
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    from behavemodel.artifacts import load_artifact

    assert load_artifact(signed, key="k", require_signature=True).signature == "verified"


def test_the_default_host_names_only_records_without_node(
    tmp_path: Path, model_file: Path
) -> None:
    data = logs.audit_lines([1]).replace(b"node=web-1 ", b"")
    result = run("--model", model_file, "--follow", "-", "--host", "given-name", input=data)
    alert = json.loads(result.stdout)
    assert alert["host_name"] == "given-name"
    assert alert["event_id"].startswith("given-name:")
    assert os.environ.get("BEHAVEMODEL_TEST_MONITOR_KEY") is None
