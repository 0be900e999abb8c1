"""Wall times that disagree with the order of runs: flagged, never believed.

A task's runs are ordered by `seq` (taken under the task's lock); their
`started_at` is the wall clock, which an RTC wrong at boot, a hand-set date
or NTP stepping can move. A run that started, by its own clock, more than
TOLERANCE_S before a run that came earlier in the order is marked, so that a
person reading its times knows not to trust them (`runwrap history` shows
`clock?`). Nothing is decided by wall times (docs/reliability.md).
"""

from __future__ import annotations

from runwrap.timefmt import parse_iso

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

# Runs of `--overlap allow` may take their seq a moment after their start time.
TOLERANCE_S = 5.0


def clock_doubts(runs: Iterable[tuple[object, object, object]]) -> set[object]:
    """The keys of the runs whose start disagrees with their order.

    `runs`: (key, seq, start) of each run, in any order, the start as an ISO string
    or a Unix time already read; a run without an int seq or a readable time is
    neither flagged nor compared.
    """
    known = []
    for key, seq, started in runs:
        at = parse_iso(started) if isinstance(started, str) else started
        if isinstance(at, bool) or not isinstance(at, (int, float)):
            at = None
        if isinstance(seq, int) and not isinstance(seq, bool) and at is not None:
            known.append((seq, at, key))
    known.sort(key=lambda k: k[0])
    doubted = set()
    latest = None  # the latest start of the runs before, in order
    for _seq, at, key in known:
        if latest is not None and at < latest - TOLERANCE_S:
            doubted.add(key)
        latest = at if latest is None else max(latest, at)
    return doubted
