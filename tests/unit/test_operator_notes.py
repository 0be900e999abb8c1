"""What operators say, as pure functions: recurring windows across DST, the notices of
a silence (held under it, one at its end if the health changed), an operator's kill in
the fold."""

from __future__ import annotations

from datetime import datetime, timezone
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from runwrap.notify.ledger import plan
from runwrap.notify.notifiers import parse_notifier
from runwrap.store.fold import FAILING_HEALTH, OK, health, next_state
from runwrap.store.schedule import window_at
from runwrap.store.silences import matches, window_of

STATUSES = st.sampled_from(["success", "failed", "timeout", "killed", "lost", "skipped"])


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def test_a_window_opens_in_its_zone_and_lasts_its_length():
    # Berlin, winter (UTC+1): Sunday 02:00 for 2 h is 01:00-03:00 UTC.
    assert window_at("0 2 * * sun", "Europe/Berlin", 7200, utc("2027-03-21 00:59:59")) is None
    assert window_at("0 2 * * sun", "Europe/Berlin", 7200, utc("2027-03-21 01:00:00")) == (
        utc("2027-03-21 01:00:00"),
        utc("2027-03-21 03:00:00"),
    )
    assert window_at("0 2 * * sun", "Europe/Berlin", 7200, utc("2027-03-21 03:00:00")) is None


def test_a_window_at_a_missing_hour_opens_after_the_jump_and_at_a_repeated_one_first():
    # 28 March 2027: 02:00 CET does not exist; cron runs it at 03:00 CEST (01:00 UTC).
    assert window_at("0 2 * * *", "Europe/Berlin", 3600, utc("2027-03-28 01:30:00")) == (
        utc("2027-03-28 01:00:00"),
        utc("2027-03-28 02:00:00"),
    )
    # 31 October 2027: 02:00 happens at 00:00 UTC (CEST) and 01:00 UTC (CET): the first.
    opened = window_at("0 2 * * *", "Europe/Berlin", 3600, utc("2027-10-31 00:30:00"))
    assert opened == (utc("2027-10-31 00:00:00"), utc("2027-10-31 01:00:00"))
    assert window_at("0 2 * * *", "Europe/Berlin", 3600, utc("2027-10-31 01:30:00")) is None


def test_window_of_shows_the_window_that_closes_last_and_skips_garbage():
    windows = [
        {"expr": "0 1 * * *", "for_s": 3600.0, "timezone": "UTC", "reason": "short"},
        {"expr": "30 0 * * *", "for_s": 7200.0, "timezone": "UTC", "reason": "long"},
        {"expr": "not cron", "for_s": 60.0},
        "garbage",
    ]
    shown = window_of(windows, utc("2027-01-05 01:15:00"))
    assert shown["reason"] == "long" and shown["until"] == "2027-01-05T02:30:00.000Z"
    assert shown["by"] == "maintenance window" and shown["kind"] == "window"
    assert window_of(windows, utc("2027-01-05 03:00:00")) is None


def test_a_mute_matches_its_task_its_label_or_all():
    assert matches({"task": "a"}, "a", None) and not matches({"task": "a"}, "b", None)
    assert matches({"label": ["team", "db"]}, "x", {"team": "db"})
    assert not matches({"label": ["team", "db"]}, "x", {"team": "web"})
    assert not matches({"label": ["team", "db"]}, "x", None)
    assert matches({"all": True}, "anything", None)


def test_an_operators_kill_keeps_the_tasks_health_since_and_streak():
    ok = {"run_id": "r1", "seq": 1, "status": "success", "started_at": "t1"}
    failed = {"run_id": "r2", "seq": 2, "status": "failed", "started_at": "t2"}
    kill = {"run_id": "r3", "seq": 3, "status": "killed", "started_at": "t3"}
    kill["stopped_by"] = {"by": "alice", "at": "t3", "reason": "wrong night"}
    state = next_state(next_state({}, ok), kill)
    assert state["status"] == "success" and state["since"] == "t1"
    assert state["last_status"] == "killed" and state["last_stopped_by"]["by"] == "alice"
    state = next_state(next_state(next_state({}, ok), failed), {**kill, "seq": 4})
    assert state["status"] == "failed" and state["consecutive_failures"] == 1


def replay(before: list[str], during: list[str], after: list[str]) -> list[tuple[int, list, dict]]:
    """Each run before (0), under (1) and after (2) a silence: (part, the notices plan()
    decided with it, the task's state after it)."""
    notifier = parse_notifier("n", {"type": "console", "on": ["failure", "recovery"]}, {})
    state: dict = {}
    records: dict = {}
    found = []
    runs = [(0, s) for s in before] + [(1, s) for s in during] + [(2, s) for s in after]
    for i, (part, status) in enumerate(runs):
        manifest = {"task": "t", "run_id": f"r{i:04d}", "seq": i + 1, "status": status}
        manifest["started_at"] = f"t{i:04d}"
        old, state = state, next_state(state, manifest)
        quiet = {"silence": {"until": "x"}} if part == 1 else {}
        records, queue = plan([notifier], old, state, records, manifest, float(i), quiet)
        found.append((part, [item["event"] for item in queue.get("n", [])], state))
        records["n"]["pending"] = []  # delivered
    return found


@settings(max_examples=300, deadline=None)
@given(
    st.lists(STATUSES, max_size=6), st.lists(STATUSES, max_size=6), st.lists(STATUSES, max_size=6)
)
def test_a_silence_holds_everything_and_its_end_tells_only_a_change(before, during, after):
    runs = replay(before, during, after)
    assert all(events == [] for part, events, _ in runs if part == 1)
    # The first run after it: one notice if the health differs from when it began.
    began = health(runs[len(before) - 1][2].get("status")) if before else None
    first_after = [(events, state) for part, events, state in runs if part == 2][:1]
    for events, state in first_after:
        now = health(state.get("status"))
        if now == FAILING_HEALTH and began != FAILING_HEALTH:
            assert events == ["failure"]
        elif now == OK and began == FAILING_HEALTH:
            assert events == ["recovery"]
        else:
            assert events == [], (before, during, after, events)
    # Over the whole story, failure and recovery alternate, starting with a failure, and
    # the last notice says the health the task has.
    whole = [event for _, events, _ in runs for event in events]
    for first, second in pairwise(whole):
        assert first != second, whole
    assert not whole or whole[0] == "failure"
    if first_after:
        failing = health(runs[-1][2].get("status")) == FAILING_HEALTH
        last = whole[-1] if whole else None
        assert last == "failure" if failing else last in (None, "recovery"), whole


def test_a_silence_holds_every_event_a_notifier_could_be_told():
    notifier = parse_notifier(
        "n",
        {
            "type": "console",
            "on": ["failure", "recovery", "still-failing", "always", "skipped", "stuck"],
            "remind_every": "1s",
            "stuck_after": 1,
        },
        {},
    )
    pending = {"id": "old/failure", "event": "failure", "run_id": "old", "attempts": 1}
    records = {"n": {"pending": [pending]}}  # a notice that failed before the silence
    state: dict = {}
    quiet = {"silence": {"until": "later"}, "ack": None}
    for i, status in enumerate(["failed", "failed", "skipped", "success"]):
        manifest = {"task": "t", "run_id": f"r{i}", "seq": i + 1, "status": status}
        old, state = state, next_state(state, {**manifest, "started_at": f"t{i}"})
        records, queue = plan([notifier], old, state, records, manifest, 100.0 * i, quiet)
        assert queue == {}, status
    assert records["n"]["pending"] == [pending]  # held, not lost: sent after the silence
    assert records["n"]["muted_from"] == {"health": None, "late": False}
    # The silence ends: what was held goes out first, then the one notice of the change
    # (the task was new when it began and is ok now: nothing more to say).
    manifest = {"task": "t", "run_id": "r9", "seq": 9, "status": "success", "started_at": "t9"}
    old, state = state, next_state(state, manifest)
    records, queue = plan([notifier], old, state, records, manifest, 1000.0, {})
    assert [item["event"] for item in queue["n"]] == ["failure", "always"]
    assert "muted_from" not in records["n"]
