"""A signal to runwrap racing its job's own exit: the run keeps the job's own
outcome, never `killed` with the job's own exit status."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from runwrap.store.owner import proc_stat

from helpers.faults import figure
from helpers.polling import wait_for
from helpers.runs import Root


def _zombie(pid: int) -> bool:
    fields = proc_stat(pid)
    return fields is not None and fields[0] == b"Z"


def test_term_after_the_job_exited_on_its_own(root: Root, tmp_path: Path) -> None:
    ready, go = tmp_path / "ready", tmp_path / "go"
    job = f"touch {ready}; while [ ! -e {go} ]; do sleep 0.01; done; exit 3"
    proc = root.start("-n", "t", "--", "sh", "-c", job)
    wait_for(lambda: ready.exists() and root.manifests_so_far("t"), what="the job running")
    leader = wait_for(lambda: root.manifest("t").get("pid"), what="the job's pid on record")
    # runwrap stopped: the job exits on its own, and the TERM (as `runwrap kill`
    # sends it) arrives before runwrap has seen the exit.
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        go.touch()
        wait_for(lambda: _zombie(leader), what="the job to exit")
        os.kill(proc.pid, signal.SIGTERM)
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    assert proc.wait(timeout=30) == 3, proc.stderr.read()
    m = root.manifest("t")
    assert (m["status"], m["exit_code"]) == ("failed", 3), m
    figure(f"TERM racing the job's own exit 3: recorded {m['status']} {m['exit_code']}")


def test_kill_between_two_attempts_still_reaches_runwrap(root: Root) -> None:
    """No job runs (runwrap waits to retry): runwrap is known by the run's log it holds."""
    proc = root.start("-n", "t", "--retries", "3", "--retry-delay", "60", "--", "false")

    def waiting() -> bool:
        try:
            return "retrying in" in (root.run_dir("t") / "stderr.log").read_text()
        except (OSError, IndexError):  # no run yet, or its log not yet made
            return False

    wait_for(waiting, what="the wait between attempts")
    killed = root.run("kill", "t")
    assert killed.returncode == 0, killed.stderr
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    m = root.manifest("t")
    assert m["status"] == "killed" and "between retries" in m["reason"], m
    assert m["reason"].startswith("killed by ") and m.get("stopped_by"), m  # an operator's kill


@pytest.mark.parametrize("signame", ["TERM", "KILL"])
def test_kill_reaches_a_job_that_cleared_its_environment(root: Root, signame: str) -> None:
    """No process carries the run's tag: runwrap is known by the run's log it holds open."""
    proc = root.start("-n", "t", "--", "env", "-i", "/bin/sleep", "600")
    wait_for(lambda: root.manifests_so_far("t") and root.manifest("t").get("pid"), what="the job")
    killed = root.run("kill", "t", "--signal", signame)
    assert killed.returncode == 0, killed.stderr
    assert proc.wait(timeout=30) == 128 + getattr(signal, f"SIG{signame}")
    assert root.manifest("t")["status"] == "killed"
