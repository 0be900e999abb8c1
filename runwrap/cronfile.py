"""Crontab lines for the tasks declared in the config, and how an installed crontab differs.

A line runs `runwrap run TASK` with ROOT and the config passed on, so it
needs nothing from cron's environment. An `every:` task has no cron
schedule (the gap counts from the end of a run): it is refused with a reason.
"""

from __future__ import annotations

import shlex

from runwrap.declared import DeclaredTask, runwrap_argv
from runwrap.store.schedule import expression


def refusal(task: DeclaredTask) -> str | None:
    """Why a declared task cannot be a crontab line, or None."""
    if task.every is not None:
        return (
            f"task {task.name!r} runs {task.every:g}s after its last run ends (every:), "
            "which cron cannot express: use runwrap systemd (OnUnitInactiveSec=)"
        )
    return None


def command_text(argv: list[str]) -> str:
    """argv as a crontab command: shell-quoted, with cron's % escaped."""
    return " ".join(shlex.quote(word) for word in argv).replace("%", "\\%")


def crontab_line(task: DeclaredTask, argv: list[str], user: str | None = None) -> str:
    """One crontab line (with a user field for /etc/cron.d when `user` is given)."""
    fields = [" ".join(task.schedule.split())]
    if user:
        fields.append(user)
    return "  ".join([*fields, command_text(argv)])


def crontab_lines(
    tasks: list[DeclaredTask],
    root: str,
    config_file: str,
    user: str | None = None,
    program: str | None = None,
) -> tuple[list[str], list[str]]:
    """(lines, refusals): the crontab for the declared tasks, and the tasks it cannot hold."""
    lines, refused = [], []
    for task in tasks:
        why = refusal(task)
        if why:
            refused.append(why)
            continue
        argv = runwrap_argv(root, config_file, task.name, program)
        lines.append(crontab_line(task, argv, user))
    return lines, refused


def _entries(text: str, with_user: bool) -> list[tuple[str, str | None, list[str], str]]:
    """(schedule, user, command words, line) of each job line of a crontab."""
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head = line.split(None, 1)[0]
        if "=" in head and not head.startswith("@") and not head[0].isdigit() and head[0] != "*":
            continue  # an environment setting: MAILTO=..., PATH=...
        parts = line.split(None, 1 if head.startswith("@") else 5)
        count = 1 if head.startswith("@") else 5
        if len(parts) <= count:
            continue
        schedule, rest = " ".join(parts[:count]), parts[count]
        user = None
        if with_user:
            user, _, rest = rest.strip().partition(" ") if " " in rest else (rest, "", "")
            user = user.split("\t", 1)[0]
            rest = rest.strip()
        try:
            words = shlex.split(rest.replace("\\%", "%"))
        except ValueError:
            continue
        found.append((schedule, user, words, line))
    return found


def _task_of(words: list[str]) -> str | None:
    """The task a `runwrap ... run TASK` command runs, else None."""
    if len(words) >= 3 and words[-2] == "run":
        program = words[0].rsplit("/", 1)[-1]
        if program == "runwrap" or words[1:3] == ["-m", "runwrap"]:
            return words[-1]
    return None


def _same_schedule(a: str, b: str) -> bool:
    try:
        return expression(a) == expression(b) and (expression(a) is not None or a == b)
    except Exception:
        return " ".join(a.split()) == " ".join(b.split())


def differences(expected: list[str], installed: str, with_user: bool = False) -> list[str]:
    """What differs between the expected lines and an installed crontab, one line each."""
    want = {}
    for schedule, user, words, line in _entries("\n".join(expected), with_user):
        want[_task_of(words)] = (schedule, user, words, line)
    have: dict[str, list] = {}
    for entry in _entries(installed, with_user):
        task = _task_of(entry[2])
        if task is not None:
            have.setdefault(task, []).append(entry)
    out = []
    for task, (schedule, user, words, line) in sorted(want.items()):
        found = have.get(task, [])
        if not found:
            out.append(f"task {task!r}: missing; add: {line}")
            continue
        if len(found) > 1:
            out.append(f"task {task!r}: {len(found)} lines run it; keep one: {line}")
            continue
        h_schedule, h_user, h_words, h_line = found[0]
        if not _same_schedule(h_schedule, schedule):
            out.append(f"task {task!r}: runs at {h_schedule!r}, the config says {schedule!r}")
        if h_user != user:
            out.append(f"task {task!r}: runs as {h_user!r}, expected {user!r}")
        if h_words[1:] != words[1:]:
            out.append(f"task {task!r}: runs {h_line!r}, expected {line!r}")
    for task in sorted(set(have) - set(want)):
        out.append(f"task {task!r}: in the crontab, but the config declares no such task")
    return out
