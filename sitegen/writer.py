"""Writing the site into OUT: pages through the theme, published files, removals.

Every file is replaced atomically (a temp file renamed over it), so a web
server never serves half a page.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from typing import Protocol

import jinja2

from runwrap.jsonio import dumps, write_atomic
from runwrap.manifest import RUNNING, read_manifest
from runwrap.paths import run_dir
from sitegen import pages
from sitegen.config import SiteConfig
from sitegen.files import RunFiles, unlink
from sitegen.model import STATE_ORDER, summarize
from sitegen.render import href

FEED_SIZE = 50


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


class Ticker(Protocol):
    """Something that counts rendered pages (a progress bar)."""

    def tick(self, n: int = 1) -> None:
        """Count n more pages."""


class Writer:
    """Renders pages and publishes files into OUT."""

    def __init__(self, cfg: SiteConfig, env: jinja2.Environment, theme_dirs: list) -> None:
        self.cfg = cfg
        self.env = env
        self.theme_dirs = theme_dirs
        self.site = {"title": cfg.title, "site_url": cfg.site_url}

    def write(self, rel: str, text: str) -> None:
        """Atomically replace OUT/rel with text."""
        path = os.path.join(self.cfg.out, rel)
        data = text.encode("utf-8", "surrogateescape")
        try:
            write_atomic(path, data, fsync=False)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_atomic(path, data, fsync=False)

    def render(self, rel: str, template: str, base: str, refresh: int = 0, **ctx: object) -> None:
        """Render a template into OUT/rel."""
        html = self.env.get_template(template).render(
            site=self.site, base=base, refresh=refresh, **ctx
        )
        self.write(rel, html)

    def copy_static(self) -> None:
        """Copy the theme's static files into OUT/static (a user theme's files win)."""
        dest = os.path.join(self.cfg.out, "static")
        # The least specific theme first, so a user theme's files win.
        for theme in reversed(self.theme_dirs):
            src = theme / "static"
            if src.is_dir():
                shutil.copytree(src, dest, dirs_exist_ok=True)

    # -- pages -----------------------------------------------------------------

    def out_task(self, task: str) -> str:
        """The task's directory in OUT."""
        return os.path.join(self.cfg.out, "tasks", task)

    def out_run(self, task: str, rid: str) -> str:
        """The run's directory in OUT."""
        return os.path.join(self.cfg.out, "tasks", task, "runs", rid)

    def render_runs(
        self,
        task: str,
        order: list[str],
        old_order: list[str],
        changed: set[str],
        manifests: dict[str, dict],
        stats: BuildStats,
        counter: Ticker | None,
        fresh: bool,
    ) -> None:
        """Render the run pages that changed, and those whose neighbours changed."""
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
            self.render_run(task, rid, manifest, path, prev, nxt)
            stats.run_pages += 1
            if counter is not None:
                counter.tick()

    def render_run(
        self, task: str, rid: str, manifest: dict, path: str, prev: str | None, nxt: str | None
    ) -> None:
        """Render one run page and publish its logs and artifacts."""
        out_run = self.out_run(task, rid)
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
        self.render(
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

    def render_history(
        self, task: str, runs: list[dict], old_sigs: dict[str, str], fresh: bool, stats: BuildStats
    ) -> dict[str, str]:
        """Render the history pages whose content changed; remove pages that are gone.

        A page is rendered from its rows and its newer/older links only, so
        comparing a digest of those with the last build's says exactly which
        pages a full build would write differently. Returns the new digests.
        """
        paged = pages.paginate(runs, self.cfg.page_size)
        numbers = sorted(paged)
        summary = {"name": task}
        sigs: dict[str, str] = {}
        for page in numbers:
            newer, older = pages.neighbours(numbers, page)
            rows = paged[page]
            sig = hashlib.sha1(
                dumps([rows, newer, older]).encode("utf-8", "surrogateescape")
            ).hexdigest()
            sigs[str(page)] = sig
            if fresh or old_sigs.get(str(page)) != sig:
                self.render(
                    os.path.join("tasks", task, f"page-{page}.html"),
                    "history.html",
                    "../../",
                    task=summary,
                    rows=rows,
                    page=page,
                    newer=newer,
                    older=older,
                )
                stats.history_pages += 1
        for page in set(old_sigs) - set(sigs):
            unlink(os.path.join(self.out_task(task), f"page-{page}.html"))
        if fresh:
            for name in _listdir(self.out_task(task)):
                if name.startswith("page-") and name.endswith(".html") and name[5:-5] not in sigs:
                    unlink(os.path.join(self.out_task(task), name))
        return sigs

    def render_task(
        self, task: str, summ: dict, runs: list[dict], order: list[str], manifests: dict
    ) -> None:
        """Render the task page, its badge and its feed."""
        latest = None
        if order:
            newest = order[-1]
            latest = manifests.get(newest) or read_manifest(run_dir(self.cfg.root, task, newest))
        ctx = pages.task_context(self.cfg, summ, runs, latest)
        base = os.path.join("tasks", task)
        refresh = self.cfg.refresh_s if summ["running"] else 0
        self.render(os.path.join(base, "index.html"), "task.html", "../../", refresh, **ctx)
        self.write(os.path.join(base, "badge.svg"), pages.badge(self.env, task, summ["state"]))
        self.render_feed(os.path.join(base, "feed.atom"), f"{task}", summ["changes"], "../../")

    def render_feed(self, rel: str, title: str, changes: list[dict], base: str) -> None:
        """Render an Atom feed of state changes."""
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
        self.write(rel, text)

    def render_site(self, summaries: list[dict]) -> None:
        """Render the dashboard, status.json and the site feed."""
        ordered = sorted(summaries, key=lambda s: (STATE_ORDER.get(s["state"], 9), s["name"]))
        html = self.env.get_template("dashboard.html").render(
            site=self.site,
            base="",
            refresh=self.cfg.refresh_s,
            tasks=ordered,
            totals=pages.totals(summaries),
        )
        self.write("index.html", html)
        self.write("status.json", dumps(pages.status_json(self.cfg, ordered)) + "\n")
        changes = [c for s in summaries for c in s["changes"]]
        self.render_feed("feed.atom", "all tasks", changes, "")

    # -- removal ---------------------------------------------------------------

    def remove_task(self, task: str) -> None:
        """Remove a task's pages."""
        shutil.rmtree(self.out_task(task), ignore_errors=True)

    def remove_stale_tasks(self, tasks: set[str]) -> None:
        """Remove task directories in OUT that ROOT no longer has."""
        for name in _listdir(os.path.join(self.cfg.out, "tasks")):
            if name not in tasks:
                shutil.rmtree(os.path.join(self.cfg.out, "tasks", name), ignore_errors=True)

    def remove_stale_runs(self, task: str, keep: set[str]) -> None:
        """Remove run directories in OUT that the task no longer has."""
        out_runs = os.path.join(self.out_task(task), "runs")
        for name in _listdir(out_runs):
            if name not in keep:
                shutil.rmtree(os.path.join(out_runs, name), ignore_errors=True)


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _prune_dir(out_run: str, keep: set[str]) -> None:
    """Remove files a run page no longer links (an artifact renamed, a log gone)."""
    for dirpath, _dirs, filenames in os.walk(out_run, topdown=False):
        rel_dir = os.path.relpath(dirpath, out_run)
        for name in filenames:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if rel not in keep:
                unlink(os.path.join(dirpath, name))
        if dirpath != out_run and not os.listdir(dirpath):
            os.rmdir(dirpath)
