"""Attack on issue 18's metrics (runwrap/store/prometheus.py _count_runs): runs are
counted by run number, but found by walking run ids newest first and stopping at
the first number already counted ("run ids sort by start, and so do run numbers").
After the clock stepped back (NTP, a restored VM), a run's id sorts before an older
run's: the walk stops before reaching it and runs_total never counts it, while
history, ls and the fold (by seq: "a clock set wrong ... none of them reorders a
task's history") show it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from helpers.clock import needs_libfaketime, shifted
from helpers.runs import RUNWRAP, Root


def _totals(prom: Path) -> int:
    total = 0
    for line in prom.read_text().splitlines():
        if line.startswith("runwrap_task_runs_total{"):
            total += int(line.rsplit(" ", 1)[1])
    return total


@needs_libfaketime
def test_a_run_recorded_while_the_clock_was_behind_is_counted(root: Root, tmp_path: Path) -> None:
    metrics = tmp_path / "metrics"
    assert root.run("-n", "t", "--metrics-dir", str(metrics), "--", "true").returncode == 0
    behind = subprocess.run(
        [RUNWRAP, "-n", "t", "--metrics-dir", str(metrics), "--", "true"],
        env=shifted(root.env, "-1h"), cwd=root.cwd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert behind.returncode == 0, behind.stderr
    assert root.run("-n", "t", "--metrics-dir", str(metrics), "--", "true").returncode == 0
    seqs = sorted(m["seq"] for m in root.manifests("t"))
    assert seqs == [1, 2, 3]
    assert root.manifests("t")[0]["seq"] == 2  # the run of the clock behind sorts first
    assert _totals(metrics / "t.prom") == 3
