"""What sitegen may remove from OUT: only what it made.

OUT/tasks/ may hold a person's files too (notes, an archive, a page of
their own): a stale task directory is removed only if it holds what sitegen
writes with every task page (its badge or feed, or its runs/), and then
only sitegen's names in it (its pages, feed, badge, temp files, run
directories); in a task's runs/, only directories named like run ids. A
directory left empty goes too.
"""

from __future__ import annotations

import os
import shutil

from runwrap.store import siteurls as urls
from runwrap.store.layout import is_run_id
from sitegen.publish.scratch import is_temp, unlink


def listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def page_number(name: str) -> int:
    """n for a history page's file name, else 0 (no page has it)."""
    digits = name.removeprefix("page-").removesuffix(".html")
    return int(digits) if digits.isdigit() and digits.isascii() else 0


def rmdir_if_empty(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass  # not empty, or not there


def prune_run_dir(out_run: str, keep: set[str]) -> None:
    """Remove files a run page no longer links (an artifact renamed, a log gone)."""
    for dirpath, _dirs, filenames in os.walk(out_run, topdown=False):
        rel_dir = os.path.relpath(dirpath, out_run)
        for name in filenames:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if rel not in keep:
                unlink(os.path.join(dirpath, name))
        if dirpath != out_run and not os.listdir(dirpath):
            os.rmdir(dirpath)


def is_task_dir(path: str) -> bool:
    """A real directory holding what sitegen writes with every task page, or the run
    pages a first build killed early left."""
    if os.path.islink(path) or not os.path.isdir(path):
        return False
    return any(os.path.isfile(os.path.join(path, name)) for name in (urls.BADGE, urls.FEED)) or (
        os.path.isdir(os.path.join(path, urls.RUNS))
        and not os.path.islink(os.path.join(path, urls.RUNS))
    )


def remove_own(out_task: str) -> None:
    """Remove what sitegen made in a task's directory (its pages, feed, badge, runs), and
    the directory if nothing else is left: a person's files there stay."""
    for name in listdir(out_task):
        path = os.path.join(out_task, name)
        pages = (
            urls.INDEX,
            urls.BADGE,
            urls.FEED,
            urls.SEARCH,
            urls.history_name(page_number(name)),
        )
        if name in pages or is_temp(name):
            unlink(path)
        elif name == urls.RUNS and not os.path.islink(path):
            for run_id in listdir(path):
                if is_run_id(run_id):
                    shutil.rmtree(os.path.join(path, run_id), ignore_errors=True)
            rmdir_if_empty(path)
    rmdir_if_empty(out_task)


def remove_stale_tasks(out_tasks: str, tasks: set[str]) -> None:
    """Remove the task directories sitegen made in `out_tasks` for tasks not in `tasks`."""
    for name in listdir(out_tasks):
        path = os.path.join(out_tasks, name)
        if name in tasks:
            continue
        if is_task_dir(path):
            remove_own(path)
        elif not os.path.islink(path):
            rmdir_if_empty(path)  # an empty directory holds nobody's files


def remove_stale_runs(out_runs: str, keep: set[str]) -> None:
    """Remove the run directories in `out_runs` not in `keep`; anything not named like
    a run there is not sitegen's, and stays."""
    for name in listdir(out_runs):
        if name not in keep and is_run_id(name):
            shutil.rmtree(os.path.join(out_runs, name), ignore_errors=True)
    rmdir_if_empty(out_runs)
