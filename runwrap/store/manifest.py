"""A run as data: the manifest.json that runwrap writes and every reader reads.

The manifest is a plain dict (it is JSON on disk, and the hot path cannot
afford dataclasses' import time); its keys are listed once, here.
"""

import os
import time

from runwrap import SCHEMA
from runwrap.store.jsonio import read_json, write_json_atomic
from runwrap.store.layout import MANIFEST, OPEN, RUNS, RUNWRAP_FILES, is_gathered_copy
from runwrap.store.owner import hostname, lease_expired, owner_alive

RUNNING = "running"
SUCCESS = "success"
FAILED = "failed"
TIMEOUT = "timeout"
KILLED = "killed"
SKIPPED = "skipped"
LOST = "lost"
STATUSES = (RUNNING, SUCCESS, FAILED, TIMEOUT, KILLED, SKIPPED, LOST)
# Statuses that count as the task failing (skipped is neither failing nor healthy).
FAILING = frozenset({FAILED, TIMEOUT, KILLED, LOST})
FINISHED = frozenset({SUCCESS, FAILED, TIMEOUT, KILLED, SKIPPED, LOST})

MAX_ARTIFACTS = 1000  # a job that drops a million files must not stall runwrap

# Every key a manifest carries, with its value before anything is known.
FIELDS: dict[str, object] = {
    "schema": SCHEMA,
    "task": None,
    "run_id": None,
    "seq": None,
    "host": None,
    "user": None,
    "command": None,
    "status": RUNNING,
    "exit_code": None,
    "signal": None,
    "started_at": None,
    "ended_at": None,
    "duration_s": None,
    "pid": None,
    "pgid": None,
    "owner": None,
    "timeout_s": None,
    "heartbeat_timeout_s": None,
    "expect_duration_s": None,
    "duration_check": None,
    "heartbeat_at": None,
    "liveness": None,
    "feedback": {},
    "labels": {},
    "stdout_bytes": None,
    "stderr_bytes": None,
    "output_truncated": None,
    "artifacts": [],
    "attempts": [],
    "reason": None,
    "leftovers": None,
    "schedule": None,
    "written": None,
}


# The manifest as people read it, in the order a run's record shows it: (key, label,
# kind of value). `runwrap show` and the run page both draw from these.
RECORD = (
    ("exit_code", "Exit code", "text"),
    ("signal", "Signal", "text"),
    ("started_at", "Started", "time"),
    ("ended_at", "Ended", "time"),
    ("duration_s", "Duration", "duration"),
    ("command", "Command", "argv"),
    ("host", "Host", "text"),
    ("user", "User", "text"),
    ("timeout_s", "Timeout", "duration"),
    ("heartbeat_timeout_s", "Heartbeat timeout", "duration"),
    ("heartbeat_at", "Last heartbeat", "time"),
    ("stdout_bytes", "Stdout size", "size"),
    ("stderr_bytes", "Stderr size", "size"),
    ("output_truncated", "Output truncated", "bool"),
    ("attempts", "Attempts", "list"),
)
# How runwrap tracked the run: shown folded away.
TRACKING = (
    ("pid", "PID", "text"),
    ("pgid", "Process group", "text"),
    ("owner", "Owner", "dict"),
    ("schema", "Schema", "text"),
)

_NONE = type(None)
# The keys readers use for more than display, with the JSON types each may hold (absent
# is fine: other writers than runwrap). Any other type makes a manifest unreadable.
TYPES: dict[str, tuple[type, ...]] = {
    "run_id": (str,),
    "status": (str,),
    "seq": (int, _NONE),
    "command": (list, _NONE),
    "exit_code": (int, _NONE),
    "started_at": (str, _NONE),
    "ended_at": (str, _NONE),
    "duration_s": (int, float, _NONE),
    "liveness": (str, _NONE),
    "reason": (str, _NONE),
    "feedback": (dict,),
    "labels": (dict,),
    "artifacts": (list,),
}
_ARTIFACT_TYPES = {"name": (str,), "size": (int, _NONE), "symlink": (bool, _NONE)}


def manifest_problem(run_id: str, manifest: object) -> str | None:
    """Why a parsed manifest cannot be used for run `run_id`, or None if it can."""
    if type(manifest) is not dict:
        return "not a JSON object"
    for key, types in TYPES.items():
        if key in manifest and type(manifest[key]) not in types:
            return f"its {key!r} has the wrong type"
    if "run_id" in manifest and manifest["run_id"] != run_id:
        return "its run_id names another run"
    for item in manifest.get("artifacts", ()):
        if type(item) is not dict or "name" not in item:
            return "an artifact without a name"
        for key, types in _ARTIFACT_TYPES.items():
            if key in item and type(item[key]) not in types:
                return f"an artifact's {key!r} has the wrong type"
    return None


def new_manifest(**values: object) -> dict:
    """A manifest with every key present; unknown keys are refused (they are typos)."""
    manifest = {k: (v.copy() if isinstance(v, (dict, list)) else v) for k, v in FIELDS.items()}
    for key, value in values.items():
        if key not in FIELDS:
            raise KeyError(key)
        manifest[key] = value
    return manifest


def manifest_path(run_path: str) -> str:
    return os.path.join(run_path, MANIFEST)


def write_manifest(run_path: str, manifest: dict, durable: bool = True) -> None:
    """Atomically replace the run's manifest.

    `durable=False` skips the fsyncs: still atomic for readers and against a
    crash of runwrap, only not against power loss. For the frequent updates
    of a running run, whose final record is always written durably.

    Each write records its writer and the writer's clock (`written`): set
    against the file's mtime, the storage's clock, it measures the writer's
    skew (store/hosts.py).
    """
    manifest["written"] = {"host": hostname(), "at": time.time()}
    write_json_atomic(manifest_path(run_path), manifest, fsync=durable, stamp=True)


def read_manifest(run_path: str) -> dict | None:
    """The run's manifest, or None while it is missing or unreadable ("not ready yet")."""
    value = read_json(manifest_path(run_path))
    return value if isinstance(value, dict) else None


def effective_status(manifest: dict, task_path: str = "", run_id: str = "") -> str:
    """The status a reader should show: a running run whose runwrap is gone is lost.

    The one judgement of an owner's death, on every host: where this host can
    check the owner's process (same host, boot and PID namespace) by it; where
    it cannot, by the run's lease, when the caller says where the run is
    (`task_path`, `run_id`): its open marker renewed too long ago, or taken
    over (openruns.take), is a lost run.
    """
    status = manifest.get("status")
    if status != RUNNING:
        return status if isinstance(status, str) else LOST
    owner = manifest.get("owner")
    alive = owner_alive(owner)
    if alive is False:
        return LOST
    if alive is None and task_path and run_id:
        try:
            mtime = os.lstat(os.path.join(task_path, OPEN, run_id)).st_mtime
        except OSError:
            mtime = None
        if mtime is None:
            # No marker: taken over (lost), or the run just ended and was recorded
            # after this manifest was read; its manifest now says which.
            again = read_json(os.path.join(task_path, RUNS, run_id, MANIFEST))
            still = isinstance(again, dict) and again.get("status") == RUNNING
            return LOST if still else RUNNING
        if is_gathered_copy(task_path):
            # Judged as of the host's push, and never probed: a copy is not written.
            from runwrap.store.gathered import copy_age

            if lease_expired(owner, copy_age(task_path, mtime, time.time())):
                return LOST
        else:
            # Imported here: only a run whose owner this host cannot check needs it, and
            # runwrap's start-up pays for every module on its path.
            from runwrap.store.hosts import lease_lapsed

            if lease_lapsed(owner, mtime, os.path.join(task_path, OPEN)):
                return LOST
    return RUNNING


def lease_age(task_path: str, run_id: str, now: float | None = None) -> float | None:
    """Seconds since run `run_id`'s owner last renewed its lease; None without a marker.

    In a copy gathered by rsync, as of the host's last push (store/gathered.py)."""
    try:
        mtime = os.lstat(os.path.join(task_path, OPEN, run_id)).st_mtime
    except OSError:
        return None
    now = time.time() if now is None else now
    if is_gathered_copy(task_path):
        from runwrap.store.gathered import copy_age

        return copy_age(task_path, mtime, now)
    from runwrap.store.hosts import probed_offset

    # Less this reader's lead on the storage's clock, where a verdict measured it (hosts.py).
    return max(0.0, now - probed_offset() - mtime)


def judge_run(manifest: dict, task_path: str, run_id: str) -> dict:
    """The manifest as readers show it (changed in place, and returned): its status
    judged (effective_status); for a run whose owner this host cannot check, the
    owner's pid and liveness word are not claimed, its lease's age is shown instead."""
    manifest["status"] = effective_status(manifest, task_path, run_id)
    if manifest["status"] == RUNNING and owner_alive(manifest.get("owner")) is None:
        age = lease_age(task_path, run_id)
        manifest["lease_age_s"] = None if age is None else round(age, 1)
        manifest["liveness"] = None
        manifest["pid"] = manifest["pgid"] = None
    return manifest


def mark_lost(manifest: dict, ended_at: str | None, reason: str | None = None) -> dict:
    """The final form of a run whose runwrap died before it could finish the record."""
    manifest = dict(manifest)
    manifest["status"] = LOST
    manifest["ended_at"] = ended_at
    manifest["pid"] = manifest["pgid"] = None
    manifest["liveness"] = None
    manifest["reason"] = reason or (
        "runwrap stopped before the run ended (killed, crashed, or the host rebooted); "
        "the job's outcome is unknown"
    )
    return manifest


def scan_artifacts(run_path: str) -> list[dict]:
    """Files the job left in its run directory, with sizes; links are listed, never followed."""
    found: list[dict] = []
    stack = [""]
    while stack and len(found) < MAX_ARTIFACTS:
        rel = stack.pop()
        try:
            entries = sorted(os.scandir(os.path.join(run_path, rel)), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            name = f"{rel}/{entry.name}" if rel else entry.name
            if not rel and (entry.name in RUNWRAP_FILES or entry.name.startswith(".")):
                continue
            try:
                if entry.is_symlink():
                    found.append({"name": name, "size": None, "symlink": True})
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(name)
                elif entry.is_file(follow_symlinks=False):
                    found.append({"name": name, "size": entry.stat(follow_symlinks=False).st_size})
            except OSError:
                continue
            if len(found) >= MAX_ARTIFACTS:
                break
    found.sort(key=lambda a: a["name"])
    return found
