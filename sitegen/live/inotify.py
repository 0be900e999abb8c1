"""inotify on the directories of ROOT that can still change, and no others.

A finished run never changes again, so its directory needs no watch: ROOT,
tasks/, each task, its runs/ and open/ are watched, and a run directory only
while its run is unfinished (an open marker names it, or it just appeared);
`keep_runs` drops the others after each update. The number of watches is
then a few per task, whatever the history's size (watchdog's recursive
observer takes one per directory: 100,000 at 100,000 runs).

Linux only, through ctypes (the C library's inotify calls); `--poll`, or a
system without inotify, polls the same directories' signatures (watch.py).
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import struct

from runwrap.store.layout import OPEN, RUNS, TASKS, is_run_id, list_dir

IN_CLOSE_WRITE = 0x8
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_EXCL_UNLINK = 0x04000000
IN_ISDIR = 0x40000000
# No opens, reads or per-write modifications (our own builds read every file, a chatty
# job writes its log all the time): a manifest arrives by rename, a log is looked at on
# close; a watch never follows a link (but the one on ROOT: see cover).
MASK = (
    IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
    | IN_DONT_FOLLOW
    | IN_EXCL_UNLINK
)
_GONE = IN_DELETE | IN_MOVED_FROM
_CAME = IN_CREATE | IN_MOVED_TO
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, name length
# What a watch is on: ("root",), ("tasks",), ("task", t), ("runs", t), ("open", t), ("run", t, r)
Where = tuple[str, ...]
# Failures that mean "not there, or not a directory we may watch": no watch, no error.
_MISSING = (errno.ENOENT, errno.ENOTDIR, errno.EACCES, errno.ELOOP, errno.EPERM)


class Inotify:
    """An inotify instance: watches by place, events as (place, mask, name)."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self._add = libc.inotify_add_watch
        self._add.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)
        self._rm = libc.inotify_rm_watch
        self._rm.argtypes = (ctypes.c_int, ctypes.c_int)
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            e = ctypes.get_errno()
            raise OSError(e, f"inotify: {os.strerror(e)}")
        self.fd: int = fd
        self.places: dict[int, Where] = {}
        self.wds: dict[Where, int] = {}
        self.full = False  # a watch was refused (the user's limit): some changes go unseen
        self.why = ""

    def add(self, where: Where, path: str, follow: bool = False) -> bool:
        """Watch the directory `path` as `where`; False when it is not there (or a link,
        unless `follow`)."""
        mask = MASK & ~IN_DONT_FOLLOW if follow else MASK
        wd = self._add(self.fd, os.fsencode(path), mask)
        if wd < 0:
            e = ctypes.get_errno()
            if e in _MISSING:
                return False
            # Refused for another reason (the watch limit, kernel memory, a name too
            # long): the watcher falls back to rescans rather than stop.
            self.full = True
            if e == errno.ENOSPC:
                self.why = "fs.inotify.max_user_watches reached"
            else:
                self.why = f"a watch refused ({os.strerror(e)})"
            return False
        self.places[wd] = where
        self.wds[where] = wd
        return True

    def remove(self, where: Where) -> None:
        wd = self.wds.pop(where, None)
        if wd is not None:
            self.places.pop(wd, None)
            self._rm(self.fd, wd)  # fails only when the kernel dropped it already

    def remove_under(self, where: Where) -> None:
        """Forget the watches on `where` and below (ROOT, a task or its runs/ went away)."""
        kinds = {"root": None, "task": ("task", "runs", "open", "run"), "runs": ("runs", "run")}
        inside = kinds[where[0]]
        for place in list(self.wds):
            if inside is None or (place[0] in inside and place[1] == where[1]):
                self.remove(place)

    def wait(self, timeout: float) -> bool:
        """Whether events are waiting, after at most `timeout` seconds."""
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        return bool(poller.poll(max(0, int(timeout * 1000))))

    def read(self) -> list[tuple[Where | None, int, str]]:
        """The events waiting: (place, mask, name); place None for a queue overflow."""
        events: list[tuple[Where | None, int, str]] = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return events
            offset = 0
            while offset < len(data):
                wd, mask, _cookie, size = _HEADER.unpack_from(data, offset)
                start = offset + _HEADER.size
                name = os.fsdecode(data[start : start + size].rstrip(b"\0"))
                offset = start + size
                if mask & IN_Q_OVERFLOW:
                    events.append((None, mask, ""))
                elif mask & IN_IGNORED:  # the directory went, or we removed the watch
                    place = self.places.pop(wd, None)
                    if place is not None and self.wds.get(place) == wd:
                        del self.wds[place]
                elif wd in self.places:
                    events.append((self.places[wd], mask, name))

    def close(self) -> None:
        os.close(self.fd)


class RootWatch:
    """The watches on one ROOT; `changes()` turns events into the tasks and runs they touch."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.ino = Inotify()
        self.runs: set[tuple[str, str]] = set()  # the run directories watched

    def _path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def cover(self) -> None:
        """Watch ROOT and everything under it worth watching (each parent before its
        children are listed, so that nothing created meanwhile goes unseen)."""
        # ROOT may be named by a link, as the build follows it; nothing below ROOT is.
        root = self.ino.add(("root",), self.root, follow=True)
        if root and self.ino.add(("tasks",), self._path(TASKS)):
            for task in list_dir(self._path(TASKS)):
                self._cover_task(task)

    def _cover_task(self, task: str) -> None:
        if not self.ino.add(("task", task), self._path(TASKS, task)):
            return
        self.ino.add(("runs", task), self._path(TASKS, task, RUNS))
        if self.ino.add(("open", task), self._path(TASKS, task, OPEN)):
            for run_id in list_dir(self._path(TASKS, task, OPEN)):
                self._watch_run(task, run_id)

    def _watch_run(self, task: str, run_id: str) -> None:
        if not is_run_id(run_id) or (task, run_id) in self.runs:
            return
        if self.ino.add(("run", task, run_id), self._path(TASKS, task, RUNS, run_id)):
            self.runs.add((task, run_id))

    def _drop_run(self, task: str, run_id: str) -> None:
        self.runs.discard((task, run_id))
        self.ino.remove(("run", task, run_id))

    def changes(self) -> tuple[dict[str, set[str]], bool]:
        """The tasks (and runs) the waiting events touch, and whether everything may
        have changed (ROOT or tasks/ itself, or events lost to an overflow)."""
        dirty: dict[str, set[str]] = {}
        everything = False
        for place, mask, name in self.ino.read():
            if place is None:  # the kernel's queue overflowed: look at everything again
                everything = True
                self.cover()
                continue
            kind = place[0]
            if kind in ("root", "tasks"):
                everything = True
                if mask & (IN_DELETE_SELF | IN_MOVE_SELF):
                    self.ino.remove_under(("root",))
                    self.runs.clear()
                    self.cover()  # ROOT's tasks/ came back, or ROOT itself went
                elif kind == "root" and name == TASKS and mask & _CAME:
                    self.cover()
                elif kind == "tasks" and mask & _CAME:
                    self._cover_task(name)
                elif kind == "tasks" and mask & _GONE:
                    self._forget_task(name)
                continue
            task = place[1]
            if kind == "task":
                if name in (RUNS, OPEN):
                    self._task_part(task, name, mask)
                elif not mask & (IN_DELETE_SELF | IN_MOVE_SELF):
                    continue  # state.json, notify.json, seq, the locks: runwrap's own
                dirty.setdefault(task, set())
                continue
            runs = dirty.setdefault(task, set())
            if kind == "run":
                runs.add(place[2])
                continue
            if not is_run_id(name):
                continue  # a run being born (.new-*), a temporary file
            runs.add(name)
            if mask & _CAME:  # a new run, or a marker (its directory may follow)
                self._watch_run(task, name)
            elif kind == "runs" and mask & _GONE:
                self._drop_run(task, name)
        return dirty, everything

    def _task_part(self, task: str, part: str, mask: int) -> None:
        """A task's runs/ or open/ came or went."""
        if mask & _CAME:
            kind = "runs" if part == RUNS else "open"
            if self.ino.add((kind, task), self._path(TASKS, task, part)) and part == OPEN:
                for run_id in list_dir(self._path(TASKS, task, OPEN)):
                    self._watch_run(task, run_id)
        elif part == RUNS:
            self.ino.remove_under(("runs", task))
            self.runs = {(t, r) for t, r in self.runs if t != task}
        else:
            self.ino.remove(("open", task))

    def _forget_task(self, task: str) -> None:
        self.ino.remove_under(("task", task))
        self.runs = {(t, r) for t, r in self.runs if t != task}

    def keep_runs(self, unsettled: dict[str, set[str]]) -> None:
        """Stop watching the run directories of runs that cannot change any more."""
        for task, run_id in list(self.runs):
            if run_id not in unsettled.get(task, ()):
                self._drop_run(task, run_id)

    def close(self) -> None:
        self.ino.close()
