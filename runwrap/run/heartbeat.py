"""What runwrap does while a job runs, every tick of the supervise loop.

- keeps each log within --max-output;
- follows the feedback file: every write is a heartbeat, its values are parsed;
- stops a job silent for longer than --heartbeat-timeout;

Ages are on the monotonic clock: a beat is "the feedback file changed since
the last tick" (its mtime, size, ctime or inode), timed when runwrap sees it,
never the file's mtime compared with the wall clock's now. A wall clock
stepped forward by more than the limit would kill a job that beats; one
stepped back would stop hang detection for as long as the step.
heartbeat_at stays a wall time, for display only.

- keeps the task's lock file at its path (run/lock.py);
- renews the run's lease (its open marker's mtime, one utime every third of
  the lease: store/openruns.py); a marker gone means another host took the run
  over as lost, and the job is stopped: its record is the taker's now;
- keeps the manifest current (heartbeat_at, feedback, liveness), rewriting
  it only when something changed and at most about once a second.
"""

import os
import time

from runwrap.redact import for_config
from runwrap.store.layout import FEEDBACK
from runwrap.store.manifest import write_manifest
from runwrap.store.openruns import marker_path, renew
from runwrap.store.owner import lease_of
from runwrap.timefmt import iso

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.run.lock import TaskLock
    from runwrap.run.outputcap import CappedLog
    from runwrap.settings import RunOptions
    from runwrap.store.feedbacklog import FeedbackReader

# A running job's liveness (DESIGN section 4), recorded in its manifest. The rule lives
# here, with its only writer: a module of its own cost every run an import.
RUNNING = "running"
SILENT = "silent"
STALLED = "stalled"


def liveness(age: float, heartbeat_timeout: float | None) -> str:
    """running under 25% of the timeout, silent under 50%, stalled beyond (killed at 100%)."""
    if not heartbeat_timeout:
        return RUNNING
    share = age / heartbeat_timeout
    if share < 0.25:
        return RUNNING
    if share < 0.5:
        return SILENT
    return STALLED


class Heartbeat:
    """Periodic checks of one running job."""

    def __init__(
        self,
        opts: "RunOptions",
        run_path: str,
        manifest: dict,
        logs: "tuple[CappedLog, ...]",
        guard: "TaskLock | None" = None,
    ) -> None:
        self.run_path = run_path
        self.guard = guard
        self.manifest = manifest
        self.logs = logs
        self.heartbeat_timeout = opts.heartbeat_timeout
        self.heartbeat_on_output = opts.heartbeat_on_output
        self._feedback_path = os.path.join(run_path, FEEDBACK)
        self.feedback: FeedbackReader | None = None  # made when the job first writes one
        self._fed: dict = {}  # the feedback values as read, before redaction
        self.redactor = for_config(opts.config_data)
        # Sub-second heartbeat limits need finer ticks; otherwise once a second is plenty.
        timeout = self.heartbeat_timeout
        self.interval = min(1.0, max(0.05, timeout / 10)) if timeout else 1.0
        self._write_every = min(1.0, max(0.05, timeout / 8)) if timeout else 1.0
        # The lease: renewed every third of it, so a reader sees it lapse only after two
        # renewals missed (and a grace).
        run_id = os.path.basename(run_path)
        self._lease_path = marker_path(os.path.dirname(os.path.dirname(run_path)), run_id)
        self._renew_every = lease_of(manifest.get("owner")) / 3
        self._renewed = time.monotonic()
        self.lease_lost = False
        self.interval = min(self.interval, self._renew_every)
        self._heartbeat = time.monotonic()  # when the last beat was seen
        self._log_sizes = [0] * len(logs)
        self._last_write = 0.0
        self._dirty = False

    def started(self, pid: int) -> None:
        """The job (or a retry of it) is running as `pid`: counted from now, and on record."""
        self._heartbeat = time.monotonic()
        self.manifest.update(pid=pid, pgid=pid, liveness=liveness(0.0, self.heartbeat_timeout))
        self._write(time.monotonic())

    def tick(self, now: float) -> str | None:
        """One periodic check; a returned string is a reason to stop the job."""
        if not self.keep_lease(now):
            return "another runwrap took the run over as lost (its lease had lapsed)"
        for i, log in enumerate(self.logs):
            log.check()
            if self.heartbeat_on_output:
                size = log.size()
                if size != self._log_sizes[i]:
                    self._log_sizes[i] = size
                    self._beat(now)
        self._read_feedback(now)
        age = max(0.0, now - self._heartbeat)
        state = liveness(age, self.heartbeat_timeout)
        if state != self.manifest.get("liveness"):
            self.manifest["liveness"] = state
            self._dirty = True
        if self._dirty and now - self._last_write >= self._write_every:
            self._write(now)
        if self.heartbeat_timeout and age >= self.heartbeat_timeout:
            from runwrap.units import format_duration  # a stall is rare: not on start-up

            return f"killed after {format_duration(age)} without heartbeat"
        return None

    def keep_lease(self, now: float) -> bool:
        """Keep the task's lock (a claim's lease too) and renew the run's lease when a
        third of it has passed; False once the run was taken over."""
        if self.guard is not None:
            self.guard.keep()
        if not self.lease_lost and now - self._renewed >= self._renew_every:
            self._renewed = now
            self.lease_lost = not renew(self._lease_path)
        return not self.lease_lost

    def _read_feedback(self, now: float) -> None:
        if self.feedback is None:
            # Most jobs never write a feedback file: its reader's module is imported only
            # once one appears, off runwrap's start-up path.
            if not os.path.lexists(self._feedback_path):
                return
            from runwrap.store.feedbacklog import FeedbackReader

            self.feedback = FeedbackReader(self._feedback_path)
        if self.feedback.poll():
            self._beat(now)
        if self.feedback.values != self._fed:
            self._fed = dict(self.feedback.values)
            # Recorded masked: the config's redact: rules and the built-in ones.
            self.manifest["feedback"] = self.redactor.values(self._fed)
            self._dirty = True

    def _beat(self, now: float) -> None:
        self._heartbeat = now
        self.manifest["heartbeat_at"] = iso(time.time())
        self._dirty = True

    def _write(self, now: float) -> None:
        try:
            write_manifest(self.run_path, self.manifest, durable=False)
        except OSError:
            return  # a full disk must not stop the run: the final write will try again
        self._last_write = now
        self._dirty = False

    def final_manifest(self) -> dict:
        """The manifest as last known (feedback read once more), to complete with the outcome."""
        self._read_feedback(time.monotonic())
        return dict(self.manifest)
