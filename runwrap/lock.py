"""The overlap guard: an flock on the task's lock file.

The lock's descriptor is close-on-exec, so it never leaks into the job: a
job that leaves a background child behind does not keep the task locked
(the classic trap of `flock LOCK cmd &`).
"""

from __future__ import annotations

import fcntl
import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

SKIP = "skip"
WAIT = "wait"
ALLOW = "allow"
POLICIES = (SKIP, WAIT, ALLOW)

_POLL_START = 0.02
_POLL_MAX = 0.2


def open_lock(path: str, fallback: str) -> int:
    """A descriptor to flock for the lock file `path` (created if missing).

    Everything under ROOT may have been made by a job: a symlink is never
    followed, and when `path` cannot be opened as a file (a directory, a
    symlink) the directory `fallback` is locked instead. Every runwrap that
    meets the same broken file makes the same choice, so the lock still works.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o644)
    except OSError:
        return os.open(fallback, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


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
