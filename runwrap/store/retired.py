"""Retired tasks: gone from every list until they run again (runwrap retire).

tasks/<task>/retired.json (one writer: runwrap retire) records the newest
run the task had when it was retired. The task is retired while it has no
newer run: a run of it after that brings it back, without anyone removing
the file (the next retire replaces it); a run going on brings it back at once.
"""

from __future__ import annotations

import os

from runwrap.store.fold import state_key
from runwrap.store.jsonio import read_json, write_json_atomic
from runwrap.store.layout import OPEN, RETIRED, STATE


def write_retired(task_path: str, state: dict, by: str, at: str) -> dict:
    """Retire the task as of the newest run `state` has folded."""
    seq, run_id = state_key(state)
    note = {"by": by, "at": at, "newest_seq": seq, "newest_run_id": run_id}
    write_json_atomic(os.path.join(task_path, RETIRED), note)
    return note


def retired_note(task_path: str) -> dict | None:
    """{by, at} of the task's retirement while it holds (is_retired), else None."""
    if not is_retired(task_path):
        return None
    note = read_json(os.path.join(task_path, RETIRED))
    if not isinstance(note, dict):
        return None
    return {"by": note.get("by"), "at": note.get("at")}


def is_retired(task_path: str) -> bool:
    """Whether the task is retired: retired.json says so, and no run came after it (none
    finished since, and none unfinished: retire is refused while one is, so an open
    marker is a run that began since)."""
    if not os.access(os.path.join(task_path, RETIRED), os.F_OK, follow_symlinks=False):
        return False  # the common case: one access(), raising nothing
    try:
        if os.listdir(os.path.join(task_path, OPEN)):
            return False
    except OSError:
        pass
    note = read_json(os.path.join(task_path, RETIRED))
    if not isinstance(note, dict):
        return False
    state = read_json(os.path.join(task_path, STATE))
    seq = note.get("newest_seq")
    run_id = note.get("newest_run_id")
    if not isinstance(seq, int) or not isinstance(run_id, str):
        return False
    return state_key(state if isinstance(state, dict) else {}) <= (seq, run_id)
