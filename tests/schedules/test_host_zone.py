"""The host's zone, with TZ unset, is /etc/localtime's, found by name and stored: a run in
a private mount namespace whose /etc/localtime is New York's (or a copy of Sydney's)
records that zone, and readers outside it, in another system zone, agree.

The namespace mounts an overlay on /etc (a bind mount cannot replace /etc/localtime: it
is a link, and mount follows it) and changes /etc/localtime there, as an admin would.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from helpers.clock import Clock, needs_libfaketime
from helpers.runs import RUNWRAP

pytestmark = needs_libfaketime
NEW_YORK = "ln -sf /usr/share/zoneinfo/America/New_York /etc/localtime"
SYDNEY_COPY = (
    "rm /etc/localtime && cp /usr/share/zoneinfo/Australia/Sydney /etc/localtime"
    " && echo Etc/UTC > /etc/timezone"  # a stale /etc/timezone must not win over the bytes
)


def in_namespace(clock: Clock, tmp_path, setup: str, *args: str) -> subprocess.CompletedProcess:
    """`runwrap ARGS` (TZ unset) where /etc is an overlay changed by `setup`."""
    upper, work = tmp_path / "upper", tmp_path / "work"
    upper.mkdir(exist_ok=True)
    work.mkdir(exist_ok=True)
    script = (
        "set -e; mount --make-rprivate /; "
        f"mount -t overlay overlay -o lowerdir=/etc,upperdir={upper},workdir={work} /etc; "
        f'{setup}; exec "$@"'
    )
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", RUNWRAP, *args],
        env=clock.env(tz=None),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def clock(root, tmp_path) -> Clock:
    probe = subprocess.run(
        ["unshare", "-m", "mount", "--make-rprivate", "/"], capture_output=True, timeout=30
    )
    if shutil.which("unshare") is None or probe.returncode != 0:
        pytest.skip("no private mount namespace here (needs root: unshare -m)")
    return Clock(root, tmp_path)


def test_the_system_zone_is_recorded_by_name_and_read_alike_everywhere(clock, tmp_path) -> None:
    # 01:30 EDT, the first copy of New York's repeated hour: cron runs the job once.
    clock.set("2027-11-07 05:30:10")
    ran = in_namespace(
        clock, tmp_path, NEW_YORK, "--schedule", "30 1 * * *", "-n", "d", "--", "true"
    )
    assert ran.returncode == 0, ran.stderr
    schedule = clock.root.state("d")["schedule"]
    assert schedule["timezone"] == "America/New_York"
    # Half a day later: on time, due tomorrow at 01:30 EST, whoever asks.
    clock.set("2027-11-07 17:00:00")
    inside = in_namespace(clock, tmp_path, NEW_YORK, "check", "-q")
    outside = clock.run("check", "-q", tz=None)
    assert inside.returncode == outside.returncode == 0, (inside.stderr, outside.stderr)
    assert clock.lateness("d", tz=None)["next_expected"] == "2027-11-08T06:30:00.000Z"


def test_a_copied_zone_file_is_recorded_by_the_name_of_its_bytes(clock, tmp_path) -> None:
    clock.set("2027-04-03 15:30:10")  # 02:30 AEDT on 4 April, Sydney's repeated hour
    ran = in_namespace(
        clock, tmp_path, SYDNEY_COPY, "--schedule", "30 2 * * *", "-n", "s", "--", "true"
    )
    assert ran.returncode == 0, ran.stderr
    assert clock.root.state("s")["schedule"]["timezone"] == "Australia/Sydney"
    clock.set("2027-04-04 10:00:00")
    at = clock.lateness("s", tz="UTC")
    assert not at["late"] and at["next_expected"] == "2027-04-04T16:30:00.000Z"  # 02:30 AEST
