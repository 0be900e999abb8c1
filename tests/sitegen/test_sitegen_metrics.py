"""OUT/metrics: every task in the Prometheus text format, from real runwrap runs, valid
for prometheus_client's parser and promtool; its counters only go up, across builds,
`--watch` updates and retention."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from helpers.clock import needs_libfaketime
from helpers.polling import wait_for
from helpers.runs import BIN
from helpers.sites import ENV, build_later, runwrap, sitegen


def samples(text: str) -> dict[tuple, float]:
    """{(name, task, status): value} as prometheus_client reads the text."""
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, s.labels.get("task"), s.labels.get("status"))] = s.value
    return found


def build(run_root: Path, out: Path) -> dict[tuple, float]:
    result = sitegen("--root", str(run_root), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return samples((out / "metrics").read_text())


def promtool_accepts(text: str) -> None:
    if shutil.which("promtool") is None:
        print("promtool not found (Debian's prometheus package): not checked with it")
        return
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_build_writes_metrics_that_prometheus_reads(run_root, out) -> None:
    assert runwrap(run_root, "sync", "true", "--schedule", "*/5 * * * *").returncode == 0
    assert runwrap(run_root, "report", "exit 3").returncode == 3
    got = build(run_root, out)
    promtool_accepts((out / "metrics").read_text())
    assert got[("runwrap_task_runs_total", "sync", "success")] == 1
    assert got[("runwrap_task_runs_total", "report", "failed")] == 1
    assert got[("runwrap_task_last_run_exit_code", "report", None)] == 3
    assert got[("runwrap_task_consecutive_failures", "report", None)] == 1
    assert got[("runwrap_task_scheduled", "sync", None)] == 1
    assert got[("runwrap_task_late", "sync", None)] == 0
    assert got[("runwrap_task_next_run_expected_timestamp_seconds", "sync", None)] > 0
    assert ("runwrap_task_late", "report", None) not in got  # no schedule, no expectation
    names = {p.name for p in out.iterdir()}
    assert not [n for n in names if n.startswith(".metrics") or n.endswith(".tmp")]


def test_runs_total_keeps_going_up_across_builds_and_retention(run_root, out) -> None:
    # Retention keeps 2 runs: the counters come from the previous OUT/metrics, so the
    # runs it removed stay counted (a build between each two runs sees each one).
    for n, code in enumerate((0, 1, 0, 0, 1)):
        runwrap(run_root, "t", f"exit {code}", "--keep", "2")
        got = build(run_root, out)
        assert got[("runwrap_task_runs_counted_through", "t", None)] == n + 1
    assert len(list((run_root / "tasks" / "t" / "runs").iterdir())) <= 3
    assert got[("runwrap_task_runs_total", "t", "success")] == 3
    assert got[("runwrap_task_runs_total", "t", "failed")] == 2
    promtool_accepts((out / "metrics").read_text())


@needs_libfaketime
def test_the_metrics_say_late_when_the_clock_says_so(run_root, out) -> None:
    assert runwrap(run_root, "sync", "true", "--schedule", "*/5 * * * *").returncode == 0
    build_later(run_root, out, 30)
    got = samples((out / "metrics").read_text())
    assert got[("runwrap_task_late", "sync", None)] == 1
    assert got[("runwrap_task_missed_runs", "sync", None)] >= 5
    assert build(run_root, out)[("runwrap_task_late", "sync", None)] == 0


def test_watch_updates_the_metrics_with_each_run(run_root, out) -> None:
    log = out.parent / "watch.log"
    with open(log, "w") as f:
        proc = subprocess.Popen(
            [str(BIN / "sitegen"), "--root", str(run_root), "--out", str(out), "--watch"],
            env=ENV, stdout=f, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for(lambda: (out / "metrics").exists(), what="the first metrics")
        for n in (1, 2):
            runwrap(run_root, "nightly", "true")
            wait_for(
                lambda n=n: (
                    samples((out / "metrics").read_text()).get(
                        ("runwrap_task_runs_total", "nightly", "success")
                    )
                    == n
                ),
                what=f"{n} runs counted",
            )
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0, log.read_text()
