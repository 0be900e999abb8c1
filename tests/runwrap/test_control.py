"""Control subcommands against real runs: show, history, feedback, parse, kill, tail."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from helpers.polling import wait_for
from helpers.runs import RUNWRAP, Root, assert_one_line_error


def running(root: Root, task: str) -> dict | None:
    found = [m for m in root.manifests_so_far(task) if m["status"] == "running" and m.get("pid")]
    return found[-1] if found else None


def test_show_a_task_and_a_run(root: Root) -> None:
    root.run("-n", "s", "-l", "env=prod", "--", "sh", "-c", "echo hi > a.txt; exit 2")
    m = root.manifest("s")
    out = root.run("show", "s").stdout
    assert m["run_id"] in out and "failed" in out and "exited with status 2" in out
    assert "env" in out and "a.txt" in out
    by_id = json.loads(root.run("show", m["run_id"], "--json").stdout)
    assert by_id == m


def test_history_newest_first_with_filters(root: Root) -> None:
    for cmd in ("true", "false", "true", "false", "true"):
        root.run("-n", "h", "--", cmd)
    runs = json.loads(root.run("history", "h", "--json").stdout)
    assert [r["run_id"] for r in runs] == list(reversed(root.run_ids("h")))
    failed = json.loads(root.run("history", "h", "--status", "failed", "--json").stdout)
    assert [r["status"] for r in failed] == ["failed", "failed"]
    assert len(json.loads(root.run("history", "h", "--limit", "2", "--json").stdout)) == 2
    table = root.run("history", "h").stdout.splitlines()
    assert table[0].split()[:2] == ["RUN", "ID"] and len(table) == 6


def test_parse_a_feedback_file(root: Root, tmp_path: Path) -> None:
    fb = tmp_path / "fb.log"
    fb.write_text("[progress]30\n[info]x\n[info]\n")
    result = root.run("parse", str(fb))
    assert result.returncode == 0 and json.loads(result.stdout) == {"progress": "30"}


def test_feedback_of_a_running_and_a_finished_run(root: Root, tmp_path: Path) -> None:
    release = tmp_path / "release"
    job = (
        f'echo "[progress]12" >> "$RUNWRAP_FEEDBACK"; while [ ! -e {release} ]; do sleep 0.02; done'
    )
    proc = root.start("-n", "fb", "--", "sh", "-c", job)
    try:
        wait_for(
            lambda: json.loads(root.run("feedback", "fb").stdout or "{}") == {"progress": "12"},
            what="live feedback",
        )
    finally:
        release.touch()
        proc.wait(timeout=30)
    run_id = root.run_ids("fb")[-1]
    assert json.loads(root.run("feedback", run_id).stdout) == {"progress": "12"}


def test_kill_a_running_task_records_it_as_killed(root: Root) -> None:
    proc = root.start("-n", "k", "--", "sleep", "30")
    wait_for(lambda: running(root, "k"), what="running")
    result = root.run("kill", "k")
    assert result.returncode == 0 and "sent SIGTERM" in result.stdout
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert root.manifest("k")["status"] == "killed"


def test_kill_with_sigkill_goes_to_the_job(root: Root) -> None:
    proc = root.start("-n", "k9", "--", "sleep", "30")
    m = wait_for(lambda: running(root, "k9"), what="running")
    assert root.run("kill", m["run_id"], "--signal", "KILL").returncode == 0
    assert proc.wait(timeout=30) == 128 + 9
    final = root.manifest("k9")
    assert final["status"] == "killed" and final["signal"] == "SIGKILL"


def test_tail_follows_a_run_until_it_ends(root: Root, tmp_path: Path) -> None:
    release = tmp_path / "release"
    job = f"echo first; while [ ! -e {release} ]; do sleep 0.02; done; echo last"
    proc = root.start("-n", "t", "--", "sh", "-c", job)
    wait_for(lambda: running(root, "t"), what="running")
    tail = subprocess.Popen(
        [RUNWRAP, "tail", "-f", "t"], env=root.env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert tail.stdout.readline() == "first\n"
        release.touch()
        assert tail.stdout.readline() == "last\n"
        assert tail.wait(timeout=30) == 0
    finally:
        tail.kill()
        proc.wait(timeout=30)
    root.run("-n", "t", "--", "sh", "-c", "echo to stderr >&2")
    assert root.run("tail", "t", "--stderr").stdout == "to stderr\n"


@pytest.mark.parametrize(
    ("args", "fragment", "code"),
    [
        (["show", "nope"], "no task 'nope'", 1),
        (["show", "20200101T000000.000Z-dead"], "no run 20200101T000000.000Z-dead", 1),
        (["history", "nope"], "no task 'nope'", 1),
        (["feedback", "nope"], "no task 'nope'", 1),
        (["tail", "nope"], "no task 'nope'", 1),
        (["kill", "done"], "done is not running", 1),
        (["kill", "done", "--signal", "NOPE"], "unknown signal 'NOPE'", 125),
        (["parse", "/nonexistent/fb"], "cannot read feedback file", 125),
        (["show", "../etc"], "bad task name", 125),
        (["history", "done", "--status", "weird"], "invalid choice", 125),
        (["frobnicate"], "unknown subcommand 'frobnicate'", 125),
    ],
)
def test_errors_are_one_line(root: Root, args: list[str], fragment: str, code: int) -> None:
    root.run("-n", "done", "--", "true")
    assert_one_line_error(root.run(*args), fragment, code=code)


def test_ls_on_an_empty_root(root: Root) -> None:
    root.path.mkdir()
    result = root.run("ls")
    assert result.returncode == 0 and "no tasks" in result.stdout
    assert json.loads(root.run("ls", "--json").stdout) == []
