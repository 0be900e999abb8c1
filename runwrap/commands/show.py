"""runwrap show: one run, as `systemctl status` shows a unit.

A coloured state line first (for the task's latest run, the task's state as
the read model tells it: "failed since 09:04, 3 in a row"), then only the
fields that have a value, in the order of a run's record (manifest.RECORD),
then the last lines of its output.
"""

from __future__ import annotations

import time

from runwrap.commands.display import (
    age,
    clean,
    clock,
    duration,
    items,
    mapping,
    note_lines,
    number,
    print_json,
    short_age,
    size,
    terminal_width,
    timestamp,
    use_colour,
    when,
)
from runwrap.commands.tail import log_tail
from runwrap.errors import ExitCode
from runwrap.store.durations import describe
from runwrap.store.fold import health
from runwrap.store.layout import STDERR, STDOUT, run_dir
from runwrap.store.lookup import load_run
from runwrap.store.manifest import RECORD, RUNNING
from runwrap.store.query import find_run, lateness_of, task_record, view

_GREEN, _RED, _YELLOW, _CYAN = "32", "31", "33", "36"
_HEALTH_COLOUR = {"ok": _GREEN, "failing": _RED}


def cmd_show(root: str, ref: str, as_json: bool, color: str = "auto") -> int:
    """One run in full: its task and state line, the fields it has, its output's last lines."""
    task, run_id = find_run(root, ref)
    m = load_run(root, task, run_id)
    if as_json:
        print_json(m)
        return ExitCode.OK
    now = time.time()
    width = terminal_width()
    paint = use_colour(color)
    state, colour = _state_line(root, task, run_id, m, now)
    mark = f"\x1b[{colour}m\u25cf\x1b[0m" if paint and colour else "\u25cf"
    name = clean(task, 1000)
    print(f"{mark} {name if width is None else _cut(name, width - 2)}")
    notes = [("Note", line) for line in note_lines(_task_view(root, task, now), now)]
    fields = [("State", state), *notes, *_fields(root, task, run_id, m, now)]
    label_width = max(len(label) for label, _value in fields) + 1
    for label, value in fields:
        line = f"{label + ':':>{label_width + 1}} {value}"
        line = line if width is None else _cut(line, width)
        if label == "State" and paint and colour:  # the state in its colour, as systemctl's
            line = f"{line[: label_width + 2]}\x1b[{colour}m{line[label_width + 2 :]}\x1b[0m"
        print(line)
    for heading, lines in _lists(m):
        print(f"{heading + ':':>{label_width + 1}}")
        for line in lines:
            line = " " * (label_width + 2) + line
            print(line if width is None else _cut(line, width))
    _print_output_tail(root, task, run_id, width)
    return ExitCode.OK


def _task_view(root: str, task: str, now: float) -> dict:
    """The read model's view of the task (for what operators said of it)."""
    record = task_record(root, task)
    lateness, _host = lateness_of(root, record, now)
    return view(record, None if lateness is None else lateness.as_json())


def _cut(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 1] + "\u2026"


def _state_line(root: str, task: str, run_id: str, m: dict, now: float) -> tuple[str, str | None]:
    """("failed since 09:04 (12m ago), 3 in a row", its SGR colour).

    For the task's latest run, what the read model says of the task (since
    when, how many in a row, late); a running run, how long it has run; any
    other run, its own status and when it began.
    """
    status = m.get("status")
    if status == RUNNING:
        liveness = m.get("liveness")
        started = timestamp(m.get("started_at"))
        line = f"running for {age(m.get('started_at'), now)}"
        if started is not None:
            line += f" (since {clock(started, now)})"
        if isinstance(liveness, str) and liveness != RUNNING:
            line += f", {clean(liveness, 12)}"  # silent, stalled: the heartbeat stopped
        lease = m.get("lease_age_s")  # its owner elsewhere (store/manifest.judge_run)
        if isinstance(lease, (int, float)) and not isinstance(lease, bool):
            line += f", lease renewed {duration(lease)} ago"
        return line, _CYAN
    record = task_record(root, task)
    lateness, _host = lateness_of(root, record, now)
    v = view(record, None if lateness is None else lateness.as_json())
    last = v["last_run"] or {}
    if last.get("run_id") == run_id:
        since = timestamp(v["since"])
        line = clean(v["status"] or "no state yet", 20)
        if since is not None:
            line += f" since {clock(since, now)} ({short_age(now - since)} ago)"
        streak = v["consecutive_failures"]
        if isinstance(streak, int) and streak > 1:  # state.json is a file: any JSON
            line += f", {streak} in a row"
        if lateness is not None and lateness.late and lateness.late_since is not None:
            line += f"; late since {clock(lateness.late_since, now)}, {lateness.missed} missed"
        return line, _HEALTH_COLOUR.get(v["state"])
    # Not the latest: the run's own status, and when it began.
    line = clean(status, 20)
    started = timestamp(m.get("started_at"))
    if started is not None:
        line += f" at {clock(started, now)} ({short_age(now - started)} ago)"
    if last.get("run_id") and last.get("run_id") != run_id:
        line += f"; the task's latest run is {clean(last['run_id'], 64)}"
    return line, _HEALTH_COLOUR.get(health(status) or "")


def _value(kind: str, value: object, now: float) -> str | None:
    """One field of the record, readable; None when it has nothing to show."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    if kind == "time":
        shown = when(value, now)
    elif kind == "duration":
        shown = duration(value)
    elif kind == "size":
        shown = size(value)
    elif kind == "bool":
        return "yes" if value is True else None
    elif kind == "argv" and isinstance(value, list):
        import shlex

        shown = clean(shlex.join(clean(v, 1000) for v in value), 1000)
    else:
        shown = clean(value, 1000)
    return None if shown == "-" else shown


def _fields(root: str, task: str, run_id: str, m: dict, now: float) -> list[tuple[str, str]]:
    """(label, value) of every field the run has, in the record's reading order."""
    fields = [("Run", run_id)]
    reason = _value("text", m.get("reason"), now)
    if reason:
        fields.append(("Reason", reason))
    for key, label, kind in RECORD:
        if kind == "list":
            continue  # attempts: a list of its own below
        shown = _value(kind, m.get(key), now)
        if shown is not None:
            fields.append((label, shown))
        check = m.get("duration_check")
        if key == "duration_s" and isinstance(check, dict):  # against the task's usual
            fields.append(("Duration check", clean(describe(check), 1000)))
    if m.get("status") == RUNNING:
        for key, label in (("pid", "PID"), ("liveness", "Liveness")):
            shown = _value("text", m.get(key), now)
            if shown is not None:
                fields.append((label, shown))
    for key, label in (("labels", "Labels"), ("feedback", "Feedback")):
        pairs = mapping(m.get(key))
        if key == "labels":  # by name, as ls shows them; feedback in the job's own order
            pairs = dict(sorted(pairs.items(), key=lambda pair: str(pair[0])))
        if pairs:
            fields.append(
                (label, ", ".join(f"{clean(k)}={clean(v, 200)}" for k, v in pairs.items()))
            )
    fields.append(("Run dir", clean(run_dir(root, task, run_id), 4096)))
    return fields


def _lists(m: dict) -> list[tuple[str, list[str]]]:
    """The record's lists, one line an item: artifacts and retried attempts."""
    found = []
    artifacts = items(m.get("artifacts"))
    if artifacts:
        found.append(("Artifacts", [_artifact_line(a) for a in artifacts]))
    attempts = items(m.get("attempts"))
    if attempts:
        lines = []
        for a in attempts:
            a = mapping(a)
            seconds = number(a.get("duration_s"))
            took = "" if seconds is None else f" after {duration(seconds)}"
            reason = clean(a.get("reason") or "", 1000)
            lines.append(
                f"{clean(a.get('attempt'), 8)}: {clean(a.get('status'), 20)}{took} {reason}"
            )
        found.append(("Attempts", [line.rstrip() for line in lines]))
    return found


def _artifact_line(artifact: object) -> str:
    a = mapping(artifact)
    shown = "symlink" if a.get("symlink") is True else size(a.get("size"))
    return f"{clean(a.get('name'), 1000)} ({shown})"


def _print_output_tail(
    root: str, task: str, run_id: str, width: int | None, count: int = 10
) -> None:
    """What the run printed last: stderr, or stdout when stderr is empty (control characters
    made visible by log_tail)."""
    for name in (STDERR, STDOUT):
        text = log_tail(root, task, run_id, name, count)
        if text.strip():
            print(f"\nlast lines of {name}:")
            for line in text.rstrip("\n").split("\n"):
                line = f"  {clean(line, 1000)}"
                print(line if width is None else _cut(line, width))
            return
