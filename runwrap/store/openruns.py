"""Runs not recorded yet (final manifest and state), marked in tasks/<task>/open/<run_id>.

A marker is written (with the run's owner) before the run directory appears
and removed once the final manifest and the state are written; a skipped
run, born final, is marked too until its state is written. So the next
run of a task, whatever order runs started and ended in, finds every run a
dead runwrap left behind by listing one small directory, without reading
every manifest; and retention, which never removes a marked run, never
removes one the state does not know yet.

The marker is also the run's lease (owner.py): its owner renews its mtime
every third of the lease, and the job cannot forge it (it lives outside the
run directory, the job's own). A run whose lease expired is taken over by
renaming its marker to <run_id>~<taker>: a rename of one name succeeds once,
so exactly one process finalizes it (run/recover.py); readers still count
the run as unfinished (lost) until the taker removes its claim.
"""

import os

from runwrap.store.jsonio import dumps, read_json
from runwrap.store.layout import OPEN, is_run_id, list_dir, remove_tree
from runwrap.store.owner import taker_token

TAKEN = "~"  # open/<run_id>~<taker>: a run being finalized as lost by <taker>


def _path(task_path: str, run_id: str = "") -> str:
    return os.path.join(task_path, OPEN, run_id) if run_id else os.path.join(task_path, OPEN)


def claim_open(task_path: str, run_id: str, owner: dict) -> bool:
    """Mark run `run_id` open for `owner` unless it already is (False: the id is taken).

    The marker appears whole: written unnamed (O_TMPFILE), then linked into
    place, which fails if the name is taken. A runwrap killed before the link
    leaves nothing; one killed between creating a named marker and writing
    it would leave a marker no reader can tell the owner of, kept for an hour
    (recover.py). The named way remains where the system cannot do it unnamed.
    """
    data = dumps({"owner": owner}).encode("utf-8", "surrogateescape")
    marker = _path(task_path, run_id)
    unnamed = _unnamed(_path(task_path))
    if unnamed is not None:
        directory, fd = unnamed
        try:
            os.write(fd, data)  # a full disk raises here: no marker at all
            try:
                # linkat(AT_SYMLINK_FOLLOW) of /proc's link to the open file names it.
                os.link(f"/proc/self/fd/{fd}", run_id, dst_dir_fd=directory)
                return True
            except FileExistsError:
                return False
            except OSError:
                pass  # no /proc, or a filesystem that cannot link it: named, below
        finally:
            os.close(fd)
            os.close(directory)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = _open_made(marker, flags, 0o644, _path(task_path))
    except FileExistsError:
        return False
    try:
        os.write(fd, data)
    except OSError:
        os.close(fd)
        clear_open(task_path, run_id)  # a full disk: no marker that cannot tell its owner
        raise
    os.close(fd)
    return True


def _open_made(path: str, flags: int, mode: int, directory: str) -> int:
    """os.open(), making `directory` first if the open found it missing (open/ is made
    by a task's first claim)."""
    try:
        return os.open(path, flags, mode)
    except FileNotFoundError:
        os.makedirs(directory, exist_ok=True)
        return os.open(path, flags, mode)


def _unnamed(path: str) -> tuple[int, int] | None:
    """(the directory `path`, a new file in it that has no name yet), both open;
    None where the system has no unnamed files (O_TMPFILE)."""
    flags = getattr(os, "O_TMPFILE", 0)
    if not flags:
        return None
    dir_flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        directory = _open_made(path, dir_flags, 0, path)
    except OSError:  # open/ made a link or a file by someone: the named way decides
        return None
    try:
        return directory, os.open(".", flags | os.O_WRONLY | os.O_CLOEXEC, 0o644, dir_fd=directory)
    except OSError:  # a filesystem without unnamed files (or an old kernel)
        os.close(directory)
        return None


def marker_age(task_path: str, run_id: str, now: float) -> float:
    """Seconds since the marker was written or renewed (0 when it cannot be told)."""
    try:
        return max(0.0, now - os.lstat(_path(task_path, run_id)).st_mtime)
    except OSError:
        return 0.0


def clear_open(task_path: str, run_id: str) -> None:
    """The run's record is final: forget the marker (already gone is fine).

    `run_id` may be a claim's name (take()), removed by its taker."""
    try:
        os.unlink(_path(task_path, run_id))
    except IsADirectoryError:
        remove_tree(_path(task_path, run_id))  # not a marker runwrap wrote, but in its place
    except OSError:
        pass


def markers(task_path: str, names: list[str] | None = None) -> list[tuple[str, str]]:
    """(run id, marker's name) of every marked run, oldest first: the name is the run id,
    or <run_id>~<taker> for a run being taken over. `names`: open/ as a reader that
    listed it already found it (lookup.look_at_task)."""
    found: dict[str, str] = {}
    for name in sorted(list_dir(_path(task_path)) if names is None else names):
        run_id = name.partition(TAKEN)[0]
        if is_run_id(run_id):
            # One run, once: a copy gathered by rsync may hold the marker and its claim
            # for a moment (the claim arrives before the marker's deletion); the claim
            # (sorted after) tells.
            found[run_id] = name
    return sorted(found.items())


def open_runs(task_path: str, names: list[str] | None = None) -> list[tuple[str, object]]:
    """(run id, owner) of every marked run, oldest first; owner None when unreadable
    (`names`: as for markers())."""
    return [(run_id, marker_owner(task_path, name)) for run_id, name in markers(task_path, names)]


def marker_owner(task_path: str, name: str) -> object:
    """The owner the marker `name` records; None when unreadable."""
    value = read_json(_path(task_path, name))
    return value.get("owner") if isinstance(value, dict) else None


def marker_path(task_path: str, run_id: str) -> str:
    """Where run `run_id`'s open marker (its lease) is while its owner holds it."""
    return _path(task_path, run_id)


def renew(path: str) -> bool:
    """Renew the lease of the marker at `path` (one utime); False if it is gone:
    another process took the run over (or the record is final)."""
    try:
        os.utime(path)
        return True
    except FileNotFoundError:
        return False
    except OSError:
        return True  # a read-only or full ROOT: kept trying; readers judge by what they see


def take(task_path: str, name: str) -> str | None:
    """Claim the marker `name` to finalize its run; the claim's name, None if another won.

    The rename of one name succeeds for one process only. The claim's name
    records its taker (owner.taker_token) and it is dated now, so that a taker
    that dies is taken over in turn: at once where its process can be
    checked, after CLAIM_STALE_S elsewhere.
    """
    run_id = name.partition(TAKEN)[0]
    claim = f"{run_id}{TAKEN}{taker_token()}"
    try:
        os.rename(_path(task_path, name), _path(task_path, claim))
    except OSError:
        return None  # gone: another process took it, or its owner finished
    try:
        os.utime(_path(task_path, claim))
    except OSError:
        pass
    return claim
