"""UTC timestamps as the manifests write them, without importing datetime."""

import time


def iso(ts: float | None) -> str | None:
    """2026-11-22T04:37:33.123Z for a Unix time (None stays None)."""
    if ts is None:
        return None
    global _last_second
    whole = int(ts)
    millis = int((ts - whole) * 1000)
    second = _last_second
    if second[0] != whole:  # a build stamps each page it writes: most in the same second
        second = _last_second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{second[1]}.{millis:03d}Z"


_last_second: tuple[int | None, str] = (None, "")  # iso()'s last whole second, as text


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
_MIDNIGHTS: dict[str, float | None] = {}  # "2026-11-22T" -> that day's 00:00 UTC, or None


def _midnight(prefix: str) -> float | None:
    """The Unix time of a "YYYY-MM-DDT" prefix's midnight; None if it is not a date.

    Remembered: a history of thousands of runs spans few days.
    """
    try:
        return _MIDNIGHTS[prefix]
    except KeyError:
        pass
    value = None
    digits = prefix[0:4] + prefix[5:7] + prefix[8:10]
    if prefix[4] + prefix[7] + prefix[10] == "--T" and digits.isascii() and digits.isdigit():
        y, m, d = int(prefix[0:4]), int(prefix[5:7]), int(prefix[8:10])
        leap = m == 2 and y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
        if y >= 1 and 1 <= m <= 12 and 1 <= d <= _MONTH_DAYS[m - 1] + leap:
            value = _seconds(y, m, d, 0, 0, 0)
    if len(_MIDNIGHTS) < 4096:  # bounded whatever the files hold
        _MIDNIGHTS[prefix] = value
    return value


def _iso_seconds(text: str) -> float | None:
    """The whole seconds of iso()'s own shape (20 characters or more), read directly; else None.

    strptime costs 30 us a call (history reads thousands): this takes what iso()
    writes, and parse_iso leaves every other string to strptime, so both agree.
    """
    midnight = _midnight(text[:11])
    if midnight is None or text[13] + text[16] != "::":
        return None
    digits = text[11:13] + text[14:16] + text[17:19]
    if not digits.isascii() or not digits.isdigit():
        return None
    hours, rest = divmod(int(digits), 10000)
    minutes, seconds = divmod(rest, 100)
    if hours > 23 or minutes > 59 or seconds > 61:
        return None
    return midnight + (hours * 3600 + minutes * 60 + seconds)


_PARSED: dict[str, float | None] = {}  # parse_iso's answers, bounded (_PARSED_MAX)
_PARSED_MAX = 8192
_UNKNOWN = object()  # what _PARSED.get says for a string never parsed


def parse_iso(text: object) -> float | None:
    """A Unix time from an ISO 8601 UTC string written by iso(); None if it is not one.

    Remembered: a build reads each run's times on several pages (its row, the strip,
    the timeline, the chart, the clock check), a few microseconds each time.
    """
    if not isinstance(text, str):
        return None
    # get, not [] and KeyError: a history's thousands of starts are each asked once, and
    # a raised KeyError costs more than the miss (about a fifth of the call).
    value = _PARSED.get(text, _UNKNOWN)
    if value is not _UNKNOWN:
        return value
    value = _parse_iso(text)
    if len(text) > 40:
        return value  # not iso()'s: not kept (a manifest's value may be of any size)
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()  # what a build asks again is its recent runs': kept warm again
    _PARSED[text] = value
    return value


def parse_iso_once(text: object) -> float | None:
    """parse_iso for a string asked once (a history's thousands of starts): the same
    answer without the memo, whose miss and store cost more than the parse (1 us of 2)."""
    return _parse_iso(text) if isinstance(text, str) else None


def _parse_iso(text: str) -> float | None:
    if len(text) < 20 or not text.endswith("Z"):
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
