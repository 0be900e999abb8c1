"""A full disk: the job's own exit status still reaches cron, with one line saying what was lost.

ROOT lives on a small tmpfs filled to less than 256 KiB (runwrap's reserve)
or to 0 bytes free. Once space is back, the next run finalizes whatever was
left unfinished and the state agrees with the manifests again.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from helpers.faults import check_task, figure, kill_marked, mark_env, new_mark, seeded, wait_gone
from helpers.polling import wait_for
from helpers.runs import Root

WARNING = re.compile(r"runwrap: cannot (record|write|update) .*: No space left on device")


@pytest.fixture
def disk(tmp_path: Path):
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
            capture_output=True,
            text=True,
        )
        problem = done.stderr.strip() or f"exit {done.returncode}" if done.returncode else ""
    except OSError as e:
        problem = str(e)
    if problem:
        reason = f"cannot mount a tmpfs here ({problem}): the full-disk scenario needs root"
        print(reason)
        pytest.skip(reason)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _free(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def _fill(mount: Path, leave: int) -> Path:
    """Fill the disk until `leave` bytes (or fewer) are free."""
    filler = mount / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        size = _free(mount) - leave
        if size > 0:
            os.posix_fallocate(fd, os.fstat(fd).st_size, size)
        while leave == 0:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass  # full
    finally:
        os.close(fd)
    assert _free(mount) <= leave
    return filler


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line]


# name: (bytes left free, job output, lines expected on runwrap's stderr, how the run reads
# once space is back: failed (the real outcome), lost (not recorded in time) or None (no run))
CASES = {
    "128K free, quiet job": (128 * 1024, "", 0, "failed"),
    "128K free, job fills the disk": (128 * 1024, "head -c 8000000 /dev/zero", 0, "failed"),
    "1M free, job fills the disk": (1024 * 1024, "head -c 8000000 /dev/zero", 0, "failed"),
    "8K free, job fills the disk": (8 * 1024, "head -c 8000000 /dev/zero", 1, "lost"),
    "0 bytes free, quiet job": (0, "", 1, None),
    "0 bytes free, job writes": (0, "echo out; echo err >&2", 2, None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_full_disk_keeps_the_exit_status(disk: Path, tmp_path: Path, case: str) -> None:
    rng = seeded(f"full-disk {case}")
    leave, output, expected_lines, recorded = CASES[case]
    mark = new_mark()
    root = Root(disk / "root", tmp_path / "cwd")
    (tmp_path / "cwd").mkdir()
    root.env = mark_env(root.env, mark)
    status = rng.choice((3, 4, 7))
    try:
        assert root.run("-n", "t", "--", "true").returncode == 0
        filler = _fill(disk, leave)
        job = f"{output}\nexit {status}\nsleep {mark}"
        result = root.run("-n", "t", "--kill-grace", "0.2", "--", "sh", "-c", job)
        assert result.returncode == status, result.stderr
        lines = _lines(result.stderr)
        assert len(lines) == expected_lines, lines
        assert "Traceback" not in result.stderr
        if lines:
            assert WARNING.fullmatch(lines[0]), lines
        if leave == 0 and output:
            # Not recorded: the job's output is runwrap's own, for cron to mail.
            assert result.stdout == "out\n" and lines[1] == "err"
        wait_gone(mark, timeout=10)
        filler.unlink()
        after = root.run("-n", "t", "--", "true")
        assert (after.returncode, after.stderr) == (0, "")
        manifests = check_task(root.task_dir("t"))
        statuses = [m["status"] for m in manifests]
        assert statuses == ["success", recorded, "success"] if recorded else ["success"] * 2
        if recorded == "failed":
            assert manifests[1]["exit_code"] == status
        figure(
            f"full disk ({case}): runwrap exited {status} like its job, "
            f"{len(lines)} warning line(s) {lines[:1]}; after freeing space the runs read "
            f"{statuses}, state.json = manifests, no open marker"
        )
    finally:
        kill_marked(mark)


def test_full_disk_skipped_run(disk: Path, tmp_path: Path) -> None:
    """A run skipped by the overlap guard on a full disk: exit 0, one line, nothing left open."""
    mark = new_mark()
    root = Root(disk / "root", tmp_path / "cwd")
    (tmp_path / "cwd").mkdir()
    root.env = mark_env(root.env, mark)
    try:
        holder = root.start("-n", "t", "--kill-grace", "0.2", "--", "sleep", mark)
        wait_for(lambda: root.manifests_so_far("t"), what="the first run recorded")
        filler = _fill(disk, 0)
        result = root.run("-n", "t", "--", "true")
        assert result.returncode == 0
        lines = _lines(result.stderr)
        assert len(lines) == 1 and WARNING.fullmatch(lines[0]), lines
        filler.unlink()
        holder.terminate()
        assert holder.wait(timeout=30) == 143
        wait_gone(mark, timeout=10)
        assert root.run("-n", "t", "--", "true").returncode == 0
        statuses = [m["status"] for m in check_task(root.task_dir("t"))]
        assert statuses == ["killed", "success"], statuses
        figure(
            "full disk (0 bytes free, run skipped by the overlap guard): exit 0, "
            f"one warning line; afterwards {statuses}, state.json = manifests"
        )
    finally:
        kill_marked(mark)
        root.stop_all()
