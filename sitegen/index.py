"""The build cache in OUT/.sitegen: what each page was built from, so updates stay small.

summary.json holds, per task, the dashboard summary, the signature of its
runs/ directory and the runs not yet settled; tasks/<task>.json holds every
run's summary and manifest signature. Both are rebuilt from ROOT whenever
missing, unreadable or written by another version, theme or configuration.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from urllib.parse import quote

from runwrap.jsonio import read_json, write_json_atomic
from sitegen.config import SiteConfig
from sitegen.files import unlink

CACHE_DIR = ".sitegen"
VERSION = 1


def cache_dir(out: str) -> str:
    """Where the build cache of OUT lives."""
    return os.path.join(out, CACHE_DIR)


def fingerprint(cfg: SiteConfig, theme_dirs: list[Path]) -> str:
    """Everything besides ROOT that shapes the pages: a change means a full rebuild."""
    h = hashlib.sha256()
    parts = [
        str(VERSION),
        os.path.realpath(cfg.root),
        cfg.title,
        str(cfg.site_url),
        repr(cfg.descriptions),
        str(cfg.page_size),
        cfg.publish,
        str(cfg.refresh_s),
    ]
    sources = Path(__file__).parent
    for path in sorted(sources.glob("*.py")):
        parts.append(f"{path.name}:{path.stat().st_mtime_ns}")
    for theme in theme_dirs:
        for path in sorted(theme.rglob("*")):
            if path.is_file():
                st = path.stat()
                parts.append(f"{path}:{st.st_mtime_ns}:{st.st_size}")
    h.update("\0".join(parts).encode("utf-8", "surrogateescape"))
    return h.hexdigest()


class Cache:
    """Load and save the cache files; anything unreadable reads as empty."""

    def __init__(self, out: str, fp: str) -> None:
        self.dir = cache_dir(out)
        self.fp = fp

    def load_summary(self) -> dict | None:
        """The site-wide summary, or None when a full build is needed."""
        data = read_json(os.path.join(self.dir, "summary.json"))
        if not isinstance(data, dict) or data.get("fingerprint") != self.fp:
            return None
        tasks = data.get("tasks")
        return tasks if isinstance(tasks, dict) else None

    def save_summary(self, tasks: dict) -> None:
        """Write the site-wide summary last, so a crash mid-build means a rebuild."""
        os.makedirs(self.dir, exist_ok=True)
        write_json_atomic(
            os.path.join(self.dir, "summary.json"),
            {"fingerprint": self.fp, "tasks": tasks},
            fsync=False,
        )

    def _task_path(self, task: str) -> str:
        return os.path.join(self.dir, "tasks", quote(task, safe="") + ".json")

    def load_task(self, task: str) -> tuple[dict, dict] | None:
        """(runs, pages) or None: {run_id: {"sig", "sum", "settled"}}, {page: digest}."""
        data = read_json(self._task_path(task))
        if not isinstance(data, dict) or data.get("fingerprint") != self.fp:
            return None
        runs, pages = data.get("runs"), data.get("pages")
        if not isinstance(runs, dict) or not isinstance(pages, dict):
            return None
        return runs, pages

    def save_task(self, task: str, runs: dict, pages: dict) -> None:
        """Write a task's run cache and its history pages' digests."""
        os.makedirs(os.path.join(self.dir, "tasks"), exist_ok=True)
        write_json_atomic(
            self._task_path(task),
            {"fingerprint": self.fp, "runs": runs, "pages": pages},
            fsync=False,
        )

    def drop_task(self, task: str) -> None:
        """Forget a task that is gone."""
        unlink(self._task_path(task))

    def clear(self) -> None:
        """Forget every run (a full build follows); compiled templates stay."""
        shutil.rmtree(os.path.join(self.dir, "tasks"), ignore_errors=True)
        unlink(os.path.join(self.dir, "summary.json"))
