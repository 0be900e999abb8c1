"""Hosts as Linux namespaces sharing one ROOT: each its own hostname, PID space and /proc.

`unshare --uts --pid --mount --fork --mount-proc` gives a shell that is PID 1
of its own PID namespace, as a container's init is: killing it takes every
process of the "host" with it, the way an evicted pod or a powered-off
machine goes. Skipped (with the reason) where unshare is refused, except
under CI=true, where the suite runs as root and must not skip.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time

import pytest
from conftest import BIN, wait_for

RUNWRAP = str(BIN / "runwrap")
SITEGEN = str(BIN / "sitegen")
UNSHARE = ["unshare", "--uts", "--pid", "--mount", "--fork", "--mount-proc"]


def scale() -> int:
    """FAULTS_SCALE (at least 1): `make faults` runs the long variants."""
    try:
        return max(1, int(os.environ.get("FAULTS_SCALE", "1")))
    except ValueError:
        return 1


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
