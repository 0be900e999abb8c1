"""Manifest times: parse_iso reads what iso() writes, and reads anything else as strptime does."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from runwrap.timefmt import iso, parse_iso, timegm


def strptime_parse(text: object) -> float | None:
    """parse_iso as it was, on time.strptime alone: the reference for every string."""
    if not isinstance(text, str) or len(text) < 20 or not text.endswith("Z"):
        return None
    try:
        base = time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    frac = 0.0
    if len(text) > 20 and text[19] == ".":
        try:
            frac = float("0" + text[19:-1])
        except ValueError:
            return None
    return timegm(base) + frac


@given(st.floats(min_value=0, max_value=2**35))
def test_a_written_time_reads_back_to_the_millisecond(ts):
    assert abs(parse_iso(iso(ts)) - ts) < 0.001


# Strings shaped like a manifest time, with any field out of range or out of shape
# (non-ASCII digits too: strptime takes them).
YEARS = ["2026", "0000", "0001", "2000", "2100", "2024", "9999", "+202", "20"]
SHAPED = st.builds(
    "{}-{}-{}T{}:{}:{}{}Z".format,
    st.sampled_from([*YEARS, "\uff12\uff10\uff12\uff16"]),
    st.sampled_from(["01", "02", "12", "00", "13", "1", " 2", "\u0660\u0662"]),
    st.sampled_from(["01", "28", "29", "30", "31", "32", "00", "7"]),
    st.sampled_from(["00", "23", "24", "9", "-1"]),
    st.sampled_from(["00", "59", "60", "5"]),
    st.sampled_from(["00", "59", "60", "61", "62", "7"]),
    st.sampled_from(["", ".123", ".5", ".", ".x", "x"]),
)


@given(st.one_of(SHAPED, st.text(alphabet="0123456789-T:Z. ", min_size=18, max_size=26)))
def test_any_other_string_reads_as_strptime_reads_it(text):
    assert parse_iso(text) == strptime_parse(text)


def test_answers_are_remembered_within_a_bound():
    from runwrap import timefmt

    first = parse_iso("2026-11-22T04:37:33.123Z")
    assert (
        parse_iso("2026-11-22T04:37:33.123Z")
        == first
        == timegm(time.strptime("2026-11-22T04:37:33", "%Y-%m-%dT%H:%M:%S")) + 0.123
    )
    assert "2026-11-22T04:37:33.123Z" in timefmt._PARSED
    for n in range(2 * timefmt._PARSED_MAX):  # a history of any length: the memory is bounded
        parse_iso(iso(1_790_000_000 + n))
    assert len(timefmt._PARSED) <= timefmt._PARSED_MAX
    long = "2026-11-22T04:37:33." + "1" * 10_000 + "Z"  # a manifest's value: any size
    assert parse_iso(long) is not None and long not in timefmt._PARSED
    assert parse_iso(["not", "a", "string"]) is None
    # iso() keeps its last second's text: a change of second, or a step back, is seen.
    assert [iso(t) for t in (61.5, 61.25, 62.0, 61.75)] == [
        "1970-01-01T00:01:01.500Z",
        "1970-01-01T00:01:01.250Z",
        "1970-01-01T00:01:02.000Z",
        "1970-01-01T00:01:01.750Z",
    ]
