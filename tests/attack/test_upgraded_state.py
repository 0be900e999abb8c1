"""Attack on issue 18: after an upgrade, every state.json written by the previous
version (no "fold" key) is distrusted, and readers rebuild it in memory only
(state.read_state). Until each task runs again, every `runwrap ls`, `check` and
`show` reads every manifest of every task: on a 100 x 200-run ROOT, `ls` took 1.4 s
instead of 0.05 s, and a monthly task keeps it so for a month.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers.runs import RUNWRAP, Root


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_a_state_from_the_previous_fold_is_rebuilt_once_not_on_every_read(
    root: Root, tmp_path: Path
) -> None:
    for code in (0, 1, 0, 0):
        assert root.run("-n", "t", "--", "sh", "-c", f"exit {code}").returncode == code
    path = root.task_dir("t") / "state.json"
    state = json.loads(path.read_text())
    del state["fold"]  # as the previous version wrote it
    path.write_text(json.dumps(state))
    assert root.run("ls").returncode == 0  # the first reader may pay for the rebuild
    trace = tmp_path / "ls.strace"
    done = subprocess.run(
        ["strace", "-f", "-e", "trace=openat", "-o", str(trace), RUNWRAP, "ls"],
        env=root.env, cwd=root.cwd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    opened = [line for line in trace.read_text().splitlines() if "manifest.json" in line]
    assert opened == [], f"the second ls read {len(opened)} manifests again"
