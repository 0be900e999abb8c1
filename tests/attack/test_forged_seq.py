"""Attack on issue 18: one manifest whose `seq` is out of line (forged by a job that
outlived its run, hand-edited, restored from elsewhere) freezes the task's story.

The fold orders runs by seq before anything else (fold.order_key). Once a rebuild
has folded a run with a huge seq (state.json removed or broken, or an upgrade that
changes the fold's version), that run is the newest forever: every later run sorts
beneath it, can_fold() refuses it, each run rebuilds the whole history and the
forged run's status stays the task's. Failures after it are never shown.
"""

from __future__ import annotations

import json

from helpers.runs import Root


def _ls(root: Root) -> dict:
    listing = root.run("ls", "--json")
    assert listing.returncode == 0, listing.stderr
    return {v["task"]: v for v in json.loads(listing.stdout)}["t"]


def test_a_forged_seq_does_not_hide_every_later_failure(root: Root) -> None:
    assert root.run("-n", "t", "--", "true").returncode == 0
    forged = root.run_dir("t") / "manifest.json"
    manifest = json.loads(forged.read_text())
    manifest["seq"] = 10**12  # what a job's leftover process may write into its own record
    forged.write_text(json.dumps(manifest))
    (root.task_dir("t") / "state.json").unlink()  # any rebuild (an upgrade's new fold too)

    for _ in range(3):
        assert root.run("-n", "t", "--", "false").returncode == 1
    newest = root.run_ids("t")[-1]
    v = _ls(root)
    assert v["state"] == "failing", v
    assert v["last_run"]["run_id"] == newest, v
    assert v["consecutive_failures"] == 3, v
