"""What "find a run" searches: the few words of a run that people remember it by.

One rule for `runwrap history --grep` and the dashboard's search index
(sitegen/publish/search.py): the task's name, the run's labels, its reason,
its feedback values and, for a run that went wrong, the last lines of its
stderr. A log is never read whole: only its last TAIL_BYTES, so that a run
of gigabytes costs what a small one does.
"""

from __future__ import annotations

import os

from runwrap.store.layout import STDERR
from runwrap.store.logtail import Tail, last_of
from runwrap.store.manifest import FAILING

TAIL_LINES = 10
TAIL_BYTES = 4096
LINE_MAX = 300
FIELD_MAX = 300


def log_tail(
    path: str, lines: int = TAIL_LINES, limit: int = TAIL_BYTES, tail: Tail | None = None
) -> list[str]:
    """The last `lines` non-blank lines of a log, read from its last `limit` bytes only
    (a line cut by that start is dropped, unless it is the only one: then its end is
    kept); [] when it cannot be read. `tail`: the log as read already (logtail.py)."""
    tail = last_of(tail, path, limit)
    if tail is None:
        return []
    start, data = tail.start, tail.data
    text = data.decode("utf-8", "replace").splitlines()
    if start > 0 and len(text) > 1:
        text = text[1:]  # cut by where the reading began
    elif start > 0 and text:
        text = [text[0][-LINE_MAX:]]  # one line longer than what is read: its end is news
    kept = [ln[:LINE_MAX] for ln in text if ln.strip()]
    return kept[-lines:] if lines else kept


def _pairs(value: object) -> list[str]:
    if not isinstance(value, dict):
        return []
    return [f"{str(k)[:FIELD_MAX]}={str(v)[:FIELD_MAX]}" for k, v in list(value.items())[:50]]


def run_fields(task: str, manifest: dict) -> list[str]:
    """The searchable words of a run that its manifest holds."""
    found = [task]
    found += _pairs(manifest.get("labels"))
    reason = manifest.get("reason")
    if isinstance(reason, str) and reason:
        found.append(reason[:FIELD_MAX])
    found += _pairs(manifest.get("feedback"))
    return found


def went_wrong(manifest: dict) -> bool:
    status = manifest.get("status")
    return isinstance(status, str) and status in FAILING


def run_text(
    task: str, manifest: dict, run_path: str | None, stderr: Tail | None = None
) -> list[str]:
    """run_fields(), and for a run that went wrong its stderr's last lines (`stderr`: as
    read already, logtail.py)."""
    found = run_fields(task, manifest)
    if run_path is not None and went_wrong(manifest):
        found += log_tail(os.path.join(run_path, STDERR), tail=stderr)
    return found


def matches(lines: list[str], needle: str) -> bool:
    """Whether `needle` is in one of the lines, case aside."""
    folded = needle.casefold()
    return any(folded in line.casefold() for line in lines)
