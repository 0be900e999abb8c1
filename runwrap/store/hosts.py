"""Hosts as the files they write show them: each one's clock, and whether its cron still runs.

Clock skew (docs/engines.md, "Clocks"). Every manifest records who wrote it
and when by the writer's own clock (`written: {host, at}`, manifest.py), and
its writer sets its mtime with a utime that gives no time, as a lease
renewal does: the storage stamps it with its own clock (the kernel of a
local disk; the server of an NFS mount, SET_TO_SERVER_TIME). So a host's
offset from the storage is `written.at - mtime` of a manifest it wrote,
exact to a system call's latency. The storage's clock is the one every
reader can measure itself against, so every reader on every host computes
the same offsets, and it is the clock lease renewals carry. A host is
flagged when its newest sample is off by more than SKEW_S.

Judgements are corrected only before a verdict that would otherwise be
"lost" or "late" (lease_lapsed, lateness.py): the common path costs nothing,
and a correction never makes a verdict harsher than the raw clocks say.
"""

from __future__ import annotations

import os
import time

from runwrap.store.owner import DEFAULT_LEASE_S, lease_expired, lease_grace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

# A host further than this from the storage's clock is flagged: half the default lease,
# the most a lease's grace absorbs unmeasured. Below it, write latency and NTP noise.
SKEW_S = lease_grace(DEFAULT_LEASE_S)

# This process's offset from the storage's clock and when (monotonic) it was probed.
_own: list[tuple[float, float]] = []
# A long-lived reader (sitegen --watch) probes again after this long: a clock stepped
# since (NTP, a VM resumed) would otherwise make every live lease look expired to it.
REPROBE_S = 1.0


def sample(written: object, mtime: float | None) -> tuple[str, float, float] | None:
    """(writer's host, its offset from the storage's clock, when by the storage) of a file
    whose manifest says `written` and whose mtime is `mtime`; None if either is unknown."""
    if not isinstance(written, dict) or mtime is None:
        return None
    host, at = written.get("host"), written.get("at")
    if not isinstance(host, str) or not host or isinstance(at, bool):
        return None
    if not isinstance(at, (int, float)) or not -1e12 < at < 1e12:  # NaN and inf fail too
        return None
    return host, float(at) - mtime, mtime


def file_sample(
    written: object, path: str, dir_fd: int | None = None
) -> tuple[str, float, float] | None:
    """sample() of the file at `path` (never followed if a link; relative to `dir_fd` when
    given); None if it is gone."""
    if not isinstance(written, dict):
        return None
    try:
        return sample(written, os.stat(path, dir_fd=dir_fd, follow_symlinks=False).st_mtime)
    except (OSError, ValueError):
        return None


def own_offset(directory: str) -> float:
    """This process's clock minus the storage's, measured on an unnamed file in
    `directory` (nothing stays) once, and again when asked REPROBE_S after the last
    measure; 0 where nothing can be written there."""
    now = time.monotonic()
    if not _own or now - _own[0][1] > REPROBE_S:
        _own[:] = [(_probe(directory), now)]
    return _own[0][0]


def probed_offset() -> float:
    """own_offset() if this process measured it already, else 0: for what is only shown
    (a lease's age), which never probes."""
    return _own[0][0] if _own else 0.0


def _probe(directory: str) -> float:
    """A utime with no time given, as a renewal is: the storage stamps it with its clock."""
    path = None
    try:
        # Unnamed, so that nothing can stay; a named one where the storage has no
        # unnamed files (NFS).
        fd = os.open(directory, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    except (AttributeError, OSError):
        path = os.path.join(directory, f".clock.{os.getpid()}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError:
            return 0.0  # a read-only ROOT: this reader is taken to agree with the storage
    try:
        before = time.time()
        os.utime(fd)
        stamped = os.fstat(fd).st_mtime
        after = time.time()
    except OSError:
        return 0.0
    finally:
        os.close(fd)
        if path is not None:
            try:
                os.unlink(path)
            except OSError:
                pass
    return (before + after) / 2 - stamped


def lease_lapsed(owner: object, mtime: float, directory: str) -> bool:
    """Whether a lease last renewed at `mtime` (the marker's: the storage's clock) has
    expired, allowing for this reader's clock.

    The raw age is this reader's now minus the mtime. Only when that says
    "expired" is the reader's own offset from the storage (own_offset, probed
    in `directory`) taken off: a reader ahead never calls a live run lost,
    and the common path costs nothing. The owner's clock does not enter: its
    renewals are utimes with no time, stamped by the storage (nothing in the
    run's directory, which its job can write, is believed here either).
    """
    age = time.time() - mtime
    if not lease_expired(owner, age):
        return False
    return lease_expired(owner, age - own_offset(directory))


def skewed(offset: float) -> bool:
    """Whether a host this far from the storage's clock is flagged."""
    return abs(offset) > SKEW_S


def clocks(samples: list[tuple[str, float, float]]) -> dict[str, dict]:
    """{host: {offset_s, at, skewed}}: each host's newest sample (a clock stepped by NTP
    is believed from its next write on)."""
    newest: dict[str, tuple[str, float, float]] = {}
    for item in samples:
        host, _offset, at = item
        if host not in newest or at > newest[host][2]:
            newest[host] = item
    return {
        host: {"offset_s": round(offset, 1), "at": at, "skewed": skewed(offset)}
        for host, (_h, offset, at) in sorted(newest.items())
    }


def hosts_overview(
    tasks: list[tuple[str, float | None, bool | None]],
    samples: list[tuple[str, float, float]],
    silent: list[str],
    starts: Iterable[tuple[str, float | None]] = (),
) -> list[dict]:
    """Per host, the "is cron running?" line's facts, by name: {host, tasks, last_started,
    scheduled, late, silent, clock}.

    `tasks`: (host of the task's newest run, when that run started, whether the task
    is late: None without a schedule) per task; `silent`: the hosts lateness.silent_hosts
    names (the one rule for a host that stopped starting runs); `samples`: clock samples;
    `starts`: (host, start) of other runs (a host's newest run of a task another host
    ran last). A host appears when it ran any of these, or wrote a sample.
    """
    by_host: dict[str, dict] = {}
    known = clocks(samples)
    for host, started, late in tasks:
        if not host:
            continue
        row = by_host.setdefault(host, _row(host))
        row["tasks"] += 1
        if started is not None and (row["last_started"] or 0) < started:
            row["last_started"] = started
        if late is not None:
            row["scheduled"] += 1
            row["late"] += bool(late)
    for host, started in starts:
        if host:
            row = by_host.setdefault(host, _row(host))
            if started is not None and (row["last_started"] or 0) < started:
                row["last_started"] = started
    for host in known:
        by_host.setdefault(host, _row(host))
    for host, row in by_host.items():
        row["silent"] = host in silent
        row["clock"] = known.get(host)
    return [by_host[h] for h in sorted(by_host)]


def _row(host: str) -> dict:
    return {"host": host, "tasks": 0, "last_started": None, "scheduled": 0, "late": 0}
