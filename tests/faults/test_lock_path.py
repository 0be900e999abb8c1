"""The lock is the file at its path: a job (or an age-based cleaner) that removes
tasks/T/lock while a run holds it must not let the next tick run beside it."""

from __future__ import annotations

from pathlib import Path

from helpers.polling import wait_for
from helpers.runs import Root


def test_a_job_that_deletes_its_lock_still_keeps_the_next_tick_out(
    root: Root, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    lock = root.task_dir("t") / "lock"
    job = f"rm -f {lock}; touch {tmp_path}/deleted; while [ ! -e {release} ]; do sleep 0.02; done"
    first = root.start("-n", "t", "--", "sh", "-c", job)
    wait_for(lambda: (tmp_path / "deleted").exists(), what="the job to delete its lock")
    # The running runwrap puts a lock back at the path (one it holds) within a tick.
    wait_for(lambda: lock.exists(), what="the lock to be back at its path")
    second = root.run("-n", "t", "--", "true")
    assert second.returncode == 0, second.stderr
    release.touch()
    assert first.wait(timeout=30) == 0
    statuses = sorted(m["status"] for m in root.manifests("t"))
    assert statuses == ["skipped", "success"]
    # And the lock at the path is a lock again for the run after.
    third = root.run("-n", "t", "--", "true")
    assert third.returncode == 0
    assert sorted(m["status"] for m in root.manifests("t")) == ["skipped", "success", "success"]


def test_a_lock_removed_and_made_again_by_someone_else_is_still_the_guard(
    root: Root, tmp_path: Path
) -> None:
    """Deleted and replaced at once (a cleaner, then any runwrap): still one run at a time."""
    release = tmp_path / "release"
    lock = root.task_dir("t") / "lock"
    job = (
        f"rm -f {lock}; : > {lock}; touch {tmp_path}/replaced; "
        f"while [ ! -e {release} ]; do sleep 0.02; done"
    )
    first = root.start("-n", "t", "--", "sh", "-c", job)
    wait_for(lambda: (tmp_path / "replaced").exists(), what="the job to replace its lock")
    original = lock.stat().st_ino
    wait_for(lambda: lock.stat().st_ino != original, what="runwrap to take the path back")
    second = root.run("-n", "t", "--", "true")
    release.touch()
    assert first.wait(timeout=30) == 0
    assert second.returncode == 0
    assert sorted(m["status"] for m in root.manifests("t")) == ["skipped", "success"]
