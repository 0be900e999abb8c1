"""Real runwrap processes around DST changes and long runs, under libfaketime: what the
issue found (#25), each case as it was reported, and readers under other TZs agreeing."""

from __future__ import annotations

import json
import subprocess

import pytest

from helpers.clock import Clock, needs_libfaketime
from helpers.polling import wait_for
from helpers.runs import BIN

pytestmark = needs_libfaketime
JOB = ["--", "true"]


@pytest.fixture
def clock(root, tmp_path) -> Clock:
    return Clock(root, tmp_path)


def test_the_repeated_hour_does_not_make_an_hourly_task_late(clock) -> None:
    # New York falls back at 06:00Z on 7 November 2027: 01:00 EDT, then 01:00 EST.
    clock.set("2027-11-07 05:00:10")
    ran = clock.run("--schedule", "0 * * * *", "--timezone", "America/New_York", "-n", "h", *JOB)
    assert ran.returncode == 0, ran.stderr
    clock.set("2027-11-07 05:30:00")
    at = clock.lateness("h")
    assert not at["late"] and at["next_expected"] == "2027-11-07T06:00:00.000Z"
    assert clock.run("check").returncode == 0
    clock.set("2027-11-07 06:11:00")  # the grace (12 min of the hour to come) not out yet
    assert clock.run("check").returncode == 0
    clock.set("2027-11-07 06:13:00")
    late = clock.run("check", "-q")
    assert late.returncode == 1
    assert clock.lateness("h")["late_since"] == "2027-11-07T06:00:00.000Z"


def test_a_task_run_every_minute_is_on_time_through_the_repeated_hour(clock) -> None:
    for minute in ("05:58", "05:59", "06:00", "06:01"):
        clock.set(f"2027-11-07 {minute}:05")
        ran = clock.run("--schedule", "* * * * *", "-n", "m", *JOB, tz="America/New_York")
        assert ran.returncode == 0, ran.stderr
        clock.set(f"2027-11-07 {minute}:50")
        at = clock.lateness("m")
        assert not at["late"] and at["timezone"] == "America/New_York", (minute, at)


@pytest.mark.parametrize(
    ("tz", "stored"),
    [
        ("CET-1CEST,M3.5.0,M10.5.0/3", "CET-1CEST,M3.5.0,M10.5.0/3"),
        (":Europe/Berlin", "Europe/Berlin"),
        (":/usr/share/zoneinfo/Europe/Berlin", "Europe/Berlin"),
    ],
)
def test_a_tz_glibc_accepts_runs_the_job_and_is_stored_by_name(clock, tz, stored) -> None:
    # Berlin springs forward at 01:00Z on 28 March 2027: 02:30 does not exist that day.
    clock.set("2027-03-27 01:30:10")  # 02:30 CET
    ran = clock.run("--schedule", "30 2 * * *", "-n", "b", *JOB, tz=tz)
    assert ran.returncode == 0 and ran.stderr == "", ran.stderr
    assert clock.root.state("b")["schedule"]["timezone"] == stored
    # cron runs the skipped 02:30 right after the change: 03:00 CEST, 01:00Z.
    clock.set("2027-03-28 00:59:00")
    assert clock.lateness("b")["next_expected"] == "2027-03-28T01:00:00.000Z"


def test_an_unusable_zone_is_one_warning_and_the_job_runs(clock, tmp_path) -> None:
    marker = tmp_path / "ran"
    ran = clock.run(
        "--schedule", "@daily", "-n", "u", "--", "touch", str(marker), tz="Mars/Olympus"
    )
    assert ran.returncode == 0 and marker.exists()
    lines = ran.stderr.splitlines()
    assert len(lines) == 1 and "Mars/Olympus" in lines[0] and "UTC" in lines[0], ran.stderr
    again = clock.run("--schedule", "@daily", "-n", "u", *JOB, tz="Mars/Olympus")
    assert again.returncode == 0 and again.stderr == ""  # said once, when it was decided


def test_readers_under_any_tz_agree_with_the_zone_the_run_recorded(clock) -> None:
    # Recorded from TZ (no --timezone); read under other zones and with TZ unset.
    clock.set("2027-10-31 00:30:10")  # 02:30 CEST, the first copy of Berlin's repeated hour
    assert (
        clock.run("--schedule", "30 2 * * *", "-n", "d", *JOB, tz="Europe/Berlin").returncode == 0
    )
    for moment, late in (("2027-11-01 01:30:00", False), ("2027-11-01 07:00:00", True)):
        clock.set(moment)
        seen = [clock.lateness("d", tz) for tz in ("Europe/Berlin", "UTC", "Asia/Tokyo", None)]
        assert all(s == seen[0] for s in seen), seen
        due = seen[0]["late_since"] if late else seen[0]["next_expected"]
        assert seen[0]["late"] is late and due == "2027-11-01T01:30:00.000Z", seen[0]
        codes = {clock.run("check", "-q", tz=tz).returncode for tz in ("America/New_York", None)}
        assert codes == {1 if late else 0}


def test_ticks_skipped_by_a_long_run_count_when_it_ends(clock, tmp_path) -> None:
    go = tmp_path / "go"
    wait = ["sh", "-c", f"while [ ! -e {go} ]; do sleep 0.05; done"]
    five = ["--schedule", "*/5 * * * *", "-n", "long"]
    clock.set("2027-01-10 00:00:10")
    long = clock.start(*five, "--", *wait)
    root = clock.root
    wait_for(lambda: [m for m in root.manifests_so_far("long") if m["status"] == "running"])
    for tick in ("00:05:10", "00:10:10"):
        clock.set(f"2027-01-10 {tick}")
        assert clock.run(*five, *JOB).returncode == 0  # skipped: the long run holds the lock
    clock.set("2027-01-10 00:11:30")
    assert not clock.lateness("long")["late"]  # nothing expected while a run is going
    clock.set("2027-01-10 00:12:00")
    go.touch()
    assert long.wait(timeout=30) == 0
    clock.set("2027-01-10 00:13:00")
    at = clock.lateness("long")
    assert not at["late"] and at["next_expected"] == "2027-01-10T00:15:00.000Z", at
    assert clock.run("check", "-q").returncode == 0
    clock.set("2027-01-10 00:16:30")  # the 00:15 tick did not come: late since then, not 00:05
    at = clock.lateness("long")
    assert at["late"] and at["late_since"] == "2027-01-10T00:15:00.000Z" and at["missed"] == 1


def test_a_waiting_tick_and_an_every_task_are_not_late_while_a_run_goes(clock, tmp_path) -> None:
    go = tmp_path / "go"
    wait = ["--", "sh", "-c", f"while [ ! -e {go} ]; do sleep 0.05; done"]
    root = clock.root
    clock.set("2027-01-10 00:00:05")
    assert clock.run("--schedule", "*/5 * * * *", "-n", "w", *JOB).returncode == 0
    assert clock.run("--every", "5m", "-n", "e", *JOB).returncode == 0
    clock.set("2027-01-10 00:00:10")
    long = clock.start("--schedule", "*/5 * * * *", "--overlap", "wait", "-n", "w", *wait)
    gap = clock.start("--every", "5m", "-n", "e", *wait)
    for task in ("w", "e"):
        wait_for(lambda t=task: [m for m in root.manifests_so_far(t) if m["status"] == "running"])
    clock.set("2027-01-10 00:05:10")
    # libfaketime 0.9.10 fails Python's time.sleep (EINVAL) unless it fakes the monotonic
    # clock too: the runwrap that waits for the lock sleeps.
    waiting = clock.start(
        "--schedule",
        "*/5 * * * *",
        "--overlap",
        "wait",
        "-n",
        "w",
        *JOB,
        FAKETIME_DONT_FAKE_MONOTONIC="0",
    )
    assert clock.run("--every", "5m", "-n", "e", *JOB).returncode == 0  # skipped
    clock.set("2027-01-10 00:40:00")
    assert not clock.lateness("w")["late"] and not clock.lateness("e")["late"]
    assert clock.run("check", "-q").returncode == 0
    go.touch()
    assert long.wait(timeout=30) == 0 and gap.wait(timeout=30) == 0
    assert waiting.wait(timeout=30) == 0, waiting.stderr.read()
    at = clock.lateness("e")
    assert not at["late"] and at["next_expected"] > "2027-01-10T00:44"  # 5 min after the end


def test_status_json_built_under_any_tz_says_the_same(clock, tmp_path) -> None:
    clock.set("2027-10-31 00:30:10")  # 02:30 CEST, recorded from TZ
    assert (
        clock.run("--schedule", "30 2 * * *", "-n", "d", *JOB, tz="Europe/Berlin").returncode == 0
    )
    clock.set("2027-11-01 07:00:00")  # a day later, past its grace: late since 01:30Z
    found = []
    for tz in ("Australia/Sydney", None):
        out = tmp_path / f"out-{tz is None}"
        built = subprocess.run(
            [str(BIN / "sitegen"), "--root", str(clock.root.path), "--out", str(out)],
            env=clock.env(tz),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert built.returncode == 0, built.stderr
        task = json.loads((out / "status.json").read_text())["tasks"]["d"]
        found.append({k: task[k] for k in ("late", "late_since", "missed", "next_expected")})
    assert found[0] == found[1]
    assert found[0]["late"] and found[0]["late_since"] == "2027-11-01T01:30:00.000Z"


def test_an_irregular_schedule_stays_late_once_late(clock) -> None:
    # Sundays at 01:00, 02:00 and 03:00 UTC; cron dies after the 03:00 run of 21 November.
    clock.set("2027-11-21 03:00:10")
    assert clock.run("--schedule", "0 1,2,3 * * 0", "-n", "i", *JOB).returncode == 0
    seen = []
    for moment in ("2027-11-28 01:13:00", "2027-11-28 02:30:00", "2027-11-28 03:30:00"):
        clock.set(moment)
        at = clock.lateness("i")
        seen.append((at["late"], at["late_since"]))
    assert seen == [(True, "2027-11-28T01:00:00.000Z")] * 3
