"""The dashboard of a young install (an hour of runs), through nginx in Chromium.

At a glance from day one: task names whole, the state column short ("since
2 min ago", "next in 15 h", and no "next" on a task that runs every minute),
a timeline over the last hour rather than a pixel at the edge of a day, lane
names whole on a phone, and each 90-day calendar starting at the task's first
run. Screenshots at desktop and phone width go to test-artifacts/sitegen/.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from runwrap.store.fold import fold
from runwrap.store.query import record_of
from runwrap.timefmt import iso
from sitegen.render.model import summarize, task_summary
from sitegen.render.timeline import dashboard

from helpers.polling import wait_for
from helpers.serving import nginx_serving
from helpers.sites import runwrap, sitegen

NAMES = ["hourly-report", "every-minute-poll", "db-backup-nightly", "inventory-sync-with-warehouse"]


@pytest.fixture(scope="module")
def young():
    """Runs of the last few seconds, by the real runwrap, with schedules: a fresh install."""
    base = Path(tempfile.mkdtemp(prefix="sitegen-young-"))
    base.chmod(0o755)
    root, out = base / "root", base / "site"
    for _ in range(3):
        assert runwrap(root, "every-minute-poll", "true", "--schedule", "* * * * *").returncode == 0
    assert (
        runwrap(root, "db-backup-nightly", "echo saved", "--schedule", "0 2 * * *").returncode == 0
    )
    for _ in range(2):
        result = runwrap(
            root, "hourly-report", "echo broken >&2; exit 3", "--schedule", "0 * * * *"
        )
        assert result.returncode == 3
    assert runwrap(root, "inventory-sync-with-warehouse", "sleep 0.2").returncode == 0
    built = sitegen("--root", str(root), "--out", str(out))
    assert built.returncode == 0, built.stderr
    try:
        with nginx_serving(out, base / "nginx") as url:
            yield {"url": url, "out": out}
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _open(browser, url: str) -> None:
    browser.get(url)
    wait_for(
        lambda: browser.execute_script("return !document.getElementById('filters').hidden"),
        what="the page's script",
    )


def _state_text(browser, task: str) -> str:
    return browser.execute_script(
        f"return document.querySelector(\"tr[data-task='{task}'] td.state\").innerText"
    )


def test_the_young_dashboard_reads_at_a_glance_on_a_desktop(young, browser, artifacts_dir):
    browser.set_window_size(1280, 1000)
    _open(browser, young["url"])
    # Names whole: each on one line (the old page broke them at 12rem, or mid-word).
    lines = browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('tr.task')].map(r =>"
        " [r.dataset.task, r.querySelector('th a').getClientRects().length]))"
    )
    assert lines == dict.fromkeys(NAMES, 1), lines
    # A failing row says since when; "next" is relative, and only where it helps.
    failing = _state_text(browser, "hourly-report")
    assert re.search(r"since \d+ s ago|since \d+ min ago", failing), failing
    assert re.search(r"next in \d+ (s|min|h)", failing), failing
    assert re.search(r"next in \d+ (s|min|h)", _state_text(browser, "db-backup-nightly"))
    assert "next" not in _state_text(browser, "every-minute-poll")
    assert "UTC" not in _state_text(browser, "db-backup-nightly")  # no long absolute date
    # The timeline spans what there is: the last hour, said plainly.
    views = browser.execute_script(
        "return [...document.querySelectorAll('figure.timeline')].map(f =>"
        " [f.className, f.querySelector('figcaption').innerText])"
    )
    assert views == [["timeline tl-hour", "The last hour, up to now"]], views
    # A run of a few seconds ago is near the right edge, but inside the view, not a pixel.
    bar = browser.execute_script(
        "var r = document.querySelector('.tl-hour .lane[data-task=\"db-backup-nightly\"] rect.bar')"
        ".getBoundingClientRect(), s = document.querySelector('.tl-hour svg.lane-bars')"
        ".getBoundingClientRect(); return [r.left - s.left, s.width, r.width];"
    )
    assert bar[0] > bar[1] * 0.8 and bar[2] >= 2, bar
    # The calendar starts at the first run: one day, 3 px, not 90 days of grey.
    widths = browser.execute_script(
        "return [...document.querySelectorAll('svg.calendar')].map(s =>"
        " [s.getBoundingClientRect().width, s.getAttribute('aria-label')])"
    )
    today = iso(time.time())[:10]
    assert all(w == 3 for w, _ in widths), widths
    assert all(f"{today} to {today}" in label for _, label in widths), widths
    browser.save_screenshot(str(artifacts_dir / "young-dashboard.png"))


def test_the_young_dashboard_on_a_phone(young, browser, artifacts_dir):
    try:
        browser.set_window_size(390, 844)
        _open(browser, young["url"])
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
        # Lane names whole (the old page cut them to 5rem with an ellipsis).
        cut = browser.execute_script(
            "return [...document.querySelectorAll('.lane-name')].filter(a =>"
            " a.scrollWidth > a.clientWidth + 1).map(a => a.textContent)"
        )
        assert cut == []
        shown = browser.execute_script(
            "return [...document.querySelectorAll('.lane-name')].map(a => a.innerText)"
        )
        assert sorted(shown) == sorted(NAMES)
        browser.save_screenshot(str(artifacts_dir / "young-dashboard-phone.png"))
        figure = browser.find_element("css selector", "figure.timeline")
        browser.execute_script("arguments[0].scrollIntoView()", figure)  # shots crop to view
        figure.screenshot(str(artifacts_dir / "young-dashboard-phone-timeline.png"))
    finally:
        browser.set_window_size(1280, 900)


def test_a_live_change_of_state_drops_the_old_states_lines(young, browser):
    """The page follows status.json in place: "since 2 min ago" under a task that has
    recovered since would be wrong, so the old state's lines go with it."""
    _open(browser, young["url"])
    assert "since" in _state_text(browser, "hourly-report")
    path = young["out"] / "status.json"
    before = path.read_text()
    status = json.loads(before)
    status["tasks"]["hourly-report"]["state"] = "ok"
    status["tasks"]["hourly-report"]["shown"] = "ok"
    try:
        path.write_text(json.dumps(status))
        wait_for(
            lambda: "ok" in _state_text(browser, "hourly-report"),
            timeout=30,
            what="the page's poll of status.json",
        )
        assert _state_text(browser, "hourly-report").strip() == "✓ ok"
    finally:
        path.write_text(before)


# -- the spans, from run summaries ----------------------------------------------


def _summary(task: str, starts: list[float]) -> dict:
    runs = [
        summarize(
            f"{iso(t)}-{n:04d}",
            {"status": "success", "started_at": iso(t), "ended_at": iso(t + 1), "duration_s": 1},
        )
        for n, t in enumerate(starts)
    ]
    manifests = [
        {"run_id": r["id"], "status": r["status"], "started_at": r["started"]} for r in runs
    ]
    return task_summary(task, runs, record_of(task, fold(manifests), []))


@pytest.mark.parametrize(
    ("ages", "views"),
    [
        ([3000, 0], ["hour"]),
        ([3 * 3600, 0], ["day"]),
        ([3 * 86400, 0], ["day", "week"]),
    ],
)
def test_the_timeline_chooses_its_span_from_the_data(ages: list[int], views: list[str]) -> None:
    now = 1_800_000_000
    shown = dashboard([_summary("t", [now - a for a in ages])])["timeline"]["views"]
    assert [v["view"] for v in shown] == views
    assert shown[0]["lanes"][0]["bars"]  # the runs are in the first view


def test_the_calendar_starts_at_the_first_run_or_90_days_back() -> None:
    now = 1_800_000_000
    young = _summary("young", [now - 86400, now])
    old = _summary("old", [now - 200 * 86400, now - 30 * 86400, now])
    cals = dashboard([young, old])["calendars"]
    assert cals["young"].days == 2 and [c["x"] for c in cals["young"]] == [0, 6]
    # Runs older than the window: the calendar is the whole 90 days.
    assert cals["old"].days == 90
