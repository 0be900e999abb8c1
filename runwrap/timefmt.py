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
    return _seconds(t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


def _seconds(y: int, m: int, d: int, hh: int, mm: int, ss: int) -> float:
    # Days from civil (Howard Hinnant's algorithm): exact for the proleptic Gregorian calendar.
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return float(days * 86400 + hh * 3600 + mm * 60 + ss)


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _iso_seconds(text: str) -> float | None:
    """The whole seconds of iso()'s own shape (20 characters or more), read directly; else None.

    strptime costs 30 us a call (history reads thousands): this takes what iso()
    writes, and parse_iso leaves every other string to strptime, so both agree.
    """
    if text[4] + text[7] + text[10] + text[13] + text[16] != "--T::":
        return None
    digits = text[0:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19]
    if not digits.isascii() or not digits.isdigit():
        return None
    y, m, d = int(text[0:4]), int(text[5:7]), int(text[8:10])
    hh, mm, ss = int(text[11:13]), int(text[14:16]), int(text[17:19])
    if y < 1 or not 1 <= m <= 12 or hh > 23 or mm > 59 or ss > 61:
        return None
    leap = m == 2 and y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    if not 1 <= d <= _MONTH_DAYS[m - 1] + leap:
        return None
    return _seconds(y, m, d, hh, mm, ss)


def parse_iso(text: object) -> float | None:
    """A Unix time from an ISO 8601 UTC string written by iso(); None if it is not one."""
    if not isinstance(text, str) or len(text) < 20 or not text.endswith("Z"):
        return None
    whole = _iso_seconds(text)
    if whole is None:
        try:
            whole = timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
        except ValueError:
            return None
    frac = 0.0
    if len(text) > 20 and text[19] == ".":
        try:
            frac = float("0" + text[19:-1])
        except ValueError:
            return None
    return whole + frac
