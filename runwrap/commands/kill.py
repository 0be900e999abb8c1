"""runwrap kill: stop a running run, through its runwrap when it has one."""

from __future__ import annotations

import os

from runwrap.commands.display import (
    cell,
    mapping,
    print_json,
)
from runwrap.errors import ExitCode, RunwrapError, StateError
from runwrap.run import sig
from runwrap.store.lookup import (
    task_runs,
)
from runwrap.store.manifest import RUNNING
from runwrap.store.owner import hostname, owner_alive
from runwrap.store.query import unfinished_runs


def _running(root: str, ref: str) -> list[tuple[str, dict]]:
    """(run id, manifest) of every run of `ref` (a task or a run id) that is running now."""
    task, run_ids = task_runs(root, ref)
    wanted = set(run_ids)
    return [
        (m["run_id"], m)
        for m in unfinished_runs(root, task)
        if m["status"] == RUNNING and m.get("run_id") in wanted
    ]


def _process_id(value: object) -> int | None:
    """A pid or pgid from a manifest that is safe to signal: never 0, 1, ours, nor a bool.

    The manifest lies in a directory the job can write: kill(-1) would reach
    every process we may signal, kill(0) our own group.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 1 < value < 2**31:
        return None
    return None if value in (os.getpid(), os.getpgrp()) else value


def cmd_kill(root: str, ref: str, signal_name: str, as_json: bool) -> int:
    """Stop running runs: the signal goes to their runwrap, which stops the group and records it."""
    try:
        signum = sig.number(signal_name)
    except ValueError:
        raise RunwrapError(f"unknown signal {signal_name!r}; use TERM, INT, HUP, KILL...") from None
    runs = _running(root, ref)
    if not runs:
        raise StateError(f"{ref} is not running")
    killed = []
    for run_id, m in runs:
        owner = mapping(m.get("owner"))
        if owner.get("host") != hostname():
            raise StateError(f"run {run_id} runs on {cell(owner.get('host'))}; kill it there")
        # runwrap passes TERM, INT and HUP on to the whole group and records the run as
        # killed; any other signal goes to the group directly (runwrap sees the job die).
        if signum in sig.FORWARDED:
            target = _process_id(owner.get("pid"))
        else:
            group = _process_id(m.get("pgid"))
            if group is None:
                raise StateError(
                    f"run {run_id} records no usable process group ({cell(m.get('pgid'), 24)}); "
                    f"send TERM instead: runwrap kill {run_id}"
                )
            target = -group
        if not target or owner_alive(owner) is False:
            continue
        try:
            os.kill(target, signum)
        except ProcessLookupError:
            continue
        except PermissionError:
            raise StateError(
                f"not allowed to signal run {run_id} (owned by another user)"
            ) from None
        killed.append(run_id)
    if not killed:
        raise StateError(f"{ref} is not running")
    if as_json:
        print_json({"signal": sig.name(signum), "runs": killed})
    else:
        for run_id in killed:
            print(f"sent {sig.name(signum)} to run {run_id}")
    return ExitCode.OK
