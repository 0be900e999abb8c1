"""Retention: after each run, remove the oldest runs beyond --keep, --keep-days, --keep-size.

Order is not time: the oldest runs are the lowest by `seq` (taken under the
task's lock), never by run id, which is the wall clock at the start (a run
made while the clock was a year ahead is not the newest for a year).

Never removed: the latest success, the latest failure, the run just
finished, and any run that is not finished for sure: only a readable final
manifest makes a run removable (a run still running, being born, lost but
not yet finalized, or with a broken manifest is another runwrap's business).
A run is first renamed to a hidden name, then deleted, so readers never see
half a run; one this user cannot delete (another user's, say) is left in
place, not renamed, and said once.
"""

import os
import time

from runwrap.say import warn
from runwrap.store.layout import (
    MANIFEST,
    NEW_PREFIX,
    REMOVING_PREFIX,
    list_dir,
    list_run_ids,
    remove_tree,
    run_dir,
    run_id_time,
    runs_dir,
    task_dir,
)
from runwrap.store.manifest import FINISHED, read_manifest
from runwrap.store.openruns import open_runs
from runwrap.store.state import read_state

# The runs a task's state names: removing one would leave the state naming a run that is gone.
_NAMED = ("last_run_id", "last_success_id", "last_failure_id")


def _dir_size(path: str) -> int:
    total = 0
    stack = [path]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                continue
    return total


_STALE_BIRTH_S = 3600.0


def select_removals(
    run_ids: list[str],
    protected: set[str],
    keep: int | None,
    keep_days: float | None,
    keep_size: int | None,
    now: float,
    size_of: object = None,
) -> list[str]:
    """The run ids to remove, oldest first (a pure function, for testing and reuse).

    `run_ids` are given oldest first (by seq: apply_retention orders them), and
    that order is kept: never sorted by run id, the wall clock.
    """
    doomed: list[str] = []
    removable = [r for r in run_ids if r not in protected]
    if keep is not None and len(run_ids) > keep:
        excess = len(run_ids) - keep
        doomed.extend(removable[:excess])
    if keep_days is not None:
        cutoff = now - keep_days
        for run_id in removable:
            started = run_id_time(run_id)
            if started is not None and started < cutoff and run_id not in doomed:
                doomed.append(run_id)
    if keep_size is not None and callable(size_of):
        sizes = {r: size_of(r) for r in run_ids if r not in doomed}
        total = sum(sizes.values())
        for run_id in removable:
            if total <= keep_size:
                break
            if run_id not in doomed:
                doomed.append(run_id)
                total -= sizes.get(run_id, 0)
    rank = {r: i for i, r in enumerate(run_ids)}
    doomed.sort(key=rank.__getitem__)
    return doomed


def apply_retention(
    root: str,
    task: str,
    protected: set[str],
    keep: int | None,
    keep_days: float | None,
    keep_size: int | None,
    now: float | None = None,
) -> list[str]:
    """Remove what retention selects; return the removed run ids."""
    run_ids = list_run_ids(root, task)
    if keep is not None and len(run_ids) <= keep and keep_days is None and keep_size is None:
        return []
    now = time.time() if now is None else now
    manifests = {r: read_manifest(run_dir(root, task, r)) for r in run_ids}
    run_ids.sort(key=lambda r: (_seq(manifests[r]), r))  # oldest by seq first
    # Runs still open are another runwrap's; and what the state names now (read after
    # the markers: a run whose marker is gone is in it) stays, whoever recorded it:
    # a concurrent runwrap may have made another run the task's last since `protected`.
    unfinished = {run_id for run_id, _owner in open_runs(task_dir(root, task))}
    state = read_state(task_dir(root, task))
    protected = protected | {state.get(k) or "" for k in _NAMED}
    candidates = select_removals(
        run_ids,
        protected,
        keep,
        keep_days,
        keep_size,
        now,
        size_of=(lambda r: _dir_size(run_dir(root, task, r))) if keep_size is not None else None,
    )
    removed = []
    refused: list[str] = []
    for run_id in candidates:
        path = run_dir(root, task, run_id)
        manifest = read_manifest(path)
        if (
            run_id in unfinished
            or manifest is None
            or manifest.get("status") not in FINISHED
            or manifest.get("run_id") != run_id
        ):
            continue
        problem = _undeletable(runs_dir(root, task), path)
        if problem is not None:
            refused.append(f"{run_id} ({problem})")
            continue
        hidden = os.path.join(runs_dir(root, task), REMOVING_PREFIX + run_id)
        try:
            os.rename(path, hidden)
        except FileNotFoundError:
            continue  # another runwrap's retention took it first
        except OSError as e:
            refused.append(f"{run_id} ({e.strerror})")
            continue
        remove_tree(hidden)
        if os.path.lexists(hidden):  # changed under us (an immutable file, say): say so
            if os.path.lexists(os.path.join(hidden, MANIFEST)):
                try:  # still a whole record: back where readers see it
                    os.rename(hidden, path)
                except OSError:
                    pass
            refused.append(f"{run_id} (not all of it could be deleted)")
            continue
        removed.append(run_id)
    if refused:
        more = f" and {len(refused) - 1} more" if len(refused) > 1 else ""
        warn(f"retention of task {task}: cannot remove run {refused[0]}{more}; left in place")
    _sweep_hidden(runs_dir(root, task), unfinished, now)
    return removed


def _seq(manifest: dict | None) -> int:
    """A run's seq for ordering (0 when unknown: such a run is never removed anyway)."""
    seq = (manifest or {}).get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else 0


def _undeletable(runs_path: str, path: str) -> str | None:
    """Why this user cannot delete the run at `path` whole, or None.

    Checked before the run is renamed: a rename that works followed by a
    deletion that does not (another user's run: runs/ writable by the group, the
    run's own directories not) would leave a hidden, half-deleted run behind.
    A run gone meanwhile (another runwrap's retention) is not a problem.
    """
    try:
        st = os.lstat(runs_path)
        owner = os.lstat(path).st_uid
    except OSError:
        return None  # gone meanwhile: the rename will find out
    me = os.getuid()
    if not os.access(runs_path, os.W_OK | os.X_OK):
        return f"{runs_path} is not writable by this user"
    if me and st.st_mode & 0o1000 and owner not in (me, st.st_uid):
        return "another user's run in a sticky runs directory"
    stack = [path]
    while stack:
        here = stack.pop()
        try:
            with os.scandir(here) as it:
                below = [e.path for e in it if e.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            continue
        except OSError as e:
            return f"{here}: {e.strerror}"
        if not os.access(here, os.W_OK | os.X_OK) and os.path.lexists(here):
            return f"{here} is not writable by this user"
        stack.extend(below)
    return None


def _sweep_hidden(runs_path: str, unfinished: set[str], now: float) -> None:
    """Delete what a killed runwrap left hidden, never seen by readers.

    A retention killed mid-way leaves `.removing-*` (already chosen); a
    runwrap killed before its run's open marker leaves an empty `.new-*`:
    one without a marker, an hour old, will never be born.
    """
    for name in list_dir(runs_path):
        path = os.path.join(runs_path, name)
        if name.startswith(REMOVING_PREFIX):
            remove_tree(path)
        elif name.startswith(NEW_PREFIX) and name[len(NEW_PREFIX) :] not in unfinished:
            try:
                stale = now - os.lstat(path).st_mtime > _STALE_BIRTH_S
            except OSError:
                continue
            if stale:
                remove_tree(path)
