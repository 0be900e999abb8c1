"""UTC timestamps as the manifests write them, without importing datetime."""

from __future__ import annotations

import time


def iso(ts: float | None) -> str | None:
    """2026-11-22T04:37:33.123Z for a Unix time (None stays None)."""
    if ts is None:
        return None
    whole = int(ts)
    millis = int((ts - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def timegm(t: time.struct_time) -> float:
    """Inverse of time.gmtime (calendar.timegm without importing calendar)."""
    y, m = t.tm_year, t.tm_mon
    # Days from civil (Howard Hinnant's algorithm): exact for the proleptic Gregorian calendar.
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + t.tm_mday - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return float(days * 86400 + t.tm_hour * 3600 + t.tm_min * 60 + t.tm_sec)


def parse_iso(text: object) -> float | None:
    """A Unix time from an ISO 8601 UTC string written by iso(); None if it is not one."""
    if not isinstance(text, str) or len(text) < 20 or not text.endswith("Z"):
        return None
    try:
        base = time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    frac = 0.0
    if len(text) > 20 and text[19] == ".":
        try:
            frac = float("0" + text[19:-1])
        except ValueError:
            return None
    return timegm(base) + frac
