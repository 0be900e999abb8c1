"""An update's run pages look up a failed run's last success and duration baseline
around each page it renders (writer._last_success_around), not in a pass over the
whole history: the answers are the full build's pass's (_last_success_before)."""

from __future__ import annotations

import random

import pytest

from sitegen.render.writer import _last_success_around, _last_success_before

pytestmark = pytest.mark.unit

STATUSES = ["success", "success", "success", "failed", "timeout", "skipped", "running", "lost"]


def _history(rng: random.Random, n: int) -> tuple[list[str], dict[str, dict]]:
    order = [f"r{i:05d}" for i in range(n)]
    sums = {}
    for run_id in order:
        summary = {"status": rng.choice(STATUSES)}
        value = rng.choice([None, "x", 1.0, 2.5, 10, 0.0004, 7.77777])
        summary["job" if rng.random() < 0.5 else "duration"] = value
        if rng.random() < 0.1:
            summary.pop("job", None)
            summary.pop("duration", None)
        sums[run_id] = summary
    return order, sums


@pytest.mark.parametrize("seed", range(40))
def test_around_each_page_is_the_full_pass(seed: int) -> None:
    rng = random.Random(seed)
    order, sums = _history(rng, rng.choice([0, 1, 5, 30, 80]))
    full = _last_success_before(order, sums)
    compared = {against for against, _ in full.values()}
    todo = [(i, run_id, None, None) for i, run_id in enumerate(order) if rng.random() < 0.4]
    found, seen = _last_success_around(order, sums, todo)
    asked = {run_id for _i, run_id, *_ in todo}
    assert found == {k: v for k, v in full.items() if k in asked}
    assert seen == compared & asked


def test_a_failed_run_after_a_long_history_sees_the_window() -> None:
    order = [f"r{i:04d}" for i in range(100)]
    sums = {run_id: {"status": "success", "job": float(i)} for i, run_id in enumerate(order)}
    sums[order[-1]] = {"status": "failed", "job": 1.0}
    found, seen = _last_success_around(order, sums, [(99, order[-1]), (98, order[-2])])
    assert found[order[-1]][0] == order[-2]
    assert found[order[-1]][1] == _last_success_before(order, sums)[order[-1]][1]
    assert found[order[-1]][1]["runs"] == 20
    assert seen == {order[-2]}


class _Counted(dict):
    """A history's summaries that count how often they are looked up."""

    asked = 0

    def get(self, key: str, default: object = None) -> object:
        self.asked += 1
        return super().get(key, default)


def test_a_long_failing_streak_rendered_whole_is_looked_up_once_a_run() -> None:
    """The oldest run pruned from a task failing for thousands of runs: an update renders
    every failed page (their baseline may have changed), and each walked back over the
    whole streak to the last success, quadratic (3,000 runs: 0.4 s; 10,000: 5 s, where
    the full build's pass takes 2 ms). A failed run after another, with no success
    between, has its answer (attack4b)."""
    n = 3000
    order = [f"r{i:05d}" for i in range(n)]
    sums = _Counted(
        (run_id, {"status": "success" if i < 3 else "failed", "job": 1.0})
        for i, run_id in enumerate(order)
    )
    todo = [(i, run_id, None, None) for i, run_id in enumerate(order)]
    found, seen = _last_success_around(order, sums, todo)
    assert found == _last_success_before(order, dict(sums))
    assert seen == {order[2]}
    assert sums.asked < 10 * n
