"""Containment: every process a job starts ends with its run, however it detached.

runwrap makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so a
descendant whose parent exits (a double fork, a daemon, setsid, setpgid) is
reparented to runwrap instead of init: the job's whole tree stays below
runwrap, found through the parent links in /proc. Every process of the job
also inherits RUNWRAP_RUN_ID in its environment, the tag by which the next
run of the task finds the orphans of a runwrap that was itself killed
(Jenkins' ProcessTreeKiller uses the same trick).

Limits (docs/reliability.md): a process that both leaves the tree through
another program (systemd-run, at, a daemon's IPC) and clears its environment
escapes; so does one running as another user.
"""

import os
import time

from runwrap.run import sig
from runwrap.store.owner import carries_tag, proc_stat

_PR_SET_CHILD_SUBREAPER = 36
_POLL = 0.02


def become_subreaper() -> bool:
    """Adopt the orphans of our descendants; False where the OS cannot."""
    try:
        import _ctypes  # ctypes itself costs 4 ms of imports on every tick

        prctl = _ctypes.dlsym(_ctypes.dlopen(None, 2), "prctl")
        return _ctypes.call_function(prctl, (_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except Exception:  # no _ctypes, no prctl (not Linux): fall back to groups and tags
        return False


def _stat(pid: str) -> tuple[int, str] | None:
    """(parent pid, state letter) of a process, or None if it is gone."""
    fields = proc_stat(pid)
    try:
        return (int(fields[1]), fields[0].decode()) if fields else None
    except (IndexError, ValueError):
        return None


def _processes() -> dict[int, tuple[int, str]]:
    """Every process: pid -> (parent pid, state)."""
    found = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if name.isdigit():
            info = _stat(name)
            if info is not None:
                found[int(name)] = info
    return found


def descendants(root: int, exclude: frozenset[int] = frozenset()) -> list[int]:
    """Live (non-zombie) processes below `root`, parents before children.

    `exclude` prunes whole subtrees (runwrap's own helper processes).
    """
    table = _processes()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _state) in table.items():
        children.setdefault(ppid, []).append(pid)
    found = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child in exclude:
                continue
            stack.append(child)
            if table[child][1] != "Z":
                found.append(child)
    return found


def tagged(run_id: str) -> list[int]:
    """Live processes whose environment carries this run's tag (RUNWRAP_RUN_ID)."""
    me = os.getpid()
    found = []
    for pid, (_ppid, state) in _processes().items():
        # Unreadable (gone, or another user's): not ours to stop.
        if pid != me and state != "Z" and carries_tag(pid, run_id):
            found.append(pid)
    return found


def signal_all(pids: list[int], signum: int) -> None:
    """Send `signum` to each process; the ones already gone are skipped."""
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            continue


def outside_group(pids: list[int], pgid: int) -> list[int]:
    """The processes that are not in process group `pgid` (killpg does not reach them)."""
    found = []
    for pid in pids:
        try:
            if os.getpgid(pid) != pgid:
                found.append(pid)
        except ProcessLookupError:
            continue
    return found


def stop_tagged(run_id: str, grace: float) -> int:
    """TERM, then after `grace` KILL, every process tagged with the run; how many there were.

    For the orphans of a runwrap that died: they are not our children, so
    we poll until they are gone (a zombie left for init counts as gone).
    """
    pids = tagged(run_id)
    if not pids:
        return 0
    signal_all(pids, sig.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and tagged(run_id):
        time.sleep(_POLL)
    for _ in range(100):
        left = tagged(run_id)
        if not left:
            break
        signal_all(left, sig.SIGKILL)
        time.sleep(_POLL)
    return len(pids)
