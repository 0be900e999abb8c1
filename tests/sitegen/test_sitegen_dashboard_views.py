"""The dashboard at a glance (issue 11): timeline, calendars, filters in the URL, the stale
banner, live updates, dark mode and phone cards, through real runwrap runs, the real
sitegen, nginx with the shipped config and headless Chromium."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin

import pytest

from runwrap.timefmt import iso
from sitegen.render.model import summarize
from sitegen.render.timeline import bars, days

from helpers.polling import wait_for
from helpers.runs import BIN
from helpers.serving import nginx_serving
from helpers.sites import ENV, runwrap, sitegen, start_runwrap, write_run


def _build(root: Path, out: Path) -> None:
    built = sitegen("--root", str(root), "--out", str(out))
    assert built.returncode == 0, built.stderr


def _progress(root: Path, task: str) -> str | None:
    """The progress runwrap has folded into a running run's manifest so far."""
    runs = root / "tasks" / task / "runs"
    for run in sorted(runs.iterdir()) if runs.is_dir() else ():
        try:
            manifest = json.loads((run / "manifest.json").read_text())
        except (OSError, ValueError):
            continue
        if manifest.get("status") == "running":
            return manifest.get("feedback", {}).get("progress")
    return None


@pytest.fixture(scope="module")
def views():
    """A site from real runs: a success with labels, a failure, a job left running (it waits
    for files the tests create), a task on another host, and a history over three days."""
    base = Path(tempfile.mkdtemp(prefix="sitegen-views-"))
    base.chmod(0o755)
    root, out, gate = base / "root", base / "site", base / "gate"
    (root / "tasks").mkdir(parents=True)
    gate.mkdir()
    assert runwrap(root, "backup", "echo saved", "-l", "env=prod").returncode == 0
    assert runwrap(root, "backup", "echo saved", "-l", "env=prod").returncode == 0
    assert runwrap(root, "report", "echo broken >&2; exit 2", "-l", "env=dev").returncode == 2
    assert runwrap(root, "remote", "echo far").returncode == 0
    # A root shared by two hosts: this task's runs were made on db1.
    for manifest in (root / "tasks" / "remote" / "runs").glob("*/manifest.json"):
        data = json.loads(manifest.read_text())
        manifest.write_text(json.dumps({**data, "host": "db1"}))
    (root / "tasks" / "remote" / "state.json").unlink()  # its cache, folded again from them
    # Three days of an older task: success; failed; a success then a failure (worst: failed).
    for n, status in ((0, "success"), (1440, "failed"), (2880, "success"), (2881, "failed")):
        write_run(root, "history", n, status)
    script = (
        'echo "[progress]30" >> "$RUNWRAP_FEEDBACK";'
        f" while [ ! -e {gate}/one ]; do sleep 0.05; done;"
        ' echo "[progress]70" >> "$RUNWRAP_FEEDBACK";'
        f" while [ ! -e {gate}/two ]; do sleep 0.05; done"
    )
    job = start_runwrap(root, "etl", script, "-l", "env=prod")
    try:
        wait_for(lambda: _progress(root, "etl") == "30", what="the job's first progress")
        _build(root, out)
        with nginx_serving(out, base / "nginx") as url:
            yield {"root": root, "out": out, "gate": gate, "url": url, "job": job, "base": base}
    finally:
        (gate / "one").touch()
        (gate / "two").touch()
        job.wait(timeout=30)
        shutil.rmtree(base, ignore_errors=True)


def _visible(browser) -> list[str]:
    return browser.execute_script(
        "return [...document.querySelectorAll('tr.task')].filter(r => !r.hidden)"
        ".map(r => r.dataset.task)"
    )


def _open(browser, url: str) -> None:
    browser.get(url)
    wait_for(
        lambda: browser.execute_script("return !document.getElementById('filters').hidden"),
        what="the page's script",
    )


# -- the aggregates, from run summaries ---------------------------------------------


def _run(n: int, status: str, start: float, seconds: float | None) -> dict:
    end = None if seconds is None else iso(start + seconds)
    manifest = {"status": status, "started_at": iso(start), "ended_at": end, "duration_s": seconds}
    return summarize(f"run{n:03d}", manifest)


def test_close_runs_of_one_outcome_merge_into_one_bar_and_others_do_not():
    t0 = 1_795_000_000.0
    runs = [_run(i, "success", t0 + 60 * i, 5) for i in range(10)]  # a run a minute
    runs += [_run(10, "failed", t0 + 600, 5), _run(11, "success", t0 + 660, 5)]
    runs.append(_run(12, "running", t0 + 3 * 3600, None))
    day = bars(runs)["day"]
    assert [(b["status"], b["n"]) for b in day] == [
        ("success", 10),
        ("failed", 1),
        ("success", 1),
        ("running", 1),
    ]
    assert day[0]["id"] == "run009" and day[-1]["end"] is None
    # The 7-day view: a bar per 2-hour slot, of its worst run (these 12 share one slot).
    week = bars(runs)["week"]
    assert [(b["status"], b["n"], b["id"]) for b in week] == [
        ("failed", 12, "run010"),
        ("running", 1, "run012"),
    ]


def test_a_day_shows_its_worst_outcome_and_only_the_last_90_days_are_kept():
    t0 = 1_795_000_000.0
    runs = [
        _run(0, "success", t0, 1),
        _run(1, "timeout", t0 + 10, 1),
        _run(2, "success", t0 + 20, 1),
    ]
    runs += [_run(3, "success", t0 + 86400 * 100, 1)]
    cal = days(runs)
    assert cal == [{"day": iso(t0 + 86400 * 100)[:10], "status": "success", "n": 1}]
    assert days(runs[:3]) == [{"day": iso(t0)[:10], "status": "timeout", "n": 3}]


# -- the pages, in Chromium ------------------------------------------------------------


def test_timeline_has_a_lane_per_task_and_a_bar_per_run_coloured_and_linked(views, browser):
    _open(browser, views["url"])
    lanes = browser.execute_script(
        "var out = {}; document.querySelectorAll('.tl-day .lane').forEach(function (l) {"
        " out[l.dataset.task] = [...l.querySelectorAll('rect.bar')].map(function (r) {"
        "  return {cls: r.getAttribute('class'), fill: getComputedStyle(r).fill,"
        "   h: r.getAttribute('height'), href: r.parentNode.href.baseVal,"
        "   title: r.querySelector('title').textContent}; }); });"
        "var css = getComputedStyle(document.documentElement);"
        "return {lanes: out, bad: css.getPropertyValue('--bad').trim(),"
        " ok: css.getPropertyValue('--ok').trim()};"
    )
    assert set(lanes["lanes"]) == {"backup", "report", "remote", "etl", "history"}
    assert lanes["lanes"]["history"] == []  # its runs are older than a day: an empty lane
    (failed,) = lanes["lanes"]["report"]
    assert "s-failed" in failed["cls"] and failed["h"] == "10" and "failed" in failed["title"]
    (running,) = lanes["lanes"]["etl"]
    assert "s-running" in running["cls"] and "running since" in running["title"]
    backup = lanes["lanes"]["backup"]
    assert backup and all("s-success" in b["cls"] and b["h"] == "6" for b in backup)
    # Colours by outcome (computed fills differ), and each bar leads to its run's page.
    assert failed["fill"] != backup[0]["fill"] != running["fill"]
    status = json.loads((views["out"] / "status.json").read_text())
    assert failed["href"] == status["tasks"]["report"]["last_run"]["url"]
    browser.get(urljoin(views["url"], failed["href"]))
    assert "report" in browser.title


def test_calendar_has_a_cell_per_day_with_runs_showing_the_worst(views, browser):
    _open(browser, views["url"])
    cells = browser.execute_script(
        "return [...document.querySelectorAll(\"tr[data-task='history'] svg.calendar rect.day\")]"
        ".map(function (r) { return [r.getAttribute('class'), r.querySelector('title').textContent,"
        " Number(r.getAttribute('x'))]; })"
    )
    assert [c[0] for c in cells] == ["day s-success", "day s-failed", "day s-failed"]
    assert "the worst of 2 runs" in cells[2][1]
    assert cells[1][2] - cells[0][2] == cells[2][2] - cells[1][2] == 6  # a day apart
    assert browser.find_elements("css selector", "tr[data-task='report'] rect.day.s-failed")


def test_filters_change_rows_and_url_and_a_bookmark_restores_them(views, browser):
    url = views["url"]
    _open(browser, url)
    everything = _visible(browser)
    assert everything == ["history", "report", "etl", "backup", "remote"]  # failing first
    browser.find_element("css selector", "#filters input[value='running']").click()
    assert _visible(browser) == ["etl"]
    assert browser.current_url.endswith("?state=running")
    browser.find_element("css selector", "#filters input[value='failing']").click()
    assert _visible(browser) == ["history", "report", "etl"]
    assert browser.current_url.endswith("?state=failing%2Crunning")
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("name", "label")).select_by_value("env=prod")
    assert _visible(browser) == ["etl"]
    bookmark = browser.current_url
    assert "label=env%3Dprod" in bookmark
    # The bookmark, opened anew, shows the same view.
    _open(browser, url)
    assert len(_visible(browser)) == 5
    _open(browser, bookmark)
    assert _visible(browser) == ["etl"]
    assert browser.find_element("css selector", "#filters input[value='failing']").is_selected()
    # By host, sorted by name: the failing task would still come first.
    _open(browser, url + "?host=db1")
    assert _visible(browser) == ["remote"]
    _open(browser, url + "?sort=name&state=ok,failing")
    assert _visible(browser) == ["history", "report", "backup", "remote"]
    assert "lane" in browser.find_element(
        "css selector", ".tl-day .lane[data-task='backup']"
    ).get_attribute("class")


def test_a_bookmark_naming_what_no_task_has_says_so_even_for_javascript_words(views, browser):
    """Labels and hosts are kept in maps without a prototype: `toString` or `__proto__` is
    a value like any other (with plain objects it was found on every map)."""
    for word in ("gone", "toString", "__proto__"):
        _open(browser, views["url"] + f"?label={word}&host={word}")
        assert _visible(browser) == []
        for name in ("label", "host"):
            chosen = browser.execute_script(
                f"var s = document.getElementById('filters').elements.{name};"
                " return s.options[s.selectedIndex].textContent"
            )
            assert chosen == f"{word} (no task)"


def test_the_count_of_tasks_shown_reads_naturally(views, browser):
    shown = "return document.getElementById('shown').textContent"
    _open(browser, views["url"])
    assert browser.execute_script(shown) == "all 5 tasks"
    _open(browser, views["url"] + "?state=running")
    assert browser.execute_script(shown) == "1 of 5 tasks"
    # A dashboard of one task (the others taken out of this page): "1 task", "0 of 1 task".
    browser.execute_script(
        "document.querySelectorAll('tr.task:not([data-task=etl])').forEach(r => r.remove());"
    )
    box = browser.find_element("css selector", "#filters input[value='running']")
    box.click()  # unchecked: every task
    assert browser.execute_script(shown) == "1 task"
    browser.find_element("css selector", "#filters input[value='failing']").click()
    assert browser.execute_script(shown) == "0 of 1 task"


def test_live_update_changes_progress_without_a_reload(views, browser):
    _open(browser, views["url"])
    progress = "return document.querySelector(\"tr[data-task='etl'] .live progress\").value"
    assert browser.execute_script(progress) == 30
    browser.execute_script("window.__same_page = true")
    (views["gate"] / "one").touch()
    wait_for(lambda: _progress(views["root"], "etl") == "70", what="the job's next progress")
    _build(views["root"], views["out"])  # status.json now says 70; the page is not reloaded
    wait_for(lambda: browser.execute_script(progress) == 70, what="the page to poll status.json")
    assert browser.execute_script("return window.__same_page === true")
    assert "70%" in browser.find_element("css selector", "tr[data-task='etl'] .live").text


def _watch_json(out: Path) -> dict | None:
    try:
        return json.loads((out / "watch.json").read_text())
    except (OSError, ValueError):
        return None


def _banner(browser, url: str) -> str | None:
    """The stale banner's text once the page has checked watch.json (None: no banner)."""
    browser.get(url)
    return wait_for(
        lambda: browser.execute_script(
            "var b = document.getElementById('stale');"
            "return b.dataset.checked ? [b.hidden ? null : b.textContent] : null"
        ),
        what="the stale check",
    )[0]


def test_the_stale_banner_follows_the_watch_heartbeat(views, browser):
    out, url = views["out"], views["url"]
    # Built once: no watch is expected, and no banner shown.
    assert _watch_json(out)["watching"] is False
    assert _banner(browser, url) is None
    cmd = [str(BIN / "sitegen"), "--root", str(views["root"]), "--out", str(out), "--watch"]
    watch = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        beat = wait_for(
            lambda: (b := _watch_json(out)) and b.get("pid") == watch.pid and b,
            what="the watch's heartbeat",
        )
        assert beat["watching"] is True and "stopped_at" not in beat
        assert _banner(browser, url) is None  # alive: no banner
        # Killed an hour ago (SIGKILL: no last word): its heartbeat is an hour old.
        watch.send_signal(signal.SIGKILL)
        watch.wait(timeout=30)
        (out / "watch.json").write_text(json.dumps({**beat, "alive_at": iso(time.time() - 3600)}))
        text = _banner(browser, url)
        assert text and "stale" in text and "1 h ago" in text
        live = browser.find_element("css selector", "tr[data-task='etl'] .liveness")
        assert "(stale?)" in browser.execute_script(
            "return getComputedStyle(arguments[0], '::after').content", live
        )
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
    # Stopped cleanly: it says so.
    watch = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: (_watch_json(out) or {}).get("pid") == watch.pid, what="a new heartbeat")
    watch.send_signal(signal.SIGTERM)
    assert watch.wait(timeout=30) == 0
    assert "stopped_at" in _watch_json(out)
    assert "stopped at" in (_banner(browser, url) or "")
    # A new run, built by hand: the site is as fresh as that build, and no watch is expected.
    assert runwrap(views["root"], "backup", "echo saved", "-l", "env=prod").returncode == 0
    _build(views["root"], out)
    assert _watch_json(out)["watching"] is False
    assert _banner(browser, url) is None


def test_dark_mode_phone_cards_and_screenshots(views, browser, artifacts_dir):
    url = views["url"]
    bg = "return getComputedStyle(document.body).backgroundColor"
    try:
        browser.set_window_size(1400, 1000)
        _open(browser, url)
        light = browser.execute_script(bg)
        browser.save_screenshot(str(artifacts_dir / "dashboard-views.png"))
        for view in ("day", "week"):
            figure = browser.find_element("css selector", f"figure.tl-{view}")
            # Headless Chromium crops an element's screenshot to the viewport.
            browser.execute_script("arguments[0].scrollIntoView()", figure)
            figure.screenshot(str(artifacts_dir / f"dashboard-timeline-{view}.png"))
        browser.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
        )
        dark = browser.execute_script(bg)
        assert dark != light and dark == "rgb(13, 17, 23)"
        browser.save_screenshot(str(artifacts_dir / "dashboard-views-dark.png"))
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
        browser.set_window_size(400, 900)
        _open(browser, url)
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 400
        labels = browser.execute_script(
            "return [...document.querySelectorAll(\"tr[data-task='report'] td\")]"
            ".map(td => getComputedStyle(td, '::before').content)"
        )
        assert labels[:4] == ['"State"', '"Last run"', '"Duration"', '"Success"']
        browser.save_screenshot(str(artifacts_dir / "dashboard-views-phone.png"))
        # The history table keeps Duration, Exit and Reason in sight on a phone.
        browser.get(url + "tasks/report/index.html")
        cells = browser.execute_script(
            "return [4, 5, 6].map(i => { var td = document.querySelector("
            "'table.history tbody tr td:nth-child(' + i + ')'); var r = td.getBoundingClientRect();"
            " return [r.left >= 0 && r.right <= 400 && r.width > 0, td.textContent,"
            " getComputedStyle(td, '::before').content]; })"
        )
        assert all(c[0] for c in cells), cells
        assert cells[0][2] == '"Duration "' and cells[1][2] == '"Exit "' and cells[1][1] == "2"
        assert "exit" in cells[2][1] or "2" in cells[2][1]
        browser.save_screenshot(str(artifacts_dir / "task-history-phone.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
        browser.set_window_size(1280, 900)


def test_status_json_and_feeds_say_when(views):
    status = json.loads((views["out"] / "status.json").read_text())
    assert status["generated_at"].endswith("Z")
    assert status["tasks"]["etl"]["live"]["started_at"]
    assert status["tasks"]["etl"]["running"] == [status["tasks"]["etl"]["live"]["run_id"]]
    assert status["tasks"]["remote"]["host"] == "db1"
    assert status["tasks"]["backup"]["labels"] == {"env": "prod"}
    feed = (views["out"] / "tasks" / "backup" / "feed.atom").read_text()
    assert 'rel="self"' in feed and "<updated>1970" not in feed
    page = (views["out"] / "index.html").read_text()
    assert '<time class="built"' in page and '<noscript><meta http-equiv="refresh"' in page


def test_a_running_runs_page_follows_status_json_and_reloads_when_it_ends(views, browser):
    status = json.loads((views["out"] / "status.json").read_text())
    etl = status["tasks"]["etl"]
    assert etl["last_run"] is None  # a running run is not the task's last (finished) run
    page = urljoin(views["url"], f"tasks/etl/runs/{etl['live']['run_id']}/index.html")
    browser.get(page)
    assert browser.execute_script("return document.getElementById('live-progress').value") == 70
    browser.execute_script("window.__same_page = true")
    (views["gate"] / "two").touch()
    views["job"].wait(timeout=30)
    _build(views["root"], views["out"])  # the run's page is rebuilt, status.json says it ended
    wait_for(
        lambda: browser.execute_script("return window.__same_page === undefined"),
        what="the run's page to reload itself",
    )
    assert browser.find_elements("css selector", "h1 .s-success")
    assert not browser.find_elements("id", "live")
