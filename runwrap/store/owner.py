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
