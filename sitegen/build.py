"""Bring OUT up to date with ROOT: a full build, or only what changed since the last one.

A full build is the incremental update with an empty cache, so both produce
the same site. Per task, the runs/ directory's signature says whether runs
came or went; only runs not yet settled (running, missing or fresh
manifests) are looked at again, so an update costs the same whatever the
size of the history.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from runwrap.jsonio import dumps, write_atomic
from runwrap.manifest import RUNNING, read_manifest
from runwrap.paths import (
    MANIFEST,
    STDERR,
    STDOUT,
    is_run_id,
    list_tasks,
    run_dir,
    runs_dir,
    task_dir,
)
from sitegen import pages
from sitegen.config import SiteConfig, find_theme
from sitegen.files import RunFiles, is_real_dir
from sitegen.index import CACHE_DIR, Cache, cache_dir, fingerprint
from sitegen.model import STATE_ORDER, summarize, task_summary
from sitegen.render import href, make_env

log = logging.getLogger(__name__)

SETTLE_S = 120  # a finished manifest younger than this may still be rewritten (notifications)
FEED_SIZE = 50

Progress = Callable[[int, int], None]


@dataclass
class BuildStats:
    """What one update did."""

    full: bool = False
    tasks: int = 0
    run_pages: int = 0
    history_pages: int = 0
    removed_runs: int = 0
    seconds: float = 0.0
    changed_tasks: list[str] = field(default_factory=list)


def _dir_sig(path: str) -> list[int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    # nlink counts subdirectories: it catches a run added and one pruned in the same tick.
    return [st.st_mtime_ns, st.st_nlink, st.st_ino]


def _size(path: str) -> int:
    try:
        return os.lstat(path).st_size
    except OSError:
        return -1


def _run_sig(path: str) -> list[int] | None:
    try:
        st = os.lstat(os.path.join(path, MANIFEST))
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    logs = [_size(os.path.join(path, STDOUT)), _size(os.path.join(path, STDERR))]
    return [st.st_mtime_ns, st.st_size, st.st_ino, *logs]


def _list_runs(root: str, task: str) -> list[str]:
    """Run ids that are real directories (a symlinked "run" is never followed)."""
    try:
        with os.scandir(runs_dir(root, task)) as it:
            names = [e.name for e in it if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    return sorted(n for n in names if is_run_id(n))


class Site:
    """One output site: its theme, cache and the update that keeps OUT in step with ROOT."""

    def __init__(self, cfg: SiteConfig) -> None:
        self.cfg = cfg
        self.theme_dirs = find_theme(cfg.theme)
        self.cache = Cache(cfg.out, fingerprint(cfg, self.theme_dirs))
        self.env = make_env(self.theme_dirs, os.path.join(cache_dir(cfg.out), "jinja"))
        self.site = {"title": cfg.title, "site_url": cfg.site_url}
        self._summary: dict | None = None  # kept between updates by a long-lived process

    # -- writing -------------------------------------------------------------

    def _write(self, rel: str, text: str) -> None:
        path = os.path.join(self.cfg.out, rel)
        data = text.encode("utf-8", "surrogateescape")
        try:
            write_atomic(path, data, fsync=False)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_atomic(path, data, fsync=False)

    def _render(self, rel: str, template: str, base: str, refresh: int = 0, **ctx: object) -> None:
        html = self.env.get_template(template).render(
            site=self.site, base=base, refresh=refresh, **ctx
        )
        self._write(rel, html)

    def _copy_static(self) -> None:
        dest = os.path.join(self.cfg.out, "static")
        # The least specific theme first, so a user theme's files win.
        for theme in reversed(self.theme_dirs):
            src = theme / "static"
            if src.is_dir():
                shutil.copytree(src, dest, dirs_exist_ok=True)

    # -- the update ----------------------------------------------------------

    def busy(self) -> bool:
        """Whether some run is not settled yet (running, or just finished)."""
        return any(e.get("unsettled") for e in (self._summary or {}).values())

    def update(
        self,
        hints: dict[str, set[str]] | None = None,
        full: bool = False,
        progress: Progress | None = None,
    ) -> BuildStats:
        """Bring OUT up to date; `hints` names runs to re-read even if they look settled."""
        started = time.monotonic()
        summary = None if full else (self._summary or self.cache.load_summary())
        stats = BuildStats(full=summary is None)
        if summary is None:
            self.cache.clear()
            summary = {}
            self._copy_static()
        root = self.cfg.root
        tasks = [t for t in list_tasks(root) if is_real_dir(task_dir(root, t))]
        gone = set(summary) - set(tasks)
        for task in sorted(gone):
            self._remove_task(task)
            summary.pop(task)
        if stats.full:
            self._remove_stale_tasks(set(tasks))
        hints = hints or {}
        todo = [
            t
            for t in tasks
            if t not in summary
            or t in hints
            or summary[t]["unsettled"]
            or summary[t]["sig"] != _dir_sig(runs_dir(root, t))
        ]
        counter = None
        if stats.full and progress is not None:
            counter = _Counter(progress, sum(len(_list_runs(root, t)) for t in todo))
        if stats.full and len(todo) > 1 and (os.cpu_count() or 1) > 1:
            summary.update(self._parallel(todo, stats, counter))
        else:
            for task in todo:
                entry = self._update_task(
                    task, summary.get(task), hints.get(task, set()), stats, counter
                )
                if entry is not None:
                    summary[task] = entry
        if stats.changed_tasks or gone or stats.full:
            self._render_site([summary[t]["summary"] for t in tasks if t in summary])
        self.cache.save_summary(summary)
        self._summary = summary
        stats.tasks = len(tasks)
        stats.seconds = time.monotonic() - started
        return stats

    def _parallel(self, todo: list[str], stats: BuildStats, counter: _Counter | None) -> dict:
        """A full build's tasks spread over the CPUs (forked workers share this Site)."""
        global _WORKER_SITE
        _WORKER_SITE = self
        entries = {}
        ctx = multiprocessing.get_context("fork")
        pool = ctx.Pool(min(os.cpu_count() or 1, 8), initializer=_worker_init)
        try:
            for task, entry, part in pool.imap_unordered(_build_task, todo):
                entries[task] = entry
                stats.run_pages += part.run_pages
                stats.history_pages += part.history_pages
                stats.changed_tasks.append(task)
                if counter is not None:
                    counter.tick(part.run_pages)
            pool.close()
        finally:
            pool.terminate()
            pool.join()
        _WORKER_SITE = None
        stats.changed_tasks.sort()
        return entries

    def _update_task(
        self,
        task: str,
        entry: dict | None,
        force: set[str],
        stats: BuildStats,
        counter: _Counter | None,
    ) -> dict | None:
        root = self.cfg.root
        cached = None if entry is None else self.cache.load_task(task)
        fresh = cached is None
        cached = cached or {}
        sig = _dir_sig(runs_dir(root, task))
        ids = sorted(cached) if not fresh and entry["sig"] == sig else _list_runs(root, task)
        old_order = [i for i in sorted(cached) if cached[i]["sum"] is not None]
        removed = set(cached) - set(ids)
        for rid in removed:
            del cached[rid]
            shutil.rmtree(self._out_run(task, rid), ignore_errors=True)
        stats.removed_runs += len(removed)
        check = [i for i in ids if i not in cached or not cached[i]["settled"] or i in force]
        manifests: dict[str, dict] = {}
        changed_pages: set[str] = set()
        changed_rows: set[str] = set()
        now = time.time()
        for rid in check:
            path = run_dir(root, task, rid)
            rsig = _run_sig(path)
            old = cached.get(rid)
            # An unchanged finished run needs no reading; a running one is looked at
            # again, since its owner may have died (it then shows as lost).
            unchanged = old is not None and old["sig"] == rsig and old["sum"] is not None
            if unchanged and old["sum"]["status"] != RUNNING:
                old["settled"] = rsig is not None and now - rsig[0] / 1e9 > SETTLE_S
                continue
            manifest = read_manifest(path) if rsig is not None else None
            if manifest is None:
                if rsig is not None:
                    log.warning("skipping %s: its manifest is half-written or malformed", path)
                if old is None:
                    cached[rid] = {"sig": None, "sum": None, "settled": False}
                else:
                    old["settled"] = False
                continue
            summ = summarize(rid, manifest)
            settled = manifest.get("status") != RUNNING and now - rsig[0] / 1e9 > SETTLE_S
            if old is None or old["sig"] != rsig or old["sum"] != summ:
                changed_pages.add(rid)
                manifests[rid] = manifest
            if old is None or old["sum"] != summ:
                changed_rows.add(rid)
            cached[rid] = {"sig": rsig, "sum": summ, "settled": settled}
        order = [i for i in ids if cached[i]["sum"] is not None]
        if not fresh and not changed_pages and not removed and order == old_order:
            entry["sig"] = sig
            entry["unsettled"] = any(not cached[i]["settled"] for i in ids)
            self.cache.save_task(task, cached)
            return entry
        runs = [cached[i]["sum"] for i in order]
        self._render_runs(task, order, old_order, changed_pages, manifests, stats, counter, fresh)
        self._render_history(task, runs, order, old_order, changed_rows, fresh, stats)
        summ = task_summary(task, runs)
        self._render_task(task, summ, runs, order, manifests)
        if fresh:
            self._remove_stale_runs(task, set(order))
        self.cache.save_task(task, cached)
        stats.changed_tasks.append(task)
        return {
            "sig": sig,
            "unsettled": any(not cached[i]["settled"] for i in ids),
            "summary": summ,
        }

    # -- pages -----------------------------------------------------------------

    def _out_task(self, task: str) -> str:
        return os.path.join(self.cfg.out, "tasks", task)

    def _out_run(self, task: str, rid: str) -> str:
        return os.path.join(self.cfg.out, "tasks", task, "runs", rid)

    def _render_runs(
        self,
        task: str,
        order: list[str],
        old_order: list[str],
        changed: set[str],
        manifests: dict[str, dict],
        stats: BuildStats,
        counter: _Counter | None,
        fresh: bool,
    ) -> None:
        old_pos = {rid: i for i, rid in enumerate(old_order)}
        root = self.cfg.root
        for i, rid in enumerate(order):
            prev = order[i - 1] if i else None
            nxt = order[i + 1] if i + 1 < len(order) else None
            j = old_pos.get(rid)
            same_neighbours = j is not None and (
                (old_order[j - 1] if j else None) == prev
                and (old_order[j + 1] if j + 1 < len(old_order) else None) == nxt
            )
            if not fresh and rid not in changed and same_neighbours:
                continue
            path = run_dir(root, task, rid)
            manifest = manifests.get(rid) or read_manifest(path)
            if manifest is None:
                continue
            self._render_run(task, rid, manifest, path, prev, nxt)
            stats.run_pages += 1
            if counter is not None:
                counter.tick()

    def _render_run(
        self, task: str, rid: str, manifest: dict, path: str, prev: str | None, nxt: str | None
    ) -> None:
        out_run = self._out_run(task, rid)
        try:
            os.mkdir(out_run)
            existed = False
        except FileExistsError:
            existed = True
        except FileNotFoundError:
            os.makedirs(out_run)
            existed = False
        status = summarize(rid, manifest)["status"]
        with RunFiles(path, self.cfg.publish) as rf:
            run, keep = pages.run_context(task, rid, manifest, status, rf, out_run)
        self._render(
            os.path.join("tasks", task, "runs", rid, "index.html"),
            "run.html",
            "../../../../",
            # A running run's page reloads itself, like the dashboard.
            refresh=self.cfg.refresh_s if status == RUNNING else 0,
            run=run,
            prev=prev,
            next=nxt,
        )
        if existed:
            _prune_dir(out_run, keep)

    def _render_history(
        self,
        task: str,
        runs: list[dict],
        order: list[str],
        old_order: list[str],
        changed_rows: set[str],
        fresh: bool,
        stats: BuildStats,
    ) -> None:
        size = self.cfg.page_size
        count = pages.page_count(len(order), size)
        old_count = pages.page_count(len(old_order), size)
        if fresh:
            todo = set(range(1, count + 1))
        else:
            # Pages from the first difference on shift; pages of changed rows change.
            first = next(
                (i for i, (a, b) in enumerate(zip(order, old_order, strict=False)) if a != b),
                min(len(order), len(old_order)),
            )
            todo = set(range(first // size + 1, count + 1))
            pos = {rid: i for i, rid in enumerate(order)}
            todo |= {pos[r] // size + 1 for r in changed_rows if r in pos}
            if count != old_count:
                todo.add(min(count, old_count))  # its "newer" link comes or goes
        summary = {"name": task}
        for page in sorted(todo):
            self._render(
                os.path.join("tasks", task, f"page-{page}.html"),
                "history.html",
                "../../",
                task=summary,
                rows=pages.page_rows(runs, page, size),
                page=page,
                pages=count,
            )
            stats.history_pages += 1
        for page in range(count + 1, max(old_count, count) + 1):
            _unlink(os.path.join(self._out_task(task), f"page-{page}.html"))
        if fresh:
            for name in _listdir(self._out_task(task)):
                if name.startswith("page-") and name.endswith(".html"):
                    number = name[5:-5]
                    if not number.isdigit() or int(number) > count:
                        _unlink(os.path.join(self._out_task(task), name))

    def _render_task(
        self, task: str, summ: dict, runs: list[dict], order: list[str], manifests: dict
    ) -> None:
        latest = None
        if order:
            newest = order[-1]
            latest = manifests.get(newest) or read_manifest(run_dir(self.cfg.root, task, newest))
        ctx = pages.task_context(self.cfg, summ, runs, latest)
        base = os.path.join("tasks", task)
        refresh = self.cfg.refresh_s if summ["running"] else 0
        self._render(os.path.join(base, "index.html"), "task.html", "../../", refresh, **ctx)
        self._write(os.path.join(base, "badge.svg"), pages.badge(self.env, task, summ["state"]))
        self._render_feed(os.path.join(base, "feed.atom"), f"{task}", summ["changes"], "../../")

    def _render_feed(self, rel: str, title: str, changes: list[dict], base: str) -> None:
        entries = sorted(changes, key=lambda c: (c["at"] or "", c["task"], c["id"]), reverse=True)
        entries = [dict(e) for e in entries[:FEED_SIZE]]
        site_url = (self.cfg.site_url or "").rstrip("/")
        for e in entries:
            link = f"tasks/{href(e['task'])}/runs/{href(e['id'])}/index.html"
            e["link"] = f"{site_url}/{link}" if site_url else base + link
            e["at"] = e["at"] or "1970-01-01T00:00:00Z"
        feed_id = f"{site_url}/{rel}" if site_url else f"urn:runwrap:{href(self.cfg.title)}:{rel}"
        text = self.env.get_template("feed.atom").render(
            site=self.site,
            feed_title=f"state changes of {title}",
            feed_id=feed_id,
            updated=entries[0]["at"] if entries else "1970-01-01T00:00:00Z",
            self_url=f"{site_url}/{rel}" if site_url else None,
            site_link=f"{site_url}/index.html" if site_url else None,
            entries=entries,
        )
        self._write(rel, text)

    def _render_site(self, summaries: list[dict]) -> None:
        ordered = sorted(summaries, key=lambda s: (STATE_ORDER.get(s["state"], 9), s["name"]))
        html = self.env.get_template("dashboard.html").render(
            site=self.site,
            base="",
            refresh=self.cfg.refresh_s,
            tasks=ordered,
            totals=pages.totals(summaries),
        )
        self._write("index.html", html)
        self._write("status.json", dumps(pages.status_json(self.cfg, ordered)) + "\n")
        changes = [c for s in summaries for c in s["changes"]]
        self._render_feed("feed.atom", "all tasks", changes, "")

    # -- removal ---------------------------------------------------------------

    def _remove_task(self, task: str) -> None:
        shutil.rmtree(self._out_task(task), ignore_errors=True)
        self.cache.drop_task(task)

    def _remove_stale_tasks(self, tasks: set[str]) -> None:
        for name in _listdir(os.path.join(self.cfg.out, "tasks")):
            if name not in tasks:
                shutil.rmtree(os.path.join(self.cfg.out, "tasks", name), ignore_errors=True)

    def _remove_stale_runs(self, task: str, keep: set[str]) -> None:
        out_runs = os.path.join(self._out_task(task), "runs")
        for name in _listdir(out_runs):
            if name not in keep:
                shutil.rmtree(os.path.join(out_runs, name), ignore_errors=True)


_WORKER_SITE: Site | None = None


def _worker_init() -> None:
    # The parent's SIGTERM handler only sets a flag; a worker must die on terminate().
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _build_task(task: str) -> tuple[str, dict | None, BuildStats]:
    """One task of a full build, in a worker process."""
    assert _WORKER_SITE is not None
    part = BuildStats(full=True)
    entry = _WORKER_SITE._update_task(task, None, set(), part, None)
    return task, entry, part


class _Counter:
    """Reports progress every so often during a full build."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress = progress
        self.done = 0
        self.total = total

    def tick(self, n: int = 1) -> None:
        before = self.done
        self.done += n
        if self.done // 200 != before // 200 or self.done == self.total:
            self.progress(self.done, self.total)


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _prune_dir(out_run: str, keep: set[str]) -> None:
    """Remove files a run page no longer links (an artifact renamed, a log gone)."""
    for dirpath, _dirs, filenames in os.walk(out_run, topdown=False):
        rel_dir = os.path.relpath(dirpath, out_run)
        for name in filenames:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if rel not in keep:
                _unlink(os.path.join(dirpath, name))
        if dirpath != out_run and not os.listdir(dirpath):
            os.rmdir(dirpath)


__all__ = ["CACHE_DIR", "BuildStats", "Site"]
