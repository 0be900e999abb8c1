"""The build cache in OUT/.sitegen: what each page was built from, so updates stay small.

summary.json holds, per task, the dashboard summary, the signature of its
runs/ directory and the runs not yet settled; tasks/<task>.json holds every
run's summary and manifest signature. Both are rebuilt from ROOT whenever
missing, unreadable (a warning says so) or written by another version,
theme or configuration.

rows.json holds the dashboard's rendered rows and its timeline lanes' markup
(sitegen/render/fragments.py, timeline.py), with the time zone they were
rendered in and a token that summary.json names: they are only taken with the
summaries saved with them.

dirty.json is the journal of an update: the tasks it is changing, written
before it touches OUT and removed once the cache is saved. If sitegen dies in
between (killed, a crash, a stop), the next build rebuilds those tasks whole,
and OUT ends up as a full build would make it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import time
from pathlib import Path
from urllib.parse import quote

from runwrap.store import siteurls
from runwrap.store.jsonio import Unreadable, dumps, parse, read_bytes_at, read_json_at
from sitegen.build.records import RunRecord, TaskEntry, runs_from_json, runs_to_json
from sitegen.config import SiteConfig
from sitegen.publish.scratch import Scratch, unlink
from sitegen.read.sigs import tree_files

TYPE_CHECKING = False  # typing itself is not imported (as in cli.py)
if TYPE_CHECKING:
    from sitegen.render.fragments import Dashboard

log = logging.getLogger(__name__)

CACHE_DIR = ".sitegen"
VERSION = 5
CACHE_MAX = 1 << 30  # a task cache holds about 300 bytes a run


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
        self._texts: dict[str, tuple[dict, str]] = {}  # summary.json's parts (save_summary)
        self.rows_token: str | None = None  # the rows.json saved with summary.json
        self._row_texts: dict[str, dict[str, tuple[object, str]]] = {}  # rows.json's parts

    def _load(self, path: str) -> dict | None:
        """A cache file written for this fingerprint, or None (a warning if it is unreadable)."""
        return self._load_sealed(path)[0]

    def _load_sealed(self, path: str) -> tuple[dict | None, str | None]:
        """_load(), and the file's text if it is sealed as sitegen wrote it (_sealed())."""
        try:
            raw = read_bytes_at(path, limit=CACHE_MAX)
            data = None if raw is None else parse(raw)
        except Unreadable as e:
            log.warning("the build cache %s is unreadable (%s): rebuilding", path, e)
            return None, None
        if data is None:
            return None, None
        if type(data) is not dict or type(data.get("fingerprint")) is not str:
            log.warning("the build cache %s is not sitegen's: rebuilding", path)
            return None, None
        if data["fingerprint"] != self.fp:
            return None, None
        sealed = _is_sealed(raw)  # type: ignore[arg-type]
        return data, raw.decode("utf-8", "surrogateescape") if sealed else None  # type: ignore[union-attr]

    def _save(self, path: str, value: object) -> None:
        self._write(path, (dumps(value) + "\n").encode("utf-8", "surrogateescape"))

    def _write(self, path: str, *chunks: bytes) -> None:
        try:
            self.scratch.write(path, *chunks)
        except IsADirectoryError:
            # A directory where a cache file goes: the cache is ours to mend.
            shutil.rmtree(path, ignore_errors=True)
            self.scratch.write(path, *chunks)

    def load_summary(self) -> tuple[dict[str, TaskEntry], list[str], dict | None] | None:
        """(tasks, warned, the lateness the pages show) of the last build, or None when a
        full build is needed."""
        if not os.path.lexists(os.path.join(self.out, siteurls.INDEX)):
            # OUT emptied by hand (`rm -rf OUT/*` keeps .sitegen/): the cache describes
            # pages that are gone, so it is no guide.
            return None
        path = os.path.join(self.dir, "summary.json")
        data, sealed = self._load_sealed(path)
        if data is None:
            return None
        tasks, warned, late = data.get("tasks"), data.get("warned", []), data.get("late")
        token = data.get("rows")
        self.rows_token = token if type(token) is str else None
        entries = _entries(tasks, sealed is not None)
        if not (
            type(tasks) is dict
            and None not in entries.values()
            and type(warned) is list
            and all(type(w) is str for w in warned)
            and (late is None or type(late) is dict)
        ):
            log.warning("the build cache %s does not hold what sitegen wrote: rebuilding", path)
            return None
        if sealed is not None:  # each summary's text, written back while it stays
            lines = sealed.split("\n")
            if entries and len(lines) == 2 * len(entries) + 3:  # with the seal's newline
                for i, task in enumerate(sorted(entries)):
                    text = lines[2 + 2 * i]
                    text = text[:-2] if text.endswith("},") else text[:-1]
                    self._texts[task] = (entries[task].summary, text)  # type: ignore[union-attr]
        return entries, warned, late  # type: ignore[return-value]

    def save_summary(
        self, tasks: dict[str, TaskEntry], warned: list[str], late: dict | None = None
    ) -> None:
        """Write the site-wide summary last, so a crash mid-build means a rebuild; `late` is
        what the pages show of lateness (a new process re-renders only what differs)."""
        path = os.path.join(self.dir, "summary.json")
        # dumps() of the whole, but each task summary serialised once while it stays (a
        # watching sitegen writes this file on every update; one task changes): summaries
        # are replaced, never changed in place.
        # keys sort before "tasks"
        head = dumps({"fingerprint": self.fp, "late": late, "rows": self.rows_token})[:-1]
        pieces, kept = [head, ', "tasks": {\n'], {}
        for i, task in enumerate(sorted(tasks)):
            entry = tasks[task]
            old = self._texts.get(task)
            text = old[1] if old is not None and old[0] is entry.summary else None
            if text is None:
                text = dumps(entry.summary)
            kept[task] = (entry.summary, text)
            pending, sig, record = (
                dumps(runs_to_json(entry.pending)),
                dumps(entry.sig),
                dumps(entry.record),
            )
            # Two lines a task, its summary alone on the second: a new process takes
            # that line's text back (load_summary) instead of serialising it again.
            pieces += (
                ",\n" if i else "",
                f'{dumps(task)}: {{"pending": {pending}, "record": {record}, "sig": {sig}, '
                '"summary":\n',
                text,
                "}",
            )
        self._texts = kept
        pieces.append(f'\n}}, "warned": {dumps(warned)}')
        self._write(path, *_sealed_pieces(pieces))

    def save_rows(self, dashboard: Dashboard) -> None:
        """Write the dashboard's rows and timeline lanes if a row changed (a lane's bars
        come from its task's summary, which its row shows: a lane never changes alone);
        the next save_summary() names them. Each serialised once while it stays."""
        if not dashboard.changed:
            return
        self.rows_token = os.urandom(8).hex()
        head = dumps({"fingerprint": self.fp, "token": self.rows_token, "zone": _zone()})
        # The file's text as pieces joined once (at 20,000 runs the lanes alone are MBs:
        # each copy of the whole counted in a full build's peak memory).
        pieces = [head[:-1], ", "]
        for i, (name, recs) in enumerate(
            (("rows", dashboard.saved()), ("lanes", dashboard.saved_lanes()))
        ):
            old_texts = self._row_texts.get(name, {})
            kept = {}
            pieces.append(f'{", " if i else ""}"{name}": {{\n')
            for j, task in enumerate(sorted(recs)):
                rec = recs[task]
                old = old_texts.get(task)
                same = old is not None and (old[0] is rec or old[0] == rec)
                text = old[1] if same else dumps(rec)  # type: ignore[index]
                kept[task] = (rec, text)
                # A line a task, taken back by load_rows().
                pieces += (",\n" if j else "", dumps(task), ": ", text)
            self._row_texts[name] = kept
            pieces.append("\n}")
        self._write(os.path.join(self.dir, "rows.json"), *_sealed_pieces(pieces))

    def load_rows(self) -> tuple[dict, dict] | None:
        """(rows, lanes) saved with the summary last loaded, or None."""
        if self.rows_token is None:
            return None
        data, sealed = self._load_sealed(os.path.join(self.dir, "rows.json"))
        if data is None or data.get("token") != self.rows_token or data.get("zone") != _zone():
            return None
        rows, lanes = data.get("rows"), data.get("lanes")
        if type(rows) is not dict:
            return None
        lanes = lanes if type(lanes) is dict else {}
        if sealed is not None:  # each task's line of text, written back while it stays
            lines = sealed.split("\n")
            if rows and lanes and len(lines) == len(rows) + len(lanes) + 4:
                at = 1
                for name, recs in (("rows", rows), ("lanes", lanes)):
                    texts = self._row_texts.setdefault(name, {})
                    for task in sorted(recs):
                        text = lines[at][len(dumps(task)) + 2 :]
                        texts[task] = (recs[task], text[:-1] if text.endswith(",") else text)
                        at += 1
                    at += 1  # the line between rows and lanes
        return rows, lanes

    def _task_path(self, task: str) -> str:
        return os.path.join(self.dir, "tasks", quote(task, safe="") + ".json")

    def load_task(self, task: str) -> tuple[dict[str, RunRecord], dict[str, str]] | None:
        """(runs, pages) or None: {run_id: its record}, {page: digest}."""
        path = self._task_path(task)
        data, sealed = self._load_sealed(path)
        if data is None:
            return None
        try:
            runs = runs_from_json(data.get("runs"), sealed is not None)
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
        return runs, pages

    def save_task(self, task: str, runs: dict[str, RunRecord], pages: dict[str, str]) -> None:
        """Write a task's run cache and its history pages' digests."""
        data = {"fingerprint": self.fp, "runs": runs_to_json(runs), "pages": pages}
        self._write(self._task_path(task), _sealed(dumps(data)))

    def drop_task(self, task: str) -> None:
        """Forget a task that is gone."""
        _remove(self._task_path(task))

    def clear(self) -> None:
        """Forget every run (a full build follows); compiled templates stay."""
        self.rows_token = None
        for name in ("tasks", "summary.json", "dirty.json", "rows.json", "metrics.json"):
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
    """summary.json's entries by task, each None where it is not one sitegen wrote."""
    if type(tasks) is not dict:
        return {}
    if sealed:
        try:
            return {t: TaskEntry.trusted(t, e) for t, e in tasks.items()}
        except (KeyError, TypeError, AttributeError):
            pass  # sealed by something else than sitegen: checked entry by entry
    return {t: TaskEntry.from_json(t, e) for t, e in tasks.items()}


# A file the cache reads on every update (summary.json, a task's cache) ends with the
# digest of what comes before it: one that reads back with its digest is as sitegen
# wrote it, so its records are taken without checking each again (about 40 ms of a
# one-shot update at 100 tasks). A file changed in any other way (by hand, half
# written, another program) is checked record by record, as before.
_SEAL = b', "check": "'
_SEAL_LEN = len(_SEAL) + 40 + 3  # the sha1's 40 hex digits, '"}' and the newline


def _sealed_pieces(pieces: list[str]) -> tuple[bytes, bytes]:
    """_sealed() of the text "".join(pieces) + "}", as (the text without its closing
    brace, the rest): no other copy of the whole is made."""
    text = "".join(pieces)
    pieces.clear()  # the caller's list: its pieces are freed as soon as they are joined
    raw = text.encode("utf-8", "surrogateescape")
    del text
    return raw, _SEAL + hashlib.sha1(raw).hexdigest().encode() + b'"}\n'


def _sealed(text: str) -> bytes:
    """The bytes of a cache file's JSON object `text`, its digest as its last member."""
    raw = text.rstrip()[:-1].encode("utf-8", "surrogateescape")  # without its closing brace
    return raw + _SEAL + hashlib.sha1(raw).hexdigest().encode() + b'"}\n'


def _is_sealed(raw: bytes) -> bool:
    """Whether a cache file's bytes end with the digest of the rest (_sealed())."""
    tail = raw[-_SEAL_LEN:]
    digest = hashlib.sha1(raw[:-_SEAL_LEN]).hexdigest().encode()
    return tail.startswith(_SEAL) and tail[len(_SEAL) : len(_SEAL) + 40] == digest


def _zone() -> list:
    """The time zone sitegen reads times in (as stamp.key() counts it)."""
    return [os.environ.get("CRON_TZ"), os.environ.get("TZ"), list(time.tzname), time.timezone]


def _remove(path: str) -> None:
    """Remove a cache file or whatever stands in its place."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        unlink(path)
