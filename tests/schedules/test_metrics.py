"""--metrics-dir: one <task>.prom per task after each run, valid for Prometheus' own parser and promtool."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families


def samples(path) -> dict[tuple, float]:
    """{(name, task, status): value} as prometheus_client reads the file."""
    found = {}
    for family in text_string_to_metric_families(path.read_text()):
        for s in family.samples:
            found[(s.name, s.labels.get("task"), s.labels.get("status"))] = s.value
    return found


def test_a_run_writes_its_task_file_that_prometheus_parses(root, tmp_path) -> None:
    prom = tmp_path / "prom"
    args = ("--metrics-dir", str(prom), "--schedule", "*/5 * * * *", "--notify", "none")
    root.run("-n", 'odd "name"', *args, "--", "true")
    root.run("-n", 'odd "name"', *args, "--", "sh", "-c", "exit 3")
    path = prom / 'odd "name".prom'
    got = samples(path)
    task = 'odd "name"'
    assert got[("runwrap_task_last_run_exit_code", task, None)] == 3
    assert got[("runwrap_task_last_run_status", task, "failed")] == 1
    assert got[("runwrap_task_last_run_status", task, "success")] == 0
    assert got[("runwrap_task_consecutive_failures", task, None)] == 1
    assert got[("runwrap_task_runs_total", task, "success")] == 1
    assert got[("runwrap_task_runs_total", task, "failed")] == 1
    assert got[("runwrap_task_late", task, None)] == 0
    end = got[("runwrap_task_last_run_end_timestamp_seconds", task, None)]
    assert got[("runwrap_task_next_run_expected_timestamp_seconds", task, None)] > end
    assert got[("runwrap_task_last_success_timestamp_seconds", task, None)] <= end
    assert [p.name for p in prom.iterdir()] == [path.name]  # no temp file left
    if shutil.which("promtool") is None:
        print("promtool not found (Debian's prometheus package): not checked with it")
        return
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=path.read_text(), capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_runs_total_keeps_counting_after_retention_removed_runs(root, tmp_path) -> None:
    prom = tmp_path / "prom"
    for code in (0, 1, 0, 0, 1):
        root.run(
            "-n",
            "t",
            "--keep",
            "2",
            "--notify",
            "none",
            "--metrics-dir",
            str(prom),
            "--",
            "sh",
            "-c",
            f"exit {code}",
        )
    assert len(root.run_ids("t")) <= 3
    got = samples(prom / "t.prom")
    assert got[("runwrap_task_runs_total", "t", "success")] == 3
    assert got[("runwrap_task_runs_total", "t", "failed")] == 2
    assert got[("runwrap_task_runs_counted_through", "t", None)] == 5
    assert ("runwrap_task_scheduled", "t", None) in got and got[
        ("runwrap_task_scheduled", "t", None)
    ] == 0


def test_the_metrics_module_stays_off_the_run_path_without_the_option(root) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "runwrap",
            "-n",
            "x",
            "--notify",
            "none",
            "--",
            "true",
        ],
        env=root.env,
        cwd=root.cwd,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    modules = {ln.split("|")[-1].strip() for ln in result.stderr.splitlines()}
    assert (
        not {"runwrap.store.prometheus", "runwrap.store.schedule", "runwrap.store.lateness"}
        & modules
    )


@pytest.mark.parametrize(
    "value", ["", "garbage\n", 'runwrap_task_runs_total{task="t",status="success"} x\n']
)
def test_an_unreadable_previous_file_starts_the_count_afresh(root, tmp_path, value) -> None:
    prom = tmp_path / "prom"
    prom.mkdir()
    (prom / "t.prom").write_text(value)
    root.run("-n", "t", "--notify", "none", "--metrics-dir", str(prom), "--", "true")
    assert samples(prom / "t.prom")[("runwrap_task_runs_total", "t", "success")] == 1


def test_the_example_alert_rules_are_valid() -> None:
    from pathlib import Path

    if shutil.which("promtool") is None:
        pytest.skip("promtool not found (Debian's prometheus package)")
    rules = Path(__file__).resolve().parents[2] / "docs" / "runwrap-alerts.yml"
    check = subprocess.run(
        ["promtool", "check", "rules", str(rules)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
