"""systemd units for the tasks declared in the config: a oneshot .service and its .timer.

A cron schedule becomes OnCalendar= (two of them when cron's day-of-month
and day-of-week are both restricted: cron runs when either matches, a
calendar event needs both); an `every:` gap becomes OnUnitInactiveSec=.
"""

from __future__ import annotations

import itertools

from runwrap.declared import DeclaredTask, runwrap_argv
from runwrap.errors import RunwrapError
from runwrap.store.schedule import REBOOT, check, expression

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
# (low, high) of minute, hour, day of month, month, day of week (7 is Sunday too).
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def unit_name(task: str) -> str:
    """runwrap-<task>, escaped as systemd-escape does (unit names are ASCII)."""
    out = []
    for i, ch in enumerate(task):
        if ch.isascii() and (ch.isalnum() or ch in ":_" or (ch == "." and i > 0)):
            out.append(ch)
        else:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogateescape"))
    return "runwrap-" + "".join(out)


def _value(text: str, field: int) -> int:
    low, high = _RANGES[field]
    names = _MONTHS if field == 3 else _DAYS if field == 4 else None
    if names and text.lower() in names:
        return names.index(text.lower()) + (1 if field == 3 else 0)
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{text!r} is not a value systemd can use")
    return int(text)


def _expand(text: str, field: int) -> set[int]:
    """The values a cron field matches (names, ranges, steps, lists)."""
    low, high = _RANGES[field]
    values: set[int] = set()
    for item in text.split(","):
        span, _, step_text = item.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"{item!r}: systemd cannot express this step")
        if span == "*":
            start, end = low, high if field != 4 else 6
        elif "-" in span:
            a, b = span.split("-", 1)
            start, end = _value(a, field), _value(b, field)
        else:
            start = _value(span, field)
            end = (high if field != 4 else 6) if step else start
        if end < start:
            raise ValueError(f"{item!r}: a range that wraps around")
        values.update(range(start, end + 1, step or 1))
    if field == 4 and 7 in values:
        values = (values - {7}) | {0}
    return values


def _compact(values: set[int], field: int) -> str:
    """systemd's form of a set of values: *, a/step, a..b, lists."""
    low, high = _RANGES[field]
    if field == 4:
        if values == set(range(7)):
            return "*"
        # Weekdays Mon..Sun in systemd's order, runs of them as ranges.
        order = [1, 2, 3, 4, 5, 6, 0]
        chosen = [d for d in order if d in values]
        runs, run = [], [chosen[0]]
        for day in chosen[1:]:
            if order.index(day) == order.index(run[-1]) + 1:
                run.append(day)
            else:
                runs.append(run)
                run = [day]
        runs.append(run)
        return ",".join(
            _DAY_NAMES[r[0]] if len(r) == 1 else f"{_DAY_NAMES[r[0]]}..{_DAY_NAMES[r[-1]]}"
            for r in runs
        )
    if values == set(range(low, high + 1)):
        return "*"
    ordered = sorted(values)
    if len(ordered) > 2:
        step = ordered[1] - ordered[0]
        if all(b - a == step for a, b in itertools.pairwise(ordered)) and ordered[-1] + step > high:
            return f"{ordered[0]:02d}/{step}"
    parts, start = [], ordered[0]
    for prev, cur in zip(ordered, [*ordered[1:], None]):
        if cur != prev + 1:
            parts.append(f"{start:02d}" if start == prev else f"{start:02d}..{prev:02d}")
            start = cur
    return ",".join(parts)


def on_calendar(expr: str) -> list[str]:
    """OnCalendar= values for a cron expression (ValueError when systemd cannot say it)."""
    fields = expression(expr)
    if fields is None:
        raise ValueError(f"{expr!r} has no calendar form")
    parts = fields.split()
    if len(parts) != 5 or any(c in fields for c in "LW#?"):
        raise ValueError(f"{expr!r}: only the five standard cron fields can be converted")
    minute, hour, dom, month, dow = (_compact(_expand(p, i), i) for i, p in enumerate(parts))
    time_part = f"{hour}:{minute}:00"
    if not parts[2].startswith("*") and not parts[4].startswith("*"):
        # cron: either day field matches; a calendar event: both must. So two events.
        return [f"*-{month}-{dom} {time_part}", f"{dow} *-{month}-* {time_part}"]
    week = "" if dow == "*" else f"{dow} "
    return [f"{week}*-{month}-{dom} {time_part}"]


def exec_quote(word: str) -> str:
    """One ExecStart= word: specifiers (%) and variables ($) kept literal, quoted if need be."""
    text = word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return f'"{text}"' if not text or any(c in text for c in " \t'") else text


def units(
    task: DeclaredTask,
    root: str,
    config_file: str,
    user: str | None = None,
    program: str | None = None,
) -> dict[str, str]:
    """{file name: text} of the task's .service and .timer."""
    name = unit_name(task.name)
    argv = runwrap_argv(root, config_file, task.name, program)
    label = task.name.replace("\n", " ")
    service = [
        "[Unit]",
        f"Description=runwrap task {label}",
        "",
        "[Service]",
        "Type=oneshot",
        *([f"User={user}"] if user else []),
        "ExecStart=" + " ".join(exec_quote(w) for w in argv),
        "",
    ]
    if task.every is not None:
        when = [
            "OnActiveSec=0",  # a first run when the timer starts, then the gap after each
            f"OnUnitInactiveSec={task.every:g}s",
        ]
        said = f"{task.every:g}s after each run"
    elif " ".join(task.schedule.split()).lower() == REBOOT:
        when, said = ["OnBootSec=0"], "at boot"
    else:
        try:
            check(task.schedule, task.timezone)
            events = on_calendar(task.schedule)
        except (ValueError, RunwrapError) as e:
            raise RunwrapError(f"task {task.name!r}: schedule {e}") from None
        zone = f" {task.timezone}" if task.timezone else ""
        when = [f"OnCalendar={event}{zone}" for event in events]
        said = task.schedule
    timer = [
        "[Unit]",
        f"Description=runwrap task {label}: {said}",
        "",
        "[Timer]",
        *when,
        "AccuracySec=1s",  # cron's precision, not systemd's default minute
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ]
    return {f"{name}.service": "\n".join(service), f"{name}.timer": "\n".join(timer)}
