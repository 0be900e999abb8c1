"""runwrap mute / unmute: silence a task's notices for a while, and lift the silence.

The silences are files in ROOT/silences (store/silences.py); runs go on
being recorded, every surface shows the silence, and the notifiers decide
what to say when it ends (notify/ledger.py).
"""

from __future__ import annotations

import time

from runwrap.commands.display import clock, print_json
from runwrap.errors import ExitCode, NotFoundError, RunwrapError
from runwrap.store.lookup import task_exists
from runwrap.store.notes import operator
from runwrap.store.silences import ALL, remove_all, remove_mute, write_mute
from runwrap.store.tasknames import check_task_name
from runwrap.timefmt import parse_iso
from runwrap.units import format_duration, parse_duration


def selectors(
    root: str, tasks: list[str], labels: list[str], every: bool, verb: str = "mute"
) -> list[dict]:
    """What a mute or unmute names: tasks (each must exist), labels K=V, or --all (alone)."""
    if every and (tasks or labels):
        raise RunwrapError("give TASK..., --label K=V or --all, not several")
    if every:
        return [{ALL: True}]
    if not tasks and not labels:
        raise RunwrapError(f"name what to {verb}: TASK..., --label K=V or --all")
    found = []
    for task in dict.fromkeys(tasks):
        task_exists(root, check_task_name(task))
        found.append({"task": task})
    for label in labels:
        key, sep, value = label.partition("=")
        if not sep or not key:
            raise RunwrapError(f"bad --label {label!r}: use K=V")
        found.append({"label": [key, value]})
    return found


def _until(for_text: str | None, until_text: str | None, now: float) -> float:
    """The end of a silence from --for DURATION or --until TIME (one of them)."""
    if (for_text is None) == (until_text is None):
        raise RunwrapError("say how long: --for 2h, or --until TIME")
    if for_text is not None:
        length = parse_duration(for_text, "--for")
        if length <= 0:
            raise RunwrapError(f"bad --for {for_text!r}: a duration > 0 (30m, 2h, 1d)")
        return now + length
    end = parse_iso(until_text)
    if end is None:
        from runwrap.commands.history import since_time

        try:
            end = since_time(until_text, now)
        except RunwrapError:
            end = None
    if end is None or end <= now:
        raise RunwrapError(
            f"bad --until {until_text!r}: a time to come, local ('2026-12-05 18:00', 18:00) "
            "or UTC (2026-12-05T17:00:00Z)"
        )
    return end


def _named(match: dict) -> str:
    if match.get(ALL):
        return "every task"
    if match.get("task"):
        return match["task"]
    return f"tasks labelled {match['label'][0]}={match['label'][1]}"


def cmd_mute(
    root: str,
    tasks: list[str],
    labels: list[str],
    every: bool,
    for_text: str | None,
    until_text: str | None,
    reason: str | None,
    as_json: bool,
) -> int:
    """Silence the notices of what is named until a time; print what was muted."""
    now = time.time()
    if not reason or not reason.strip():
        raise RunwrapError("say why with --reason TEXT: every surface shows it")
    chosen = selectors(root, tasks, labels, every)
    until = _until(for_text, until_text, now)
    by = operator()
    made = [write_mute(root, match, now, until, by, reason) for match in chosen]
    if as_json:
        print_json(made)
        return ExitCode.OK
    for mute in made:
        print(
            f"muted {_named(mute['match'])} until {clock(until, now)} "
            f"({format_duration(until - now)}), by {by}: {mute['reason']}"
        )
    return ExitCode.OK


def cmd_unmute(root: str, tasks: list[str], labels: list[str], every: bool, as_json: bool) -> int:
    """Lift the mutes made for exactly these selectors (--all: every mute)."""
    if every and not tasks and not labels:
        count = remove_all(root)
        lifted = [{ALL: True}] if count else []
    else:
        chosen = selectors(root, tasks, labels, every, "unmute")
        lifted = [m for m in chosen if remove_mute(root, m)]
    if as_json:
        print_json(lifted)
        return ExitCode.OK
    if not lifted:
        raise NotFoundError("nothing to unmute: no such mute (see runwrap ls)")
    for match in lifted:
        print(f"unmuted {_named(match)}")
    return ExitCode.OK
