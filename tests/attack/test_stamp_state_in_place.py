"""Attack on issue 18: a one-shot sitegen whose stamp says nothing changed while
state.json changed in place (a hand edit, a restore with rsync --inplace, an editor
that writes in place). `runwrap ls` reads the new state.json; status.json keeps the old
story. sitegen --watch watches state.json's own signature (late.py _state_sig); the
one-shot stamp (stamp.py) takes only the task directory's, which an in-place write
leaves as it was.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from helpers.runs import Root


def _status(root: Root, out: Path) -> dict:
    root.sitegen(out)
    return json.loads((out / "status.json").read_text())["tasks"]["t"]


def _ls(root: Root) -> dict:
    listing = root.run("ls", "--json")
    assert listing.returncode == 0, listing.stderr
    return {v["task"]: v for v in json.loads(listing.stdout)}["t"]


def test_a_state_json_changed_in_place_reaches_status_json(root: Root, tmp_path: Path) -> None:
    assert root.run("-n", "t", "--", "true").returncode == 0
    assert root.run("-n", "t", "--", "true").returncode == 0
    hour_ago = time.time() - 3600  # nothing racy: every signature is an hour old
    for dirpath, dirnames, filenames in os.walk(root.task_dir("t")):
        for name in [*dirnames, *filenames]:
            os.utime(os.path.join(dirpath, name), (hour_ago, hour_ago))
    os.utime(root.task_dir("t"), (hour_ago, hour_ago))
    os.utime(root.path / "tasks", (hour_ago, hour_ago))
    out = tmp_path / "out"
    assert _status(root, out)["state"] == "ok"

    # A valid state, written in place (same inode, the directory untouched).
    path = root.task_dir("t") / "state.json"
    state = json.loads(path.read_text())
    state.update(status="failed", last_status="failed", consecutive_failures=1)
    state["failing_since"] = state["since"]
    with open(path, "r+") as f:
        f.write(json.dumps(state))
        f.truncate()
    assert _ls(root)["state"] == "failing"
    assert _status(root, out)["state"] == "failing"  # the stamp said: nothing changed
