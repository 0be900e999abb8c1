"""A run's outcome as data: status, what the OS reported, runwrap's exit status, and why."""

from runwrap.errors import ExitCode
from runwrap.run import sig
from runwrap.run.child import decode_wait_status
from runwrap.store.manifest import FAILED, KILLED, SUCCESS, TIMEOUT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.run.child import SpawnError
    from runwrap.run.supervise import Ending


class Outcome:
    """How one attempt ended (and, for the last attempt, the run)."""

    __slots__ = ("exit_code", "exit_status", "reason", "signal", "status", "stopped_when")

    def __init__(
        self,
        status: str,
        exit_status: int,
        exit_code: int | None = None,
        signal: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.status = status
        self.exit_status = exit_status  # what runwrap itself exits with
        self.exit_code = exit_code  # as the OS reported them
        self.signal = signal
        self.reason = reason
        self.stopped_when: str | None = None  # set by signalled(): no job was running

    @property
    def retryable(self) -> bool:
        """A failure or a timeout of a job that could be started at all."""
        return self.status in (FAILED, TIMEOUT) and self.exit_status not in (
            ExitCode.CANNOT_EXECUTE,
            ExitCode.NOT_FOUND,
        )

    def as_attempt(self, number: int, started_at: str | None, ended_at: str | None) -> dict:
        """The entry of the manifest's `attempts` list."""
        return {
            "attempt": number,
            "started_at": started_at,
            "ended_at": ended_at,
            "status": self.status,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "reason": self.reason,
        }


def from_ending(ending: "Ending") -> "Outcome":
    """The outcome of a job that ran, from how supervise() saw it end."""
    exit_code, signal_name, shell_code = decode_wait_status(ending.status)
    if ending.stop_reason is not None:
        return Outcome(TIMEOUT, ExitCode.TIMEOUT, exit_code, signal_name, ending.stop_reason)
    if ending.stopped_by_signal is not None:
        received = ending.stopped_by_signal
        reason = f"stopped: runwrap received {sig.name(received)} and passed it on to the job"
        return Outcome(KILLED, ExitCode.SIGNAL_BASE + received, exit_code, signal_name, reason)
    if signal_name is not None:
        return Outcome(KILLED, shell_code, None, signal_name, f"killed by {signal_name}")
    if exit_code != 0:
        return Outcome(FAILED, shell_code, exit_code, None, f"exited with status {exit_code}")
    return Outcome(SUCCESS, 0, 0)


def from_spawn_error(error: "SpawnError") -> "Outcome":
    """The outcome of a command that could not be started (127 not found, 126 not executable)."""
    return Outcome(FAILED, error.exit_code, error.exit_code, None, error.reason)


def signalled(received: int, when: str) -> "Outcome":
    """The outcome of a run stopped by a signal to runwrap `when` no job was running."""
    reason = f"stopped: runwrap received {sig.name(received)} {when}"
    outcome = Outcome(KILLED, ExitCode.SIGNAL_BASE + received, reason=reason)
    outcome.stopped_when = when
    return outcome
