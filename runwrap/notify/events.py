"""When to tell: the events a finished run raises for one notifier (a pure function).

The nospam rule lives here. A notifier hears about a failure once (after
`after` failing runs in a row), about the recovery once (and only if it was
told about the failure), and in between only a reminder every
`remind_every`. What it was told is kept in the task state, per notifier:

    failing         this notifier has called the current failure a failure
    told            ... and a failure notice was queued for it
    since           when the current failure began
    last_notice_at  when the failure notice or the last reminder was queued
    late_since      a `late` notice was queued for the lateness that began then
                    (runwrap check decides it; the task's next run ends it)
    duration        a `duration` notice was queued for a run flagged "slow" or
                    "fast" (store/durations.py); the next successful run of
                    usual length ends it with a recovery
"""

from __future__ import annotations

from runwrap.store.durations import flag_of
from runwrap.store.manifest import FAILING, SKIPPED, SUCCESS
from runwrap.timefmt import iso, parse_iso

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.notify.notifiers import Notifier


def decide(
    notifier: Notifier, told: dict, state: dict, manifest: dict, now: float, acked: bool = False
) -> tuple[list[str], dict]:
    """(events, updated per-notifier record) for one finished run.

    `told` is the notifier's record in the old state, `state` the task state
    after the run (runwrap.store.state.next_state), `now` the time of the decision,
    `acked`: an operator acknowledged the current failure (no reminders).
    """
    on = notifier.on
    told = dict(told)
    status = manifest.get("status")
    events: list[str] = []
    # A run after a late notice ends the lateness (a skip does not: the run that
    # holds the lock will say how it ended). It then reports as news, either way.
    was_late = status != SKIPPED and told.pop("late_since", None) is not None
    streak = state.get("consecutive_failures") and state.get("failing_since")  # None: ok now
    if told.get("failing") and streak and told.get("since") != streak:
        # A failure this notifier missed the end of (it was not used for the task
        # for a while): what it was told is about another failure.
        for key in ("failing", "told", "since", "last_notice_at"):
            told.pop(key, None)
    if isinstance(manifest.get("stopped_by"), dict):
        # An operator's kill (runwrap kill --reason) is no failure and no recovery: the
        # task's state did not change (store/fold.py), so nobody is paged.
        pass
    elif status == SKIPPED:
        # Stuck is said once, when the K-th refusal in a row happens.
        if "stuck" in on and state.get("consecutive_skips") == notifier.stuck_after:
            events.append("stuck")
        elif "skipped" in on:
            events.append("skipped")
    elif status in FAILING and overtaken(state, manifest):
        # A failure that ended after a later run had already succeeded (--overlap allow):
        # the task is ok again, but nobody heard of the failure yet. Said once, with no
        # streak to remember (the recovery happened before it).
        if "failure" in on:
            events.append("failure")
    elif status in FAILING:
        if not told.get("failing") or was_late:
            if state.get("consecutive_failures", 0) >= notifier.after:
                told["failing"] = True
                told["since"] = state.get("failing_since")
                told["last_notice_at"] = iso(now)
                if "failure" in on:
                    events.append("failure")
                    told["told"] = True
        elif "still-failing" in on and notifier.remind_every is not None and not acked:
            last = parse_iso(told.get("last_notice_at"))
            if last is None or now - last >= notifier.remind_every:
                events.append("still-failing")
                told["last_notice_at"] = iso(now)
    elif status == SUCCESS:
        flag = flag_of(manifest.get("duration_check"))
        # A duration told once: the same flag again is no news, a usual run ends it.
        was_odd = told.pop("duration", None) if told.get("duration") != flag else None
        if (told.get("told") or was_late or (was_odd and not flag)) and "recovery" in on:
            events.append("recovery")
        for key in ("failing", "told", "since", "last_notice_at"):
            told.pop(key, None)
        if flag and told.get("duration") != flag and "duration" in on:
            events.append("duration")
            told["duration"] = flag
    # `always` adds a notice only for runs that raised nothing more specific.
    if not events and "always" in on:
        events.append("always")
    return events, told


def overtaken(state: dict, manifest: dict) -> bool:
    """Whether a finished run went into the state beneath a later run that succeeded."""
    return state.get("last_run_id") != manifest.get("run_id") and state.get("status") == SUCCESS


def decide_late(notifier: Notifier, told: dict, lateness: dict) -> tuple[list[str], dict]:
    """(events, updated record) when runwrap check looks at a scheduled task.

    `lateness` is TaskLateness.as_json(). A task that becomes late is told
    once per lateness (dated by `late_since`); one that runs again while the
    record still says late (its runs do not use this notifier) gets the recovery here.
    """
    told = dict(told)
    since = told.get("late_since")
    if lateness.get("late"):
        if since == lateness.get("late_since") or "late" not in notifier.on:
            return [], told
        told["late_since"] = lateness.get("late_since")
        return ["late"], told
    if since is None:
        return [], told
    told.pop("late_since", None)
    return (["recovery"] if "recovery" in notifier.on else []), told
