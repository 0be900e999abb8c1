"""Attacks through another user (useradd) on what a reader who may not write, or not read
all of a task, is told.

The operator's commands (ack, retire, mute) run by a user who may read ROOT but
not write it (another user's tasks, umask 022): each said "internal error: PermissionError
... (set RUNWRAP_DEBUG=1)", the line kept for runwrap's own bugs, where the user can fix
it (run it as ROOT's owner). Now one plain line naming the file, exit 125, nothing written."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess

import pytest

from helpers.faults import launcher, shared_dir, tools_for, unprivileged_user, user_in
from helpers.runs import RUNWRAP


def _reader() -> tuple[str, dict[str, str]]:
    if unprivileged_user() is None or user_in("runwrapweb") is None:
        pytest.skip("needs root, to make users with useradd")
    tools = tools_for("runwrapweb")
    if tools is None:
        pytest.skip("this checkout cannot be run as runwrapweb")
    return tools


def _as_reader(root, *words: str) -> subprocess.CompletedProcess:
    python, base = _reader()
    entry = pwd.getpwnam("runwrapweb")
    return subprocess.run(
        [python, launcher("runwrap"), "--root", str(root), *words],
        env={**base, "RUNWRAP_CONFIG": "/dev/null"}, user=entry.pw_uid,
        group=entry.pw_gid, cwd="/", capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_a_reader_who_may_not_write_is_told_in_one_plain_line() -> None:
    _reader()
    place = shared_dir("rw-denied-")
    try:
        root = place / "root"
        env = {**os.environ, "RUNWRAP_ROOT": str(root), "RUNWRAP_CONFIG": "/dev/null"}
        made = subprocess.run(
            [RUNWRAP, "-n", "t", "--", "false"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert made.returncode == 1, made
        before = sorted(p.name for p in (root / "tasks" / "t").iterdir())
        for words in (["ack", "t"], ["retire", "t"], ["mute", "t", "--for", "1h", "--reason", "x"]):
            told = _as_reader(root, *words)
            assert told.returncode == 125 and told.stdout == "", (words, told)
            assert len(told.stderr.splitlines()) == 1, (words, told.stderr)
            assert "internal error" not in told.stderr, (words, told.stderr)
            assert "Permission denied" in told.stderr and str(root) in told.stderr, told.stderr
        assert sorted(p.name for p in (root / "tasks" / "t").iterdir()) == before
        assert not (root / "silences").exists()
    finally:
        shutil.rmtree(place, ignore_errors=True)


@pytest.mark.parametrize("part", ["state.json", "open"])
def test_a_part_it_may_not_read_is_one_story(part: str) -> None:
    """state.json 0600 (another user's), runs/ readable: ls said `unreadable` and show exit 2,
    while history listed the runs (exit 0): two stories of one task. open/ 0700: every
    surface read the task as not running, with no warning, where a lost run (a failure)
    or a running one may be marked."""
    _reader()
    place = shared_dir("rw-state-")
    try:
        root = place / "root"
        env = {**os.environ, "RUNWRAP_ROOT": str(root), "RUNWRAP_CONFIG": "/dev/null"}
        made = subprocess.run(
            [RUNWRAP, "-n", "t", "--", "false"], env=env, capture_output=True, timeout=60
        )
        assert made.returncode == 1, made
        (root / "tasks" / "t" / part).chmod(0o600 if part == "state.json" else 0o700)
        listed = _as_reader(root, "ls", "--json")
        assert listed.returncode == 0 and json.loads(listed.stdout)[0]["state"] == "unreadable"
        for words in (["show", "t"], ["history", "t"], ["history", "t", "--json"], ["kill", "t"]):
            told = _as_reader(root, *words)
            assert told.returncode == 2 and told.stdout == "", (words, told)
            assert len(told.stderr.splitlines()) == 1, (words, told.stderr)
            assert "cannot be read" in told.stderr and part in told.stderr, told.stderr
    finally:
        shutil.rmtree(place, ignore_errors=True)


def test_a_task_made_unreadable_after_a_build_is_unreadable_on_the_next_update() -> None:
    python, base = _reader()
    place = shared_dir("rw-chmod-")
    try:
        root, out = place / "root", place / "out"
        env = {**os.environ, "RUNWRAP_ROOT": str(root), "RUNWRAP_CONFIG": "/dev/null"}
        for task, cmd in (("a", "false"), ("b", "true")):
            subprocess.run([RUNWRAP, "-n", task, "--", cmd], env=env, capture_output=True)
        out.mkdir()
        shutil.chown(out, "runwrapweb")
        entry = pwd.getpwnam("runwrapweb")

        def update() -> dict:
            done = subprocess.run(
                [python, launcher("sitegen"), "--root", str(root), "--out", str(out), "-q"],
                env={**base, "RUNWRAP_CONFIG": "/dev/null"}, user=entry.pw_uid,
                group=entry.pw_gid, cwd="/", capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            return json.loads((out / "status.json").read_text())["tasks"]["a"]

        assert update()["state"] == "failing"
        (root / "tasks" / "a" / "runs").chmod(0o700)
        listed = {v["task"]: v for v in json.loads(_as_reader(root, "ls", "--json").stdout)}
        assert listed["a"]["state"] == "unreadable", listed
        assert update()["state"] == "unreadable"
    finally:
        shutil.rmtree(place, ignore_errors=True)


def test_a_gathered_hosts_tasks_it_may_not_open_are_said_not_dropped() -> None:
    """ROOT/hosts/h/tasks 0700 (rsync'ed by another user): its tasks vanished from ls, check
    (exit 0) and the dashboard without a word, and `show a@h` said "no task" (exit 1), where
    an unreadable ROOT/tasks or task is one warning line, check exit 2, show exit 2."""
    python, base = _reader()
    place = shared_dir("rw-host-")
    try:
        root, out = place / "root", place / "out"
        here = {**os.environ, "RUNWRAP_ROOT": str(root), "RUNWRAP_CONFIG": "/dev/null"}
        there = {**here, "RUNWRAP_ROOT": str(root / "hosts" / "h")}  # its copy, as rsync leaves it
        subprocess.run([RUNWRAP, "-n", "a", "--", "false"], env=there, capture_output=True)
        subprocess.run([RUNWRAP, "-n", "b", "--", "true"], env=here, capture_output=True)
        (root / "hosts" / "h" / "tasks").chmod(0o700)
        listed = _as_reader(root, "ls")
        assert listed.returncode == 0 and "b" in listed.stdout, listed
        assert len(listed.stderr.splitlines()) == 1 and "hosts/h/tasks" in listed.stderr, listed
        check = _as_reader(root, "check")
        assert check.returncode == 2, check
        shown = _as_reader(root, "show", "a@h")
        assert shown.returncode == 2 and "cannot be read" in shown.stderr, shown
        out.mkdir()
        shutil.chown(out, "runwrapweb")
        entry = pwd.getpwnam("runwrapweb")
        site = subprocess.run(
            [python, launcher("sitegen"), "--root", str(root), "--out", str(out), "-q"],
            env={**base, "RUNWRAP_CONFIG": "/dev/null"}, user=entry.pw_uid,
            group=entry.pw_gid, cwd="/", capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert site.returncode == 0 and "hosts/h/tasks" in site.stderr, site.stderr
        assert len(site.stderr.splitlines()) == 1, site.stderr
    finally:
        shutil.rmtree(place, ignore_errors=True)


def test_the_run_form_runs_the_job_in_a_task_whose_runs_it_may_not_open() -> None:
    """Task t made under umask 077's runs/ (0700, another user's), the same task name run by
    this user: runwrap took its seq under the state lock, whose fallback (runs/) it may not
    open, and stopped (exit 125, the job never ran): cron lost the job. Now unrecorded."""
    _reader()
    place = shared_dir("rw-runs-")
    try:
        root = place / "root"
        env = {**os.environ, "RUNWRAP_ROOT": str(root), "RUNWRAP_CONFIG": "/dev/null"}
        subprocess.run([RUNWRAP, "-n", "t", "--", "true"], env=env, capture_output=True)
        (root / "tasks" / "t" / "runs").chmod(0o700)
        ran = _as_reader(root, "-n", "t", "--", "sh", "-c", "echo out; exit 3")
        assert ran.returncode == 3 and ran.stdout == "out\n", ran
        assert len(ran.stderr.splitlines()) == 1 and "unrecorded" in ran.stderr, ran.stderr
    finally:
        shutil.rmtree(place, ignore_errors=True)
