"""ls, show and history in an 80-column terminal (issue 23): a real pty of that width.

The ROOT is a realistic one: long task names, labels, schedules, long reasons,
a task running its first run and one running after failures.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

from helpers.clock import needs_libfaketime, shifted
from helpers.polling import wait_for
from helpers.runs import RUNWRAP, Root, assert_one_line_error

RED, GREEN = "\x1b[31m", "\x1b[32m"
LONG = "nightly-postgres-backup-of-the-production-cluster"
FIRST = "first-run-of-a-long-running-reindex"
REASON = "pg_dump: error: connection to server failed: FATAL: password authentication failed"


def terminal(root: Root, *args: str, columns: int = 80, env: dict | None = None) -> str:
    """What `runwrap ARGS` writes to a terminal `columns` wide ($COLUMNS unset)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in (env or root.env).items() if k not in ("COLUMNS", "NO_COLOR")}
    env["TERM"] = "xterm"
    try:
        proc = subprocess.run(
            [RUNWRAP, *args], env=env, stdout=follower, stderr=subprocess.PIPE, timeout=60
        )
        os.close(follower)
        follower = -1
        assert proc.returncode == 0, proc.stderr
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the other side is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode().replace("\r\n", "\n")
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)


def seen(text: str) -> list[str]:
    """The lines as the terminal shows them: colour codes take no room."""
    out = text
    for code in ("\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[36m", "\x1b[0m"):
        out = out.replace(code, "")
    assert "\x1b" not in out, repr(out)
    return out.splitlines()


def assert_fits(text: str, columns: int = 80) -> None:
    for line in seen(text):
        assert len(line) <= columns, f"{len(line)} columns: {line!r}"


@pytest.fixture
def busy(root: Root, tmp_path: Path):
    """A realistic ROOT: a failing scheduled task with labels, a slow one, an ok one,
    a task on its first run, and a failing task running again."""
    failing = ["-n", LONG, "-l", "team=db", "-l", "env=production", "--schedule", "*/5 * * * *"]
    for _ in range(3):
        root.run(*failing, "--notify", "none", "--", "sh", "-c", f"echo '{REASON}' >&2; exit 2")
    root.run("-n", "sync-customer-invoices-to-the-warehouse", "-l", "team=billing", "--", "true")
    root.run("-n", "slow", "--timeout", "0.2", "--notify", "none", "--", "sleep", "5")
    release = tmp_path / "release"
    wait = f"echo '[progress]40' >> \"$RUNWRAP_FEEDBACK\"; echo '[info]{'copying ' * 12}' >> \"$RUNWRAP_FEEDBACK\"; while [ ! -e {release} ]; do sleep 0.02; done"
    jobs = [
        root.start("-n", FIRST, "-l", "team=search", "--", "sh", "-c", wait),
        root.start(*failing, "--notify", "none", "--", "sh", "-c", wait),
    ]
    wait_for(
        lambda: sum(len(t["running"]) for t in json.loads(root.run("ls", "--json").stdout)) == 2,
        what="two running runs",
    )
    yield root
    release.touch()
    for job in jobs:
        job.wait(timeout=30)


def test_ls_fits_80_columns_and_keeps_the_clock_times_for_wide(busy: Root) -> None:
    shown = terminal(busy, "ls")
    assert_fits(shown)
    lines = seen(shown)
    header = lines[0]
    assert header.split() == [
        "TASK",
        "STATUS",
        "SINCE",
        "LAST",
        "RUN",
        "DURATION",
        "RUNNING",
        "NEXT",
    ]
    first = next(line for line in lines if line.startswith("first-run"))
    assert first[header.index("STATUS") :].split()[0] == "-"  # no finished run yet
    failing = next(line for line in lines if line.startswith("nightly-"))
    assert " ago " in failing and "(" not in failing  # "3s ago": no clock time
    assert "…" in failing  # the name gave way, nothing else
    assert RED in shown  # the states keep their colours
    wide = seen(terminal(busy, "ls", "-o", "wide", columns=250))
    assert any(LONG in line and " ago (" in line for line in wide)  # "3 s ago (09:04:01)"


def test_ls_names_tasks_and_filters_by_state_and_label(busy: Root) -> None:
    def names(*args: str) -> list[str]:
        return sorted(t["task"] for t in json.loads(busy.run("ls", *args, "--json").stdout))

    assert names("slow", FIRST) == sorted(["slow", FIRST])
    assert names("--state", "failing") == sorted([LONG, "slow"])
    assert names("--state", "running,ok") == sorted(
        [FIRST, "sync-customer-invoices-to-the-warehouse"]
    )
    assert names("--state", "never", "--state", "late") == []  # FIRST is shown running
    assert names("--label", "team=db") == [LONG]
    assert names("--label", "team=db", "--label", "env=staging") == []
    # A task's labels are its newest run's, a first run still going included (the read model).
    assert names("--label", "team") == sorted(
        [LONG, FIRST, "sync-customer-invoices-to-the-warehouse"]
    )
    table = seen(terminal(busy, "ls", "--state", "failing", "--label", "team=db"))
    assert [line.split()[0][:9] for line in table if line and not line.startswith(" ")] == [
        "TASK",
        "nightly-p",
        "RUNNING",
        "nightly-p",
    ]
    assert_one_line_error(busy.run("ls", "nope"), "no task 'nope'", code=1)
    assert_one_line_error(busy.run("ls", "--state", "broken"), "runwrap ls: error:", "'broken'")
    assert_one_line_error(busy.run("ls", "-o", "tall"), "runwrap ls: error:", "invalid choice")


def test_show_reads_like_systemctl_status(busy: Root) -> None:
    busy.run("-n", LONG, "--notify", "none", "--", "sh", "-c", "exit 3")  # a skipped tick: busy
    finished = [m for m in busy.manifests_so_far(LONG) if m["status"] == "failed"]
    shown = terminal(busy, "show", finished[-1]["run_id"])
    assert_fits(shown)
    lines = seen(shown)
    assert lines[0] == f"● {LONG}"
    state = lines[1].split("State: ")[1]
    assert state.startswith("failed since ") and state.endswith(", 3 in a row"), state
    assert f"{RED}failed since" in shown  # the state line in its colour
    assert not [line for line in lines if line.endswith(": -")]  # only fields with values
    assert any(line.strip().startswith("Exit code: 2") for line in lines)
    assert any(line.strip().startswith("Labels: env=production, team=db") for line in lines)
    assert "last lines of stderr.log:" in lines and "pg_dump: error:" in shown
    # An older run: its own status and when it began.
    older = seen(terminal(busy, "show", finished[0]["run_id"]))
    assert older[1].split("State: ")[1].startswith("failed at ")
    # A running run: how long it has run, and no empty sizes.
    running = seen(terminal(busy, "show", FIRST))
    assert running[1].split("State: ")[1].startswith("running for ")
    assert not any("size" in line for line in running) and "Started:" in "".join(running)
    assert json.loads(busy.run("show", finished[0]["run_id"], "--json").stdout) == finished[0]


def test_show_tails_stdout_when_stderr_is_empty(root: Root) -> None:
    root.run("-n", "quiet", "--", "sh", "-c", "echo all done")
    lines = seen(terminal(root, "show", "quiet"))
    assert lines[1].split("State: ")[1].startswith("success since ")
    assert lines[-2:] == ["last lines of stdout.log:", "  all done"]


def test_history_colours_and_fits_and_the_reason_takes_the_room_there_is(busy: Root) -> None:
    shown = terminal(busy, "history", LONG)
    assert_fits(shown)
    assert f"{RED}failed" in shown
    assert any(line.endswith("…") for line in seen(shown))  # the reason cut at 80 ...
    wide = seen(terminal(busy, "history", LONG, columns=200))
    assert sum(line.endswith("exited with status 2") for line in wide) == 3  # ... not at 200
    assert "\x1b[" not in busy.run("history", LONG).stdout  # piped: no colour


def test_history_takes_several_statuses_and_since(root: Root) -> None:
    for cmd in ("true", "false"):
        root.run("-n", "h", "--notify", "none", "--", cmd)
    root.run("-n", "h", "--timeout", "0.1", "--notify", "none", "--", "sleep", "3")

    def statuses(*args: str) -> list[str]:
        return [m["status"] for m in json.loads(root.run("history", "h", *args, "--json").stdout)]

    assert statuses("--status", "failed,timeout") == ["timeout", "failed"]
    assert statuses("--status", "success", "--status", "timeout") == ["timeout", "success"]
    assert statuses("--since", "2h") == ["timeout", "failed", "success"]
    tomorrow = time.strftime("%Y-%m-%d", time.localtime(time.time() + 86400))
    assert statuses("--since", tomorrow) == []
    assert statuses("--since", "today") == statuses("--since", "1d")
    out = root.run("history", "h", "--since", tomorrow, "--status", "failed").stdout
    assert out.strip() == f"no runs of h with status failed since {tomorrow}"
    assert_one_line_error(root.run("history", "h", "--since", "last tuesday"), "bad --since")
    assert_one_line_error(root.run("history", "h", "--status", "failed,weird"), "'weird'")


@needs_libfaketime
def test_history_is_in_the_order_runs_began_not_by_the_clock(root: Root) -> None:
    """A run made while the clock was an hour behind has the oldest run id, and the
    highest seq: it is the newest, at the top, and the one --limit 1 shows."""
    for _ in range(3):
        root.run("-n", "c", "--", "true")
    late = subprocess.run(
        [RUNWRAP, "-n", "c", "--", "false"],
        env=shifted(root.env, "-1h"),
        capture_output=True,
        timeout=60,
    )
    assert late.returncode == 1
    ids = root.run_ids("c")
    behind = next(m for m in root.manifests_so_far("c") if m["status"] == "failed")
    assert ids[0] == behind["run_id"]  # its run id sorts first ...
    runs = json.loads(root.run("history", "c", "--json").stdout)
    assert [r["seq"] for r in runs] == [4, 3, 2, 1]  # ... yet it is shown first
    (newest,) = json.loads(root.run("history", "c", "--limit", "1", "--json").stdout)
    assert newest["run_id"] == behind["run_id"]
    assert seen(terminal(root, "history", "c"))[1].startswith(behind["run_id"])


def test_history_limit_reads_only_the_newest_manifests(root: Root) -> None:
    """--limit N stays cheap: with a sane clock the oldest runs are not read at all (a
    manifest broken there is not even noticed), while --limit 0 reads and notes it."""
    for _ in range(5):
        root.run("-n", "cheap", "--", "true")
    oldest = root.run_dir("cheap", root.run_ids("cheap")[0])
    (oldest / "manifest.json").write_text("{cut off")
    limited = root.run("history", "cheap", "--limit", "3", "--json")
    assert len(json.loads(limited.stdout)) == 3 and limited.stderr == ""
    everything = root.run("history", "cheap", "--limit", "0", "--json")
    assert len(json.loads(everything.stdout)) == 4 and "skipped" in everything.stderr
