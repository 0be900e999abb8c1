"""Durations (90, 90s, 15m, 2h, 1d) and sizes (512, 10K, 256M, 1G) from people."""

from __future__ import annotations

from runwrap.errors import RunwrapError

_DURATION_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "gib": 1024**3,
    "t": 1024**4,
    "tb": 1024**4,
    "tib": 1024**4,
}


def _split_number(text: str) -> tuple[float, str]:
    text = text.strip()
    i = 0
    while i < len(text) and (text[i].isdigit() or text[i] == "."):
        i += 1
    number, unit = text[:i], text[i:].strip().lower()
    if not number or number.count(".") > 1:
        raise ValueError(text)
    return float(number), unit


def parse_duration(text: str | float | int, what: str = "duration") -> float:
    """Seconds from '90', '90s', '15m', '2h', '1d' (or a number from YAML)."""
    if isinstance(text, bool):
        raise RunwrapError(f"bad {what} {text!r}: use a number of seconds or 90s, 15m, 2h, 1d")
    if isinstance(text, (int, float)):
        if text < 0:
            raise RunwrapError(f"bad {what} {text!r}: must not be negative")
        return float(text)
    try:
        number, unit = _split_number(str(text))
        return number * _DURATION_UNITS[unit]
    except (ValueError, KeyError):
        raise RunwrapError(
            f"bad {what} {text!r}: use a number of seconds or 90s, 15m, 2h, 1d"
        ) from None


def parse_size(text: str | int, what: str = "size") -> int:
    """Bytes from '512', '10K', '256M', '1G' (binary multiples)."""
    if isinstance(text, bool):
        raise RunwrapError(f"bad {what} {text!r}: use bytes or 10K, 256M, 1G")
    if isinstance(text, int):
        if text < 0:
            raise RunwrapError(f"bad {what} {text!r}: must not be negative")
        return text
    try:
        number, unit = _split_number(str(text))
        return int(number * _SIZE_UNITS[unit])
    except (ValueError, KeyError):
        raise RunwrapError(f"bad {what} {text!r}: use bytes or 10K, 256M, 1G") from None


def parse_count(text: str | int, what: str) -> int:
    """A whole number >= 0."""
    if isinstance(text, bool):
        raise RunwrapError(f"bad {what} {text!r}: use a whole number")
    if isinstance(text, int):
        value = text
    else:
        try:
            value = int(str(text).strip())
        except ValueError:
            raise RunwrapError(f"bad {what} {text!r}: use a whole number") from None
    if value < 0:
        raise RunwrapError(f"bad {what} {text!r}: must not be negative")
    return value


def format_duration(seconds: float | None) -> str:
    """A duration as people read it, at any scale: 45 ms, 1.2 s, 3 min 12 s, 2 h 5 min, 3 d 4 h.

    The one formatter of the CLI, the site and the notices; each unit rounds into the
    next (59.7 s is "1 min"), and a zero second part is left out ("3 min").
    """
    if seconds is None or not -1e15 < seconds < 1e15:  # also NaN: no comparison holds
        return "-"
    if seconds < 0:
        return "-" + format_duration(-seconds)
    ms = round(seconds * 1000)
    if ms < 1000:
        return f"{ms} ms"
    tenths = round(seconds * 10)
    if tenths < 100:
        return f"{tenths // 10} s" if tenths % 10 == 0 else f"{tenths / 10:.1f} s"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return _pair(*divmod(s, 60), "min", "s")
    minutes = round(seconds / 60)
    if minutes < 1440:
        return _pair(*divmod(minutes, 60), "h", "min")
    return _pair(*divmod(round(seconds / 3600), 24), "d", "h")


def _pair(big: int, small: int, big_unit: str, small_unit: str) -> str:
    return f"{big} {big_unit} {small} {small_unit}" if small else f"{big} {big_unit}"


def count(n: int, noun: str) -> str:
    """'1 run', '3 runs', '0 run pages': a number of things, in English."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def format_size(n: int | None) -> str:
    """A short human size: 512 B, 1.5 KiB, 3.2 MiB."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"
