"""What is running comes from every unfinished run, not from the latest record."""

from __future__ import annotations

import json

from helpers.polling import wait_for
from helpers.runs import Root


def test_a_running_run_stays_running_after_the_next_tick_is_skipped(root: Root) -> None:
    long = root.start("-n", "t", "--", "sleep", "30")
    wait_for(lambda: any(m.get("pid") for m in root.manifests_so_far("t")), what="job running")
    assert root.run("-n", "t", "--", "true").returncode == 0  # skipped: still running
    assert [m["status"] for m in root.manifests("t")] == ["running", "skipped"]
    listing = root.run("ls", "--json")
    [task] = json.loads(listing.stdout)
    running_id = root.manifests("t")[0]["run_id"]
    assert task["running"] == [running_id]
    assert [r["run_id"] for r in task["running_runs"]] == [running_id]
    assert running_id in root.run("ls").stdout
    long.terminate()
    assert long.wait(timeout=30) == 143
