"""The run page leads with what went wrong; durations read well at every scale; the chart."""

from __future__ import annotations

import pytest

from runwrap.units import format_duration

pytest_plugins = ["sitegen_fixtures"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (0, "0 ms"),
        (0.0004, "0 ms"),
        (0.045, "45 ms"),
        (0.9994, "999 ms"),
        (0.9996, "1 s"),
        (1.2, "1.2 s"),
        (9.96, "10 s"),
        (45.4, "45 s"),
        (59.6, "1 min"),
        (192, "3 min 12 s"),
        (3599.4, "59 min 59 s"),
        (3599.6, "1 h"),
        (7500, "2 h 5 min"),
        (7559, "2 h 6 min"),
        (86399, "1 d"),
        (3 * 86400 + 4 * 3600, "3 d 4 h"),
        (-5, "-5 s"),
        (float("nan"), "-"),
        (float("inf"), "-"),
    ],
)
def test_durations_read_well_at_every_scale(seconds, text):
    assert format_duration(seconds) == text
