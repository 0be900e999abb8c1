"""The read model: the questions every surface asks of a task, answered once.

`runwrap ls`, `show`, `check`, the metrics, and sitegen's dashboard, task
pages, status.json and feeds all ask here (docs/on-disk.md, "One story"):

- which runs are unfinished (running, or lost: their owner is gone);
- the task's state: the fold of its finished runs (store/fold.py, cached in
  state.json), with its lost runs folded on as their final manifests will be;
- its bucket (failing, unreadable, ok, never), which partitions the tasks, and
  the flags beside it (running, late), in one order for every list. A task
  this reader cannot open is "unreadable", never a healthy-looking "never".

A surface renders a view; it does not work out a task's state itself.
"""

from __future__ import annotations

import os
import time

from runwrap.errors import NotFoundError, UnreadableError
from runwrap.store.durations import baseline, flag_of
from runwrap.store.fold import (
    FAILING_HEALTH,
    NEVER,
    OK,
    bucket,
    order_key,
    state_key,
    with_unfinished,
)
from runwrap.store.hosts import file_sample, skewed
from runwrap.store.layout import GATHERED, MANIFEST, RUNS, SILENCES, is_run_id, task_dir
from runwrap.store.lookup import (
    find_run_id,
    look_at_task,
    note_unreadable,
    open_tasks,
    read_run,
    run_ids,
    task_exists,
    task_names,
    task_problem,
)
from runwrap.store.manifest import LOST, RUNNING, judge_run
from runwrap.store.notes import operator_notes
from runwrap.store.state import final_manifests, is_current, read_state
from runwrap.store.tasknames import check_read_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

# A task this reader cannot open (lookup.task_problem): it may hide a failure.
UNREADABLE = "unreadable"
# What a list shows for a task, most urgent first: every list sorts by it.
SHOWN_ORDER = (FAILING_HEALTH, UNREADABLE, "late", RUNNING, OK, NEVER)
_RANK = {name: i for i, name in enumerate(SHOWN_ORDER)}


def unfinished_runs(
    root: str, task: str, task_path: str | None = None, open_names: list[str] | None = None
) -> list[dict]:
    """Manifests of every run of the task not finished yet, oldest first (lost ones as lost).

    The one query for "what is running": every unfinished run carries an open
    marker (openruns.py), whatever order runs started, ended or were skipped in.
    `task_path` and `open_names` (its open/ listed): what a caller knows already.
    """
    found: list[dict] = []
    if open_names == []:
        return found  # nothing marked open: the usual task, openruns.py not even loaded
    if task_path is None:
        task_path = task_dir(root, task)
    from runwrap.store.openruns import open_runs

    for run_id, _owner in open_runs(task_path, open_names):
        manifest = read_run(root, task, run_id)
        if manifest is not None and manifest.get("status") == RUNNING:
            judge_run(manifest, task_path, run_id)
            manifest["run_id"] = run_id  # the marker's name, not what the job could write
            manifest["task"] = task  # as this reader names it: <task>@<host> when gathered
            found.append(manifest)
    return found


def record_of(
    task: str,
    state: dict,
    unfinished: Iterable[dict],
    finished: Callable[[], list[dict]] | None = None,
) -> dict:
    """{task, state, running, lost}: a task's folded state with its unfinished runs.

    The state has the lost runs folded on (fold.with_unfinished), so that the
    story is the same before and after someone finalizes them.
    """
    unfinished = list(unfinished)
    lost = [m for m in unfinished if m.get("status") == LOST]
    return {
        "task": task,
        "state": with_unfinished(state, lost, finished),
        "running": [m for m in unfinished if m.get("status") == RUNNING],
        "lost": lost,
    }


def task_record(
    root: str, task: str, *, silences: bool | None = None, tasks_fd: int | None = None
) -> dict:
    """record_of() for a task under ROOT: its state.json (or the rebuilt fold) and open runs.

    A task this reader cannot open carries `unreadable` (why, also noted for the
    one warning line of lookup.skipped_warning) and an empty state. The task's
    finished runs are read only for a lost run beneath them (fold.with_unfinished).
    `silences` and `tasks_fd`, for a caller asking of every task: whether ROOT/silences
    is there (notes.operator_notes), ROOT/tasks opened once (lookup.open_tasks).
    """
    path = task_dir(root, task)
    look = look_at_task(root, task, tasks_fd)  # each file opened once: the usual task
    try:
        if look is not None and is_current(look.state, look.runs_fd):  # as read_state()
            state: dict = look.state  # type: ignore[assignment]
            names, runs_fd, retired = look.open_names, look.runs_fd, look.retired
        else:  # the careful way: why it cannot be read, or its state rebuilt
            problem = task_problem(root, task)
            if problem is not None:
                # Its retirement holds as for any task (retired.json against state.json):
                # a retired task is off every list (lookup.task_names), and unwarned of.
                notes = operator_notes(root, task, {}, time.time(), silences=silences)
                if notes["retired"] is None:
                    note_unreadable(problem)
                return {**record_of(task, {}, []), "unreadable": problem, **notes}
            state = read_state(path)
            names = runs_fd = retired = None
        unfinished = unfinished_runs(root, task, path, names)
        record = record_of(task, state, unfinished, lambda: final_manifests(path))
        record["clocks"] = clock_samples(path, state, runs_fd)
    finally:
        if look is not None:
            look.close()
    notes = operator_notes(
        root, task, record["state"], time.time(), silences=silences, retired_there=retired
    )
    return {**record, **notes}


def clock_samples(task_path: str, state: dict, runs_fd: int | None = None) -> list[tuple]:
    """The clock sample (hosts.sample) of the task's newest finished run: its manifest's
    writer and clock against its mtime, one lstat. Never a running run's: its manifest is
    in the directory its job is given and can rewrite, writer, clock and mtime alike (a
    job could blame another host's clock or hide its own host's); a final manifest is
    written once the job's processes are gone. `runs_fd`: runs/, held open by the caller."""
    run_id, written = state.get("newest_run_id"), state.get("newest_written")
    if type(written) is dict and isinstance(run_id, str) and is_run_id(run_id):
        if runs_fd is None:
            one = file_sample(written, os.path.join(task_path, RUNS, run_id, MANIFEST))
        else:
            one = file_sample(written, f"{run_id}/{MANIFEST}", runs_fd)
        if one is not None:
            return [one]
    return []


def task_records(root: str) -> list[dict]:
    """task_record() for every task under ROOT, by name (what is not a task is skipped,
    and a retired task, as lookup.task_names skips it). Each task's retirement is looked
    at once, by its record (notes.operator_notes), and what holds for all of them once."""
    silences = os.path.isdir(os.path.join(root, SILENCES))
    names = task_names(root, retired=True)
    tasks_fd = open_tasks(root)
    try:
        records = [task_record(root, t, silences=silences, tasks_fd=tasks_fd) for t in names]
    finally:
        if tasks_fd is not None:
            os.close(tasks_fd)
    # A gathered copy's retirement is its host's to show, not to hide (task_names).
    return [r for r in records if r.get("retired") is None or GATHERED in r["task"]]


def lateness_of(root: str, record: dict, now: float):
    """(TaskLateness, host of the newest run) of a task_record(); (None, "") without a
    schedule, cheaply: the schedule modules (datetime, cronsim) are imported only for one.
    A gathered task's as of its host's last push (store/gathered.as_of)."""
    if not isinstance(record["state"].get("schedule"), dict):
        return None, ""
    from runwrap.store.lateness import of_overview

    if GATHERED in record["task"]:  # a copy: judged as of its host's push (gathered.py)
        from runwrap.store.gathered import as_of

        now = as_of(root, record["task"], now)
    return of_overview(root, record, now)


def find_run(root: str, ref: str) -> tuple[str, str]:
    """(task, run_id) for a run id, or for a task name its latest real run: the newest
    by seq of its running, lost and last finished runs, never a skipped tick (unless
    the task has nothing else)."""
    if is_run_id(ref):
        return find_run_id(root, ref)
    task = check_read_name(ref)
    task_exists(root, task)
    record = task_record(root, task)
    if record.get("unreadable"):
        raise UnreadableError(f"task {task!r} cannot be read: {record['unreadable']}")
    candidates = [*record["running"], *record["lost"]]
    last = last_run(record["state"])
    if last is not None:
        candidates.append(last)
    ids = run_ids(root, task)
    there = set(ids)
    # The newest candidate whose directory is still there (one removed by hand is not).
    for candidate in sorted(candidates, key=order_key, reverse=True):
        if candidate["run_id"] in there:
            return task, candidate["run_id"]
    if not ids:
        raise NotFoundError(f"task {task!r} has no runs yet")
    return task, ids[-1]


def last_run(state: dict) -> dict | None:
    """The task's last real run (never a skipped tick), as the state has it."""
    run_id = state.get("last_run_id")
    if not isinstance(run_id, str):
        return None
    return {
        "run_id": run_id,
        "seq": state.get("last_seq"),
        "status": state.get("last_status"),
        "started_at": state.get("last_started_at"),
        "ended_at": state.get("last_ended_at"),
        "duration_s": state.get("last_duration_s"),
        "exit_code": state.get("last_exit_code"),
        "host": state.get("last_host"),
        "stopped_by": state.get("last_stopped_by"),  # an operator's kill (store/notes.py)
    }


def shown_state(state_bucket: str, running: bool, late: bool) -> str:
    """The one word a list shows: failing first, then late, running, ok, never."""
    if state_bucket in (FAILING_HEALTH, UNREADABLE):
        return state_bucket
    if late:
        return "late"
    if running:
        return RUNNING
    return state_bucket


def rank(shown: str) -> int:
    """A shown state's place in every list (failing first)."""
    return _RANK.get(shown, len(SHOWN_ORDER))


def view(record: dict, lateness: dict | None = None) -> dict:
    """What every surface shows of a task (JSON): `record` from record_of(), `lateness`
    from store/lateness.py (TaskLateness.as_json()) or None for a task without a schedule."""
    state = record["state"]
    where = UNREADABLE if record.get("unreadable") else bucket(state)
    late = bool(lateness and lateness.get("late"))
    running = bool(record["running"])
    failing = where == FAILING_HEALTH
    host = _newest(state, [*record["running"], *record["lost"]], "host", "last_host")
    return {
        "task": record["task"],
        "state": where,
        "shown": shown_state(where, running, late),
        "status": state.get("status"),
        "since": state.get("since") if where != NEVER else None,
        "consecutive_failures": state.get("consecutive_failures", 0) if failing else 0,
        "failing_since": state.get("failing_since") if failing else None,
        "consecutive_skips": state.get("consecutive_skips", 0),
        "last_run": last_run(state),
        "running": [m.get("run_id") for m in record["running"]],
        "lost": [m.get("run_id") for m in record["lost"]],
        "late": late,
        "lateness": lateness,
        "labels": _newest(state, [*record["running"], *record["lost"]], "labels", "labels"),
        "host": host,
        "unreadable": record.get("unreadable"),
        "clock_skew_s": _skew(record, host),
        "duration": duration_view(state),
        # An operator's words, shown by every surface (muted_text() says them in one line).
        "muted": record.get("silence"),
        "ack": record.get("ack"),
        "retired": record.get("retired"),
    }


def duration_view(state: dict) -> dict:
    """{flag, check, baseline}: whether the last run was much slower or faster than the
    task usually is (store/durations.py), the verdict itself, and the baseline now."""
    check = state.get("last_duration_check")
    return {
        "flag": flag_of(check),
        "check": check if isinstance(check, dict) else None,
        "baseline": baseline(state.get("durations")),
    }


def _skew(record: dict, host: object) -> float | None:
    """How far the clock of the host of the task's newest run is from the storage's, when
    that is far enough to flag (hosts.SKEW_S); None when it is not, or not known."""
    newest = None
    for item in record.get("clocks") or ():
        if item[0] == host and (newest is None or item[2] > newest[2]):
            newest = item
    return round(newest[1], 1) if newest is not None and skewed(newest[1]) else None


def _newest(state: dict, unfinished: list[dict], key: str, kept: str) -> object:
    """A field of the task's newest run by seq (its labels, its host): an unfinished
    one newer than the state's newest (a task's first run, still going), else what the
    state keeps of it (`kept`)."""
    if not unfinished:  # the usual task: nothing running or lost
        value = state.get(kept)
        return value if isinstance(value, (dict, str)) else None
    newer = [m for m in unfinished if order_key(m) > state_key(state)]
    value = max(newer, key=order_key).get(key) if newer else state.get(kept)
    return value if isinstance(value, (dict, str)) else None


def totals(views: Iterable[dict]) -> dict:
    """Counts over tasks: the buckets partition them (failing + unreadable + ok + never
    = tasks); running and late are flags counted beside them."""
    counts = {"tasks": 0, FAILING_HEALTH: 0, UNREADABLE: 0, OK: 0, NEVER: 0, RUNNING: 0, "late": 0}
    for v in views:
        counts["tasks"] += 1
        counts[v["state"]] += 1
        counts[RUNNING] += bool(v["running"])
        counts["late"] += bool(v["late"])
    return counts


def muted_text(muted: dict | None, when: Callable[[str | None], str]) -> str:
    """A silence in one line, as every surface says it: "muted until TIME, by USER: REASON"
    (`when` shows a UTC ISO time as the surface shows times)."""
    if not muted:
        return ""
    reason = f": {muted['reason']}" if muted.get("reason") else ""
    return f"muted until {when(muted.get('until'))}, by {muted.get('by') or '?'}{reason}"


def ack_text(ack: dict | None, when: Callable[[str | None], str]) -> str:
    """An acknowledgement in one line: "acknowledged by USER at TIME: REASON"."""
    if not ack:
        return ""
    reason = f": {ack['reason']}" if ack.get("reason") else ""
    return f"acknowledged by {ack.get('by') or '?'} at {when(ack.get('at'))}{reason}"


def killed_text(stopped_by: dict | None) -> str:
    """An operator's kill in one line: "killed by USER: REASON"."""
    if not stopped_by:
        return ""
    reason = f": {stopped_by['reason']}" if stopped_by.get("reason") else ""
    return f"killed by {stopped_by.get('by') or '?'}{reason}"
