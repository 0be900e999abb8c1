"""The on-disk layout shared by runwrap and sitegen (DESIGN section 3)."""

import os
import stat
import time

from runwrap.errors import RunwrapError
from runwrap.timefmt import timegm

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

TASKS = "tasks"  # ROOT/tasks/<task>
CHECKED = "checked"  # ROOT/checked: its mtime is when `runwrap check` last ran
HOSTS = "hosts"  # ROOT/hosts/<host>/: a host's ROOT gathered here by rsync (docs/engines.md)
PUSHED = "pushed"  # a host's ROOT/pushed: touched before each push, it says the interval
GATHERED = "@"  # <task>@<host>: the task of a gathered host, ROOT/hosts/<host>/tasks/<task>
RUNS = "runs"  # ROOT/tasks/<task>/runs/<run_id>
MANIFEST = "manifest.json"
STATE = "state.json"
STDOUT = "stdout.log"
STDERR = "stderr.log"
FEEDBACK = "feedback.log"
NOTIFICATIONS = "notifications.json"  # beside a final manifest: what the notifiers were told
LOCK = "lock"
STATE_LOCK = "state.lock"
SEQ = "seq"
NOTIFY = "notify.json"  # the notifiers' memory (nospam, pending notices)
ACK = "ack.json"  # runwrap ack: the failure an operator acknowledged (store/notes.py)
KILLS = "kills"  # tasks/<task>/kills/<run_id>.json: who kills a run and why (store/notes.py)
RETIRED = "retired.json"  # runwrap retire: the task is gone from the lists (store/retired.py)
SILENCES = "silences"  # ROOT/silences/<key>.json: runwrap mute (store/silences.py)
OPEN = "open"  # tasks/<task>/open/<run_id>: a run whose record is not final yet
NEW_PREFIX = ".new-"  # a run directory being born, before its manifest exists
REMOVING_PREFIX = ".removing-"  # a run being deleted by retention
# Files runwrap itself writes into a run directory: not the job's artifacts.
RUNWRAP_FILES = frozenset({MANIFEST, STDOUT, STDERR, FEEDBACK, NOTIFICATIONS})


def default_root() -> str:
    """Where runs go when neither --root, $RUNWRAP_ROOT nor the config says."""
    if os.geteuid() == 0:
        return "/var/lib/runwrap"
    state_home = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(state_home, "runwrap")


def tasks_dir(root: str) -> str:
    return os.path.join(root, TASKS)


def task_dir(root: str, task: str) -> str:
    """ROOT/tasks/<task>; for <task>@<host>, the gathered copy ROOT/hosts/<host>/tasks/<task>."""
    if GATHERED in task:
        name, _, host = task.rpartition(GATHERED)
        return os.path.join(root, HOSTS, host, TASKS, name)
    return os.path.join(root, TASKS, task)


def runs_dir(root: str, task: str) -> str:
    return os.path.join(task_dir(root, task), RUNS)


def run_dir(root: str, task: str, run_id: str) -> str:
    return os.path.join(task_dir(root, task), RUNS, run_id)


def split_gathered(task: str) -> tuple[str, str] | None:
    """(task, host) of a gathered task's name <task>@<host>; None for a task of ROOT's own."""
    if GATHERED not in task:
        return None
    name, _, host = task.rpartition(GATHERED)
    return name, host


def host_root(root: str, host: str) -> str:
    """Where host `host`'s ROOT is gathered: ROOT/hosts/<host>."""
    return os.path.join(root, HOSTS, host)


def is_gathered_copy(task_path: str) -> bool:
    """Whether a task directory is a gathered copy (…/hosts/<host>/tasks/<task>): rsync
    overwrites it, so readers write nothing there and judge its leases by its push."""
    tasks = os.path.dirname(task_path)
    return (
        os.path.basename(tasks) == TASKS
        and os.path.basename(os.path.dirname(os.path.dirname(tasks))) == HOSTS
    )


def is_run_id(name: str) -> bool:
    """Run ids look like 20261122T043733.123Z-3f9a; anything else in runs/ is not a run."""
    return len(name) >= 16 and name[8:9] == "T" and name[:8].isdigit() and name[9:15].isdigit()


def is_plain_run_id(name: str) -> bool:
    """A run id every reader takes (runwrap makes no other): printable ASCII, no
    separator, so people can type it and terminals and URLs show it as is. One named
    like a run id but not plain is skipped with a warning."""
    return is_run_id(name) and name.isascii() and name.isprintable() and "/" not in name


def run_id_time(run_id: str) -> float | None:
    """The start second encoded in a run id (UTC), or None."""
    try:
        return timegm(time.strptime(run_id[:15], "%Y%m%dT%H%M%S"))
    except ValueError:
        return None


def task_runs_dir(task_path: str) -> str:
    return os.path.join(task_path, RUNS)


def list_dir(path: str, dir_fd: int | None = None) -> list[str]:
    """The names in a real directory (`path` relative to `dir_fd` when given); [] for a
    missing one, a symlink or anything else.

    Everything under ROOT may have been made by a job: a symlinked tasks/,
    tasks/<task> or runs/ is never read through.
    """
    try:
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(path, flags, dir_fd=dir_fd)
    except OSError:
        return []
    try:
        return os.listdir(fd)
    except OSError:
        return []
    finally:
        os.close(fd)


def run_ids_in(runs_path: str) -> list[str]:
    """The run ids in a runs/ directory, oldest first (run ids sort by start time).

    Only real directories: a symlink named like a run is never read through.
    """
    try:
        fd = os.open(runs_path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        with os.scandir(fd) as entries:
            # d_type from the directory listing: no stat per run.
            names = [e.name for e in entries if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    finally:
        os.close(fd)
    return sorted(n for n in names if is_run_id(n))


def list_run_ids(root: str, task: str) -> list[str]:
    """Run ids of a task, oldest first (run ids sort by start time)."""
    return run_ids_in(runs_dir(root, task))


def list_tasks(root: str) -> list[str]:
    """Task names present under ROOT, sorted: real directories only, never links."""
    base = tasks_dir(root)
    found = []
    for name in list_dir(base):
        if name.startswith("."):
            continue
        try:
            if stat.S_ISDIR(os.lstat(os.path.join(base, name)).st_mode):
                found.append(name)
        except OSError:
            continue
    return sorted(found)


class UnwritableRoot(RunwrapError):
    """ROOT cannot take a new task (full, read-only, out of inodes, not ours to write)."""

    def __init__(self, message: str, error: OSError) -> None:
        super().__init__(message)
        self.error = error


def mark_checked(root: str) -> None:
    """Say that `runwrap check` runs (sitegen --watch then leaves late notices to it)."""
    try:
        fd = os.open(os.path.join(root, CHECKED), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        return  # a read-only ROOT: the watcher mails as if no check ran
    try:
        os.utime(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def checked_within(root: str, seconds: float) -> bool:
    """Whether `runwrap check` ran within the last `seconds`."""
    try:
        return time.time() - os.lstat(os.path.join(root, CHECKED)).st_mtime < seconds
    except OSError:
        return False


def ensure_task_dirs(root: str, task: str) -> str:
    """Create ROOT/tasks/<task>/runs as needed; return the task directory.

    A task directory or runs/ that is a symlink (or a file, a FIFO) is refused with
    UnwritableRoot: a job could have made it, to have runwrap write (and sitegen
    publish) somewhere else. The job then runs unrecorded, as for a ROOT that cannot
    take the task, whichever of them is in the way.
    """
    path = runs_dir(root, task)
    try:
        os.makedirs(path, exist_ok=True)
        error: OSError | None = None
    except OSError as e:
        error = e  # a link, a file or a FIFO in the way is named below
    for place in (task_dir(root, task), path):
        try:
            mode = os.lstat(place).st_mode  # one lstat a place: a link is not a directory
        except OSError:
            continue  # missing: the error below says why
        if not stat.S_ISDIR(mode):
            # Not written through, and the job still runs (unrecorded), as for a ROOT that
            # cannot take the task: its exit status reaches cron (docs/reliability.md).
            raise UnwritableRoot(
                f"{place} is not a directory (a symlink? remove it)",
                error or NotADirectoryError(place),
            )
    if error is not None:
        raise UnwritableRoot(
            f"cannot create task {task} in {root}: {error.strerror or error}", error
        ) from None
    return task_dir(root, task)


def new_run_id(started: float) -> str:
    """A run id for a run started at `started`: sorts by start time, random at the end."""
    # Milliseconds, so that runs started within one second still sort by start time.
    millis = int((started - int(started)) * 1000)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(started)) + f".{millis:03d}Z"
    return f"{stamp}-{os.urandom(2).hex()}"


def create_run_dir(
    runs_path: str,
    started: float,
    claim: "Callable[[str], bool]",
    fill: "Callable[[str, str], None]",
) -> tuple[str, str]:
    """Make a fresh run directory that appears with its manifest in it; return (run_id, path).

    `claim(run_id)` marks the run open before anything of it exists (False:
    the id is taken), so that a runwrap killed at any later point leaves a
    marker the next run follows. `fill(run_id, path)` writes into a hidden
    directory, which is then renamed into place: no reader (nor another
    runwrap's retention) ever sees a run directory without a manifest.
    OSError (a full disk) propagates.
    """
    for _ in range(64):
        run_id = new_run_id(started)
        path = os.path.join(runs_path, run_id)
        tmp = os.path.join(runs_path, NEW_PREFIX + run_id)
        if os.path.lexists(path) or not claim(run_id):
            continue
        try:
            os.mkdir(tmp)
            fill(run_id, tmp)
            os.rename(tmp, path)
        except BaseException:
            remove_tree(tmp)
            raise
        return run_id, path
    raise RunwrapError(f"cannot create a unique run directory in {runs_path}")


def remove_tree(path: str) -> None:
    """rm -rf without importing shutil (which costs more than the deletion of a small run)."""
    try:
        entries = list(os.scandir(path))
    except NotADirectoryError:
        os.unlink(path)
        return
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                remove_tree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue
    try:
        os.rmdir(path)
    except OSError:
        pass


def open_lock(path: str, fallback: str) -> int:
    """A descriptor to flock for the lock file `path` (created if missing).

    Everything under ROOT may have been made by a job: a symlink is never
    followed, and when `path` cannot be opened as a file (a directory, a
    symlink) the directory `fallback` is locked instead. Every runwrap that
    meets the same broken file makes the same choice, so the lock still works.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o644)
    except OSError:
        return os.open(fallback, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
