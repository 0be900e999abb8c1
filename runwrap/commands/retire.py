"""runwrap retire: a task that is gone, gone from ls, check, the metrics and the dashboard.

Its runs are kept (or removed with --delete-runs); it is refused while the
task runs; a retired task that runs again comes back (store/retired.py).
"""

from __future__ import annotations

import os
import time

from runwrap.commands.display import print_json
from runwrap.errors import ExitCode, StateError
from runwrap.store.jsonio import read_json
from runwrap.store.layout import NOTIFY, STATE, remove_tree, task_dir, tasks_dir
from runwrap.store.lookup import run_ids, task_exists
from runwrap.store.notes import operator
from runwrap.store.openruns import open_runs
from runwrap.store.query import task_record
from runwrap.store.retired import write_retired
from runwrap.store.state import locked
from runwrap.store.tasknames import check_task_name
from runwrap.timefmt import iso


def cmd_retire(root: str, task: str, delete_runs: bool, as_json: bool) -> int:
    """Retire a task that is not running; with `delete_runs`, remove its runs too."""
    task_exists(root, check_task_name(task))
    path = task_dir(root, task)
    deleted: list[str] = []
    task_record(root, task)  # state.json made current now: under the lock it is only read

    def retire() -> dict:
        # Under the state lock, which a run takes to record itself: no run is recorded
        # halfway through. An open marker is a run not finished (or not recorded) yet.
        if open_runs(path):
            raise StateError(
                f"task {task} is running (or has a lost run its next run will record); "
                "retire it once its runs are recorded"
            )
        state = read_json(os.path.join(path, STATE))
        state = state if isinstance(state, dict) else {}
        if delete_runs:
            for run_id in run_ids(root, task):
                remove_tree(os.path.join(path, "runs", run_id))
                deleted.append(run_id)
            for name in (STATE, NOTIFY):
                try:
                    os.unlink(os.path.join(path, name))
                except FileNotFoundError:
                    pass
        return write_retired(path, state, operator(), iso(time.time()))

    note = locked(path, retire)
    # The list of tasks changed: readers that compare ROOT/tasks' signature (sitegen's
    # no-change check) must look again.
    os.utime(tasks_dir(root))
    if as_json:
        print_json({"task": task, **note, "deleted_runs": len(deleted)})
    else:
        kept = f"{len(deleted)} runs deleted" if delete_runs else "its runs are kept"
        print(f"retired {task} ({kept}); it comes back if it runs again")
    return ExitCode.OK
