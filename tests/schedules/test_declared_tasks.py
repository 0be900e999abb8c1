"""Tasks declared in the config: `runwrap run TASK`, `runwrap crontab` (and --check), `runwrap systemd`."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timezone

import pytest
import yaml

from runwrap.unitfiles import on_calendar

from helpers.runs import assert_one_line_error

CONFIG = {
    "tasks": {
        "backup": {"command": ["sh", "-c", "echo saved > out.txt"], "schedule": "*/5 * * * *"},
        "report": {"command": "echo a b | wc -w", "shell": True, "schedule": "0 2 * * 1-5"},
        "poll": {"command": ["true"], "every": "90s"},
        "adhoc": {"command": ["true"]},  # no schedule: not in the crontab
    }
}


@pytest.fixture
def declared(root, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    root.env["RUNWRAP_CONFIG"] = str(config)
    root.config = config
    return root


def test_run_task_runs_the_declared_command_and_records_its_schedule(declared) -> None:
    result = declared.run("run", "backup")
    assert result.returncode == 0, result.stderr
    assert (declared.run_dir("backup") / "out.txt").read_text() == "saved\n"
    assert declared.state("backup")["schedule"]["expr"] == "*/5 * * * *"
    assert declared.run("run", "report").returncode == 0
    assert (declared.run_dir("report") / "stdout.log").read_text().strip() == "2"
    declared.run("run", "poll")
    assert declared.state("poll")["schedule"]["expr"] == "@every 90s"


def test_run_task_refuses_a_task_without_a_command_and_a_string_without_shell(declared) -> None:
    result = declared.run("run", "nosuch")
    assert_one_line_error(result, "has no command")
    declared.config.write_text(yaml.safe_dump({"tasks": {"x": {"command": "echo hi"}}}))
    result = declared.run("run", "x")
    assert_one_line_error(result, "shell: true")
    assert declared.run_ids("x") == []


@pytest.fixture
def cron_only(declared):
    """The config without its every: task, which a crontab cannot hold (see test_crontab_whole)."""
    tasks = {k: v for k, v in CONFIG["tasks"].items() if "every" not in v}
    declared.config.write_text(yaml.safe_dump({"tasks": tasks}))
    return declared


def test_crontab_prints_a_line_per_scheduled_task(cron_only) -> None:
    declared = cron_only
    result = declared.run("crontab")
    assert result.returncode == 0, result.stderr
    lines = [ln for ln in result.stdout.splitlines() if not ln.startswith("#")]
    assert len(lines) == 2
    assert lines[0].startswith("*/5 * * * *  ") and lines[0].endswith(" run backup")
    assert f"--root {declared.path} --config {declared.config}" in lines[0]


def test_crontab_lines_run_the_task_as_cron_would(cron_only) -> None:
    declared = cron_only
    line = declared.run("crontab").stdout.splitlines()[1]
    command = line.split("  ", 1)[1]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(declared.cwd)}  # cron's environment
    result = subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (declared.run_dir("backup") / "out.txt").exists()


def test_crontab_check_names_the_differences(cron_only, tmp_path) -> None:
    declared = cron_only
    lines = declared.run("crontab", "--cron-d", "root").stdout
    installed = tmp_path / "runwrap.cron"
    installed.write_text("MAILTO=ops@example.org\n" + lines)
    same = declared.run("crontab", "--check", str(installed), "--cron-d", "root")
    assert same.returncode == 0 and "runs the 2 tasks declared in" in same.stdout
    changed = lines.replace("0 2 * * 1-5", "0 3 * * 1-5").replace(" run backup", " run gone")
    installed.write_text(changed)
    differ = declared.run("crontab", "--check", str(installed), "--cron-d", "root")
    assert differ.returncode == 1
    out = differ.stdout
    assert "task 'backup': missing" in out
    assert "task 'report': runs at '0 3 * * 1-5', the config says '0 2 * * 1-5'" in out
    assert "task 'gone': in the crontab, but the config declares no such task" in out


def test_systemd_writes_units_that_systemd_accepts(declared, tmp_path) -> None:
    out = tmp_path / "units"
    result = declared.run("systemd", "--out", str(out))
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        f"runwrap-{t}.{k}" for t in ("backup", "poll", "report") for k in ("service", "timer")
    ]
    timer = (out / "runwrap-poll.timer").read_text()
    assert "OnUnitInactiveSec=90s" in timer and "OnCalendar" not in timer
    assert "OnCalendar=Mon..Fri *-*-* 02:00:00" in (out / "runwrap-report.timer").read_text()
    if shutil.which("systemd-analyze") is None:
        print("systemd-analyze not found (Debian's systemd package): units not verified")
        return
    verify = subprocess.run(
        ["systemd-analyze", "verify", *map(str, sorted(out.iterdir()))],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr


CRON_CASES = [
    "*/5 * * * *",
    "0 2 * * *",
    "@weekly",
    "@monthly",
    "30 4 * jan-mar sun",
    "*/7 1-5 */2 * *",
    "0 9-17/2 * * mon-fri",
    "0 0 1,15 * 1-5",  # both day fields: cron runs when either matches
    "15 3 * * 5-7",
]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
@pytest.mark.parametrize("expr", CRON_CASES)
def test_on_calendar_fires_when_cron_would(expr: str) -> None:
    from cronsim import CronSim

    from runwrap.store.schedule import expression

    start = datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc)
    fires = CronSim(expression(expr), start)
    want = [next(fires) for _ in range(12)]
    got = set()
    for event in on_calendar(expr):
        result = subprocess.run(
            [
                "systemd-analyze",
                "calendar",
                "--iterations=12",
                "--base-time=2026-11-26 10:00:00 UTC",
                f"{event} UTC",
            ],
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin", "TZ": "UTC"},
        )
        assert result.returncode == 0, result.stderr
        for line in result.stdout.splitlines():
            if "Next elapse:" in line or "Iter. #" in line:
                stamp = line.split(": ", 1)[1].rsplit(" ", 1)[0]
                got.add(
                    datetime.strptime(stamp, "%a %Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
                )
    assert sorted(got)[:12] == want
