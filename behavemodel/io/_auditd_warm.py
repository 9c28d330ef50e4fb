"""Imported by the parallel reader's fork server: compile the scanner once, up front.

Worker processes are forked from the server, so they start with the parser's
modules imported and the numba kernels loaded instead of paying for both on
every call.
"""

from __future__ import annotations

import io

from behavemodel.io._auditd import _count_lines, _line_ends, iter_auditd
from behavemodel.io._auditd_parallel import _line_times

_SAMPLE = (
    b"node=h type=SYSCALL msg=audit(1.000:1): arch=c000003e syscall=59 success=yes exit=0 "
    b"a0=1 a1=2 a2=3 a3=4 items=1 ppid=1 pid=2 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 "
    b'egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm="x" exe="/x" key=(null)\n'
    b'node=h type=EXECVE msg=audit(1.000:1): argc=1 a0="x"\n'
    b"node=h type=SOCKADDR msg=audit(1.000:1): saddr=0200005000000000\n"
    b'node=h type=PATH msg=audit(1.000:1): item=0 name="/x" nametype=NORMAL\n'
    b'node=h type=PROCTITLE msg=audit(1.000:1): proctitle="x"\n'
    b'node=h type=CWD msg=audit(1.000:1): cwd="/"\n'
    b"node=h type=SYSCALL msg=audit(1.000:3): arch=c000003e syscall=2 success=yes exit=3 "
    b"a0=1 a1=241 a2=1b6 a3=0 items=1 ppid=1 pid=2 auid=0 uid=0 tty=(none) ses=1 "
    b'comm="x" exe="/x" key=(null)\n'
    b'node=h type=PATH msg=audit(1.000:3): item=0 name="/y" nametype=CREATE\n'
    b'node=h type=PROCTITLE msg=audit(1.000:3): proctitle="x"\n'
    b"node=h type=USER_ACCT msg=audit(1.000:2): pid=1 uid=0 auid=0 ses=1 msg='op=x "
    b'acct="root" exe="/x" hostname=? addr=? terminal=cron res=success\'\n'
)

for _batch in iter_auditd(io.BytesIO(_SAMPLE)):
    pass
_line_times(_SAMPLE, _SAMPLE.count(b"\n") + 1)  # the head split of a range
_count_lines(_SAMPLE * 1000)  # blocks are counted compiled above a size
_line_ends(_SAMPLE * 1000, 0)  # and their lines found compiled
