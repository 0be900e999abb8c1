"""state.is_valid in one pass over the state's items (runwrap ls asks it of every task) says
what the rule it replaced said: every known key of its type (never a bool for a number),
the required keys there, and no number anywhere that a write cannot carry."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from runwrap.store.fold import FOLD, fold
from runwrap.store.jsonio import writable
from runwrap.store.state import _REQUIRED, _TYPES, is_valid


def rule_before(state: object) -> bool:
    """is_valid as it was written before the one pass (key by key, then the whole walk)."""
    if not isinstance(state, dict) or state.get("fold") != FOLD:
        return False
    if any(k not in state for k in _REQUIRED):
        return False
    for key, types in _TYPES.items():
        value = state.get(key)
        if key in state and (not isinstance(value, types) or isinstance(value, bool)):
            return False
    return writable(state)


def a_state() -> dict:
    runs = [
        {
            "run_id": f"20261205T{n:06d}.000Z-{n:04x}",
            "seq": n,
            "status": "success" if n % 3 else "failed",
            "started_at": f"2026-12-05T00:00:{n:02d}.000Z",
            "ended_at": f"2026-12-05T00:01:{n:02d}.000Z",
            "duration_s": 1.5 + n,
            "exit_code": 0 if n % 3 else 1,
            "labels": {"team": "db"},
        }
        for n in range(1, 13)
    ]
    return fold(runs)


ODD = st.sampled_from(
    [True, False, 0, 1, -1, 2.5, math.inf, -math.inf, math.nan, 10**400, "x", "", None, [], {}]
)
VALUES = st.recursive(
    ODD, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner)
)


def test_a_folded_state_is_valid() -> None:
    state = a_state()
    assert is_valid(state) and rule_before(state)


@settings(max_examples=400, deadline=None)
@given(
    key=st.sampled_from([*_TYPES, "mute_windows", "last_stopped_by", "something_new"]),
    value=VALUES,
    drop=st.booleans(),
)
def test_one_pass_says_what_the_rule_before_said(key: str, value: object, drop: bool) -> None:
    state = a_state()
    if drop:
        state.pop(key, None)
    else:
        state[key] = value
    assert is_valid(state) == rule_before(state), (key, value, drop)


def test_what_a_write_cannot_carry_is_found_however_deep() -> None:
    for bad in (math.inf, math.nan, float("1e400")):
        state = a_state()
        state["labels"] = {"a": [{"b": bad}]}
        assert not is_valid(state)
        state = a_state()
        state["last_duration_s"] = bad
        assert not is_valid(state)
    state = a_state()
    state["consecutive_failures"] = True  # a bool is no count
    assert not is_valid(state)
