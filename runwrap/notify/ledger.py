"""What the notifiers were told, kept beside the task state so that nothing is lost.

tasks/<task>/notify.json maps each notifier to its record (state.json is a
cache of the runs and may be rebuilt at any time; this memory cannot be):

    failing, told, since, last_notice_at   the nospam memory (see events.py)
    pending          notices decided but not yet delivered, oldest first;
                     each is tried again at every run until it goes through
                     (not while another run is sending it: `sending_until`)
    last_attempt_at, last_error, last_sent_at
    thread           (mail) the Message-ID of the notice that opened the current
                     trouble (failure, late, stuck): its recovery and reminders
                     answer it, so that mail clients show them as one thread

A notice is queued inside the state lock when the run is recorded, sent
outside it, then settled (removed from `pending`, or its error recorded)
under the lock again. An unreadable notify.json is taken as empty: at worst
a notice is sent again, never lost silently.
"""

from __future__ import annotations

import os
import time

from runwrap.notify.events import decide, decide_late
from runwrap.store.durations import baseline
from runwrap.store.fold import FAILING_HEALTH, OK, health
from runwrap.store.jsonio import read_json, write_json_atomic
from runwrap.store.layout import NOTIFY, STATE
from runwrap.store.manifest import SKIPPED
from runwrap.timefmt import iso

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.notify.notifiers import Notifier

# Notices that open a trouble, and those that answer the one that opened it.
_OPENS = frozenset({"failure", "late", "stuck", "duration"})
_ANSWERS = frozenset({"recovery", "still-failing"})
# Notices that say what changed since the last success.
_CHANGED = frozenset({"failure", "still-failing"})
# How long a run may take to deliver the notices it queued before another run sends
# them in its place (its sender died): longer than any notifier's timeouts.
SENDING_S = 600.0
# A notifier's record while a silence is in force: the task's health when it began.
MUTED_FROM = "muted_from"
MAX_PENDING = 20  # a notifier down for weeks must not grow the state file without end
# Notifiers that report every run as it happens: nothing to remember or retry.
PER_RUN_TYPES = frozenset({"healthchecks"})


def _ping_event(manifest: dict) -> str:
    status = manifest.get("status")
    return {"success": "success", "skipped": "log"}.get(status, "failure")


def _ping(manifest: dict, state: dict) -> dict:
    """The end-of-run ping of a per-run notifier (Healthchecks).

    An operator's kill is no failure: the check is told the task's health as it stands
    (what the kill left it), never `/fail` for the kill itself; and not `/log`, since a
    `/start` left without its end makes Healthchecks call the check down after its grace.
    """
    item = {"event": _ping_event(manifest), "run_id": manifest.get("run_id")}
    if isinstance(manifest.get("stopped_by"), dict):
        failing = health(state.get("status")) == FAILING_HEALTH
        item.update(event="failure" if failing else "success", suffix="/fail" if failing else "")
    return item


def _records(value: object) -> dict:
    if not isinstance(value, dict):
        return {}
    return {k: dict(v) for k, v in value.items() if isinstance(k, str) and isinstance(v, dict)}


def stored_ledger(task_path: str) -> dict | None:
    """notify.json's records as the file has them (None when it is missing or unreadable)."""
    value = read_json(os.path.join(task_path, NOTIFY))
    return _records(value) if isinstance(value, dict) else None


def read_ledger(task_path: str) -> dict:
    """Every notifier's record ({} when none is readable).

    A task from before notify.json kept the records in state.json's `notify`.
    """
    stored = stored_ledger(task_path)
    if stored is not None:
        return stored
    state = read_json(os.path.join(task_path, STATE))
    return _records(state.get("notify") if isinstance(state, dict) else None)


def write_ledger(task_path: str, records: dict) -> None:
    """Replace notify.json (atomically; call it under the state lock)."""
    write_json_atomic(os.path.join(task_path, NOTIFY), records)


def plan(
    notifiers: list[Notifier],
    old: dict,
    new: dict,
    records: dict,
    manifest: dict,
    now: float,
    quiet: dict | None = None,
) -> tuple[dict, dict[str, list[dict]]]:
    """(records with the notices queued, notices to send now per notifier name).

    `quiet` is what operators said of the task (store/notes.operator_notes): while a
    silence is in force nothing is queued (see hush()); an ack stops reminders.
    """
    records = _records(records)
    queue: dict[str, list[dict]] = {}
    quiet = quiet or {}
    for notifier in notifiers:
        if notifier.type in PER_RUN_TYPES:
            # Healthchecks pings record each run as it happens, muted or not: a
            # silence there is Healthchecks' own pause (docs/notifications.md).
            queue[notifier.name] = [_ping(manifest, new)]
            continue
        record = records.get(notifier.name, {})
        if quiet.get("silence"):
            records[notifier.name] = hush(record, health(old.get("status")))
            continue
        late_since = record.get("late_since")  # a late notice this run may end
        duration_was = record.get("duration")  # a slow or fast notice it may end
        if MUTED_FROM in record:
            events, record = after_silence(notifier, record, new, manifest, now)
        else:
            events, record = decide(notifier, record, new, manifest, now, bool(quiet.get("ack")))
        pending = [dict(p) for p in record.get("pending") or [] if isinstance(p, dict)]
        kept = len(pending)
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
                    "late_since": late_since,
                    "duration_was": duration_was if recovery else None,
                    # What changed is told against the last success (store/whatchanged.py).
                    "against": new.get("last_success_id") if event in _CHANGED else None,
                    "baseline": baseline(new.get("durations")) if event in _CHANGED else None,
                    "attempts": 0,
                }
            )
        _thread(notifier, record, pending[kept:])
        _keep(records, queue, notifier.name, record, pending, now)
    return records, queue


def plan_late(
    notifiers: list[Notifier],
    records: dict,
    lateness: dict,
    run_id: str,
    now: float,
    quiet: dict | None = None,
) -> tuple[dict, dict[str, list[dict]]]:
    """plan() for runwrap check: `late` and `recovery` notices from a task's lateness.

    `lateness` is TaskLateness.as_json(), `run_id` the task's newest run (what
    the notice shows). Pending notices from earlier go out first, as at a run.
    `quiet`: as plan()'s, with the task's `health` now.
    """
    records = _records(records)
    queue: dict[str, list[dict]] = {}
    quiet = quiet or {}
    for notifier in notifiers:
        if notifier.type in PER_RUN_TYPES:
            continue  # Healthchecks sees missing pings by itself
        record = records.get(notifier.name, {})
        if quiet.get("silence"):
            records[notifier.name] = hush(record, quiet.get("health"))
            continue
        late_since = record.get("late_since") or lateness.get("late_since")
        events, record = decide_late(notifier, record, lateness)
        pending = [dict(p) for p in record.get("pending") or [] if isinstance(p, dict)]
        kept = len(pending)
        for event in events:
            pending.append(
                {
                    "id": f"{late_since}/{event}",
                    "event": event,
                    "run_id": run_id,
                    "decided_at": iso(now),
                    "late_since": late_since,
                    "missed": lateness.get("missed", 0),
                    "next_expected": lateness.get("next_expected"),
                    "schedule": lateness.get("schedule"),
                    "attempts": 0,
                }
            )
        _thread(notifier, record, pending[kept:])
        _keep(records, queue, notifier.name, record, pending, now)
    return records, queue


def hush(record: dict, health_then: str | None) -> dict:
    """A notifier's record while a silence is in force: nothing is queued or sent (not even
    the pending notices), and the first decision of the silence notes the task's health as
    it was when the silence began, for after_silence()."""
    if MUTED_FROM not in record:
        record = {
            **record,
            MUTED_FROM: {"health": health_then, "late": record.get("late_since") is not None},
        }
    return record


def after_silence(
    notifier: Notifier, record: dict, state: dict, manifest: dict, now: float
) -> tuple[list[str], dict]:
    """The first run after a silence: one notice if the task's health differs from when the
    silence began (failure or recovery), none otherwise; the nospam memory then made to
    match the task as it is, so that what follows is told as usual."""
    record = dict(record)
    began = record.pop(MUTED_FROM, None)
    began = began if isinstance(began, dict) else {}
    on = notifier.on
    was_late = manifest.get("status") != SKIPPED and record.pop("late_since", None) is not None
    told_before = bool(record.get("told"))
    now_health = health(state.get("status"))
    events: list[str] = []
    if now_health == FAILING_HEALTH:
        failures = state.get("consecutive_failures", 0)
        if began.get("health") == FAILING_HEALTH and record.get("failing"):
            record["since"] = state.get("failing_since")  # the same trouble, still on
            record["last_notice_at"] = iso(now)  # reminders count from the silence's end
        elif failures >= notifier.after:
            record.update(failing=True, since=state.get("failing_since"), last_notice_at=iso(now))
            record.pop("told", None)
            if "failure" in on:
                events.append("failure")
                record["told"] = True
    else:
        for key in ("failing", "told", "since", "last_notice_at"):
            record.pop(key, None)
        if now_health == OK and "recovery" in on:
            ended_failure = began.get("health") == FAILING_HEALTH and told_before
            if ended_failure or was_late:
                events.append("recovery")
    if not events and "always" in on:
        events.append("always")
    return events, record


def message_id(seed: str) -> str:
    """A fresh Message-ID, <time.random.seed@host> (no email package on the run path)."""
    from runwrap.store.owner import hostname

    host = "".join(c for c in hostname() if c.isalnum() or c in ".-") or "localhost"
    return f"<{int(time.time())}.{os.urandom(6).hex()}.{seed}@{host}>"


def _thread(notifier: Notifier, record: dict, items: list[dict]) -> None:
    """For mail: give each new notice its Message-ID, and answers the one they answer.

    Decided when the notice is queued, so that a retry sends the same mail.
    """
    if notifier.type != "email":
        return
    for item in items:
        item["message_id"] = message_id("runwrap")
        if item["event"] in _ANSWERS and record.get("thread"):
            item["in_reply_to"] = record["thread"]
        if item["event"] in _OPENS:
            record["thread"] = item["message_id"]
        elif item["event"] == "recovery":
            record.pop("thread", None)


def _keep(
    records: dict, queue: dict, name: str, record: dict, pending: list[dict], now: float
) -> None:
    """Store a notifier's record with its pending notices (bounded) and queue them to send.

    A notice being sent by another run (queued by it less than SENDING_S ago,
    not settled yet) is not queued again: two runs recorded at once (`allow`,
    a skipped tick beside the run it skipped for, hosts taking a lost run
    over) would each send it. One whose sender died is sent after SENDING_S.
    """
    record["pending"] = pending[-MAX_PENDING:]
    records[name] = record
    mine = []
    for item in record["pending"]:
        until = item.get("sending_until")
        if isinstance(until, (int, float)) and not isinstance(until, bool) and until > now:
            continue
        item["sending_until"] = now + SENDING_S
        mine.append(item)
    if mine:
        queue[name] = list(mine)


def settle(records: dict, attempts: list[dict]) -> dict:
    """The records with delivered notices taken off `pending` and failures recorded."""
    records = _records(records)
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
                item.pop("sending_until", None)  # the next run tries it again
            pending.append(item)
        record["pending"] = pending
        if attempt["ok"]:
            record["last_sent_at"] = attempt["at"]
            record["last_error"] = None
        else:
            record["last_error"] = attempt["error"]
    return records
