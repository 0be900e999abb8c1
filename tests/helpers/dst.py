"""When Debian's cron fires a job, written from its man page, not from cronsim.

cron(8): a job whose time falls in an hour skipped by a change runs right
after the change; a fixed-time job in a repeated hour runs once (in the first
copy); a job with `*` in its minute or hour field runs in both copies and,
in a skipped hour, not at all. The oracle walks UTC minute by minute.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from runwrap.store.layout import new_run_id
from runwrap.timefmt import iso

UTC = timezone.utc
ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Tokyo"]
MINUTE = timedelta(minutes=1)


def _field(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        span, _, step = item.partition("/")
        a, b = (low, high) if span == "*" else map(int, (span.split("-") * 2)[:2])
        values.update(range(a, b + 1, int(step or 1)))
    return {0 if v == 7 and high == 7 else v for v in values}


class Cron:
    """One five-field expression (day of month and month `*` in this suite)."""

    def __init__(self, fields: str) -> None:
        minute, hour, _dom, _month, dow = fields.split()
        self.minutes, self.hours = _field(minute, 0, 59), _field(hour, 0, 23)
        self.days = _field(dow, 0, 7)
        self.wildcard = minute.startswith("*") or hour.startswith("*")

    def matches(self, wall: datetime) -> bool:
        return (
            wall.minute in self.minutes
            and wall.hour in self.hours
            and (wall.isoweekday() % 7) in self.days
        )

    def fires(self, zone: str, start: datetime, end: datetime) -> list[datetime]:
        """Every UTC minute in [start, end) at which cron runs the job."""
        tz = ZoneInfo(zone)
        found = []
        t = start
        previous = (t - MINUTE).astimezone(tz).replace(tzinfo=None)
        while t < end:
            local = t.astimezone(tz)
            wall = local.replace(tzinfo=None)
            fire = False
            if wall - previous > MINUTE and not self.wildcard:
                # A skipped hour: what fell in it runs now.
                skipped = previous + MINUTE
                while skipped < wall and not fire:
                    fire = self.matches(skipped)
                    skipped += MINUTE
            if self.matches(wall) and (self.wildcard or local.fold == 0):
                fire = True
            if fire:
                found.append(t)
            previous = wall
            t += MINUTE
        return found


def transitions(zone: str, year: int = 2027) -> list[datetime]:
    """The UTC instants (to the minute) at which `zone` changes its offset in `year`."""
    tz = ZoneInfo(zone)
    found = []
    t = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    step = timedelta(hours=1)
    while t < end:
        if t.astimezone(tz).utcoffset() != (t + step).astimezone(tz).utcoffset():
            u = t
            while u.astimezone(tz).utcoffset() == t.astimezone(tz).utcoffset():
                u += MINUTE
            found.append(u)
        t += step
    return found


def state(expr: str, zone: str, started: float, ended: float, grace=None) -> dict:
    """A task state whose newest run started at `started` and ended at `ended`."""
    run_id = new_run_id(started)
    return {
        "last_run_id": run_id,
        "newest_run_id": run_id,
        "last_status": "success",
        "last_started_at": iso(started),
        "last_ended_at": iso(ended),
        "schedule": {"expr": expr, "timezone": zone, "grace_s": grace},
    }
