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
from runwrap.store.layout import task_dir
from runwrap.store.lookup import read_runs, task_runs
from runwrap.store.manifest import judge_run

HEADER = ["RUN ID", "STATUS", "STARTED", "DURATION", "EXIT", "REASON"]


def cmd_history(root: str, ref: str, limit: int, status: str | None, as_json: bool) -> int:
    """A task's runs, newest first (runs without a readable manifest are skipped)."""
    task, run_ids = task_runs(root, ref)
    now = time.time()
    found: list = []
    for run_id, manifest in read_runs(root, task, reversed(run_ids)):
        judge_run(manifest, task_dir(root, task), run_id)
        if status and manifest["status"] != status:
            continue
        # A table keeps each run's row, not its manifest: thousands of manifests
        # held at once cost the garbage collector more than reading them did.
        found.append(manifest if as_json else _row(run_id, manifest, now))
        if limit and len(found) >= limit:
            break
    if as_json:
        print_json(found)
        return ExitCode.OK
    if not found:
        print(f"no runs of {task}" + (f" with status {status}" if status else ""))
        return ExitCode.OK
    print(table([HEADER, *found]))
    return ExitCode.OK


def _row(run_id: str, m: dict, now: float) -> list[str]:
    return [
        run_id,  # the directory's name: what `show` takes (a manifest could say otherwise)
        cell(m["status"], 20),
        when(m.get("started_at"), now),
        duration(m.get("duration_s")),
        cell(m.get("signal") or m.get("exit_code"), 12),
        clean(m.get("reason") or "", 60),
    ]
