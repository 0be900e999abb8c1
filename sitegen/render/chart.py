"""The task page's duration chart: a bar per run and a scale people read, as SVG geometry."""

from __future__ import annotations

import math

from runwrap.store.manifest import FAILING
from runwrap.units import format_duration
from sitegen.render.model import CHART_RUNS

CHART_H, CHART_TOP = 160, 18  # the chart's height and the room above its tallest bar, px
CHART_SLOTS = 30  # a chart of fewer runs keeps bars this narrow, from the left

# Steps of the chart's scale, in seconds: the smallest that needs at most 4 lines is used.
_STEPS = (
    *(m * 10**e for e in (-3, -2, -1, 0) for m in (1, 2, 5)),
    *(15, 30, 60, 120, 300, 600, 900, 1800),
    *(3600, 7200, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400),
)


def _scale(longest: float) -> tuple[float, list[float]]:
    """The top of the chart's scale and its lines: round durations covering `longest`."""
    step = next((s for s in _STEPS if longest <= 4 * s), None)
    if step is None:
        step = 7 * 86400 * math.ceil(longest / (4 * 7 * 86400))
    lines = max(1, math.ceil(longest / step - 1e-9))
    return step * lines, [step * (i + 1) for i in range(lines)]


def chart(runs: list[dict], count: int = CHART_RUNS) -> dict:
    """The task page's duration chart as SVG geometry: a bar per run (failures marked),
    and a labelled scale.

    The bars are drawn in a nested SVG stretched to the page's width, in which a
    vertical unit is a pixel and a run's slot is 10 units wide; the scale's lines
    and labels are in the outer SVG, in pixels, so the text never scales.
    """
    shown = [r for r in runs[-count:] if r["duration"] is not None]
    longest = max((r["duration"] for r in shown), default=0.0)
    top, lines = _scale(longest)
    plot = CHART_H - CHART_TOP
    slots = max(len(shown), CHART_SLOTS)
    bars = []
    for i, r in enumerate(shown):
        h = max(1.0, plot * r["duration"] / top)
        bars.append(
            {
                "id": r["id"],
                "status": r["status"],
                "duration": r["duration"],
                "failed": r["status"] in FAILING,
                "x": i * 10 + 1,
                "y": round(CHART_H - h, 2),
                "h": round(h, 2),
                "centre": round(100 * (i + 0.5) / slots, 3),  # percent of the width
            }
        )
    ticks = [{"y": round(CHART_H - plot * v / top, 2), "label": format_duration(v)} for v in lines]
    return {
        "bars": bars,
        "max": longest,
        "ticks": ticks,
        "width": slots * 10,
        "height": CHART_H,
    }
