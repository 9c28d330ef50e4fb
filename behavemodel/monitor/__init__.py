"""Live monitoring: follow an audit log, alert within seconds, lose and repeat nothing.

- :class:`Monitor`: the loop behind ``behavemodel monitor`` — follow, parse,
  score with a fitted :class:`~behavemodel.models.BaselineDetector`, write one
  JSON line per alert, run a hook, checkpoint, keep learning pairs learning.
- :class:`FileFollower` / :class:`StreamFollower`: ``tail -F`` that survives
  rotation by rename and by copy-and-truncate, with exact resumable positions;
  standard input.
- :class:`AlertHook`: run an operator's command per alert, the alert on stdin.
- :class:`Learner`: ``--learn``, only for (group, feature) pairs still learning.
- :func:`read_checkpoint`, :func:`write_json_atomic`, :class:`CheckpointError`.
- :func:`alert_records`, :func:`to_json_line`: alerts as ASCII JSON lines.
"""

from behavemodel.monitor._checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    CheckpointError,
    StateLock,
    read_checkpoint,
    write_json_atomic,
)
from behavemodel.monitor._follow import Chunk, FileFollower
from behavemodel.monitor._hooks import AlertHook, HookStats
from behavemodel.monitor._learn import Learner
from behavemodel.monitor._monitor import Monitor, MonitorStats
from behavemodel.monitor._output import FileSink, StreamSink, alert_records, to_json_line
from behavemodel.monitor._stream import StreamFollower

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "AlertHook",
    "CheckpointError",
    "Chunk",
    "FileFollower",
    "FileSink",
    "HookStats",
    "Learner",
    "Monitor",
    "MonitorStats",
    "StateLock",
    "StreamFollower",
    "StreamSink",
    "alert_records",
    "read_checkpoint",
    "to_json_line",
    "write_json_atomic",
]
