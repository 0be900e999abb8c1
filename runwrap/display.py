"""Showing runs to people in a terminal: relative and absolute times, columns, safe cells."""

from __future__ import annotations

import json
import time

from runwrap.timefmt import parse_iso
from runwrap.units import format_duration


def when(iso_text: object, now: float) -> str:
    """'3m05s ago (04:37:33)': relative and absolute (local time; the date if not today)."""
    ts = parse_iso(iso_text)
    if ts is None:
        return "-"
    local = time.localtime(ts)
    same_day = time.strftime("%Y-%m-%d", local) == time.strftime("%Y-%m-%d", time.localtime(now))
    absolute = time.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M", local)
    return f"{format_duration(max(0.0, now - ts))} ago ({absolute})"


def age(iso_text: object, now: float) -> str:
    """How long ago, short: 3m05s."""
    ts = parse_iso(iso_text)
    return "-" if ts is None else format_duration(max(0.0, now - ts))


def table(rows: list[list[str]]) -> str:
    """Rows as left-aligned columns."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
    return "\n".join(lines)


def print_json(value: object) -> None:
    print(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


def clean(text: object, width: int = 40) -> str:
    """A value from a job, safe for one terminal cell: no control characters, bounded."""
    text = "".join(c if c.isprintable() else "?" for c in str(text))
    return text if len(text) <= width else text[: width - 1] + "\u2026"
