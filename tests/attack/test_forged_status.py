"""Attack on issue 18: a finished run's manifest rewritten after runwrap recorded it
(a job's leftover process writes "status": "running" into its own record; it has no
open marker any more). ls answers from state.json (success); show, history and
sitegen's run summary read the manifest (running, read as lost: its owner is gone);
status.json then says state "ok" with a last_run whose status is "lost".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.runs import Root


@pytest.mark.xfail(
    strict=True,
    reason="known limit: show --json is the manifest as on disk; a final manifest "
    "rewritten after its run was folded is not re-read into the state (issue note)",
)
def test_a_finished_runs_rewritten_status_is_one_story(root: Root, tmp_path: Path) -> None:
    assert root.run("-n", "t", "--", "true").returncode == 0
    assert root.run("-n", "t", "--", "true").returncode == 0
    path = root.run_dir("t") / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["status"] = "running"
    path.write_text(json.dumps(manifest))

    listing = root.run("ls", "--json")
    (v,) = json.loads(listing.stdout)
    shown = json.loads(root.run("show", "--json", "t").stdout)
    out = tmp_path / "out"
    root.sitegen(out)
    t = json.loads((out / "status.json").read_text())["tasks"]["t"]
    assert t["last_run"]["status"] == t["last_status"], t  # status.json with itself
    assert v["last_run"]["status"] == shown["status"], (v["last_run"], shown["status"])
