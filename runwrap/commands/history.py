"""runwrap history: a task's past runs, newest first."""

from __future__ import annotations

import time

from runwrap.commands.display import (
    cell,
    clean,
    duration,
    print_json,
    table,
    when,
)
from runwrap.errors import ExitCode
from runwrap.store.lookup import (
    read_run,
    task_runs,
)
from runwrap.store.manifest import effective_status


def cmd_history(root: str, ref: str, limit: int, status: str | None, as_json: bool) -> int:
    """A task's runs, newest first (runs without a readable manifest are skipped)."""
    task, run_ids = task_runs(root, ref)
    found: list[tuple[str, dict]] = []
    for run_id in reversed(run_ids):
        manifest = read_run(root, task, run_id)
        if manifest is None:
            continue
        manifest["status"] = effective_status(manifest)
        if status and manifest["status"] != status:
            continue
        found.append((run_id, manifest))
        if limit and len(found) >= limit:
            break
    if as_json:
        print_json([m for _, m in found])
        return ExitCode.OK
    if not found:
        print(f"no runs of {task}" + (f" with status {status}" if status else ""))
        return ExitCode.OK
    now = time.time()
    rows = [["RUN ID", "STATUS", "STARTED", "DURATION", "EXIT", "REASON"]]
    for run_id, m in found:
        rows.append(
            [
                run_id,  # the directory's name: what `show` takes (a manifest could say otherwise)
                cell(m["status"], 20),
                when(m.get("started_at"), now),
                duration(m.get("duration_s")),
                cell(m.get("signal") or m.get("exit_code"), 12),
                clean(m.get("reason") or "", 60),
            ]
        )
    print(table(rows))
    return ExitCode.OK
