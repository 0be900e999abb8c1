"""Attack on issue 18's "one validity rule": a finished manifest with a wrong-typed
field (a job's leftover process rewrote its record: "started_at": ["x"]).

sitegen checks every manifest with store/manifest.manifest_problem and skips this
run as unreadable; the fold (state.final_manifests: read_manifest + fold.is_final)
takes it. So ls and status.json say the task failed in a run that the site's
history does not have, and the wrong types flow into ls --json and status.json
("since": ["x"]), where readers expect a time or null.
"""

from __future__ import annotations

import json
from pathlib import Path

from helpers.runs import Root


def test_one_rule_for_which_finished_runs_count(root: Root, tmp_path: Path) -> None:
    assert root.run("-n", "t", "--", "true").returncode == 0
    assert root.run("-n", "t", "--", "false").returncode == 1
    forged = root.run_dir("t") / "manifest.json"
    manifest = json.loads(forged.read_text())
    manifest["started_at"] = ["x"]
    forged.write_text(json.dumps(manifest))
    (root.task_dir("t") / "state.json").unlink()  # any rebuild

    listing = root.run("ls", "--json")
    assert listing.returncode == 0, listing.stderr
    (v,) = json.loads(listing.stdout)
    out = tmp_path / "out"
    root.sitegen(out)
    t = json.loads((out / "status.json").read_text())["tasks"]["t"]
    history = json.loads(root.run("history", "--json", "t").stdout)
    shown_runs = {h.get("run_id") for h in history} if isinstance(history, list) else set()
    page = out / "tasks" / "t" / "runs" / manifest["run_id"] / "index.html"

    for value in (v["since"], v["failing_since"], t["since"]):
        assert value is None or isinstance(value, str), value
    # One story on which runs exist: the run the state calls last has a page and a row.
    assert v["last_run"]["run_id"] == t["last_run"]["run_id"]
    if v["last_run"]["run_id"] == manifest["run_id"]:
        assert page.exists(), "status.json names a run that sitegen skipped as unreadable"
        assert manifest["run_id"] in shown_runs or not shown_runs
