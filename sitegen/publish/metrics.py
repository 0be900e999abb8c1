"""OUT/metrics: every task in the Prometheus text format (runwrap.store.prometheus).

Rendered on every update, from what the update knows already where it can: the
overview and lateness it just asked (sitegen/read/late.py), the runs a full build
counted as it read them (the first count would read every manifest again), and
the finished runs' manifests read by an earlier update.

What one render gives the next (each task's lines, the counts the file holds)
outlives the process too: OUT/.sitegen/metrics.pack keeps it (packed.py), with
what each task's lines were made from. A new process (cron's one-shot
sitegen) takes a task's lines where its record and lateness are the same as
then, and the counts where OUT/metrics is the file they were read from.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from collections.abc import Iterable

from runwrap.store.jsonio import Unreadable, dumps, read_regular
from sitegen import logs
from sitegen.publish.packed import pack, unpack
from sitegen.publish.scratch import Scratch

log = logs.getLogger(__name__)
METRICS = "metrics"
MEMO = "metrics.pack"  # in the build cache's directory
MEMO_MAX = 64 << 20


class Metrics:
    """OUT/metrics, kept up to date; holds what one render can give the next."""

    def __init__(self, out: str, root: str, scratch: Scratch, memo_dir: str, fp: str) -> None:
        self.path = os.path.join(out, METRICS)
        self.root = root
        self.scratch = scratch
        self._memo: dict = {}
        self._memo_path = os.path.join(memo_dir, MEMO)
        self._fp = fp  # the build cache's fingerprint: sitegen's code and options
        self._saved: tuple[str | None, dict] = (None, {})  # MEMO's digest and tasks, kept
        self._loaded = False

    def render(
        self, tasks: list[str], known: dict | None = None, counted: dict | None = None
    ) -> bool:
        """Write OUT/metrics if it changed; False when it could not be rendered.

        The previous file carries the run counters forward, so they only go up.
        """
        from runwrap.store.prometheus import render

        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                previous = f.read()
        except OSError:
            previous = ""
        if not self._loaded:
            self._loaded = True
            self._memo = self._load(previous, known or {})
        try:
            text = render(self.root, tasks, None, previous, known, counted, self._memo)
        except Exception:  # a bug the store's files set off: the pages still stand
            log.debug("the metrics failed", exc_info=True)
            self._memo = {}
            return False
        if text != previous:
            # An OSError fails the update, as for any page.
            self.scratch.write(self.path, text.encode("utf-8", "replace"))
        self._save(text)
        return True

    # -- what the next process takes ---------------------------------------------

    def _load(self, previous: str, known: dict) -> dict:
        """The memo runwrap.store.prometheus.render() keeps, as far as MEMO still holds it."""
        raw = read_regular(self._memo_path, MEMO_MAX)
        if raw is None:
            return {}
        memo: dict = {}
        try:
            data, packed = unpack(raw)
            if type(data) is not dict or data.get("fingerprint") != self._fp:
                return {}
            if data.get("previous") == _digest(previous):
                counts = data["counts"]
                memo["previous"] = (previous, {t: (c[0], c[1]) for t, c in counts.items()})
            tasks = {}
            for task, made_of, key, samples, task_lines in data["tasks"]:
                item = known.get(task)
                if item is None or not _same(made_of, _made_of(item), packed):
                    continue  # its record or lateness changed: its lines are made again
                count, sig = key
                key = (None if count is None else (count[0], count[1]), _tuple(sig))
                tasks[task] = (item, key, samples, task_lines)
            memo["tasks"] = tasks
        except (Unreadable, ValueError, TypeError, KeyError, IndexError, AttributeError):
            log.debug("%s does not hold what sitegen wrote: not taken", self._memo_path)
            return {}
        self._saved = (data.get("previous"), dict(tasks))
        return memo

    def _save(self, text: str) -> None:
        """Write MEMO for the next process, if a task's lines changed. Best effort: without
        it the next process makes every task's lines again."""
        kept = self._memo.get("tasks", {})
        previous = self._memo.get("previous")
        if previous is None:
            return
        digest = _digest(text)
        saved_digest, saved = self._saved
        if (
            saved_digest == digest
            and saved.keys() == kept.keys()
            and all(saved[t] is entry for t, entry in kept.items())
        ):
            return  # every task's lines as MEMO holds them
        tasks = [
            [task, _made_of(item), key, samples, task_lines]
            for task, (item, key, samples, task_lines) in kept.items()
        ]
        counts = {t: list(c) for t, c in previous[1].items()}
        data = {"fingerprint": self._fp, "previous": digest, "counts": counts, "tasks": tasks}
        try:
            self.scratch.write(self._memo_path, *pack(data))
        except (OSError, ValueError) as e:  # ValueError: marshal met what it cannot pack
            log.debug("cannot keep %s: %s", self._memo_path, e)
            return
        self._saved = (digest, dict(kept))


def _made_of(item: tuple) -> list:
    """What a task's metric lines are made from: its record and lateness (as JSON)."""
    record, lateness = item
    shown = None
    if lateness is not None:
        shown = [lateness.next_expected, lateness.grace_s, lateness.late, lateness.missed]
    return [record, shown]


def _same(kept: object, now: object, packed: bool) -> bool:
    """Whether what a task's lines were made from is what they would be made from now:
    compared as marshal packs them (1 and 1.0, a list and a tuple differ), or as JSON
    for a file written by hand (its tuples come back as lists). marshal's version 0:
    later versions mark shared and interned objects, which equal values need not be."""
    if packed:
        return marshal.dumps(kept, 0) == marshal.dumps(now, 0)
    return dumps(kept) == dumps(now)


def _tuple(value: object) -> object:
    return tuple(value) if type(value) is list else value


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()


def first_count(manifests: Iterable[dict]) -> tuple[dict[str, int], int]:
    """What a first count of a task's runs gives (runwrap.store.prometheus), from its
    manifests as a full build read them."""
    from runwrap.store.prometheus import add_counts

    numbered = [(m.get("seq"), m.get("status")) for m in manifests]
    return add_counts([(n, s) for n, s in numbered if type(n) is int], {}, 0)
