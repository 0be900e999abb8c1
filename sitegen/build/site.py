"""Bring OUT up to date with ROOT: a full build, or only what changed since the last one.

A full build is the incremental update with an empty cache, so both produce
the same site. Per task, the runs/ directory's signature says whether runs
came or went; only runs not yet settled (running, without a usable
manifest, or not yet recorded by runwrap) are looked at again, so an update
costs the same whatever the size of the history. A full build's tasks go to
forked workers (workers.py).

An update that dies half-way (SIGKILL, a crash, a stop) leaves the tasks it
was changing in the journal (see cache.py): the next update rebuilds those
tasks whole, so OUT ends up as a full build would make it.
"""

from __future__ import annotations

import gc
import os
import threading
import time

from runwrap.store.jsonio import Unreadable
from runwrap.store.layout import (
    is_plain_run_id,
    list_tasks,
    run_dir,
    run_ids_in,
    runs_dir,
    task_dir,
    tasks_dir,
)
from runwrap.store.lookup import task_names, unreadable_hosts
from runwrap.store.manifest import RUNNING
from runwrap.store.tasknames import name_problem
from runwrap.store.openruns import open_runs
from runwrap.store.query import task_record, view
from sitegen import logs
from sitegen.build.cache import Cache, cache_dir, fingerprint
from sitegen.build.records import RunRecord, TaskEntry
from sitegen.config import SiteConfig, find_theme
from sitegen.errors import one_line
from sitegen.read.files import RunFiles, RunsDir
from sitegen.read.late import LateView
from sitegen.publish import search
from sitegen.publish.metrics import Metrics, first_count
from sitegen.render.model import summarize, task_summary
from sitegen.publish.names import shown
from sitegen.publish.scratch import Scratch, sweep
from sitegen.build.stamp import stamp_state
from sitegen.read.sigs import dir_sig, task_sigs, tasks_sig
from sitegen.render.templating import make_env
from sitegen.build.workers import Counter, Progress, in_workers
from sitegen.render.writer import BuildStats, TaskRuns, Writer

log = logs.getLogger(__name__)


def _read(run_id: str, rf: RunFiles, rsig: list[int] | None) -> tuple[dict | None, str | None]:
    """(manifest, None), or (None, why it cannot be used); (None, None) while it has none."""
    if rsig is None:
        return None, None
    if not is_plain_run_id(run_id):  # the store's rule, as `runwrap history` has it
        return None, "its name is not a plain run id (printable ASCII)"
    try:
        return rf.manifest(), None
    except Unreadable as e:
        return None, f"its manifest is unreadable: {e}"


class Site:
    """One output site: its theme, cache and the update that keeps OUT in step with ROOT."""

    def __init__(self, cfg: SiteConfig, stop: threading.Event | None = None) -> None:
        self.cfg = cfg
        self.stop = stop  # set by a signal handler: a long build gives up between pages
        self.theme_dirs = find_theme(cfg.theme)
        self.scratch = Scratch()
        for directory in ("", "tasks"):  # what a sitegen killed mid-write left in the cache
            sweep(os.path.join(cache_dir(cfg.out), directory))
        self.cache = Cache(cfg.out, fingerprint(cfg, self.theme_dirs), self.scratch)
        env = make_env(self.theme_dirs, os.path.join(cache_dir(cfg.out), "jinja"))
        self.out = Writer(cfg, env, self.theme_dirs, self.scratch, self._check_stop)
        self.metrics = Metrics(
            cfg.out, cfg.root, self.scratch, cache_dir(cfg.out), self.cache.fp
        )
        self._summary: dict[str, TaskEntry] | None = None  # kept by a long-lived process
        self.stamp: dict | None = None  # what the last complete update began from (stamp.py)
        self.late = LateView()  # lateness changes with the clock: asked on every update
        # Warnings about lasting conditions are given once: those given already (kept
        # in summary.pack for the next process), and those still due this update.
        self._warned: set[str] = set()
        self._seen: set[str] = set()

    # -- the update ----------------------------------------------------------

    def _check_stop(self) -> None:
        if self.stop is not None and self.stop.is_set():
            # The summary is not saved: the next build picks up where this one stopped.
            raise Stopped

    def _warn_once(self, key: str, msg: str, *args: object) -> None:
        self._seen.add(key)
        if key not in self._warned:
            self._warned.add(key)
            log.warning(msg, *args)

    def busy(self) -> bool:
        """Whether some run is running: its owner may die, which no file event announces."""
        return any(entry.busy for entry in (self._summary or {}).values())

    def unsettled(self) -> dict[str, set[str]]:
        """Each task's runs the build has not settled (_check_runs): the only runs that
        may still change, so the only ones a watcher needs to watch."""
        entries = (self._summary or {}).items()
        return {task: set(entry.pending) for task, entry in entries if entry.pending}

    def _recording(self, task: str) -> set[str]:
        """The runs runwrap has not finished recording (open markers): a final manifest
        there may still get its notifications.json."""
        return {run_id for run_id, _owner in open_runs(task_dir(self.cfg.root, task))}

    def update(
        self,
        hints: dict[str, set[str]] | None = None,
        full: bool = False,
        progress: Progress | None = None,
    ) -> BuildStats:
        """Bring OUT up to date; `hints` names runs to re-read even if they look settled."""
        started = time.monotonic()
        summary, dirty = (None, set()) if full else self._load_state()
        stats = BuildStats(full=summary is None)
        self._seen = set()
        if summary is None:
            gc.enable()  # off for a one-shot update (cli.py): a full build makes every page
            self.cache.clear()
            summary = {}
            self.out.copy_static()
        root, at = self.cfg.root, time.time()
        before = tasks_sig(root)  # taken before anything is read: a change after
        tasks = self._list_tasks()  # it shows in the next update's stamp check
        sigs = {t: task_sigs(root, t) for t in tasks}
        gone = (set(summary) | dirty) - set(tasks)
        for task in dirty:
            summary.pop(task, None)  # left half done by a dead update: rebuilt whole
        hints = hints or {}
        # Lateness depends on the clock, not the files: asked again on every update.
        self.late.ask(root, tasks, sigs, at)
        todo = [
            t
            for t in tasks
            if t not in summary
            or t in hints
            or t in self.late.changed
            or summary[t].sig != dir_sig(runs_dir(root, t))
            or summary[t].record != _record_key(self._record(t))
            or (summary[t].pending and self._pending_changed(t, summary[t]))
        ]
        marked = not stats.full and bool(todo or gone)
        if marked:
            self.cache.mark_dirty(dirty | gone | set(todo))  # before OUT changes at all
        for task in sorted(gone):
            self.out.remove_task(task)
            self.cache.drop_task(task)
            summary.pop(task, None)
        if stats.full:
            self.out.remove_stale_tasks(set(tasks))
        self._update_tasks(todo, summary, hints, stats, progress)
        site_changed = stats.full or stats.changed_tasks or stats.failed or gone or dirty
        if site_changed or self.late.site_changed():
            sums = [summary[t].summary for t in tasks if t in summary]
            self.out.render_site(sums, self.late.records)
            self.cache.save_rows(self.out.dashboard)  # for the next process, if a row changed
        self.late.shown_now()
        if not self.metrics.render(tasks, self.late.items, stats.counted):  # False: a bug
            self._warn_once("metrics", "cannot write OUT/metrics (-v tells why)")
        self._warned = set(self._seen)  # a condition that went away may warn again
        self.cache.save_summary(summary, sorted(self._warned), self.late.shown)
        if stats.failed:
            self.cache.mark_dirty(set(stats.failed))  # tried again, whole, next time
        elif marked or dirty:
            self.cache.clear_dirty()
        self._summary = summary
        complete = not stats.failed and set(summary) == set(tasks)
        self.stamp = stamp_state(at, before, sigs, summary, self.late.due) if complete else None
        stats.tasks = len(tasks)
        stats.seconds = time.monotonic() - started
        return stats

    def _load_state(self) -> tuple[dict[str, TaskEntry] | None, set[str]]:
        """The last build's summary (None: build in full) and the tasks left half done."""
        summary = self._summary
        if summary is None:
            loaded = self.cache.load_summary()
            if loaded is None:
                return None, set()
            summary, warned, late = loaded
            self._warned = set(warned)
            sums = {task: entry.summary for task, entry in summary.items()}
            rows, lanes = self.cache.load_rows() or ({}, {})
            self.out.dashboard.adopt(rows, sums, lanes)
            if self.late.shown is None:
                self.late.shown = late  # what the pages show: only a change re-renders
        dirty = self.cache.load_dirty()
        return (summary, dirty) if dirty is not None else (None, set())

    def _list_tasks(self) -> list[str]:
        """The tasks, by the store's one rule (what `runwrap ls` lists): real directories
        in ROOT/tasks with names that can be named again; anything else is warned about."""
        path = tasks_dir(self.cfg.root)
        if os.path.islink(path):
            self._warn_once("tasks-link", "%s is a symbolic link: not followed", path)
            return []
        tasks = task_names(self.cfg.root, note=False)
        if not tasks:
            try:
                os.listdir(path)
            except FileNotFoundError:
                pass
            except OSError as e:  # another user's ROOT/tasks: not an empty, healthy site
                self._warn_once("tasks-unreadable", "cannot read %s: %s", path, e.strerror)
        for why in unreadable_hosts(self.cfg.root):  # a gathered host's: its tasks unseen
            self._warn_once(f"host-unreadable:{why}", "cannot read %s", why)
        for name in sorted(set(list_tasks(self.cfg.root)) - set(tasks)):
            if _retired_task(os.path.join(path, name)):
                continue  # a task, off the dashboard by `runwrap retire`: nothing to warn of
            problem = name_problem(name)
            self._warn_once(
                f"task:{name}",
                "skipping %s: %s",
                shown(os.path.join(path, name)),
                f"not a task name: it {problem}" if problem else "not a task",
            )
        return tasks

    def _update_tasks(
        self,
        todo: list[str],
        summary: dict[str, TaskEntry],
        hints: dict[str, set[str]],
        stats: BuildStats,
        progress: Progress | None,
    ) -> None:
        """Update the tasks that changed: in parallel for a full build."""
        counter = None
        if stats.full and progress is not None:
            total = sum(len(run_ids_in(runs_dir(self.cfg.root, t))) for t in todo)
            counter = Counter(progress, total)
        if stats.full and len(todo) > 1 and (os.cpu_count() or 1) > 1:
            entries = self._parallel(todo, stats, counter)
        else:
            entries = {}
            for task in todo:
                self._check_stop()
                entries[task] = self._update_task_safely(
                    task, summary.get(task), hints.get(task, set()), stats, counter
                )
        for task, entry in entries.items():
            if entry is None:
                summary.pop(task, None)  # not shown, as a full build would not show it
            else:
                summary[task] = entry

    def _parallel(
        self, todo: list[str], stats: BuildStats, counter: Counter | None
    ) -> dict[str, TaskEntry | None]:
        """A full build's tasks spread over the CPUs (forked workers share this Site)."""
        for name in self.out.env.list_templates():
            self.out.env.get_template(name)  # compiled once, here, not once in each worker
        entries = {}
        for task, (entry, part) in in_workers(todo, self._build_alone, self._check_stop):
            entries[task] = entry
            stats.run_pages += part.run_pages
            stats.history_pages += part.history_pages
            stats.failed += part.failed
            stats.counted.update(part.counted)
            self._seen |= part.warned
            self._warned |= part.warned
            if entry is not None:
                stats.changed_tasks.append(task)
            if counter is not None:
                counter.tick(part.run_pages)
        stats.changed_tasks.sort()
        return entries

    def _build_alone(self, task: str) -> tuple[TaskEntry | None, BuildStats]:
        """One task of a full build, in a worker process: its entry, what it did."""
        part = BuildStats(full=True)
        self._seen = set()
        entry = self._update_task_safely(task, None, set(), part, None)
        part.warned = self._seen
        return entry, part

    def _update_task_safely(
        self,
        task: str,
        entry: TaskEntry | None,
        force: set[str],
        stats: BuildStats,
        counter: Counter | None,
    ) -> TaskEntry | None:
        """_update_task; a bug that a task's files set off stops that task, not the others."""
        try:
            return self._update_task(task, entry, force, stats, counter)
        except (OSError, Stopped):
            raise  # OUT cannot be written, or a stop was asked for: the whole update ends
        except Exception as e:
            self._warn_once(f"failed:{task}", "cannot build task %s: %s", shown(task), one_line(e))
            log.debug("task %s failed", task, exc_info=True)
            stats.failed.append(task)
            return None

    def _update_task(
        self,
        task: str,
        entry: TaskEntry | None,
        force: set[str],
        stats: BuildStats,
        counter: Counter | None,
    ) -> TaskEntry:
        root = self.cfg.root
        loaded = None if entry is None else self.cache.load_task(task)
        fresh = loaded is None
        cached, page_sigs, changes = loaded or ({}, {}, {})
        sig = dir_sig(runs_dir(root, task))
        with RunsDir(root, task) as runs:
            # The store's lister: real directories named like run ids (a link is never a run).
            ids = sorted(cached) if not fresh and entry.sig == sig else run_ids_in(runs.path)
            old_order = [i for i in sorted(cached) if cached[i].summary is not None]
            removed = set(cached) - set(ids)
            gone = {i: (cached[i].summary or {}).get("status") for i in removed}
            for run_id in removed:
                del cached[run_id]
                self.out.remove_run(task, run_id)
            check = [i for i in ids if i not in cached or not cached[i].settled or i in force]
            manifests, changed_pages = self._check_runs(task, runs, check, cached)
            order = [i for i in ids if cached[i].summary is not None]
            pending = {i: cached[i] for i in ids if not cached[i].settled}
            late = self.late.records.get(task)
            record = self._record(task)
            same = not (fresh or changed_pages or removed or task in self.late.changed)
            if same and order == old_order and entry.record == _record_key(record):
                entry.sig, entry.pending = sig, pending
                self.cache.save_task(task, cached, page_sigs, changes)
                return entry
            run_sums = [cached[i].summary for i in order]
            sums = {i: cached[i].summary for i in order}
            batch = TaskRuns(task, runs, order, old_order, changed_pages, manifests, sums, fresh)
            batch.changes, batch.gone = changes, gone
            self.out.render_runs(batch, stats, counter)
            touched = changed_pages | (set(order) - set(old_order))
            page_sigs = self.out.render_history(task, run_sums, page_sigs, fresh, stats, touched)
            task_sum = task_summary(task, run_sums, record)
            self.out.render_task(task, runs, task_sum, run_sums, order, manifests, late)
            # The dashboard's search index: the entries of the runs read again only, added
            # to the file's end when they are runs after every other and nothing else changed.
            new = order[len(old_order) :]
            tail = not (fresh or removed) and order[: len(old_order)] == old_order
            appended = new if tail and manifests.keys() == set(new) else None
            search.update_task(
                self.out.out_task(task),
                task,
                runs.path,
                order,
                sums,
                manifests,
                runs.manifest,
                self.scratch.write,
                batch.stderr,
                fresh,
                appended,
            )
        if fresh:
            self.out.remove_stale_runs(task, set(order))
            stats.counted[task] = first_count(manifests.values())  # all read: none again
        self.cache.save_task(task, cached, page_sigs, changes)
        stats.changed_tasks.append(task)
        return TaskEntry(sig, pending, task_sum, _record_key(record))

    def _record(self, task: str) -> dict:
        """The task's record in the store's read model (query.task_record): as the
        lateness check just read it, or read now."""
        known = self.late.items.get(task)
        record = known[0] if known is not None else task_record(self.cfg.root, task)
        if record.get("unreadable"):  # shown as such on every page; said once here
            self._warn_once(
                f"unreadable:{task}", "cannot read task %s: %s", shown(task), record["unreadable"]
            )
        return record

    def _check_runs(
        self, task: str, runs: RunsDir, check: list[str], cached: dict[str, RunRecord]
    ) -> tuple[dict[str, dict], set[str]]:
        """Look again at runs that may have changed: (manifests read, runs whose page changed).

        A run is settled, never looked at again, once its manifest is final and runwrap
        has finished recording it (no open marker: notifications.json, the one file
        written after the final manifest, is there if it ever will be)."""
        manifests: dict[str, dict] = {}
        changed_pages: set[str] = set()
        recording: set[str] | None = None
        for run_id in check:
            with runs.run(run_id) as rf:
                rsig = rf.sig()
                old = cached.get(run_id)
                if old is not None and old.settled and old.sig == rsig:
                    continue  # named by a file event, but unchanged
                if old is not None and rsig is not None and old.bad == rsig:
                    continue  # still the same unusable manifest: warned about already
                manifest, problem = _read(run_id, rf, rsig)
            if manifest is None:
                if problem is not None:
                    # Its path only now: two joins a run, for a warning few builds give.
                    where = run_dir(self.cfg.root, task, run_id)
                    log.warning("skipping %s: %s", shown(where), problem)
                if old is not None and old.summary is not None:
                    # Shown before, unreadable now: a full build would not show it either.
                    self.out.remove_run(task, run_id)
                # Not settled: looked at (a stat) by every update until it is mended.
                cached[run_id] = RunRecord(None, None, False, rsig)
                continue
            run_sum = summarize(run_id, manifest)
            settled = False
            if manifest.get("status") != RUNNING:
                if recording is None:
                    recording = self._recording(task)
                settled = run_id not in recording
            if old is None or old.sig != rsig or old.summary != run_sum:
                changed_pages.add(run_id)
                manifests[run_id] = manifest
            cached[run_id] = RunRecord(rsig, run_sum, settled)
        return manifests, changed_pages

    def _pending_changed(self, task: str, entry: TaskEntry) -> bool:
        """Whether a run not yet settled changed; settles the rest without reading the task
        cache (every run it has): an update when nothing but time passed stays cheap."""
        still = {}
        recording: set[str] | None = None
        with RunsDir(self.cfg.root, task) as runs:
            for run_id, rec in entry.pending.items():
                rsig = runs.sig(run_id)
                if rsig != rec.sig and (rsig is None or rsig != rec.bad):
                    return True
                if rec.summary is not None:
                    # A running run's owner may have died (it now reads as lost).
                    manifest = runs.manifest(run_id)
                    if manifest is None or summarize(run_id, manifest) != rec.summary:
                        return True
                    if manifest.get("status") != RUNNING:
                        if recording is None:
                            recording = self._recording(task)
                        if run_id not in recording:
                            continue  # settled; the task cache catches up when next read
                still[run_id] = rec
        entry.pending = still
        return False


def _record_key(record: dict) -> list:
    """What of a task's record its pages show: a change re-renders the task."""
    return [view(record), [summarize(m["run_id"], m) for m in record["running"]]]


class Stopped(Exception):
    """A build given up because a stop was asked for (SIGTERM)."""


__all__ = ["BuildStats", "Site", "Stopped"]


def _retired_task(task_path: str) -> bool:
    """Whether a name task_names left out is a retired task (a real directory it names as a
    task, store/retired.py's rule), not a stray: asked only of what was left out."""
    if os.path.islink(task_path) or not os.path.isdir(task_path):
        return False
    from runwrap.store.retired import is_retired

    return is_retired(task_path)
