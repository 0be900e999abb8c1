"""Watching a running job: wall-clock timeout, periodic checks, forwarded signals.

One loop, woken by the self-pipe of SignalInbox (a signal or a child's exit)
or by the next deadline; it never busy-waits. Stopping is always the same:
SIGTERM to the whole tree (the job's group and every descendant, however it
detached: see contain.py), a grace period, then SIGKILL. The run ends when
the job's leader has exited and nothing of its tree is left: processes the
job left in the background get the same TERM, grace, KILL (as systemd does
with a oneshot service's leftovers), so that no limit, lock or log size is
escaped by a process that outlives its job.
"""

import os
import select
import time

from runwrap.run import contain, sig
from runwrap.store.owner import proc_stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from runwrap.run.sig import SignalInbox

# After SIGKILL, how long to wait for the tree to vanish (a process stuck in
# the kernel, or another user's, cannot be killed; the run must still end).
_AFTER_KILL = 2.0
_TREE_POLL = 0.05


class Ending:
    """How the job ended: its wait status, why runwrap stopped it, and its leftovers."""

    __slots__ = ("leftovers", "status", "stop_reason", "stopped_by_signal")

    def __init__(self, status: int, stop_reason: str | None, stopped_by_signal: int | None):
        self.status = status
        self.stop_reason = stop_reason  # set when runwrap stopped it for a limit
        self.stopped_by_signal = stopped_by_signal  # set when runwrap was signalled
        self.leftovers = 0  # processes still running after the leader exited, then stopped


class _Tree:
    """The job's process tree as runwrap sees it: its leader, and everything below runwrap."""

    def __init__(self, leader: int, helpers: set[int]) -> None:
        self.leader = leader
        self.helpers = helpers  # runwrap's own children that are not the job (the watcher)
        self.status: int | None = None
        self.me = os.getpid()

    def reap(self) -> None:
        """Collect exited children: the leader's status, and adopted orphans."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.leader:
                self.status = status
            self.helpers.discard(pid)

    def ended(self) -> bool:
        """True if the leader has exited (reaped now, or a zombie not reaped yet)."""
        self.reap()
        if self.status is not None:
            return True
        fields = proc_stat(self.leader)
        return fields is None or fields[0] == b"Z"

    def members(self) -> list[int]:
        """Every live process of the job (its group leader first while it lives)."""
        if self.status is not None and not self.helpers:
            # No helper: any descendant left would be our child (we are its
            # subreaper), so no child at all means no tree, without a /proc scan.
            try:
                os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return []
        return contain.descendants(self.me, frozenset(self.helpers))

    def signal(self, signum: int) -> None:
        """Send `signum` to the job's group and to every descendant that left it."""
        try:
            os.killpg(self.leader, signum)
        except (ProcessLookupError, PermissionError):
            pass
        contain.signal_all(contain.outside_group(self.members(), self.leader), signum)


def supervise(
    pid: int,
    inbox: "SignalInbox",
    timeout: float | None,
    kill_grace: float,
    tick: "Callable[[float], str | None] | None" = None,
    tick_interval: float = 1.0,
    helpers: set[int] | None = None,
) -> "Ending":
    """Wait for the job `pid` (leader of its own group) and its whole tree.

    `tick(now)` runs every `tick_interval` seconds while the job runs; a
    string it returns is a reason to stop the job (e.g. a heartbeat timeout).
    `helpers` holds runwrap's own child processes, never part of the job.
    """
    tree = _Tree(pid, helpers if helpers is not None else set())
    start = time.monotonic()
    deadline = start + timeout if timeout else None
    next_tick = start + tick_interval if tick else None
    stop_reason: str | None = None
    stop_signal: int | None = None
    stopping = False  # TERM sent to the tree (a limit, a signal, or leftovers)
    kill_at: float | None = None
    give_up: float | None = None
    leftovers = 0

    while True:
        tree.reap()
        now = time.monotonic()
        received = inbox.take()
        # A job that had already ended when the signal came ended on its own:
        # its own status is the run's, not "killed" with that status.
        ended = bool(received) and tree.ended()
        for signum in received:
            tree.signal(signum)
            if not stopping and not ended:
                stop_signal = signum
                stopping, kill_at = True, now + kill_grace
        if tree.status is None and next_tick is not None and now >= next_tick:
            reason = tick(now)
            next_tick = now + tick_interval
            if reason and not stopping:
                stop_reason = reason
                tree.signal(sig.SIGTERM)
                stopping, kill_at = True, now + kill_grace
        if tree.status is None and deadline is not None and now >= deadline and not stopping:
            from runwrap.units import format_duration  # only for a timeout: not on start-up

            stop_reason = f"timed out after {format_duration(timeout)}"
            tree.signal(sig.SIGTERM)
            stopping, kill_at = True, now + kill_grace
        if tree.status is not None:
            members = tree.members()
            if not members:
                break
            if not stopping:
                # The job is done; what it left behind ends with the run.
                leftovers = len(members)
                contain.signal_all(members, sig.SIGTERM)
                stopping, kill_at = True, now + kill_grace
        if kill_at is not None and now >= kill_at:
            tree.signal(sig.SIGKILL)
            kill_at = None
            give_up = now + _AFTER_KILL
        if give_up is not None and now >= give_up and tree.status is not None:
            break
        wait = _next_wait(now, tree.status is not None or stopping, next_tick, kill_at, deadline)
        select.select([inbox.read_fd], [], [], wait)
        inbox.drain()

    ending = Ending(tree.status if tree.status is not None else 0, stop_reason, stop_signal)
    ending.leftovers = leftovers
    return ending


def _next_wait(
    now: float,
    polling: bool,
    next_tick: float | None,
    kill_at: float | None,
    deadline: float | None,
) -> float | None:
    """How long the loop may sleep: until the next deadline, or a short poll while stopping.

    While the tree is being stopped, deaths of grandchildren wake nobody:
    poll for them.
    """
    wakes = [t for t in (next_tick, kill_at, deadline) if t is not None and t > now]
    if polling:
        wakes.append(now + _TREE_POLL)
    return max(0.0, min(wakes) - now) if wakes else None
