"""Who owns a running run: enough to tell, later, that its owner is gone.

A pid alone is not enough: pids are reused, and a host reboots. A run's
owner is recorded as (host, boot id, PID namespace, pid, process start
time, lease). A reader that shares the owner's host, boot and PID namespace
checks the process; any other reader (another host on shared storage,
another pod or container with its own PID space) cannot, and judges by the
lease alone: the owner renews it (its open marker's mtime, openruns.py) every
third of the lease, and a run whose lease is older than the lease plus a
grace has lost its owner (docs/engines.md).
"""

import os

_BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"
_PID_NS_PATH = "/proc/self/ns/pid"
_pid_ns: list[str] = []  # this process's PID namespace, read once

# The lease a run's owner renews, unless --lease says otherwise: a dead owner's run
# reads as lost on other hosts within DEFAULT_LEASE_S plus its grace (45 s).
DEFAULT_LEASE_S = 30.0
# A claim to finalize a run (openruns.take) older than this is a taker that died:
# finalizing takes seconds (a kill grace, a notice), never ten minutes.
CLAIM_STALE_S = 600.0


def hostname() -> str:
    """This machine's name, as runs record it."""
    return os.uname().nodename


def boot_id() -> str:
    """An id that changes at every boot (empty where the OS has none)."""
    try:
        with open(_BOOT_ID_PATH) as f:
            return f.read().strip()
    except OSError:
        return ""


def pid_namespace() -> str:
    """This process's PID namespace ("pid:[4026531836]"), empty where the OS has none.

    Two containers (or pods) of one host share its name and boot id but
    not their pids: a pid recorded in one means nothing in the other.
    """
    if not _pid_ns:
        try:
            _pid_ns.append(os.readlink(_PID_NS_PATH))
        except OSError:
            _pid_ns.append("")
    return _pid_ns[0]


def proc_stat(pid: int | str) -> list[bytes] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), or None if gone.

    The one reader of that file: the command name may hold spaces and
    parentheses, so the line is split after its last ')'.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None if it is gone.

    A zombie is gone: it runs nothing and holds nothing, and one whose parent died
    too (a runwrap and its watcher both killed) may wait a long while to be reaped.
    """
    fields = proc_stat(pid)
    try:
        return int(fields[19]) if fields and fields[0] != b"Z" else None
    except (IndexError, ValueError):
        return None


def owner_identity(pid: int | None = None, lease: float | None = None) -> dict:
    """The identity of a process (by default this one) as a manifest records it,
    with the lease it renews (seconds)."""
    pid = os.getpid() if pid is None else pid
    return {
        "host": hostname(),
        "boot_id": boot_id(),
        "pidns": pid_namespace(),
        "pid": pid,
        "start": start_ticks(pid),
        "lease": lease if lease else DEFAULT_LEASE_S,
    }


def owner_alive(owner: object) -> bool | None:
    """True if the process is still there, False if it is gone, None if this host cannot
    tell (the owner is on another host or in another PID namespace: its lease tells)."""
    if not isinstance(owner, dict):
        return None
    if owner.get("host") != hostname():
        return None  # another host on shared storage: only it knows
    recorded_ns = owner.get("pidns")
    if recorded_ns and recorded_ns != pid_namespace():
        return None  # another container of this host: its pids are not ours
    recorded_boot = owner.get("boot_id")
    if recorded_boot and recorded_boot != boot_id():
        return False
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return None
    now = start_ticks(pid)
    if now is None:
        return False
    recorded = owner.get("start")
    return recorded is None or recorded == now


def _machine() -> str:
    """This host, boot and PID namespace in eight characters: where a pid means something."""
    import zlib  # built in, and only for a takeover

    where = f"{hostname()}\0{boot_id()}\0{pid_namespace()}".encode("utf-8", "surrogateescape")
    return format(zlib.crc32(where), "08x")


def taker_token() -> str:
    """This process, as a claim's name records its taker (openruns.take)."""
    pid = os.getpid()
    return f"{_machine()}.{pid}.{start_ticks(pid)}"


def taker_alive(token: str) -> bool | None:
    """Whether the process a claim's name records is still there; None if this host,
    boot or PID namespace is not its own (then the claim's age tells)."""
    machine, _, rest = token.partition(".")
    pid, _, start = rest.partition(".")
    if machine != _machine() or not pid.isdigit():
        return None
    return str(start_ticks(int(pid))) == start


def lease_of(owner: object) -> float:
    """The lease the owner renews, in seconds (the default for a run that recorded none)."""
    lease = owner.get("lease") if isinstance(owner, dict) else None
    if isinstance(lease, (int, float)) and not isinstance(lease, bool) and lease > 0:
        return float(lease)
    return DEFAULT_LEASE_S


def lease_grace(lease: float) -> float:
    """How late a renewal may be before the owner is called gone: half a lease, for the
    clocks of two hosts that disagree (the renewal is the owner's, the now the reader's)
    and a loaded owner that renews late."""
    return lease / 2


def lease_expired(owner: object, age: float) -> bool:
    """True when a lease last renewed `age` seconds ago has expired, grace included.

    Never for an owner that recorded no lease: a runwrap from before leases,
    still running a job through an upgrade, renews none.
    """
    if not isinstance(owner, dict) or "lease" not in owner:
        return False
    lease = lease_of(owner)
    return age > lease + lease_grace(lease)


def carries_tag(pid: int, run_id: str) -> bool:
    """True if process `pid` carries run `run_id`'s tag (RUNWRAP_RUN_ID) in its environment.

    The tag is set by runwrap when it starts the job, and a process's
    initial environment cannot be rewritten by another process: unlike
    anything in ROOT, it cannot be forged for a process the job did not start.
    """
    tag = b"RUNWRAP_RUN_ID=" + run_id.encode("utf-8", "surrogateescape") + b"\0"
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = f.read()
    except OSError:
        return False  # gone, or not ours to read
    return environ.startswith(tag) or b"\0" + tag in environ


def _uid(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def _holds(pid: int, path: str) -> bool:
    """True if process `pid` has the file `path` open."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == path:
                return True
        except OSError:
            continue
    return False


def run_job_leaders(owner: object, run_id: str, log_path: str = "") -> tuple[int, list[int]] | None:
    """(runwrap's pid, its children) for a running run, checked on the processes.

    `owner` comes from files the job can write (its open marker, its
    manifest), so it is believed only when the processes agree: the pid is
    alive with the recorded start time, on this host and boot, and has a
    child of the same user that carries the run's tag, or holds the run's
    log `log_path` open, as runwrap does for the whole run (between two
    attempts too, and for a job that cleared its environment). A pid the job chose
    (any process it could name) fails the check, since a process the job
    did not start has no child carrying its tag, nor the run's log open.
    """
    if not isinstance(owner, dict) or owner_alive(owner) is not True:
        return None
    pid, start = owner.get("pid"), owner.get("start")
    if not isinstance(pid, int) or isinstance(pid, bool) or not isinstance(start, int):
        return None
    if pid in (0, 1, os.getpid()):
        return None
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    uid = _uid(pid)
    children = []
    for name in names:
        if not name.isdigit():
            continue
        fields = proc_stat(name)
        try:
            parent = int(fields[1]) if fields else None
        except (IndexError, ValueError):
            continue
        if parent == pid and _uid(int(name)) == uid:
            children.append(int(name))
    tagged = any(carries_tag(child, run_id) for child in children)
    if not tagged and not (log_path and _holds(pid, log_path)):
        return None
    if start_ticks(pid) != start:  # again: the pid may have been reused meanwhile
        return None
    # Checked: its children are the job it started (a job that cleared its
    # environment too), processes it adopted, and its watcher.
    return pid, children
