"""state.json is a cache of the final manifests: never a reason for a job not to run."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from runwrap.store.fold import FOLD
from runwrap.store.state import rebuild_state

from helpers.polling import wait_for
from helpers.runs import Root

KEYS = (
    "status",
    "since",
    "last_run_id",
    "last_status",
    "consecutive_failures",
    "last_success_id",
    "last_failure_id",
)


def implied(root: Root, task: str) -> dict:
    """What the final manifests on disk imply, in the keys readers use."""
    state = rebuild_state(str(root.task_dir(task)))
    return {k: state.get(k) for k in KEYS}


def recorded(root: Root, task: str) -> dict:
    state = root.state(task)
    return {k: state.get(k) for k in KEYS}


def history(root: Root, task: str, *codes: int) -> None:
    for code in codes:
        assert root.run("-n", task, "--", "sh", "-c", f"exit {code}").returncode == code


CORRUPTIONS = {
    "cut off": lambda p: p.write_bytes(p.read_bytes()[:40]),
    "empty": lambda p: p.write_bytes(b""),
    "garbage": lambda p: p.write_bytes(b"\x00\xff{{{not json"),
    "a list": lambda p: p.write_text("[1, 2, 3]"),
    "wrong types": lambda p: p.write_text(
        json.dumps({"last_run_id": 5, "last_status": ["x"], "consecutive_failures": "many"})
    ),
    "a number where a count goes": lambda p: p.write_text(
        json.dumps({**json.loads(p.read_text()), "consecutive_failures": "2"})
    ),
    "a directory": lambda p: (p.unlink(), p.mkdir()),
    "a FIFO": lambda p: (p.unlink(), os.mkfifo(p)),
}


@pytest.mark.parametrize("how", sorted(CORRUPTIONS))
def test_a_broken_state_file_is_rebuilt_and_the_job_still_runs(root: Root, how: str) -> None:
    history(root, "t", 0, 1)
    path = root.task_dir("t") / "state.json"
    CORRUPTIONS[how](path)
    result = root.run("-n", "t", "--", "sh", "-c", "echo ran; exit 2", timeout=30)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (root.run_dir("t") / "stdout.log").read_text() == "ran\n"
    ls = root.run("ls", timeout=30)
    assert ls.returncode == 0 and "Traceback" not in ls.stderr
    if path.is_file() and not path.is_symlink():
        assert recorded(root, "t") == implied(root, "t")
        assert root.state("t")["consecutive_failures"] == 2


def test_a_cut_off_manifest_of_an_earlier_run_does_not_stop_the_task(root: Root) -> None:
    history(root, "t", 1)
    manifest = root.run_dir("t") / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:40])
    assert root.run("-n", "t", "--", "true").returncode == 0
    assert root.run("history", "t").returncode == 0
    assert root.state("t")["status"] == "success"


def test_a_state_behind_its_runs_is_caught_up(root: Root) -> None:
    """A kill between the final manifest and the state update: the next run records both."""
    history(root, "t", 0)
    stale = (root.task_dir("t") / "state.json").read_bytes()
    history(root, "t", 1)
    last = root.run_ids("t")[-1]
    # As if runwrap died right after the final manifest: old state, marker still there.
    (root.task_dir("t") / "state.json").write_bytes(stale)
    dead = json.loads((root.run_dir("t") / "manifest.json").read_text())["owner"]
    (root.task_dir("t") / "open" / last).write_text(json.dumps({"owner": dead}))
    history(root, "t", 1)
    assert recorded(root, "t") == implied(root, "t")
    state = root.state("t")
    assert state["consecutive_failures"] == 2 and state["last_success_id"] == root.run_ids("t")[0]
    assert not list((root.task_dir("t") / "open").iterdir())


def test_since_dates_the_failing_period_not_the_last_status(root: Root) -> None:
    history(root, "t", 0, 1)
    first_failure = root.manifests("t")[-1]["started_at"]
    assert root.run("-n", "t", "-t", "0.2", "--", "sleep", "5").returncode == 124
    state = root.state("t")
    assert state["status"] == "timeout" and state["since"] == first_failure


def test_a_lost_run_older_than_the_newest_finished_one_is_finalized(
    root: Root, tmp_path: Path
) -> None:
    """Under --overlap allow a run can die while a later one finishes: it must not stay running."""
    slow = root.start("-n", "t", "--overlap", "allow", "--", "sleep", "30")
    wait_for(lambda: any(m.get("pid") for m in root.manifests_so_far("t")), what="slow job")
    history(root, "t", 0)
    slow.send_signal(signal.SIGKILL)
    slow.wait(timeout=10)
    wait_for(
        lambda: (
            root.run("-n", "t", "--overlap", "allow", "--", "true").returncode == 0
            and all(m["status"] != "running" for m in root.manifests("t"))
        ),
        timeout=20,
        what="the killed run finalized",
    )
    statuses = [m["status"] for m in root.manifests("t")]
    assert statuses[0] == "lost" and "running" not in statuses
    assert recorded(root, "t") == implied(root, "t")


def test_a_newer_versions_state_is_read_around_not_written_over(root: Root) -> None:
    """A fleet upgraded host by host shares one ROOT: a reader of this version rebuilds
    a newer fold's state.json in memory and leaves it be, so that the newer hosts do
    not fold every task again after each of its reads."""
    history(root, "t", 0, 1)
    path = root.task_dir("t") / "state.json"
    newer = {**json.loads(path.read_text()), "fold": FOLD + 1, "added_later": {"x": 1}}
    path.write_text(json.dumps(newer))
    written = path.read_bytes()
    for command in (["ls"], ["show", "t"], ["check"], ["history", "t"]):
        result = root.run(*command, timeout=30)
        assert "Traceback" not in result.stderr, (command, result.stderr)
    assert " failed " in root.run("ls", "t").stdout
    assert path.read_bytes() == written
    # Recording a run is this version's to write: its own fold, from the manifests.
    history(root, "t", 0)
    assert root.state("t")["fold"] == FOLD and recorded(root, "t") == implied(root, "t")
