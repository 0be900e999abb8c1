"""The timeline as the page's script moves it on to now (app.js), in real Chromium through
the shipped nginx config: a lane's rects count from the lane's own origin and a
translate moves them to the anchor (sitegen/render/timeline.py), so the script must place a
running run's bar in the same coordinates as the page draws it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from helpers.polling import wait_for
from helpers.serving import nginx_serving
from helpers.sites import sitegen, write_run


def test_a_running_bar_reaches_now_when_another_task_moved_the_anchor_on(browser):
    base = Path(tempfile.mkdtemp(prefix="sitegen-timeline-"))
    base.chmod(0o755)  # nginx's workers read it
    root, out = base / "root", base / "site"
    try:
        # Running since BASE (its owner is this process: alive); another task's run
        # ten hours later ends last, so the anchor is that run's end, not this one's start.
        write_run(root, "slow", 0, "running")
        write_run(root, "quick", 600, "success")
        built = sitegen("--root", str(root), "--out", str(out))
        assert built.returncode == 0, built.stderr
        with nginx_serving(out, base / "nginx") as url:
            browser.get(url)
            script = (
                "var lane = document.querySelector('.tl-day .lane[data-task=\"slow\"]');"
                "var svg = lane.querySelector('svg.lane-bars');"
                "var bar = lane.querySelector('rect[data-running]');"
                "if (!svg.getAttribute('viewBox').startsWith('-86400 ')) {"
                "  var s = svg.getBoundingClientRect(), r = bar.getBoundingClientRect();"
                "  return {svg: [s.left, s.right], bar: [r.left, r.right]}; }"
                "return null;"
            )
            # The script has moved the view on to now once the viewBox changed.
            box = wait_for(lambda: browser.execute_script(script), what="the moved timeline")
        # Days after BASE, the bar of a run still going fills the whole last 24 hours.
        assert abs(box["bar"][1] - box["svg"][1]) <= 1, box
        assert box["bar"][0] <= box["svg"][0] + 1, box
    finally:
        shutil.rmtree(base, ignore_errors=True)
