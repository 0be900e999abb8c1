"""SIGKILL of runwrap at random points: no run left running, no process left, state exact.

Early kills land anywhere in a run's life (start-up, birth of the run
directory, the job, the stop of its leftovers, the final record, the state,
retention); the next run of the task must finalize what was left and stop
the job's orphans. Late kills land after the watcher started (1 s): the
watcher stops the job and records the run as lost by itself.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest

from helpers.faults import (
    check_task,
    figure,
    kill_marked,
    mark_env,
    marked,
    new_mark,
    runwrap_children,
    scale,
    seeded,
    wait_gone,
)
from helpers.polling import wait_for
from helpers.runs import RUNWRAP, Root

DETACH = {
    "setsid": "setsid sleep {m} &",
    "double-fork": "(sleep {m} &)",
    "background": "sleep {m} &",
    "nohup": "nohup sleep {m} >/dev/null 2>&1 &",
    "term-ignorer": "(trap '' TERM; exec sleep {m}) &",
}


def _job(rng, mark: str, status: int, hold: str) -> list[str]:
    kinds = rng.sample(sorted(DETACH), rng.randint(1, 3))
    parts = [DETACH[k].format(m=mark) for k in kinds]
    return ["sh", "-c", "\n".join([*parts, f"sleep {hold}", f"exit {status}"])]


def _next_run(root: Root, task: str, keep: int, mark: str, status: int) -> None:
    """The following run: finalizes what the killed one left; its own status passes through."""
    result = root.run(
        "-n", task, "--keep", str(keep), "--kill-grace", "0.2", "--",
        "sh", "-c", f"exit {status}; sleep {mark}",
    )  # fmt: skip
    assert result.returncode == status, result.stderr
    assert result.stderr == "", result.stderr


def _options(task: str, keep: int) -> list[str]:
    return ["-n", task, "--keep", str(keep), "--kill-grace", "0.2"]


def test_sigkill_at_random_points(root: Root) -> None:
    rng = seeded("sigkill")
    mark = new_mark()
    root.env = mark_env(root.env, mark)
    tasks = {"kept": 1000, "pruned": 3}  # without and with retention
    early, late = 12 * scale(), 2 * scale()
    stats = {"kills": 0, "lost": 0, "orphans": 0, "watcher": 0, "watcher_s": 0.0}
    try:
        # How long a whole run lasts here: early kills are spread over it.
        start = time.monotonic()
        root.run(*_options("kept", 1000), "--", *_job(rng, mark, 0, "0.02"))
        life = time.monotonic() - start
        wait_gone(mark)
        for i in range(early):
            task = rng.choice(sorted(tasks))
            delay = rng.uniform(0, 0.05) if i % 2 else rng.uniform(0, life * 1.2)
            proc = root.start(
                *_options(task, tasks[task]), "--",
                *_job(rng, mark, rng.choice((0, 1, 3)), rng.choice(("0", "0.02", "0.1"))),
            )  # fmt: skip
            time.sleep(delay)  # the fault itself, not a wait for something
            proc.kill()
            proc.wait(timeout=30)
            stats["kills"] += 1
            if marked(mark):
                stats["orphans"] += 1
            _next_run(root, task, tasks[task], mark, rng.choice((0, 2, 3)))
            wait_gone(mark, timeout=15)
            check_task(root.task_dir(task), retention=tasks[task] < 1000)
        for i in range(late):
            task = rng.choice(sorted(tasks))
            proc = root.start(*_options(task, tasks[task]), "--", *_job(rng, mark, 0, "30"))
            watchers = wait_for(
                lambda p=proc.pid: runwrap_children(mark, p), timeout=15, what="the watcher"
            )
            time.sleep(rng.uniform(0, 0.3))
            proc.kill()
            proc.wait(timeout=30)
            if i % 2:
                # runwrap and its watcher both killed (the OOM killer, kill -9 of the group):
                # the next run is left to clean up.
                for pid in watchers:
                    os.kill(pid, signal.SIGKILL)
                _next_run(root, task, tasks[task], mark, 0)
                wait_gone(mark)
            else:
                took = wait_gone(mark, timeout=15)
                stats["watcher"] += 1
                stats["watcher_s"] = max(stats["watcher_s"], took)
                # The watcher finalized the run by itself: lost, no marker left.
                check_task(root.task_dir(task), retention=tasks[task] < 1000)
                _next_run(root, task, tasks[task], mark, 0)
            stats["kills"] += 1
            check_task(root.task_dir(task), retention=tasks[task] < 1000)
        for task in tasks:
            manifests = check_task(root.task_dir(task), retention=tasks[task] < 1000)
            stats["lost"] += sum(m["status"] == "lost" for m in manifests)
    finally:
        kill_marked(mark)
    figure(
        f"sigkill: {stats['kills']} SIGKILLs of runwrap ({early} at random points of a run of "
        f"{life * 1000:.0f} ms, {late} after the watcher started); {stats['orphans']} left job "
        f"processes behind, all stopped by the watcher ({stats['watcher']} times, within "
        f"{stats['watcher_s']:.2f} s) or the next run; {stats['lost']} runs kept as lost; "
        "0 invalid manifests, 0 runs left running, 0 open markers, 0 processes left, "
        "state.json = manifests every time"
    )


# Every call by which a run changes the disk (strace counts each kind apart).
DISK_CALLS = ("write", "linkat", "rename", "unlink", "mkdir", "fsync", "fallocate", "flock")


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_sigkill_at_every_call_that_changes_the_disk(root: Root) -> None:
    """runwrap killed (strace's fault injection) at the 1st, 2nd, ... call of each kind
    that writes, names or removes a file: the next run must leave the task whole."""
    options = [*_options("t", 3), "--"]  # with retention: it removes a run every tick
    assert root.run(*options, "true").returncode == 0
    kills = 0
    for call in DISK_CALLS:
        for nth in range(1, 100):
            inject = f"inject={call}:signal=KILL:when={nth}"
            killed = subprocess.run(
                ["strace", "-qq", "-o", os.devnull, "-e", f"trace={call}", "-e", inject,
                 RUNWRAP, *options, "sh", "-c", "exit 0"],
                env=root.env, cwd=root.cwd, capture_output=True, timeout=60,
            )  # fmt: skip
            if killed.returncode != -signal.SIGKILL:
                assert killed.returncode == 0, (call, nth, killed.stderr)
                break  # a run makes fewer such calls: the next kind
            kills += 1
            after = root.run(*options, "true")
            assert after.returncode == 0 and after.stderr == "", (call, nth, after.stderr)
            check_task(root.task_dir("t"), retention=True)
    assert kills > 10, kills  # the injection really reached runwrap's own calls
    figure(f"sigkill: {kills} SIGKILLs, one at every call of {', '.join(DISK_CALLS)} in a run")
