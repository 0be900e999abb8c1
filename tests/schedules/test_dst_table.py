"""Every change of every zone, for every schedule: cron firing as Debian's does never makes
a task late, and a cron that stops makes it late exactly one grace (elapsed) after the
first run it missed. In-process, against helpers/dst.py's reading of cron(8).

Zones with DST in both hemispheres and one without; the runs start seven seconds after
cron fires them and last two seconds.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from runwrap.store.lateness import task_lateness

from helpers.dst import UTC, ZONES, Cron, state, transitions

# (schedule, five fields, how far around the change, how often a reader looks)
SCHEDULES = [
    ("* * * * *", "* * * * *", timedelta(hours=2), timedelta(minutes=1)),
    ("*/5 * * * *", "*/5 * * * *", timedelta(hours=3), timedelta(minutes=1)),
    ("0 * * * *", "0 * * * *", timedelta(hours=6), timedelta(minutes=4)),
    ("30 2 * * *", "30 2 * * *", timedelta(days=3), timedelta(minutes=40)),
    ("@daily", "0 0 * * *", timedelta(days=3), timedelta(minutes=40)),
    ("@weekly", "0 0 * * 0", timedelta(days=16), timedelta(hours=6)),
]
CASES = [
    pytest.param(zone, change, expr, fields, span, step, id=f"{zone}-{change:%m%d}-{expr}")
    for zone in ZONES
    for change in (transitions(zone) or [transitions("Europe/Berlin")[0]])
    for expr, fields, span, step in SCHEDULES
]
DELAY, DURATION = 7, 2  # a run starts 7 s after cron fires it and lasts 2 s


def _history(fires):
    return [(f.timestamp() + DELAY, f.timestamp() + DELAY + DURATION) for f in fires]


@pytest.mark.parametrize(("zone", "change", "expr", "fields", "span", "step"), CASES)
def test_cron_on_time_is_never_late_and_a_stopped_cron_is_late_one_grace_after(
    zone, change, expr, fields, span, step
) -> None:
    start, end = change - span, change + span
    fires = Cron(fields).fires(zone, start - span, end + span)
    runs = _history(fires)
    assert len(runs) >= 4, fires
    # Readers at every step: the newest run is the last one started by then.
    t = start
    while t < end:
        now = t.timestamp()
        started, ended = max(r for r in runs if r[0] <= now)
        at = task_lateness(state(expr, zone, started, ended), now=now)
        assert at is not None and not at.late, (t, at)
        t += step
    # cron stops after each run in the window: late one grace after the next fire.
    for i, fire in enumerate(fires[:-2]):
        if not start <= fire < end:
            continue
        missed, after = fires[i + 1], fires[i + 2]
        grace = max(60.0, 0.2 * (after - missed).total_seconds())
        s = state(expr, zone, *runs[i])
        due = missed.timestamp() + grace
        before = task_lateness(s, now=due - 1)
        assert not before.late and before.next_expected == missed.timestamp(), (fire, before)
        late = task_lateness(s, now=due + 1)
        assert late.late and late.late_since == missed.timestamp() and late.missed == 1, late


@pytest.mark.parametrize("zone", ZONES)
def test_a_fixed_grace_is_elapsed_time_across_a_change(zone) -> None:
    for change in transitions(zone):
        # An hourly run just before the change: the next is due an hour (elapsed) later.
        fires = Cron("0 * * * *").fires(
            zone, change - timedelta(hours=2), change + timedelta(hours=3)
        )
        before = [f for f in fires if f < change][-1]
        missed = fires[fires.index(before) + 1]
        s = state(
            "0 * * * *", zone, before.timestamp() + DELAY, before.timestamp() + DELAY + 1, 600
        )
        assert not task_lateness(s, now=missed.timestamp() + 599).late
        at = task_lateness(s, now=missed.timestamp() + 601)
        assert at.late and at.late_since == missed.timestamp() and at.grace_s == 600


@pytest.mark.parametrize("zone", ZONES)
def test_every_counts_elapsed_time_from_the_end_of_the_last_run(zone) -> None:
    change = (transitions(zone) or [transitions("Europe/Berlin")[0]])[0]
    ended = (change - timedelta(minutes=5)).timestamp()
    s = state("@every 10m", zone, ended - 30, ended)
    assert not task_lateness(s, now=ended + 600 + 120 - 1).late
    at = task_lateness(s, now=ended + 600 + 120 + 1)
    assert at.late and at.late_since == ended + 600


def test_the_oracle_reads_cron_8_as_written() -> None:
    """The oracle itself, on New York's changes of 2027 (March 14 and November 7)."""
    ny = "America/New_York"
    spring, fall = transitions(ny)
    day = timedelta(hours=12)
    # 02:30 does not exist on March 14: the run comes right after the change, at 03:00 EDT.
    assert spring.astimezone(UTC).hour == 7  # 02:00 EST
    assert spring in Cron("30 2 * * *").fires(ny, spring - day, spring + day)
    # 01:30 happens twice on November 7: a fixed-time job runs once, a wildcard one twice.
    assert len(Cron("30 1 * * *").fires(ny, fall - day, fall + day)) == 1
    assert (
        len(Cron("30 * * * *").fires(ny, fall - timedelta(hours=2), fall + timedelta(hours=2))) == 4
    )
    # A wildcard minute in the skipped hour does not run at all.
    assert Cron("*/20 2 * * *").fires(ny, spring - day, spring + day) == []
