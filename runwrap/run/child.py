"""The job's process: started in its own session, signalled as a whole group.

posix_spawn rather than subprocess: no Python copy of the output (the job
writes straight into the log files) and a cheaper import and start.
"""

import errno
import os

from runwrap.errors import ExitCode
from runwrap.run import sig


class SpawnError(Exception):
    """The command could not be started; `exit_code` is 127 (not found) or 126."""

    def __init__(self, exit_code: int, reason: str) -> None:
        super().__init__(reason)
        self.exit_code = exit_code
        self.reason = reason


def spawn(argv: list[str], env: dict[str, str], stdout_fd: int, stderr_fd: int) -> int:
    """Start `argv` as the leader of a new session and process group; return its pid.

    The child runs in the current working directory. Signals Python ignores
    (SIGPIPE, SIGXFSZ) are reset so the job sees the defaults a shell gives.
    """
    program = argv[0]
    actions = [
        (os.POSIX_SPAWN_DUP2, stdout_fd, 1),
        (os.POSIX_SPAWN_DUP2, stderr_fd, 2),
    ]
    kwargs = {"file_actions": actions, "setsid": True, "setsigdef": (sig.SIGPIPE, sig.SIGXFSZ)}
    try:
        if "/" in program:
            return os.posix_spawn(program, argv, env, **kwargs)
        return os.posix_spawnp(program, argv, env, **kwargs)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            raise SpawnError(ExitCode.NOT_FOUND, f"command not found: {program}") from None
        raise SpawnError(
            ExitCode.CANNOT_EXECUTE, f"cannot execute {program}: {e.strerror}"
        ) from None


def decode_wait_status(status: int) -> tuple[int | None, str | None, int]:
    """(exit_code, signal name, shell-style code) from a waitpid status."""
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        return None, sig.name(signum), ExitCode.SIGNAL_BASE + signum
    code = os.WEXITSTATUS(status)
    return code, None, code
