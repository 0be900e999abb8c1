"""Atomic replacement of OUT's files, and the temp files a killed sitegen leaves behind.

Every file sitegen writes into OUT is first written to a temp file in the same
directory, then renamed into place: a reader never sees half a file. Temp
names are hidden (`.sitegen-tmp.<pid>.<n>`: nginx serves no dot file) and
carry the writer's pid, so that what a killed sitegen left can be told from
what a live one is writing, and swept: the build sweeps the directories it
rewrites whole (see Site and Writer).
"""

from __future__ import annotations

import itertools
import os

from runwrap.store.owner import proc_stat

PREFIX = ".sitegen-tmp."
_pid = os.getpid()  # asked once, not for every file (a forked worker asks again)


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


class Scratch:
    """Temp files next to their destination, and atomic replacement of OUT's files."""

    def __init__(self) -> None:
        self._count = itertools.count()

    def path(self, dest: str) -> str:
        """A fresh temp path in dest's directory (forked workers have their own pid)."""
        name = f"{PREFIX}{_pid}.{next(self._count)}"
        return os.path.join(os.path.dirname(dest), name)

    def create(self, dest: str) -> tuple[int, str]:
        """(fd, path) of a new empty temp file for `dest`, making its directory if needed."""
        path = self.path(dest)
        try:
            return os.open(path, _CREATE, 0o644), path
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            return os.open(path, _CREATE, 0o644), path

    def write(self, dest: str, data: bytes, *more: bytes) -> None:
        """Atomically replace `dest` with `data` (and `more` after it: no joined copy of
        a large file), making its directory if needed."""
        fd, tmp = self.create(dest)
        try:
            for chunk in (data, *more):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
        except BaseException:
            os.close(fd)
            unlink(tmp)
            raise
        os.close(fd)
        self.place(tmp, dest)

    def place(self, tmp: str, dest: str) -> None:
        """Rename a finished temp file to `dest` (or remove it if that fails)."""
        try:
            os.replace(tmp, dest)
        except OSError as e:
            unlink(tmp)
            # Name the file in OUT that could not be written, not our temp file.
            raise type(e)(e.errno, e.strerror, dest) from None
        except BaseException:
            unlink(tmp)
            raise


def sweep(directory: str) -> None:
    """Remove the temp files that sitegen processes now gone left in `directory`."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if is_leftover(name):
            unlink(os.path.join(directory, name))


def is_temp(name: str) -> bool:
    """Whether a file name is one of sitegen's temp files."""
    return name.startswith(PREFIX)


def is_leftover(name: str) -> bool:
    """A temp file whose writer is gone (a live one may be renaming it right now)."""
    if not is_temp(name):
        return False
    pid = name[len(PREFIX) :].split(".", 1)[0]
    return not (pid.isdigit() and _alive(int(pid)))


def _alive(pid: int) -> bool:
    """Whether a process may still write: it exists and is not a zombie (an orphan whose
    reaping an init process may put off for a while)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process
    fields = proc_stat(pid)  # the store's one reader of /proc/<pid>/stat
    if fields is None:
        return True  # no /proc here (or it just went): kill() said it existed
    return fields[0] != b"Z"


def unlink(path: str) -> None:
    """Remove a file that may already be gone."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
