"""A recorded mute window that names no time at all (a schedule cronsim refuses, such as
Feb 30: only a state.json or manifest not written by runwrap holds one, runwrap refuses
it in the config) mutes nothing, as the store's rule says of any record a reader cannot
walk (store/silences.py): no reader stops on it, and the silence memo (sitegen/read/late.py:
silence_change, silences.next_window) asks no change of it."""

from __future__ import annotations

import json
import subprocess

import pytest

from runwrap.store.silences import next_window, window_of
from sitegen.read.late import silence_change

from helpers.sites import BIN, ENV, runwrap, sitegen

NEVER = [{"expr": "0 9 30 2 *", "for_s": 3600, "reason": "never", "timezone": None}]


@pytest.mark.unit
def test_a_window_that_never_opens_is_no_window_and_no_change():
    now = 1_800_000_000.0
    assert window_of(NEVER, now) is None
    assert next_window(NEVER, now) is None
    assert silence_change({"silence": None, "state": {"mute_windows": NEVER}}, now) is None
    fine = {"expr": "0 9 * * *", "for_s": 60, "reason": "r", "timezone": None}
    endless = {**fine, "for_s": 1e20}  # longer than any date: JSON holds it
    assert window_of([endless], now) is None
    assert next_window([*NEVER, fine], now) == now + 3600  # the others still count


def test_readers_keep_going_past_a_window_that_never_opens(run_root, out):
    assert runwrap(run_root, "a", "true", "--schedule", "*/5 * * * *").returncode == 0
    state = run_root / "tasks" / "a" / "state.json"
    record = json.loads(state.read_text())
    record["mute_windows"] = NEVER
    state.write_text(json.dumps(record))
    listed = subprocess.run(
        [str(BIN / "runwrap"), "ls", "--json", "--root", str(run_root)],
        env=ENV, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)[0]["muted"] is None
    built = sitegen("--root", str(run_root), "--out", str(out), "-q")
    assert built.returncode == 0 and built.stderr == "", built.stderr
    assert json.loads((out / "status.json").read_text())["tasks"]["a"]["muted"] is None
