"""Watching a running job: wall-clock timeout, periodic checks, forwarded signals.

One loop, woken by the self-pipe of SignalInbox (a signal or the child's
exit) or by the next deadline; it never busy-waits. Stopping is always the
same: SIGTERM to the whole group, a grace period, then SIGKILL.
"""

from __future__ import annotations

import os
import select
import time

from runwrap import sig
from runwrap.child import group_alive, signal_group
from runwrap.units import format_duration

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from runwrap.sig import SignalInbox

# After SIGKILL, how long to wait for the group to vanish (zombies of a
# non-reaping init can linger; the run must still end).
_AFTER_KILL = 2.0
_GROUP_POLL = 0.02


class Ending:
    """How the job ended: its wait status and why runwrap stopped it, if it did."""

    __slots__ = ("status", "stop_reason", "stopped_by_signal")

    def __init__(self, status: int, stop_reason: str | None, stopped_by_signal: int | None):
        self.status = status
        self.stop_reason = stop_reason  # set when runwrap stopped it for a limit
        self.stopped_by_signal = stopped_by_signal  # set when runwrap was signalled


def supervise(
    pid: int,
    inbox: SignalInbox,
    timeout: float | None,
    kill_grace: float,
    tick: Callable[[float], str | None] | None = None,
    tick_interval: float = 1.0,
) -> Ending:
    """Wait for the job `pid` (leader of its own group); stop it on a limit or a signal.

    `tick(now)` runs every `tick_interval` seconds while the job runs; a
    string it returns is a reason to stop the job (e.g. a heartbeat timeout).
    """
    pgid = pid
    start = time.monotonic()
    deadline = start + timeout if timeout else None
    next_tick = start + tick_interval if tick else None
    stop_reason: str | None = None
    stop_signal: int | None = None
    kill_at: float | None = None

    def stop(now: float) -> float:
        signal_group(pgid, sig.SIGTERM)
        return now + kill_grace

    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        now = time.monotonic()
        for signum in inbox.take():
            signal_group(pgid, signum)
            if stop_reason is None and stop_signal is None:
                stop_signal = signum
                kill_at = now + kill_grace
        if next_tick is not None and now >= next_tick:
            reason = tick(now)
            next_tick = now + tick_interval
            if reason and stop_reason is None and stop_signal is None:
                stop_reason = reason
                kill_at = stop(now)
        if deadline is not None and now >= deadline and stop_reason is None and stop_signal is None:
            stop_reason = f"timed out after {format_duration(timeout)}"
            kill_at = stop(now)
        if kill_at is not None and now >= kill_at:
            signal_group(pgid, sig.SIGKILL)
            kill_at = None
        wakes = [t for t in (next_tick, kill_at) if t is not None]
        if deadline is not None and stop_reason is None and stop_signal is None:
            wakes.append(deadline)
        wait = max(0.0, min(wakes) - now) if wakes else None
        select.select([inbox.read_fd], [], [], wait)
        inbox.drain()

    if stop_reason is not None or stop_signal is not None:
        _finish_group(pgid, kill_at)
    return Ending(status, stop_reason, stop_signal)


def _finish_group(pgid: int, kill_at: float | None) -> None:
    """The leader is gone; give the rest of its group the same TERM-grace-KILL end."""
    give_up = None
    while group_alive(pgid):
        now = time.monotonic()
        if kill_at is not None and now >= kill_at:
            signal_group(pgid, sig.SIGKILL)
            kill_at = None
        if kill_at is None:
            give_up = give_up or now + _AFTER_KILL
            if now >= give_up:
                return
        time.sleep(_GROUP_POLL)
