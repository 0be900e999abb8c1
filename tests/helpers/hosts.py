"""Hosts as Linux namespaces sharing one ROOT: each its own hostname, PID space and /proc.

`unshare --uts --pid --mount --fork --mount-proc` gives a shell that is PID 1
of its own PID namespace, as a container's init is: killing it takes every
process of the "host" with it, the way an evicted pod or a powered-off
machine goes. Skipped (with the reason) where unshare is refused, except
under CI=true, where the suite runs as root and must not skip.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time

import pytest

from helpers.polling import wait_for
from helpers.runs import RUNWRAP, SITEGEN

UNSHARE = ["unshare", "--uts", "--pid", "--mount", "--fork", "--mount-proc"]


def require_namespaces() -> None:
    """Skip the test when namespaces cannot be made here (fail instead under CI=true)."""
    try:
        probe = subprocess.run(
            [*UNSHARE, "sh", "-c", "hostname probe"], capture_output=True, text=True, timeout=30
        )
        why = probe.stderr.strip() or f"exit {probe.returncode}"
        ok = probe.returncode == 0
    except (OSError, subprocess.TimeoutExpired) as e:
        ok, why = False, str(e)
    if not ok:
        reason = f"unshare refused (hosts are namespaces; needs root): {why}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


class Host:
    """One "host": a shell that is PID 1 of its namespaces, running `script` (sh)."""

    def __init__(self, name: str, script: str, env: dict[str, str], uts: bool = True) -> None:
        """`uts=False`: a container of this host (its name, its own PID space), `name` unused."""
        self.name = name
        body = f"hostname {shlex.quote(name)} && {script}" if uts else script
        unshare = UNSHARE if uts else [a for a in UNSHARE if a != "--uts"]
        self.proc = subprocess.Popen(
            [*unshare, "sh", "-c", body],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.ns = ""

    def init_pid(self) -> int:
        """The host pid of the namespace's PID 1 (unshare's one child)."""

        def child() -> int | None:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                pids = f.read().split()
            return int(pids[0]) if pids else None

        pid = wait_for(child, what=f"{self.name}'s PID 1")
        self.ns = os.readlink(f"/proc/{pid}/ns/pid")
        return pid

    def kill(self) -> float:
        """Power the host off (SIGKILL to its PID 1); when its last process was gone."""
        pid = self.init_pid()
        os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=60)
        wait_for(lambda: not self.processes(), what=f"{self.name}'s processes to die")
        return time.time()

    def processes(self) -> list[int]:
        """Pids (host side) of every process still in this host's PID namespace."""
        found = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    if os.readlink(f"/proc/{name}/ns/pid") == self.ns:
                        found.append(int(name))
                except OSError:
                    continue
        return found

    def wait(self, timeout: float = 120) -> subprocess.CompletedProcess:
        out, err = self.proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, out, err)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.kill()
            except (OSError, AssertionError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def on_host(name: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run one command on a new host to its end (a pod that runs one thing)."""
    host = Host(name, shlex.join(args), env)
    return host.wait()


# The fleet tests' one ROOT and their clock: leases of 2 s, polls with generous deadlines.
LEASE = 2.0
GRACE = LEASE / 2  # owner.lease_grace
NO_TASK = {"running": [], "lost": [], "running_runs": []}  # before its first run
SLACK = 20.0  # a loaded machine: the deadline of a poll, never a timed assertion


def fleet_env(tmp_path) -> tuple[dict[str, str], str]:
    """The environment every host shares (one ROOT, one config), and the notices file."""
    notices = tmp_path / "notices.txt"
    config = tmp_path / "runwrap.yaml"
    line = f'echo "$RUNWRAP_EVENT $RUNWRAP_RUN_ID $(hostname)" >> {notices}'
    config.write_text(json.dumps({"notifiers": {"log": {"type": "command", "command": line}}}))
    (tmp_path / "root").mkdir()
    env = {
        **os.environ,
        "RUNWRAP_ROOT": str(tmp_path / "root"),
        "RUNWRAP_CONFIG": str(config),
    }
    return env, str(notices)


def ls_task(env: dict[str, str], task: str = "job", host: str = "") -> dict:
    """`runwrap ls --json`'s entry for the task, asked here or on a new host `host`."""
    args = [RUNWRAP, "ls", "--json"]
    result = (
        on_host(host, args, env)
        if host
        else subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    )
    assert result.returncode == 0, result.stderr
    return next((t for t in json.loads(result.stdout) if t["task"] == task), NO_TASK)


def site_status(env: dict[str, str], out: str) -> dict:
    """status.json, as a sitegen run here just wrote it."""
    result = subprocess.run(
        [SITEGEN, "--out", str(out), "-q"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    with open(os.path.join(out, "status.json")) as f:
        return json.load(f)


def sitegen_status(env: dict[str, str], out: str, task: str = "job") -> dict:
    """The task's entry in status.json, as a sitegen run here just wrote it."""
    return site_status(env, out)["tasks"][task]
