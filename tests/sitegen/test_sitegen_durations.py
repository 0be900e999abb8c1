"""Duration flags on the dashboard: status.json, the run page, the task page (issue 22)."""

from __future__ import annotations

import json
from pathlib import Path

from helpers.sites import runwrap, sitegen


def test_a_fast_run_is_flagged_on_every_page(run_root: Path, out: Path):
    for _ in range(10):
        assert runwrap(run_root, "backup", "sleep 0.2").returncode == 0
    # Bounds flag it whatever the baseline says; an instant run is fast by both.
    assert runwrap(run_root, "backup", "true", "--expect-duration", "0.1s..").returncode == 0
    built = sitegen("--root", str(run_root), "--out", str(out))
    assert built.returncode == 0, built.stderr
    status = json.loads((out / "status.json").read_text())["tasks"]["backup"]
    assert status["duration"]["flag"] == "fast"
    assert status["duration"]["baseline"]["runs"] == 11  # the flagged run counts too
    assert status["last_run"]["duration_flag"] == "fast"
    run_id = status["last_run"]["run_id"]
    run_page = (out / "tasks" / "backup" / "runs" / run_id / "index.html").read_text()
    assert "Unusually fast" in run_page
    assert "Duration check" in run_page and "expected 100 ms.." in run_page
    task_page = (out / "tasks" / "backup" / "index.html").read_text()
    assert "median of the last 11 successful runs" in task_page
    assert 'class="dflag dflag-fast"' in task_page
    assert 'class="dflag dflag-fast"' in (out / "index.html").read_text()
    metrics = (out / "metrics").read_text()
    assert 'runwrap_task_last_run_duration_flag{task="backup",flag="fast"} 1' in metrics
    # A usual run: the flag is gone from the task, kept on the fast run's own page.
    assert runwrap(run_root, "backup", "sleep 0.2").returncode == 0
    assert sitegen("--root", str(run_root), "--out", str(out)).returncode == 0
    status = json.loads((out / "status.json").read_text())["tasks"]["backup"]
    assert status["duration"]["flag"] is None
    assert "dflag-fast" not in (out / "index.html").read_text()
    assert (
        "Unusually fast" in (out / "tasks" / "backup" / "runs" / run_id / "index.html").read_text()
    )
