"""`runwrap crontab` writes all or nothing; `--check` with nothing declared is an error.

Its output is meant for `runwrap crontab > /etc/cron.d/runwrap`: a partial
file (the tasks it could render, without the one it could not) would look
whole to cron and to the next reader.
"""

from __future__ import annotations

import yaml

from helpers.runs import assert_one_line_error


def _config(root, tmp_path, tasks: dict) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"tasks": tasks}))
    root.env["RUNWRAP_CONFIG"] = str(config)


def test_a_task_cron_cannot_hold_means_no_crontab_at_all(root, tmp_path) -> None:
    _config(
        root,
        tmp_path,
        {
            "backup": {"command": ["true"], "schedule": "*/5 * * * *"},
            "poll": {"command": ["true"], "every": "90s"},
        },
    )
    result = root.run("crontab", "--cron-d", "root")
    assert result.stdout == ""
    assert_one_line_error(result, "no crontab written", "'poll'", "runwrap systemd")


def test_crontab_with_no_declared_task_is_an_error(root, tmp_path) -> None:
    _config(root, tmp_path, {"adhoc": {"command": ["true"]}})  # no schedule
    result = root.run("crontab")
    assert result.stdout == ""
    assert_one_line_error(result, "declares no task with a schedule", "nothing to write")


def test_check_with_no_declared_task_is_an_error(root, tmp_path) -> None:
    _config(root, tmp_path, {})
    installed = tmp_path / "runwrap.cron"
    installed.write_text("")
    result = root.run("crontab", "--check", str(installed))
    assert result.stdout == ""
    assert_one_line_error(result, "declares no task with a schedule", "nothing to check")


def test_check_still_compares_when_every_tasks_are_declared_beside(root, tmp_path) -> None:
    _config(
        root,
        tmp_path,
        {
            "backup": {"command": ["true"], "schedule": "*/5 * * * *"},
            "poll": {"command": ["true"], "every": "90s"},
        },
    )
    installed = tmp_path / "runwrap.cron"
    installed.write_text("")
    result = root.run("crontab", "--check", str(installed))
    assert result.returncode == 1
    assert "task 'backup': missing" in result.stdout
    assert "'poll'" in result.stderr
