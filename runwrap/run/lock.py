"""The overlap guard: a lock on the task's lock file, or a claim file.

Three kinds (`--lock`, docs/engines.md): `flock`; `fcntl`, a POSIX lock
on the open file description (F_OFD_SETLK: like flock it is shared with the
watcher across fork, and NFS carries it to the server's lock manager even
where it keeps flock on each client, `local_lock=flock`); and `claim`, a
file made whole by link() and held by the run's lease, for storage whose
locks never leave the client (`local_lock=all`, `nolock`). `auto` picks by
the storage (mountinfo, read only for a filesystem on no block device).

The lock's descriptor is close-on-exec, so it never leaks into the job: a
job that leaves a background child behind does not keep the task locked
(the classic trap of `flock LOCK cmd &`).

The lock is the file at its path, not the file runwrap happened to open: a
lock file removed or replaced (by a job, or by a cleaner going by its age)
would let the next runwrap lock a new file and run beside the holder. So a
runwrap that has locked checks that the path still names what it locked,
and locks again if not; and the holder, every tick, puts a file it holds
back at the path when the path lost it (keep()).
"""

import fcntl
import os
import stat
import time

from runwrap.settings import ALLOW, LOCK_AUTO, LOCK_CLAIM, LOCK_FCNTL, LOCK_FLOCK, SKIP
from runwrap.store.layout import open_lock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

_POLL_START = 0.02
_POLL_MAX = 0.2
_RELOCKS = 100  # a path replaced this many times in a row is someone's loop: hold what we have


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


class TaskLock:
    """An exclusive flock (or fcntl lock) held on `path` until release() (or until the
    process dies)."""

    def __init__(self, path: str, kind: str = LOCK_FLOCK) -> None:
        self.path = path
        self.kind = kind
        self.fd = open_lock(path, self._fallback())

    def _lock(self, fd: int) -> None:
        """Lock `fd` exclusively, not waiting (BlockingIOError when someone holds it)."""
        if self.kind == LOCK_FCNTL and stat.S_ISREG(os.fstat(fd).st_mode):
            _ofd_lock(fd)
        else:  # flock, or the directory fallback (a directory cannot be write-locked)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _fallback(self) -> str:
        return os.path.dirname(self.path) or "."

    def _named(self) -> bool:
        """True if the path (or, for a lock that fell back to it, the directory) names our fd."""
        try:
            held = os.fstat(self.fd)
            named = self.path if stat.S_ISREG(held.st_mode) else self._fallback()
            return _identity(os.stat(named, follow_symlinks=False)) == _identity(held)
        except OSError:
            return False

    def try_acquire(self) -> bool:
        for _ in range(_RELOCKS):
            try:
                self._lock(self.fd)
            except BlockingIOError:
                return False
            if self._named():
                return True
            # Locked a file no longer at the path: whoever holds the path's file
            # is the one to be excluded by. Lock that one instead.
            os.close(self.fd)
            self.fd = open_lock(self.path, self._fallback())
        return True

    def keep(self) -> None:
        """Put a file we hold back at the path if it was removed or replaced there.

        Made under another name, locked, then renamed over the path: anyone
        who locked a file at the path meanwhile finds, when it checks, that
        the path names ours now, and locks ours (and waits, or skips).
        """
        if self.fd < 0 or self._named():
            return
        try:
            if not stat.S_ISREG(os.fstat(self.fd).st_mode):
                return  # the directory fallback: nothing to put back
            spare = f"{self.path}.{os.getpid()}"
            flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(spare, flags, 0o644)
        except OSError:
            return  # no room, or read-only: the old file still guards those who have it
        try:
            self._lock(fd)
            os.rename(spare, self.path)
        except OSError:
            os.close(fd)
            try:
                os.unlink(spare)
            except OSError:
                pass
            return
        os.close(self.fd)  # the old file is at no path: nobody can lock it any more
        self.fd = fd

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing drops the flock
            self.fd = -1


def _ofd_lock(fd: int) -> None:
    """F_OFD_SETLK of the whole file for writing; BlockingIOError when it is held."""
    import struct  # only for --lock fcntl

    # struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for OFD locks).
    request = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, request)
    except OSError as e:
        if e.errno in (11, 13):  # EAGAIN, EACCES: held by someone else
            raise BlockingIOError(e.errno, e.strerror) from None
        raise


def lock_kind(kind: str, path: str) -> str:
    """The kind of lock `kind` means for the lock file `path` (`auto` decided here).

    A filesystem on a block device is local: flock. Otherwise (NFS, tmpfs,
    overlay...) the mount's options in /proc/self/mountinfo decide: NFS
    mounted with local flocks (`local_lock=flock`) gets fcntl, which still
    reaches the server; NFS with no server locks at all (`local_lock=all`,
    `nolock`) gets the claim file.
    """
    if kind != LOCK_AUTO:
        return kind
    try:
        dev = os.stat(os.path.dirname(path) or ".").st_dev
    except OSError:
        return LOCK_FLOCK
    if os.major(dev) != 0:
        return LOCK_FLOCK
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return LOCK_FLOCK
    return kind_on_mount(lines, f"{os.major(dev)}:{os.minor(dev)}")


def kind_on_mount(lines: list[str], wanted: str) -> str:
    """The lock for the filesystem `wanted` (major:minor) by mountinfo's `lines`."""
    for line in lines:
        fields = line.split()
        if len(fields) < 7 or fields[2] != wanted or "-" not in fields[6:]:
            continue
        sep = fields.index("-", 6)
        if not fields[sep + 1 : sep + 2] or not fields[sep + 1].startswith("nfs"):
            return LOCK_FLOCK
        options = set(",".join([fields[5], *fields[sep + 3 : sep + 4]]).split(","))
        if "nolock" in options or "local_lock=all" in options:
            return LOCK_CLAIM
        if "local_lock=flock" in options:
            return LOCK_FCNTL
        return LOCK_FLOCK
    return LOCK_FLOCK


def acquire(
    path: str,
    policy: str,
    wait_timeout: float | None,
    interrupted: "Callable[[], bool] | None" = None,
    kind: str = LOCK_AUTO,
    lease: float | None = None,
) -> "TaskLock | None":
    """Take the guard under `policy`; None when the run must be skipped.

    With `wait`, polls with a growing interval (at most 0.2 s) so that a
    signal or the bound ends the wait cleanly; `interrupted()` is checked
    between tries. `kind` is --lock; `lease` the run's (for a claim).
    """
    if policy == ALLOW:
        return _NoLock()
    kind = lock_kind(kind, path)
    if kind == LOCK_CLAIM:
        from runwrap.run.claim import ClaimLock

        lock: TaskLock = ClaimLock(path, lease)
    else:
        lock = TaskLock(path, kind)
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

    def keep(self) -> None:
        pass
