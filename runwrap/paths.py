"""The on-disk layout shared by runwrap and sitegen (DESIGN section 3)."""

from __future__ import annotations

import os
import time

from runwrap.errors import RunwrapError
from runwrap.timefmt import timegm

MANIFEST = "manifest.json"
STATE = "state.json"
STDOUT = "stdout.log"
STDERR = "stderr.log"
FEEDBACK = "feedback.log"
# Files runwrap itself writes into a run directory: not the job's artifacts.
RUNWRAP_FILES = frozenset({MANIFEST, STDOUT, STDERR, FEEDBACK})


def default_root() -> str:
    """Where runs go when neither --root, $RUNWRAP_ROOT nor the config says."""
    if os.geteuid() == 0:
        return "/var/lib/runwrap"
    state_home = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(state_home, "runwrap")


def tasks_dir(root: str) -> str:
    return os.path.join(root, "tasks")


def task_dir(root: str, task: str) -> str:
    return os.path.join(root, "tasks", task)


def runs_dir(root: str, task: str) -> str:
    return os.path.join(root, "tasks", task, "runs")


def run_dir(root: str, task: str, run_id: str) -> str:
    return os.path.join(root, "tasks", task, "runs", run_id)


def is_run_id(name: str) -> bool:
    """Run ids look like 20261122T043733.123Z-3f9a; anything else in runs/ is not a run."""
    return len(name) >= 16 and name[8:9] == "T" and name[:8].isdigit() and name[9:15].isdigit()


def run_id_time(run_id: str) -> float | None:
    """The start second encoded in a run id (UTC), or None."""
    try:
        return timegm(time.strptime(run_id[:15], "%Y%m%dT%H%M%S"))
    except ValueError:
        return None


def list_run_ids(root: str, task: str) -> list[str]:
    """Run ids of a task, oldest first (run ids sort by start time)."""
    try:
        names = os.listdir(runs_dir(root, task))
    except FileNotFoundError:
        return []
    return sorted(n for n in names if is_run_id(n))


def list_tasks(root: str) -> list[str]:
    """Task names present under ROOT, sorted."""
    try:
        names = os.listdir(tasks_dir(root))
    except FileNotFoundError:
        return []
    return sorted(n for n in names if not n.startswith("."))


def ensure_task_dirs(root: str, task: str) -> str:
    """Create ROOT/tasks/<task>/runs as needed; return the task directory."""
    path = runs_dir(root, task)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise RunwrapError(
            f"cannot create the run root {root}: {e.strerror}; "
            "choose another with --root or $RUNWRAP_ROOT"
        ) from None
    return task_dir(root, task)


def create_run_dir(root: str, task: str, started: float) -> tuple[str, str]:
    """Make a fresh, empty run directory; return (run_id, path)."""
    # Milliseconds, so that runs started within one second still sort by start time.
    millis = int((started - int(started)) * 1000)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(started)) + f".{millis:03d}Z"
    parent = runs_dir(root, task)
    for _ in range(64):
        run_id = f"{stamp}-{os.urandom(2).hex()}"
        path = os.path.join(parent, run_id)
        try:
            os.mkdir(path)
        except FileExistsError:
            continue
        except OSError as e:
            raise RunwrapError(f"cannot create a run directory in {parent}: {e.strerror}") from None
        return run_id, path
    raise RunwrapError(f"cannot create a unique run directory in {parent}")
