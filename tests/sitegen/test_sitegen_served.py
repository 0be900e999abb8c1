"""The built site through real parts: nginx with the shipped config, and headless Chromium."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest

# The fixtures (run_root, out, ...) come from one plugin module, for every sitegen test.
EVIL = quote("evil task")


def fetch(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def evil_run(served) -> str:
    status = json.loads((served["out"] / "status.json").read_text())
    return status["tasks"]["evil task"]["last_run"]["url"]


def test_nginx_serves_pages_logs_and_artifacts(served, nginx):
    code, headers, body = fetch(nginx)
    assert code == 200 and headers["Content-Type"].startswith("text/html")
    assert b"evil task" in body
    code, _, body = fetch(f"{nginx}tasks/{EVIL}/index.html")
    assert code == 200 and b"History" in body
    run = evil_run(served)
    code, _, page = fetch(nginx + run)
    assert code == 200 and b"Artifacts" in page
    base = nginx + run.rsplit("/", 1)[0]
    code, headers, body = fetch(f"{base}/stdout.log")
    assert code == 200 and headers["Content-Type"].startswith("text/plain")
    assert b"window.__xss" in body and headers["Content-Security-Policy"] == "sandbox"
    code, headers, body = fetch(f"{base}/files/page.html")
    assert code == 200 and headers["Content-Security-Policy"] == "sandbox"
    status = json.loads((served["out"] / "status.json").read_text())
    backup = status["tasks"]["backup"]["last_run"]["url"].rsplit("/", 1)[0]
    code, _, body = fetch(f"{nginx}{backup}/files/out/data.csv")
    assert code == 200 and body == b"1,2\n"
    code, headers, body = fetch(nginx + "status.json")
    assert code == 200 and json.loads(body)["tasks"]["report"]["state"] == "failing"
    assert fetch(nginx + "feed.atom")[1]["Content-Type"].startswith("application/atom+xml")
    assert fetch(nginx + "tasks/backup/badge.svg")[1]["Content-Type"].startswith("image/svg+xml")


def test_nginx_sends_the_dashboard_and_its_json_gzipped(served, nginx):
    """The dashboard and status.json (read every 5 s by each open dashboard) go gzipped."""
    for path in ["status.json", "index.html"]:
        plain = (served["out"] / path).read_bytes()
        assert len(plain) > 1024, path  # above gzip_min_length: it would be compressed
        request = urllib.request.Request(nginx + path, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=10) as r:
            encoding, body = r.headers.get("Content-Encoding"), r.read()
        assert encoding == "gzip", (path, encoding)
        assert gzip.decompress(body) == plain and len(body) < len(plain)


def test_nginx_does_not_serve_the_build_cache(nginx):
    assert fetch(nginx + ".sitegen/summary.pack")[0] == 404


def _console_errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


@pytest.mark.parametrize("page", ["dashboard", "task", "run"])
def test_pages_load_in_chromium_without_errors_and_payloads_do_not_run(
    served, nginx, browser, artifacts_dir, page
):
    from selenium.common.exceptions import NoAlertPresentException

    urls = {
        "dashboard": nginx,
        "task": f"{nginx}tasks/{EVIL}/index.html",
        "run": nginx + evil_run(served),
    }
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(urls[page])
    assert browser.execute_script("return document.readyState") == "complete"
    assert browser.execute_script("return window.__xss === undefined")
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 (the access is the check)
    body = browser.find_element("tag name", "body").text
    assert "evil task" in body
    if page == "run":
        # The payload is shown as text in the log, the feedback, a label, a file name, the report.
        assert body.count("window.__xss=2") >= 4
        assert "onerror=alert(1)" in body
    # The relative-time script ran (it adds "(… ago)" next to absolute times).
    if page != "run":
        assert " ago)" in body
    browser.save_screenshot(str(artifacts_dir / f"{page}.png"))
    assert _console_errors(browser) == []


def test_the_dashboard_is_readable_on_a_phone(served, nginx, browser, artifacts_dir):
    browser.set_window_size(390, 844)
    try:
        browser.get(nginx)
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 400  # no sideways scrolling
        browser.save_screenshot(str(artifacts_dir / "dashboard-phone.png"))
    finally:
        browser.set_window_size(1280, 900)
