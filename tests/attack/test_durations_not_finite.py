"""A state.json whose duration window holds a number JSON cannot carry back (Infinity,
an integer no float holds) must not break the task's runs nor the dashboard.

state.json is a cache (DESIGN: any reader that finds it wrong rebuilds it); Python's
json reads `Infinity` and 1e400-sized integers, and store/durations.py took both for
durations. Before: every later run of the task ended `lost` with "internal error:
ValueError: Out of range float values are not JSON compliant" (exit 125, the job's own
exit lost), the window kept the value so this went on for ever, and sitegen failed
with a traceback for the whole site.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.sites import runwrap, sitegen

POISONS = {
    "infinity": "Infinity",
    "huge-integer": "1" + "0" * 400,
}


def _poison(run_root: Path, task: str, literal: str) -> None:
    path = run_root / "tasks" / task / "state.json"
    state = json.loads(path.read_text())
    state["durations"] = ["POISON"] * 12
    state["last_duration_s"] = "POISON"
    text = json.dumps(state).replace('"POISON"', literal)
    path.write_text(text)


@pytest.mark.parametrize("literal", POISONS.values(), ids=POISONS.keys())
def test_a_non_finite_duration_in_state_breaks_no_run_and_no_page(
    run_root: Path, out: Path, literal: str
):
    assert runwrap(run_root, "backup", "true").returncode == 0
    _poison(run_root, "backup", literal)

    ran = runwrap(run_root, "backup", "exit 3")
    assert ran.returncode == 3, ran.stderr  # the job's own exit, not runwrap's 125
    assert "internal error" not in ran.stderr and "Traceback" not in ran.stderr
    ran = runwrap(run_root, "backup", "true")
    assert ran.returncode == 0, ran.stderr
    assert "internal error" not in ran.stderr

    built = sitegen("--root", str(run_root), "--out", str(out))
    assert built.returncode == 0, built.stderr
    assert "Traceback" not in built.stderr
    status = json.loads((out / "status.json").read_text())["tasks"]["backup"]
    assert status["state"] == "ok"
    assert status["last_run"]["status"] == "success"


def test_a_final_manifest_with_infinite_durations_breaks_no_run(run_root: Path, out: Path):
    """A final manifest rewritten after the fact (a job's child that outlived it) with
    durations no write can carry: the state rebuilt from it must still be written."""
    assert runwrap(run_root, "backup", "true").returncode == 0
    task = run_root / "tasks" / "backup"
    [run_id] = [p.name for p in (task / "runs").iterdir() if not p.name.startswith(".")]
    path = task / "runs" / run_id / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["duration_s"] = "POISON"
    manifest["duration_check"] = {"flag": "slow", "duration_s": "POISON", "runs": 0}
    path.write_text(json.dumps(manifest).replace('"POISON"', "Infinity"))
    (task / "state.json").unlink()  # a cache: rebuilt from the manifests

    ran = runwrap(run_root, "backup", "exit 3")
    assert ran.returncode == 3, ran.stderr
    assert "internal error" not in ran.stderr
    built = sitegen("--root", str(run_root), "--out", str(out))
    assert built.returncode == 0, built.stderr
    status = json.loads((out / "status.json").read_text())["tasks"]["backup"]
    assert status["last_run"]["status"] == "failed"
