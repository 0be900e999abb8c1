"""Finding runs by what people type: a task name (its latest run) or a run id."""

from __future__ import annotations

import os

from runwrap.errors import NotFoundError
from runwrap.manifest import effective_status, read_manifest
from runwrap.names import check_task_name
from runwrap.paths import is_run_id, list_run_ids, list_tasks, run_dir, task_dir


def find_run(root: str, ref: str) -> tuple[str, str]:
    """(task, run_id) for a run id, or for a task name's latest run."""
    if is_run_id(ref):
        for task in list_tasks(root):
            if os.path.isdir(run_dir(root, task, ref)):
                return task, ref
        raise NotFoundError(f"no run {ref} under {root}; see runwrap history TASK")
    task = check_task_name(ref)
    if not os.path.isdir(task_dir(root, task)):
        raise NotFoundError(f"no task {task!r} under {root}; see runwrap ls")
    ids = list_run_ids(root, task)
    if not ids:
        raise NotFoundError(f"task {task!r} has no runs yet")
    return task, ids[-1]


def load_run(root: str, task: str, run_id: str) -> dict:
    """The manifest of a run, its status as readers must see it (running or lost)."""
    manifest = read_manifest(run_dir(root, task, run_id))
    if manifest is None:
        raise NotFoundError(f"run {run_id} of task {task!r} has no readable manifest yet")
    manifest["status"] = effective_status(manifest)
    return manifest


def task_runs(root: str, ref: str) -> tuple[str, list[str]]:
    """(task, run ids oldest first) for a task name; one run for a run id."""
    if is_run_id(ref):
        task, run_id = find_run(root, ref)
        return task, [run_id]
    task = check_task_name(ref)
    if not os.path.isdir(task_dir(root, task)):
        raise NotFoundError(f"no task {task!r} under {root}; see runwrap ls")
    return task, list_run_ids(root, task)
