"""runwrap ls: every task, failing and late first, and every running run.

The command people type most: it has its own small parser (`ls_main`), since
importing argparse and every other subcommand would triple its time.
"""

from __future__ import annotations

import time

from runwrap.commands.display import (
    age,
    cell,
    clean,
    due,
    duration,
    late_text,
    mapping,
    print_json,
    silence_lines,
    table,
    use_colour,
    when,
)
from runwrap.errors import ExitCode
from runwrap.store.health import FAILING_HEALTH, OK, health
from runwrap.store.overview import overview

COLOR_CHOICES = ("auto", "always", "never")
_VALUED = ("--root", "--config", "--color")


def ls_main(words: list[str]) -> int | None:
    """`runwrap ls [--root DIR] [--config FILE] [--json] [--color WHEN]` (words without "ls").

    None for anything else (--help, a typo, a bad value): argparse then says it as
    for every subcommand.
    """
    given: dict[str, str | None] = dict.fromkeys(_VALUED)
    as_json = False
    i = 0
    while i < len(words):
        name, eq, value = words[i].partition("=")
        if words[i] == "--json":
            as_json = True
        elif name in _VALUED and (eq or i + 1 < len(words)):
            if not eq:
                i += 1
                value = words[i]
            given[name] = value
        else:
            return None
        i += 1
    color = "auto" if given["--color"] is None else given["--color"]
    if color not in COLOR_CHOICES:
        return None
    from runwrap.commands import control_root, warn_skipped
    from runwrap.config import find_config_file, load_config_file

    config = load_config_file(find_config_file(given["--config"]))
    status = cmd_ls(control_root(given["--root"], config), as_json, color)
    warn_skipped()
    return status


def cmd_ls(root: str, as_json: bool, color: str = "auto") -> int:
    """Every task with its last status and schedule, and every running run."""
    tasks = overview(root)
    now = time.time()
    scheduled = []
    for item in tasks:
        lateness, host = _lateness_of(root, item, now)
        item["lateness"] = None if lateness is None else lateness.as_json()
        if lateness is not None:
            scheduled.append((host, lateness))
            item["_lateness"] = lateness
    if as_json:  # by name, as scripts have always had it
        print_json([{k: v for k, v in item.items() if k != "_lateness"} for item in tasks])
        return ExitCode.OK
    if not tasks:
        print(f"no tasks under {root}")
        return ExitCode.OK
    tasks.sort(key=lambda item: (_rank(item), item["task"]))
    with_labels = any(mapping(item["state"].get("labels")) for item in tasks)
    header = ["TASK", "STATUS", "SINCE", "LAST RUN", "DURATION", "RUNNING", "NEXT", "LATE"]
    rows = [header + ["LABELS"] * with_labels]
    colours: list[list[str | None]] = [[None] * len(rows[0])]
    running: list[dict] = []
    for item in tasks:
        state = item["state"]
        status = "lost" if item["lost"] else (state.get("status") or state.get("last_status"))
        running.extend(item["running"])
        lateness = item.get("_lateness")
        late = lateness is not None and lateness.late
        row = [
            clean(item["task"], 64),
            cell(status, 20),
            when(state.get("since"), now),
            when(state.get("last_started_at"), now),
            duration(state.get("last_duration_s")),
            _running_cell(item["running"], now),
            "-" if lateness is None else due(lateness.next_expected, now),
            "-" if lateness is None else late_text(lateness, now),
        ]
        if with_labels:
            row.append(_labels_cell(state.get("labels")))
        rows.append(row)
        colour: list[str | None] = [None] * len(row)  # STATUS, RUNNING and LATE are painted
        colour[1] = _STATUS_COLOUR.get(_health(item))
        colour[5] = _RUNNING if item["running"] else None
        colour[7] = _LATE if late else None
        colours.append(colour)
    print(table(rows, colours if use_colour(color) else None))
    for line in silence_lines(scheduled, now):
        print(line)
    if running:
        print()
        print(table([_RUNNING_HEADER] + [_running_row(m, now) for m in running]))
    return ExitCode.OK


# SGR colours: red for failing, yellow for late, cyan for running, green for ok.
_FAILING, _LATE, _RUNNING, _OK = "31", "33", "36", "32"
_STATUS_COLOUR = {FAILING_HEALTH: _FAILING, OK: _OK}


def _health(item: dict) -> str | None:
    state = item["state"]
    return FAILING_HEALTH if item["lost"] else health(state.get("status"))


def _rank(item: dict) -> int:
    """0 failing or late, 1 running, 2 the rest: what needs a look comes first."""
    lateness = item.get("_lateness")
    if _health(item) == FAILING_HEALTH or (lateness is not None and lateness.late):
        return 0
    return 1 if item["running"] else 2


def _running_cell(runs: list[dict], now: float) -> str:
    """'running 3 min 12 s' (the oldest run's elapsed time), '2 running, oldest 5 min'."""
    if not runs:
        return "-"
    elapsed = age(runs[0].get("started_at"), now)  # oldest first (openruns.py)
    return f"running {elapsed}" if len(runs) == 1 else f"{len(runs)} running, oldest {elapsed}"


def _labels_cell(labels: object) -> str:
    """env=prod,team=db: a job's config may hold anything, so every part is cleaned."""
    pairs = sorted(mapping(labels).items(), key=lambda pair: pair[0])
    # Each value cleaned first: str() of a deeply nested one would raise (clean() does not).
    return clean(",".join(f"{clean(k)}={clean(v)}" for k, v in pairs), 40) if pairs else "-"


def _lateness_of(root: str, item: dict, now: float):
    """(lateness, host) of a task with a schedule; (None, "") for one without, cheaply."""
    if not isinstance(item["state"].get("schedule"), dict):
        return None, ""  # no schedule: the schedule module is not even imported
    from runwrap.store.lateness import of_overview

    return of_overview(root, item, now)


_RUNNING_HEADER = ["RUNNING", "RUN ID", "PID", "AGE", "LIVENESS", "HEARTBEAT", "PROGRESS", "INFO"]


def _running_row(m: dict, now: float) -> list[str]:
    """One running run in ls: every field coerced (a job may have written any of them)."""
    feedback = mapping(m.get("feedback"))
    progress = feedback.get("progress")
    heartbeat = age(m.get("heartbeat_at"), now)
    return [
        cell(m.get("task"), 64),
        cell(m.get("run_id"), 32),
        cell(m.get("pid") or None, 12),
        age(m.get("started_at"), now),
        cell(m.get("liveness") or None, 12),
        "-" if heartbeat == "-" else f"{heartbeat} ago",
        "-" if progress is None else f"{clean(progress, 8)}%",
        cell(feedback.get("info")),
    ]
