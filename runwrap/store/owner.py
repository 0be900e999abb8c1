"""Who owns a running run: enough to tell, later, that its owner is gone.

A pid alone is not enough: pids are reused, and a host reboots. A run's
owner is recorded as (host, boot id, pid, process start time).
"""

from __future__ import annotations

import os

_BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"


def hostname() -> str:
    """This machine's name, as runs record it."""
    return os.uname().nodename


def boot_id() -> str:
    """An id that changes at every boot (empty where the OS has none)."""
    try:
        with open(_BOOT_ID_PATH) as f:
            return f.read().strip()
    except OSError:
        return ""


def proc_stat(pid: int | str) -> list[bytes] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), or None if gone.

    The one reader of that file: the command name may hold spaces and
    parentheses, so the line is split after its last ')'.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None if it is gone."""
    fields = proc_stat(pid)
    try:
        return int(fields[19]) if fields else None
    except (IndexError, ValueError):
        return None


def owner_identity(pid: int | None = None) -> dict:
    """The identity of a process (by default this one) as a manifest records it."""
    pid = os.getpid() if pid is None else pid
    return {"host": hostname(), "boot_id": boot_id(), "pid": pid, "start": start_ticks(pid)}


def owner_alive(owner: object) -> bool | None:
    """True if the process is still there, False if it is gone, None if this host cannot tell."""
    if not isinstance(owner, dict):
        return None
    if owner.get("host") != hostname():
        return None  # another host on shared storage: only it knows
    recorded_boot = owner.get("boot_id")
    if recorded_boot and recorded_boot != boot_id():
        return False
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return None
    now = start_ticks(pid)
    if now is None:
        return False
    recorded = owner.get("start")
    return recorded is None or recorded == now


def carries_tag(pid: int, run_id: str) -> bool:
    """True if process `pid` carries run `run_id`'s tag (RUNWRAP_RUN_ID) in its environment.

    The tag is set by runwrap when it starts the job, and a process's
    initial environment cannot be rewritten by another process: unlike
    anything in ROOT, it cannot be forged for a process the job did not start.
    """
    tag = b"RUNWRAP_RUN_ID=" + run_id.encode("utf-8", "surrogateescape") + b"\0"
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = f.read()
    except OSError:
        return False  # gone, or not ours to read
    return environ.startswith(tag) or b"\0" + tag in environ


def _uid(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def _holds(pid: int, path: str) -> bool:
    """True if process `pid` has the file `path` open."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == path:
                return True
        except OSError:
            continue
    return False


def run_job_leaders(owner: object, run_id: str, log_path: str = "") -> tuple[int, list[int]] | None:
    """(runwrap's pid, its children) for a running run, checked on the processes.

    `owner` comes from files the job can write (its open marker, its
    manifest), so it is believed only when the processes agree: the pid is
    alive with the recorded start time, on this host and boot, and has a
    child of the same user that carries the run's tag, or holds the run's
    log `log_path` open, as runwrap does for the whole run (between two
    attempts too, and for a job that cleared its environment). A pid the job chose
    (any process it could name) fails the check, since a process the job
    did not start has no child carrying its tag, nor the run's log open.
    """
    if not isinstance(owner, dict) or owner_alive(owner) is not True:
        return None
    pid, start = owner.get("pid"), owner.get("start")
    if not isinstance(pid, int) or isinstance(pid, bool) or not isinstance(start, int):
        return None
    if pid in (0, 1, os.getpid()):
        return None
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    uid = _uid(pid)
    children = []
    for name in names:
        if not name.isdigit():
            continue
        fields = proc_stat(name)
        try:
            parent = int(fields[1]) if fields else None
        except (IndexError, ValueError):
            continue
        if parent == pid and _uid(int(name)) == uid:
            children.append(int(name))
    tagged = any(carries_tag(child, run_id) for child in children)
    if not tagged and not (log_path and _holds(pid, log_path)):
        return None
    if start_ticks(pid) != start:  # again: the pid may have been reused meanwhile
        return None
    # Checked: its children are the job it started (a job that cleared its
    # environment too), processes it adopted, and its watcher.
    return pid, children
