"""The nospam rule over any sequence of runs (the pure decision, no I/O)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from runwrap.notify.events import decide
from runwrap.notify.notifiers import parse_notifier
from runwrap.store.state import next_state

STATUSES = st.sampled_from(["success", "failed", "timeout", "killed", "lost", "skipped"])


def replay(statuses: list[str], after: int) -> list[str]:
    notifier = parse_notifier(
        "n", {"type": "console", "after": after, "on": ["failure", "recovery"]}, {}
    )
    state: dict = {}
    told: dict = {}
    said = []
    for i, status in enumerate(statuses):
        manifest = {"task": "t", "run_id": f"r{i:04d}", "status": status, "started_at": f"t{i:04d}"}
        state = next_state(state, manifest)
        events, told = decide(notifier, told, state, manifest, float(i))
        said += events
    return said


def expected(statuses: list[str], after: int) -> list[str]:
    """One failure per run of >= `after` failing runs (skips ignored), one recovery if it ends."""
    said = []
    streak = 0
    for status in statuses:
        if status == "skipped":
            continue
        if status == "success":
            if streak >= after:
                said.append("recovery")
            streak = 0
        else:
            streak += 1
            if streak == after:
                said.append("failure")
    return said


@given(st.lists(STATUSES, max_size=40), st.integers(min_value=1, max_value=4))
def test_one_failure_and_one_recovery_per_outage(statuses, after):
    assert replay(statuses, after) == expected(statuses, after)


def test_fail_fail_fail_success():
    assert replay(["failed", "failed", "failed", "success"], 1) == ["failure", "recovery"]
