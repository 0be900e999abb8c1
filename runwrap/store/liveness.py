"""How alive a running job looks, from the age of its last heartbeat (DESIGN section 4)."""

from __future__ import annotations

RUNNING = "running"
SILENT = "silent"
STALLED = "stalled"


def liveness(age: float, heartbeat_timeout: float | None) -> str:
    """running under 25% of the timeout, silent under 50%, stalled beyond (killed at 100%)."""
    if not heartbeat_timeout:
        return RUNNING
    share = age / heartbeat_timeout
    if share < 0.25:
        return RUNNING
    if share < 0.5:
        return SILENT
    return STALLED
