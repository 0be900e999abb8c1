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
