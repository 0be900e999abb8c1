"""OUT/metrics: every task in the Prometheus text format (runwrap.store.prometheus).

Rendered on every update, from what the update knows already where it can: the
overview and lateness it just asked (sitegen/read/late.py), the runs a full build
counted as it read them (the first count would read every manifest again), and
the finished runs' manifests read by an earlier update.

What one render gives the next (each task's lines, the counts the file holds)
outlives the process too: OUT/.sitegen/metrics.json keeps it, one line a task,
with what each task's lines were made from. A new process (cron's one-shot
sitegen) takes a task's lines where its record and lateness are the same as
then, and the counts where OUT/metrics is the file they were read from.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable

from runwrap.store.jsonio import dumps, loads, read_regular
from sitegen.publish.scratch import Scratch

log = logging.getLogger(__name__)
METRICS = "metrics"
MEMO = "metrics.json"  # in the build cache's directory
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
        self._lines: dict[str, tuple[tuple, str]] = {}  # each task's line in MEMO, kept
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
        lines = raw.decode("utf-8", "surrogateescape").split("\n")
        try:
            head = loads(lines[0])
            if type(head) is not dict or head.get("fingerprint") != self._fp:
                return {}
            if head.get("previous") == _digest(previous):
                counts = head["counts"]
                memo["previous"] = (previous, {t: (c[0], c[1]) for t, c in counts.items()})
            tasks = {}
            for line in lines[1:]:
                if not line:
                    continue
                task, made_of, key, samples, task_lines = loads(line)
                item = known.get(task)
                # Compared as JSON: a record holds tuples (clock samples) that come back
                # from the file as lists.
                if item is None or dumps(made_of) != dumps(_made_of(item)):
                    continue  # its record or lateness changed: its lines are made again
                count, sig = key
                key = (None if count is None else (count[0], count[1]), _tuple(sig))
                tasks[task] = (item, key, samples, task_lines)
                self._lines[task] = (tasks[task], line)
            memo["tasks"] = tasks
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            log.debug("%s does not hold what sitegen wrote: not taken", self._memo_path)
            self._lines = {}
            return {}
        return memo

    def _save(self, text: str) -> None:
        """Write MEMO for the next process, if a task's lines changed. Best effort: without
        it the next process makes every task's lines again."""
        kept = self._memo.get("tasks", {})
        previous = self._memo.get("previous")
        if previous is None:
            return
        lines, out = {}, []
        for task, entry in kept.items():
            old = self._lines.get(task)
            if old is not None and old[0] is entry:
                line = old[1]
            else:
                item, key, samples, task_lines = entry
                line = dumps([task, _made_of(item), key, samples, task_lines])
            lines[task] = (entry, line)
            out.append(line)
        if lines.keys() == self._lines.keys() and all(
            lines[t][1] is self._lines[t][1] for t in lines
        ):
            return  # every task's line as MEMO holds it
        counts = {t: list(c) for t, c in previous[1].items()}
        head = dumps({"fingerprint": self._fp, "previous": _digest(text), "counts": counts})
        try:
            self.scratch.write(self._memo_path, "\n".join([head, *out, ""]).encode())
        except OSError as e:
            log.debug("cannot keep %s: %s", self._memo_path, e)
            return
        self._lines = lines


def _made_of(item: tuple) -> list:
    """What a task's metric lines are made from: its record and lateness (as JSON)."""
    record, lateness = item
    shown = None
    if lateness is not None:
        shown = [lateness.next_expected, lateness.grace_s, lateness.late, lateness.missed]
    return [record, shown]


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
