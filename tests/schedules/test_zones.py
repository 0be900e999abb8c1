"""A schedule's zone is decided once, when the run is recorded, from what cron uses, and
stored by name: any TZ glibc accepts works, and one it does not is UTC with one warning."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from runwrap.store import zones
from runwrap.store.schedule import record

UTC = timezone.utc
BERLIN_RULE = "CET-1CEST,M3.5.0,M10.5.0/3"
WINTER = datetime(2027, 1, 15, 12, tzinfo=UTC)
SUMMER = datetime(2027, 7, 15, 12, tzinfo=UTC)


def decided(option=None, **environ) -> tuple[str, str | None]:
    return zones.resolve(zones.source(option, environ))


def test_the_zone_comes_from_the_option_then_cron_tz_then_tz_then_the_system() -> None:
    env = {"CRON_TZ": "Asia/Tokyo", "TZ": "Europe/Berlin"}
    assert decided("America/New_York", **env)[0] == "America/New_York"
    assert decided(None, **env)[0] == "Asia/Tokyo"
    assert decided(None, TZ="Europe/Berlin")[0] == "Europe/Berlin"
    assert decided(None) == zones._system_name()


@pytest.mark.parametrize(
    ("tz", "name"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        (":Europe/Berlin", "Europe/Berlin"),
        ("/usr/share/zoneinfo/Australia/Sydney", "Australia/Sydney"),
        (":/usr/share/zoneinfo/posix/Asia/Tokyo", "Asia/Tokyo"),
        (BERLIN_RULE, BERLIN_RULE),
        ("EST5", "EST5"),
        ("", "UTC"),
    ],
)
def test_any_tz_glibc_accepts_is_stored_by_a_name_every_reader_loads(tz: str, name: str) -> None:
    assert decided(TZ=tz) == (name, None)
    assert zones.load(name) is not None


def test_tz_naming_the_system_file_is_the_system_zone_by_name() -> None:
    assert decided(TZ=":/etc/localtime") == zones._system_name()
    assert decided(TZ=":") == zones._system_name()  # glibc: the site-wide default
    assert "/" in zones._system_name()[0] or zones._system_name()[0] == "UTC"


def test_a_posix_rule_is_read_as_glibc_reads_it() -> None:
    tz = zones.load(BERLIN_RULE)
    assert WINTER.astimezone(tz).utcoffset().total_seconds() == 3600
    assert SUMMER.astimezone(tz).utcoffset().total_seconds() == 7200
    # The repeated hour of 31 October 2027: 02:30 twice, the second copy has fold=1.
    second = datetime(2027, 10, 31, 1, 30, tzinfo=UTC).astimezone(tz)
    assert (second.hour, second.minute, second.fold) == (2, 30, 1)


def test_a_copied_zone_file_is_named_by_its_bytes(tmp_path) -> None:
    copy = tmp_path / "localtime"
    shutil.copy("/usr/share/zoneinfo/Australia/Sydney", copy)
    assert zones._name_of_file(str(copy)) == ("Australia/Sydney", None)


def test_a_zone_file_of_no_known_zone_is_stored_as_its_rule(tmp_path) -> None:
    data = Path("/usr/share/zoneinfo/Europe/Berlin").read_bytes()
    odd = tmp_path / "odd"
    odd.write_bytes(data.replace(b"CET-1CEST", b"XET-1XEST"))  # Berlin, under names no zone has
    name, warning = zones._name_of_file(str(odd))
    assert (name, warning) == ("XET-1XEST,M3.5.0,M10.5.0/3", None)


@pytest.mark.parametrize("tz", ["Mars/Olympus", "<bad", "/nonexistent/zone"])
def test_an_unusable_zone_is_utc_with_one_line_said(tz: str) -> None:
    name, warning = decided(TZ=tz)
    assert name == "UTC"
    assert warning is not None and "\n" not in warning and "UTC" in warning


def test_a_recorded_schedule_is_reused_while_its_source_is_unchanged(monkeypatch) -> None:
    first = record("*/5 * * * *", None, None, {"TZ": BERLIN_RULE})
    assert first["timezone"] == BERLIN_RULE and first["timezone_from"] == f"TZ={BERLIN_RULE}"
    # The recorded name is kept without a look at the zone again...
    kept = {**first, "timezone": "Recorded/Name"}
    assert (
        record("*/5 * * * *", None, None, {"TZ": BERLIN_RULE}, kept)["timezone"] == "Recorded/Name"
    )
    # ...and decided again when the source changes.
    again = record("*/5 * * * *", None, None, {"TZ": "Asia/Tokyo"}, kept)
    assert again["timezone"] == "Asia/Tokyo"


@pytest.mark.parametrize("name", ["/etc/passwd", "../../etc/passwd", "x" * 300, 5, None, ""])
def test_readers_load_no_file_a_stored_name_points_outside_the_zone_database(name) -> None:
    assert zones.load(name) is None


def test_a_tick_whose_schedule_and_zone_are_recorded_imports_no_parser(root) -> None:
    """cron runs this on every tick: cronsim and zoneinfo only when something changed."""
    from helpers.runs import RUNWRAP, imported

    def modules(env: dict) -> set[str]:
        return imported([RUNWRAP, "-n", "tick", "--schedule", "*/5 * * * *", "--", "true"], env)

    env = {**root.env, "TZ": "Europe/Berlin"}
    first = modules(env)
    assert "cronsim" in first  # the first tick checks the schedule and decides the zone
    again = modules(env)
    assert not {"cronsim", "zoneinfo", "dataclasses", "datetime"} & again, sorted(again)


def test_a_schedule_recorded_without_a_zone_is_read_in_the_system_zone_whatever_tz(
    monkeypatch,
) -> None:
    from runwrap.store.lateness import task_lateness

    old = {
        "last_run_id": "20271107T050010.000Z-0001",
        "last_status": "success",
        "schedule": {"expr": "0 2 * * *", "timezone": None, "grace_s": None},
    }
    seen = set()
    for tz in ("Asia/Tokyo", "America/New_York", "CET-1CEST,M3.5.0,M10.5.0/3"):
        monkeypatch.setenv("TZ", tz)
        monkeypatch.setenv("CRON_TZ", tz)
        seen.add(task_lateness(old, now=1_900_000_000).next_expected)
    assert len(seen) == 1
    due = datetime.fromtimestamp(seen.pop(), UTC).astimezone(zones.system_zone())
    assert (due.hour, due.minute) == (2, 0)
