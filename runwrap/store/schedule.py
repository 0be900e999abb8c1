"""Schedules: when a task should run, and whether it is late (the one rule for lateness).

A schedule is a cron expression as crontab accepts it (five fields, names,
ranges, steps, and @hourly, @daily, @weekly, @monthly, @yearly, @annually,
@midnight; @reboot means "no expectation"), read in a time zone (the host's
unless CRON_TZ, TZ or the `timezone` setting says otherwise). cronsim, the
parser Healthchecks uses, does the calendar work; it is imported only here,
and this module only when a schedule is given or read.

A task is late when its next expected run, counted from the start of its
last run, is more than its grace in the past. Any run counts, skipped ones
included: a skipped tick still proves that cron fired.

`@every DURATION` is the schedule of a task that runs a fixed gap after its
last run ended (a systemd timer's OnUnitInactiveSec=, PyDog's frequency):
its next run is expected that gap after the end of the last run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from runwrap.errors import RunwrapError

_KEYWORDS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
REBOOT = "@reboot"
EVERY = "@every"
MIN_GRACE = 60.0
GRACE_SHARE = 0.2  # of the period: a five-minute job is late after one more minute
MAX_MISSED = 1000  # counting further says nothing more


@dataclass(frozen=True)
class Lateness:
    """What a schedule says of a task at a moment."""

    next_expected: datetime | None  # the next run that should start (None: no expectation)
    late: bool
    late_since: datetime | None  # when the first missed run should have started
    missed: int  # expected runs that did not happen


def _zone(name: str | None):
    """The tzinfo for a zone name; the host's zone when none is given."""
    name = name or os.environ.get("CRON_TZ") or os.environ.get("TZ") or None
    if name is None:
        return datetime.now().astimezone().tzinfo
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name.lstrip(":"))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise RunwrapError(
            f"unknown time zone {name!r}; use a name like Europe/Berlin or UTC"
        ) from None


def expression(expr: str) -> str | None:
    """The five-field form of a schedule; None for @reboot (no expectation) and @every."""
    text = " ".join(expr.split())
    if text.lower() == REBOOT or every_seconds(text) is not None:
        return None
    return _KEYWORDS.get(text.lower(), text)


def every_seconds(expr: str) -> float | None:
    """The gap of an `@every DURATION` schedule in seconds; None for any other schedule."""
    head, _, rest = expr.strip().partition(" ")
    if head.lower() != EVERY:
        return None
    from runwrap.units import parse_duration

    gap = parse_duration(rest.strip(), "@every")
    if gap <= 0:
        raise RunwrapError(f"bad schedule {expr!r}: the gap of @every must be more than 0")
    return gap


def every_schedule(seconds: float) -> str:
    """The schedule a task with `every: DURATION` records: `@every 90s`."""
    return f"{EVERY} {seconds:g}s"


def check(expr: str, zone: str | None = None) -> str:
    """Return the schedule as given if cron would accept it, else raise a one-line error."""
    tz = _zone(zone)
    if every_seconds(expr) is not None:
        return expr
    fields = expression(expr)
    if fields is None:
        return expr
    from cronsim import CronSim, CronSimError

    try:
        next(CronSim(fields, datetime.now(tz)))
    except (CronSimError, StopIteration, ValueError) as e:
        raise RunwrapError(
            f"bad schedule {expr!r}: {e}; use five cron fields (e.g. '*/5 * * * *') or @daily"
        ) from None
    return expr


def _fires(fields: str, after: datetime):
    from cronsim import CronSim

    return CronSim(fields, after)


def period(expr: str, zone: str | None = None, at: datetime | None = None) -> float | None:
    """Seconds between two expected runs around `at` (None for @reboot)."""
    gap = every_seconds(expr)
    if gap is not None:
        return gap
    fields = expression(expr)
    if fields is None:
        return None
    tz = _zone(zone)
    it = _fires(fields, (at or datetime.now(timezone.utc)).astimezone(tz))
    first = next(it)
    return (next(it) - first).total_seconds()


def default_grace(expr: str, zone: str | None = None) -> float:
    """A share of the period, at least a minute."""
    every = period(expr, zone)
    return MIN_GRACE if every is None else max(MIN_GRACE, GRACE_SHARE * every)


def lateness(
    expr: str,
    last_start: datetime,
    now: datetime,
    grace: float | None = None,
    zone: str | None = None,
) -> Lateness:
    """How late the task is at `now`, its last run having started at `last_start`.

    For `@every`, `last_start` is the end of the last run: the gap counts from there.
    """
    gap = every_seconds(expr)
    if gap is not None:
        grace = default_grace(expr, zone) if grace is None else grace
        expected = last_start + timedelta(seconds=gap)
        overdue = (now - expected).total_seconds() - grace
        if overdue <= 0:
            return Lateness(expected, False, None, 0)
        missed = min(MAX_MISSED, int(overdue // gap) + 1)
        return Lateness(expected + timedelta(seconds=gap * missed), True, expected, missed)
    fields = expression(expr)
    if fields is None:
        return Lateness(None, False, None, 0)
    tz = _zone(zone)
    grace = default_grace(expr, zone) if grace is None else grace
    it = _fires(fields, last_start.astimezone(tz))
    expected = next(it)
    if now <= expected + timedelta(seconds=grace):
        return Lateness(expected, False, None, 0)
    missed, upcoming = 1, next(it)
    while upcoming + timedelta(seconds=grace) < now and missed < MAX_MISSED:
        missed += 1
        upcoming = next(it)
    return Lateness(upcoming, True, expected, missed)
