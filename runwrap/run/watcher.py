"""The watcher: a forked copy of runwrap that acts only if runwrap dies before its run ends.

Nothing can catch SIGKILL (or the OOM killer). So once a job has run for a
second, runwrap forks a watcher that blocks on a pipe. When runwrap ends
normally it writes one byte and the watcher exits; if the pipe closes
without that byte, runwrap is gone: the watcher stops the job's whole tree
(TERM, grace, KILL, found by the run's tag) and records the run as lost.
It holds the task's lock too (an inherited descriptor, or a claim file it
releases once the run is finalized), so the next run of the task cannot
start until the orphans are gone (under `skip` and `wait`, never two at once).
"""

from __future__ import annotations

import os

from runwrap.run import sig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.run.lock import TaskLock
    from runwrap.settings import RunOptions

_REASON = "runwrap was killed while the job ran; the job's processes were stopped"


class Watcher:
    """The watcher process of one run (not started until start())."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self._fd = -1

    def start(
        self, opts: RunOptions, task_path: str, run_id: str, guard: TaskLock | None = None
    ) -> int | None:
        """Fork the watcher; its pid, or None if it could not be forked. `guard`, the
        task's lock, is released by the watcher once it finalized the run (a claim
        file is a name, not a descriptor that dies with its holders)."""
        try:
            read_fd, write_fd = os.pipe()
        except OSError:
            return None
        try:
            pid = os.fork()
        except OSError:
            os.close(read_fd)
            os.close(write_fd)
            return None
        if pid == 0:  # pragma: no cover - runs in the forked child
            _watch(read_fd, write_fd, opts, task_path, run_id, guard)
        os.close(read_fd)
        self.pid, self._fd = pid, write_fd
        return pid

    def stop(self) -> None:
        """The run is recorded: let the watcher go."""
        if self.pid is None:
            return
        try:
            os.write(self._fd, b"x")
        except OSError:
            pass  # it is gone already
        os.close(self._fd)
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass  # reaped by the supervise loop
        self.pid = None


def _watch(
    read_fd: int,
    write_fd: int,
    opts: RunOptions,
    task_path: str,
    run_id: str,
    guard: TaskLock | None,
) -> None:
    """The watcher's whole life; never returns."""
    code = 0
    try:
        os.close(write_fd)
        # Signals are runwrap's to handle: a Ctrl-C or a TERM to the group must not
        # take the watcher with it while runwrap lives.
        sig.signal.set_wakeup_fd(-1)
        for signum in sig.FORWARDED:
            sig.signal.signal(signum, sig.signal.SIG_IGN)
        sig.signal.signal(sig.SIGCHLD, sig.signal.SIG_DFL)
        while True:
            try:
                said = os.read(read_fd, 1)
                break
            except InterruptedError:
                continue
        if not said:
            from runwrap.run.recover import finalize_orphan

            finalize_orphan(task_path, run_id, opts, opts.kill_grace, _REASON)
            if guard is not None:
                guard.release()
    except BaseException:
        code = 1
    finally:
        os._exit(code)
