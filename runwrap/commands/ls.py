"""runwrap ls: every task, its health and since when, and every running run."""

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
    when,
)
from runwrap.errors import ExitCode
from runwrap.store.overview import overview


def cmd_ls(root: str, as_json: bool) -> int:
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
    if as_json:
        print_json([{k: v for k, v in item.items() if k != "_lateness"} for item in tasks])
        return ExitCode.OK
    if not tasks:
        print(f"no tasks under {root}")
        return ExitCode.OK
    rows = [["TASK", "STATUS", "SINCE", "LAST RUN", "DURATION", "RUNNING", "NEXT", "LATE"]]
    running: list[dict] = []
    for item in tasks:
        state = item["state"]
        status = state.get("status") or state.get("last_status")
        running.extend(item["running"])
        lateness = item.get("_lateness")
        rows.append(
            [
                clean(item["task"], 64),
                "lost" if item["lost"] else cell(status, 20),
                when(state.get("since"), now),
                when(state.get("last_started_at"), now),
                duration(state.get("last_duration_s")),
                str(len(item["running"])) if item["running"] else "-",
                "-" if lateness is None else due(lateness.next_expected, now),
                "-" if lateness is None else late_text(lateness, now),
            ]
        )
    print(table(rows))
    for line in silence_lines(scheduled, now):
        print(line)
    if running:
        print()
        print(table([_RUNNING_HEADER] + [_running_row(m, now) for m in running]))
    return ExitCode.OK


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
