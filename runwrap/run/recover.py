"""Runs a dead runwrap left unfinished: stop what is left of the job, record the run as lost.

Done by the watcher as soon as its runwrap dies (watcher.py), and by the
next run of the task, on any host, for anything the watcher could not do (it
was killed too, the host rebooted, or the host or pod is gone for good: then
the run's lease tells, store/owner.py). A run is never left `running`
without an owner, and of all who find it orphaned one finalizes it.
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
from runwrap.store.openruns import (
    TAKEN,
    clear_open,
    marker_age,
    marker_owner,
    marker_path,
    markers,
    take,
)
from runwrap.store.owner import CLAIM_STALE_S, owner_alive, taker_alive
from runwrap.store.state import is_final
from runwrap.units import format_duration

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
    now = time.time()
    for run_id, name in markers(task_path):
        gone, reason = _orphaned(task_path, run_id, name, now)
        if not gone:
            continue
        try:
            if finalize_orphan(task_path, run_id, opts, grace, reason, marker=name):
                done.append(run_id)
        except OSError:
            continue  # cannot be written now: its marker is back, the next run tries again
    return done


def _orphaned(task_path: str, run_id: str, name: str, now: float) -> tuple[bool, str | None]:
    """(whether run `run_id`'s owner is gone, why when it was judged by its lease)."""
    if name != run_id:  # a claim (openruns.take): is its taker gone?
        alive = taker_alive(name.partition(TAKEN)[2])
        if alive is None:
            return marker_age(task_path, name, now) > CLAIM_STALE_S, None
        return not alive, None
    owner = _usable(marker_owner(task_path, name))
    alive = owner_alive(owner)
    if alive is not None:
        return not alive, None
    # A marker that cannot tell (unreadable, wrong-typed): the manifest may.
    manifest = read_manifest(os.path.join(task_runs_dir(task_path), run_id))
    if not isinstance(owner, dict):
        owner = _usable(manifest.get("owner") if manifest else None)
        alive = owner_alive(owner)
        if alive is not None:
            return not alive, None
        if manifest is None and _stale_claim(task_path, run_id):
            return True, None
    if not isinstance(owner, dict):
        return False, None
    # Its owner is on another host, or in another PID namespace: the lease tells
    # (hosts.py, imported only here: the common run never needs it).
    from runwrap.store.hosts import lease_lapsed

    age = marker_age(task_path, run_id, now)
    if manifest is not None and manifest.get("status") != RUNNING:
        # Final already: its owner is recording it (notices may take a while).
        return age > CLAIM_STALE_S, None
    if not lease_lapsed(owner, now - age, os.path.dirname(marker_path(task_path, run_id))):
        return False, None
    host = owner.get("host")
    where = f"on {host} " if isinstance(host, str) and host else ""
    return True, (
        f"runwrap {where}stopped renewing the run's lease {format_duration(age)} ago "
        "(its host or container died, or lost ROOT); the job's outcome is unknown"
    )


def _usable(owner: object) -> dict | None:
    """An owner record of the right shape, else None: a wrong-typed one (a host that is
    not a string) must not read as another host's, whose lease would then be waited for."""
    if (
        isinstance(owner, dict)
        and isinstance(owner.get("host"), str)
        and isinstance(owner.get("pid"), int)
        and not isinstance(owner.get("pid"), bool)
    ):
        return owner
    return None


def finalize_orphan(
    task_path: str,
    run_id: str,
    opts: RunOptions | None,
    grace: float,
    reason: str | None = None,
    marker: str = "",
) -> bool:
    """Stop the run's leftover processes, make its record final (lost), record it, unmark it.

    The run's marker (`marker`, by default the run id) is claimed first
    (openruns.take): of all the processes that find the run orphaned (its
    watcher, the next runs of the task on any host), one finalizes it, and
    its notice goes out once. False when another one won.
    """
    claim = take(task_path, marker or run_id)
    if claim is None:
        return False
    try:
        _finalize(task_path, run_id, opts, grace, reason)
    except OSError:
        try:  # the next run tries again, without waiting for the claim to go stale
            os.rename(marker_path(task_path, claim), marker_path(task_path, run_id))
        except OSError:
            pass
        raise
    clear_open(task_path, claim)
    return True


def _finalize(
    task_path: str, run_id: str, opts: RunOptions | None, grace: float, reason: str | None
) -> None:
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
