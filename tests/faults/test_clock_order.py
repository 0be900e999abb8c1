"""Order is not time: runs made while the wall clock was wrong (an RTC a year ahead at
boot, a step back, an hour of skew between runs) change nothing in the story.

runwrap runs under libfaketime (Debian's `faketime`) with a fixed offset per
run, the monotonic clock left alone: every surface (`ls --json`, the
dashboard's status.json and row, the metrics, the notices) follows the
runs' order (`seq`), retention removes the lowest seqs first, and `history`
marks a run whose start disagrees with its order `clock?`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.clock import LIBFAKETIME, needs_libfaketime
from helpers.faults import figure, launcher
from helpers.runs import Root

pytestmark = needs_libfaketime


def _run(root: Root, offset: str, code: int, *options: str) -> subprocess.CompletedProcess:
    """One run of task t under a wall clock `offset` (libfaketime's "+365d", "-1h"; "" for
    the real clock), its job exiting `code`."""
    env = dict(root.env)
    if offset:
        env |= {
            "LD_PRELOAD": str(LIBFAKETIME),
            "FAKETIME": offset,
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        }
    done = root.run("-n", "t", *options, "--", "sh", "-c", f"exit {code}", env=env)
    assert done.returncode == code and "Traceback" not in done.stderr, done.stderr
    return done


def _story(root: Root, out: Path) -> dict:
    """What ls, sitegen (status.json, the dashboard row, the metrics) say of task t."""
    ls = root.run("ls", "--json")
    assert ls.returncode == 0, ls.stderr
    (v,) = json.loads(ls.stdout)
    site = subprocess.run(
        [sys.executable, launcher("sitegen"), "--root", str(root.path), "--out", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert site.returncode == 0, site.stderr
    status = json.loads((out / "status.json").read_text())
    row = re.search(r'data-task="t" data-state="(\w+)"', (out / "index.html").read_text())
    metric = re.search(
        r'^runwrap_task_consecutive_failures\{task="t"\} (\S+)$',
        (out / "metrics").read_text(),
        re.M,
    )
    return {
        "ls": (v["state"], v["consecutive_failures"]),
        "status.json": (status["tasks"]["t"]["state"], status["totals"]["failing"]),
        "dashboard": row and row.group(1),
        "metrics": metric and float(metric.group(1)),
        "last": v["last_run"]["run_id"] if v["last_run"] else None,
    }


# (offset, exit code) of each run in order; the real clock is "".
MATRIX = {
    "a year ahead, then failures": [("", 0), ("+365d", 0), ("", 1), ("", 1), ("", 1)],
    "a day back during failures": [("", 0), ("", 1), ("-1d", 1), ("", 1)],
    "steps back and forward between runs": [("+3h", 0), ("-3h", 1), ("+400d", 1), ("", 1)],
    "an hour of skew either way": [("+1h", 0), ("", 0), ("-1h", 1), ("+1h", 1), ("-1h", 1)],
    "a future-dated failure, then success": [("", 1), ("+365d", 1), ("", 0)],
}


@pytest.mark.parametrize("case", list(MATRIX))
def test_the_story_follows_the_order_not_the_clock(root: Root, tmp_path: Path, case: str) -> None:
    runs = MATRIX[case]
    notices = 0
    for offset, code in runs:
        done = _run(root, offset, code)
        notices += done.stdout.count("[runwrap] FAILED")
    failures = 0
    for _offset, code in reversed(runs):
        if code == 0:
            break
        failures += 1
    state = "failing" if failures else "ok"
    story = _story(root, tmp_path / "out")
    assert story["ls"] == (state, failures), story
    assert story["status.json"] == (state, int(bool(failures))), story
    assert story["dashboard"] == state, story
    assert story["metrics"] == failures, story
    last = root.manifests("t")
    newest = max(last, key=lambda m: m["seq"])
    assert story["last"] == newest["run_id"], (story, newest)
    # One FAILED notice each time health turned to failing, however the clock went.
    turns = sum(1 for i, (_o, code) in enumerate(runs) if code and (i == 0 or runs[i - 1][1] == 0))
    assert notices == turns, (notices, turns)
    figure(f"clock: {case}: {state}, {failures} failures in a row, {notices} FAILED notice(s)")


def test_retention_removes_the_lowest_seqs_not_the_oldest_ids(root: Root) -> None:
    """Two runs made while the clock was a year ahead have the highest run ids for a year;
    retention must still remove by seq (before: the real newest runs went first)."""
    for offset, code in [("", 0), ("+365d", 0), ("+365d", 0), ("", 1), ("", 1)]:
        _run(root, offset, code)
    _run(root, "", 1, "--keep", "3")
    kept = sorted(m["seq"] for m in root.manifests("t"))
    # Protected: the run just finished (6), the last success (3) and last failure (6);
    # the lowest seqs of the rest go: 1, 2, 4.
    assert kept == [3, 5, 6], kept
    figure(f"clock: --keep 3 after two runs dated a year ahead: kept seqs {kept}")


def test_history_marks_a_run_whose_clock_disagrees_with_its_order(
    root: Root, tmp_path: Path
) -> None:
    for offset in ("", "+365d", "", "-1h"):
        _run(root, offset, 0)
    history = root.run("history", "--json", "t")
    assert history.returncode == 0, history.stderr
    doubted = {h["seq"] for h in json.loads(history.stdout) if h.get("clock_doubt")}
    # Run 3 started before run 2 (dated a year ahead) did; run 4 an hour before run 3.
    assert doubted == {3, 4}, json.loads(history.stdout)
    table = root.run("history", "t")
    assert table.returncode == 0 and table.stdout.count("clock?") == 2, table.stdout
    # The site's history pages mark the same two runs.
    out = tmp_path / "out"
    _story(root, out)
    marked = {
        m.group(1)
        for page in (out / "tasks" / "t").glob("*.html")
        for m in re.finditer(
            r"<code>([^<]+)</code>(?:(?!</tr>).)*clock\?</small>", page.read_text(), re.S
        )
    }
    ids = {h["run_id"] for h in json.loads(history.stdout) if h.get("clock_doubt")}
    assert marked == ids, (marked, ids)
    figure(f"clock: history marks the runs started before an earlier run: seqs {doubted}")
