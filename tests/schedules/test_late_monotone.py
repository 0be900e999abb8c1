"""With no new run, "late" only ever goes one way: a task never goes late, then on time,
then late again (which would send a RECOVERED with no run). Random schedules, zones,
graces and run histories around DST changes; readers at random later moments."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from runwrap.store.lateness import task_lateness

from helpers.dst import ZONES, state, transitions

CHANGES = [t for zone in ZONES for t in transitions(zone)]
FIELDS = st.tuples(
    st.sampled_from(["*", "*/5", "0", "7,37", "0-30/15", "59"]),
    st.sampled_from(["*", "1,2,3", "2", "9-17", "*/6", "0"]),
    st.sampled_from(["*", "1", "1,15", "31"]),
    st.sampled_from(["*", "*", "2,11"]),
    st.sampled_from(["*", "0", "mon-fri", "6"]),
).map(" ".join)
SCHEDULES = st.one_of(
    FIELDS,
    st.sampled_from(["@hourly", "@daily", "@weekly", "@monthly", "@every 45m", "@every 1d"]),
)


@settings(max_examples=60, deadline=None)
@given(
    expr=SCHEDULES,
    zone=st.sampled_from([*ZONES, "CET-1CEST,M3.5.0,M10.5.0/3"]),
    grace=st.one_of(st.none(), st.integers(60, 6 * 3600)),
    change=st.sampled_from(CHANGES),
    shift=st.integers(-3 * 86400, 3 * 86400),
    duration=st.integers(0, 3 * 3600),
    skipped_after=st.one_of(st.none(), st.integers(1, 3 * 3600)),
    running=st.booleans(),
    reads=st.lists(st.integers(0, 2 * 86400), min_size=2, max_size=8),
)
def test_late_never_flips_back_without_a_run(
    expr, zone, grace, change, shift, duration, skipped_after, running, reads
) -> None:
    started = (change + timedelta(seconds=shift)).timestamp()
    s = state(expr, zone, started, started + duration, grace)
    if skipped_after is not None:  # a skipped tick recorded after the run started
        newer = state(expr, zone, started + skipped_after, started + skipped_after, grace)
        s |= {"newest_run_id": newer["newest_run_id"]}
    seen = []
    for offset in sorted(reads):
        at = task_lateness(s, now=started + duration + offset, running=running)
        if at is None:
            return  # a schedule with no run in 50 years (31 February...): no expectation
        seen.append(at)
    first_late = next((i for i, at in enumerate(seen) if at.late), len(seen))
    assert all(at.late for at in seen[first_late:]), seen
    assert len({at.late_since for at in seen[first_late:]}) <= 1
    missed = [at.missed for at in seen]
    assert missed == sorted(missed)
    if running:
        assert first_late == len(seen)  # nothing is expected while a run goes
