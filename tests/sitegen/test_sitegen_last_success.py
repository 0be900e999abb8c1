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
