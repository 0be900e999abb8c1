"""Notifications that tell you once: on failure, on recovery, and reminders if asked.

The run path imports this package only for a task with notifiers, and the
transports (with smtplib, urllib, threading, email) only when a notice is
actually sent. Nothing here changes a run's status or raises for a
notifier that fails: the attempt is recorded and retried at the next run.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.notify.notifiers import Notifier
    from runwrap.settings import RunOptions

# One process runs one task: the checked notifiers and the start pings in flight.
_loaded: dict[int, tuple[RunOptions, list[Notifier]]] = {}
_pings: dict[str, tuple[str, list]] = {}


def prepare(opts: RunOptions, environ: dict[str, str] | None = None) -> list[Notifier]:
    """The task's notifiers, checked (RunwrapError, one line, for a bad definition)."""
    cached = _loaded.get(id(opts))
    if cached is not None and cached[0] is opts:
        return cached[1]
    from runwrap.notify.notifiers import load_notifiers

    notifiers = load_notifiers(
        list(opts.notify), opts.config_data, environ, implicit=opts.notify_implicit
    )
    _loaded[id(opts)] = (opts, notifiers)
    return notifiers


def _site_url(opts: RunOptions) -> object:
    from runwrap.configfile import site_url

    return site_url(opts.root, opts.config_data)


def run_started(opts: RunOptions, run_path: str, manifest: dict) -> None:
    """Send the start pings (healthchecks) in the background while the job runs."""
    pingers = [n for n in prepare(opts) if n.type == "healthchecks"]
    if not pingers:
        return
    try:
        from runwrap.notify.healthchecks import new_rid
        from runwrap.notify.sending import start

        rid = new_rid()
        item = {"event": "start", "run_id": manifest.get("run_id"), "rid": rid}
        queue = [(n, [item]) for n in pingers]
        started = start(queue, manifest, run_path, opts.root, _site_url(opts))
        _pings[manifest.get("run_id") or ""] = (rid, started)
    except Exception as e:
        from runwrap.say import warn

        warn(f"start ping failed for task {opts.name}: {e}")


def after_run(
    opts: RunOptions, task_path: str, run_path: str, manifest: dict, durable: bool = True
) -> dict:
    """Record the finished run in the task state, tell the notifiers, record what they were told.

    Returns the new task state. What the notifiers were told goes to the
    task's notify.json and to notifications.json beside the run's manifest,
    which is final and never rewritten. `durable`: as update_state's.
    """
    from runwrap.store.state import update_state

    queue: dict[str, list[dict]] = {}

    def extra(old: dict, new: dict) -> None:
        plan_locked(opts, task_path, manifest, old, new, queue)

    new = update_state(task_path, manifest, extra, durable)[1]
    return deliver(opts, task_path, run_path, manifest, new, queue)


def plan_locked(
    opts: RunOptions, task_path: str, manifest: dict, old: dict, new: dict, queue: dict
) -> None:
    """Decide the run's notices under the state lock: notify.json, and `queue` to send.

    notify.json is rewritten only when a record changed: a quiet tick writes nothing.
    """
    from runwrap.notify.ledger import plan, read_ledger, stored_ledger, write_ledger
    from runwrap.store.notes import operator_notes

    stored = stored_ledger(task_path)
    told = stored if stored is not None else read_ledger(task_path)
    now = time.time()
    quiet = operator_notes(opts.root, opts.name, new, now)
    records, decided = plan(prepare(opts), old, new, told, manifest, now, quiet)
    if records != stored:
        write_ledger(task_path, records)
    queue.update(decided)


def deliver(
    opts: RunOptions, task_path: str, run_path: str, manifest: dict, new: dict, queue: dict
) -> dict:
    """Send what plan_locked() queued (and end the start pings), then settle notify.json.

    Returns `new`, the task state after the run.
    """
    notifiers = prepare(opts)
    rid, pings = _pings.pop(manifest.get("run_id") or "", (None, []))
    if not any(queue.values()) and not pings:
        return new
    from runwrap.notify.ledger import read_ledger, settle, write_ledger
    from runwrap.notify.sending import finish, start
    from runwrap.say import warn
    from runwrap.store.state import locked

    try:
        for items in queue.values():
            for item in items:
                if item.get("id") is None and rid:
                    item["rid"] = rid  # pairs the end ping with the start ping
        ordered = [(n, queue[n.name]) for n in notifiers if queue.get(n.name)]
        # The start ping must land before the end ping, or the check sees them swapped.
        attempts = finish(pings)
        started = start(ordered, manifest, run_path, opts.root, _site_url(opts))
        attempts += finish(started)
    except Exception as e:  # a bug here must not cost the run its record
        warn(f"notifications failed for task {opts.name}: {e}")
        return new
    # Failed attempts are recorded, not printed: on stderr they would reach cron's
    # MAILTO at every tick while a mail server is down, the very spam this prevents.
    try:
        locked(task_path, lambda: write_ledger(task_path, settle(read_ledger(task_path), attempts)))
        record_notifications(run_path, attempts)
    except OSError as e:
        warn(f"cannot record the notifications of task {opts.name}: {e}")
    return new


def record_notifications(run_path: str, attempts: list[dict]) -> None:
    """Add delivery attempts to the run's notifications.json (the manifest stays as it is)."""
    from runwrap.store.jsonio import read_json, write_json_atomic
    from runwrap.store.layout import NOTIFICATIONS

    path = os.path.join(run_path, NOTIFICATIONS)
    old = read_json(path)
    kept = old if isinstance(old, list) else []
    write_json_atomic(path, kept + [{k: v for k, v in a.items() if k != "id"} for a in attempts])


def check_late(
    root: str,
    task: str,
    lateness: dict,
    run_id: str,
    notifiers: list[Notifier],
    site_url: object = None,
) -> list[dict]:
    """runwrap check's notices for one task: `late` once, `recovery` if no run sent it.

    `lateness` is TaskLateness.as_json(), `run_id` the task's newest run. The
    decision is made and recorded in notify.json under the task's state lock,
    like a run's; returns the delivery attempts.
    """
    from runwrap.notify.ledger import plan_late, read_ledger, settle, write_ledger
    from runwrap.store.layout import is_gathered_copy, run_dir, task_dir
    from runwrap.store.state import locked

    task_path = task_dir(root, task)
    if is_gathered_copy(task_path):
        return []  # rsync's copy: its host tells of its lateness (its own runwrap check)
    queue: dict[str, list[dict]] = {}

    def decide() -> None:
        records = read_ledger(task_path)
        if not lateness.get("late") and not any(r.get("late_since") for r in records.values()):
            return  # on time and nobody was told otherwise: nothing to write
        from runwrap.store.fold import health
        from runwrap.store.jsonio import read_json
        from runwrap.store.layout import STATE
        from runwrap.store.notes import operator_notes

        now = time.time()
        # The cache as it stands: read_state() may take the lock this holds, to rebuild.
        state = read_json(os.path.join(task_path, STATE))
        state = state if isinstance(state, dict) else {}
        quiet = {**operator_notes(root, task, state, now), "health": health(state.get("status"))}
        records, decided = plan_late(notifiers, records, lateness, run_id, now, quiet)
        write_ledger(task_path, records)
        queue.update(decided)

    locked(task_path, decide)
    if not any(queue.values()):
        return []
    from runwrap.notify.sending import finish, start
    from runwrap.store.manifest import read_manifest

    run_path = run_dir(root, task, run_id)
    manifest = read_manifest(run_path) or {"task": task, "run_id": run_id}
    ordered = [(n, queue[n.name]) for n in notifiers if queue.get(n.name)]
    attempts = finish(start(ordered, manifest, run_path, root, site_url))
    locked(task_path, lambda: write_ledger(task_path, settle(read_ledger(task_path), attempts)))
    return attempts
