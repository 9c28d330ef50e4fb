"""Tests for behavemodel/io/_auditd.py and its block parser, on inline logs.

Every behaviour is checked with both parse engines (the compiled scanner and the
pure-Python one); they must give the same table.
"""

from __future__ import annotations

import gzip
import io
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from behavemodel import schema as s
from behavemodel.exceptions import ParseError
from behavemodel.io import AuditdParser, ParseReport, iter_auditd, read_auditd
from behavemodel.io._auditd_front import scanner_available

ENGINES = [
    pytest.param(
        "scan",
        marks=pytest.mark.skipif(
            not scanner_available(), reason="numba not installed: pip install 'behavemodel[fast]'"
        ),
    ),
    "regex",
]

GS = "\x1d"


def syscall(
    serial: int,
    *,
    t: str = "1700000000.100",
    sc: int = 59,
    pid: int = 200,
    ppid: int = 100,
    exe: str = '"/usr/bin/id"',
    comm: str = '"id"',
    uid: int = 0,
    auid: int = 1000,
    ses: int = 3,
    success: str = "yes",
    exit_code: int = 0,
    arch: str = "c000003e",
    a1: str = "0",
    a2: str = "0",
    key: str = "(null)",
    node: str | None = "web-1",
    enriched: str = "",
) -> str:
    head = f"node={node} " if node else ""
    return (
        f"{head}type=SYSCALL msg=audit({t}:{serial}): arch={arch} syscall={sc} "
        f"success={success} exit={exit_code} a0=3 a1={a1} a2={a2} a3=0 items=1 ppid={ppid} "
        f"pid={pid} auid={auid} uid={uid} gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 "
        f"tty=pts0 ses={ses} comm={comm} exe={exe} key={key}{enriched}"
    )


def record(
    kind: str, serial: int, body: str, *, t: str = "1700000000.100", node: str = "web-1"
) -> str:
    return f"node={node} type={kind} msg=audit({t}:{serial}): {body}"


def log(*lines: str) -> io.BytesIO:
    return io.BytesIO(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))


def read(data: io.BytesIO | bytes, engine: str, **kwargs: object) -> pd.DataFrame:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    result = read_auditd(source, engine=engine, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, pd.DataFrame)
    return result


def hexed(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return raw.hex().upper()


@pytest.mark.parametrize("engine", ENGINES)
class TestGrouping:
    def test_interleaved_and_out_of_order_records_form_one_event_each(self, engine: str) -> None:
        data = log(
            record("CWD", 2, 'cwd="/srv"'),
            syscall(1, exe='"/usr/bin/ls"', comm='"ls"'),
            syscall(2, exe='"/usr/bin/id"'),
            record("EXECVE", 1, 'argc=2 a0="ls" a1="-l"'),
            record("EXECVE", 2, 'argc=1 a0="id"'),
            record("CWD", 1, 'cwd="/tmp"'),
        )
        events = read(data, engine)
        assert events["event_id"].tolist() == [
            "web-1:1700000000.100:2",
            "web-1:1700000000.100:1",
        ]
        assert events["process_cmdline"].tolist() == ["id", "ls -l"]
        assert events["cwd"].tolist() == ["/srv", "/tmp"]

    def test_events_never_wait_for_eoe(self, engine: str) -> None:
        events = read(log(syscall(1)), engine)
        assert len(events) == 1

    def test_syslog_and_dmesg_prefixes_are_understood(self, engine: str) -> None:
        data = log(
            "Nov 27 10:00:00 web-1 audispd: " + syscall(1),
            "Nov 27 10:00:00 web-1 audispd: " + record("EXECVE", 1, 'argc=2 a0="id" a1="-u"'),
            "[  12.5] audit: type=1300 audit(1700000000.200:2): " + syscall(2).split("): ", 1)[1],
        )
        events = read(data, engine)
        assert events["process_cmdline"].tolist() == ["id -u", "id"]
        assert events["host_name"].tolist()[0] == "web-1"
        assert events["syscall"].tolist() == ["execve", "execve"]

    def test_same_serial_on_two_nodes_are_two_events(self, engine: str) -> None:
        data = log(syscall(1, node="a"), syscall(1, node="b"))
        events = read(data, engine)
        assert events["host_name"].tolist() == ["a", "b"]

    def test_record_type_of_standalone_user_record(self, engine: str) -> None:
        data = log(
            record(
                "USER_LOGIN",
                5,
                'pid=9 uid=0 auid=1000 ses=7 msg=\'op=login id=1000 exe="/usr/sbin/sshd" '
                "hostname=10.0.0.9 addr=10.0.0.9 terminal=/dev/pts/1 res=success'"
                f'{GS}UID="root" AUID="alice" ID="alice"',
            )
        )
        row = read(data, engine).iloc[0]
        assert row["event_type"] == "login"
        assert row["record_type"] == "USER_LOGIN"
        assert (row["user_uid"], row["user_name"]) == (1000, "alice")
        assert (row["login_uid"], row["session_id"], row["tty"]) == (1000, 7, "pts1")
        assert row["src_ip"] == "10.0.0.9"
        assert row["process_exe"] == "/usr/sbin/sshd"
        assert bool(row["success"]) is True

    def test_streaming_in_tiny_blocks_equals_one_pass(self, engine: str) -> None:
        lines = []
        for serial in range(1, 60):
            t = f"1700000{serial:03d}.250"
            lines += [
                syscall(serial, t=t, pid=1000 + serial, ppid=1000 + serial - 1),
                record("EXECVE", serial, f'argc=2 a0="x{serial}" a1="-v"', t=t),
                record("CWD", serial, 'cwd="/"', t=t),
            ]
        data = ("\n".join(lines) + "\n").encode()
        whole = pa.Table.from_batches(list(iter_auditd(io.BytesIO(data), engine=engine)))
        small = pa.Table.from_batches(
            list(iter_auditd(io.BytesIO(data), engine=engine, chunk_bytes=700))
        )
        assert small.equals(whole)
        assert whole.num_rows == 59
        # the parent of each exec is the previous one (history across blocks)
        assert small.column("parent_exe").null_count == 1


@pytest.mark.parametrize("engine", ENGINES)
class TestValues:
    def test_hex_decoded_only_for_encoded_unquoted_fields(self, engine: str) -> None:
        exe = "/tmp/my prog"
        data = log(
            syscall(1, exe=hexed(exe), comm=hexed("my prog"), key=hexed("k1")),
            record("CWD", 1, "cwd=" + hexed("/tmp/a b")),
            record("EXECVE", 1, 'argc=2 a0="414243" a1=' + hexed("x y")),
        )
        row = read(data, engine).iloc[0]
        assert row["process_exe"] == exe
        assert row["process_name"] == "my prog"
        assert row["cwd"] == "/tmp/a b"
        assert row["audit_key"] == "k1"
        # a quoted value that looks like hex stays as written
        assert shlex.split(row["process_cmdline"]) == ["414243", "x y"]

    def test_invalid_utf8_is_kept_as_escapes_not_replacement_chars(self, engine: str) -> None:
        raw = b"/tmp/\xff\xfeevil"
        data = log(syscall(1, exe=hexed(raw)), record("EXECVE", 1, "argc=1 a0=" + hexed(raw)))
        row = read(data, engine).iloc[0]
        assert "\ufffd" not in row["process_exe"]
        assert row["process_exe"] == "/tmp/\\xff\\xfeevil"
        assert "\ufffd" not in row["process_cmdline"]

    def test_split_arguments_across_several_execve_records(self, engine: str) -> None:
        long_arg = "A" * 30 + " " + "B" * 30
        enc = hexed(long_arg)
        data = log(
            syscall(1, exe='"/bin/bash"', comm='"bash"'),
            record(
                "EXECVE", 1, f'argc=4 a0="bash" a1="-c" a2_len={len(long_arg)} a2[0]={enc[:40]}'
            ),
            record("EXECVE", 1, f'a2[1]={enc[40:]} a3="it\'s"'),
            record("PROCTITLE", 1, "proctitle=" + hexed("bash\x00-c\x00AAA")),
        )
        row = read(data, engine).iloc[0]
        assert shlex.split(row["process_cmdline"]) == ["bash", "-c", long_arg, "it's"]
        assert row["cmdline_source"] == "execve"

    def test_forged_argc_cannot_inflate_the_command_line(self, engine: str) -> None:
        data = log(syscall(1), record("EXECVE", 1, 'argc=999999999 a0="id" a999999="x"'))
        row = read(data, engine).iloc[0]
        assert row["process_cmdline"] == "id x"

    def test_cmdline_falls_back_to_proctitle_then_comm(self, engine: str) -> None:
        data = log(
            syscall(1, sc=42),
            record("PROCTITLE", 1, "proctitle=" + hexed("python3\x00-m\x00http.server")),
            syscall(2, sc=42, comm='"nc"'),
        )
        events = read(data, engine)
        assert events["process_cmdline"].tolist() == ["python3 -m http.server", "nc"]
        assert events["cmdline_source"].tolist() == ["proctitle", "comm"]

    def test_enriched_names_with_and_without_the_gs_byte(self, engine: str) -> None:
        tail = ' ARCH=x86_64 SYSCALL=execve AUID="alice" UID="root" GID="root"'
        data = log(syscall(1, enriched=GS + tail.lstrip()), syscall(2, enriched=tail))
        events = read(data, engine)
        assert events["user_name"].tolist() == ["root", "root"]
        assert events["login_name"].tolist() == ["alice", "alice"]

    def test_gs_byte_is_not_a_line_break(self, engine: str) -> None:
        data = log(syscall(1, enriched=f'{GS}ARCH=x86_64 SYSCALL=execve AUID="a" UID="b"'))
        report = ParseReport()
        events = read(data, engine, report=report)
        assert len(events) == 1
        assert report.lines_read == 1

    def test_names_only_from_the_log_or_the_callers_map(self, engine: str) -> None:
        data = log(syscall(1, uid=0, auid=1000))
        row = read(data, engine).iloc[0]
        # uid 0 is root on every machine, but the log did not say so
        assert row["user_name"] is None or pd.isna(row["user_name"])
        mapped = read(log(syscall(1, uid=0, auid=1000)), engine, users={0: "root", 1000: "al"})
        assert (mapped["user_name"][0], mapped["login_name"][0]) == ("root", "al")

    def test_unset_auid_and_ses_are_null(self, engine: str) -> None:
        row = read(log(syscall(1, auid=4294967295, ses=4294967295)), engine).iloc[0]
        assert pd.isna(row["login_uid"]) and pd.isna(row["session_id"])

    def test_quotes_and_equals_inside_values_cannot_forge_fields(self, engine: str) -> None:
        evil = '/tmp/x" uid=0 exe="/bin/ok'
        data = log(syscall(1, exe=hexed(evil), uid=33))
        row = read(data, engine).iloc[0]
        assert row["process_exe"] == evil
        assert row["user_uid"] == 33


@pytest.mark.parametrize("engine", ENGINES)
class TestNetwork:
    def sock(self, engine: str, sc: int, saddr: str, **kw: object) -> pd.Series:
        data = log(syscall(1, sc=sc, **kw), record("SOCKADDR", 1, f"saddr={saddr}"))  # type: ignore[arg-type]
        return read(data, engine).iloc[0]

    def test_connect_is_outbound_to_destination(self, engine: str) -> None:
        row = self.sock(engine, 42, "020001BB0A0000050000000000000000")
        assert row["event_type"] == "net_connect"
        assert (row["net_direction"], row["net_family"]) == ("outbound", "inet")
        assert (row["dst_ip"], row["dst_port"]) == ("10.0.0.5", 443)
        assert pd.isna(row["src_ip"])

    def test_accept_is_inbound_from_the_peer(self, engine: str) -> None:
        row = self.sock(
            engine, 288, "0A00D43100000000" + "20010DB8" + "0" * 22 + "15" + "00000000"
        )
        assert row["event_type"] == "net_accept"
        assert (row["net_direction"], row["src_ip"], row["src_port"]) == (
            "inbound",
            "2001:db8::15",
            54321,
        )

    def test_bind_is_listen_on_local_address(self, engine: str) -> None:
        row = self.sock(engine, 49, "02001F90000000000000000000000000")
        assert (row["event_type"], row["net_direction"]) == ("net_listen", "listen")
        assert (row["dst_ip"], row["dst_port"]) == ("0.0.0.0", 8080)

    def test_failed_connect_keeps_its_exit_code(self, engine: str) -> None:
        row = self.sock(engine, 42, "0200005000000000", success="no", exit_code=-115)
        assert (bool(row["success"]), row["exit_code"]) == (False, -115)

    def test_unix_paths_and_abstract_names_stay_distinct(self, engine: str) -> None:
        path = self.sock(engine, 42, "0100" + hexed("/run/app.sock") + "00")
        abstract = self.sock(engine, 42, "010000" + hexed("/run/app.sock"))
        assert (path["net_family"], path["dst_ip"]) == ("unix", "/run/app.sock")
        assert abstract["dst_ip"] == "@/run/app.sock"

    def test_netlink_port_id_and_unknown_family_raw_hex(self, engine: str) -> None:
        netlink = self.sock(engine, 42, "10000000D2040000" + "00000000")
        unknown = self.sock(engine, 42, "2A00DEADBEEF")
        assert (netlink["net_family"], netlink["dst_port"]) == ("netlink", 1234)
        assert (unknown["net_family"], unknown["dst_ip"]) == ("other", "2A00DEADBEEF")

    def test_big_endian_arch_reads_the_family_in_its_byte_order(self, engine: str) -> None:
        # s390x connect is 362; family 2 is stored big-endian there
        row = self.sock(engine, 362, "000201BB0A0000050000000000000000", arch="80000016")
        assert row["syscall"] == "connect"
        assert (row["dst_ip"], row["dst_port"]) == ("10.0.0.5", 443)


@pytest.mark.parametrize("engine", ENGINES)
class TestSyscalls:
    @pytest.mark.parametrize(
        ("arch", "number", "name", "event_type"),
        [
            ("c000003e", 59, "execve", "process_start"),
            ("c00000b7", 221, "execve", "process_start"),
            ("c00000b7", 203, "connect", "net_connect"),
            ("40000003", 11, "execve", "process_start"),
            ("40000028", 283, "connect", "net_connect"),
            ("80000015", 11, "execve", "process_start"),
            ("c0000015", 11, "execve", "process_start"),
            ("80000016", 11, "execve", "process_start"),
            ("c00000f3", 221, "execve", "process_start"),
            ("c000003e", 99999, "99999", "other"),
            ("deadbeef", 59, "59", "other"),
        ],
    )
    def test_numbers_resolve_with_the_events_arch(
        self, engine: str, arch: str, number: int, name: str, event_type: str
    ) -> None:
        row = read(log(syscall(1, arch=arch, sc=number)), engine).iloc[0]
        assert (row["syscall"], row["event_type"]) == (name, event_type)

    def test_i386_socketcall_is_classified_by_its_call(self, engine: str) -> None:
        line = syscall(1, arch="40000003", sc=102).replace("a0=3", "a0=3 ", 1)
        row = read(log(line.replace("a0=3 ", "a0=3")), engine).iloc[0]
        assert (row["syscall"], row["event_type"]) == ("socketcall", "net_connect")

    @pytest.mark.parametrize(
        ("sc", "a1", "a2", "expected"),
        [
            (257, "0", "241", "file_write"),  # openat O_WRONLY|O_CREAT|O_TRUNC
            (257, "0", "0", "other"),  # openat read-only
            (2, "441", "0", "file_write"),  # open O_WRONLY|O_CREAT|O_APPEND
            (87, "0", "0", "file_write"),  # unlink
            (90, "0", "0", "file_write"),  # chmod
            (82, "0", "0", "file_write"),  # rename
        ],
    )
    def test_file_writes_and_their_path(
        self, engine: str, sc: int, a1: str, a2: str, expected: str
    ) -> None:
        data = log(
            syscall(1, sc=sc, a1=a1, a2=a2),
            record("CWD", 1, 'cwd="/srv/app"'),
            record("PATH", 1, 'item=0 name="/srv/app/" inode=1 nametype=PARENT'),
            record("PATH", 1, 'item=1 name="conf/app.yml" inode=2 nametype=NORMAL'),
        )
        row = read(data, engine).iloc[0]
        assert row["event_type"] == expected
        if expected == "file_write":
            assert row["file_path"] == "/srv/app/conf/app.yml"
        else:
            assert pd.isna(row["file_path"])

    def test_rename_reports_the_new_name(self, engine: str) -> None:
        data = log(
            syscall(1, sc=82),
            record("PATH", 1, 'item=0 name="/tmp/" nametype=PARENT'),
            record("PATH", 1, 'item=1 name="/etc/" nametype=PARENT'),
            record("PATH", 1, 'item=2 name="/tmp/x" nametype=DELETE'),
            record("PATH", 1, 'item=3 name="/etc/cron.d/x" nametype=CREATE'),
        )
        assert read(data, engine)["file_path"][0] == "/etc/cron.d/x"


@pytest.mark.parametrize("engine", ENGINES)
class TestProcessHistory:
    def test_parent_exe_from_the_logs_own_history(self, engine: str) -> None:
        data = log(
            syscall(1, pid=100, ppid=1, exe='"/usr/sbin/nagios"', comm='"nagios"'),
            syscall(2, pid=200, ppid=100, exe='"/usr/lib/cgi-bin/summary.cgi"', comm='"cgi"'),
            syscall(3, pid=300, ppid=200, exe='"/bin/bash"', comm='"bash"'),
        )
        events = read(data, engine)
        assert events["parent_exe"].tolist()[1:] == [
            "/usr/sbin/nagios",
            "/usr/lib/cgi-bin/summary.cgi",
        ]
        assert events["parent_name"].tolist()[2] == "cgi"
        assert pd.isna(events["parent_exe"][0])  # pid 1 never appeared

    def test_pid_reuse_takes_the_most_recent_holder(self, engine: str) -> None:
        data = log(
            syscall(1, pid=500, ppid=1, exe='"/usr/sbin/old"'),
            syscall(2, pid=600, ppid=500, exe='"/bin/a"'),
            syscall(3, pid=500, ppid=1, exe='"/usr/sbin/new"'),
            syscall(4, pid=700, ppid=500, exe='"/bin/b"'),
        )
        assert read(data, engine)["parent_exe"].tolist()[1::2] == [
            "/usr/sbin/old",
            "/usr/sbin/new",
        ]


@pytest.mark.parametrize("engine", ENGINES)
class TestErrors:
    def test_raise_names_file_and_line(self, engine: str, tmp_path: Path) -> None:
        path = tmp_path / "audit.log"
        path.write_text(syscall(1) + "\nthis is not audit\n")
        with pytest.raises(ParseError) as info:
            read_auditd(path, engine=engine)
        assert (info.value.file, info.value.line) == (str(path), 2)
        assert str(info.value).startswith(f"{path}:2: no audit record header")

    def test_skip_and_collect_account_for_every_line(self, engine: str) -> None:
        data = log(
            "# a comment", "", syscall(1), "garbage", "type=SYSCALL msg=audit(x):", syscall(2)
        )
        report = ParseReport()
        events, errors = read_auditd(data, on_error="collect", engine=engine, report=report)
        assert len(events) == 2
        assert errors["line"].tolist() == [4, 5]
        assert (report.comment_lines, report.blank_lines, report.records) == (1, 1, 2)
        assert report.lines_read == report.lines_used + report.lines_reported == 6
        skipped = ParseReport()
        read_auditd(log("x", syscall(1)), on_error="skip", engine=engine, report=skipped)
        assert (skipped.lines_reported, skipped.errors) == (1, [])

    def test_timestamp_out_of_range_is_reported(self, engine: str) -> None:
        line = syscall(1, t="99999999999999.000")
        events, errors = read_auditd(log(line), on_error="collect", engine=engine)
        assert len(events) == 0
        assert errors["reason"].tolist() == ["timestamp out of range"]

    def test_bad_parameters_say_what_is_allowed(self, engine: str) -> None:
        with pytest.raises(ValueError, match="'on_error' parameter must be one of"):
            read_auditd(log(syscall(1)), on_error="ignore", engine=engine)  # type: ignore[arg-type]


class TestSources:
    def test_rotated_files_are_read_oldest_first_as_one_stream(self, tmp_path: Path) -> None:
        (tmp_path / "audit.log.2").write_text(syscall(1, pid=10, exe='"/sbin/init"') + "\n")
        with gzip.open(tmp_path / "audit.log.1", "wt") as fh:  # rotated and compressed
            fh.write(syscall(2, pid=20, ppid=10) + "\n")
        (tmp_path / "audit.log").write_text(syscall(3, pid=30, ppid=20) + "\n")
        events = read_auditd(tmp_path)
        assert isinstance(events, pd.DataFrame)
        assert [e.rsplit(":", 1)[1] for e in events["event_id"]] == ["1", "2", "3"]
        assert events["parent_exe"].tolist()[1] == "/sbin/init"

    def test_list_of_paths_and_binary_file_objects(self, tmp_path: Path) -> None:
        path = tmp_path / "a.log"
        path.write_text(syscall(1) + "\n")
        events = read_auditd([path, io.BytesIO((syscall(2) + "\n").encode())])
        assert isinstance(events, pd.DataFrame)
        assert len(events) == 2

    def test_text_streams_are_refused_with_advice(self) -> None:
        with pytest.raises(TypeError, match="binary mode"):
            read_auditd(io.StringIO(syscall(1)))

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(FileNotFoundError, match="No such audit log"):
            read_auditd(tmp_path / "nope.log")

    def test_host_argument_names_logs_without_node(self) -> None:
        events = read_auditd(log(syscall(1, node=None)), host="db-7")
        assert isinstance(events, pd.DataFrame)
        assert (events["host_name"][0], events["event_id"][0]) == ("db-7", "db-7:1700000000.100:1")


def test_engines_agree_on_a_mixed_log() -> None:
    if not scanner_available():
        pytest.skip("numba not installed: only one engine to compare")
    lines = []
    for serial in range(1, 400):
        t = f"17000{serial:05d}.{serial % 1000:03d}"
        kind = serial % 4
        if kind == 0:
            lines += [
                syscall(serial, t=t, pid=serial, ppid=serial - 1),
                record("EXECVE", serial, f'argc=2 a0="sh" a1={hexed(f"echo {serial}")}', t=t),
                record("PROCTITLE", serial, "proctitle=" + hexed("sh\x00-c"), t=t),
            ]
        elif kind == 1:
            lines += [syscall(serial, t=t, sc=42), record("SOCKADDR", serial, "saddr=0200", t=t)]
        elif kind == 2:
            lines += [
                syscall(serial, t=t, sc=257, a2="241"),
                record("PATH", serial, f'item=0 name="f{serial}" nametype=CREATE', t=t),
            ]
        else:
            lines += [
                record("USER_END", serial, "pid=1 uid=0 auid=5 ses=2 msg='op=x res=failed'", t=t),
                "junk line",
                record(
                    "USER_LOGIN",
                    serial + 10_000,
                    f"pid={serial} uid=0 auid={serial % 3} ses={serial} msg='op=login "
                    f'id={serial % 7} exe="/usr/sbin/sshd" hostname=? addr=10.0.0.{serial % 9} '
                    f'terminal=/dev/pts/{serial % 4} res=success\'{GS}UID="root" '
                    f'AUID="u{serial % 3}" ID="id{serial % 7}"',
                    t=t,
                ),
                record(
                    "USER_CMD",
                    serial + 20_000,
                    f'pid={serial} uid=0 auid=1 ses=1 msg=\'cwd="/" cmd={hexed("ls -l")} '
                    "terminal=pts/0 res=success)'",
                    t=t,
                ),
            ]
    data = ("\n".join(lines) + "\n").encode()
    tables = {}
    for engine in ("scan", "regex"):
        report = ParseReport()
        batches = iter_auditd(io.BytesIO(data), engine=engine, on_error="skip", report=report)
        tables[engine] = (pa.Table.from_batches(list(batches)), report.lines_reported)
    assert tables["scan"][1] == tables["regex"][1] == 100
    assert tables["scan"][0].equals(tables["regex"][0])


def test_parallel_parse_equals_serial(tmp_path: Path) -> None:
    lines = []
    for serial in range(1, 3000):
        t = f"1700{serial:06d}.500"
        lines += [
            syscall(serial, t=t, pid=serial, ppid=serial - 1),
            record("EXECVE", serial, f'argc=1 a0="p{serial}"', t=t),
            record("CWD", serial, 'cwd="/"', t=t),
        ]
    path = tmp_path / "audit.log"
    path.write_text("\n".join(lines) + "\n")
    serial_table = pa.Table.from_batches(list(iter_auditd(path)))
    report = ParseReport()
    parallel = pa.Table.from_batches(
        list(iter_auditd(path, jobs=2, chunk_bytes=1 << 16, report=report))
    )
    assert report.lines_read == len(lines)
    assert parallel.num_rows == serial_table.num_rows == 2999
    assert parallel.equals(serial_table)


def test_output_conforms_to_the_schema() -> None:
    batch = next(iter_auditd(log(syscall(1))))
    s.validate(batch)
    assert batch.schema.equals(s.CANONICAL_SCHEMA)
    frame = read_auditd(log(syscall(1)))
    assert isinstance(frame, pd.DataFrame)
    assert str(frame["process_pid"].dtype) == "int64[pyarrow]"
    assert np.array_equal(frame.columns, s.CANONICAL_SCHEMA.names)


class TestAuditdParser:
    def lines(self) -> bytes:
        out = []
        for serial in range(1, 200):
            t = f"17000{serial:05d}.100"
            out += [
                syscall(serial, t=t, pid=1000 + serial, ppid=999 + serial),
                record("EXECVE", serial, f'argc=2 a0="x" a1="{serial}"', t=t),
            ]
        out.insert(50, "garbage line")
        return ("\n".join(out) + "\n").encode()

    def test_feeding_pieces_equals_reading_the_whole(self) -> None:
        data = self.lines()
        whole = pa.Table.from_batches(list(iter_auditd(io.BytesIO(data), on_error="skip")))
        parser = AuditdParser()
        rng = np.random.default_rng(0)
        cuts = np.sort(rng.integers(0, len(data), 40))
        tables = []
        for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
            got = parser.feed(data[a:b])
            if got is not None:
                tables.append(got)
        final = parser.flush()
        if final is not None:
            tables.append(final)
        fed = pa.concat_tables(tables)
        assert fed.column("event_id").to_pylist() == whole.column("event_id").to_pylist()
        assert fed.column("parent_exe").equals(whole.column("parent_exe"))
        assert parser.report.lines_reported == 1
        assert parser.report.lines_read == parser.report.lines_used + 1

    def test_checkpoint_and_restore_lose_and_repeat_nothing(self) -> None:
        import json

        data = self.lines()
        half = len(data) // 2 + 17  # mid-line
        first = AuditdParser()
        seen = [t for t in [first.feed(data[:half])] if t is not None]
        state = json.loads(json.dumps(first.checkpoint()))
        second = AuditdParser().restore(state)
        for table in (second.feed(data[half:]), second.flush()):
            if table is not None:
                seen.append(table)
        ids = pa.concat_tables(seen).column("event_id").to_pylist()
        assert len(ids) == len(set(ids)) == 199
        parents = pa.concat_tables(seen).column("parent_exe")
        assert parents.null_count == 1  # only the first exec's parent is unknown

    def test_process_memory_is_bounded(self) -> None:
        parser = AuditdParser(max_processes=10)
        parser.feed(self.lines())
        parser.flush()
        assert len(parser._history._last) == 10
