"""Retention: after each run, remove the oldest runs beyond --keep, --keep-days, --keep-size.

Never removed: the latest success, the latest failure, the run just
finished, and any run still running. A run is first renamed to a hidden
name, then deleted, so readers never see half a run.
"""

from __future__ import annotations

import os
import time

from runwrap.manifest import RUNNING, read_manifest
from runwrap.paths import list_run_ids, run_dir, run_id_time, runs_dir
from runwrap.procs import owner_alive


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


def remove_tree(path: str) -> None:
    """rm -rf without importing shutil (which costs more than the deletion of a small run)."""
    try:
        entries = list(os.scandir(path))
    except NotADirectoryError:
        os.unlink(path)
        return
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                remove_tree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue
    try:
        os.rmdir(path)
    except OSError:
        pass


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
            manifest
            and manifest.get("status") == RUNNING
            and owner_alive(manifest.get("owner")) is not False
        ):
            continue
        hidden = os.path.join(runs_dir(root, task), f".removing-{run_id}")
        try:
            os.rename(path, hidden)
        except OSError:
            continue
        remove_tree(hidden)
        removed.append(run_id)
    return removed
