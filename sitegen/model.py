"""Runs and tasks as the pages show them, derived from untrusted manifests."""

from __future__ import annotations

import math

from runwrap.manifest import FAILING, RUNNING, SKIPPED, STATUSES, SUCCESS, effective_status
from runwrap.timefmt import parse_iso

STRIP_RUNS = 30  # cells in the dashboard's strip
RATE_RUNS = 50  # window of the success rate
CHART_RUNS = 100  # bars in a task's duration chart
FEED_ENTRIES = 20  # state changes kept per task

# Task states, in the dashboard's order (failing first).
STATE_ORDER = {"failing": 0, "running": 1, "ok": 2, "skipped": 3, "never": 4}
ICONS = {
    "success": "✓",
    "ok": "✓",
    "failed": "✗",
    "failing": "✗",
    "timeout": "◷",
    "killed": "☠",
    "lost": "?",
    "running": "▶",
    "skipped": "↷",
    "never": "-",
    "unknown": "?",
}


def as_str(value: object, limit: int = 2000) -> str | None:
    """A display string from an untrusted value (None stays None)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text[:limit]


def as_num(value: object) -> float | None:
    """A finite number from an untrusted value, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def as_int(value: object) -> int | None:
    """An int from an untrusted value, else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def as_dict(value: object) -> dict[str, str]:
    """A str->str dict from an untrusted value, sorted by key for stable pages."""
    if not isinstance(value, dict):
        return {}
    return {
        str(k)[:200]: as_str(v) or "" for k, v in sorted(value.items(), key=lambda i: str(i[0]))
    }


def progress_of(feedback: dict[str, str]) -> float | None:
    """The feedback's progress as 0-100, or None."""
    try:
        value = float(str(feedback.get("progress", "")).strip().rstrip("%"))
    except ValueError:
        return None
    return min(100.0, max(0.0, value)) if math.isfinite(value) else None


def summarize(run_id: str, manifest: dict) -> dict:
    """The few fields of a run that lists, charts and the dashboard need (cached per run)."""
    status = effective_status(manifest)
    if status not in STATUSES:
        status = "unknown"  # a status from a newer runwrap, or garbage: shown, never trusted
    feedback = as_dict(manifest.get("feedback"))
    started = as_str(manifest.get("started_at"), 40)
    if parse_iso(started) is None:
        started = None
    return {
        "id": run_id,
        "seq": as_int(manifest.get("seq")),
        "status": status,
        "started": started,
        "duration": as_num(manifest.get("duration_s")),
        "exit": as_int(manifest.get("exit_code")),
        "reason": as_str(manifest.get("reason"), 300),
        "liveness": as_str(manifest.get("liveness"), 20) if status == RUNNING else None,
        "progress": progress_of(feedback) if status == RUNNING else None,
        "info": as_str(feedback.get("info"), 300) if status == RUNNING else None,
    }


def state_of(status: str) -> str:
    """The task state a run's status stands for."""
    if status == SUCCESS:
        return "ok"
    if status in FAILING:
        return "failing"
    return status if status in (RUNNING, SKIPPED) else "never"


def task_summary(task: str, runs: list[dict]) -> dict:
    """A task at a glance from its runs (oldest first): state, last run, rate, strip, feed."""
    decided = [r for r in runs if r["status"] in FAILING or r["status"] == SUCCESS]
    last = runs[-1] if runs else None
    if decided:
        state = state_of(decided[-1]["status"])
    elif last is not None:
        state = state_of(last["status"])
    else:
        state = "never"
    running = last if last is not None and last["status"] == RUNNING else None
    if running is not None and state == "skipped":
        state = "running"
    window = [r for r in runs[-RATE_RUNS:] if r["status"] in FAILING or r["status"] == SUCCESS]
    ok = sum(1 for r in window if r["status"] == SUCCESS)
    since = None
    if decided:
        # The start of the current streak: the first decided run after the last change.
        since = decided[-1]["started"]
        for r in reversed(decided):
            if state_of(r["status"]) != state:
                break
            since = r["started"]
    last_done = next((r for r in reversed(runs) if r["status"] != RUNNING), None)
    return {
        "name": task,
        "state": state,
        "last_status": decided[-1]["status"] if decided else (last or {}).get("status"),
        "since": since,
        "runs": len(runs),
        "last": last,
        "last_done": last_done,
        "running": running,
        "rate": (100.0 * ok / len(window)) if window else None,
        "rate_n": len(window),
        "strip": [{"id": r["id"], "status": r["status"]} for r in runs[-STRIP_RUNS:]],
        "changes": state_changes(task, runs)[-FEED_ENTRIES:],
    }


def state_changes(task: str, runs: list[dict]) -> list[dict]:
    """Failures and recoveries: every run whose outcome flips the task's state."""
    changes = []
    previous = None
    for r in runs:
        if r["status"] not in FAILING and r["status"] != SUCCESS:
            continue
        state = state_of(r["status"])
        if state != previous and (previous is not None or state == "failing"):
            kind = "failure" if state == "failing" else "recovery"
            changes.append(
                {
                    "task": task,
                    "id": r["id"],
                    "kind": kind,
                    "status": r["status"],
                    "at": r["started"],
                    "reason": r["reason"],
                }
            )
        previous = state
    return changes
