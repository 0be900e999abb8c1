"""A task's state.json: its health over time, updated after every run.

Read-modify-write under a short flock of its own (state.lock), so that runs
of one task under `--overlap allow` cannot lose each other's updates.
"""

from __future__ import annotations

import fcntl
import os

from runwrap import SCHEMA
from runwrap.jsonio import read_json, write_json_atomic
from runwrap.manifest import FAILING, SKIPPED, SUCCESS
from runwrap.paths import STATE, is_run_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def state_path(task_path: str) -> str:
    return os.path.join(task_path, STATE)


def read_state(task_path: str) -> dict:
    """The task's state ({} for a task that has never finished a run)."""
    value = read_json(state_path(task_path))
    return value if isinstance(value, dict) else {}


def next_state(old: dict, manifest: dict) -> dict:
    """The state after a finished run (a pure function of the old state and the run)."""
    new = dict(old)
    status = manifest.get("status")
    new["schema"] = SCHEMA
    new["task"] = manifest.get("task")
    new["last_run_id"] = manifest.get("run_id")
    new["last_status"] = status
    new["last_started_at"] = manifest.get("started_at")
    new["last_ended_at"] = manifest.get("ended_at")
    if status == SKIPPED:
        # A skipped run says nothing about the job's health: count it apart.
        new["consecutive_skips"] = old.get("consecutive_skips", 0) + 1
        new.setdefault("status", None)
        return new
    new["consecutive_skips"] = 0
    new["last_duration_s"] = manifest.get("duration_s")
    if status != old.get("status"):
        new["since"] = manifest.get("started_at")
    new["status"] = status
    if status == SUCCESS:
        new["consecutive_failures"] = 0
        new["last_success_id"] = manifest.get("run_id")
    elif status in FAILING:
        new["consecutive_failures"] = old.get("consecutive_failures", 0) + 1
        new["last_failure_id"] = manifest.get("run_id")
        if old.get("consecutive_failures", 0) == 0:
            new["failing_since"] = manifest.get("started_at")
    return new


def update_state(
    task_path: str, manifest: dict, extra: Callable[[dict, dict], dict] | None = None
) -> tuple[dict, dict]:
    """Apply a finished run to the task's state; return (old, new).

    `extra(old, new)` may amend the new state inside the same lock (the
    notifiers use it to record what they were told).
    """
    fd = _lock(task_path)
    try:
        old = read_state(task_path)
        new = next_state(old, manifest)
        if extra is not None:
            new = extra(old, new)
        write_json_atomic(state_path(task_path), new)
        return old, new
    finally:
        os.close(fd)


def modify_state(task_path: str, change: Callable[[dict], dict]) -> dict:
    """Apply `change` to the task's state under its lock, outside of a run; return the result."""
    fd = _lock(task_path)
    try:
        new = change(read_state(task_path))
        write_json_atomic(state_path(task_path), new)
        return new
    finally:
        os.close(fd)


def _lock(task_path: str) -> int:
    """The state lock, held (closing the returned fd releases it)."""
    fd = os.open(
        os.path.join(task_path, "state.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644
    )
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


def next_seq(task_path: str) -> int:
    """The task's next run number (1, 2, ...), kept in `seq` under the state lock.

    Numbers never repeat, even after retention removed the runs that had
    them, so sitegen can put run n on history page (n - 1) // size + 1 for
    good. A task from before `seq` existed continues from its number of runs.
    """
    fd = _lock(task_path)
    try:
        path = os.path.join(task_path, "seq")
        try:
            with open(path, "rb") as f:
                last = int(f.read().strip() or b"0")
        except (OSError, ValueError):
            last = _count_runs(task_path)
        # Not fsynced: after a power cut a number may repeat; sitegen then pages by position.
        write_json_atomic(path, last + 1, fsync=False)
        return last + 1
    finally:
        os.close(fd)


def _count_runs(task_path: str) -> int:
    try:
        return sum(1 for name in os.listdir(os.path.join(task_path, "runs")) if is_run_id(name))
    except OSError:
        return 0
