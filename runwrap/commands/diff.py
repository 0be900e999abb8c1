"""runwrap diff TASK [RUN] [--against RUN]: what changed since the last success.

RUN defaults to the task's latest run, --against to the last successful run
before it in the task's order (seq, then run id). The comparison itself is
store/whatchanged.py, the one the failure notice and the run page use.
"""

from __future__ import annotations

from runwrap.commands.display import clean, print_json
from runwrap.errors import ExitCode, NotFoundError
from runwrap.store.durations import baseline
from runwrap.store.fold import order_key
from runwrap.store.layout import is_run_id, run_dir
from runwrap.store.lookup import load_run, read_run, read_runs, run_ids
from runwrap.store.manifest import SUCCESS
from runwrap.store.query import find_run, task_record
from runwrap.store.whatchanged import compare, describe


def cmd_diff(root: str, ref: str, run: str | None, against: str | None, as_json: bool) -> int:
    """Print what changed from the `against` run to `run` of task `ref`."""
    for given in (run, against):
        # A run id, not find_run's TASK|RUN_ID: a task's name here is a mistake.
        if given is not None and not is_run_id(given):
            raise NotFoundError(f"no run {given!r} of task {ref!r}; see runwrap history {ref}")
    task, run_id = find_run(root, ref if run is None else run)
    if run is not None and task != ref:
        raise NotFoundError(f"run {run} is not a run of task {ref!r}")
    now = load_run(root, task, run_id)
    now["run_id"] = run_id
    state = task_record(root, task)["state"]
    if against is None:
        was_id = last_success_before(root, task, now, state)
    else:
        other, was_id = find_run(root, against)
        if other != task:
            raise NotFoundError(f"run {against} is not a run of task {task!r}")
    was = None if was_id is None else load_run(root, task, was_id)
    if was is not None:
        was["run_id"] = was_id
    changes = compare(
        now,
        run_dir(root, task, run_id),
        was,
        None if was_id is None else run_dir(root, task, was_id),
        baseline(state.get("durations")),
    )
    if as_json:
        print_json(changes)
        return ExitCode.OK
    print(f"{clean(task, 200)} run {run_id}: {clean(now.get('status'), 20)}")
    for line in describe(changes):
        print(clean(line, 2000))
    return ExitCode.OK


def last_success_before(root: str, task: str, now: dict, state: dict) -> str | None:
    """The last successful run before `now` in the task's order, or None.

    The state's last success answers at once when it is before `now` (it is the
    newest success of all); else runs are read back from `now` until one succeeded.
    """
    key = order_key(now)
    newest = state.get("last_success_id")
    if isinstance(newest, str):
        m = read_run(root, task, newest)
        if m is not None and order_key({**m, "run_id": newest}) < key:
            return newest
    ids = [i for i in run_ids(root, task) if i != now["run_id"]]
    # Newest run id first: with a sane clock the first success before `now` is the one.
    for run_id, m in read_runs(root, task, reversed(ids)):
        if m.get("status") == SUCCESS and order_key({**m, "run_id": run_id}) < key:
            return run_id
    return None
