"""The fold: a task's state as a pure function of its finished runs, in their order.

One owner for "what is the task's state, since when, how many in a row":
state.json is this fold's cache (store/state.py), every surface reads it
through the read model (store/query.py), and the feeds' changes come from
the same rule (periods()), so every surface tells the same story
(docs/on-disk.md, "One story").

Order is not time: runs are folded by `seq`, the number runwrap takes under
the task's lock when a run begins, then by run id (runs from before `seq`
existed sort first, by their start). A clock set wrong, a run that ends
after a later one began, or a skipped tick that ends before the long run
that made it skip: none of them reorders a task's history.

A skipped tick is never the task's last run or its state: it only counts
(`consecutive_skips`) and proves that cron fired (`newest_*`, for lateness).
"""

from runwrap import SCHEMA
from runwrap.store.durations import job_duration, pushed
from runwrap.store.manifest import FAILING, FINISHED, LOST, SKIPPED, SUCCESS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

# The version of the rule below: a state.json folded by another rule is rebuilt.
FOLD = 3

OK = "ok"
FAILING_HEALTH = "failing"
NEVER = "never"  # no run has said anything about the task's health yet


def health(status: object) -> str | None:
    """Return "ok", "failing", or None for a status that says nothing of health (skipped,
    running)."""
    if status == SUCCESS:
        return OK
    if isinstance(status, str) and status in FAILING:  # a job may have written any JSON
        return FAILING_HEALTH
    return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def order_key(manifest: dict) -> tuple[int, str]:
    """Where a run stands in its task's history: by seq, then run id."""
    return run_order(manifest.get("seq"), manifest.get("run_id"))


def run_order(seq: object, run_id: object) -> tuple[int, str]:
    """order_key() of a run whose seq and run id are at hand (no manifest to build)."""
    return (_int(seq) or 0, run_id if isinstance(run_id, str) else "")


def state_key(state: dict) -> tuple[int, str]:
    """order_key() of the newest run a state has folded ((0, "") for none)."""
    newest = state.get("newest_run_id")
    return (_int(state.get("newest_seq")) or 0, newest if isinstance(newest, str) else "")


def is_final(manifest: object) -> bool:
    """A manifest that records a finished run (readable, with a final status)."""
    return (
        isinstance(manifest, dict)
        and isinstance(manifest.get("status"), str)
        and manifest["status"] in FINISHED
        and isinstance(manifest.get("run_id"), str)
    )


def last_key(state: dict) -> tuple[int, str]:
    """order_key() of the last real (not skipped) run a state has folded."""
    last = state.get("last_run_id")
    return (_int(state.get("last_seq")) or 0, last if isinstance(last, str) else "")


def can_fold(state: dict, manifest: dict) -> bool:
    """Whether `manifest` folds onto `state` as it stands (else: fold the runs again).

    Newer than everything folded, it always does. A real run may also go
    beneath skipped ticks that all began after it: a job slower than its
    period ends after the ticks it made skip, and that must not cost a
    rebuild of its whole history on every run.
    """
    key = order_key(manifest)
    if key > state_key(state):
        return True
    if manifest.get("status") == SKIPPED or key <= last_key(state):
        return False
    skips_from = state.get("skips_from")
    return (
        isinstance(skips_from, list)
        and len(skips_from) == 2
        and (_int(skips_from[0]) or 0, str(skips_from[1])) > key
    )


def next_state(old: dict, manifest: dict) -> dict:
    """The state after one more finished run (a pure function; see can_fold() for when)."""
    new = dict(old)
    status = manifest.get("status")
    run_id = manifest.get("run_id")
    key = order_key(manifest)
    newest = key > state_key(old)
    new["schema"] = SCHEMA
    new["fold"] = FOLD
    new["task"] = manifest.get("task")
    for name in ("status", "since", "failing_since", "last_run_id", "last_status"):
        new.setdefault(name, None)
    new.setdefault("consecutive_failures", 0)
    new.setdefault("consecutive_skips", 0)
    if newest:
        # The newest run of any kind proves that cron fired (lateness reads it); the
        # schedule in force and the labels are its own: a crontab line is the source.
        new["newest_run_id"] = run_id
        new["newest_seq"] = _int(manifest.get("seq"))
        new["newest_started_at"] = manifest.get("started_at")
        new["newest_status"] = status
        # Its writer's clock at the write (manifest.write_manifest): the host's skew (hosts.py).
        written = manifest.get("written")
        new["newest_written"] = written if isinstance(written, dict) else None
        schedule = manifest.get("schedule")
        new["schedule"] = schedule if isinstance(schedule, dict) else None
        labels = manifest.get("labels")
        new["labels"] = labels if isinstance(labels, dict) else None
        windows = manifest.get("mute_windows")  # recurring silences: store/silences.py
        new["mute_windows"] = windows if isinstance(windows, list) else None
    if status == SKIPPED:
        if not new["consecutive_skips"]:
            new["skips_from"] = list(key)
        new["consecutive_skips"] += 1
        return new
    if newest:
        new["consecutive_skips"] = 0
        new["skips_from"] = None
    new["last_run_id"] = run_id
    new["last_seq"] = key[0]
    new["last_status"] = status
    new["last_started_at"] = manifest.get("started_at")
    new["last_ended_at"] = manifest.get("ended_at")
    exit_code = manifest.get("exit_code")
    new["last_exit_code"] = _int(exit_code)
    duration = manifest.get("duration_s")
    new["last_duration_s"] = duration if isinstance(duration, (int, float)) else None
    # The verdict on its duration was decided when it ended (store/durations.py).
    check = manifest.get("duration_check")
    new["last_duration_check"] = check if isinstance(check, dict) else None
    host = manifest.get("host")
    new["last_host"] = host if isinstance(host, str) else None
    stopped = manifest.get("stopped_by")
    new["last_stopped_by"] = stopped if isinstance(stopped, dict) else None
    if new["last_stopped_by"] is not None:
        # An operator's kill (runwrap kill --reason) says nothing of the task's health:
        # it is the last run, but the state, since and streak stay what they were.
        return new
    # "since" dates the task's health (ok or failing), not its last status: a
    # failure followed by a timeout is one failing period.
    if health(status) != health(old.get("status")):
        new["since"] = manifest.get("started_at")
    new["status"] = status
    if status == SUCCESS:
        new["consecutive_failures"] = 0
        new["failing_since"] = None  # the streak ended: nothing stale for readers to skip
        new["last_success_id"] = run_id
        new["last_success_ended_at"] = manifest.get("ended_at")
        new["durations"] = pushed(old.get("durations"), job_duration(manifest))  # baseline
    elif status in FAILING:
        if not old.get("consecutive_failures"):
            new["failing_since"] = manifest.get("started_at")
        new["consecutive_failures"] = (old.get("consecutive_failures") or 0) + 1
        new["last_failure_id"] = run_id
    return new


def fold(manifests: "Iterable[dict]", state: dict | None = None) -> dict:
    """The state that finished runs imply, folded in their order onto `state` ({} by default)."""
    state = {} if state is None else state
    for manifest in sorted((m for m in manifests if is_final(m)), key=order_key):
        state = next_state(state, manifest)
    return state


def periods(manifests: "Iterable[dict]") -> list[dict]:
    """The finished runs that began a health period, in order (the feeds' changes):
    a failure, or a recovery after one. A failure followed by a timeout is one period."""
    found = []
    previous = None
    for manifest in sorted((m for m in manifests if is_final(m)), key=order_key):
        now = None if isinstance(manifest.get("stopped_by"), dict) else health(manifest["status"])
        if now is None or now == previous:
            continue
        if previous is not None or now == FAILING_HEALTH:
            found.append(manifest)
        previous = now
    return found


def with_unfinished(
    state: dict, unfinished: "Iterable[dict]", finished: "Callable[[], list[dict]] | None" = None
) -> dict:
    """The state readers show: `state` with the unfinished runs that are lost folded on.

    A run whose owner is gone is lost before anyone finalizes it; folding it
    here, as its final manifest will be, keeps every surface (and the state
    the finalization writes later) on one story. Running runs change nothing.
    A lost run that cannot go on top (it began before a run that has finished
    since: --overlap allow) needs the task's `finished` runs: all are folded
    again with it, as the rebuild after its finalization will (rare).
    """
    lost = sorted((m for m in unfinished if m.get("status") == LOST), key=order_key)
    beneath = [m for m in lost if not can_fold(state, m) and order_key(m) <= state_key(state)]
    if beneath and finished is not None:
        return fold([*finished(), *lost])
    for manifest in lost:
        if can_fold(state, manifest):
            state = next_state(state, manifest)
    return state


def bucket(state: dict) -> str:
    """The task's bucket: "failing", "ok", or "never" (no run has told its health yet)."""
    return health(state.get("status")) or NEVER
