"""OUT/metrics: every task in the Prometheus text format (runwrap.store.prometheus).

Rendered on every update, from what the update knows already where it can: the
overview and lateness it just asked (sitegen/read/late.py), the runs a full build
counted as it read them (the first count would read every manifest again), and
the finished runs' manifests read by an earlier update.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

from sitegen.publish.scratch import Scratch

log = logging.getLogger(__name__)
METRICS = "metrics"


class Metrics:
    """OUT/metrics, kept up to date; holds what one render can give the next."""

    def __init__(self, out: str, root: str, scratch: Scratch) -> None:
        self.path = os.path.join(out, METRICS)
        self.root = root
        self.scratch = scratch
        self._memo: dict = {}

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
        try:
            text = render(self.root, tasks, None, previous, known, counted, self._memo)
        except Exception:  # a bug the store's files set off: the pages still stand
            log.debug("the metrics failed", exc_info=True)
            self._memo = {}
            return False
        if text != previous:
            # An OSError fails the update, as for any page.
            self.scratch.write(self.path, text.encode("utf-8", "replace"))
        return True


def first_count(manifests: Iterable[dict]) -> tuple[dict[str, int], int]:
    """What a first count of a task's runs gives (runwrap.store.prometheus), from its
    manifests as a full build read them."""
    from runwrap.store.prometheus import add_counts

    numbered = [(m.get("seq"), m.get("status")) for m in manifests]
    return add_counts([(n, s) for n, s in numbered if type(n) is int], {}, 0)
