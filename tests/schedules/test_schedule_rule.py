"""The lateness rule: next expected run, late after the grace, missed runs counted."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from runwrap.errors import RunwrapError
from runwrap.store.schedule import check, default_grace, lateness, period

UTC = timezone.utc
T0 = datetime(2026, 11, 26, 10, 0, 0, 400000, tzinfo=UTC)  # a run started at 10:00:00.4


def test_on_time_until_the_grace_has_passed() -> None:
    at = lateness("*/5 * * * *", T0, T0 + timedelta(minutes=5, seconds=59), grace=60, zone="UTC")
    assert not at.late and at.next_expected == datetime(2026, 11, 26, 10, 5, tzinfo=UTC)


def test_late_since_the_first_missed_run_with_the_missed_runs_counted() -> None:
    at = lateness("*/5 * * * *", T0, T0 + timedelta(minutes=16, seconds=30), grace=60, zone="UTC")
    assert at.late and at.missed == 3
    assert at.late_since == datetime(2026, 11, 26, 10, 5, tzinfo=UTC)
    assert at.next_expected == datetime(2026, 11, 26, 10, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "seconds"),
    [("@hourly", 3600), ("@daily", 86400), ("@weekly", 7 * 86400), ("0 2 * * *", 86400)],
)
def test_keywords_mean_what_crontab_says(expr: str, seconds: int) -> None:
    assert period(expr, "UTC", T0) == seconds


def test_reboot_expects_nothing() -> None:
    at = lateness("@reboot", T0, T0 + timedelta(days=30), zone="UTC")
    assert not at.late and at.next_expected is None


def test_grace_is_a_share_of_the_period_at_least_a_minute() -> None:
    assert default_grace("* * * * *", "UTC") == 60
    assert default_grace("@hourly", "UTC") == 720
    assert default_grace("@daily", "UTC") == 0.2 * 86400


def test_the_time_zone_decides_when_a_daily_job_is_due() -> None:
    berlin = lateness("0 2 * * *", T0, T0, zone="Europe/Berlin").next_expected
    assert berlin == datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # 02:00 CET is 01:00 UTC


@pytest.mark.parametrize("expr", ["61 * * * *", "* * *", "bad", "@sometimes"])
def test_a_bad_schedule_is_one_line(expr: str) -> None:
    with pytest.raises(RunwrapError) as info:
        check(expr, "UTC")
    assert "\n" not in str(info.value) and "bad schedule" in str(info.value)


def test_an_unknown_time_zone_is_one_line() -> None:
    with pytest.raises(RunwrapError, match="unknown time zone"):
        check("@daily", "Mars/Olympus")
