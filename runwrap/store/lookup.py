"""Finding runs by what people type (a task name or a run id), and reading them safely.

Everything under ROOT/tasks may have been made by a job: it runs inside its
run directory and can replace its manifest or logs, or leave things beside
them. So readers never follow a symlink below ROOT/tasks (each step is opened
with O_NOFOLLOW relative to the last), never block on a FIFO (O_NONBLOCK,
then fstat must say regular file), and skip what is not a real task or run.
What they skip for being unreadable is noted and reported once, in one line.
"""

from __future__ import annotations

import errno
import os
import stat

from runwrap.errors import NotFoundError, UnreadableError
from runwrap.store.jsonio import MAX_JSON, Unreadable, parse
from runwrap.store.jsonio import read_fd as _read_fd
from runwrap.store.layout import (
    GATHERED,
    HOSTS,
    MANIFEST,
    OPEN,
    RETIRED,
    RUNS,
    STATE,
    TASKS,
    host_root,
    is_plain_run_id,
    is_run_id,
    list_dir,
    split_gathered,
    task_dir,
    tasks_dir,
)
from runwrap.store.manifest import judge_run, manifest_problem
from runwrap.store.tasknames import check_read_name, name_problem

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


# ---- one warning line for everything skipped --------------------------------

_skipped: list[str] = []
_unreadable: list[str] = []


def note_skipped(what: str) -> None:
    """Remember something a reader skipped, for skipped_warning()."""
    _skipped.append(what)


def note_unreadable(what: str) -> None:
    """Remember a task (or ROOT/tasks) this reader cannot open: skipped, and counted for
    unreadable_noted() (`runwrap check` fails on it: an unread task may be failing)."""
    _skipped.append(what)
    _unreadable.append(what)


def unreadable_noted() -> list[str]:
    """The tasks (or ROOT/tasks) noted unreadable so far."""
    return list(_unreadable)


def skipped_warning() -> str | None:
    """One line about everything skipped so far, or None."""
    if not _skipped:
        return None
    more = len(set(_skipped)) - 1  # one thing looked at twice is one thing skipped
    return f"warning: skipped {_skipped[0]}" + (f"; {more} more skipped" if more else "")


# ---- opening below ROOT/tasks without following links -----------------------


def _where(root: str, parts: tuple[str, ...]) -> str:
    if parts:
        return repr(os.path.join(task_dir(root, parts[0]), *parts[1:]))
    return repr(tasks_dir(root))


def _open_at(dir_fd: int, name: str, flags: int, root: str, parts: tuple[str, ...]) -> int:
    """openat(), its errors as Unreadable (FileNotFoundError passes: missing is not broken).

    `root` and `parts` name the file in errors (the name is built only then:
    readers open thousands of files).
    """
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise Unreadable(f"{_where(root, parts)}: not a plain name")
    try:
        if not flags & os.O_DIRECTORY:
            _check_regular(dir_fd, name, root, parts)
        return os.open(name, flags, dir_fd=dir_fd)
    except FileNotFoundError:
        raise
    except OSError as e:
        where = _where(root, parts)
        if e.errno == errno.ELOOP:
            raise Unreadable(f"{where}: a symlink (not followed)") from None
        if e.errno == errno.ENOTDIR:
            raise Unreadable(f"{where}: not a directory") from None
        raise Unreadable(f"{where}: {e.strerror}") from None


def _check_regular(dir_fd: int, name: str, root: str, parts: tuple[str, ...]) -> None:
    """Unreadable unless `name` is a regular file: a device is not even opened.

    Only a first look (the file may be swapped before it is opened): the
    fstat() of what was opened decides.
    """
    mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    if stat.S_ISLNK(mode):
        raise Unreadable(f"{_where(root, parts)}: not a regular file (a symlink, not followed)")
    if not stat.S_ISREG(mode):
        raise Unreadable(f"{_where(root, parts)}: not a regular file")


def _open_tasks(root: str, host: str = "") -> int:
    """ROOT/tasks (or a gathered host's, ROOT/hosts/<host>/tasks): a real directory (ROOT
    itself may be a link, an admin's choice; tasks/ is runwrap's, and a link there is
    not followed, by sitegen either; nor is one at hosts/ or hosts/<host>)."""
    path = tasks_dir(host_root(root, host) if host else root)
    try:
        if not host:
            return os.open(path, _DIR | os.O_NOFOLLOW)
        fd = os.open(os.path.join(root, HOSTS), _DIR | os.O_NOFOLLOW)
        for name in (host, TASKS):
            try:
                new = os.open(name, _DIR | os.O_NOFOLLOW, dir_fd=fd)
            finally:
                os.close(fd)
            fd = new
        return fd
    except FileNotFoundError:
        raise
    except OSError as e:  # a link, not a directory, no permission
        why = "a symlink (not followed)" if e.errno == errno.ELOOP else e.strerror
        raise Unreadable(f"{path!r}: {why}") from None


def _home(root: str, parts: tuple[str, ...]) -> tuple[int, tuple[str, ...]]:
    """(the open tasks/ directory holding task parts[0], `parts` with the task's own name):
    a gathered task <task>@<host> lives in ROOT/hosts/<host>/tasks/<task>."""
    gathered = split_gathered(parts[0]) if parts else None
    if gathered is None:
        return _open_tasks(root), parts
    return _open_tasks(root, gathered[1]), (gathered[0], *parts[1:])


def open_below(root: str, parts: tuple[str, ...], last: int = _DIR | os.O_NOFOLLOW) -> int:
    """A descriptor for ROOT/tasks/PARTS..., no symlink followed below ROOT/tasks.

    Every directory from ROOT/tasks down is opened O_NOFOLLOW relative to its
    parent, the last one with `last`.
    """
    fd, names = _home(root, parts)
    try:
        for i, part in enumerate(names):
            flags = last if i == len(parts) - 1 else _DIR | os.O_NOFOLLOW
            new = _open_at(fd, part, flags, root, parts[: i + 1])
            os.close(fd)
            fd = new
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_regular(root: str, *parts: str) -> int:
    """A descriptor for a regular file below ROOT/tasks, opened without following or blocking."""
    dir_fd = open_below(root, parts[:-1])
    try:
        return _regular_at(dir_fd, parts[-1], root, parts)
    finally:
        os.close(dir_fd)


def _regular_at(dir_fd: int, name: str, root: str, parts: tuple[str, ...]) -> int:
    """open_regular() of `name` in an open directory; `parts` name it in errors."""
    fd = _open_at(dir_fd, name, _FILE, root, parts)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Unreadable(f"{_where(root, parts)}: not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_fd(fd: int, limit: int, where: str) -> bytes:
    """All of a regular file, at most `limit` bytes (store.jsonio's one reader; `where` names
    the file in the Unreadable it raises)."""
    try:
        return _read_fd(fd, limit)
    except Unreadable as e:
        raise Unreadable(f"{where}: {e}") from None


def read_json_below(root: str, *parts: str) -> object:
    """A JSON file below ROOT/tasks, parsed; FileNotFoundError if missing, else Unreadable."""
    dir_fd = open_below(root, parts[:-1])
    try:
        fd = _open_at(dir_fd, parts[-1], _FILE, root, parts)
    finally:
        os.close(dir_fd)
    return _load_json(fd, root, parts)


def _load_json(fd: int, root: str, parts: tuple[str, ...]) -> object:
    """The JSON in a file opened by _open_at (closed here); `parts` name it in errors (the
    name is built only then: a history reads thousands of files). Its one fstat (read_fd)
    tells a regular file, as _regular_at's would: a JSON file is not looked at twice."""
    try:
        return parse(_read_fd(fd, MAX_JSON))
    except OSError as e:
        raise Unreadable(f"{_where(root, parts)}: {e.strerror}") from None
    except Unreadable as e:
        raise Unreadable(f"{_where(root, parts)}: {e}") from None
    finally:
        os.close(fd)


# ---- tasks and runs ------------------------------------------------------------


def _entries(root: str, parts: tuple[str, ...]) -> list[os.DirEntry]:
    """The entries of a real directory below ROOT/tasks ([] if missing; Unreadable if broken)."""
    try:
        fd = open_below(root, parts) if parts else _open_tasks(root)
    except FileNotFoundError:
        return []
    try:
        with os.scandir(fd) as it:
            return list(it)
    except OSError as e:
        raise Unreadable(f"{_where(root, parts)}: {e.strerror}") from None
    finally:
        os.close(fd)


def _is_real_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _kind(entry: os.DirEntry) -> str:
    try:
        return "a symlink" if entry.is_symlink() else "not a directory"
    except OSError:
        return "not a directory"


def task_names(root: str, note: bool = True, retired: bool = False) -> list[str]:
    """The tasks under ROOT, sorted: real directories with task names, never symlinks.

    With `note`, anything else there (but hidden names) is noted as skipped.
    A retired task (store/retired.py) is not listed, unless `retired`.
    """
    try:
        entries = _entries(root, ())
    except Unreadable as e:
        if note:
            note_unreadable(str(e))
        return []
    found = []
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        problem = None if _is_real_dir(entry) else _kind(entry)
        if problem is None:
            problem = name_problem(name)
            problem = f"not a task name: it {problem}" if problem else None
        if problem is None:
            if retired or not _retired(os.path.join(tasks_dir(root), name)):
                found.append(name)
        elif note:
            note_skipped(f"{_where(root, (name,))}: {problem}")
    return sorted(found) + gathered_task_names(root, note)


def gathered_task_names(root: str, note: bool = True) -> list[str]:
    """<task>@<host> for every task of every host gathered in ROOT/hosts/<host>/ (by rsync:
    docs/engines.md), by host then task; [] where ROOT has no hosts/."""
    try:
        fd = os.open(os.path.join(root, HOSTS), _DIR | os.O_NOFOLLOW)
    except OSError:
        return []
    try:
        with os.scandir(fd) as it:
            hosts = sorted(e.name for e in it if _is_real_dir(e))
    except OSError:
        hosts = []
    finally:
        os.close(fd)
    found = []
    for host in hosts:
        if host.startswith(".") or name_problem(host):
            continue  # rsync's own temporary names, and what is no host's
        try:
            fd = _open_tasks(root, host)
        except FileNotFoundError:
            continue  # a host that has not pushed tasks/ yet
        except Unreadable as e:
            if note:  # another user's copy (or a link): its tasks may be failing unseen
                note_unreadable(str(e))
            continue
        try:
            with os.scandir(fd) as it:
                entries = list(it)
        except OSError:
            entries = []
        finally:
            os.close(fd)
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.startswith(".") or not _is_real_dir(entry):
                continue
            if name_problem(entry.name) is None:
                found.append(f"{entry.name}{GATHERED}{host}")
            elif note:
                note_skipped(
                    f"{os.path.join(tasks_dir(host_root(root, host)), entry.name)!r}: "
                    f"not a task name: it {name_problem(entry.name)}"
                )
    return found


def unreadable_hosts(root: str) -> list[str]:
    """Why each gathered host's tasks/ cannot be opened (another user's copy, or a link):
    what gathered_task_names notes, for a reader that says it its own way (sitegen)."""
    found = []
    for host in list_dir(os.path.join(root, HOSTS)):
        if host.startswith(".") or name_problem(host):
            continue
        try:
            os.close(_open_tasks(root, host))
        except FileNotFoundError:
            continue
        except Unreadable as e:
            found.append(str(e))
    return sorted(found)


def _retired(task_path: str) -> bool:
    """store/retired.py's rule, imported only for a task that was ever retired (one
    access(), which raises nothing for the usual missing file)."""
    if not os.access(os.path.join(task_path, RETIRED), os.F_OK, follow_symlinks=False):
        return False
    from runwrap.store.retired import is_retired

    return is_retired(task_path)


def task_problem(root: str, task: str) -> str | None:
    """Why this user may not read the task (its directory, runs/, open/ or state.json), or None.

    A task made under `umask 077` by another user is listed in ROOT/tasks but
    cannot be opened: without this, its state would fold from nothing and show
    "never", a healthy-looking row over a failing task (docs/reliability.md).
    A missing part is a new task, and a broken state.json (a link, a FIFO) is
    rebuilt from the runs. But a runs/ that is not a directory (a symlink, never
    followed, or a file) hides every run: the task's state.json could no longer be
    checked, and the task would read "no runs yet" on one surface and its old
    health on another. Opening a directory needs its read permission, and opening
    below it its search permission: no listing is needed (runs/ may hold thousands).
    """
    parts: tuple[str, ...] = ()
    fds: list[int] = []
    try:
        try:
            home, (name,) = _home(root, (task,))
        except Unreadable as e:  # ROOT/tasks, or a gathered host's, this user may not open
            return str(e)
        fds.append(home)
        for parts, flags, parent in (
            ((task,), _DIR | os.O_NOFOLLOW, 0),
            ((task, STATE), _FILE, 1),
            ((task, RUNS), _DIR | os.O_NOFOLLOW, 1),
            ((task, OPEN), _DIR | os.O_NOFOLLOW, 1),  # last: a link there is not a problem
        ):
            try:
                fds.append(os.open(name if parent == 0 else parts[-1], flags, dir_fd=fds[parent]))
            except FileNotFoundError:
                if parent == 0:
                    return None  # gone meanwhile
                continue
            except OSError as e:
                if parts[-1] == RUNS and e.errno in (errno.ELOOP, errno.ENOTDIR):
                    return f"{_where(root, parts)}: not a directory (a symlink?)"
                raise
    except PermissionError as e:
        return f"{_where(root, parts)}: {e.strerror}"
    except (OSError, Unreadable):
        return None  # missing or broken: not a matter of permissions
    finally:
        for fd in fds:
            os.close(fd)
    return None


class TaskLook:
    """One look at a plain task (look_at_task): each part opened once, relative to the
    last, never through a link. `state`: state.json's value; `open_names`: the names in
    open/ ([] without one); `retired`: whether retired.json is there; `runs_fd`: runs/,
    kept open for stats of its runs until close()."""

    __slots__ = ("open_names", "retired", "runs_fd", "state")

    def __init__(self, state: object, open_names: list[str], retired: bool, runs_fd: int):
        self.state = state
        self.open_names = open_names
        self.retired = retired
        self.runs_fd = runs_fd

    def close(self) -> None:
        os.close(self.runs_fd)


def open_tasks(root: str) -> int | None:
    """ROOT/tasks opened once for a list's looks at its tasks (look_at_task's `tasks_fd`;
    the caller closes it), or None where it cannot be (each look then says why)."""
    try:
        return _open_tasks(root)
    except (OSError, Unreadable):
        return None


def look_at_task(root: str, task: str, tasks_fd: int | None = None) -> TaskLook | None:
    """The parts of the task every list reads, each opened once (a list asks it of every
    task: its directory is opened once, not walked down to again for each file).

    None whenever anything is not plain (no such task, a permission, a link, no
    state.json or runs/ yet, state.json not JSON): the reader then asks the careful way
    (task_problem, state.read_state, openruns.open_runs...), which says why or rebuilds.
    `tasks_fd`: ROOT/tasks as open_tasks() opened it for the list (a task of ROOT's own).
    """
    fds: list[int] = []
    runs_fd = -1
    try:
        if tasks_fd is not None and GATHERED not in task:
            home, name = tasks_fd, task
        else:
            home, (name,) = _home(root, (task,))
            fds.append(home)
        task_fd = os.open(name, _DIR | os.O_NOFOLLOW, dir_fd=home)
        fds.append(task_fd)
        state_fd = os.open(STATE, _FILE, dir_fd=task_fd)
        fds.append(state_fd)
        state = parse(_read_fd(state_fd, MAX_JSON))
        runs_fd = os.open(RUNS, _DIR | os.O_NOFOLLOW, dir_fd=task_fd)
        retired = os.access(RETIRED, os.F_OK, dir_fd=task_fd, follow_symlinks=False)
        open_names = _open_names(task_fd)
    except BaseException as e:
        if runs_fd >= 0:
            os.close(runs_fd)
        if isinstance(e, (OSError, Unreadable)):
            return None
        raise
    finally:
        for fd in fds:
            os.close(fd)
    return TaskLook(state, open_names, retired, runs_fd)


def _open_names(task_fd: int) -> list[str]:
    """The names in the task's open/ ([] without one, or for a link: as layout.list_dir);
    PermissionError for one this user may not list: its running and lost runs are not
    known, and a lost run is a failure (task_problem then says why)."""
    try:
        fd = os.open(OPEN, _DIR | os.O_NOFOLLOW, dir_fd=task_fd)
    except PermissionError:
        raise
    except OSError:
        return []
    try:
        return os.listdir(fd)
    finally:
        os.close(fd)


def run_ids(root: str, task: str) -> list[str]:
    """The task's runs, oldest first: real directories named like run ids, never symlinks."""
    try:
        entries = _entries(root, (task, RUNS))
    except Unreadable as e:
        note_skipped(str(e))
        return []
    found = []
    for entry in entries:
        # is_plain_run_id asks is_run_id first: a history's thousands ask it once each.
        if is_plain_run_id(entry.name) and _is_real_dir(entry):
            found.append(entry.name)
        elif is_run_id(entry.name):  # else hidden runs being born or removed, and junk
            note_skipped(f"{_where(root, (task, 'runs', entry.name))}: {_kind(entry)}")
    return sorted(found)


def read_run(root: str, task: str, run_id: str) -> dict | None:
    """A run's manifest as on disk, or None when missing or unreadable (noted)."""
    try:
        value = read_json_below(root, task, RUNS, run_id, MANIFEST)
    except FileNotFoundError:
        return None
    except Unreadable as e:
        note_skipped(str(e))
        return None
    return _manifest_or_none(value, root, task, run_id)


def read_runs(root: str, task: str, run_ids: Iterable[str]) -> Iterator[tuple[str, dict]]:
    """(run id, manifest) of each run given that has one, as read_run() reads it, in order.

    For a task's whole history: its runs directory is opened once, not walked
    down from ROOT again for every run (still no link followed, each step
    opened relative to the last).
    """
    try:
        runs_fd = open_below(root, (task, RUNS))
    except FileNotFoundError:
        return
    except Unreadable as e:
        note_skipped(str(e))
        return
    try:
        for run_id in run_ids:
            try:
                value = _plain_manifest_at(runs_fd, run_id)
            except (OSError, Unreadable):
                value = _CAREFUL
            if value is _CAREFUL:  # anything unusual: the careful reads decide, and say why
                parts = (task, RUNS, run_id)
                try:
                    run_fd = _open_at(runs_fd, run_id, _DIR | os.O_NOFOLLOW, root, parts)
                    try:
                        fd = _open_at(run_fd, MANIFEST, _FILE, root, (*parts, MANIFEST))
                    finally:
                        os.close(run_fd)
                    value = _load_json(fd, root, (*parts, MANIFEST))
                except FileNotFoundError:
                    continue
                except Unreadable as e:
                    note_skipped(str(e))
                    continue
            if manifest_problem(run_id, value) is None:
                yield run_id, value  # type: ignore[misc]
            else:
                _manifest_or_none(value, root, task, run_id)  # says why it is skipped
    finally:
        os.close(runs_fd)


_CAREFUL = object()  # _plain_manifest_at's "not the plain case: read it the careful way"


def _plain_manifest_at(runs_fd: int, run_id: str) -> object:
    """A run's manifest, parsed, read as _open_at, _check_regular and _load_json read it
    (the same system calls, the same checks) in one frame; _CAREFUL (or an error) for
    anything but the plain case, which read_runs then reads the careful way, whose
    errors name the file. A history reads thousands: the layers cost a microsecond a run.
    """
    if not run_id or run_id in (".", "..") or "/" in run_id or "\0" in run_id:
        return _CAREFUL
    run_fd = os.open(run_id, _DIR | os.O_NOFOLLOW, dir_fd=runs_fd)
    try:
        # A first look, as _check_regular's: a device is not even opened.
        if not stat.S_ISREG(os.stat(MANIFEST, dir_fd=run_fd, follow_symlinks=False).st_mode):
            return _CAREFUL
        fd = os.open(MANIFEST, _FILE, dir_fd=run_fd)
    finally:
        os.close(run_fd)
    try:
        st = os.fstat(fd)  # what was opened decides (jsonio.read_fd's checks)
        if not stat.S_ISREG(st.st_mode) or st.st_size >= min(MAX_JSON, 1 << 20):
            return _CAREFUL
        raw = os.read(fd, st.st_size + 1)
    finally:
        os.close(fd)
    if not 0 < len(raw) <= st.st_size:  # empty, or grown since fstat
        return _CAREFUL
    return parse(raw)


def _manifest_or_none(value: object, root: str, task: str, run_id: str) -> dict | None:
    """The manifest if every reader can use it (the one rule: manifest.manifest_problem)."""
    problem = manifest_problem(run_id, value)
    if problem is not None:
        note_skipped(f"{_where(root, (task, RUNS, run_id, MANIFEST))}: {problem}")
        return None
    return value  # type: ignore[return-value]


# ---- what people type -------------------------------------------------------------


def task_exists(root: str, task: str) -> None:
    """NotFoundError unless ROOT/tasks/TASK is a real directory; UnreadableError for one
    this user may not open (it is a task, as `ls` lists it: not "no task")."""
    try:
        os.close(open_below(root, (task,)))
    except FileNotFoundError:
        raise NotFoundError(f"no task {task!r} under {root}; see runwrap ls") from None
    except Unreadable as e:
        problem = task_problem(root, task)
        if problem is not None:
            raise UnreadableError(f"task {task!r} cannot be read: {problem}") from None
        raise NotFoundError(f"no task {task!r} under {root} ({e}); see runwrap ls") from None


def find_run_id(root: str, ref: str) -> tuple[str, str]:
    """(task, run_id) for a run id typed by someone (NotFoundError if there is none)."""
    unread: list[str] = []
    if is_plain_run_id(ref):
        found = []
        # Retired tasks too: their kept runs are read when named (docs/cli.md).
        for task in task_names(root, note=False, retired=True):
            try:
                os.close(open_below(root, (task, RUNS, ref)))
            except FileNotFoundError:
                continue
            except Unreadable:
                unread.append(task)
                continue
            found.append(task)
        if len(found) == 1:
            return found[0], ref
        if found:
            # Unique in a task (one ROOT's claim), not across tasks or gathered hosts: the
            # same millisecond and 16 random bits, about once in 65,536 such starts.
            raise NotFoundError(
                f"run id {ref} names runs of {len(found)} tasks ({', '.join(found[:3])}); "
                "see runwrap history TASK"
            )
    shown = ref if is_plain_run_id(ref) else repr(ref)  # repr: escapes what a terminal runs
    # Not found in the tasks that can be read: it may be in one that cannot (runs/ another
    # user's, or a symlink): not "no run", as `show TASK` of that task is not "no runs".
    problems = [(t, p) for t in unread if (p := task_problem(root, t)) is not None]
    if problems:
        task, problem = problems[0]
        more = f" (and {len(problems) - 1} more tasks)" if len(problems) > 1 else ""
        raise UnreadableError(
            f"no run {shown} in the tasks under {root} that can be read; "
            f"task {task!r} cannot be read{more}: {problem}"
        )
    raise NotFoundError(f"no run {shown} under {root}; see runwrap history TASK")


def load_run(root: str, task: str, run_id: str) -> dict:
    """The manifest of a run, its status as readers must see it (running or lost)."""
    try:
        manifest = read_json_below(root, task, RUNS, run_id, MANIFEST)
    except FileNotFoundError:
        raise NotFoundError(f"run {run_id} of task {task!r} has no manifest yet") from None
    except Unreadable as e:
        raise NotFoundError(
            f"run {run_id} of task {task!r} has no readable manifest: {e}"
        ) from None
    problem = manifest_problem(run_id, manifest)
    if problem is not None:
        raise NotFoundError(f"run {run_id} of task {task!r} has no usable manifest: {problem}")
    return judge_run(manifest, task_dir(root, task), run_id)  # type: ignore[arg-type]


def task_runs(root: str, ref: str) -> tuple[str, list[str]]:
    """(task, run ids oldest first) for a task name; one run for a run id."""
    if is_run_id(ref):
        task, run_id = find_run_id(root, ref)
        return task, [run_id]
    task = check_read_name(ref)
    task_exists(root, task)
    # Asked even when runs are listed: a state.json this user may not read makes the task
    # unreadable on ls and show (query.task_record), and history says so too (four opens).
    problem = task_problem(root, task)
    if problem is not None:
        raise UnreadableError(f"task {task!r} cannot be read: {problem}")
    return task, run_ids(root, task)
