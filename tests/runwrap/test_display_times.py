"""Times shown to people in local time (runwrap/commands/display.py): "today" is the local
day of `now` in the zone the process has now, even when a process changes its zone."""

from __future__ import annotations

import os
import time

from runwrap.commands.display import clock, when
from runwrap.timefmt import iso, parse_iso


def _in_zone(zone: str | None) -> None:
    if zone is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = zone
    time.tzset()


def test_today_follows_a_change_of_time_zone_within_the_process():
    ts = parse_iso("2026-11-22T23:30:00.000Z")
    now = ts + 3600  # 00:30 UTC the next day; in UTC-2 both fall on the 22nd
    before = os.environ.get("TZ")
    try:
        _in_zone("UTC0")
        assert clock(ts, now) == "2026-11-22 23:30"
        _in_zone("XXX+2")  # POSIX: two hours west of UTC
        assert clock(ts, now) == "21:30"
        assert when(iso(ts), now) == "1 h ago (21:30:00)"
        _in_zone("UTC0")
        assert when(iso(ts), now) == "1 h ago (2026-11-22 23:30)"
    finally:
        _in_zone(before)
