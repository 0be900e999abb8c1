"""The job cannot steer `runwrap kill`: a job running as an unprivileged user
rewrites what it can write (its manifest's pid, pgid and owner, its open
marker) to name a process of root's; root's `runwrap kill` must stop the real
job, or refuse in one line, and never signal the victim."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from conftest import RUNWRAP, pid_alive, wait_for

from runwrap.store.owner import start_ticks

from .faultlib import figure, runwrap_for, shared_dir, unprivileged_user

# The job: once its run is on record, it rewrites its files to name the victim,
# again and again (runwrap may rewrite its manifest), until it is stopped.
FORGER = r"""
import json, os, sys, time
victim, start, what = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(",")
run_dir = os.environ["RUNWRAP_RUN_DIR"]
marker = os.path.join(os.environ["RUNWRAP_ROOT"], "tasks", os.environ["RUNWRAP_TASK"],
                      "open", os.environ["RUNWRAP_RUN_ID"])

def forge(path, owner_key):
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return
    owner = data.get(owner_key) if owner_key else data
    if isinstance(owner, dict):
        owner.update(pid=victim, start=start)
    if "manifest" in path:
        data.update(pid=victim, pgid=victim)
    with open(path + ".forged", "w") as f:
        json.dump(data, f)
    os.replace(path + ".forged", path)

while True:
    if "manifest" in what:
        forge(os.path.join(run_dir, "manifest.json"), "owner")
    if "marker" in what:
        forge(marker, "owner")
    open(os.path.join(run_dir, "forged"), "w").close()
    time.sleep(0.05)
"""


@pytest.fixture
def user() -> tuple[str, list[str], dict[str, str]]:
    name = unprivileged_user()
    if name is None:
        pytest.skip("needs root, to make an unprivileged user with useradd")
    runner = runwrap_for(name)
    if runner is None:
        pytest.skip(f"this checkout's runwrap cannot be run as {name}")
    return name, *runner


@pytest.fixture
def place(user):
    path = shared_dir("runwrap-forgery-")
    shutil.chown(path, user[0])
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def victim():
    proc = subprocess.Popen(["sleep", "600"], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


CASES = {
    "manifest forged, TERM": ("manifest", "TERM"),
    "manifest forged, KILL": ("manifest", "KILL"),
    "manifest and open marker forged, TERM": ("manifest,marker", "TERM"),
    "manifest and open marker forged, KILL": ("manifest,marker", "KILL"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_forged_run_never_steers_roots_kill(user, place: Path, victim, case: str) -> None:
    name, argv, extra = user
    what, signame = CASES[case]
    (place / "forger.py").write_text(FORGER)
    root = place / "root"
    env = {**extra, "RUNWRAP_ROOT": str(root), "RUNWRAP_CONFIG": "/dev/null"}
    start = start_ticks(victim.pid)
    job = subprocess.Popen(
        [*argv, "-n", "t", "--kill-grace", "0.5", "--",
         "/usr/bin/python3", str(place / "forger.py"), str(victim.pid), str(start), what],
        env=env, cwd=place, user=name, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        runs = root / "tasks" / "t" / "runs"
        wait_for(lambda: job.poll() is not None or any(runs.glob("*/forged")), what="the forgery")
        assert job.poll() is None, job.stderr.read()
        kill = subprocess.run(
            [RUNWRAP, "kill", "t", "--signal", signame],
            env={**os.environ, "RUNWRAP_ROOT": str(root), "RUNWRAP_CONFIG": "/dev/null"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "Traceback" not in kill.stderr
        if "marker" in what:
            # Nothing runwrap holds names the run any more: refused, in one line.
            assert kill.returncode == 1, kill
            lines = kill.stderr.strip().splitlines()
            assert len(lines) == 1 and "not signalled" in lines[0], lines
            assert pid_alive(victim.pid)
            job.send_signal(signal.SIGTERM)  # the test's own way to end it
            outcome = f"refused: {lines[0]}"
        else:
            assert kill.returncode == 0, kill.stderr
            outcome = "the real job stopped"
        assert job.wait(timeout=30) in (128 + signal.SIGTERM, 128 + signal.SIGKILL, 137), (
            job.stderr.read()
        )
        assert pid_alive(victim.pid), "the victim was signalled"
        assert victim.poll() is None
        figure(f"forgery ({case}) by user {name}: victim untouched, {outcome}")
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
