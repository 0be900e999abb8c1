"""What readers see of a task: its state and its running runs (lost ones shown as lost)."""

from __future__ import annotations

from runwrap.store.layout import task_dir
from runwrap.store.lookup import read_run, run_ids, task_names
from runwrap.store.manifest import LOST, RUNNING, effective_status
from runwrap.store.state import read_state


def running_runs(root: str, task: str, after: object = "") -> list[dict]:
    """Manifests of the task's runs still marked running after run id `after` (lost included)."""
    after = after if isinstance(after, str) else ""  # a wrong-typed state: look at every run
    found = []
    for run_id in run_ids(root, task):
        if run_id <= after:
            continue
        manifest = read_run(root, task, run_id)
        if manifest is not None and manifest.get("status") == RUNNING:
            manifest["status"] = effective_status(manifest)
            found.append(manifest)
    return found


def task_overview(root: str, task: str) -> dict:
    """{task, state, running: [manifests], lost: [manifests]} for one task."""
    state = read_state(task_dir(root, task))
    unfinished = running_runs(root, task, state.get("last_run_id"))
    return {
        "task": task,
        "state": state,
        "running": [m for m in unfinished if m["status"] == RUNNING],
        "lost": [m for m in unfinished if m["status"] == LOST],
    }


def overview(root: str) -> list[dict]:
    """task_overview() for every task under ROOT, by name (what is not a task is skipped)."""
    return [task_overview(root, task) for task in task_names(root)]
