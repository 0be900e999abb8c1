"""runwrap ls: every task, its health and since when, and every running run."""

from __future__ import annotations

import time

from runwrap.commands.display import (
    age,
    cell,
    clean,
    duration,
    mapping,
    print_json,
    table,
    when,
)
from runwrap.errors import ExitCode
from runwrap.store.overview import overview


def cmd_ls(root: str, as_json: bool) -> int:
    """Every task with its last status, and every running run."""
    tasks = overview(root)
    if as_json:
        print_json(tasks)
        return ExitCode.OK
    if not tasks:
        print(f"no tasks under {root}")
        return ExitCode.OK
    now = time.time()
    rows = [["TASK", "STATUS", "SINCE", "LAST RUN", "DURATION", "RUNNING"]]
    running: list[dict] = []
    for item in tasks:
        state = item["state"]
        status = state.get("status") or state.get("last_status")
        running.extend(item["running"])
        rows.append(
            [
                clean(item["task"], 64),
                "lost" if item["lost"] else cell(status, 20),
                when(state.get("since"), now),
                when(state.get("last_started_at"), now),
                duration(state.get("last_duration_s")),
                str(len(item["running"])) if item["running"] else "-",
            ]
        )
    print(table(rows))
    if running:
        print()
        print(table([_RUNNING_HEADER] + [_running_row(m, now) for m in running]))
    return ExitCode.OK


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
