"""The fault-injection suite's tools: seeds, scale, job markers, other users and the invariants.

Every scenario draws its randomness from one seed, printed at its start
(replay a failure with FAULTS_SEED=<seed>), and scales its counts by
FAULTS_SCALE (default 1; `make faults` runs 20). Each job carries a marker
string in its argv (a unique sleep duration, `sleep 1000.123456789`), so
the test finds every process of it, however it detached.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import time
from pathlib import Path

from runwrap.store.state import rebuild_state

from helpers.runs import pid_alive

FINAL = frozenset({"success", "failed", "timeout", "killed", "skipped", "lost"})
# State keys that every state must share with the manifests it caches.
KEY_FIELDS = ("status", "last_run_id", "last_status", "last_success_id", "last_failure_id")
# Keys that count from the task's first run: only comparable when no run was ever removed.
HISTORY_FIELDS = ("since", "consecutive_failures")


def scale() -> int:
    """FAULTS_SCALE (at least 1)."""
    try:
        return max(1, int(os.environ.get("FAULTS_SCALE", "1")))
    except ValueError:
        return 1


def seeded(name: str) -> random.Random:
    """A random generator for scenario `name`, its seed printed for replay."""
    given = os.environ.get("FAULTS_SEED", "").strip()
    seed = int(given) if given else secrets.randbelow(2**32)
    print(f"[faults] {name}: seed {seed} (replay with FAULTS_SEED={seed}), scale {scale()}")
    return random.Random(seed)


def figure(line: str) -> None:
    """A measured figure: printed, and appended to $FAULTS_FIGURES when set."""
    print(f"[faults] {line}")
    target = os.environ.get("FAULTS_FIGURES")
    if target:
        with open(target, "a") as f:
            f.write(line + "\n")


def new_mark() -> str:
    """A marker that is also a sleep duration: `sleep MARK` carries it in its argv."""
    return f"1000.{secrets.randbelow(10**12):012d}"


def _read(pid: str, what: str) -> bytes:
    try:
        with open(f"/proc/{pid}/{what}", "rb") as f:
            return f.read()
    except OSError:
        return b""


def _is_runwrap(cmdline: bytes) -> bool:
    words = cmdline.split(b"\0")[:2]
    return any(w.endswith(b"/runwrap") for w in words)


def mark_env(env: dict[str, str], mark: str) -> dict[str, str]:
    """`env` with the mark in it too: every descendant that keeps its environment carries it."""
    return {**env, "FAULTS_MARK": mark}


def marked(mark: str, runwraps: bool = False) -> dict[int, str]:
    """Live processes with `mark` in their argv or environment (FAULTS_MARK).

    The job's processes; runwrap's own too (it and its watcher) if `runwraps`.
    """
    needle = mark.encode()
    tag = b"FAULTS_MARK=" + needle + b"\0"
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        cmdline = _read(name, "cmdline")
        if needle not in cmdline:
            environ = _read(name, "environ")
            if not (environ.startswith(tag) or b"\0" + tag in environ):
                continue
        if not pid_alive(int(name)):
            continue
        if runwraps or not _is_runwrap(cmdline):
            found[int(name)] = cmdline.replace(b"\0", b" ").decode("utf-8", "replace")[:200]
    return found


def runwrap_children(mark: str, parent: int) -> list[int]:
    """runwrap processes (its watcher) forked by runwrap `parent`, once its job runs.

    Until the job's exec, the job's own process is a runwrap child too: taken for the
    watcher, it let a test kill runwrap before any watcher existed (1 run in 10 of
    FAULTS_SEED=3109604547 under load)."""
    if not marked(mark):
        return []
    found = []
    for pid, cmdline in marked(mark, runwraps=True).items():
        stat = _read(str(pid), "stat")
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == parent and "/runwrap " in cmdline:
            found.append(pid)
    return found


def wait_gone(mark: str, timeout: float = 15.0, runwraps: bool = True) -> float:
    """Poll until no process with `mark` lives; the seconds it took (AssertionError after timeout)."""
    start = time.monotonic()
    while True:
        left = marked(mark, runwraps)
        if not left:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"processes still alive after {timeout}s: {left}")
        time.sleep(0.02)


def kill_marked(mark: str) -> None:
    """SIGKILL every process carrying `mark` (runwraps included): a failed test's clean-up."""
    for _ in range(50):
        left = marked(mark, runwraps=True)
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)


def final_manifests(task_path: Path) -> list[dict]:
    """Every run's manifest, asserting each is valid JSON with a final status."""
    runs = task_path / "runs"
    found = []
    for entry in sorted(os.listdir(runs)) if runs.is_dir() else []:
        if entry.startswith("."):
            continue
        path = runs / entry / "manifest.json"
        try:
            manifest = json.loads(path.read_bytes())
        except (OSError, ValueError) as e:
            raise AssertionError(f"run {entry}: manifest unreadable: {e}") from None
        assert isinstance(manifest, dict), f"run {entry}: manifest is not an object"
        assert manifest.get("status") in FINAL, f"run {entry}: status {manifest.get('status')!r}"
        assert manifest.get("run_id") == entry, f"run {entry}: run_id {manifest.get('run_id')!r}"
        found.append(manifest)
    return found


def debris(task_path: Path) -> list[str]:
    """Hidden leftovers of interrupted births and removals in runs/ (.new-*, .removing-*)."""
    runs = task_path / "runs"
    if not runs.is_dir():
        return []
    return sorted(n for n in os.listdir(runs) if n.startswith((".new-", ".removing-")))


def open_markers(task_path: Path) -> list[str]:
    path = task_path / "open"
    return sorted(os.listdir(path)) if path.is_dir() else []


def check_task(task_path: Path, retention: bool = False) -> list[dict]:
    """The invariants once no runwrap of the task lives; returns the manifests.

    Every manifest valid and final, no open marker, no half-born or
    half-removed run, and state.json equal to what the manifests imply.
    """
    manifests = final_manifests(task_path)
    assert open_markers(task_path) == [], f"open markers left: {open_markers(task_path)}"
    assert debris(task_path) == [], f"debris left in runs/: {debris(task_path)}"
    implied = rebuild_state(str(task_path))
    state_file = task_path / "state.json"
    if not implied:
        assert not state_file.exists() or json.loads(state_file.read_bytes()) == {}
        return manifests
    state = json.loads(state_file.read_bytes())
    fields = KEY_FIELDS if retention else KEY_FIELDS + HISTORY_FIELDS
    differ = {k: (state.get(k), implied.get(k)) for k in fields if state.get(k) != implied.get(k)}
    assert differ == {}, f"state.json differs from the manifests (state, implied): {differ}"
    return manifests


UNPRIVILEGED = "runwrapjob"


def unprivileged_user() -> str | None:
    """The name of an unprivileged user made for these tests (useradd), or None if we cannot."""
    import pwd
    import subprocess

    try:
        pwd.getpwnam(UNPRIVILEGED)
        return UNPRIVILEGED
    except KeyError:
        pass
    if os.getuid() != 0:
        return None
    done = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/bin/sh", UNPRIVILEGED],
        capture_output=True,
        text=True,
    )
    try:
        pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        print(f"useradd failed: {done.stderr.strip()}")
        return None
    return UNPRIVILEGED


def shared_dir(prefix: str) -> Path:
    """A fresh directory under /tmp that every user can reach (pytest's tmp_path is 0700)."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


def runwrap_for(user: str) -> tuple[list[str], dict[str, str]] | None:
    """(argv, env additions) that run this checkout's runwrap as `user`, or None if it cannot.

    The test's own interpreter may live where other users cannot reach it
    (/root/.pyenv): the system's python3 runs the launcher from the source tree.
    """
    import pwd
    import shutil
    import subprocess

    import runwrap

    source = str(Path(runwrap.__file__).resolve().parents[1])
    python = shutil.which("python3", path="/usr/bin:/bin") or ""
    argv = [python, os.path.join(source, "launchers", "runwrap")]
    env = {"PYTHONPATH": source, "PATH": "/usr/bin:/bin", "HOME": "/"}
    uid = pwd.getpwnam(user).pw_uid
    probe = subprocess.run(
        [*argv, "--version"], env=env, user=uid, cwd="/", capture_output=True, text=True
    )
    if not python or probe.returncode != 0:
        print(f"cannot run runwrap as {user}: {probe.stderr.strip()[-200:]}")
        return None
    return argv, env


def user_in(name: str, groups: tuple[str, ...] = ()) -> str | None:
    """A user made for these tests with useradd (in `groups` too), or None if we cannot."""
    import grp
    import pwd
    import subprocess

    try:
        pwd.getpwnam(name)
    except KeyError:
        if os.getuid() != 0:
            return None
        extra = ["-G", ",".join(groups)] if groups else []
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/bin/sh", *extra, name],
            capture_output=True,
        )
    try:
        pwd.getpwnam(name)
    except KeyError:
        return None
    if any(name not in grp.getgrnam(g).gr_mem for g in groups):
        return None
    return name


def tools_for(user: str) -> tuple[str, dict[str, str]] | None:
    """(python, env) that run this checkout's `launchers/runwrap` and `launchers/sitegen`
    as `user`: the system's python3 with the source tree and this interpreter's
    site-packages (jinja2 for sitegen) on its path; None if it cannot."""
    import pwd
    import shutil
    import subprocess
    import sysconfig

    import runwrap

    source = str(Path(runwrap.__file__).resolve().parents[1])
    python = shutil.which("python3", path="/usr/bin:/bin") or ""
    site = sysconfig.get_paths()["purelib"]
    env = {"PYTHONPATH": f"{source}:{site}", "PATH": "/usr/bin:/bin", "HOME": "/"}
    probe = subprocess.run(
        [python, "-c", "import jinja2, runwrap, sitegen"],
        env=env,
        user=pwd.getpwnam(user).pw_uid,
        cwd="/",
        capture_output=True,
        text=True,
    )
    if not python or probe.returncode != 0:
        print(f"cannot run sitegen as {user}: {probe.stderr.strip()[-200:]}")
        return None
    return python, env


def launcher(name: str) -> str:
    """This checkout's launchers/NAME (runwrap or sitegen)."""
    import runwrap

    return str(Path(runwrap.__file__).resolve().parents[1] / "launchers" / name)
