"""Showing runs to people in a terminal: relative and absolute times, columns, safe cells.

Every value shown comes from a file a job may have written: any JSON type
may be in any field. Each helper here takes `object` and returns a string
("-" when there is nothing sensible to show); none raises.
"""

from __future__ import annotations

import os
import sys
import time

from runwrap.timefmt import parse_iso, parse_iso_once


def number(value: object) -> float | None:
    """A finite number from a JSON value, or None (bools, strings, NaN and huge ints are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if _finite(value) else None


def _duration_words(seconds: float) -> str:
    """'3 min 5 s' (runwrap/units.py, loaded at the first one: ls's 80 columns show none)."""
    from runwrap.units import format_duration

    return format_duration(seconds)


def _size_words(size: int) -> str:
    """'1.5 MiB' (runwrap/units.py, loaded at the first one)."""
    from runwrap.units import format_size

    return format_size(size)


def _finite(value: float) -> bool:
    """Whether a float is finite, as math.isfinite says, without loading math (a shared
    library `runwrap ls` need not pay for)."""
    return value - value == 0.0  # inf - inf and NaN - NaN are NaN


def _timestamp(iso_text: object) -> float | None:
    ts = parse_iso(iso_text)
    return ts if ts is not None and _finite(ts) else None


def when(iso_text: object, now: float) -> str:
    """'3 min 5 s ago (04:37:33)': relative and absolute (local time; the date if not today)."""
    ts = _timestamp(iso_text)
    if ts is None:
        return "-"
    try:
        local = time.localtime(ts)
    except (OverflowError, OSError, ValueError):  # a year the C library cannot show
        return "-"
    absolute = time.strftime("%H:%M:%S" if _same_day(local, now) else "%Y-%m-%d %H:%M", local)
    return f"{_duration_words(max(0.0, now - ts))} ago ({absolute})"


_today: tuple[float, object, tuple[int, ...]] = (float("nan"), None, ())


def _same_day(local: time.struct_time, now: float) -> bool:
    """Whether `local` falls on the local day of `now` (worked out once per `now` and zone)."""
    global _today
    # A table's rows share one `now`: history shows thousands. time.tzset() makes a new
    # tzname tuple: a process that changes its zone gets its new "today".
    if _today[0] != now or _today[1] is not time.tzname:
        _today = (now, time.tzname, tuple(time.localtime(now)[:3]))  # year, month, day
    return local[:3] == _today[2]


def clock(ts: float, now: float) -> str:
    """A moment in local time, short: 10:05 today, else 2026-11-22 10:05."""
    try:
        local = time.localtime(ts)
    except (OverflowError, OSError, ValueError):
        return "-"
    return time.strftime("%H:%M" if _same_day(local, now) else "%Y-%m-%d %H:%M", local)


def due(ts: float | None, now: float) -> str:
    """When a run is expected: 'in 3 min 5 s (10:20)', or '4 min ago (10:05)' once past."""
    if ts is None:
        return "-"
    if ts >= now:
        return f"in {_duration_words(ts - now)} ({clock(ts, now)})"
    return f"{_duration_words(now - ts)} ago ({clock(ts, now)})"


def late_text(lateness, now: float) -> str:
    """'late since 10:05, 3 missed' for a late task; 'on time' for one that is not."""
    if not lateness.late:
        return "on time"
    return f"late since {clock(lateness.late_since, now)}, {lateness.missed} missed"


def silence_lines(scheduled: list, now: float) -> list[str]:
    """'no runs on HOST since 09:58: is cron running?' where all scheduled tasks are late."""
    if not scheduled:
        return []
    from runwrap.store.lateness import silent_hosts

    return [
        f"no runs on {clean(host, 64)} since {clock(since, now)}: is cron running?"
        for host, since in silent_hosts(scheduled)
    ]


def skew_lines(samples: list) -> list[str]:
    """'clock of HOST runs 5m ahead of ROOT's storage: ...' for each host flagged
    (store/hosts.py: its newest sample off by more than half the default lease)."""
    if not samples:
        return []
    from runwrap.store.hosts import clocks

    lines = []
    for host, known in clocks(samples).items():
        if known["skewed"]:
            offset = known["offset_s"]
            side = "ahead of" if offset > 0 else "behind"
            lines.append(
                f"clock? {clean(host, 64)} runs {short_duration(abs(offset))} {side} "
                "the storage's clock: its times are off by that (leases and lateness allow for it)"
            )
    return lines


def push_lines(root: str, now: float) -> list[str]:
    """'no push from HOST since 09:58: ...' for each gathered host that stopped pushing."""
    from runwrap.store.layout import HOSTS

    if not os.path.isdir(os.path.join(root, HOSTS)):
        return []  # no hosts gathered here: not even the module is loaded (ls's budget)
    from runwrap.store.gathered import gathered_hosts

    return [
        f"no push from {clean(h['host'], 64)} since {clock(h['pushed_at'], now)}: "
        "its copy is stale, its running runs read as lost"
        for h in gathered_hosts(root, now)
        if h["silent"]
    ]


def timestamp(iso_text: object) -> float | None:
    """The Unix time of a manifest's time field, or None (not one, or out of range)."""
    return _timestamp(iso_text)


def timestamp_once(iso_text: object) -> float | None:
    """timestamp() of a time read once (a history's starts: remembering each costs more)."""
    ts = parse_iso_once(iso_text)
    return ts if ts is not None and _finite(ts) else None


def short_duration(seconds: object) -> str:
    """A duration in at most two units, no spaces, for narrow columns: 45ms, 1.2s, 3m12s, 2h5m."""
    value = number(seconds)
    if value is None or value < 0 or value >= 1e12:
        return "-"
    if value < 1:
        return f"{round(value * 1000)}ms"
    if value < 9.95:
        return f"{value:.1f}s"
    s = round(value)
    for size, unit, small, small_unit in ((86400, "d", 3600, "h"), (3600, "h", 60, "m")):
        if s >= size:
            big, rest = divmod(s, size)
            rest //= small
            return f"{big}{unit}{rest}{small_unit}" if rest else f"{big}{unit}"
    if s >= 60:
        return f"{s // 60}m{s % 60}s" if s % 60 else f"{s // 60}m"
    return f"{s}s"


def short_age(seconds: float) -> str:
    """How long, in one unit and rounded down, as kubectl says it: 45s, 3m, 2h, 12d."""
    s = int(max(0.0, seconds))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if s >= size:
            return f"{s // size}{unit}"
    return f"{s}s"


def ago(iso_text: object, now: float) -> str:
    """'3m ago' for a manifest's time field; '-' for none."""
    ts = _timestamp(iso_text)
    return "-" if ts is None else f"{short_age(now - ts)} ago"


def terminal_width() -> int | None:
    """The width to fit: $COLUMNS, else stdout's terminal; None when writing to a file or pipe
    (then nothing is cut: a script or a pager gets the whole text)."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns or None
    except (AttributeError, ValueError, OSError):  # no stdout, a closed one, not a terminal
        return None


def fit(rows: list[list[str]], width: int | None, shrink: tuple[tuple[int, int], ...]) -> None:
    """Cut cells so that table(rows) is at most `width` wide: each (column, least) of `shrink`
    in turn gives way, down to `least` characters; a cell cut ends in an ellipsis. In place."""
    if width is None or not rows:
        return
    widths = [max(map(len, column)) for column in zip(*rows)]
    excess = sum(widths) + 2 * (len(widths) - 1) - width
    for index, least in shrink:
        cut = min(excess, widths[index] - least)
        if cut <= 0:
            continue
        excess -= cut
        widths[index] -= cut
        for row in rows:
            if len(row[index]) > widths[index]:
                row[index] = row[index][: widths[index] - 1] + "\u2026"


def age(iso_text: object, now: float) -> str:
    """How long ago: 3 min 5 s."""
    ts = _timestamp(iso_text)
    return "-" if ts is None else _duration_words(max(0.0, now - ts))


def duration(seconds: object) -> str:
    """A duration in seconds from a file (3 min 5 s); '-' if it is not a number."""
    value = number(seconds)
    return "-" if value is None else clean(_duration_words(value), 20)


def size(count: object) -> str:
    """A byte count from a file, short (1.5 KiB); '-' if it is not a count."""
    value = number(count)
    return "-" if value is None or value < 0 else clean(_size_words(int(value)), 20)


def cell(value: object, width: int = 40) -> str:
    """Any value as one safe cell: '-' for null, else clean()."""
    return "-" if value is None else clean(value, width)


def table(rows: list[list[str]], colours: list[list[str | None]] | None = None) -> str:
    """Rows of text (each cell drawn by a helper here, as fit() needs) as left-aligned
    columns; `colours` (an SGR code or None per cell) paints cells."""
    widths = [max(map(len, column)) for column in zip(*rows)]
    if colours is None:
        line = "  ".join(f"{{:<{w}}}" for w in widths)  # each cell left-aligned in its column
        return "\n".join([line.format(*row).rstrip() for row in rows])
    # The escape codes take no room on screen: each cell is padded by its text alone.
    return "\n".join(
        "  ".join(
            (f"\x1b[{code}m{text}\x1b[0m" if code else text) + " " * (width - len(text))
            for text, width, code in zip(row, widths, codes)
        ).rstrip()
        for row, codes in zip(rows, colours)
    )


def use_colour(choice: str) -> bool:
    """--color always/never, or auto: on a terminal, unless NO_COLOR is set or TERM is dumb.

    NO_COLOR (https://no-color.org) is any non-empty value; --color always overrides it.
    """
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # no stdout, or a closed one
        return False


MAX_DEPTH = 64  # a run's real data nests 4 deep; deeper is garbage a job wrote


def print_json(value: object) -> None:
    """JSON on stdout that any parser takes: UTF-8, no NaN, whatever the files held."""
    import json  # here: it imports re, which the plain tables of ls do without

    text = json.dumps(_plain(value, MAX_DEPTH), indent=2, sort_keys=True, ensure_ascii=False)
    # Undecodable bytes read from a file are lone surrogates here: written as \udcff
    # escapes, the output stays valid UTF-8 (and valid JSON).
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8", "backslashreplace") + b"\n")
    sys.stdout.flush()


def _plain(value: object, depth: int) -> object:
    """`value` as JSON can carry it: NaN and infinities as null, nesting cut at `depth`."""
    if isinstance(value, float) and not _finite(value):
        return None
    if isinstance(value, (dict, list)) and depth <= 0:
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v, depth - 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, depth - 1) for v in value]
    return value


def clean(text: object, width: int = 40) -> str:
    """A value from a job, safe for one terminal cell: no control characters, bounded."""
    try:
        text = text if isinstance(text, str) else str(text)
    except (RecursionError, ValueError):  # a deeply nested list; an int too long to print
        text = f"<{type(text).__name__}>"
    text = text[: width * 4]
    if not text.isprintable():
        text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def mapping(value: object) -> dict:
    """A JSON value a job may have written, as a dict ({} for anything else)."""
    return value if isinstance(value, dict) else {}


def items(value: object) -> list:
    """A JSON value a job may have written, as a list ([] for anything else)."""
    return value if isinstance(value, list) else []


def note_lines(v: dict, now: float) -> list[str]:
    """What operators said of a task (query.view's `muted`, `ack`, `retired`), one line each, with
    times in local time: "muted until 14:00, by alice: moving the NAS"."""
    stopped_by = (v.get("last_run") or {}).get("stopped_by")
    if not (v.get("retired") or v.get("muted") or v.get("ack") or stopped_by):
        return []  # what most tasks have: asked of every row of every list
    from runwrap.store.query import ack_text, killed_text, muted_text

    def at(text: str | None) -> str:
        ts = timestamp(text)
        return "-" if ts is None else clock(ts, now)

    stopped = killed_text(stopped_by)
    retired = v.get("retired")
    found = [
        f"retired by {retired.get('by') or '?'} at {at(retired.get('at'))}"
        " (listed because named; its next run brings it back)"
        if retired
        else "",
        muted_text(v.get("muted"), at),
        ack_text(v.get("ack"), at),
        f"last run {stopped} (an operator's kill: the state is unchanged)" if stopped else "",
    ]
    return [clean(line, 300) for line in found if line]
