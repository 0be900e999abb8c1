"""A full build's forked workers collect cycles less often than Python's default."""

from __future__ import annotations

import gc
import os

from sitegen.build.workers import WORKER_GC_THRESHOLD, in_workers


def _asked(task: str) -> tuple[int, int, bool]:
    return os.getpid(), gc.get_threshold()[0], gc.isenabled()


def test_workers_raise_the_young_collection_threshold_and_the_parent_keeps_its_own():
    """Real forked workers, as a full build starts them: each builds its pages with the
    collector on, at WORKER_GC_THRESHOLD (Python's 700 was about 3% of a full build's
    CPU); the process that forked them is left as it was."""
    before, was_on = gc.get_threshold(), gc.isenabled()
    gc.enable()  # as a full build has it (Site.update); a test before may have turned it off
    try:
        found = dict(in_workers(["a", "b", "c"], _asked, lambda: None))
    finally:
        if not was_on:
            gc.disable()
    assert sorted(found) == ["a", "b", "c"]
    for pid, threshold, enabled in found.values():
        assert pid != os.getpid()
        assert threshold == WORKER_GC_THRESHOLD > 700
        assert enabled
    assert gc.get_threshold() == before
