"""runwrap check: exit 1 and one `late` notice when a scheduled task stops running;
the task's next real run sends the recovery. Readers look from later on with faketime."""

from __future__ import annotations

import subprocess

import yaml

from helpers.clock import needs_libfaketime, shifted
from helpers.runs import RUNWRAP

pytestmark = needs_libfaketime


def later(root, minutes: int, *args: str) -> subprocess.CompletedProcess:
    """`runwrap ARGS` as if it were `minutes` later than now."""
    return subprocess.run(
        [RUNWRAP, *args],
        env=shifted(root.env, f"+{minutes}m"),
        capture_output=True,
        text=True,
        timeout=60,
    )


def scheduled_run(root, task: str = "sync", *extra: str) -> subprocess.CompletedProcess:
    return root.run("-n", task, "--schedule", "*/5 * * * *", *extra, "--", "true")


def test_on_time_tasks_pass_the_check(root) -> None:
    scheduled_run(root)
    root.run("-n", "plain", "--", "true")
    result = root.run("check")
    assert result.returncode == 0 and result.stdout == ""


def test_a_late_task_fails_the_check_and_is_told_once(root) -> None:
    scheduled_run(root)
    first = later(root, 30, "check")
    assert first.returncode == 1, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].startswith("sync: late since ") and "missed" in lines[0]
    assert "[runwrap] LATE: sync on " in first.stdout  # the default console's notice
    again = later(root, 31, "check")
    assert again.returncode == 1
    assert "LATE" not in again.stdout and again.stdout.startswith("sync: late since ")
    quiet = later(root, 32, "check", "--quiet")
    assert quiet.returncode == 1 and quiet.stdout == ""


def test_the_next_run_after_a_late_notice_sends_the_recovery(root) -> None:
    scheduled_run(root)
    assert "LATE" in later(root, 30, "check", "-q").stdout
    back = scheduled_run(root)
    assert back.stdout.startswith("[runwrap] RECOVERED: sync on ")
    assert "runs again" in back.stdout and "late since" in back.stdout
    assert scheduled_run(root).stdout == ""
    assert root.run("check").returncode == 0


def test_check_notifies_the_notifiers_the_config_gives_the_task(root, tmp_path) -> None:
    log = tmp_path / "told"
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "tasks": {"sync": {"notify": ["log"]}},
                "notifiers": {
                    "log": {"type": "command", "command": f"echo $RUNWRAP_EVENT >> {log}"}
                },
            }
        )
    )
    root.env["RUNWRAP_CONFIG"] = str(config)
    scheduled_run(root)
    assert later(root, 30, "check", "-q").stdout == ""  # no console: a notifier is configured
    later(root, 31, "check", "-q")
    assert log.read_text() == "late\n"
    scheduled_run(root)
    assert log.read_text() == "late\nrecovery\n"


def test_check_names_tasks_and_says_which_have_no_schedule(root) -> None:
    root.run("-n", "plain", "--", "true")
    result = root.run("check", "plain")
    assert result.returncode == 0 and "no schedule" in result.stdout
    assert root.run("check", "nosuch").returncode == 1
