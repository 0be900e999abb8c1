"""Attack on "one story for a task whose runs cannot be read" (runs/ a symlink, never
followed, or not a directory: lookup.task_problem). ls, check, show, history, tail, kill,
diff, feedback and sitegen said "unreadable" (exit 2 where a command answers about the
task); what still told another story:

- `ack` said "not failing: nothing to acknowledge" (exit 1) of a failing task it cannot
  read;
- `show RUNID` of one of its runs said "no run" (exit 1), as if the run were not there;
- once retired, ls went on listing it (unreadable) while check, the metrics and the
  dashboard left it out; and sitegen warned "not a task" of every retired task;
- `show RUNID` of a retired task's kept run said "no run", while `show TASK` reads it;
- the run form ran the job unrecorded for a dangling link, a file or a FIFO at runs/
  ("cannot create task: File exists"), but for a link to a directory did not run the job
  at all (exit 125): cron lost the job's exit status (docs/reliability.md's first rule).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from helpers.polling import wait_for
from helpers.runs import SITEGEN, Root


def _break(runs: Path, how: str, tmp_path: Path) -> None:
    if how == "link to a directory":
        runs.rename(tmp_path / "elsewhere")
        runs.symlink_to(tmp_path / "elsewhere")
    else:
        for run in runs.iterdir():
            for f in run.iterdir():
                f.unlink()
            run.rmdir()
        runs.rmdir()
        if how == "dangling link":
            runs.symlink_to(tmp_path / "nowhere")
        elif how == "file":
            runs.write_text("x\n")
        else:
            os.mkfifo(runs)


def _one_line(result, code: int, *fragments: str) -> None:
    assert result.returncode == code, result
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1, result
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result
    for fragment in fragments:
        assert fragment in result.stderr, result


@pytest.fixture
def broken(root: Root, tmp_path: Path) -> tuple[Root, str]:
    """Task a failed once, then its runs/ made a link elsewhere; task b is fine."""
    assert root.run("-n", "a", "--", "false").returncode == 1
    assert root.run("-n", "b", "--", "true").returncode == 0
    (run_id,) = root.run_ids("a")
    _break(root.task_dir("a") / "runs", "link to a directory", tmp_path)
    return root, run_id


def test_ack_of_a_task_it_cannot_read_says_so(broken: tuple[Root, str]) -> None:
    root, _ = broken
    _one_line(root.run("ack", "a"), 2, "cannot be read", "runs")
    assert not (root.task_dir("a") / "ack.json").exists()


def test_a_run_id_of_a_task_it_cannot_read_is_not_called_missing(
    broken: tuple[Root, str],
) -> None:
    root, run_id = broken
    for command in ("show", "history", "tail"):
        _one_line(root.run(command, run_id), 2, run_id, "task 'a' cannot be read")
    _one_line(root.run("show", "20991231T000000.000Z-0000"), 2, "cannot be read")
    assert root.run("show", root.run_ids("b")[0]).returncode == 0  # the others read


def test_a_retired_task_it_cannot_read_is_off_every_list(
    broken: tuple[Root, str], tmp_path: Path
) -> None:
    root, _ = broken
    assert root.run("retire", "a").returncode == 0
    listing = root.run("ls", "--json")
    assert listing.returncode == 0 and listing.stderr == "", listing
    assert [v["task"] for v in json.loads(listing.stdout)] == ["b"]
    check = root.run("check")
    assert check.returncode == 0 and "a:" not in check.stdout, check
    site = root.sitegen(tmp_path / "site")
    assert sorted(site["tasks"]) == ["b"] and site["totals"]["unreadable"] == 0
    named = root.run("check", "a")  # named, it is looked at: and cannot be read
    assert named.returncode == 2 and "a: cannot be read" in named.stdout, named
    _one_line(root.run("show", "a"), 2, "cannot be read")


def test_a_retired_tasks_runs_are_read_by_run_id_and_not_warned_of(
    root: Root, tmp_path: Path
) -> None:
    assert root.run("-n", "a", "--", "true").returncode == 0
    assert root.run("-n", "b", "--", "true").returncode == 0
    assert root.run("retire", "a").returncode == 0
    (run_id,) = root.run_ids("a")
    shown = root.run("show", "--json", run_id)
    assert shown.returncode == 0 and json.loads(shown.stdout)["run_id"] == run_id, shown
    done = subprocess.run(
        [SITEGEN, "--root", str(root.path), "--out", str(tmp_path / "site")],
        env=root.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and "not a task" not in done.stderr, done.stderr


@pytest.mark.parametrize("how", ["link to a directory", "dangling link", "file", "fifo"])
def test_the_run_form_runs_the_job_whatever_is_at_runs(
    root: Root, tmp_path: Path, how: str
) -> None:
    assert root.run("-n", "a", "--", "true").returncode == 0
    before = root.run_ids("a")
    _break(root.task_dir("a") / "runs", how, tmp_path)
    result = root.run("-n", "a", "--", "sh", "-c", "echo out; exit 3")
    assert result.returncode == 3 and result.stdout == "out\n", result
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "runs is not a directory" in lines[0], result.stderr
    assert "running it unrecorded" in lines[0], result.stderr
    if how == "link to a directory":
        assert [p.name for p in (tmp_path / "elsewhere").iterdir()] == before  # not written


@pytest.mark.parametrize("by", ["task", "run id"])
def test_kill_stops_a_job_that_made_its_own_runs_a_link(
    root: Root, tmp_path: Path, by: str
) -> None:
    # The job swaps its task's runs/ for a link, then hangs: `kill` cannot read runs/,
    # but the run's open marker (outside runs/) and the processes still name it.
    runs = root.task_dir("a") / "runs"
    swap = f"mv {runs} {tmp_path}/moved && ln -s {tmp_path}/moved {runs} && exec sleep 60"
    proc = root.start("-n", "a", "--", "sh", "-c", swap)
    wait_for(lambda: runs.is_symlink(), what="runs/ swapped")
    (run_id,) = [p.name for p in (tmp_path / "moved").iterdir()]
    killed = root.run("kill", "a" if by == "task" else run_id)
    assert killed.returncode == 0 and f"sent SIGTERM to run {run_id}" in killed.stdout, killed
    assert proc.wait(timeout=30) == 128 + 15
