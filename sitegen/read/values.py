"""Values from files a job could have written, made safe to show: strings, numbers, maps.

Everything in a manifest is untrusted (a job may rewrite its own): these turn any JSON
value into what a page, a feed or a JSON file can carry, or None.
"""

from __future__ import annotations

import math
import re

# What no page, feed or JSON file can carry: lone surrogates (JSON allows "\\ud800", and
# bytes that are not UTF-8 come as such), and the controls XML forbids.
_UNSHOWABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def as_str(value: object, limit: int = 2000) -> str | None:
    """A display string from an untrusted value (None stays None)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return _UNSHOWABLE.sub("\ufffd", text[:limit])


def as_num(value: object) -> float | None:
    """A finite number from an untrusted value, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def as_int(value: object) -> int | None:
    """An int from an untrusted value, else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def as_dict(value: object) -> dict[str, str]:
    """A str->str dict from an untrusted value, sorted by key for stable pages."""
    if not isinstance(value, dict):
        return {}
    return {
        as_str(k, 200) or "": as_str(v) or ""
        for k, v in sorted(value.items(), key=lambda i: str(i[0]))
    }
