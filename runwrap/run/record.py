"""Recording a finished run: the task state, and the notices the run raises.

The default console (no notifier configured) has nothing to say on most
ticks: a run that succeeds, or is skipped, while notify.json remembers no
failure, lateness or pending notice. That is decided here, under the state
lock, from notify.json alone, so that such a tick neither imports
runwrap.notify nor rewrites notify.json (on every cron tick, that was a few
modules, a write and two fsyncs for nothing).
"""

import os

from runwrap.store.durations import flag_of
from runwrap.store.jsonio import read_json
from runwrap.store.layout import NOTIFY
from runwrap.store.manifest import SKIPPED, SUCCESS
from runwrap.store.state import update_state

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.settings import RunOptions

# What the default console remembers between notices (runwrap/notify/events.py):
# with none of these in its record, a success or a skip tells it nothing and changes
# nothing (the default console is not told `always`, `skipped` or `stuck`).
_MEMORY = ("failing", "told", "since", "last_notice_at", "late_since", "pending", "duration")
_DEFAULT_CONSOLE = "console"


def nothing_to_tell(ledger: object) -> bool:
    """True when the default console's record in `ledger` (notify.json) holds no memory.

    A missing or unreadable notify.json is not quiet: the full path rewrites it.
    """
    if not isinstance(ledger, dict):
        return False
    record = ledger.get(_DEFAULT_CONSOLE, {})
    return isinstance(record, dict) and not any(record.get(key) for key in _MEMORY)


def builtin_console(opts: "RunOptions") -> bool:
    """True when the task's only notifier is the default console, as built in.

    Its definition cannot be wrong and it pings nothing at the start, so a run
    needs runwrap.notify only when it has something to tell.
    """
    if not opts.notify_implicit:
        return False
    defined = opts.config_data.get("notifiers")
    return not (isinstance(defined, dict) and _DEFAULT_CONSOLE in defined)


def record_run(opts: "RunOptions | None", task_path: str, run_path: str, manifest: dict) -> dict:
    """Fold a final manifest into the task state, telling the task's notifiers; the new state.

    The caller keeps the run's open marker until this returns, so state.json
    is written without fsyncs: after a power cut, either the new state is
    there or the marker is, and the next run records the run again
    (docs/reliability.md, "Power loss"). notify.json, which no run can
    rebuild, is still fsynced.
    """
    if opts is None or not opts.notify:
        return update_state(task_path, manifest, durable=False)[1]
    if not (builtin_console(opts) and manifest.get("status") in (SUCCESS, SKIPPED)):
        from runwrap.notify import after_run

        return after_run(opts, task_path, run_path, manifest, durable=False)
    queue: dict[str, list[dict]] = {}
    told: list[bool] = []

    def extra(old: dict, new: dict) -> None:
        # Under the state lock, as runwrap check and a concurrent run decide theirs.
        flagged = flag_of(manifest.get("duration_check"))  # slow or fast: news
        if not flagged and nothing_to_tell(read_json(os.path.join(task_path, NOTIFY))):
            return
        from runwrap.notify import plan_locked

        told.append(True)
        plan_locked(opts, task_path, manifest, old, new, queue)

    new = update_state(task_path, manifest, extra, durable=False)[1]
    if not told:
        return new
    from runwrap.notify import deliver

    return deliver(opts, task_path, run_path, manifest, new, queue)
