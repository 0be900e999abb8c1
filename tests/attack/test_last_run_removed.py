"""Attack on issue 18: the run state.json names as the last real run is gone (a person
removed its directory; retention protects it, a person does not). `runwrap show TASK`
asks query.find_run, which answers from state.json without looking: show then fails
("has no manifest yet", exit 1) though the task has other runs, and status.json links
a run page that does not exist.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from helpers.polling import wait_for
from helpers.runs import Root


def test_show_task_when_its_last_run_was_removed(root: Root, tmp_path: Path) -> None:
    assert root.run("-n", "t", "--", "true").returncode == 0
    slow = root.start("-n", "t", "--", "sleep", "2")
    wait_for(lambda: any(m.get("pid") for m in root.manifests_so_far("t")), what="the job")
    assert root.run("-n", "t", "--", "true").returncode == 0  # skipped
    assert slow.wait(timeout=30) == 0
    _first, last_real, _tick = root.run_ids("t")
    shutil.rmtree(root.run_dir("t", last_real))

    shown = root.run("show", "t")
    assert shown.returncode == 0, shown.stderr
    out = tmp_path / "out"
    root.sitegen(out)
    t = json.loads((out / "status.json").read_text())["tasks"]["t"]
    assert (out / t["last_run"]["url"]).exists(), t["last_run"]
