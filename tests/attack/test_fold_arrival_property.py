"""Attack on issue 18's fold: state.json folded one finished run at a time, in
whatever order runs of `--overlap allow` end, must equal fold() of every run it
has seen (the rule docs/on-disk.md, "One story", states and state.py promises).

Runs go through the real update_state() on a real task directory (rebuilds read
the manifests written there), in any arrival order: runs of --overlap allow may
end in any order, and a skipped tick ends at once, beneath the long run it made skip.
"""

from __future__ import annotations

import json
import os
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runwrap.store.fold import fold, with_unfinished
from runwrap.store.state import rebuild_state, state_path, update_state

STATUSES = ("success", "failed", "timeout", "killed", "lost", "skipped")


def manifest(seq: int, status: str) -> dict:
    started = f"2026-12-01T00:{seq // 60:02d}:{seq % 60:02d}Z"
    return {
        "schema": 1,
        "task": "t",
        "run_id": f"20261201T00{seq // 60:02d}{seq % 60:02d}.000Z-{seq:04x}",
        "seq": seq,
        "status": status,
        "started_at": started,
        "ended_at": started,
        "exit_code": 0 if status == "success" else 1,
        "duration_s": float(seq),
        "host": "h",
    }


def write(task_path: str, m: dict) -> None:
    run = os.path.join(task_path, "runs", m["run_id"])
    os.makedirs(run, exist_ok=True)
    with open(os.path.join(run, "manifest.json"), "w") as f:
        json.dump(m, f)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[dict], list[int]]:
    statuses = draw(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=9))
    runs = [manifest(i + 1, s) for i, s in enumerate(statuses)]
    order = draw(st.permutations(range(len(runs))))
    return runs, order


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_incremental_folding_in_any_arrival_order_equals_the_fold_of_all(history) -> None:
    runs, order = history
    with tempfile.TemporaryDirectory() as tmp:
        task_path = os.path.join(tmp, "t")
        os.makedirs(os.path.join(task_path, "runs"))
        seen = []
        for i in order:
            write(task_path, runs[i])
            seen.append(runs[i])
            _old, new = update_state(task_path, runs[i], durable=False)
            assert new == fold(seen), [r["status"] for r in seen]
            with open(state_path(task_path)) as f:
                assert json.load(f) == fold(seen)


@settings(max_examples=300, deadline=None)
@given(histories(), st.data())
def test_a_lost_run_tells_the_same_story_before_and_after_it_is_finalized(history, data) -> None:
    """query.record_of folds an unfinished lost run onto the state 'as its final
    manifest will be'; once finalized, the rebuilt state must read the same."""
    runs, _order = history
    lost_at = data.draw(st.integers(0, len(runs) - 1))
    lost = dict(runs[lost_at], status="lost")
    others = [r for i, r in enumerate(runs) if i != lost_at]
    before = with_unfinished(fold(others), [lost], lambda: others)
    after = fold([*others, lost])
    keys = ("status", "since", "failing_since", "consecutive_failures", "last_run_id")
    assert {k: before.get(k) for k in keys} == {k: after.get(k) for k in keys}


def test_rebuild_matches_fold_smoke(tmp_path) -> None:
    task_path = str(tmp_path / "t")
    os.makedirs(os.path.join(task_path, "runs"))
    runs = [manifest(1, "success"), manifest(2, "failed")]
    for r in runs:
        write(task_path, r)
    assert rebuild_state(task_path) == fold(runs)
