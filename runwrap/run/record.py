"""Recording a finished run: the task state, and the notices the run raises."""

from __future__ import annotations

from runwrap.store.state import update_state

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.settings import RunOptions


def record_run(opts: RunOptions | None, task_path: str, run_path: str, manifest: dict) -> dict:
    """Fold a final manifest into the task state, telling the task's notifiers; the new state."""
    if opts is not None and opts.notify:
        from runwrap.notify import after_run

        return after_run(opts, task_path, run_path, manifest)
    return update_state(task_path, manifest)[1]
