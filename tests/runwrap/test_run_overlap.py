"""The overlap guard: skip, wait, allow, and a lock that never leaks into the job."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from helpers.polling import wait_for
from helpers.runs import Root, pid_alive

# A job that holds its run until the test creates the file it waits for.
HOLD = "while [ ! -e {release} ]; do sleep 0.02; done"


def holds_open(pid: int, path: Path) -> bool:
    """True if process `pid` has `path` open."""
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fd) == str(path) for fd in fds.iterdir())
    except OSError:  # the process is gone, or a descriptor closed as we looked
        return False


def test_twenty_simultaneous_launches_give_one_run_and_nineteen_skips(
    root: Root, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    job = HOLD.format(release=release)
    procs = [root.start("-n", "busy", "--", "sh", "-c", job) for _ in range(20)]
    # The 19 that lose the race record a skipped run and exit 0 at once.
    wait_for(lambda: sum(p.poll() is not None for p in procs) == 19, what="19 skipped runs")
    release.touch()
    for p in procs:
        p.wait(timeout=30)
    assert [p.returncode for p in procs] == [0] * 20
    assert all(p.stdout.read() == "" and p.stderr.read() == "" for p in procs)
    # Every run, skipped or not, has its own number.
    assert sorted(m["seq"] for m in root.manifests("busy")) == list(range(1, 21))
    statuses = sorted(m["status"] for m in root.manifests("busy"))
    assert statuses == ["skipped"] * 19 + ["success"]
    skipped = [m for m in root.manifests("busy") if m["status"] == "skipped"]
    assert all(m["reason"] == "the previous run of this task was still running" for m in skipped)
    assert all(not (root.run_dir("busy", m["run_id"]) / "stdout.log").exists() for m in skipped)
    assert root.state("busy")["status"] == "success"


def test_wait_queues_behind_the_running_one(root: Root, tmp_path: Path) -> None:
    release = tmp_path / "release"
    first = root.start("-n", "q", "--", "sh", "-c", HOLD.format(release=release))
    wait_for(lambda: root.run_ids("q"), what="first run")
    second = root.start("-n", "q", "--overlap", "wait", "--", "echo", "second")
    # The second has opened the lock the first holds: from here on it waits, or skips.
    wait_for(lambda: holds_open(second.pid, root.task_dir("q") / "lock"), what="second waiting")
    assert second.poll() is None and len(root.run_ids("q")) == 1
    release.touch()
    assert first.wait(timeout=30) == 0 and second.wait(timeout=30) == 0
    one, two = root.manifests("q")
    assert one["status"] == two["status"] == "success"
    assert two["started_at"] >= one["ended_at"]


def test_wait_timeout_records_a_skipped_run(root: Root, tmp_path: Path) -> None:
    release = tmp_path / "release"
    first = root.start("-n", "wt", "--", "sh", "-c", HOLD.format(release=release))
    wait_for(lambda: root.run_ids("wt"), what="first run")
    result = root.run("-n", "wt", "--overlap", "wait", "--wait-timeout", "0.3", "--", "true")
    release.touch()
    first.wait(timeout=30)
    assert result.returncode == 0
    skipped = [m for m in root.manifests("wt") if m["status"] == "skipped"]
    assert len(skipped) == 1 and "waiting 300 ms for the lock" in skipped[0]["reason"]


def test_allow_runs_side_by_side(root: Root, tmp_path: Path) -> None:
    release = tmp_path / "release"
    job = HOLD.format(release=release)
    procs = [root.start("-n", "par", "--overlap", "allow", "--", "sh", "-c", job) for _ in range(3)]
    wait_for(
        lambda: len([m for m in root.manifests_so_far("par") if m.get("pid")]) == 3,
        what="3 running runs",
    )
    release.touch()
    assert [p.wait(timeout=30) for p in procs] == [0, 0, 0]
    assert [m["status"] for m in root.manifests("par")] == ["success"] * 3


def test_a_background_child_left_by_the_job_ends_with_the_run(root: Root, tmp_path: Path) -> None:
    pidfile = tmp_path / "bg.pid"
    job = f"sleep 60 & echo $! > {pidfile}"
    assert root.run("-n", "bg", "--kill-grace", "0.5", "--", "sh", "-c", job).returncode == 0
    bg = int(pidfile.read_text())
    try:
        # The run lasts until its whole tree is gone: the leftover was stopped before
        # runwrap returned, so it can neither hold the task nor outgrow its limits.
        assert not pid_alive(bg)
        [m] = root.manifests("bg")
        assert m["status"] == "success" and m["leftovers"] == 1
        assert root.run("-n", "bg", "--", "true").returncode == 0
        assert [m["status"] for m in root.manifests("bg")] == ["success", "success"]
        assert root.manifests("bg")[1]["leftovers"] is None
    finally:
        if pid_alive(bg):
            os.kill(bg, signal.SIGKILL)
