"""runwrap kill: stop a running run, through its runwrap when it has one.

Nothing here is taken from a file the job can write without checking it on
the processes themselves: the run's runwrap is named by the run's open
marker (outside the run directory), and believed only if that process is
alive with its recorded start time and is the parent of processes carrying
the run's tag (RUNWRAP_RUN_ID) in their environment, or (between two
attempts) holds the run's stdout.log open (store/owner.py). The
process group a non-forwarded signal goes to is the group one of those
processes leads, never the manifest's `pgid`. Anything else is refused,
whatever the manifest says: a job running as another user could otherwise
have root's `runwrap kill` signal a process of its choosing.
"""

from __future__ import annotations

import os
import time

from runwrap.commands.display import cell, mapping, print_json
from runwrap.errors import ExitCode, RunwrapError, StateError, UnreadableError
from runwrap.run import sig
from runwrap.say import warn
from runwrap.store.layout import STDOUT, is_run_id, task_dir, task_runs_dir
from runwrap.store.lookup import task_names, task_runs
from runwrap.store.notes import (
    clean_reason,
    operator,
    sweep_kill_notes,
    take_kill_note,
    write_kill_note,
)
from runwrap.store.openruns import markers, open_runs
from runwrap.store.owner import hostname, owner_alive, run_job_leaders
from runwrap.timefmt import iso


def _open(root: str, ref: str) -> tuple[str, list[tuple[str, dict, str]]]:
    """The task, and (run id, owner as its open marker records it, its stdout.log) of
    every unfinished run of `ref`."""
    try:
        task, run_ids = task_runs(root, ref)
        # runs/ resolved (ROOT may be named through a link), the run's own names not:
        # the job may have made them links.
        runs = os.path.realpath(task_runs_dir(task_dir(root, task)))
        log_path = {run_id: os.path.join(runs, run_id, STDOUT) for run_id in run_ids}
    except UnreadableError as unreadable:
        # runs/ cannot be read (a job may have swapped it for a link): the open markers,
        # outside it, still name the running runs, and the processes are checked anyway
        # (on the run's tag alone: its log is not looked for through the job's link).
        task, run_ids = _marked_instead(root, ref, unreadable)
        log_path = dict.fromkeys(run_ids, "")
    return task, [
        (run_id, mapping(owner), log_path[run_id])
        for run_id, owner in open_runs(task_dir(root, task))
        if run_id in log_path
    ]


def _marked_instead(root: str, ref: str, unreadable: UnreadableError) -> tuple[str, list[str]]:
    """(task, run ids) of `ref` as the open markers name them; `unreadable` again when
    they name none (not "not running": the task may be failing unseen)."""
    if is_run_id(ref):
        tasks = [t for t in task_names(root, note=False) if ref in _marked(root, t)]
        if len(tasks) == 1:
            return tasks[0], [ref]
    elif marked := _marked(root, ref):
        return ref, marked
    raise unreadable


def _marked(root: str, task: str) -> list[str]:
    return [run_id for run_id, _name in markers(task_dir(root, task))]


def _targets(run_id: str, owner: dict, signum: int, log_path: str) -> list[int] | None:
    """What to signal for run `run_id` (pids, or -pgid for groups); None if nothing checks out."""
    found = run_job_leaders(owner, run_id, log_path)
    if found is None:
        return None
    runwrap, children = found
    # runwrap passes TERM, INT and HUP on to the whole tree and records the run as
    # killed; any other signal goes to the job's groups directly (runwrap sees the job die).
    if signum in sig.FORWARDED:
        return [runwrap]
    groups = []
    for pid in children:
        try:
            if os.getpgid(pid) == pid:
                groups.append(-pid)
        except ProcessLookupError:
            continue
    return groups  # the job's session (runwrap's helpers lead none)


def cmd_kill(
    root: str, ref: str, signal_name: str, as_json: bool, reason: str | None = None
) -> int:
    """Stop running runs: the signal goes to their runwrap, which stops the group and records it.

    Each run is first given a kill note (who, and `reason`): its runwrap records
    the run as an operator's kill, which never pages as a failure (store/notes.py).
    """
    try:
        signum = sig.number(signal_name)
    except ValueError:
        raise RunwrapError(f"unknown signal {signal_name!r}; use TERM, INT, HUP, KILL...") from None
    task, runs = _open(root, ref)
    task_path = task_dir(root, task)
    by, at = operator(), iso(time.time())
    sweep_kill_notes(task_path, {run_id for run_id, _owner in open_runs(task_path)})
    killed, refused = [], []
    for run_id, owner, log_path in runs:
        if owner.get("host") not in (None, hostname()):
            raise StateError(f"run {run_id} runs on {cell(owner.get('host'))}; kill it there")
        targets = _targets(run_id, owner, signum, log_path)
        if targets is None:
            if owner_alive(owner) is True:
                refused.append(run_id)  # a live process the run's files name: not its runwrap
            continue
        write_kill_note(task_path, run_id, by, at, reason or "")
        sent = False
        for target in targets:
            try:
                os.kill(target, signum)
                sent = True
            except ProcessLookupError:
                continue
            except PermissionError:
                take_kill_note(task_path, run_id)
                raise StateError(
                    f"not allowed to signal run {run_id} (owned by another user)"
                ) from None
        if sent:
            killed.append(run_id)
        else:
            take_kill_note(task_path, run_id)  # nothing was signalled: no kill to explain
    for run_id in refused[1:] if not killed else refused:
        warn(f"run {run_id}: no job of it runs below the process its files name; not signalled")
    if not killed:
        if refused:
            raise StateError(
                f"run {refused[0]}: no job of it runs below the process its files name "
                "(changed by the job?); not signalled"
            )
        raise StateError(f"{ref} is not running")
    if as_json:
        print_json({"signal": sig.name(signum), "runs": killed, "by": by, "reason": reason})
    else:
        said = f": {clean_reason(reason)}" if reason else ""
        for run_id in killed:
            print(f"sent {sig.name(signum)} to run {run_id} (an operator's kill, by {by}{said})")
    return ExitCode.OK
