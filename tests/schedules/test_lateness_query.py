"""The lateness query every reader asks: a task's state and its newest run in, lateness out."""

from __future__ import annotations

from runwrap.store.lateness import newest_run_id, silent_hosts, task_lateness
from runwrap.timefmt import parse_iso

RUN = "20261126T100000.400Z-3f9a"  # started 10:00:00 UTC
T0 = parse_iso("2026-11-26T10:00:00.000Z")


def state(expr: str, grace: float | None = 60.0, **more) -> dict:
    return {
        "last_run_id": RUN,
        "last_status": "success",
        "last_ended_at": "2026-11-26T10:00:30.000Z",
        "schedule": {"expr": expr, "timezone": "UTC", "grace_s": grace},
        **more,
    }


def test_a_task_without_a_schedule_has_no_lateness() -> None:
    assert task_lateness({"last_run_id": RUN, "last_status": "success"}, now=T0) is None


def test_late_since_the_first_missed_run_counted_from_the_newest_run() -> None:
    at = task_lateness(state("*/5 * * * *"), now=T0 + 16 * 60 + 30)
    assert at.late and at.missed == 3
    assert at.late_since == T0 + 5 * 60 and at.next_expected == T0 + 20 * 60


def test_a_newer_run_not_yet_recorded_counts_too() -> None:
    newer = "20261126T101500.000Z-0001"  # running, or skipped and not folded in yet
    at = task_lateness(state("*/5 * * * *"), newer, now=T0 + 16 * 60 + 30)
    assert not at.late and at.next_expected == T0 + 20 * 60
    assert newest_run_id(state("@daily"), [{"run_id": newer}]) == newer


def test_every_counts_from_the_end_of_the_last_run() -> None:
    s = state("@every 90s", grace=30)
    ended = T0 + 30
    assert task_lateness(s, now=ended + 90 + 29).late is False
    at = task_lateness(s, now=ended + 90 + 31)
    assert at.late and at.late_since == ended + 90 and at.missed == 1


def test_every_expects_nothing_while_a_run_is_going() -> None:
    at = task_lateness(state("@every 90s"), now=T0 + 86400, running=True)
    assert not at.late and at.next_expected is None


def test_a_schedule_this_version_cannot_read_is_no_schedule() -> None:
    assert task_lateness(state("61 * * * *"), now=T0) is None
    assert task_lateness(state("@daily") | {"schedule": "@daily"}, now=T0) is None


def test_the_default_grace_applies_when_none_was_given() -> None:
    at = task_lateness(state("@hourly", grace=None), now=T0 + 3600 + 700)
    assert at.grace_s == 720 and not at.late


def test_a_host_is_silent_when_all_its_scheduled_tasks_are_late() -> None:
    late = task_lateness(state("*/5 * * * *"), now=T0 + 3600)
    on_time = task_lateness(state("*/5 * * * *"), now=T0 + 60)
    assert silent_hosts([("web1", late), ("web1", late), ("db1", late), ("db1", on_time)]) == [
        ("web1", T0)
    ]
    assert silent_hosts([("web1", late)]) == []  # one late task is that task's news


def test_the_newest_run_is_the_last_to_start_by_seq_not_by_its_clock() -> None:
    # The state's newest finished run (a skipped tick, seq 7) and a run still going (seq 8)
    # whose clock was stepped back: seq decides, not the run id's time.
    s = state("*/5 * * * *") | {
        "newest_run_id": "20261126T101000.000Z-0007",
        "newest_seq": 7,
        "newest_started_at": "2026-11-26T10:10:00.000Z",
    }
    going = {"run_id": "20261126T100800.000Z-0008", "seq": 8}
    assert newest_run_id(s, [going]) == going["run_id"]
    assert newest_run_id(s, []) == "20261126T101000.000Z-0007"  # skipped ones count
    # A state from before newest_run_id: its last run, and run ids decide.
    assert newest_run_id(state("@daily"), [{"run_id": "20261126T101500.000Z-0001"}]) == (
        "20261126T101500.000Z-0001"
    )
    assert newest_run_id(state("@daily")) == RUN


def test_nothing_is_expected_while_any_run_goes() -> None:
    at = task_lateness(state("*/5 * * * *"), now=T0 + 86400, running=True)
    assert not at.late and at.missed == 0


def test_the_expectation_counts_from_the_end_of_a_long_last_run() -> None:
    # Started 10:00, ended 10:12: the ticks at 10:05 and 10:10 went to skipped or waiting runs.
    s = state("*/5 * * * *") | {"last_ended_at": "2026-11-26T10:12:00.000Z"}
    at = task_lateness(s, now=T0 + 13 * 60)
    assert not at.late and at.next_expected == T0 + 15 * 60
    late = task_lateness(s, now=T0 + 16 * 60 + 30)
    assert late.late and late.late_since == T0 + 15 * 60 and late.missed == 1


def test_the_default_grace_of_an_irregular_schedule_is_stable_between_reads() -> None:
    # Sundays at 01:00, 02:00 and 03:00; the last run was the 03:00 one. The next is due a
    # week later at 01:00 with a grace of a fifth of the hour after it: late from 01:12 on,
    # and never on time again without a run (no RECOVERED with no run).
    s = state("0 1,2,3 * * 0", grace=None) | {
        "last_run_id": "20261122T030010.000Z-0001",
        "last_ended_at": "2026-11-22T03:00:20.000Z",
    }
    due = parse_iso("2026-11-29T01:00:00.000Z")
    assert not task_lateness(s, now=due + 12 * 60 - 1).late
    seen = [task_lateness(s, now=due + 12 * 60 + 1 + k * 600) for k in range(60)]
    assert all(at.late and at.late_since == due for at in seen)
    assert [at.missed for at in seen] == sorted(at.missed for at in seen)
