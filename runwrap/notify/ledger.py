"""What the notifiers were told, kept in the task state so that nothing is lost.

state.json gets a `notify` mapping, one record per notifier:

    failing, told, since, last_notice_at   the nospam memory (see events.py)
    pending          notices decided but not yet delivered, oldest first;
                     each is tried again at every run until it goes through
    last_attempt_at, last_error, last_sent_at

A notice is queued inside the state lock when the run is recorded, sent
outside it, then settled (removed from `pending`, or its error recorded)
under the lock again.
"""

from __future__ import annotations

from runwrap.notify.events import decide
from runwrap.timefmt import iso

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.notify.config import Notifier

MAX_PENDING = 20  # a notifier down for weeks must not grow the state file without end
# Notifiers that report every run as it happens: nothing to remember or retry.
PER_RUN_TYPES = frozenset({"healthchecks"})


def _ping_event(manifest: dict) -> str:
    status = manifest.get("status")
    return {"success": "success", "skipped": "log"}.get(status, "failure")


def _records(state: dict) -> dict:
    # Copied: next_state's new state shares nested values with the old one.
    return {k: dict(v) for k, v in (state.get("notify") or {}).items() if isinstance(v, dict)}


def plan(
    notifiers: list[Notifier], old: dict, new: dict, manifest: dict, now: float
) -> tuple[dict, dict[str, list[dict]]]:
    """(new state with the notices queued, notices to send now per notifier name)."""
    records = _records(new)
    queue: dict[str, list[dict]] = {}
    for notifier in notifiers:
        if notifier.type in PER_RUN_TYPES:
            queue[notifier.name] = [
                {"event": _ping_event(manifest), "run_id": manifest.get("run_id")}
            ]
            continue
        record = records.get(notifier.name, {})
        events, record = decide(notifier, record, new, manifest, now)
        pending = [dict(p) for p in record.get("pending") or [] if isinstance(p, dict)]
        for event in events:
            recovery = event == "recovery"
            pending.append(
                {
                    "id": f"{manifest.get('run_id')}/{event}",
                    "event": event,
                    "run_id": manifest.get("run_id"),
                    "decided_at": iso(now),
                    # The failure that a recovery ends is the old state's.
                    "failures": (old if recovery else new).get("consecutive_failures", 0),
                    "failing_since": (
                        (old if recovery else new).get("failing_since") or record.get("since")
                    ),
                    "skips": new.get("consecutive_skips", 0),
                    "usual_s": new.get("last_duration_s"),
                    "attempts": 0,
                }
            )
        record["pending"] = pending[-MAX_PENDING:]
        records[notifier.name] = record
        if record["pending"]:
            queue[notifier.name] = list(record["pending"])
    new = dict(new)
    new["notify"] = records
    return new, queue


def settle(state: dict, attempts: list[dict]) -> dict:
    """The state with delivered notices taken off `pending` and failures recorded."""
    state = dict(state)
    records = _records(state)
    for attempt in attempts:
        record = records.get(attempt["notifier"])
        # Pings (id None) are about the moment: nothing to retry.
        if record is None or attempt.get("id") is None:
            continue
        record["last_attempt_at"] = attempt["at"]
        pending = []
        for item in record.get("pending") or []:
            if item.get("id") == attempt.get("id"):
                if attempt["ok"]:
                    continue
                item = {**item, "attempts": item.get("attempts", 0) + 1}
            pending.append(item)
        record["pending"] = pending
        if attempt["ok"]:
            record["last_sent_at"] = attempt["at"]
            record["last_error"] = None
        else:
            record["last_error"] = attempt["error"]
    state["notify"] = records
    return state
