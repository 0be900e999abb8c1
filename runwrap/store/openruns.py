"""Runs not recorded yet (final manifest and state), marked in tasks/<task>/open/<run_id>.

A marker is written (with the run's owner) before the run directory appears
and removed once the final manifest and the state are written; a skipped
run, born final, is marked too until its state is written. So the next
run of a task, whatever order runs started and ended in, finds every run a
dead runwrap left behind by listing one small directory, without reading
every manifest; and retention, which never removes a marked run, never
removes one the state does not know yet.
"""

from __future__ import annotations

import os

from runwrap.store.jsonio import dumps, read_json
from runwrap.store.layout import OPEN, is_run_id, list_dir, remove_tree


def _path(task_path: str, run_id: str = "") -> str:
    return os.path.join(task_path, OPEN, run_id) if run_id else os.path.join(task_path, OPEN)


def claim_open(task_path: str, run_id: str, owner: dict) -> bool:
    """Mark run `run_id` open for `owner` unless it already is (False: the id is taken).

    Created exclusively, before the run directory: a marker whose owner is
    still being written reads as unknown, and its run is then left alone.
    """
    data = dumps({"owner": owner}).encode("utf-8", "surrogateescape")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(_path(task_path, run_id), flags, 0o644)
    except FileNotFoundError:
        os.makedirs(_path(task_path), exist_ok=True)
        fd = os.open(_path(task_path, run_id), flags, 0o644)
    except FileExistsError:
        return False
    try:
        os.write(fd, data)
    except OSError:
        os.close(fd)
        clear_open(task_path, run_id)  # a full disk: no marker that cannot tell its owner
        raise
    os.close(fd)
    return True


def marker_age(task_path: str, run_id: str, now: float) -> float:
    """Seconds since the marker was written (0 when it cannot be told)."""
    try:
        return max(0.0, now - os.lstat(_path(task_path, run_id)).st_mtime)
    except OSError:
        return 0.0


def clear_open(task_path: str, run_id: str) -> None:
    """The run's record is final: forget the marker (already gone is fine)."""
    try:
        os.unlink(_path(task_path, run_id))
    except IsADirectoryError:
        remove_tree(_path(task_path, run_id))  # not a marker runwrap wrote, but in its place
    except OSError:
        pass


def open_runs(task_path: str) -> list[tuple[str, object]]:
    """(run id, owner) of every marked run, oldest first; owner None when unreadable."""
    found = []
    for name in sorted(list_dir(_path(task_path))):
        if is_run_id(name):
            value = read_json(_path(task_path, name))
            found.append((name, value.get("owner") if isinstance(value, dict) else None))
    return found
