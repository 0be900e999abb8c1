"""A task's state.json: a cache of what its final manifests imply (DESIGN section 3).

The truth is in the runs' final manifests. state.json saves readers from
reading them all: it is folded forward one finished run at a time, in the
order the runs ended, and rebuilt from the manifests whenever it is
unreadable, wrong-typed, or a run arrives out of that order (a crash between
a final manifest and its state update, runs of `--overlap allow` ending out
of order). Every update happens under a short flock of its own (state.lock).
"""

from __future__ import annotations

import fcntl
import os

from runwrap import SCHEMA
from runwrap.store.health import health
from runwrap.store.jsonio import read_json, read_regular, write_atomic, write_json_atomic
from runwrap.store.layout import SEQ, STATE, STATE_LOCK, open_lock, run_ids_in, task_runs_dir
from runwrap.store.manifest import FAILING, FINISHED, SKIPPED, SUCCESS, read_manifest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

_STR = (str,)
_OPT_STR = (str, type(None))
_INT = (int,)
_OPT_NUM = (int, float, type(None))
# Every key a state carries and the JSON types it may have: anything else is a
# broken cache, to be rebuilt rather than trusted.
_TYPES: dict[str, tuple[type, ...]] = {
    "schema": _INT,
    "task": _OPT_STR,
    "last_run_id": _STR,
    "last_status": _STR,
    "last_started_at": _OPT_STR,
    "last_ended_at": _OPT_STR,
    "last_duration_s": _OPT_NUM,
    "consecutive_skips": _INT,
    "consecutive_failures": _INT,
    "status": _OPT_STR,
    "since": _OPT_STR,
    "failing_since": _OPT_STR,
    "last_success_id": _OPT_STR,
    "last_failure_id": _OPT_STR,
    "schedule": (dict, type(None)),
    "labels": (dict, type(None)),
}
_REQUIRED = ("last_run_id", "last_status")


def state_path(task_path: str) -> str:
    return os.path.join(task_path, STATE)


def is_valid(state: object) -> bool:
    """True for a state this version can trust (right keys, right types)."""
    if not isinstance(state, dict) or any(k not in state for k in _REQUIRED):
        return False
    for key, types in _TYPES.items():
        value = state.get(key)
        if key in state and (not isinstance(value, types) or isinstance(value, bool)):
            return False
    return True


def end_key(manifest: dict) -> tuple[str, str]:
    """The order in which finished runs are folded into the state: by end, then run id."""
    ended, run_id = manifest.get("ended_at"), manifest.get("run_id")
    return (ended if isinstance(ended, str) else "", run_id if isinstance(run_id, str) else "")


def is_final(manifest: object) -> bool:
    """A manifest that records a finished run (readable, with a final status)."""
    return (
        isinstance(manifest, dict)
        and manifest.get("status") in FINISHED
        and isinstance(manifest.get("run_id"), str)
    )


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
    new.setdefault("consecutive_failures", 0)
    # The schedule in force is the latest run's: a crontab line is the source.
    schedule = manifest.get("schedule")
    new["schedule"] = schedule if isinstance(schedule, dict) else None
    # And so are its labels: `runwrap ls` shows them without reading a manifest.
    labels = manifest.get("labels")
    new["labels"] = labels if isinstance(labels, dict) else None
    if status == SKIPPED:
        # A skipped run says nothing about the job's health: count it apart.
        new["consecutive_skips"] = old.get("consecutive_skips", 0) + 1
        new.setdefault("status", None)
        return new
    new["consecutive_skips"] = 0
    duration = manifest.get("duration_s")
    new["last_duration_s"] = duration if isinstance(duration, (int, float)) else None
    # "since" dates the task's health (ok or failing), not its last status: a
    # failure followed by a timeout is one failing period (health.py's rule).
    if health(status) != health(old.get("status")):
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


def final_manifests(
    task_path: str, override: dict | None = None, without: object = None
) -> list[dict]:
    """Every finished run of the task, in folding order.

    `override` stands for its run whatever the file says; run id `without` is left out.
    """
    runs = task_runs_dir(task_path)
    found = {}
    for run_id in run_ids_in(runs):
        manifest = read_manifest(os.path.join(runs, run_id))
        if is_final(manifest) and manifest["run_id"] == run_id and run_id != without:
            found[run_id] = manifest
    if override is not None and is_final(override):
        found[override["run_id"]] = override
    return sorted(found.values(), key=end_key)


def rebuild_state(task_path: str, override: dict | None = None, without: object = None) -> dict:
    """The state the task's final manifests imply ({} for a task with none).

    Retention may have removed runs: counts are then what the kept runs show.
    """
    state: dict = {}
    for manifest in final_manifests(task_path, override, without):
        state = next_state(state, manifest)
    return state


def read_state(task_path: str) -> dict:
    """The task's state, rebuilt in memory when state.json is missing or cannot be trusted."""
    value = read_json(state_path(task_path))
    return value if is_valid(value) else rebuild_state(task_path)


def apply_run(old: dict, task_path: str, manifest: dict) -> dict:
    """The state after `manifest`: folded on when it comes in order, else rebuilt."""
    key = end_key(manifest)
    last = (old.get("last_ended_at") or "", old.get("last_run_id") or "")
    if old and key == last:
        return old  # already recorded: a crash came after the state update
    if key > last:
        return next_state(old, manifest)
    return rebuild_state(task_path, override=manifest)


def update_state(
    task_path: str,
    manifest: dict,
    extra: Callable[[dict, dict], None] | None = None,
    durable: bool = True,
) -> tuple[dict, dict]:
    """Record a finished run in the task's state; return (old, new).

    `extra(old, new)` runs inside the same lock (the notifiers use it to
    decide and record what they tell). An unreadable state.json is rebuilt.
    `durable=False` skips the fsyncs, for a caller whose run stays marked
    open until this returns (docs/reliability.md: the marker redoes it).
    """
    fd = _lock(task_path)
    try:
        raw = read_json(state_path(task_path))
        old = raw if is_valid(raw) else rebuild_state(task_path, without=manifest.get("run_id"))
        new = apply_run(old, task_path, manifest)
        if extra is not None and new is not old:
            extra(old, new)
        if new != raw:
            write_json_atomic(state_path(task_path), new, fsync=durable)
        return old, new
    finally:
        os.close(fd)


def locked(task_path: str, action: Callable[[], object]) -> object:
    """Run `action` under the task's state lock (for files kept beside the state)."""
    fd = _lock(task_path)
    try:
        return action()
    finally:
        os.close(fd)


def _lock(task_path: str) -> int:
    """The state lock, held (closing the returned fd releases it).

    Should state.lock be broken, runs/ is locked instead (the task lock's
    own fallback is the task directory: a run holds both).
    """
    fd = open_lock(os.path.join(task_path, STATE_LOCK), task_runs_dir(task_path))
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
    good. A task from before `seq` existed continues from its number of runs;
    an unreadable `seq` continues from the highest number the runs carry.
    """
    fd = _lock(task_path)
    try:
        path = os.path.join(task_path, SEQ)
        raw = read_regular(path, 64)
        try:
            last = int((raw or b"").strip() or b"0") if raw is not None else None
        except ValueError:
            last = None
        if last is None or last < 0:
            last = _highest_seq(task_path)
        try:
            # Not fsynced: after a power cut a number may repeat; sitegen then pages by position.
            write_atomic(path, b"%d\n" % (last + 1), fsync=False)
        except OSError:
            pass  # a full disk: the number is still unique enough to show
        return last + 1
    finally:
        os.close(fd)


def _highest_seq(task_path: str) -> int:
    runs = task_runs_dir(task_path)
    ids = run_ids_in(runs)
    best = len(ids)
    for run_id in ids[-50:]:
        manifest = read_manifest(os.path.join(runs, run_id))
        seq = manifest.get("seq") if manifest else None
        if isinstance(seq, int) and not isinstance(seq, bool) and seq > best:
            best = seq
    return best
