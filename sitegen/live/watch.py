"""`sitegen --watch`: file events mark work; one loop debounces and updates.

Events only record which task (and run) changed; the loop waits for a burst
to settle, asks the Site to update those, logs any failure and keeps going.
With inotify (inotify.py) only the directories that can still change are
watched: a finished run's directory gets no watch, and an idle watcher
sleeps until an event, the moment a task's lateness is due to change, or a
rare rescan (a safety net; every 2 s while a run is running, since its owner
may die without a file event). `--poll` looks at the signatures of the
directories that can still change every second instead.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import defaultdict

from runwrap.store.layout import HOSTS, list_dir, run_dir, tasks_dir
from runwrap.store.lookup import gathered_task_names
from runwrap.units import count
from sitegen.build.site import Site, Stopped
from sitegen.errors import one_line
from sitegen.live.notices import LateNotices
from sitegen.read.sigs import run_sig, task_sigs, tasks_sig

log = logging.getLogger(__name__)

QUIET_S = 0.03  # a burst is over after this long without events
MAX_DELAY_S = 0.5  # ...or this long after its first event, whichever comes first
RESCAN_S = 3600.0  # with every watch in place, a rescan is only a safety net
RESCAN_POLL_S = 30.0  # watches missing (the user's limit): what events miss
POLL_S = 1.0  # --poll: how often the directories that can change are looked at
RESCAN_BUSY_S = 2.0  # while a run is running: its owner may die without an event
LATE_S = 0.05  # an update this long after a task's lateness is due to change
STOP_S = 0.5  # a signal does not cut a wait short: the longest before a stop is seen


class Burst:
    """The tasks and runs marked changed, and when the current burst of events began
    and last grew (thread-safe: watchdog's thread marks, the loop takes)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first: float | None = None
        self.last = 0.0
        self.everything = False
        self._dirty: dict[str, set[str]] = defaultdict(set)

    def mark(self, dirty: dict[str, set[str]], everything: bool = False) -> None:
        if not dirty and not everything:
            return
        with self.lock:
            for task, runs in dirty.items():
                self._dirty[task] |= runs
            self.everything |= everything
            now = time.monotonic()
            self.first = self.first or now
            self.last = now

    def times(self) -> tuple[float | None, float]:
        with self.lock:
            return self.first, self.last

    def take(self) -> dict[str, set[str]]:
        """The tasks (and their runs) marked changed so far; resets them."""
        with self.lock:
            dirty = dict(self._dirty)
            self._dirty = defaultdict(set)
            self.first = None
            self.everything = False
        return dirty


class InotifySource:
    """Events from inotify, read by the loop itself (no thread)."""

    rescan_s = RESCAN_S

    def __init__(self, root: str) -> None:
        from sitegen.live.inotify import RootWatch

        self.burst = Burst()
        self.watch = RootWatch(root)
        self.watch.cover()
        self._warned = False

    def wait(self, timeout: float) -> None:
        if self.watch.ino.wait(timeout):
            self.burst.mark(*self.watch.changes())

    def rescan(self) -> None:
        self.watch.cover()  # idempotent: watches what an unseen change left unwatched

    def settled(self, site: Site) -> None:
        self.watch.keep_runs(site.unsettled())
        # Without a watch on tasks/ (ROOT has none yet, or it went) or with some watches
        # refused, changes may go unseen: look as often as when polling.
        missing = self.watch.ino.full or ("tasks",) not in self.watch.ino.wds
        self.rescan_s = RESCAN_POLL_S if missing else RESCAN_S
        if self.watch.ino.full and not self._warned:
            self._warned = True
            log.warning(
                "inotify: %s: some changes are seen only by a rescan every %.0f s",
                self.watch.ino.why,
                RESCAN_POLL_S,
            )

    def close(self) -> None:
        self.watch.close()


class PollSource:
    """Polling, for file systems whose changes inotify does not see (NFS: other clients'
    writes): every POLL_S, the signatures of the directories that can still change, as
    the stamp and the build take them (tasks/, each task, its open/ and runs/, and each
    run not settled yet). O(tasks + unfinished runs) stats a pass, whatever the history.
    """

    rescan_s = RESCAN_POLL_S

    def __init__(self, root: str) -> None:
        self.root = root
        self.burst = Burst()
        self.unsettled: dict[str, set[str]] = {}
        self.next_poll = 0.0
        self.sigs = self._sigs()

    def _sigs(self) -> dict:
        found: dict = {None: tasks_sig(self.root)}
        for task in [*list_dir(tasks_dir(self.root)), *gathered_task_names(self.root, False)]:
            found[task] = task_sigs(self.root, task)
            for run_id in self.unsettled.get(task, ()):
                found[task, run_id] = run_sig(run_dir(self.root, task, run_id))
        return found

    def wait(self, timeout: float) -> None:
        now = time.monotonic()
        if now < self.next_poll:
            time.sleep(min(timeout, self.next_poll - now))
            if time.monotonic() < self.next_poll:
                return
        self.next_poll = time.monotonic() + POLL_S
        before, self.sigs = self.sigs, self._sigs()
        if before == self.sigs:
            return
        dirty: dict[str, set[str]] = {}
        for key in before.keys() | self.sigs.keys():
            if key is None or before.get(key) == self.sigs.get(key):
                continue
            task, run_id = key if isinstance(key, tuple) else (key, None)
            dirty.setdefault(task, set()).update([run_id] if run_id else [])
        self.burst.mark(dirty, everything=before.get(None) != self.sigs.get(None))

    def rescan(self) -> None:
        pass  # every poll looks at everything that can change

    def settled(self, site: Site) -> None:
        self.unsettled = site.unsettled()
        self.sigs = self._sigs()

    def close(self) -> None:
        pass


def _settle(source: InotifySource | PollSource, stop: threading.Event) -> None:
    """Wait until the burst of events is over (quiet for QUIET_S, or MAX_DELAY_S in all)."""
    while not stop.is_set():
        first, last = source.burst.times()
        now = time.monotonic()
        if first is None or now - last >= QUIET_S or now - first >= MAX_DELAY_S:
            return
        source.wait(min(QUIET_S - (now - last), MAX_DELAY_S - (now - first)) + 0.005)


def _source(site: Site) -> InotifySource | PollSource:
    """inotify unless --poll (or the system has none for us: then polling, said once).

    A ROOT that gathers hosts (ROOT/hosts/, docs/engines.md) is polled: the watches
    are on ROOT/tasks, not on the hosts' copies."""
    root = site.cfg.root
    if not site.cfg.poll and not os.path.isdir(os.path.join(root, HOSTS)):
        try:
            return InotifySource(root)
        except OSError as e:
            log.warning("cannot use inotify (%s); polling instead", one_line(e))
    return PollSource(root)


def _failed(e: Exception) -> None:
    """One line for a person; the traceback with -v."""
    log.warning("update failed (%s); will retry on the next change", one_line(e))
    log.debug("the update failed", exc_info=True)


def _next_wake(site: Site, source: InotifySource | PollSource, last_scan: float) -> float:
    """The monotonic time of the next update with no event: a rescan, or lateness due."""
    period = RESCAN_BUSY_S if site.busy() else source.rescan_s
    deadline = last_scan + period
    if site.late.due is not None:  # a task turns late (or misses one more run) then
        deadline = min(deadline, site.late.due - time.time() + time.monotonic() + LATE_S)
    return deadline


WATCH_LOCK = "watch.lock"  # in OUT's cache directory: held by the one watcher of OUT


def claim_out(out: str) -> int:
    """Become OUT's one watcher: a descriptor to keep open (its flock) while watching.

    Two watchers of one OUT would build over each other's files and caches;
    the second is refused in one line, naming the first. The lock is the
    file at its path (as runwrap's task lock): a lock file removed meanwhile
    is locked again where it is now.
    """
    import fcntl

    from sitegen.build.cache import cache_dir
    from sitegen.errors import SitegenError

    path = os.path.join(cache_dir(out), WATCH_LOCK)
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(100):
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd = os.open(path, flags, 0o644)
        except OSError as e:
            raise SitegenError(f"cannot lock {path}: {e.strerror or e}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            who = f" (pid {owner})" if owner.isdigit() else ""
            raise SitegenError(
                f"another sitegen --watch{who} keeps {out} up to date; stop it first"
            ) from None
        try:
            same = (os.fstat(fd).st_ino, os.fstat(fd).st_dev) == (
                os.stat(path, follow_symlinks=False).st_ino,
                os.stat(path, follow_symlinks=False).st_dev,
            )
        except OSError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)
    raise SitegenError(f"cannot lock {path}: it keeps being replaced")


def watch(site: Site, stop: threading.Event) -> None:
    """Keep OUT up to date until `stop` is set."""
    root = site.cfg.root
    # Watching starts before the first update, so that nothing changed meanwhile is missed.
    source = _source(site)
    log.info("watching %s for changes", root)
    notices = LateNotices(root, site.cfg.config_file, site.cfg.site_url)
    try:
        try:
            site.update()
            source.settled(site)
            notices.send(site.late.records)
        except Stopped:
            return
        except Exception as e:
            _failed(e)
        last_scan = time.monotonic()
        deadline = _next_wake(site, source, last_scan)
        while not stop.is_set():
            source.wait(min(STOP_S, max(0.0, deadline - time.monotonic())))
            if stop.is_set():
                break
            if source.burst.times()[0] is None and time.monotonic() < deadline:
                continue
            _settle(source, stop)
            if source.burst.times()[0] is None:
                source.rescan()  # nothing announced: look at everything
            # Every update also rescans all tasks cheaply (by signature), so a lost
            # event or an "everything changed" event needs nothing more.
            hints = source.burst.take()
            last_scan = time.monotonic()
            try:
                stats = site.update(hints=hints)
            except Stopped:
                break
            except Exception as e:  # log and keep watching: the next event or rescan retries
                _failed(e)
                continue
            finally:
                deadline = _next_wake(site, source, last_scan)
            source.settled(site)  # a run that settled needs its watch no more
            notices.send(site.late.records)  # each late task's notice, once (nospam)
            if stats.changed_tasks:
                # Debug, not info: a running job's progress means an update a second.
                log.debug(
                    "updated %s: %s in %.3f s",
                    ", ".join(stats.changed_tasks[:5]),
                    count(stats.run_pages, "run page"),
                    stats.seconds,
                )
    finally:
        source.close()
        notices.close()
