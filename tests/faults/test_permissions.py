"""Readers say what they cannot read; published files are readable; retention by another
user leaves what it cannot delete in place (issue 20, item 5).

Real users made with useradd: the job's user runs a failing task under
umask 077, 027 and 022; a reader in the job's group and one outside it read
the ROOT with `runwrap ls`, `runwrap check` and sitegen; root's sitegen
publishes what the job wrote. A task a reader cannot open is `unreadable`
everywhere, with one warning line, and `check` exits 2: never a healthy-looking
`never`. A log a job wrote 0600 or 0640 is published readable by everyone.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from helpers.faults import figure, launcher, shared_dir, tools_for, unprivileged_user, user_in

GROUP_READER = "runwrapgrp"
OTHER_READER = "runwrapweb"


@pytest.fixture(scope="module")
def users() -> dict[str, str]:
    job = unprivileged_user()
    if job is None:
        pytest.skip("needs root, to make users with useradd")
    group = user_in(GROUP_READER, (job,))
    other = user_in(OTHER_READER)
    if group is None or other is None:
        pytest.skip("cannot make the reader users")
    return {"job": job, "group": group, "other": other}


def _as(user: str, *argv: str, umask: int = 0o022, cwd: str = "/", **env: str):
    tools = tools_for(user)
    if tools is None:
        pytest.skip(f"this checkout cannot be run as {user}")
    python, base = tools
    entry = pwd.getpwnam(user)  # the user's own groups: subprocess's user= keeps ours
    return subprocess.run(
        [python, *argv],
        env={**base, "RUNWRAP_CONFIG": "/dev/null", **env},
        user=user,
        group=entry.pw_gid,
        extra_groups=os.getgrouplist(user, entry.pw_gid),
        umask=umask,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _sitegen(place: Path, user: str | None, name: str) -> tuple[subprocess.CompletedProcess, dict]:
    out = place / name
    out.mkdir()
    argv = [launcher("sitegen"), "--root", str(place / "root"), "--out", str(out), "-q"]
    if user is None:
        import sys

        done = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=120)
    else:
        shutil.chown(out, user)
        done = _as(user, *argv)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done, json.loads((out / "status.json").read_text())


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


@pytest.mark.parametrize("umask", [0o077, 0o027, 0o022], ids=["077", "027", "022"])
def test_every_reader_says_what_it_cannot_read(users: dict[str, str], umask: int) -> None:
    place = shared_dir("runwrap-perm-")
    try:
        root = place / "root"
        (root / "tasks").mkdir(parents=True)  # the admin's: readable by all
        for path in (root, root / "tasks"):
            path.chmod(0o755)
            shutil.chown(path, users["job"])
        env = {"RUNWRAP_ROOT": str(root)}
        run = _as(
            users["job"], launcher("runwrap"), "-n", "t", "--", "sh", "-c", "echo out; exit 3",
            umask=umask, cwd=str(place), **env,
        )  # fmt: skip
        assert run.returncode == 3, run.stderr
        cells = []
        for reader in ("group", "other"):
            readable = umask == 0o022 or (umask == 0o027 and reader == "group")
            who = users[reader]
            ls = _as(who, launcher("runwrap"), "ls", "--json", **env)
            assert ls.returncode == 0 and "Traceback" not in ls.stderr, ls.stderr
            (v,) = json.loads(ls.stdout)
            check = _as(who, launcher("runwrap"), "check", "-q", **env)
            site, status = _sitegen(place, who, f"out-{reader}")
            row = status["tasks"]["t"]
            totals = status["totals"]
            assert sum(totals[b] for b in ("failing", "unreadable", "ok", "never")) == 1
            if readable:
                assert (v["state"], v["consecutive_failures"]) == ("failing", 1), v
                assert ls.stderr == "" and check.returncode == 0, (ls.stderr, check.stderr)
                assert row["state"] == "failing" and totals["failing"] == 1, row
                assert _warnings(site.stderr) == [], site.stderr
            else:
                # One line on every reader, and never the healthy-looking "never".
                assert (v["state"], v["shown"]) == ("unreadable", "unreadable"), v
                assert len(_warnings(ls.stderr)) == 1 and "Permission denied" in ls.stderr
                assert check.returncode == 2, (check.stdout, check.stderr)
                assert len(_warnings(check.stderr)) == 1, check.stderr
                for command in ("show", "history"):  # never "no runs yet"
                    told = _as(who, launcher("runwrap"), command, "t", **env)
                    assert told.returncode == 2 and told.stdout == "", told
                    assert _warnings(told.stderr) == [told.stderr.strip()], told.stderr
                    assert "cannot be read" in told.stderr, told.stderr
                assert row["state"] == "unreadable" and totals["unreadable"] == 1, row
                assert len(_warnings(site.stderr)) == 1, site.stderr
                assert "cannot read task t" in site.stderr, site.stderr
                index = (place / f"out-{reader}" / "index.html").read_text()
                assert 'class="n-unreadable">1<' in index
            cells.append(f"{reader} reader: {v['state']}, check {check.returncode}")
        # Root's sitegen publishes the job's log readable by the web server (any user).
        _site, status = _sitegen(place, None, "out-root")
        assert status["tasks"]["t"]["state"] == "failing"
        (log,) = (place / "out-root").rglob("stdout.log")
        mode = stat.S_IMODE(log.stat().st_mode)
        assert mode & 0o004, f"published {oct(mode)}: the web server cannot read it"
        web = subprocess.run(
            ["cat", str(log)], user=users["other"], group=users["other"], extra_groups=[],
            capture_output=True,
        )  # fmt: skip
        assert web.returncode == 0 and web.stdout == b"out\n", web.stderr
        figure(f"umask {umask:03o}: {'; '.join(cells)}; root's site publishes the log {oct(mode)}")
    finally:
        shutil.rmtree(place, ignore_errors=True)


def test_another_users_retention_leaves_what_it_cannot_delete(users: dict[str, str]) -> None:
    """A group member's --keep may rename the job user's runs (runs/ is group-writable)
    but not delete what is in them: it says so once and leaves them in place, never as
    hidden `.removing-*` half-runs (before: renamed and left, said nothing)."""
    place = shared_dir("runwrap-keep-")
    try:
        root = place / "root"
        env = {"RUNWRAP_ROOT": str(root)}
        root.mkdir(mode=0o775)
        shutil.chown(root, users["job"], users["job"])
        for _ in range(3):
            done = _as(
                users["job"], launcher("runwrap"), "-n", "r", "--", "true",
                umask=0o002, cwd=str(place), **env,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
        runs = root / "tasks" / "r" / "runs"
        before = sorted(os.listdir(runs))
        for run_id in before:  # the job's own runs: not the group's to delete
            (runs / run_id).chmod(0o755)
        done = _as(
            users["group"], launcher("runwrap"), "-n", "r", "--keep", "1", "--", "true",
            umask=0o002, cwd=str(place), **env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        lines = _warnings(done.stderr)
        assert len(lines) == 1, lines
        assert "retention of task r: cannot remove run" in lines[0], lines
        assert "left in place" in lines[0], lines
        left = sorted(os.listdir(runs))
        assert [n for n in left if n.startswith(".")] == [], left
        assert set(before) <= set(left), (before, left)
        for run_id in before:
            assert (runs / run_id / "manifest.json").is_file(), run_id
        figure(f"another user's --keep 1 over {len(before)} runs it cannot delete: {lines[0]}")
    finally:
        shutil.rmtree(place, ignore_errors=True)


@pytest.mark.parametrize("mode", [0o000, 0o711], ids=["000", "711"])
def test_a_task_dir_the_reader_cannot_list_is_unreadable(users: dict[str, str], mode: int) -> None:
    """A task directory made mode 000, or 711 (enterable, not listable): the reader says so."""
    place = shared_dir("runwrap-mode-")
    try:
        root = place / "root"
        root.mkdir(mode=0o755)
        shutil.chown(root, users["job"])
        env = {"RUNWRAP_ROOT": str(root)}
        done = _as(
            users["job"], launcher("runwrap"), "-n", "t", "--", "false", cwd=str(place), **env
        )
        assert done.returncode == 1, done.stderr
        (root / "tasks" / "t").chmod(mode)
        ls = _as(users["other"], launcher("runwrap"), "ls", "--json", **env)
        (v,) = json.loads(ls.stdout)
        assert v["state"] == "unreadable", v
        assert len(_warnings(ls.stderr)) == 1, ls.stderr
        check = _as(users["other"], launcher("runwrap"), "check", **env)
        assert check.returncode == 2 and "t: cannot be read" in check.stdout, check
        show = _as(users["other"], launcher("runwrap"), "show", "t", **env)
        assert show.returncode == 2 and "cannot be read" in show.stderr, show
        figure(f"task dir mode {mode:03o}, another reader: unreadable, check exit 2")
    finally:
        shutil.rmtree(place, ignore_errors=True)
