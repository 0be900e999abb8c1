"""Hosts' ROOTs gathered in one place by rsync: ROOT/hosts/<host>/ (docs/engines.md).

Each host pushes its own ROOT, after rewriting ROOT/pushed (its push interval
in seconds), with `rsync -a --delay-updates --delete-after`. `-a` keeps mtimes:
in the copy, an open marker's mtime is its owner's last renewal and the stamp's
is the push, both by the host's own clock. So a copy is judged as of its push,
whatever the skew between that host and the reader: a lease that had lapsed
at the push has lapsed; and the time since the push, beyond one push interval,
counts against every lease of the host (a host that stops pushing is one whose
leases stop arriving). Readers never write into a copy: rsync owns it.
"""

from __future__ import annotations

import os

from runwrap.store.layout import HOSTS, PUSHED, host_root, split_gathered
from runwrap.store.tasknames import name_problem

DEFAULT_EVERY_S = 60.0  # a stamp that does not say its interval: cron's every minute


def stamp(host_path: str) -> tuple[float, float] | None:
    """(when the host last pushed, by its clock; its push interval) from the copy's
    `pushed`; None when the host pushed none (its copy is then judged like shared storage)."""
    path = os.path.join(host_path, PUSHED)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        pushed = os.fstat(fd).st_mtime
        raw = os.read(fd, 64)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        every = float(raw.strip() or DEFAULT_EVERY_S)
    except ValueError:
        every = DEFAULT_EVERY_S
    return pushed, every if every > 0 else DEFAULT_EVERY_S


def copy_age(task_path: str, renewed: float, now: float) -> float:
    """How old a lease last renewed at `renewed` (the copied marker's mtime) is, for a
    run in the gathered copy `task_path`: its age at the push, plus the time since the
    push beyond one push interval."""
    found = stamp(os.path.dirname(os.path.dirname(task_path)))
    if found is None:
        return max(0.0, now - renewed)
    pushed, every = found
    return max(0.0, pushed - renewed) + max(0.0, now - pushed - every)


def as_of(root: str, task: str, now: float) -> float:
    """The moment a reader judges a task's lateness at: now for ROOT's own tasks; for a
    gathered <task>@<host>, its host's last push, as long as pushes come on time (the
    copy knows nothing later: a run due since is not missed yet), then the clock runs on."""
    parts = split_gathered(task)
    found = stamp(host_root(root, parts[1])) if parts is not None else None
    if found is None:
        return now
    pushed, every = found
    return pushed + max(0.0, now - pushed - every)


def gathered_hosts(root: str, now: float) -> list[dict]:
    """The hosts gathered in ROOT/hosts/, by name: {host, pushed_at (Unix time, None for
    a host that pushes no stamp), every, silent_at (when it is silent: two push
    intervals without a push, one missed), silent}."""
    try:
        names = sorted(os.listdir(os.path.join(root, HOSTS)))
    except OSError:
        return []
    found = []
    for host in names:
        path = host_root(root, host)
        if host.startswith(".") or name_problem(host) or not _real_dir(path):
            continue
        got = stamp(path)
        pushed, every = got if got is not None else (None, DEFAULT_EVERY_S)
        silent_at = None if pushed is None else pushed + 2 * every
        found.append(
            {
                "host": host,
                "pushed_at": pushed,
                "every": every,
                "silent_at": silent_at,
                "silent": silent_at is not None and now >= silent_at,
            }
        )
    return found


def next_silence(hosts: list[dict]) -> float | None:
    """When the next of these hosts falls silent if it pushes no more (None: none can)."""
    times = [h["silent_at"] for h in hosts if h["silent_at"] is not None and not h["silent"]]
    return min(times, default=None)


def _real_dir(path: str) -> bool:
    return os.path.isdir(path) and not os.path.islink(path)
