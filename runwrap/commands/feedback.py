"""runwrap feedback and runwrap parse: a run's, or a file's, feedback values as JSON."""

from __future__ import annotations

import os

from runwrap.commands.display import (
    mapping,
    print_json,
)
from runwrap.errors import ExitCode, RunwrapError
from runwrap.store.feedbacklog import parse_bytes, read_like_taskwatcher
from runwrap.store.layout import FEEDBACK, RUNS
from runwrap.store.lookup import (
    Unreadable,
    load_run,
    open_regular,
    read_fd,
)
from runwrap.store.manifest import RUNNING
from runwrap.store.query import find_run

MAX_FEEDBACK = 64 * 1024 * 1024  # beyond this, the manifest's copy of the values is shown


def cmd_feedback(root: str, ref: str) -> int:
    """The feedback values of a run: live from the file while it runs, else from the manifest."""
    task, run_id = find_run(root, ref)
    manifest = load_run(root, task, run_id)
    values = mapping(manifest.get("feedback"))
    if manifest["status"] == RUNNING:
        live = _live_feedback(root, task, run_id)
        values = values if live is None else live
    print_json(values)
    return ExitCode.OK


def _live_feedback(root: str, task: str, run_id: str) -> dict | None:
    """The values in the run's feedback file, or None if it is missing or not a regular file."""
    try:
        fd = open_regular(root, task, RUNS, run_id, FEEDBACK)
    except (FileNotFoundError, Unreadable):
        return None  # the manifest's copy (kept current by runwrap) stands in
    try:
        return parse_bytes(read_fd(fd, MAX_FEEDBACK, FEEDBACK))
    except (OSError, Unreadable):
        return None
    finally:
        os.close(fd)


def cmd_parse(path: str) -> int:
    """A feedback file's values (taskwatcher's parse)."""
    try:
        with open(path, "rb") as f:
            values = read_like_taskwatcher(f.read)  # streamed: any size, bounded memory
    except OSError as e:
        raise RunwrapError(f"cannot read feedback file {path}: {e.strerror}") from None
    print_json(values)
    return ExitCode.OK
