"""The job always runs: a NEW task on a ROOT that cannot take it (full, out of
inodes, read-only, another user's) still runs its job, unrecorded, with one
line saying why, and passes its status through."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers.faults import figure, runwrap_for, shared_dir, unprivileged_user
from helpers.runs import Root

JOB = "echo out; echo err >&2; exit 3"


def _mount(where: Path, options: str) -> None:
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        reason = f"cannot mount a tmpfs here ({done.stderr.strip()}): this scenario needs root"
        print(reason)
        pytest.skip(reason)


def _umount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], check=False)


def _fill_bytes(mount: Path) -> None:
    fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fill_inodes(mount: Path) -> None:
    for i in range(100_000):
        try:
            (mount / f"f{i}").touch()
        except OSError:
            return
    raise AssertionError("the tmpfs never ran out of inodes")


def _check(result: subprocess.CompletedProcess, why: str) -> str:
    assert result.returncode == 3, result.stderr
    assert result.stdout == "out\n"
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    assert len(lines) == 2 and lines[1] == "err", lines
    # A full tmpfs still makes directories (they cost no block): the task is
    # made, and it is the run's record that finds no room.
    assert lines[0].startswith("runwrap: cannot "), lines
    assert "running it unrecorded" in lines[0] and why in lines[0], lines
    return lines[0]


@pytest.mark.parametrize("case", ["full", "out of inodes", "read-only"])
def test_a_new_task_on_a_root_that_cannot_take_it_still_runs(tmp_path: Path, case: str) -> None:
    mount = tmp_path / "disk"
    options = {"full": "size=1m", "out of inodes": "size=4m,nr_inodes=64", "read-only": "size=1m"}
    _mount(mount, options[case])
    try:
        (tmp_path / "cwd").mkdir()
        root = Root(mount / "root", tmp_path / "cwd")
        assert root.run("-n", "old", "--", "true").returncode == 0
        why = "No space left on device"
        if case == "full":
            _fill_bytes(mount)
        elif case == "out of inodes":
            _fill_inodes(mount)
        else:
            subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
            why = "Read-only file system"
        line = _check(root.run("-n", "new", "--", "sh", "-c", JOB), why)
        if case != "full":
            assert not (mount / "root" / "tasks" / "new").exists()
        figure(f"new task on a {case} ROOT: the job ran, its status 3 passed, one line: {line}")
    finally:
        _umount(mount)


def test_a_new_task_on_another_users_root_still_runs(tmp_path: Path) -> None:
    user = unprivileged_user()
    if user is None:
        pytest.skip("needs root, to make an unprivileged user with useradd")
    runner = runwrap_for(user)
    if runner is None:
        pytest.skip(f"this checkout's runwrap cannot be run as {user}")
    argv, extra = runner
    place = shared_dir("runwrap-root-")
    try:
        root_dir = place / "root"
        root_dir.mkdir(mode=0o755)  # root's: the user may read it, not write it
        env = {**extra, "RUNWRAP_ROOT": str(root_dir), "RUNWRAP_CONFIG": "/dev/null"}
        result = subprocess.run(
            [*argv, "-n", "new", "--", "sh", "-c", JOB],
            env=env,
            cwd=place,
            user=user,
            capture_output=True,
            text=True,
            timeout=60,
        )
        line = _check(result, "Permission denied")
        figure(f"new task on another user's ROOT: the job ran, status 3 passed, one line: {line}")
    finally:
        shutil.rmtree(place, ignore_errors=True)
