"""The build cache in OUT/.sitegen: what each page was built from, so updates stay small.

summary.pack holds, per task, the dashboard summary, the signature of its
runs/ directory and the runs not yet settled; tasks/<task>.pack holds every
run's summary and manifest signature, and each failed run's what changed
(pages.what_changed: computed once a run, kept here, not a file a run in
OUT). Both are rebuilt from ROOT whenever missing, unreadable (a warning says
so) or written by another version, theme or configuration.

A task's cache is a base (tasks/<task>.pack, written whole by a build of the
task whole and when compacted) and a log (tasks/<task>.log, chunks.py): an
update appends a chunk of the records, page digests and what changed it
changed, so an update after one run writes one run's record, not the task's
history. Any chunk that does not read back, sealed for its base and task and
of the shape sitegen writes, has the task rebuilt.

summary.pack and rows.pack are read and written whole by every update, a
one-shot update after one run too (about 3 MB at 100 tasks run every 5
minutes), and a task's cache by every update of the task (a record a run):
sitegen writes them packed (publish/packed.py: marshal, with a digest), which
loads two to three times faster than JSON and is written ten times faster.
A packed file that reads back with its digest is taken as sitegen wrote it;
one in JSON (written by hand, say) is read too, and checked record by record.

rows.pack holds the dashboard's rendered rows and its timeline lanes' markup
(sitegen/render/fragments.py, timeline.py), with the time zone they were
rendered in and a token that summary.pack names: they are only taken with the
summaries saved with them.

dirty.json is the journal of an update: the tasks it is changing, written
before it touches OUT and removed once the cache is saved. If sitegen dies in
between (killed, a crash, a stop), the next build rebuilds those tasks whole,
and OUT ends up as a full build would make it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import time
from pathlib import Path
from urllib.parse import quote

from runwrap.store import siteurls
from runwrap.store.jsonio import Unreadable, dumps, read_bytes_at, read_json_at
from sitegen import logs
from sitegen.build import chunks
from sitegen.build.records import RunRecord, TaskEntry, runs_from_json, runs_to_json
from sitegen.config import SiteConfig
from sitegen.publish.packed import pack, unpack
from sitegen.publish.scratch import Scratch, unlink
from sitegen.read.sigs import tree_files

TYPE_CHECKING = False  # typing itself is not imported (as in cli.py)
if TYPE_CHECKING:
    from sitegen.render.fragments import Dashboard

log = logs.getLogger(__name__)

CACHE_DIR = ".sitegen"
VERSION = 6  # 6: a task cache is a base with a token and a log of chunks (chunks.py)
CACHE_MAX = 1 << 30  # a task cache holds about 300 bytes a run
KEPT_CHANGES = 5  # the newest runs of a task whose what changed is kept (save_task)


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
    # sitegen's code and the store's it reads by (the URL layout, health, manifests),
    # and the ground's that says durations, sizes and times on every page.
    store = Path(siteurls.__file__).parent
    ground = [store.parent / "units.py", store.parent / "timefmt.py"]
    code = Path(__file__).parent.parent.rglob("*.py")  # every room of sitegen
    for path in sorted([*code, *store.glob("*.py"), *ground]):
        parts.append(f"{path.parent.name}/{path.name}:{path.stat().st_mtime_ns}")
    for theme in theme_dirs:
        for path, st in tree_files(str(theme)):
            if stat.S_ISREG(st.st_mode):
                parts.append(f"{path}:{st.st_mtime_ns}:{st.st_size}")
    h.update("\0".join(parts).encode("utf-8", "surrogateescape"))
    return h.hexdigest()


class Cache:
    """Load and save the cache files; anything unreadable reads as empty, with a warning."""

    def __init__(self, out: str, fp: str, scratch: Scratch) -> None:
        self.out = out
        self.dir = cache_dir(out)
        self.fp = fp
        self.scratch = scratch
        self.rows_token: str | None = None  # the rows.pack saved with summary.pack
        self._loaded: dict[str, _Loaded] = {}  # each task cache as load_task() read it

    def _save(self, path: str, value: object) -> None:
        self._write(path, (dumps(value) + "\n").encode("utf-8", "surrogateescape"))

    def _write(self, path: str, *chunks: bytes) -> None:
        try:
            self.scratch.write(path, *chunks)
        except IsADirectoryError:
            # A directory where a cache file goes: the cache is ours to mend.
            shutil.rmtree(path, ignore_errors=True)
            self.scratch.write(path, *chunks)

    def _load_packed(self, path: str) -> tuple[dict | None, bool]:
        """(a packed or JSON cache file written for this fingerprint, whether it is packed
        as sitegen wrote it), or (None, False) (a warning if it is unreadable)."""
        try:
            raw = read_bytes_at(path, limit=CACHE_MAX)
            data, trusted = (None, False) if raw is None else unpack(raw)
        except Unreadable as e:
            log.warning("the build cache %s is unreadable (%s): rebuilding", path, e)
            return None, False
        if data is None:
            return None, False
        if type(data) is not dict or type(data.get("fingerprint")) is not str:
            log.warning("the build cache %s is not sitegen's: rebuilding", path)
            return None, False
        if data["fingerprint"] != self.fp:
            return None, False
        return data, trusted

    def load_summary(self) -> tuple[dict[str, TaskEntry], list[str], dict | None] | None:
        """(tasks, warned, the lateness the pages show) of the last build, or None when a
        full build is needed."""
        if not os.path.lexists(os.path.join(self.out, siteurls.INDEX)):
            # OUT emptied by hand (`rm -rf OUT/*` keeps .sitegen/): the cache describes
            # pages that are gone, so it is no guide.
            return None
        path = os.path.join(self.dir, "summary.pack")
        data, trusted = self._load_packed(path)
        if data is None:
            return None
        tasks, warned, late = data.get("tasks"), data.get("warned", []), data.get("late")
        token = data.get("rows")
        self.rows_token = token if type(token) is str else None
        entries = _entries(tasks, trusted)
        if not (
            type(tasks) is dict
            and None not in entries.values()
            and type(warned) is list
            and all(type(w) is str for w in warned)
            and (late is None or type(late) is dict)
        ):
            log.warning("the build cache %s does not hold what sitegen wrote: rebuilding", path)
            return None
        return entries, warned, late  # type: ignore[return-value]

    def save_summary(
        self, tasks: dict[str, TaskEntry], warned: list[str], late: dict | None = None
    ) -> None:
        """Write the site-wide summary last, so a crash mid-build means a rebuild; `late` is
        what the pages show of lateness (a new process re-renders only what differs)."""
        entries = {
            task: {
                "pending": runs_to_json(entry.pending),
                "record": entry.record,
                "sig": entry.sig,
                "summary": entry.summary,
            }
            for task, entry in sorted(tasks.items())
        }
        data = {
            "fingerprint": self.fp,
            "late": late,
            "rows": self.rows_token,
            "tasks": entries,
            "warned": warned,
        }
        self._write(os.path.join(self.dir, "summary.pack"), *pack(data))

    def save_rows(self, dashboard: Dashboard) -> None:
        """Write the dashboard's rows and timeline lanes if a row changed (a lane's bars
        come from its task's summary, which its row shows: a lane never changes alone);
        the next save_summary() names them."""
        if not dashboard.changed:
            return
        self.rows_token = os.urandom(8).hex()
        data = {
            "fingerprint": self.fp,
            "token": self.rows_token,
            "zone": _zone(),
            "rows": dashboard.saved(),
            "lanes": dashboard.saved_lanes(),
        }
        self._write(os.path.join(self.dir, "rows.pack"), *pack(data))

    def load_rows(self) -> tuple[dict, dict] | None:
        """(rows, lanes) saved with the summary last loaded, or None."""
        if self.rows_token is None:
            return None
        data, _trusted = self._load_packed(os.path.join(self.dir, "rows.pack"))
        if data is None or data.get("token") != self.rows_token or data.get("zone") != _zone():
            return None
        rows, lanes = data.get("rows"), data.get("lanes")
        if type(rows) is not dict:
            return None
        # Each row and lane is checked as it is taken (fragments.py, timeline.py).
        return rows, lanes if type(lanes) is dict else {}

    def _task_path(self, task: str, ext: str = ".pack") -> str:
        return os.path.join(self.dir, "tasks", quote(task, safe="") + ext)

    def load_task(
        self, task: str
    ) -> tuple[dict[str, RunRecord], dict[str, str], dict[str, dict]] | None:
        """(runs, pages, changes) or None: {run_id: its record}, {page: digest}, {failed
        run_id: what changed in it (pages.what_changed)}: the base with its log's chunks
        (chunks.py) applied, oldest first."""
        path = self._task_path(task)
        self._loaded.pop(task, None)
        data, trusted = self._load_packed(path)
        if data is None:
            return None
        try:
            runs = runs_from_json(data.get("runs"), trusted)
        except (KeyError, TypeError, AttributeError):  # sealed by something else than sitegen
            runs = runs_from_json(data.get("runs"))
        pages = data.get("pages")
        if not (
            runs is not None
            and type(pages) is dict
            and all(type(p) is str and type(d) is str for p, d in pages.items())
        ):
            log.warning("the build cache %s does not hold what sitegen wrote: rebuilding", path)
            return None
        changes = data.get("changes")
        if not trusted or type(changes) is not dict:
            # Not sealed by sitegen: worked out again (each entry is taken only when its
            # key matches, pages.what_changed).
            changes = {}
        token = data.get("token")
        sealed = trusted and type(token) is str
        log_path = self._task_path(task, ".log")
        try:
            raw = read_bytes_at(log_path, limit=CACHE_MAX)
            found = [] if raw is None else chunks.decode(raw, str(token), task)
        except Unreadable as e:
            log.warning("the build cache %s is unreadable (%s): rebuilding", log_path, e)
            return None
        if found and not sealed:
            # A log beside a base sitegen did not seal (by hand): not that base's log.
            log.warning("the build cache %s is not sitegen's: rebuilding", log_path)
            return None
        for chunk in found:
            if not _apply(chunk, runs, pages, changes):
                log.warning(
                    "the build cache %s does not hold what sitegen wrote: rebuilding", log_path
                )
                return None
        if sealed:
            # What save_task() appends to: the cache as it is now, to tell what an update
            # changed in it.
            size = len(raw or b"")
            base = len(data["runs"])
            self._loaded[task] = _Loaded(token, len(found), size, base, runs, pages, changes)
        return runs, pages, changes

    # What changed is kept for a task's newest runs only: theirs are the pages an update
    # renders again (a run arriving beside them). An older failed run's page rendered
    # again (a neighbour pruned) works its what changed out anew from two stderr tails, as
    # a full build does. Else every update of a long-failing task would load and write
    # all its failures' new stderr lines (up to 50 of 500 characters a run).
    def save_task(
        self,
        task: str,
        runs: dict[str, RunRecord],
        pages: dict[str, str],
        changes: dict[str, dict] | None = None,
    ) -> None:
        """Write a task's run cache, its history pages' digests and its newest failed
        runs' what changed (KEPT_CHANGES): a chunk of what changed since load_task()
        appended to its log, or the whole cache (a new base, its log removed)."""
        if changes:
            recent = set(sorted(runs)[-KEPT_CHANGES:])
            for run_id in [r for r in changes if r not in recent]:
                del changes[run_id]
        loaded = self._loaded.pop(task, None)
        if loaded is not None and not _compact_now(loaded, len(runs)):
            delta = _delta(loaded, runs, pages, changes or {})
            if delta is None:
                return  # nothing changed: the base and its log hold it already
            try:
                chunks.append(
                    self._task_path(task, ".log"), chunks.encode(loaded.token, task, delta)
                )
                return
            except OSError as e:  # a directory or a link in its place: the cache is ours to mend
                log.debug("cannot append to the cache of task %s (%s): written whole", task, e)
        token = os.urandom(8).hex()
        data = {"fingerprint": self.fp, "token": token, "runs": runs_to_json(runs), "pages": pages}
        if changes:
            data["changes"] = changes
        self._write(self._task_path(task), *pack(data))
        # After the new base, never before: a log a kill leaves here is sealed for the old
        # token and does not read back (and dirty.json has the task rebuilt anyway).
        _remove(self._task_path(task, ".log"))

    def drop_task(self, task: str) -> None:
        """Forget a task that is gone."""
        _remove(self._task_path(task))
        _remove(self._task_path(task, ".log"))
        self._loaded.pop(task, None)

    def clear(self) -> None:
        """Forget every run (a full build follows); compiled templates stay."""
        self.rows_token = None
        self._loaded = {}
        names = ("tasks", "summary.pack", "dirty.json", "rows.pack", "metrics.pack")
        for name in (*names, "summary.json", "rows.json", "metrics.json"):  # before packing
            _remove(os.path.join(self.dir, name))

    # -- the journal -------------------------------------------------------------

    def load_dirty(self) -> set[str] | None:
        """Tasks an interrupted update was changing; None when that cannot be known."""
        path = os.path.join(self.dir, "dirty.json")
        try:
            data = read_json_at(path)
        except Unreadable as e:
            log.warning("the build journal %s is unreadable (%s): rebuilding", path, e)
            return None
        if data is None:
            return set()
        if type(data) is not list or not all(type(t) is str for t in data):
            log.warning("the build journal %s is not sitegen's: rebuilding", path)
            return None
        return set(data)

    def mark_dirty(self, tasks: set[str]) -> None:
        """Say which tasks OUT is about to change (before anything is changed)."""
        self._save(os.path.join(self.dir, "dirty.json"), sorted(tasks))

    def clear_dirty(self) -> None:
        """The update is complete: OUT and the cache agree again."""
        _remove(os.path.join(self.dir, "dirty.json"))


def _entries(tasks: object, sealed: bool) -> dict[str, TaskEntry | None]:
    """summary.pack's entries by task, each None where it is not one sitegen wrote."""
    if type(tasks) is not dict:
        return {}
    if sealed:
        try:
            return {t: TaskEntry.trusted(t, e) for t, e in tasks.items()}
        except (KeyError, TypeError, AttributeError):
            pass  # sealed by something else than sitegen: checked entry by entry
    return {t: TaskEntry.from_json(t, e) for t, e in tasks.items()}


def _zone() -> list:
    """The time zone sitegen reads times in (as stamp.key() counts it)."""
    return [os.environ.get("CRON_TZ"), os.environ.get("TZ"), list(time.tzname), time.timezone]


def _remove(path: str) -> None:
    """Remove a cache file or whatever stands in its place."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        unlink(path)


# A task's log is compacted (its cache written whole again, a new base) once loading its
# chunks would cost more than a fraction of loading the base: more than a chunk for every
# COMPACT_RUNS runs (a chunk's records are checked one by one, a sealed base's are not)
# or more bytes than a quarter of the base's, and never at fewer than COMPACT_MIN chunks.
# Amortised over the updates between, a compaction costs a fraction of a record a run.
COMPACT_MIN = 8
COMPACT_RUNS = 64
RECORD_BYTES = 350  # about what a run's record takes packed


class _Loaded:
    """A task cache as load_task() read it: its base's token, its log's length in chunks
    and bytes, the base's runs, and the runs, pages and changes as loaded (copies of the
    dicts: an update replaces a record, never changes one, so `is` tells which it wrote)."""

    __slots__ = ("token", "count", "size", "base_runs", "runs", "pages", "changes")

    def __init__(
        self,
        token: str,
        count: int,
        size: int,
        base_runs: int,
        runs: dict[str, RunRecord],
        pages: dict[str, str],
        changes: dict[str, dict],
    ) -> None:
        self.token, self.count, self.size, self.base_runs = token, count, size, base_runs
        self.runs, self.pages, self.changes = dict(runs), dict(pages), dict(changes)


def _compact_now(loaded: _Loaded, runs: int) -> bool:
    """Whether save_task() writes the task's cache whole rather than append to its log."""
    if loaded.count + 1 > max(COMPACT_MIN, runs // COMPACT_RUNS):
        return True
    return loaded.size > max(16 * 1024, loaded.base_runs * RECORD_BYTES // 4)


def _delta(
    loaded: _Loaded, runs: dict[str, RunRecord], pages: dict[str, str], changes: dict[str, dict]
) -> dict | None:
    """A chunk's value: what changed since load_task() (None: nothing)."""
    was = loaded.runs
    new = {run_id: rec.to_json() for run_id, rec in runs.items() if was.get(run_id) is not rec}
    gone = [run_id for run_id in was if run_id not in runs]
    old_pages = loaded.pages
    new_pages: dict[str, str | None] = {p: d for p, d in pages.items() if old_pages.get(p) != d}
    new_pages.update((p, None) for p in old_pages if p not in pages)
    kept = changes if changes != loaded.changes else None
    if not (new or gone or new_pages or kept is not None):
        return None
    return {"runs": new, "gone": gone, "pages": new_pages, "changes": kept}


def _apply(
    chunk: object, runs: dict[str, RunRecord], pages: dict[str, str], changes: dict[str, dict]
) -> bool:
    """Apply a chunk of a task's log to what its base held; False for a chunk not of the
    shape _delta() makes (its records checked as a hand-written cache's are)."""
    if type(chunk) is not dict or chunk.keys() != {"runs", "gone", "pages", "changes"}:
        return False
    new, gone, new_pages, kept = chunk["runs"], chunk["gone"], chunk["pages"], chunk["changes"]
    records = runs_from_json(new)
    if (
        records is None
        or type(gone) is not list
        or not all(type(r) is str for r in gone)
        or type(new_pages) is not dict
        or not all(type(p) is str and type(d) in (str, type(None)) for p, d in new_pages.items())
        or not (
            kept is None or (type(kept) is dict and all(type(c) is dict for c in kept.values()))
        )
    ):
        return False
    for run_id in gone:
        runs.pop(run_id, None)
    runs.update(records)
    for page, digest in new_pages.items():
        if digest is None:
            pages.pop(page, None)
        else:
            pages[page] = digest
    if kept is not None:
        changes.clear()
        changes.update(kept)
    return True
