"""Pure rules of issue 22: duration verdicts, the nospam memory of duration notices, the
stderr mask of what changed, and the fold's baseline window."""

from __future__ import annotations

import pytest

from runwrap.notify.events import decide
from runwrap.notify.notifiers import parse_notifier
from runwrap.store import durations
from runwrap.store.fold import fold
from runwrap.store.whatchanged import mask


def test_no_verdict_before_enough_runs_and_the_thresholds():
    assert durations.judge([1.0] * 9, 10.0) is None
    window = [1.0] * 19 + [1.2]
    assert durations.baseline(window) == {"runs": 20, "median_s": 1.0, "p95_s": 1.0}
    assert durations.judge(window, 10.0)["flag"] == "slow"
    assert durations.judge(window, 2.9)["flag"] is None  # under 3 x the median
    assert durations.judge(window, 0.05)["flag"] == "fast"
    assert durations.judge(window, 0.25)["flag"] is None  # over the median / 5
    # Milliseconds apart is noise, whatever the ratio.
    assert durations.judge([0.01] * 20, 0.1)["flag"] is None
    assert durations.judge([0.01] * 20, 0.001)["flag"] is None


def test_bounds_flag_from_the_first_run():
    assert durations.judge([], 5.0, [60.0, 1200.0])["flag"] == "fast"
    assert durations.judge([], 1300.0, [None, 1200.0])["flag"] == "slow"
    assert durations.judge([], 100.0, [60.0, None])["flag"] is None
    assert "expected 1 min..20 min" in durations.describe(durations.judge([], 5, [60, 1200]))


@pytest.mark.parametrize("junk", [None, "x", [True, "a", -1, None], {"a": 1}])
def test_a_window_from_a_file_is_never_trusted_blindly(junk):
    assert durations.window_of(junk) == []
    assert durations.pushed(junk, 1.5) == [1.5]


def test_the_fold_keeps_the_last_successful_durations():
    runs = [
        {
            "run_id": f"r{i:03d}",
            "seq": i,
            "status": "success" if i % 5 else "failed",
            "duration_s": float(i),
        }
        for i in range(1, 41)
    ]
    state = fold(runs)
    assert len(state["durations"]) == durations.WINDOW
    assert 40.0 not in state["durations"] and 39.0 in state["durations"]  # 40 failed


def _run(flag):
    check = None if flag is None else {"flag": flag}
    return {"status": "success", "run_id": "r", "duration_check": check}


def test_a_duration_is_told_once_and_recovers():
    hook = parse_notifier("hook", {"type": "console"}, {})
    state = {"consecutive_failures": 0}
    told = {}
    said = []
    for flag in ["slow", "slow", None, None, "fast", "slow", None]:
        events, told = decide(hook, told, state, _run(flag), 0.0)
        said.append(events)
    assert said == [["duration"], [], ["recovery"], [], ["duration"], ["duration"], ["recovery"]]


def test_the_mask_keeps_words_and_hides_what_changes():
    a = mask("copied 120 files in 3.5 s at 2026-11-22T04:37:33Z (job 3f9a2b1c, 0xdead)")
    b = mask("copied 7 files in 12.25 s at 2026-11-23T05:00:01Z (job 77aa00ff, 0xbeef)")
    assert a == b
    assert mask("ERROR: replica refused") == "ERROR: replica refused"
    assert mask("facade") == "facade"  # a word of hex letters only is a word


def test_what_changed_reads_only_the_end_of_a_huge_log(tmp_path):
    from runwrap.store.whatchanged import READ_BYTES, compare

    now, was = tmp_path / "now", tmp_path / "was"
    now.mkdir()
    was.mkdir()
    (was / "stderr.log").write_text("step 1 done\n")
    with open(now / "stderr.log", "wb") as f:  # 4 GiB, sparse: reading it whole would show
        f.truncate(4 << 30)
        f.seek(0, 2)
        f.write(b"step 2 done\nboom: disk full\n")
    changes = compare(
        {"run_id": "b", "exit_code": 1}, str(now), {"run_id": "a", "exit_code": 0}, str(was)
    )
    assert changes["stderr"] == {"lines": ["boom: disk full"], "more": 0, "cut": True}
    assert READ_BYTES <= 1 << 20


def test_a_window_pushed_in_place_is_the_window_pushed_anew():
    durations_seen = [1.0, "x", None, 2.5, True, float("nan"), float("inf"), -1, 10**400]
    durations_seen += [0.1234567 * i for i in range(30)]
    anew: list[float] = []
    in_place: list[float] = []
    for d in durations_seen:
        anew = durations.pushed(anew, d)
        durations.push(in_place, d)
        assert in_place == anew
    assert len(in_place) == durations.WINDOW
