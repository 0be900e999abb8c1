"""The overlap guard: an flock on the task's lock file.

The lock's descriptor is close-on-exec, so it never leaks into the job: a
job that leaves a background child behind does not keep the task locked
(the classic trap of `flock LOCK cmd &`).
"""

from __future__ import annotations

import fcntl
import os
import time

from runwrap.settings import ALLOW, SKIP
from runwrap.store.layout import open_lock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

_POLL_START = 0.02
_POLL_MAX = 0.2


class TaskLock:
    """An exclusive flock held on `path` until release() (or until the process dies)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = open_lock(path, os.path.dirname(path) or ".")

    def try_acquire(self) -> bool:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing drops the flock
            self.fd = -1


def acquire(
    path: str,
    policy: str,
    wait_timeout: float | None,
    interrupted: Callable[[], bool] | None = None,
) -> TaskLock | None:
    """Take the guard under `policy`; None when the run must be skipped.

    With `wait`, polls with a growing interval (at most 0.2 s) so that a
    signal or the bound ends the wait cleanly; `interrupted()` is checked
    between tries.
    """
    if policy == ALLOW:
        return _NoLock()
    lock = TaskLock(path)
    if lock.try_acquire():
        return lock
    if policy == SKIP:
        lock.release()
        return None
    deadline = None if wait_timeout is None else time.monotonic() + wait_timeout
    delay = _POLL_START
    while True:
        if interrupted is not None and interrupted():
            lock.release()
            return None
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            lock.release()
            return None
        pause = delay if deadline is None else min(delay, deadline - now)
        time.sleep(pause)
        delay = min(delay * 2, _POLL_MAX)
        if lock.try_acquire():
            return lock


class _NoLock(TaskLock):
    """The guard of `--overlap allow`: nothing held."""

    def __init__(self) -> None:
        self.path = ""
        self.fd = -1

    def try_acquire(self) -> bool:
        return True
