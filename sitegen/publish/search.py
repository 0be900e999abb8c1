"""The dashboard's search index: one small file per task, kept up to date incrementally.

OUT/tasks/<task>/search.json holds what "find a run" looks through
(runwrap/store/findtext.py, the rule of `runwrap history --grep`): for each
run with something to find (labels, reason, feedback values, and for a run
that went wrong the last lines of its stderr), its id, status and that text.
Each field (a label, a feedback value, the reason, a line of stderr) is
interned per task: labels every run carries, or a failing streak that says
the same thing, are stored once, and a run is its id, status and the numbers
of its fields. A feedback `progress` is left out (it says how far, not
what). A run with nothing to find beyond its task's name is not listed (the
task's name is matched by the dashboard).

An update computes the entries of the runs it read again (new or changed:
the build's `manifests`) and keeps the others from the file as it is, so
that one new run costs one run's entry, not the task's history; a run after
every other is added to the file's bytes, only its texts parsed (_appended). The
dashboard's script (themes/default/static/app.js) loads the files when
someone first types in the search box: no server.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from runwrap.store import siteurls as urls
from runwrap.store.findtext import run_text
from runwrap.store.jsonio import read_json, read_regular
from runwrap.store.logtail import Tail

VERSION = 1
MAX_BYTES = 64 << 20  # a file read to be appended to; larger: parsed and written whole


def index_path(out_task: str) -> str:
    return os.path.join(out_task, urls.SEARCH)


def _old_entries(value: object) -> dict[str, tuple[str, tuple[str, ...]]] | None:
    """{run id: (status, fields)} of a file this version wrote, or None."""
    if not isinstance(value, dict) or value.get("v") != VERSION:
        return None
    texts, runs = value.get("texts"), value.get("runs")
    if not isinstance(texts, list) or not isinstance(runs, list):
        return None
    found = {}
    for item in runs:
        if not (
            isinstance(item, list)
            and len(item) == 3
            and isinstance(item[0], str)
            and isinstance(item[1], str)
            and isinstance(item[2], list)
        ):
            continue
        fields = [texts[i] for i in item[2] if isinstance(i, int) and 0 <= i < len(texts)]
        if all(isinstance(f, str) for f in fields):
            found[item[0]] = (item[1], tuple(fields))
    return found


def entry_fields(
    task: str, manifest: dict, run_path: str, stderr: Tail | None = None
) -> tuple[str, ...]:
    """A run's searchable fields beyond its task's name (() for none; `stderr`: its tail
    as read already)."""
    fields = run_text(task, manifest, run_path, stderr)[1:]
    return tuple(f for f in dict.fromkeys(fields) if not f.startswith("progress="))


def update_task(
    out_task: str,
    task: str,
    runs_path: str,
    order: list[str],
    summaries: dict[str, dict],
    manifests: dict[str, dict],
    manifest_of: Callable[[str], dict | None],
    write: Callable[[str, bytes], None],
    stderr: dict[str, Tail] | None = None,
    fresh: bool = False,
    appended: list[str] | None = None,
) -> None:
    """Bring the task's search.json up to date with its runs (`order`, oldest first).

    `manifests` are the runs the build read again; every other run is as the file
    has it. Without a file of this version, every run is read once (`manifest_of`).
    `write`: how OUT's files are written (the build's Scratch: atomic, temp files swept).
    `stderr`: failed runs' stderr tails their pages read already (run id: logtail.Tail).
    `fresh`: the task is built whole (every run in `manifests`): no file to look for.
    `appended`: the runs in `manifests`, each after every run the file was written
    for, and no other run changed or gone: their entries are added to the file's
    bytes (_appended) instead of the file being parsed and written whole.
    """
    path = index_path(out_task)
    if appended is not None and not fresh:
        added = []
        for run_id in appended:
            tail = stderr.get(run_id) if stderr else None
            fields = entry_fields(task, manifests[run_id], os.path.join(runs_path, run_id), tail)
            if fields:
                added.append((run_id, _status(summaries, run_id), fields))
        raw = read_regular(path, MAX_BYTES)
        if not added and _parts(raw, task) is not None:
            return  # nothing to find in the new runs: the file holds the same
        found = _appended(raw, task, added) if added else None
        if found is not None:
            write(path, found)
            return
        # Not there, or not laid out as written (removed or damaged by hand): written whole.
    raw = None if fresh else read_json(path)
    old = _old_entries(raw)
    entries: dict[str, tuple[str, tuple[str, ...]]] = {}
    for run_id in order:
        manifest = manifests.get(run_id)
        if manifest is None and old is not None:
            if run_id in old:
                entries[run_id] = old[run_id]
            continue
        if manifest is None:
            manifest = manifest_of(run_id)
            if manifest is None:
                continue
        tail = stderr.get(run_id) if stderr else None
        fields = entry_fields(task, manifest, os.path.join(runs_path, run_id), tail)
        if fields:
            entries[run_id] = (_status(summaries, run_id), fields)
    texts: dict[str, int] = {}
    rows = []
    for run_id in order:
        if run_id in entries:
            status, fields = entries[run_id]
            rows.append([run_id, status, [texts.setdefault(f, len(texts)) for f in fields]])
    value = {"v": VERSION, "task": task, "texts": list(texts), "runs": rows}
    if value != raw:  # compact: it is downloaded by the dashboard's search box
        write(path, _dump(value))


def _status(summaries: dict[str, dict], run_id: str) -> str:
    status = (summaries.get(run_id) or {}).get("status") or "unknown"
    return "" if status == "success" else status  # most runs: kept short


def _dump(value: object) -> bytes:
    """The file's bytes for a value (or a part of one: the parts of a value join into
    its bytes, commas between)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    # What jobs wrote, published: no markup even in data (the same JSON once parsed),
    # should the file ever be served or opened as HTML.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    # A lone surrogate (JSON allows "\ud800" in a manifest a job rewrote; bytes that
    # were not UTF-8) is written as that same JSON escape: the file stays UTF-8.
    return text.encode("utf-8", "backslashreplace")


_RUNS = b'],"runs":['


def _parts(raw: bytes | None, task: str) -> tuple[bytes, bytes, bytes] | None:
    """(its head up to the texts, its texts, its runs) of a file laid out as this version
    writes it, as bytes, or None."""
    if raw is None:
        return None
    head = _dump({"v": VERSION, "task": task, "texts": []})[:-2]  # ...,"texts":[
    if not (raw.startswith(head) and raw.endswith(b"]}")):
        return None
    mid = raw.find(_RUNS, len(head))
    if mid < 0:
        return None
    return head, raw[len(head) : mid], raw[mid + len(_RUNS) : -2]


def _appended(
    raw: bytes | None, task: str, added: list[tuple[str, str, tuple[str, ...]]]
) -> bytes | None:
    """The bytes update_task() would write for the file `raw` with the entries `added`
    (run id, status, fields) after its own, or None when `raw` is not laid out as this
    version writes it. Only the texts are parsed (to number the new runs' fields as a
    whole write numbers them: by first use); the runs are kept as bytes. The split is
    sound: in the file a `"` is a string's end or start, never inside one (escaped),
    so `],"runs":[` after the texts' opening is where the texts end."""
    split = _parts(raw, task)
    if split is None:
        return None
    head, texts_part, rows_part = split
    try:
        texts = json.loads(b"[" + texts_part + b"]")
    except ValueError:
        return None
    if not all(type(t) is str for t in texts):
        return None
    numbers = {t: i for i, t in enumerate(texts)}
    if len(numbers) != len(texts):
        return None  # a text twice: not a file this version wrote
    rows = [
        [run_id, status, [numbers.setdefault(f, len(numbers)) for f in fields]]
        for run_id, status, fields in added
    ]
    new_texts = list(numbers)[len(texts) :]
    parts = [head, texts_part]
    if new_texts:
        parts += [b"," if texts_part else b"", _dump(new_texts)[1:-1]]
    parts += [_RUNS, rows_part, b"," if rows_part else b"", _dump(rows)[1:-1], b"]}"]
    return b"".join(parts)
