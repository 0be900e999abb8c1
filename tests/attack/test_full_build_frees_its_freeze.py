"""sitegen's main() in a process that goes on (a test, a script, --watch's full
builds) gives the cyclic collector back as it found it: a full build's gc.freeze()
before forking its workers (workers.in_workers) is undone when they are done (attack4b)."""

from __future__ import annotations

import gc
import os
import weakref
from pathlib import Path

import pytest

from sitegen.cli import main

from helpers.sites import write_run


class _Cycle:
    pass


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="a full build forks workers on 2+ CPUs")
def test_a_cycle_alive_during_a_full_build_is_collected_after_it(tmp_path: Path):
    root, out = tmp_path / "root", tmp_path / "out"
    for task in ("a", "b"):  # two tasks: the full build spreads them over workers
        write_run(root, task, 1)
    cycle = _Cycle()
    cycle.me = cycle  # garbage only the cyclic collector frees
    gone = weakref.ref(cycle)
    frozen = gc.get_freeze_count()
    assert main(["--root", str(root), "--out", str(out), "--full"]) == 0
    assert (out / "tasks" / "b" / "index.html").exists()
    assert gc.get_freeze_count() == frozen
    del cycle
    gc.collect()
    assert gone() is None  # frozen for good, it would never be freed
