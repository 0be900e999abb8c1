"""Retention: after each run, remove the oldest runs beyond --keep, --keep-days, --keep-size.

Never removed: the latest success, the latest failure, the run just
finished, and any run that is not finished for sure: only a readable final
manifest makes a run removable (a run still running, being born, lost but
not yet finalized, or with a broken manifest is another runwrap's business).
A run is first renamed to a hidden name, then deleted, so readers never see
half a run.
"""

from __future__ import annotations

import os
import time

from runwrap.store.layout import (
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
    """The run ids to remove, oldest first (a pure function, for testing and reuse)."""
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
    doomed.sort()
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
        hidden = os.path.join(runs_dir(root, task), REMOVING_PREFIX + run_id)
        try:
            os.rename(path, hidden)
        except OSError:
            continue
        remove_tree(hidden)
        removed.append(run_id)
    _sweep_hidden(runs_dir(root, task), unfinished, now)
    return removed


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
