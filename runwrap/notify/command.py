"""The command notifier: any program, told the event in RUNWRAP_* variables and JSON on stdin.

For notify-send, logger, a pager's CLI, a script. The program runs in its
own session so that a timeout can stop it and everything it started.
"""

from __future__ import annotations

import os

from runwrap.store.jsonio import dumps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.notify.notifiers import Notifier
    from runwrap.notify.sending import Notice


def environment(notice: Notice) -> dict[str, str]:
    """The RUNWRAP_* variables a notifier command receives (on top of runwrap's own environment)."""
    p = notice.payload
    values = {
        "RUNWRAP_EVENT": p["event"],
        "RUNWRAP_TASK": p["task"],
        "RUNWRAP_STATUS": p["status"],
        "RUNWRAP_REASON": p["reason"],
        "RUNWRAP_HOST": p["host"],
        "RUNWRAP_RUN_ID": p["run_id"],
        "RUNWRAP_STARTED_AT": p["started_at"],
        "RUNWRAP_DURATION_S": p["duration_s"],
        "RUNWRAP_EXIT_CODE": p["exit_code"],
        "RUNWRAP_FAILURES": p["failures"],
        "RUNWRAP_FAILING_SINCE": p["failing_since"],
        "RUNWRAP_URL": p["url"],
        "RUNWRAP_SUBJECT": p["subject"],
    }
    return {k: "" if v is None else str(v) for k, v in values.items()}


def send(notifier: Notifier, notice: Notice, timeout: float) -> None:
    """Run the command; raise unless it exits 0 within the timeout."""
    import signal
    import subprocess

    env = dict(os.environ)
    env.update(environment(notice))
    proc = subprocess.Popen(
        notifier.fields["argv"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    try:
        _out, err = proc.communicate((dumps(notice.payload) + "\n").encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise RuntimeError(f"timed out after {timeout:g}s") from None
    if proc.returncode != 0:
        lines = err.decode("utf-8", "replace").strip().splitlines()
        last = f": {lines[-1][:200]}" if lines else ""
        raise RuntimeError(f"exited with status {proc.returncode}{last}")
