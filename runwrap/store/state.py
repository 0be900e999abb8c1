"""A task's state.json: a cache of what its final manifests imply (DESIGN section 3).

The truth is in the runs' final manifests. state.json saves readers from
reading them all: it is folded forward one finished run at a time, in the
order the runs began (`seq`), and rebuilt from the manifests whenever it is
unreadable, wrong-typed, folded by another version's rule, or a run arrives
out of that order (a crash between a final manifest and its state update, runs
of `--overlap allow` ending out of order). The rule itself is store/fold.py.
Every update happens under a short flock of its own (state.lock).
"""

import os
import stat

from runwrap.store.fold import (
    FOLD,
    can_fold,
    fold,
    is_final,
    last_key,
    next_state,
    order_key,
    state_key,
)
from runwrap.store.jsonio import read_json, read_regular, writable, write_atomic, write_json_atomic
from runwrap.store.layout import (
    SEQ,
    STATE,
    STATE_LOCK,
    is_gathered_copy,
    open_lock,
    run_ids_in,
    task_runs_dir,
)
from runwrap.store.manifest import manifest_problem, read_manifest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

_STR = (str,)
_OPT_STR = (str, type(None))
_INT = (int,)
_OPT_INT = (int, type(None))
_OPT_NUM = (int, float, type(None))
# Every key a state carries and the JSON types it may have: anything else is a
# broken cache, to be rebuilt rather than trusted.
_TYPES: dict[str, tuple[type, ...]] = {
    "schema": _INT,
    "fold": _INT,
    "task": _OPT_STR,
    "newest_run_id": _STR,
    "newest_seq": _OPT_INT,
    "newest_started_at": _OPT_STR,
    "newest_status": _STR,
    "last_run_id": _OPT_STR,
    "last_seq": _OPT_INT,
    "last_status": _OPT_STR,
    "last_started_at": _OPT_STR,
    "last_ended_at": _OPT_STR,
    "last_duration_s": _OPT_NUM,
    "last_exit_code": _OPT_INT,
    "last_success_ended_at": _OPT_STR,
    "last_host": _OPT_STR,
    "consecutive_skips": _INT,
    "skips_from": (list, type(None)),
    "consecutive_failures": _INT,
    "status": _OPT_STR,
    "since": _OPT_STR,
    "failing_since": _OPT_STR,
    "last_success_id": _OPT_STR,
    "last_failure_id": _OPT_STR,
    "schedule": (dict, type(None)),
    "labels": (dict, type(None)),
    "newest_written": (dict, type(None)),
    "durations": (list, type(None)),
    "last_duration_check": (dict, type(None)),
}
# Values that hold no number that cannot be written back (floats are checked one by one).
_SCALARS = frozenset((str, int, bool, type(None)))
_REQUIRED = ("newest_run_id", "newest_status", "consecutive_skips", "consecutive_failures")


def state_path(task_path: str) -> str:
    return os.path.join(task_path, STATE)


def is_valid(state: object) -> bool:
    """True for a state this version can trust (its fold, right keys, right types).

    Asked of every task by every list, so one pass over the state's items: each
    known key's type, and every number finite (writable)."""
    if not isinstance(state, dict) or state.get("fold") != FOLD:
        return False
    if any(k not in state for k in _REQUIRED):
        return False
    for key, value in state.items():
        kind = type(value)
        types = _TYPES.get(key)
        # Exact types first (what JSON makes); a bool is no number here.
        if (
            types is not None
            and kind not in types
            and (kind is bool or not isinstance(value, types))
        ):
            return False
        # A number no write can carry (Infinity, 1e400) would fail the next write of the
        # state, and every run of the task with it.
        if kind is float:
            if value - value != 0.0:  # inf - inf and NaN - NaN are NaN
                return False
        elif kind not in _SCALARS and not writable(value):
            return False
    return True


def final_manifests(
    task_path: str, override: dict | None = None, without: object = None
) -> list[dict]:
    """Every finished run of the task that every reader can use, in folding order.

    One rule with the other readers (manifest.manifest_problem): a manifest with
    wrong-typed fields is no run here either. A `seq` above the task's counter
    was not given out by runwrap (a job's forgery, a hand edit): it is not believed.
    `override` stands for its run whatever the file says; run id `without` is left out.
    """
    runs = task_runs_dir(task_path)
    counter = seq_counter(task_path)
    found = {}
    for run_id in run_ids_in(runs):
        manifest = read_manifest(os.path.join(runs, run_id))
        if is_final(manifest) and manifest_problem(run_id, manifest) is None and run_id != without:
            seq = manifest.get("seq")
            if isinstance(seq, int) and counter is not None and seq > counter:
                manifest = dict(manifest, seq=None)
            found[run_id] = manifest
    if override is not None and is_final(override):
        found[override["run_id"]] = override
    return sorted(found.values(), key=order_key)


def rebuild_state(task_path: str, override: dict | None = None, without: object = None) -> dict:
    """The state the task's final manifests imply ({} for a task with none).

    Retention may have removed runs: counts are then what the kept runs show.
    """
    return fold(final_manifests(task_path, override, without))


def read_state(task_path: str) -> dict:
    """The task's state; when state.json is missing or cannot be trusted (an older
    version's fold, a broken file) it is rebuilt, and written back when this reader
    may (once, under the state lock: not again on every read), never into a gathered
    copy."""
    value = read_json(state_path(task_path))
    if _current(task_path, value):
        return value
    if is_gathered_copy(task_path) or _newer(value):
        # rsync's to write (no lock file, no cache made here); or a newer version's
        # (a fleet upgraded host by host), left to it: written over, it would fold every
        # task again after each of our reads.
        return rebuild_state(task_path)
    try:
        fd = _lock(task_path)
    except OSError:  # another user's ROOT, read-only: rebuilt in memory each time
        return rebuild_state(task_path)
    try:
        value = read_json(state_path(task_path))
        if _current(task_path, value):
            return value  # a run recorded it meanwhile
        if _newer(value):
            return rebuild_state(task_path)  # a newer version's, recorded meanwhile
        state = rebuild_state(task_path)
        if state:
            try:
                write_json_atomic(state_path(task_path), state, fsync=False)
            except OSError:
                pass  # a cache: the next reader rebuilds it again
        return state
    finally:
        os.close(fd)


def _newer(state: object) -> bool:
    """A state folded by a newer version of runwrap than this one."""
    fold = state.get("fold") if isinstance(state, dict) else None
    return isinstance(fold, int) and not isinstance(fold, bool) and fold > FOLD


def _current(task_path: str, state: object, runs_fd: int | None = None) -> bool:
    """A state this version can trust whose last run is still there (retention never
    removes it: one removed by hand makes the state wrong, to be folded again).
    `runs_fd`: the task's runs/, for a reader that holds it open (is_current)."""
    if not is_valid(state):
        return False
    last = state.get("last_run_id")  # type: ignore[union-attr]
    if last is None:
        return True
    try:
        if runs_fd is None:
            mode = os.lstat(os.path.join(task_runs_dir(task_path), last)).st_mode
        else:
            mode = os.stat(last, dir_fd=runs_fd, follow_symlinks=False).st_mode
        return stat.S_ISDIR(mode)
    except (OSError, ValueError):
        return False


def is_current(state: object, runs_fd: int) -> bool:
    """Whether a state.json's value, read by a reader holding the task's runs/ open
    (lookup.look_at_task), can be used as read_state() would return it, unread again."""
    return _current("", state, runs_fd)


def seq_counter(task_path: str) -> int | None:
    """The last run number runwrap gave out (the `seq` file), or None when unknown."""
    raw = read_regular(os.path.join(task_path, SEQ), 64)
    try:
        return int(raw.strip()) if raw is not None and raw.strip() else None
    except ValueError:
        return None


def apply_run(old: dict, task_path: str, manifest: dict) -> dict:
    """The state after `manifest`: folded on when its order allows, else rebuilt."""
    if old and order_key(manifest) in (state_key(old), last_key(old)):
        return old  # already recorded: a crash came after the state update
    if can_fold(old, manifest):
        return next_state(old, manifest)
    return rebuild_state(task_path, override=manifest)


def update_state(
    task_path: str,
    manifest: dict,
    extra: "Callable[[dict, dict], None] | None" = None,
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


def locked(task_path: str, action: "Callable[[], object]") -> object:
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
    import fcntl  # here: a reader whose state.json is current never locks (runwrap ls)

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
