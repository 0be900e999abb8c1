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
- when some task's lateness changes next (the clock's part of the pages).

Any difference, or any doubt (no stamp, a journal left by a dead update, an
unreadable file), means a real update, which writes a new stamp.
"""

from __future__ import annotations

import os
import stat
import sys
import time

from runwrap.store.jsonio import dumps, read_json, write_json_atomic
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

STAMP = "stamp.json"
VERSION = 1
# The options a one-shot build may take and still be answered here (the others,
# --full, --watch, --serve, --verbose, --help, go the long way).
VALUED = ("root", "out", "theme", "title", "site-url", "config", "publish")
QUIET = ("-q", "--quiet")
RACY_S = 0.05  # changes closer than this to an update's start are not trusted


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


def dir_sig(path: str) -> list[int] | None:
    """A directory's signature; nlink counts subdirectories: a run added and one pruned
    in the same tick still change it."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_nlink, st.st_ino]


def run_sig(path: str) -> list[int] | None:
    """A run's signature (sig_at()) by its path; None while it has no manifest."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return sig_at(fd)
    finally:
        os.close(fd)


def sig_at(dir_fd: int) -> list[int] | None:
    """What says a run changed: its manifest's mtime, size, inode and type, the sizes of its
    logs and of its notifications.json; None while there is no manifest at all.

    The type is part of it: a manifest that is a FIFO or a link is not "missing yet";
    notifications.json may come after the final manifest, and the run's page shows it.
    """
    try:
        st = os.stat(MANIFEST, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return None
    sizes = [_lsize(name, dir_fd) for name in (STDOUT, STDERR, NOTIFICATIONS)]
    return [st.st_mtime_ns, st.st_size, st.st_ino, *sizes, stat.S_IFMT(st.st_mode)]


def _lsize(name: str, fd: int) -> int:
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False).st_size
    except OSError:
        return -1


def _code_sig(theme: str) -> list[str]:
    """The mtimes of sitegen's code, the store's, and the theme files: a change is a rebuild."""
    import runwrap.store

    here = os.path.dirname(os.path.abspath(__file__))
    store = os.path.dirname(os.path.abspath(runwrap.store.__file__))
    dirs = [here, store, os.path.dirname(store)]
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


def tree_files(top: str) -> list[tuple[str, os.stat_result]]:
    """Every file under `top` with its stat, by path: links followed, as the template
    loader follows them (a theme may link a directory it shares), each directory once."""
    found, seen = [], set()
    for path, subdirs, files in os.walk(top, followlinks=True):
        st = os.stat(path)
        if (st.st_dev, st.st_ino) in seen:
            subdirs.clear()  # a cycle, or a directory linked twice: walked already
            continue
        seen.add((st.st_dev, st.st_ino))
        subdirs.sort()
        for name in sorted(files):
            file = os.path.join(path, name)
            try:
                found.append((file, os.stat(file)))
            except FileNotFoundError:
                found.append((file, os.lstat(file)))  # a dangling link: its own change counts
    return found


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


def task_sigs(root: str, task: str) -> list[list[int] | None]:
    """A task directory's signature, its open/'s, its runs/' and its state.json's, taken
    before an update reads them (runs/ for writers that keep no state.json: its fold is
    then read anew)."""
    path = task_dir(root, task)
    return [
        dir_sig(path),
        dir_sig(os.path.join(path, OPEN)),
        dir_sig(os.path.join(path, RUNS)),
        dir_sig(os.path.join(path, STATE)),  # the read model's: one edited in place too
    ]


def running(rec: dict) -> bool:
    """Whether a run record of the build cache is of a running run."""
    return rec["sum"] is not None and rec["sum"]["status"] == "running"


def stamp_state(
    at: float, tasks_sig: list[int] | None, sigs: dict, summary: dict, due: float | None
) -> dict | None:
    """The stamp of a complete update that began at `at` (sigs: task_sigs() per task, then;
    summary: the build cache's, whose runs/ signatures were taken before reading); None
    when some directory or manifest changed too close to `at` to be trusted."""
    state = {
        "tasks_sig": tasks_sig,
        # runs/ as the update read it (the task cache's), not as task_sigs() saw it first.
        "tasks": {t: [*sigs[t][:2], entry["sig"], sigs[t][3]] for t, entry in summary.items()},
        "pending": [
            [t, run_id, rec["sig"], rec.get("bad"), running(rec)]
            for t, entry in summary.items()
            for run_id, rec in entry["pending"].items()
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
    write_json_atomic(_path(out), {"key": build_key, **state}, fsync=False)


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
    if dir_sig(tasks_dir(root)) != data["tasks_sig"]:
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
