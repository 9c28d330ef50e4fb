"""``--on-alert``: run an operator's command for every alert, the alert on its stdin.

The command line is the operator's, split once with :func:`shlex.split`; event
text never becomes an argument, an environment variable or shell input. No
shell is involved: the program is executed directly. Each run gets one alert as
one line of JSON on standard input, its standard output is discarded (it must
not mix with the alert stream), and its standard error is kept for the report
when it fails. Runs happen one at a time on a worker thread, so a slow hook
delays other hooks, never monitoring; a hook that fails, cannot start or
outlives its timeout (its whole process group is killed) is reported and
monitoring goes on. When more than ``max_pending`` alerts wait, new ones are
not passed to the hook (and counted as dropped).
"""

from __future__ import annotations

import contextlib
import os
import queue
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["AlertHook", "HookStats"]

Report = Callable[[str], None]
_STDERR_TAIL = 400


def _ignore(message: str) -> None:
    """Default report: say nothing."""


@dataclass
class HookStats:
    """What the hook did: runs, failures (non-zero exit, timeout, could not start), drops."""

    runs: int = 0
    failures: int = 0
    timeouts: int = 0
    dropped: int = 0


class AlertHook:
    """Run a command once per alert with the alert's JSON line on standard input.

    Parameters
    ----------
    command : str or sequence of str
        The command line, split with :func:`shlex.split` when a string. It is
        run directly (no shell); a program name without ``/`` is found on
        ``PATH`` when the hook starts.
    timeout : float, default 10.0
        Seconds a run may take before its process group is killed.
    max_pending : int, default 256
        Alerts waiting for the hook beyond which new alerts are dropped.
    env : mapping, optional
        The hook's environment; defaults to the monitor's minus ``hide_env``.
    hide_env : iterable of str
        Variables never passed on (the monitor passes its signing-key variable).
    report : callable, optional
        Called with one line of text for every failure.

    Examples
    --------
    >>> import sys, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "seen"
    >>> hook = AlertHook([sys.executable, "-c",
    ...                   "import sys; open(sys.argv[1], 'ab').write(sys.stdin.buffer.read())",
    ...                   str(out)])
    >>> hook.start()
    >>> hook.submit('{"reason": "$(rm -rf /)"}\\n')
    True
    >>> hook.close(wait=30)
    >>> out.read_text()
    '{"reason": "$(rm -rf /)"}\\n'
    >>> hook.stats
    HookStats(runs=1, failures=0, timeouts=0, dropped=0)
    """

    def __init__(
        self,
        command: str | Sequence[str],
        *,
        timeout: float = 10.0,
        max_pending: int = 256,
        env: Mapping[str, str] | None = None,
        hide_env: Iterable[str] = (),
        report: Report | None = None,
    ) -> None:
        argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
        if not argv:
            raise ValueError("The --on-alert command is empty; give a program to run.")
        if timeout <= 0:
            raise ValueError(f"The hook timeout must be a positive number. Got {timeout}.")
        self.argv = argv
        self.timeout = float(timeout)
        self.max_pending = int(max_pending)
        base = dict(os.environ if env is None else env)
        for name in hide_env:
            base.pop(name, None)
        self.env = base
        self.stats = HookStats()
        self._report = report or _ignore
        self._queue: queue.Queue[str | None] = queue.Queue(maxsize=max(self.max_pending, 1))
        self._thread: threading.Thread | None = None
        self._dropped_reported = 0.0

    def start(self) -> None:
        """Check the program exists and start the worker thread.

        Raises
        ------
        FileNotFoundError
            When the program is not found (a mistyped hook should fail at
            start, not at the first alert).
        """
        program = self.argv[0]
        if os.sep not in program and shutil.which(program, path=self.env.get("PATH")) is None:
            raise FileNotFoundError(f"--on-alert: program {program!r} not found on PATH.")
        if os.sep in program and not os.access(program, os.X_OK):
            raise FileNotFoundError(f"--on-alert: {program!r} is not an executable file.")
        self._thread = threading.Thread(target=self._work, name="behavemodel-hook", daemon=True)
        self._thread.start()

    def submit(self, line: str) -> bool:
        """Queue one alert (a JSON line); False when the queue is full and it was dropped."""
        try:
            self._queue.put_nowait(line)
            return True
        except queue.Full:
            self.stats.dropped += 1
            now = time.monotonic()
            if now - self._dropped_reported > 10:
                self._dropped_reported = now
                self._report(
                    f"--on-alert: {self.max_pending} alerts are waiting for the hook; "
                    f"{self.stats.dropped} alert(s) not passed to it so far"
                )
            return False

    def close(self, wait: float = 0.0) -> None:
        """Let queued runs finish for up to ``wait`` seconds, then stop the worker."""
        if self._thread is None:
            return
        deadline = time.monotonic() + wait
        while True:
            try:
                self._queue.put(None, timeout=max(deadline - time.monotonic(), 0.01))
                break
            except queue.Full:
                if time.monotonic() >= deadline:
                    break
        self._thread.join(timeout=max(deadline - time.monotonic(), 0.0) + self.timeout + 1)
        self._thread = None

    def _work(self) -> None:
        while True:
            line = self._queue.get()
            if line is None:
                return
            self._run(line)

    def _run(self, line: str) -> None:
        self.stats.runs += 1
        with tempfile.TemporaryFile() as errors:
            try:
                proc = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    env=self.env,
                    close_fds=True,
                    start_new_session=True,  # its own process group: killed as a whole
                    shell=False,
                )
            except OSError as exc:
                self.stats.failures += 1
                self._report(f"--on-alert: cannot run {self.argv[0]!r}: {exc.strerror or exc}")
                return
            try:
                proc.communicate(input=line.encode("ascii", "replace"), timeout=self.timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.kill()
                proc.communicate()
                self.stats.failures += 1
                self.stats.timeouts += 1
                self._report(
                    f"--on-alert: {self.argv[0]!r} ran longer than {self.timeout:g} s and was "
                    "killed"
                )
                return
            if proc.returncode != 0:
                self.stats.failures += 1
                errors.seek(0, os.SEEK_END)
                size = errors.tell()
                errors.seek(max(0, size - _STDERR_TAIL))
                tail = errors.read().decode("utf-8", "replace").strip()
                how = (
                    f"was killed by signal {-proc.returncode}"
                    if proc.returncode < 0
                    else f"exited with status {proc.returncode}"
                )
                self._report(f"--on-alert: {self.argv[0]!r} {how}" + (f": {tail}" if tail else ""))
