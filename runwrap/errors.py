"""runwrap's own errors and exit codes.

The codes are plain ints rather than an IntEnum: importing enum costs
several milliseconds, and runwrap starts on every cron tick.
"""


class ExitCode:
    """Exit statuses of runwrap itself (a job's own status is passed through)."""

    OK = 0
    ATTENTION = 1  # runwrap check: a task is late; crontab --check: the crontab differs
    UNREADABLE = 2  # runwrap check: a task (or ROOT/tasks) this user cannot read
    USAGE = 125  # like timeout(1) and env(1): runwrap itself failed
    CANNOT_EXECUTE = 126
    NOT_FOUND = 127
    TIMEOUT = 124
    SIGNAL_BASE = 128


class RunwrapError(Exception):
    """A problem a person can fix, reported as one line; exit 125."""

    exit_code = ExitCode.USAGE


class NotFoundError(RunwrapError):
    """An unknown task or run."""

    exit_code = 1


class UnreadableError(RunwrapError):
    """A task this user cannot read (lookup.task_problem): exit 2, as runwrap check's."""

    exit_code = ExitCode.UNREADABLE


class StateError(RunwrapError):
    """An operation that does not apply to this run (say, kill a finished one)."""

    exit_code = 1
