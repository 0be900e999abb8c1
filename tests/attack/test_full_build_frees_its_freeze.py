"""sitegen's main() in a process that goes on (a test, a script, --watch's full
builds) gives the cyclic collector back as it found it: a full build's gc.freeze()
before forking its workers (workers.in_workers) is undone when they are done (attack4b)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.sites import ENV, write_run

# In a process of its own: one that froze objects itself keeps them frozen (in_workers
# cannot tell its own from the caller's), as a test session may have.
CODE = """
import gc, sys, weakref
from sitegen.cli import main

class Cycle:
    pass

cycle = Cycle()
cycle.me = cycle  # garbage only the cyclic collector frees
gone = weakref.ref(cycle)
assert main(sys.argv[1:]) == 0
del cycle
gc.collect()
print(gc.get_freeze_count(), gone() is None)
"""


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="a full build forks workers on 2+ CPUs")
def test_a_cycle_alive_during_a_full_build_is_collected_after_it(tmp_path: Path):
    root, out = tmp_path / "root", tmp_path / "out"
    for task in ("a", "b"):  # two tasks: the full build spreads them over workers
        write_run(root, task, 1)
    result = subprocess.run(
        [sys.executable, "-c", CODE, "--root", str(root), "--out", str(out), "--full"],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (out / "tasks" / "b" / "index.html").exists()
    # Nothing left frozen, and the cycle freed (frozen for good, it never would be).
    assert result.stdout.split() == ["0", "True"]
