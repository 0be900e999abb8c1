"""`sitegen --watch`: watchdog events mark work; one loop debounces and updates.

Events only record which task (and run) changed; the loop waits for a burst
to settle, asks the Site to update those, logs any failure and keeps going.
A periodic rescan catches whatever the events missed (and runs whose owner
died, which no file event announces), and asks again which tasks are late:
lateness changes with the clock alone, so the loop also wakes at the moment
the next task's lateness is due to change (its next expected run, its grace).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import defaultdict

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from runwrap.store.layout import OPEN, task_runs_dir, tasks_dir
from runwrap.units import count
from sitegen.build import Site, Stopped
from sitegen.errors import one_line
from sitegen.notices import LateNotices

log = logging.getLogger(__name__)

QUIET_S = 0.1  # a burst is over after this long without events
MAX_DELAY_S = 0.5  # ...or this long after its first event, whichever comes first
RESCAN_S = 30.0  # a full (cheap, signature-based) rescan this often
RESCAN_BUSY_S = 2.0  # while a run is running: its owner may die without an event
LATE_S = 0.05  # an update this long after a task's lateness is due to change
_IGNORED = frozenset({"opened", "closed_no_write"})
# What inotify is asked for: no opens or reads (our own builds read every file, and
# would flood the queue), no per-write modifications (a chatty job's log). A manifest
# arrives by rename; logs are looked at again on close and by the periodic rescan.
EVENTS = [
    FileCreatedEvent,
    DirCreatedEvent,
    FileMovedEvent,
    DirMovedEvent,
    FileDeletedEvent,
    DirDeletedEvent,
    FileClosedEvent,
]
# What in a task's directory can change a page: its runs, and the open markers of runs
# being recorded. state.json, notify.json, seq and the locks (and their temp files) are
# runwrap's own: sitegen never reads them.
_TASK_PARTS = frozenset({os.path.basename(task_runs_dir("")), OPEN})


class Changes(FileSystemEventHandler):
    """Collects which tasks and runs changed; never raises into watchdog's thread."""

    def __init__(self, root: str) -> None:
        self.tasks = os.path.join(os.path.realpath(root), "tasks")
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.first: float | None = None
        self.last = 0.0
        self._dirty: dict[str, set[str]] = defaultdict(set)

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            if event.event_type in _IGNORED:
                return
            for path in (event.src_path, getattr(event, "dest_path", "")):
                if path:
                    self._mark(os.fsdecode(path))
        except Exception:  # an odd event must never stop the watcher
            log.exception("ignoring a file event that could not be handled")

    def _mark(self, path: str) -> None:
        rel = os.path.relpath(path, self.tasks)
        parts = rel.split(os.sep)
        # ROOT or tasks/ itself changing needs no mark: every update rescans all
        # tasks by signature; the wake-up is what matters.
        task = parts[0] if parts[0] not in (".", "..") else None
        if task is not None and len(parts) >= 2 and parts[1] not in _TASK_PARTS:
            return
        with self.lock:
            if task is not None:
                runs = self._dirty[task]
                if len(parts) >= 3:  # runs/<run_id>/... or open/<run_id>
                    runs.add(parts[2])
            now = time.monotonic()
            self.first = self.first or now
            self.last = now
        self.wake.set()

    def take(self) -> dict[str, set[str]]:
        """The tasks (and their runs) marked changed so far; resets them."""
        with self.lock:
            dirty = dict(self._dirty)
            self._dirty = defaultdict(set)
            self.first = None
            self.wake.clear()
        return dirty


def _settle(changes: Changes, stop: threading.Event) -> None:
    """Wait until the burst of events is over (quiet for QUIET_S, or MAX_DELAY_S in all)."""
    while not stop.is_set():
        with changes.lock:
            first, last = changes.first, changes.last
        now = time.monotonic()
        if first is None or now - last >= QUIET_S or now - first >= MAX_DELAY_S:
            return
        stop.wait(min(QUIET_S - (now - last), MAX_DELAY_S - (now - first)) + 0.005)


def start_observer(root: str, changes: Changes, poll: bool) -> Observer:
    """A watchdog observer on ROOT (inotify, or polling for NFS)."""
    observer = PollingObserver(timeout=1.0) if poll else Observer()
    target = tasks_dir(root) if os.path.isdir(tasks_dir(root)) else root
    observer.schedule(changes, target, recursive=True, event_filter=EVENTS)
    observer.daemon = True
    observer.start()
    return observer


def _failed(e: Exception) -> None:
    """One line for a person; the traceback with -v."""
    log.warning("update failed (%s); will retry on the next change", one_line(e))
    log.debug("the update failed", exc_info=True)


def watch(site: Site, stop: threading.Event) -> None:
    """Keep OUT up to date until `stop` is set."""
    root = site.cfg.root
    changes = Changes(root)
    # start() returns once every directory has its watch (seconds at 100,000 runs);
    # what changed while the watches were being added is caught by one more update.
    observer = start_observer(root, changes, site.cfg.poll)
    log.info("watching %s for changes", root)
    notices = LateNotices(root, site.cfg.config_file, site.cfg.site_url)
    try:
        try:
            site.update()
            notices.send(site.late.records)
        except Stopped:
            return
        except Exception as e:
            _failed(e)
        last_scan = time.monotonic()
        while not stop.is_set():
            period = RESCAN_BUSY_S if site.busy() else RESCAN_S
            deadline = last_scan + period
            if site.late.due is not None:  # a task turns late (or misses one more run) then
                deadline = min(deadline, site.late.due - time.time() + time.monotonic() + LATE_S)
            due = deadline - time.monotonic()
            # Short waits so that a stop request is seen promptly.
            woke = changes.wake.wait(min(0.5, max(0.0, due)))
            if stop.is_set():
                break
            if not woke and time.monotonic() < deadline:
                continue
            _settle(changes, stop)
            # Every update also rescans all tasks cheaply (by signature), so a lost
            # event or an "everything changed" event needs nothing more.
            hints = changes.take()
            last_scan = time.monotonic()
            try:
                stats = site.update(hints=hints)
            except Stopped:
                break
            except Exception as e:  # log and keep watching: the next event or rescan retries
                _failed(e)
                continue
            notices.send(site.late.records)  # each late task's notice, once (nospam)
            if stats.changed_tasks:
                # Debug, not info: a running job's progress means an update a second.
                log.debug(
                    "updated %s: %s in %.3f s",
                    ", ".join(stats.changed_tasks[:5]),
                    count(stats.run_pages, "run page"),
                    stats.seconds,
                )
            if not observer.is_alive():
                log.warning("the file watcher stopped; starting it again")
                observer = start_observer(root, changes, site.cfg.poll)
    finally:
        observer.stop()
        observer.join(timeout=5)
