"""Whether anything changed since the last complete one-shot build, told by stats alone.

cron runs `sitegen` every few minutes, and most of the time nothing changed.
This module answers that before the renderer (Jinja2, Markdown,
multiprocessing) or even argparse is imported: it imports only the store's
lean modules, and costs a few stats per task, not per run.

The stamp, OUT/.sitegen/stamp.json, holds what the last complete update was
built from and what ROOT looked like when it began:

- the key: the options, the config file's content, ROOT and OUT, the time
  zone schedules are read in, and the code and theme files' mtimes (what
  cache.fingerprint counts, and more);
- the signatures (mtime, links, inode) of ROOT/tasks (a task came or went),
  and per task of its directory (state.json and notify.json are replaced
  there: lateness), of runs/ (a run directory is born by a rename into it,
  retention removes one) and of open/ (runwrap's markers of unfinished runs);
- the runs not settled yet, with their manifest's signature: finished runs
  are immutable, so only those are looked at, and a running one's owner is
  asked whether it still lives (it would read as lost);
- when some task's lateness or silence changes next (the clock's part of the
  pages: a next expected run and its grace, a mute's end, a mute window's opening).

Any difference, or any doubt (no stamp, a journal left by a dead update, an
unreadable file), means a real update, which writes a new stamp.
"""

from __future__ import annotations

import os
import stat
import sys
import time

from runwrap.store.jsonio import dumps, read_json
from runwrap.store.layout import (
    MANIFEST,
    NOTIFICATIONS,
    OPEN,
    RUNS,
    STATE,
    STDERR,
    STDOUT,
    runs_dir,
    task_dir,
    tasks_dir,
)
from runwrap.store.siteurls import INDEX
from sitegen.read.sigs import RACY_S, run_sig, task_sigs, tasks_sig, tree_files

TYPE_CHECKING = False  # typing itself is not imported: this is the lean path
if TYPE_CHECKING:
    from sitegen.build.records import TaskEntry

STAMP = "stamp.json"
VERSION = 1
# The options a one-shot build may take and still be answered here (the others,
# --full, --watch, --serve, --verbose, --help, go the long way).
VALUED = ("root", "out", "theme", "title", "site-url", "config", "publish")
QUIET = ("-q", "--quiet")


def simple_options(argv: list[str]) -> dict[str, str] | None:
    """{option: value} for a plain one-shot command line, None for anything else."""
    opts: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg in QUIET:
            continue
        name, eq, value = arg.partition("=")
        if not name.startswith("--") or name[2:] not in VALUED or name[2:] in opts:
            return None
        if not eq:
            if i == len(argv):
                return None
            value = argv[i]
            i += 1
        opts[name[2:]] = value
    return opts


def _code_sig(theme: str) -> list[str]:
    """The mtimes of sitegen's code, the store's, and the theme files: a change is a rebuild."""
    import runwrap.store

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # sitegen/
    store = os.path.dirname(os.path.abspath(runwrap.store.__file__))
    rooms = [e.path for e in os.scandir(here) if e.is_dir() and e.name.isidentifier()]
    dirs = [here, *sorted(rooms), store, os.path.dirname(store)]
    trees = [os.path.join(here, "themes"), os.path.join(os.path.dirname(here), "themes")]
    if os.sep in theme or os.path.isdir(theme):
        trees.append(os.path.abspath(theme))
    parts = []
    for d in dirs:
        for entry in sorted(os.scandir(d), key=lambda e: e.name):
            if entry.name.endswith(".py"):
                parts.append(f"{entry.path}:{entry.stat().st_mtime_ns}")
    for tree in trees:
        for path, st in tree_files(tree):
            parts.append(f"{path}:{st.st_mtime_ns}:{st.st_size}")
    return parts


def key(opts: dict[str, str]) -> tuple[str, str, str]:
    """(the key of a build with these options, ROOT, OUT); RunwrapError for a bad config.

    The config is the one sitegen.config.resolve_config() makes for a build (unchecked:
    a check that would fail makes the build itself run and say so).
    """
    from sitegen.config import resolve_config

    cfg = resolve_config(
        **{name.replace("-", "_"): value for name, value in opts.items()}, check=False
    )
    parts = {
        "version": VERSION,
        "python": sys.version,
        "cwd": os.getcwd(),
        "config": [cfg.config_file, *cfg.values()],
        "code": _code_sig(cfg.theme),
        # A schedule recorded without its own zone is read in the system's.
        "zone": [os.environ.get("CRON_TZ"), os.environ.get("TZ"), time.tzname, time.timezone],
    }
    return dumps(parts), cfg.root, cfg.out


def _path(out: str) -> str:
    return os.path.join(out, ".sitegen", STAMP)


def stamp_state(
    at: float,
    tasks_sig: list[int] | None,
    sigs: dict,
    summary: dict[str, TaskEntry],
    due: float | None,
) -> dict | None:
    """The stamp of a complete update that began at `at` (sigs: task_sigs() per task, then;
    summary: the build cache's entries (records.py), whose runs/ signatures were taken
    before reading); None
    when some directory or manifest changed too close to `at` to be trusted."""
    state = {
        "tasks_sig": tasks_sig,
        # runs/ as the update read it (the task cache's), not as task_sigs() saw it first.
        "tasks": {t: [*sigs[t][:2], entry.sig, sigs[t][3]] for t, entry in summary.items()},
        "pending": [
            [t, run_id, rec.sig, rec.bad, rec.running]
            for t, entry in summary.items()
            for run_id, rec in entry.pending.items()
        ],
        "due": due,
        "at": at,
    }
    # A file system's clock ticks coarsely (a few ms): a change in the same tick as one
    # just before the update began would leave the same mtime. As git does with its
    # index, distrust what changed that close to (or after) the start: no stamp, and
    # the next build, a real one, stamps what has settled by then.
    racy = int((at - RACY_S) * 1e9)
    found = [tasks_sig, *(s for ss in state["tasks"].values() for s in ss)]
    found += [sig for rec in state["pending"] for sig in rec[2:4]]
    if any(sig is not None and sig[0] >= racy for sig in found):
        return None
    return state


def save(out: str, build_key: str, state: dict) -> None:
    """Write the stamp after a complete update (state: from Site.stamp_state())."""
    # Through the build's way of writing OUT: a temp file a killed sitegen leaves is one
    # that Site's start sweeps from the cache's directory.
    from sitegen.publish.scratch import Scratch

    data = (dumps({"key": build_key, **state}) + "\n").encode("utf-8", "surrogateescape")
    try:
        Scratch().write(_path(out), data)
    except IsADirectoryError:
        # A directory where the stamp goes: OUT/.sitegen is ours to mend (cache.py's
        # files alike), or every later update would fail on it.
        import shutil

        shutil.rmtree(_path(out), ignore_errors=True)
        Scratch().write(_path(out), data)


def forget(out: str) -> None:
    """Remove the stamp: an update is about to change OUT."""
    try:
        os.unlink(_path(out))
    except OSError:
        pass


def unchanged(argv: list[str]) -> bool:
    """Whether OUT is up to date for this command line: True only when sure."""
    opts = simple_options(argv)
    if opts is None:
        return False
    try:
        build_key, root, out = key(opts)
        data = read_json(_path(out))
        if not isinstance(data, dict) or data.get("key") != build_key:
            return False
        return _same(root, out, data)
    except Exception:  # any doubt (a bad config, a bug): the real update tells and mends
        return False


def _same(root: str, out: str, data: dict) -> bool:
    now, due = time.time(), data["due"]
    if now < data["at"] or (due is not None and now >= due):
        return False  # some task's lateness changes now (or the clock went back)
    if os.path.lexists(os.path.join(out, ".sitegen", "dirty.json")):
        return False  # a dead update's journal
    if not os.path.lexists(os.path.join(out, INDEX)):
        return False  # OUT emptied by hand (`rm -rf OUT/*` keeps .sitegen/): build it again
    if tasks_sig(root) != data["tasks_sig"]:
        return False
    for task, sigs in data["tasks"].items():
        if task_sigs(root, task) != sigs:
            return False
    for task, run_id, sig, bad, running in data["pending"]:
        path = os.path.join(runs_dir(root, task), run_id)
        now = run_sig(path)
        if now != sig and (now is None or now != bad):
            return False
        if running and not _still_running(path):
            return False
    return True


def _still_running(path: str) -> bool:
    """Whether a running run still reads as running (its owner may have died: lost)."""
    from runwrap.store.manifest import RUNNING, effective_status

    manifest = read_json(os.path.join(path, MANIFEST))
    task_path = os.path.dirname(os.path.dirname(path))  # runs/<run_id> of a task
    run_id = os.path.basename(path)
    return isinstance(manifest, dict) and effective_status(manifest, task_path, run_id) == RUNNING
