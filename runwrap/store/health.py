"""A task's health: the one rule that runwrap's CLI, the notifiers and sitegen share.

A run's status says whether the task is healthy (success), failing (failed,
timeout, killed, lost) or says nothing about it (skipped, running). A task's
health is that of its last run that said something, and it is dated from the
first run of the current streak: a failure followed by a timeout is one
failing period, not two.
"""

from __future__ import annotations

from runwrap.store.manifest import FAILING, SUCCESS

OK = "ok"
FAILING_HEALTH = "failing"


def health(status: object) -> str | None:
    """Return "ok", "failing", or None for a status that says nothing about health."""
    if status == SUCCESS:
        return OK
    if status in FAILING:
        return FAILING_HEALTH
    return None
