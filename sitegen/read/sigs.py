"""Signatures of what sitegen reads: a directory's, a run's, a task's, a tree of files'.

A signature is a few numbers from stat() that change when what they cover changes
(mtimes or ctimes, sizes, inodes, link counts), taken without reading a file: the no-change
check, the build cache, the watcher's polling and the lateness memo all compare them.
"""

from __future__ import annotations

import os
import stat

from runwrap.store.layout import (
    HOSTS,
    MANIFEST,
    NOTIFICATIONS,
    OPEN,
    RUNS,
    STATE,
    STDERR,
    STDOUT,
    host_root,
    list_dir,
    task_dir,
    tasks_dir,
)

RACY_S = 0.05  # changes closer than this to an update's start are not trusted


def dir_sig(path: str) -> list[int] | None:
    """A directory's signature; nlink counts subdirectories: a run added and one pruned
    in the same tick still change it. Its time is the ctime, which moves with the mtime
    and also with a chmod or chown: a task made unreadable changes nothing else, and the
    one-shot update would keep its old row where ls says unreadable."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return [st.st_ctime_ns, st.st_nlink, st.st_ino]


def tasks_sig(root: str) -> list[int] | None:
    """ROOT/tasks' signature and, where hosts are gathered (ROOT/hosts/<host>/tasks), theirs:
    a task added or gone anywhere changes it. Its first number is the newest ctime (never
    before the mtime), which the stamp's racy check reads."""
    sig = dir_sig(tasks_dir(root))
    hosts = os.path.join(root, HOSTS)
    top = dir_sig(hosts)
    if top is None:
        return sig
    flat = [*(sig or [-1, -1, -1]), *top]
    for host in sorted(list_dir(hosts)):
        flat += dir_sig(host_root(root, host)) or [-1, -1, -1]
        flat += dir_sig(tasks_dir(host_root(root, host))) or [-1, -1, -1]
    return [max(flat[0::3]), *flat]


def run_sig(path: str) -> list[int] | None:
    """A run's signature (sig_at()) by its path; None while it has no manifest."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return sig_at(fd)
    finally:
        os.close(fd)


def sig_at(dir_fd: int) -> list[int] | None:
    """What says a run changed: its manifest's mtime, size, inode and type, the sizes of its
    logs and of its notifications.json; None while there is no manifest at all.

    The type is part of it: a manifest that is a FIFO or a link is not "missing yet";
    notifications.json may come after the final manifest, and the run's page shows it.
    """
    try:
        st = os.stat(MANIFEST, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return None
    sizes = [_lsize(name, dir_fd) for name in (STDOUT, STDERR, NOTIFICATIONS)]
    return [st.st_mtime_ns, st.st_size, st.st_ino, *sizes, stat.S_IFMT(st.st_mode)]


def _lsize(name: str, fd: int) -> int:
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False).st_size
    except OSError:
        return -1


def task_sigs(root: str, task: str) -> list[list[int] | None]:
    """A task directory's signature, its open/'s, its runs/' and its state.json's, taken
    before an update reads them (runs/ for writers that keep no state.json: its fold is
    then read anew)."""
    path = task_dir(root, task)
    return [
        dir_sig(path),
        dir_sig(os.path.join(path, OPEN)),
        dir_sig(os.path.join(path, RUNS)),
        dir_sig(os.path.join(path, STATE)),  # the read model's: one edited in place too
    ]


def tree_files(top: str) -> list[tuple[str, os.stat_result]]:
    """Every file under `top` with its stat, by path: links followed, as the template
    loader follows them (a theme may link a directory it shares), each directory once."""
    found, seen = [], set()
    for path, subdirs, files in os.walk(top, followlinks=True):
        st = os.stat(path)
        if (st.st_dev, st.st_ino) in seen:
            subdirs.clear()  # a cycle, or a directory linked twice: walked already
            continue
        seen.add((st.st_dev, st.st_ino))
        subdirs.sort()
        for name in sorted(files):
            file = os.path.join(path, name)
            try:
                found.append((file, os.stat(file)))
            except FileNotFoundError:
                found.append((file, os.lstat(file)))  # a dangling link: its own change counts
    return found
