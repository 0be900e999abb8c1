"""A task failing for longer than its retention keeps: each run prunes its oldest, and
the update after it renders the pages that changed, not every failed run's (attack4b).

_behind_a_change renders again the failed runs after a run that came, went or changed
(their last success and duration baseline may be others). Only a success is either: a
failed run that came or went changes no other failed run's what changed. Every failed
page of the history was rendered again at each prune (keep 1,000: a thousand pages a
cron tick, where a full build's would be the same)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from helpers.sites import sitegen, snapshot, write_run


def _pages(root: Path, out: Path) -> int:
    built = sitegen("--root", str(root), "--out", str(out), "-v")
    assert built.returncode == 0, built.stderr
    found = re.search(r"(\d+) run pages?", built.stderr)
    assert found is not None, built.stderr
    return int(found.group(1))


def test_a_prune_in_a_failing_streak_renders_its_neighbours_only(tmp_path: Path):
    root, out, fresh = tmp_path / "root", tmp_path / "out", tmp_path / "fresh"
    for n in range(3):
        write_run(root, "t", n, stderr=b"ok\n")
    for n in range(3, 40):
        write_run(root, "t", n, "failed", stderr=b"down\n")
    assert _pages(root, out) == 40
    runs = root / "tasks" / "t" / "runs"
    # Retention: a failed run goes (the oldest of the streak here), one comes.
    shutil.rmtree(sorted(runs.iterdir())[5])
    write_run(root, "t", 40, "failed", stderr=b"down\n")
    assert _pages(root, out) <= 4  # the new run, its neighbour, the gone one's two
    assert sitegen("--root", str(root), "--out", str(fresh)).returncode == 0
    assert snapshot(out) == snapshot(fresh)
    # A success that goes is news to the failed runs after it: each says another last
    # success now.
    shutil.rmtree(sorted(runs.iterdir())[2])
    assert _pages(root, out) >= 30
    shutil.rmtree(fresh)
    assert sitegen("--root", str(root), "--out", str(fresh)).returncode == 0
    assert snapshot(out) == snapshot(fresh)
