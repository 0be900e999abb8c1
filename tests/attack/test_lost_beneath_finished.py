"""Attack on issue 18: a lost run older than the newest finished run.

Under `--overlap allow`, run 2 is still going when run 3 starts; run 2's runwrap and
its watcher are then SIGKILLed (the OOM killer, a `kill -9` of the session), and run 3
ends. Run 2 is lost and stays unfinalized until the next run of the task. In that
window, query.record_of's fold.with_unfinished cannot fold it (can_fold: older than
the newest finished run), so ls, show and status.json tell the state without it, while
the feed (sitegen folds the run summaries, lost one included) shows a failure and a
recovery, and the state the finalization writes later says another "since".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from helpers.polling import wait_for
from helpers.runs import Root


def _ls(root: Root) -> dict:
    listing = root.run("ls", "--json")
    assert listing.returncode == 0, listing.stderr
    return {v["task"]: v for v in json.loads(listing.stdout)}["t"]


def _children(pid: int) -> list[int]:
    found = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
        except OSError:
            continue
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _kill_runwrap_and_watcher(proc: subprocess.Popen) -> None:
    """SIGKILL runwrap and its watcher (a forked copy of runwrap: same command line)."""
    own = _cmdline(proc.pid)
    wait_for(
        lambda: any(_cmdline(c) == own for c in _children(proc.pid)), timeout=30, what="watcher"
    )
    for child in _children(proc.pid):
        if _cmdline(child) == own:
            os.kill(child, signal.SIGKILL)
    proc.kill()
    proc.wait()


def test_a_lost_run_beneath_a_finished_one_is_one_story(root: Root, tmp_path: Path) -> None:
    assert root.run("-n", "t", "--", "true").returncode == 0  # run 1: ok
    long = root.start("-n", "t", "--overlap", "allow", "--", "sleep", "60")  # run 2
    wait_for(lambda: len(root.manifests_so_far("t")) == 2, what="run 2")
    run2 = root.run_ids("t")[-1]
    wait_for(lambda: root.manifest("t", run2).get("pgid"), what="run 2's job")
    short = root.start("-n", "t", "--overlap", "allow", "--", "sleep", "2")  # run 3
    wait_for(lambda: len(root.manifests_so_far("t")) == 3, what="run 3")
    pgid = root.manifest("t", run2)["pgid"]
    _kill_runwrap_and_watcher(long)
    try:
        os.killpg(pgid, signal.SIGKILL)  # what the watcher would have stopped
    except ProcessLookupError:
        pass
    assert short.wait(timeout=60) == 0

    before = _ls(root)
    assert before["lost"] == [run2]
    out = tmp_path / "out"
    root.sitegen(out)
    status = json.loads((out / "status.json").read_text())["tasks"]["t"]
    feed = (out / "tasks" / "t" / "feed.atom").read_text()
    run1_started = root.manifest("t", root.run_ids("t")[0])["started_at"]
    # The feed tells run 2's failure and run 3's recovery (sitegen folds the run
    # summaries, lost run 2 among them) while status.json says "ok since run 1".
    assert not (run2 in feed and status["since"] == run1_started), "feed and status disagree"

    assert root.run("-n", "t", "--", "true").returncode == 0  # run 4 finalizes run 2
    after = _ls(root)
    assert after["lost"] == []
    # The lost run 2 is a failing period that ended with run 3: after finalization
    # the task is ok since run 3's start. Before it, every surface must say so too.
    since_run3 = after["since"]
    assert before["since"] == since_run3, (before["since"], since_run3)
    assert status.get("since") == since_run3
