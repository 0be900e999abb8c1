"""Find a run: the dashboard's search box over each task's search.json, through nginx in
Chromium; the index kept up to date incrementally (issue 22)."""

from __future__ import annotations

import json
from pathlib import Path

from helpers.polling import wait_for
from helpers.sites import runwrap, sitegen


def results(browser) -> list[str]:
    return [li.text for li in browser.find_elements("css selector", "#find-results li")]


def test_the_search_box_finds_a_run_by_a_word_of_its_stderr_tail(served, nginx, browser):
    browser.get(nginx)
    box = browser.find_element("id", "find-q")
    assert box.is_displayed()
    box.send_keys("broken")  # the last line of the failed `report` run's stderr
    found = wait_for(lambda: results(browser), what="search results")
    assert len(found) == 1 and found[0].startswith("report · "), found
    assert "failed" in found[0] and "broken" in found[0]
    status = json.loads((served["out"] / "status.json").read_text())
    run_url = status["tasks"]["report"]["last_run"]["url"]
    browser.find_element("css selector", "#find-results li a").click()
    wait_for(lambda: browser.current_url == nginx + run_url, what="the run page")
    # The job's words are shown as text: a payload among them runs nowhere.
    browser.get(nginx)
    browser.find_element("id", "find-q").send_keys("onerror")
    found = wait_for(lambda: results(browser), what="search results")
    assert any(line.startswith("evil task · ") for line in found), found
    assert browser.execute_script("return window.__xss === undefined")
    assert browser.find_elements("css selector", "#find-results img") == []


def test_the_index_is_kept_incrementally_and_small(run_root: Path, out: Path):
    assert runwrap(run_root, "etl", "echo 'ERROR: quasar overflow' >&2; exit 1").returncode == 1
    assert runwrap(run_root, "etl", "true", "-l", "env=prod").returncode == 0
    assert sitegen("--root", str(run_root), "--out", str(out)).returncode == 0
    path = out / "tasks" / "etl" / "search.json"
    index = json.loads(path.read_text())
    fields = [[index["texts"][i] for i in f] for _id, _status, f in index["runs"]]
    assert fields == [["exited with status 1", "ERROR: quasar overflow"], ["env=prod"]]
    before = path.stat()
    # A run with nothing to find: the file is not even rewritten.
    assert runwrap(run_root, "etl", "true").returncode == 0
    assert sitegen("--root", str(run_root), "--out", str(out)).returncode == 0
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    # The same failure again is one more row, not one more text.
    assert runwrap(run_root, "etl", "echo 'ERROR: quasar overflow' >&2; exit 1").returncode == 1
    assert sitegen("--root", str(run_root), "--out", str(out)).returncode == 0
    index = json.loads(path.read_text())
    assert len(index["runs"]) == 3 and len(index["texts"]) == 3
