"""What runwrap does every tick while a job runs: keep logs within their limit.

(Issue 3 adds the feedback file, heartbeat and live manifest here.)
"""

from __future__ import annotations

from runwrap.manifest import write_manifest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.options import RunOptions
    from runwrap.outputcap import CappedLog


class Monitor:
    """Periodic checks of one running job."""

    interval = 1.0

    def __init__(
        self, opts: RunOptions, run_path: str, manifest: dict, logs: tuple[CappedLog, ...]
    ) -> None:
        self.opts = opts
        self.run_path = run_path
        self.manifest = manifest
        self.logs = logs

    def started(self, pid: int) -> None:
        """The job (or a retry of it) is running as `pid`."""
        self.manifest["pid"] = self.manifest["pgid"] = pid
        write_manifest(self.run_path, self.manifest, durable=False)

    def tick(self, now: float) -> str | None:
        """One periodic check; a returned string is a reason to stop the job."""
        for log in self.logs:
            log.check()
        return None

    def final_manifest(self) -> dict:
        """The manifest as last known, to be completed with the outcome."""
        return dict(self.manifest)
