"""runwrap ack: acknowledge a failing task, so that it stops reminding.

The ack belongs to the current failure streak (store/notes.py): reminders
(`still-failing`) stop; the recovery, or a failure after it, is told as usual.
"""

from __future__ import annotations

import time

from runwrap.commands.display import print_json
from runwrap.errors import ExitCode, StateError, UnreadableError
from runwrap.store.layout import task_dir
from runwrap.store.lookup import task_exists
from runwrap.store.notes import operator, write_ack
from runwrap.store.query import task_record
from runwrap.store.tasknames import check_task_name
from runwrap.timefmt import iso


def cmd_ack(root: str, task: str, reason: str | None, as_json: bool) -> int:
    """Acknowledge the task's current failure; refused for a task that is not failing."""
    task_exists(root, check_task_name(task))
    record = task_record(root, task)
    if record.get("unreadable"):  # its state is not known: not "not failing" (exit 2, as show)
        raise UnreadableError(f"task {task!r} cannot be read: {record['unreadable']}")
    state = record["state"]
    since = state.get("failing_since")
    if not since or not state.get("consecutive_failures"):
        raise StateError(f"task {task} is not failing: nothing to acknowledge")
    note = write_ack(task_dir(root, task), operator(), iso(time.time()), reason or "", since)
    if as_json:
        print_json({"task": task, **note})
    else:
        said = f": {note['reason']}" if note["reason"] else ""
        print(f"acknowledged the failure of {task} (since {since}), by {note['by']}{said}")
    return ExitCode.OK
