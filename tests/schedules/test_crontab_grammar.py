"""Only what crontab accepts: five fields or an @keyword; what cronsim reads beyond it
(seconds, L, W, #, ?) is refused in one line, and a refused schedule leaves nothing on disk."""

from __future__ import annotations

import pytest

from runwrap.errors import RunwrapError
from runwrap.store.lateness import task_lateness
from runwrap.store.schedule import check

from helpers.runs import assert_one_line_error

ACCEPTED = [
    "*/5 * * * *",
    "0 2 * * *",
    "0 2 * * 7",  # Sunday as 7
    "0-30/10 8-18 * jan-jun mon-fri",
    "5,35 */2 1,15 * *",
    "00 02 * * SUN",
    "@hourly",
    "@daily",
    "@midnight",
    "@weekly",
    "@monthly",
    "@yearly",
    "@annually",
    "@reboot",
    "@every 90s",
]
REFUSED = [
    "0 2 * * * *",  # six fields: cronsim would read seconds first
    "0 2 L * *",
    "0 2 * * 5L",
    "0 2 15W * *",
    "0 2 * * 1#2",
    "0 2 ? * *",
    "5/10 * * * *",  # a step needs * or a range
    "*/0 * * * *",
    "30-10 * * * *",  # backwards
    "0 24 * * *",
    "0 2 * * 8",
    "0 2 mon * *",  # names only for month and day of week
    "* * *",
    "@sometimes",
]


@pytest.mark.parametrize("expr", ACCEPTED)
def test_what_crontab_accepts_is_accepted(expr: str) -> None:
    assert check(expr) == expr


@pytest.mark.parametrize("expr", REFUSED)
def test_what_crontab_refuses_is_one_line(expr: str) -> None:
    with pytest.raises(RunwrapError) as info:
        check(expr)
    assert "\n" not in str(info.value) and "bad schedule" in str(info.value)


def test_a_recorded_six_field_schedule_is_no_expectation() -> None:
    state = {
        "last_run_id": "20271107T050010.000Z-0001",
        "last_status": "success",
        "schedule": {"expr": "0 2 * * * *", "timezone": "UTC", "grace_s": None},
    }
    assert task_lateness(state, now=2e9) is None


@pytest.mark.parametrize("expr", ["0 2 * * * *", "0 2 L * *"])
def test_a_refused_schedule_leaves_no_task_folder(root, expr: str) -> None:
    result = root.run("-n", "typo", "--schedule", expr, "--", "true")
    assert_one_line_error(result, "bad schedule")
    assert not root.task_dir("typo").exists()
    assert "typo" not in root.run("ls").stdout
