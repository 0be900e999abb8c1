"""Is a task late? The one query every reader asks: ls, check, the metrics, sitegen.

The rule is schedule.lateness(); this module feeds it what the store knows:
the schedule the task's state carries (its zone stored by name when the run
was recorded, so no reader's own TZ matters) and the task's newest run in
start order: the largest (seq, run id) among the state's newest finished run
and the runs not finished yet. Any run counts, skipped ones included: each
proves that cron fired. While a run is going nothing is expected (the ticks
meanwhile go to a skipped or a waiting runwrap), and the expectation counts
from the later of the newest start and the end of the last run. Nothing here
raises for what a file holds: a state without a readable schedule is a task
without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from runwrap.store.layout import run_id_time
from runwrap.timefmt import iso, parse_iso


@dataclass(frozen=True)
class TaskLateness:
    """What a task's schedule says at a moment (times are Unix times)."""

    expr: str
    timezone: str | None
    grace_s: float
    next_expected: float | None  # the next run that should start; None: no expectation
    late: bool
    late_since: float | None  # when the first missed run should have started
    missed: int  # expected runs that did not happen
    last_run_at: float | None  # the start of the newest run (what proves cron fired)

    def as_json(self) -> dict:
        """The JSON form readers publish (ls --json, status files): ISO 8601 UTC times."""
        return {
            "schedule": self.expr,
            "timezone": self.timezone,
            "grace_s": self.grace_s,
            "next_expected": iso(self.next_expected),
            "late": self.late,
            "late_since": iso(self.late_since),
            "missed": self.missed,
            "last_run_at": iso(self.last_run_at),
        }


def schedule_of(state: object) -> dict | None:
    """The schedule a task's state carries, {expr, timezone, grace_s}, or None."""
    schedule = state.get("schedule") if isinstance(state, dict) else None
    if not isinstance(schedule, dict) or not isinstance(schedule.get("expr"), str):
        return None
    zone = schedule.get("timezone")
    grace = schedule.get("grace_s")
    return {
        "expr": schedule["expr"],
        "timezone": zone if isinstance(zone, str) else None,
        "grace_s": float(grace)
        if isinstance(grace, (int, float)) and not isinstance(grace, bool) and grace >= 0
        else None,
    }


def _seq(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def newest_run_id(state: object, unfinished: list[dict] | tuple = ()) -> str | None:
    """The task's newest run, in start order: the largest (seq, run id) of the state's
    newest finished run (any status) and the runs not finished yet.

    A state written before `newest_run_id` existed names its last run instead;
    without a seq for every candidate the run ids (start times) decide.
    """
    found: list[tuple[int | None, str]] = []
    for m in unfinished:
        if isinstance(m, dict):
            found.append((_seq(m.get("seq")), m.get("run_id")))
    if isinstance(state, dict):
        if isinstance(state.get("newest_run_id"), str):
            found.append((_seq(state.get("newest_seq")), state["newest_run_id"]))
        else:
            found.append((None, state.get("last_run_id")))
    found = [(s, i) for s, i in found if isinstance(i, str) and run_id_time(i) is not None]
    if not found:
        return None
    if all(s is not None for s, _ in found):
        return max(found)[1]
    return max(i for _, i in found)


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def _ts(when: datetime | None) -> float | None:
    return None if when is None else when.timestamp()


def task_lateness(
    state: object,
    newest: str | None = None,
    now: float | None = None,
    running: bool = False,
    shift: float = 0.0,
) -> TaskLateness | None:
    """The task's lateness at `now`, or None for a task without a (readable) schedule.

    `newest` is the task's newest run id (newest_run_id(); default: the
    state's); `running` says a run of the task is still going: nothing is
    expected then (ticks meanwhile go to a skipped or a waiting runwrap).
    `shift`: how far the clock that wrote the newest run's times runs ahead of
    the reader's (of_overview): taken off them before they are compared with now.
    """
    from runwrap.store import schedule as rule

    found = schedule_of(state)
    newest = newest or newest_run_id(state)
    started = run_id_time(newest) if isinstance(newest, str) else None
    if found is None or started is None:
        return None
    expr, zone, grace = found["expr"], found["timezone"], found["grace_s"]
    import time

    now = time.time() if now is None else now
    ended = parse_iso(state.get("last_ended_at"))
    # Ticks while the last run went were cron's too (skipped, or waiting for the lock).
    reference = (started if ended is None else max(started, ended)) - shift
    try:
        at = rule.lateness(expr, _utc(reference), _utc(now), grace, zone)
    except Exception:  # cronsim's errors, a bad zone, dates out of range: whatever a file held
        return None  # a schedule this version cannot read: no expectation
    if running:
        # @every counts from the end of the run; cron's next tick is shown as it comes.
        upcoming = None if rule.every_seconds(expr) else at.next_expected
        return TaskLateness(expr, zone, at.grace_s, _ts(upcoming), False, None, 0, started)
    return TaskLateness(
        expr,
        zone,
        at.grace_s,
        _ts(at.next_expected),
        at.late,
        _ts(at.late_since),
        at.missed,
        started,
    )


def silent_hosts(tasks: list[tuple[str, TaskLateness]]) -> list[tuple[str, float]]:
    """(host, newest run start) for each host whose scheduled tasks are all late at once.

    `tasks` pairs each scheduled task's host (of its newest run) with its
    lateness. One late task says little about cron; two or more on one host
    all late at once most likely mean that nothing runs there any more.
    """
    by_host: dict[str, list[TaskLateness]] = {}
    for host, lateness in tasks:
        if host:
            by_host.setdefault(host, []).append(lateness)
    found = []
    for host, items in sorted(by_host.items()):
        if len(items) >= 2 and all(item.late for item in items):
            last = max((i.last_run_at for i in items if i.last_run_at is not None), default=None)
            if last is not None:
                found.append((host, last))
    return found


def of_overview(root: str, item: dict, now: float | None = None) -> tuple[TaskLateness | None, str]:
    """(lateness, host of the newest run) for one item of overview.task_overview()."""
    unfinished = [*item.get("running", []), *item.get("lost", [])]
    state = item.get("state")
    newest = newest_run_id(state, unfinished)
    lateness = task_lateness(state, newest, now, bool(item.get("running")))
    if lateness is None:
        return None, ""
    manifest = next((m for m in unfinished if m.get("run_id") == newest), None)
    if manifest is None:
        from runwrap.store.lookup import read_run

        manifest = read_run(root, item["task"], newest) or {}
    host = manifest.get("host")
    host = host if isinstance(host, str) else ""
    if lateness.late:
        # Late by the raw clocks: allow for the skew of the host that wrote the newest
        # run's times and of this reader (hosts.py) before saying so.
        from runwrap.store.hosts import clocks, own_offset
        from runwrap.store.layout import task_dir

        known = clocks(item.get("clocks") or []).get(host)
        ahead = (known["offset_s"] if known else 0.0) - own_offset(task_dir(root, item["task"]))
        if ahead < 0:  # only a clock behind the reader's can make a task look late
            again = task_lateness(state, newest, now, bool(item.get("running")), ahead)
            lateness = again if again is not None else lateness
    return lateness, host
