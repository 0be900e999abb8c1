"""runwrap ls says when a scheduled task is due, late and how many runs it missed.

The runs are real; the reader looks at them from later on with faketime
(libfaketime shifts the clock of the process it is preloaded into, nothing else).
"""

from __future__ import annotations

import json
import subprocess

from helpers.clock import needs_libfaketime, shifted
from helpers.runs import RUNWRAP


def later(root, minutes: int, *args: str) -> subprocess.CompletedProcess:
    """`runwrap ARGS` as if it were `minutes` later than now."""
    return subprocess.run(
        [RUNWRAP, *args],
        env=shifted(root.env, f"+{minutes}m"),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_ls_shows_the_next_expected_run_of_a_scheduled_task(root) -> None:
    assert root.run("-n", "five", "--schedule", "*/5 * * * *", "--", "true").returncode == 0
    assert root.run("-n", "plain", "--", "true").returncode == 0
    header, *rows = root.run("ls").stdout.splitlines()
    assert header.split()[-1] == "NEXT"
    five = next(r for r in rows if r.startswith("five"))
    assert five.split()[-2] == "in" and five.split()[-1][-1] in "sm"  # "in 4m"
    plain = next(r for r in rows if r.startswith("plain"))
    assert plain.split()[-1] == "-"
    header, *rows = root.run("ls", "-o", "wide").stdout.splitlines()
    assert header.split()[-2:] == ["NEXT", "LATE"]
    five = next(r for r in rows if r.startswith("five"))
    assert " in " in five and five.endswith("on time")
    listed = {item["task"]: item for item in json.loads(root.run("ls", "--json").stdout)}
    assert listed["five"]["lateness"]["late"] is False
    assert listed["five"]["lateness"]["next_expected"].endswith(":00.000Z")
    assert listed["plain"]["lateness"] is None


@needs_libfaketime
def test_ls_says_late_since_when_and_how_many_runs_were_missed(root) -> None:
    root.run("-n", "five", "--schedule", "*/5 * * * *", "--grace", "1m", "--", "true")
    short = next(r for r in later(root, 23, "ls").stdout.splitlines() if r.startswith("five"))
    assert short.split()[-2] == "late" and short.split()[-1].endswith("m")  # "late 18m"
    result = later(root, 23, "ls", "-o", "wide")
    row = next(r for r in result.stdout.splitlines() if r.startswith("five"))
    assert "late since " in row and row.endswith(" missed")
    missed = int(row.rsplit(", ", 1)[1].split()[0])
    assert missed in (4, 5)  # 23 minutes after a run, with the 5-minute grid where it falls
    listed = json.loads(later(root, 23, "ls", "--json").stdout)
    assert listed[0]["lateness"]["late"] is True and listed[0]["lateness"]["missed"] == missed


@needs_libfaketime
def test_ls_asks_whether_cron_runs_when_every_scheduled_task_of_the_host_is_late(root) -> None:
    root.run("-n", "a", "--schedule", "*/5 * * * *", "--", "true")
    root.run("-n", "b", "--schedule", "*/10 * * * *", "--", "true")
    root.run("-n", "c", "--schedule", "0 0 1 1 *", "--", "true")  # once a year
    assert "is cron running?" not in later(root, 30, "ls").stdout  # c is not due
    root.run("-n", "c", "--schedule", "*/5 * * * *", "--", "true")
    lines = later(root, 30, "ls").stdout.splitlines()
    silence = [ln for ln in lines if ln.endswith("is cron running?")]
    assert len(silence) == 1 and silence[0].startswith("no runs on ")
