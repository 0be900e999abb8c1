"""What readers see of a task: its state and its unfinished runs (lost ones shown as lost)."""

from __future__ import annotations

from runwrap.store.layout import task_dir
from runwrap.store.lookup import read_run, task_names
from runwrap.store.manifest import LOST, RUNNING, effective_status
from runwrap.store.openruns import open_runs
from runwrap.store.state import read_state


def unfinished_runs(root: str, task: str) -> list[dict]:
    """Manifests of every run of the task not finished yet, oldest first (lost ones as lost).

    The one query for "what is running": every unfinished run carries an open
    marker (openruns.py), whatever order runs started, ended or were skipped in.
    """
    found = []
    for run_id, _owner in open_runs(task_dir(root, task)):
        manifest = read_run(root, task, run_id)
        if manifest is not None and manifest.get("status") == RUNNING:
            manifest["status"] = effective_status(manifest)
            manifest["run_id"] = run_id  # the marker's name, not what the job could write
            found.append(manifest)
    return found


def task_overview(root: str, task: str) -> dict:
    """{task, state, running: [manifests], lost: [manifests]} for one task."""
    state = read_state(task_dir(root, task))
    unfinished = unfinished_runs(root, task)
    return {
        "task": task,
        "state": state,
        "running": [m for m in unfinished if m["status"] == RUNNING],
        "lost": [m for m in unfinished if m["status"] == LOST],
    }


def overview(root: str) -> list[dict]:
    """task_overview() for every task under ROOT, by name (what is not a task is skipped)."""
    return [task_overview(root, task) for task in task_names(root)]
