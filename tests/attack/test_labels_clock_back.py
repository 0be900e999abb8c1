"""Attack on issue 18: the task's labels and host on the dashboard and in status.json
come from the newest run by run id (sitegen/model.task_summary: runs[-1]), while ls
and the state take them from the newest run by seq (fold.next_state). After the clock
stepped back, the two are different runs: ls says team=new, status.json team=old.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from helpers.clock import needs_libfaketime, shifted
from helpers.runs import RUNWRAP, Root


@needs_libfaketime
def test_labels_are_the_newest_runs_on_every_surface(root: Root, tmp_path: Path) -> None:
    assert root.run("-n", "t", "-l", "team=old", "--", "true").returncode == 0
    behind = subprocess.run(
        [RUNWRAP, "-n", "t", "-l", "team=new", "--", "true"],
        env=shifted(root.env, "-1h"), cwd=root.cwd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert behind.returncode == 0, behind.stderr
    (v,) = json.loads(root.run("ls", "--json").stdout)
    out = tmp_path / "out"
    root.sitegen(out)
    t = json.loads((out / "status.json").read_text())["tasks"]["t"]
    assert v["labels"] == {"team": "new"}
    assert t["labels"] == v["labels"], (t["labels"], v["labels"])
