"""Duration baselines: is this run much slower, or much faster, than the task usually is?

The baseline is the task's own: the durations of its last WINDOW successful
runs, kept in state.json by the fold (store/fold.py) one run at a time, so
that judging a run reads one small file and never the task's manifests.
With at least MIN_RUNS of them, a successful run is

    slow  when it took more than SLOW_X times the median and more than
          P95_X times the 95th percentile,
    fast  when it took less than the median divided by FAST_DIV,

and in both cases differs from the median by at least MIN_GAP_S (a job of a few
milliseconds is all noise). Bounds given with --expect-duration LO..HI (config
`duration:`) flag a run outside them from the first run on. Only a successful
run is judged: a failure is news already (what changed shows its duration
beside the baseline); one retried until it succeeded is judged, and counted,
by its last attempt (job_duration). The verdict is decided once, when the run ends, and kept
in its final manifest (`duration_check`): every surface shows that one.
"""

WINDOW = 20
MIN_RUNS = 10
SLOW_X = 3.0
P95_X = 1.5
FAST_DIV = 5.0
MIN_GAP_S = 0.15

_FOREVER = float("inf")  # NaN fails `0 <=`, infinity `< _FOREVER`

SLOW = "slow"
FAST = "fast"


def _num(value: object) -> float | None:
    """A duration in seconds, or None: finite only, as what is read back may be any JSON
    number (Infinity, a 400-digit integer), and a kept one must be written again."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    return seconds if 0 <= seconds < _FOREVER else None


def job_duration(manifest: dict) -> object:
    """The seconds a run's job took, as baselines count it: a run retried until it
    succeeded counts its last attempt only (its `duration_s` also holds the failed
    attempts and the waits between them, which say nothing of how long the job takes)."""
    attempts = manifest.get("attempts")
    if isinstance(attempts, list) and len(attempts) > 1 and isinstance(attempts[-1], dict):
        from runwrap.timefmt import parse_iso

        start, end = (parse_iso(attempts[-1].get(k)) for k in ("started_at", "ended_at"))
        if start is not None and end is not None and end >= start:
            return end - start
    return manifest.get("duration_s")


def window_of(value: object) -> list[float]:
    """The durations a state keeps (anything not a duration is dropped)."""
    if not isinstance(value, list):
        return []
    return [d for d in (_num(v) for v in value) if d is not None][-WINDOW:]


def pushed(window: object, duration: object) -> list[float]:
    """The window after one more successful run of `duration` seconds."""
    kept = window_of(window)
    d = _num(duration)
    if d is not None:
        kept.append(round(d, 3))
    return kept[-WINDOW:]


def push(window: list[float], duration: object) -> None:
    """pushed(), in place, on a window that is one already (window_of's or push's): a
    pass over a task's history checks each run once, not the whole window each run."""
    d = _num(duration)
    if d is not None:
        window.append(round(d, 3))
        del window[:-WINDOW]


def baseline(window: object) -> dict | None:
    """{runs, median_s, p95_s} of the window, or None with fewer than MIN_RUNS runs."""
    if not isinstance(window, list) or len(window) < MIN_RUNS:
        return None  # asked of every task by every list: a young task's answer, at once
    values = sorted(window_of(window))
    n = len(values)
    if n < MIN_RUNS:
        return None
    mid = n // 2
    median = values[mid] if n % 2 else (values[mid - 1] + values[mid]) / 2
    p95 = values[min(n - 1, max(0, -(-95 * n // 100) - 1))]  # nearest rank
    return {"runs": n, "median_s": round(median, 3), "p95_s": round(p95, 3)}


def bounds_of(value: object) -> tuple[float | None, float | None] | None:
    """(low, high) from a manifest's `expect_duration_s` ([low, high], either null)."""
    if not isinstance(value, list) or len(value) != 2:
        return None
    low, high = _num(value[0]), _num(value[1])
    return None if low is None and high is None else (low, high)


def judge(window: object, duration: object, expect: object = None) -> dict | None:
    """The verdict on a successful run of `duration` seconds: {flag, runs, median_s,
    p95_s, expect}, flag "slow", "fast" or None; None when there is nothing to judge by."""
    d = _num(duration)
    base = baseline(window)
    bounds = bounds_of(expect)
    if d is None or (base is None and bounds is None):
        return None
    flag = None
    if bounds is not None:
        low, high = bounds
        if high is not None and d > high:
            flag = SLOW
        elif low is not None and d < low:
            flag = FAST
    if flag is None and base is not None:
        median, p95 = base["median_s"], base["p95_s"]
        if d > SLOW_X * median and d > P95_X * p95 and d - median >= MIN_GAP_S:
            flag = SLOW
        elif d < median / FAST_DIV and median - d >= MIN_GAP_S:
            flag = FAST
    check: dict = {"flag": flag, "duration_s": round(d, 3), **(base or {"runs": 0})}
    check["expect"] = list(bounds) if bounds is not None else None
    return check


def flag_of(check: object) -> str | None:
    """ "slow", "fast" or None from a verdict as a file has it."""
    flag = check.get("flag") if isinstance(check, dict) else None
    return flag if flag in (SLOW, FAST) else None


def describe(check: object) -> str:
    """One line on a verdict: 'slow: 10 s, usually 1 s (median of 20 runs, p95 1.2 s)'."""
    from runwrap.units import format_duration

    if not isinstance(check, dict):
        return ""
    flag = flag_of(check)
    parts = []
    bounds = bounds_of(check.get("expect"))
    if isinstance(check.get("median_s"), (int, float)):
        parts.append(
            f"usually {format_duration(check['median_s'])} (median of {check.get('runs')} "
            f"runs, p95 {format_duration(check.get('p95_s'))})"
        )
    if bounds is not None:
        low, high = (format_duration(b) if b is not None else "" for b in bounds)
        parts.append(f"expected {low}..{high}")
    took = format_duration(check.get("duration_s"))
    return f"{flag or 'usual'}: took {took}, " + ", ".join(parts)
