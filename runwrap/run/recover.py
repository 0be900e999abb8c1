"""Runs a dead runwrap left unfinished: stop what is left of the job, record the run as lost.

Done by the watcher as soon as its runwrap dies (watcher.py), and by the
next run of the task for anything the watcher could not do (it was killed
too, or the host rebooted). A run is never left `running` without an owner.
"""

from __future__ import annotations

import os
import stat
import time

from runwrap.run import contain
from runwrap.run.record import record_run
from runwrap.store.layout import NEW_PREFIX, remove_tree, task_runs_dir
from runwrap.store.manifest import (
    LOST,
    RUNNING,
    mark_lost,
    new_manifest,
    read_manifest,
    write_manifest,
)
from runwrap.store.openruns import clear_open, marker_age, open_runs
from runwrap.store.owner import owner_alive
from runwrap.store.state import is_final

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.settings import RunOptions

_STALE_CLAIM_S = 3600.0
_UNREADABLE = "the run's record was unreadable when its runwrap was found gone"


def finalize_orphans(
    task_path: str, opts: RunOptions | None = None, grace: float = 5.0
) -> list[str]:
    """Finalize every open run of the task whose runwrap is gone; the run ids."""
    done = []
    for run_id, owner in open_runs(task_path):
        alive = owner_alive(owner)
        if alive is None:
            # A marker that cannot tell (unreadable, wrong-typed): the manifest may.
            manifest = read_manifest(os.path.join(task_runs_dir(task_path), run_id))
            alive = owner_alive(manifest.get("owner") if manifest else None)
            if manifest is None and _stale_claim(task_path, run_id):
                alive = False
        if alive is False:
            try:
                finalize_orphan(task_path, run_id, opts, grace)
            except OSError:
                continue  # cannot be written now: its marker stays, the next run tries again
            done.append(run_id)
    return done


def finalize_orphan(
    task_path: str,
    run_id: str,
    opts: RunOptions | None,
    grace: float,
    reason: str | None = None,
) -> None:
    """Stop the run's leftover processes, make its record final (lost), record it, unmark it."""
    contain.stop_tagged(run_id, grace)
    runs = task_runs_dir(task_path)
    path = os.path.join(runs, run_id)
    manifest = read_manifest(path)
    if manifest is None:
        remove_tree(os.path.join(runs, NEW_PREFIX + run_id))  # a birth never completed
        if _is_real_dir(path):
            manifest = new_manifest(
                task=os.path.basename(task_path), run_id=run_id, status=LOST, reason=_UNREADABLE
            )
            write_manifest(path, manifest)
    elif manifest.get("status") == RUNNING:
        last_sign = manifest.get("heartbeat_at") or manifest.get("started_at")
        manifest = mark_lost(manifest, last_sign if isinstance(last_sign, str) else None, reason)
        # Whatever a broken record said, the run is the one its directory names.
        manifest["run_id"], manifest["task"] = run_id, os.path.basename(task_path)
        write_manifest(path, manifest)
    if manifest is not None and is_final(manifest):
        record_run(opts, task_path, path, manifest)
    clear_open(task_path, run_id)


def _stale_claim(task_path: str, run_id: str) -> bool:
    """A marker without a readable owner, run or birth, an hour old: a runwrap killed
    between creating it and writing it. Nothing will ever come of it."""
    runs = task_runs_dir(task_path)
    if os.path.lexists(os.path.join(runs, run_id)):
        return False
    if os.path.lexists(os.path.join(runs, NEW_PREFIX + run_id)):
        return False
    return marker_age(task_path, run_id, time.time()) > _STALE_CLAIM_S


def _is_real_dir(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False
