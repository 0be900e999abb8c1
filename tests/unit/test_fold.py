"""The fold (runwrap/store/fold.py) as pure functions: the state is what the runs imply, in seq
order, however the runs arrive; and the read model's view and totals over it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwrap.store.fold import can_fold, fold, next_state, periods, with_unfinished
from runwrap.store.query import record_of, shown_state, totals, view

STATUSES = ("success", "failed", "timeout", "killed", "lost", "skipped")


def run(seq: int, status: str) -> dict:
    return {
        "run_id": f"20261205T{seq:06d}.000Z-{seq:04x}",
        "seq": seq,
        "status": status,
        "started_at": f"2026-12-05T00:00:{seq:02d}.000Z",
        "ended_at": f"2026-12-05T00:01:{seq:02d}.000Z",
        "duration_s": 1.0,
        "exit_code": 0 if status == "success" else 1,
    }


def arrive(runs: list[dict]) -> dict:
    """state.json as runwrap keeps it: each run folded on as it ends, else all again."""
    state: dict = {}
    seen: list[dict] = []
    for manifest in runs:
        seen.append(manifest)
        state = next_state(state, manifest) if can_fold(state, manifest) else fold(seen)
    return state


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=12), st.randoms())
def test_any_arrival_order_folds_to_the_state_of_all_runs(statuses, rnd):
    runs = [run(i + 1, s) for i, s in enumerate(statuses)]
    # Runs end in any order (--overlap allow), but a skipped tick ends at once, and a
    # real run that outlives later ticks ends after them: shuffle a copy and fold it in.
    arrival = runs[:]
    rnd.shuffle(arrival)
    assert arrive(arrival) == fold(runs)


def test_a_skipped_tick_is_never_the_last_run():
    state = fold([run(1, "success"), run(2, "skipped"), run(3, "skipped")])
    assert state["last_run_id"] == run(1, "success")["run_id"]
    assert state["status"] == "success" and state["consecutive_skips"] == 2
    assert state["newest_run_id"] == run(3, "skipped")["run_id"]


def test_a_long_run_ending_after_the_ticks_it_made_skip_goes_beneath_them():
    state = fold([run(1, "success"), run(3, "skipped"), run(4, "skipped")])
    long = run(2, "failed")
    assert can_fold(state, long)  # no rebuild: the job slower than its period is the usual case
    state = next_state(state, long)
    assert state == fold([run(1, "success"), long, run(3, "skipped"), run(4, "skipped")])
    assert state["last_run_id"] == long["run_id"] and state["consecutive_skips"] == 2


def test_failing_since_goes_with_the_streak():
    failing = fold([run(1, "failed"), run(2, "timeout")])
    assert failing["failing_since"] == run(1, "failed")["started_at"]
    assert failing["since"] == failing["failing_since"] and failing["consecutive_failures"] == 2
    ok = next_state(failing, run(3, "success"))
    assert ok["failing_since"] is None and ok["consecutive_failures"] == 0
    assert ok["since"] == run(3, "success")["started_at"]


def test_a_lost_run_is_folded_on_as_its_final_manifest_will_be():
    state = fold([run(1, "success")])
    lost = dict(run(2, "running"), status="lost")
    shown = with_unfinished(state, [lost])
    assert shown == fold([run(1, "success"), dict(lost, status="lost")])
    assert shown["status"] == "lost" and shown["consecutive_failures"] == 1


def test_periods_are_the_runs_that_began_a_health_period():
    runs = [run(1, "success"), run(2, "failed"), run(3, "timeout"), run(4, "skipped")]
    runs += [run(5, "success"), run(6, "success")]
    assert [m["seq"] for m in periods(runs)] == [2, 5]


def test_a_job_written_value_of_any_type_is_no_status():
    state = fold([run(1, "success"), dict(run(2, "x"), status=["failed"])])
    assert state["status"] == "success"


@pytest.mark.parametrize(
    ("runs", "unfinished", "expected"),
    [
        ([], [], ("never", "never")),
        ([], [{"run_id": "r", "seq": 1, "status": "running"}], ("never", "running")),
        ([run(1, "success")], [], ("ok", "ok")),
        (
            [run(1, "failed")],
            [{"run_id": "r", "seq": 2, "status": "running"}],
            ("failing", "failing"),
        ),
        ([run(1, "success"), run(2, "skipped")], [], ("ok", "ok")),
    ],
)
def test_the_view_buckets_and_shows(runs, unfinished, expected):
    v = view(record_of("t", fold(runs), unfinished))
    assert (v["state"], v["shown"]) == expected


def test_late_is_shown_before_running_but_never_over_failing():
    assert shown_state("ok", True, True) == "late"
    assert shown_state("failing", True, True) == "failing"
    assert shown_state("never", True, False) == "running"


def test_totals_partition_the_tasks():
    views = [
        view(record_of("a", fold([run(1, "failed")]), [])),
        view(
            record_of(
                "b", fold([run(1, "success")]), [{"run_id": "x", "seq": 2, "status": "running"}]
            )
        ),
        view(record_of("c", {}, [{"run_id": "y", "seq": 1, "status": "running"}])),
        view(record_of("d", fold([run(1, "success")]), []), {"late": True}),
    ]
    counts = totals(views)
    assert counts == {"tasks": 4, "failing": 1, "ok": 2, "never": 1, "running": 2, "late": 1}
    assert counts["failing"] + counts["ok"] + counts["never"] == counts["tasks"]
