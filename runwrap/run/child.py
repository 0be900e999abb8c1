"""The job's process: started in its own session, signalled as a whole group.

posix_spawn rather than subprocess: no Python copy of the output (the job
writes straight into the log files) and a cheaper import and start.
"""

from __future__ import annotations

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


def signal_group(pgid: int, signum: int) -> bool:
    """Send `signum` to every process of the group; False if none is left."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # a member changed user: it exists, we cannot touch it
    return True


def group_alive(pgid: int) -> bool:
    """True while any live (non-zombie) process of the group exists.

    Zombies count as gone: an orphan that died waits for init to reap it,
    and some inits (in containers) take seconds to do so.
    """
    if not signal_group(pgid, 0):
        return False
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return True  # no /proc: trust kill(0)
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        # fields[0] is the state, fields[2] the process group
        if len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] != b"Z":
            return True
    return False


def decode_wait_status(status: int) -> tuple[int | None, str | None, int]:
    """(exit_code, signal name, shell-style code) from a waitpid status."""
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        return None, sig.name(signum), ExitCode.SIGNAL_BASE + signum
    code = os.WEXITSTATUS(status)
    return code, None, code
