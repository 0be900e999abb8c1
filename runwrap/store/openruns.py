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

from runwrap.store.jsonio import read_json, write_json_atomic
from runwrap.store.layout import OPEN, is_run_id, list_dir, remove_tree


def _path(task_path: str, run_id: str = "") -> str:
    return os.path.join(task_path, OPEN, run_id) if run_id else os.path.join(task_path, OPEN)


def mark_open(task_path: str, run_id: str, owner: dict) -> None:
    """Record that `owner` is starting run `run_id` (OSError if it cannot be written)."""
    try:
        write_json_atomic(_path(task_path, run_id), {"owner": owner}, fsync=False)
    except FileNotFoundError:
        os.makedirs(_path(task_path), exist_ok=True)
        write_json_atomic(_path(task_path, run_id), {"owner": owner}, fsync=False)


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
