"""The job's attempts: spawn, supervise, and again after a failure while --retries allows."""

import os
import select
import time

from runwrap.run import sig
from runwrap.run.child import SpawnError, spawn
from runwrap.run.outcome import Outcome, from_ending, from_spawn_error, signalled
from runwrap.run.supervise import supervise
from runwrap.timefmt import iso

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from runwrap.run.heartbeat import Heartbeat
    from runwrap.run.outputcap import CappedLog
    from runwrap.settings import RunOptions

# A job running this long gets the watcher (run/watcher.py): shorter ones never pay its fork,
# and a runwrap killed within it leaves its orphans to the next run of the task (recover.py).
WATCH_AFTER = 1.0


def _interruptible_sleep(
    inbox: sig.SignalInbox, seconds: float, heartbeat: "Heartbeat | None" = None
) -> int | None:
    """Sleep, unless a signal arrives first; return that signal. The run's lease is
    renewed meanwhile (`heartbeat`): a long retry delay is not a dead owner."""
    deadline = time.monotonic() + seconds
    while True:
        got = inbox.take()
        if got:
            return got[0]
        now = time.monotonic()
        left = deadline - now
        if left <= 0:
            return None
        if heartbeat is not None:
            heartbeat.keep_lease(now)
            left = min(left, heartbeat.interval)
        select.select([inbox.read_fd], [], [], left)
        inbox.drain()


def run_attempts(
    opts: "RunOptions",
    inbox: sig.SignalInbox,
    argv: list[str],
    environ: dict[str, str],
    logs: "tuple[CappedLog, CappedLog]",
    heartbeat: "Heartbeat",
    start_watcher: "Callable[[], int | None]",
) -> tuple[Outcome, list[dict], int]:
    """Run the job, and again after a failure while --retries allows.

    `start_watcher()` forks the watcher (once the job has run WATCH_AFTER
    seconds) and returns its pid. Returns the last outcome, every attempt,
    and how many leftover processes were stopped.
    """
    stdout, stderr = logs
    attempts: list[dict] = []
    delay = opts.retry_delay
    leftovers = 0
    helpers: set[int] = set()
    since = time.monotonic()

    watched = False

    def tick(now: float) -> str | None:
        nonlocal watched
        if not watched and now - since >= WATCH_AFTER:
            watched = True
            pid = start_watcher()
            if pid is not None:
                helpers.add(pid)
        return heartbeat.tick(now)

    while True:
        attempt_start = time.time()
        environ["RUNWRAP_ATTEMPT"] = str(len(attempts) + 1)
        try:
            pid = spawn(argv, environ, stdout.fd, stderr.fd)
        except SpawnError as e:
            outcome = from_spawn_error(e)
            os.write(stderr.fd, f"runwrap: {e.reason}\n".encode("utf-8", "replace"))
        else:
            heartbeat.started(pid)
            ending = supervise(
                pid,
                inbox,
                opts.timeout,
                opts.kill_grace,
                tick=tick,
                tick_interval=heartbeat.interval,
                helpers=helpers,
            )
            outcome = from_ending(ending)
            leftovers += ending.leftovers
        attempts.append(outcome.as_attempt(len(attempts) + 1, iso(attempt_start), iso(time.time())))
        if not outcome.retryable or len(attempts) > opts.retries:
            return outcome, attempts, leftovers
        from runwrap.units import format_duration  # only for a retry: not on start-up

        wait = format_duration(delay)
        note = f"\n[runwrap: attempt {len(attempts)} {outcome.status}; retrying in {wait}]\n"
        os.write(stderr.fd, note.encode())
        received = _interruptible_sleep(inbox, delay, heartbeat)
        if received is not None:
            return signalled(received, "between retries"), attempts, leftovers
        delay *= 2
