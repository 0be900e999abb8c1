"""Schedules: when a task should run, and whether it is late (the one rule for lateness).

A schedule is what crontab accepts: five fields (numbers, `*`, ranges,
lists, steps, month and weekday names) or @hourly, @daily, @weekly,
@monthly, @yearly, @annually, @midnight; @reboot means "no expectation".
cronsim, the parser Healthchecks uses, does the calendar work (DST skips and
repeats as Debian's cron does them, day-of-month OR day-of-week); what it
accepts beyond crontab (six fields with seconds, `L`, `W`, `#`, `?`) is
refused here before it ever reaches it.

The arithmetic is in UTC instants: cronsim gives each expected start in the
schedule's zone (zones.py), converted to UTC once, and a grace is an elapsed
duration added to that instant, so a repeated or skipped hour neither
stretches nor shrinks it. A task is late when the first run expected after
its newest run (lateness.py says which) is more than its grace in the past.
The default grace is a fifth of the gap from that expected run to the next
(at least a minute): a property of the schedule and of the expected run, so
it does not change between two reads.

`@every DURATION` is the schedule of a task that runs a fixed gap after its
last run ended (a systemd timer's OnUnitInactiveSec=, PyDog's frequency).

Importing this module costs nothing more than `os`: a tick whose schedule is
already recorded only calls record().
"""

from __future__ import annotations

from runwrap.errors import RunwrapError
from runwrap.store import zones

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
GRACE_SHARE = 0.2  # of the gap: a five-minute job is late after one more minute
MAX_MISSED = 1000  # counting further says nothing more
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# crontab(5)'s fields: (what, lowest, highest, names from 0 for `lowest`).
_FIELDS = (
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day of month", 1, 31, None),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)


class Lateness:
    """What a schedule says of a task at a moment (times are aware UTC datetimes)."""

    __slots__ = ("grace_s", "late", "late_since", "missed", "next_expected")

    def __init__(self, next_expected, late: bool, late_since, missed: int, grace_s: float) -> None:
        self.next_expected = next_expected  # the next run that should start (None: no expectation)
        self.late = late
        self.late_since = late_since  # when the first missed run should have started
        self.missed = missed  # expected runs that did not happen
        self.grace_s = grace_s  # the grace of next_expected

    def __repr__(self) -> str:
        return f"Lateness({', '.join(f'{k}={getattr(self, k)!r}' for k in self.__slots__)})"


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


def _value(text: str, low: int, high: int, names: list[str] | None) -> int:
    if names is not None and text.lower() in names:
        return low + names.index(text.lower())
    if not text.isdigit() or not text.isascii() or not low <= int(text) <= high:
        raise ValueError(f"{text!r} is not {low}-{high}")
    return int(text)


def _check_field(text: str, what: str, low: int, high: int, names: list[str] | None) -> None:
    """One field as crontab(5) reads it: `*`, N, N-M, each with /STEP after `*` or a range."""
    for item in text.split(","):
        span, slash, step = item.partition("/")
        try:
            if slash and (not step.isdigit() or not step.isascii() or not 1 <= int(step) <= high):
                raise ValueError(f"step {step!r}")
            if span == "*":
                continue
            first, dash, last = span.partition("-")
            a = _value(first, low, high, names)
            if dash and a > _value(last, low, high, names):
                raise ValueError(f"range {span!r} runs backwards")
            if slash and not dash:
                raise ValueError("a step needs * or a range before it")
        except ValueError as e:
            raise RunwrapError(f"bad {what} {item!r} ({e})") from None


def _grammar(fields: str) -> str:
    """`fields` if crontab would accept them, else a RunwrapError naming the bad part."""
    parts = fields.split()
    if len(parts) != 5:
        raise RunwrapError(f"{len(parts)} fields where crontab has 5")
    for part, (what, low, high, names) in zip(parts, _FIELDS):
        _check_field(part, what, low, high, names)
    return fields


def check(expr: str, zone: str | None = None) -> str:
    """Return the schedule as given if crontab would accept it, else raise a one-line error.

    `zone`, when given, must be a zone every reader can load (zones.load()).
    """
    if zone is not None and zones.load(zone) is None:
        raise RunwrapError(f"unknown time zone {zone!r}; use a name like Europe/Berlin or UTC")
    if every_seconds(expr) is not None:
        return expr
    fields = expression(expr)
    if fields is None:
        return expr
    from datetime import datetime, timezone

    from cronsim import CronSim, CronSimError

    try:
        _grammar(fields)
        next(CronSim(fields, datetime.now(timezone.utc)))
    except (RunwrapError, CronSimError, StopIteration, ValueError) as e:
        raise RunwrapError(
            f"bad schedule {expr!r}: {e}; use five cron fields (e.g. '*/5 * * * *') or @daily"
        ) from None
    return expr


def record(
    expr: str,
    zone_option: str | None,
    grace: float | None,
    environ: dict[str, str],
    recorded: object = None,
) -> dict:
    """The schedule a run records in its manifest: {expr, timezone, timezone_from, grace_s}.

    The zone is decided here, once, from what runwrap sees of cron (zones.py)
    and stored by name. A tick with the schedule and zone source `recorded`
    already holds costs no parsing; a bad expression raises (exit 125, nothing
    written yet); a zone that cannot be read is UTC with one warning.
    """
    found = zones.source(zone_option, environ)
    key = zones.source_key(found)
    if (
        isinstance(recorded, dict)
        and recorded.get("expr") == expr
        and recorded.get("timezone_from") == key
        and isinstance(recorded.get("timezone"), str)
    ):
        name = recorded["timezone"]
    else:
        check(expr)
        name, warning = zones.resolve(found)
        if warning is not None:
            from runwrap.say import warn

            warn(warning)
    return {"expr": expr, "timezone": name, "timezone_from": key, "grace_s": grace}


def _tz(zone: str | None):
    """The tzinfo of a recorded zone; the system's (by name) for records without one."""
    tz = zones.system_zone() if zone is None else zones.load(zone)
    if tz is None:
        raise RunwrapError(f"unknown time zone {zone!r}")
    return tz


def _fires(fields: str, tz, after):
    """Expected starts strictly after the instant `after`, as aware UTC datetimes, in order.

    cronsim walks fixed-time jobs in wall time and puts a repeated hour's run in
    its first copy: from a start in the second copy it can name an instant
    already past, which is no expectation.
    """
    from datetime import timezone

    from cronsim import CronSim, CronSimError

    _grammar(fields)
    after = after.astimezone(timezone.utc)
    try:
        walk = CronSim(fields, after.astimezone(tz))
    except CronSimError as e:  # a day no month has (Feb 30): only a record not runwrap's
        raise ValueError(str(e)) from None  # holds one (check() refuses it); callers skip
    for local in walk:
        instant = local.astimezone(timezone.utc)
        if instant > after:
            yield instant


def _grace(given: float | None, expected, following) -> float:
    if given is not None:
        return given
    return max(MIN_GRACE, GRACE_SHARE * (following - expected).total_seconds())


def period(expr: str, zone: str | None = None, at=None) -> float | None:
    """Elapsed seconds between the first two expected runs after `at` (None for @reboot)."""
    gap = every_seconds(expr)
    if gap is not None:
        return gap
    fields = expression(expr)
    if fields is None:
        return None
    from datetime import datetime, timezone

    it = _fires(fields, _tz(zone), at or datetime.now(timezone.utc))
    first = next(it)
    return (next(it) - first).total_seconds()


def default_grace(expr: str, zone: str | None = None, expected=None) -> float:
    """The grace of the run expected at `expected` (default: the next one): a share of the
    gap to the run after it, at least a minute."""
    gap = every_seconds(expr)
    if gap is not None:
        return max(MIN_GRACE, GRACE_SHARE * gap)
    fields = expression(expr)
    if fields is None:
        return MIN_GRACE
    from datetime import datetime, timezone

    if expected is None:
        expected = next(_fires(fields, _tz(zone), datetime.now(timezone.utc)))
    return _grace(None, expected, next(_fires(fields, _tz(zone), expected)))


def lateness(expr: str, reference, now, grace: float | None = None, zone: str | None = None):
    """How late the task is at `now` (a Lateness), no run having started since `reference`.

    For a cron schedule `reference` is the newest run's start (or the end of the
    last run, if later: ticks during a run went to a skipped or waiting runwrap);
    for `@every` it is the end of the last run. Times are aware datetimes.
    """
    from datetime import timedelta, timezone

    now = now.astimezone(timezone.utc)
    reference = reference.astimezone(timezone.utc)
    gap = every_seconds(expr)
    if gap is not None:
        grace = max(MIN_GRACE, GRACE_SHARE * gap) if grace is None else grace
        expected = reference + timedelta(seconds=gap)
        overdue = (now - expected).total_seconds() - grace
        if overdue <= 0:
            return Lateness(expected, False, None, 0, grace)
        missed = min(MAX_MISSED, int(overdue // gap) + 1)
        upcoming = expected + timedelta(seconds=gap * missed)
        return Lateness(upcoming, True, expected, missed, grace)
    fields = expression(expr)
    if fields is None:
        return Lateness(None, False, None, 0, grace if grace is not None else MIN_GRACE)
    it = _fires(fields, _tz(zone), reference)
    expected, following = next(it), next(it)
    expected_grace = _grace(grace, expected, following)
    if now <= expected + timedelta(seconds=expected_grace):
        return Lateness(expected, False, None, 0, expected_grace)
    missed, upcoming, after = 1, following, next(it)
    upcoming_grace = _grace(grace, upcoming, after)
    while upcoming + timedelta(seconds=upcoming_grace) < now and missed < MAX_MISSED:
        missed += 1
        upcoming, after = after, next(it)
        upcoming_grace = _grace(grace, upcoming, after)
    return Lateness(upcoming, True, expected, missed, upcoming_grace)


def next_opening(expr: str, zone: str | None, now: float) -> float | None:
    """When (UTC seconds) a window of `expr` in `zone` next opens after `now` (window_at's
    starts), or None for an expression that names no time."""
    from datetime import datetime, timezone

    fields = expression(expr)
    if fields is None:
        return None
    return next(_fires(fields, _tz(zone), datetime.fromtimestamp(now, timezone.utc))).timestamp()


def window_at(expr: str, zone: str | None, length_s: float, now: float):
    """(start, end) as UTC seconds of the window open at `now`, or None: a window opens at
    each time the cron expression names in `zone` and lasts `length_s` elapsed seconds
    (the recurring mute windows of store/silences.py; DST as for schedules)."""
    from datetime import datetime, timedelta, timezone

    fields = expression(expr)
    if fields is None:
        return None
    at = datetime.fromtimestamp(now, timezone.utc)
    # The first start after (now - length) is the only one that can still be open.
    start = next(_fires(fields, _tz(zone), at - timedelta(seconds=length_s)))
    if start > at:
        return None
    opened = start.timestamp()
    return opened, opened + length_s
