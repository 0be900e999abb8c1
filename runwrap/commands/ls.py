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
from runwrap.store.fold import FAILING_HEALTH, OK
from runwrap.store.query import lateness_of, rank, task_records, view

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
    now = time.time()
    scheduled = []
    listed = []
    for record in task_records(root):
        lateness, host = lateness_of(root, record, now)
        if lateness is not None:
            scheduled.append((host, lateness))
        shown = view(record, None if lateness is None else lateness.as_json())
        listed.append((shown, record, lateness))
    if as_json:  # by name, as scripts have always had it
        # The view as every surface has it, and each running run's manifest in full.
        print_json([{**v, "running_runs": record["running"]} for v, record, _ in listed])
        return ExitCode.OK
    if not listed:
        print(f"no tasks under {root}")
        return ExitCode.OK
    listed.sort(key=lambda pair: (rank(pair[0]["shown"]), pair[0]["task"]))
    with_labels = any(mapping(v["labels"]) for v, _record, _lateness in listed)
    header = ["TASK", "STATUS", "SINCE", "LAST RUN", "DURATION", "RUNNING", "NEXT", "LATE"]
    rows = [header + ["LABELS"] * with_labels]
    colours: list[list[str | None]] = [[None] * len(rows[0])]
    running: list[dict] = []
    for v, record, lateness in listed:
        last = v["last_run"] or {}
        running.extend(record["running"])
        row = [
            clean(v["task"], 64),
            cell(v["status"], 20),
            when(v["since"], now),
            when(last.get("started_at"), now),
            duration(last.get("duration_s")),
            _running_cell(record["running"], now),
            "-" if lateness is None else due(lateness.next_expected, now),
            "-" if lateness is None else late_text(lateness, now),
        ]
        if with_labels:
            row.append(_labels_cell(v["labels"]))
        rows.append(row)
        colour: list[str | None] = [None] * len(row)  # STATUS, RUNNING and LATE are painted
        colour[1] = _STATUS_COLOUR.get(v["state"])
        colour[5] = _RUNNING if v["running"] else None
        colour[7] = _LATE if v["late"] else None
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


def _lease(m: dict) -> str | None:
    seconds = m.get("lease_age_s")
    return None if seconds is None else f"lease {duration(seconds)}"


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
        # A run whose owner this host cannot check (store/manifest.judge_run): its lease.
        cell(m.get("liveness") or _lease(m), 12),
        "-" if heartbeat == "-" else f"{heartbeat} ago",
        "-" if progress is None else f"{clean(progress, 8)}%",
        cell(feedback.get("info")),
    ]
