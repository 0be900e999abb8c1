"""Recurring mute windows (`mute_windows:` in the config) with real runwrap processes at
chosen instants (libfaketime preloaded), in a time zone, across DST changes."""

from __future__ import annotations

import json

import pytest
import yaml

from helpers.clock import Clock, needs_libfaketime

pytestmark = needs_libfaketime


@pytest.fixture
def clock(root, tmp_path) -> Clock:
    return Clock(root, tmp_path)


def configure(root, tmp_path, url: str) -> None:
    """Task `job`: every run tells the hook (`always`), but not in its Sunday window,
    02:00 Berlin time for 2 h."""
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "notifiers": {"hook": {"type": "webhook", "url": url + "/hook", "on": ["always"]}},
                "tasks": {
                    "job": {
                        "notify": ["hook"],
                        "timezone": "Europe/Berlin",
                        "mute_windows": [
                            {"schedule": "0 2 * * sun", "for": "2h", "reason": "Sunday backups"}
                        ],
                    }
                },
            }
        )
    )
    root.env["RUNWRAP_CONFIG"] = str(config)
    root.env["NO_PROXY"] = "*"
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        root.env.pop(proxy, None)


def told(clock: Clock, receiver, at: str) -> bool:
    """Run `job` at `at` (UTC): whether the hook heard of it."""
    before = len(receiver.requests)
    clock.set(at)
    ran = clock.run("-n", "job", "--", "true")
    assert ran.returncode == 0, ran.stderr
    return len(receiver.requests) > before


def muted(clock: Clock, at: str) -> dict | None:
    clock.set(at)
    listed = clock.run("ls", "--json")
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)[0]["muted"]


def test_a_weekly_window_mutes_only_inside_it_in_the_tasks_zone(clock, root, tmp_path, receiver):
    configure(root, tmp_path, receiver.url)
    # Sunday 21 March 2027, Berlin in winter time (UTC+1): the window is 01:00-03:00 UTC.
    assert told(clock, receiver, "2027-03-21 00:59:00")
    assert not told(clock, receiver, "2027-03-21 01:00:30")
    assert not told(clock, receiver, "2027-03-21 02:59:00")
    assert told(clock, receiver, "2027-03-21 03:00:30")
    assert told(clock, receiver, "2027-03-20 01:30:00")  # a Saturday: no window
    window = muted(clock, "2027-03-21 01:30:00")
    assert window["kind"] == "window" and window["reason"] == "Sunday backups"
    assert window["until"] == "2027-03-21T03:00:00.000Z"
    assert muted(clock, "2027-03-21 03:30:00") is None


def test_the_window_follows_the_zone_through_both_dst_changes(clock, root, tmp_path, receiver):
    configure(root, tmp_path, receiver.url)
    # 28 March 2027: 02:00 CET does not exist (01:00 UTC becomes 03:00 CEST); cron runs
    # such a job at 03:00 CEST, so the window opens at 01:00 UTC and lasts 2 elapsed hours.
    assert told(clock, receiver, "2027-03-28 00:59:00")
    assert not told(clock, receiver, "2027-03-28 01:10:00")
    assert not told(clock, receiver, "2027-03-28 02:50:00")
    assert told(clock, receiver, "2027-03-28 03:10:00")
    # 31 October 2027: 02:00 happens twice (CEST at 00:00 UTC, then CET at 01:00 UTC);
    # the window opens at the first, as cron runs the job then: 00:00-02:00 UTC.
    assert told(clock, receiver, "2027-10-30 23:59:00")
    assert not told(clock, receiver, "2027-10-31 00:10:00")
    assert not told(clock, receiver, "2027-10-31 01:50:00")
    assert told(clock, receiver, "2027-10-31 02:10:00")
    # Summer time: 02:00 CEST is 00:00 UTC.
    assert not told(clock, receiver, "2027-07-04 00:30:00")
    assert told(clock, receiver, "2027-07-04 02:30:00")


def test_a_bad_window_is_refused_before_the_job_runs(root, tmp_path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump({"tasks": {"job": {"mute_windows": [{"schedule": "0 2 * *", "for": "2h"}]}}})
    )
    root.env["RUNWRAP_CONFIG"] = str(config)
    ran = root.run("-n", "job", "--", "touch", str(tmp_path / "ran"))
    assert ran.returncode == 125 and "mute_windows" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert not (tmp_path / "ran").exists()


def test_a_muted_task_that_goes_late_is_told_by_the_first_check_after_the_mute(
    clock, root, tmp_path, receiver
):
    config = tmp_path / "config.yaml"
    hook = {"type": "webhook", "url": receiver.url + "/hook"}
    config.write_text(
        yaml.safe_dump({"notifiers": {"hook": hook}, "defaults": {"notify": ["hook"]}})
    )
    root.env.update(RUNWRAP_CONFIG=str(config), NO_PROXY="*")
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        root.env.pop(proxy, None)
    clock.set("2027-01-05 10:00:05")
    assert clock.run("-n", "job", "--schedule", "*/5 * * * *", "--", "true").returncode == 0
    muted = clock.run("mute", "job", "--until", "2027-01-05T11:00:00Z", "--reason", "cron moved")
    assert muted.returncode == 0, muted.stderr
    clock.set("2027-01-05 10:30:00")
    late = clock.run("check", "-q")
    assert late.returncode == 1  # late all the same: the check says so in its status
    assert receiver.requests == []  # but tells nobody while muted
    said = clock.run("check").stdout
    assert "job: late since" in said and "job: muted until" in said and "by" in said
    assert receiver.requests == []
    clock.set("2027-01-05 11:00:01")  # the mute is over: the lateness is news
    assert clock.run("check", "-q").returncode == 1
    assert [p["event"] for p in receiver.json()] == ["late"]
    assert clock.run("check", "-q").returncode == 1
    assert [p["event"] for p in receiver.json()] == ["late"]  # once
