"""Late tasks on the site: real runwrap runs with --schedule, a clock moved by faketime
(Debian's faketime shifts the clock of the process it starts, nothing else), or runs
recorded in the past so that `sitegen --watch` sees a task turn late while it runs."""

from __future__ import annotations

import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from helpers.clock import needs_libfaketime
from helpers.polling import wait_for
from helpers.runs import BIN
from helpers.sites import ENV, build_later, runwrap, sitegen, status_json, turning_late_soon

EVERY_5 = ("--schedule", "*/5 * * * *")


def late_entries(feed: Path) -> list[dict]:
    """The Atom feed's entries that say a task is late: {title, updated, link}."""
    atom = "{http://www.w3.org/2005/Atom}"
    found = []
    for entry in ET.parse(feed).getroot().iter(f"{atom}entry"):
        title = entry.findtext(f"{atom}title")
        if ": late" in title:
            link = entry.find(f"{atom}link")
            found.append(
                {
                    "title": title,
                    "updated": entry.findtext(f"{atom}updated"),
                    "link": None if link is None else link.get("href"),
                }
            )
    return found


def build(run_root: Path, out: Path) -> None:
    result = sitegen("--root", str(run_root), "--out", str(out))
    assert result.returncode == 0, result.stderr


@needs_libfaketime
def test_a_one_shot_build_asks_the_clock_every_time(run_root, out) -> None:
    for task in ("sync", "backup"):
        assert runwrap(run_root, task, "true", *EVERY_5).returncode == 0
    assert runwrap(run_root, "plain", "true").returncode == 0
    build(run_root, out)
    on_time = status_json(out)
    assert on_time["late"] == [] and on_time["silent_hosts"] == []
    sync = on_time["tasks"]["sync"]
    assert sync["state"] == "ok" and sync["late"] is False and sync["missed"] == 0
    assert sync["schedule"] == "*/5 * * * *" and sync["next_expected"].endswith("Z")
    assert on_time["tasks"]["plain"]["next_expected"] is None
    assert "next expected" in (out / "tasks" / "sync" / "index.html").read_text()

    build_later(run_root, out, 30)  # no file changed: only the clock
    late = status_json(out)
    assert late["late"] == ["backup", "sync"]
    sync = late["tasks"]["sync"]
    assert sync["shown"] == "late" and sync["late"] is True and sync["state"] == "ok"
    assert sync["missed"] >= 5 and sync["late_since"] < sync["next_expected"]
    assert late["tasks"]["plain"]["state"] == "ok" and late["tasks"]["plain"]["late"] is False
    assert late["totals"]["late"] == 2
    (line,) = late["silent_hosts"]
    assert line.startswith("no runs on ") and line.endswith(": is cron running?")
    dashboard = (out / "index.html").read_text()
    assert "state-late" in dashboard and "⚠" in dashboard and line in dashboard
    since = sync["late_since"][11:16]
    missed = f'late since <time datetime="{sync["late_since"]}">{since} UTC</time>, '
    # The dashboard's row is short: the time shown relative by the page's script.
    row_since = f'late since <time datetime="{sync["late_since"]}" data-ago'
    assert row_since in dashboard and f"{sync['missed']} missed</small>" in dashboard
    page = (out / "tasks" / "sync" / "index.html").read_text()
    assert f"{missed}{sync['missed']} runs missed" in page and "s-late" in page
    badge = (out / "tasks" / "sync" / "badge.svg").read_text()
    assert ">late<" in badge and "#9a6700" in badge  # amber, as on the pages
    for feed in (out / "tasks" / "sync" / "feed.atom", out / "feed.atom"):
        entries = late_entries(feed)
        assert [e["updated"] for e in entries if e["title"].startswith("sync: late")] == [
            sync["late_since"]
        ]

    build(run_root, out)  # back to now: on time again, though no file changed either
    assert status_json(out)["late"] == []
    assert "late since" not in (out / "tasks" / "sync" / "index.html").read_text()
    assert ">ok<" in (out / "tasks" / "sync" / "badge.svg").read_text()
    assert late_entries(out / "feed.atom") == []


@pytest.fixture
def watcher(run_root, out):
    log = out.parent / "watch.log"
    with open(log, "w") as f:
        proc = subprocess.Popen(
            [str(BIN / "sitegen"), "--root", str(run_root), "--out", str(out), "--watch"],
            env=ENV,
            stdout=f,
            stderr=subprocess.STDOUT,
        )
    yield proc, log
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0, log.read_text()


@needs_libfaketime
def test_watch_shows_a_task_turning_late_without_any_file_changing(run_root, out, watcher):
    due = turning_late_soon(run_root, "sync", 4.0)
    wait_for(lambda: status_json(out).get("tasks", {}).get("sync"), what="the first build")
    assert status_json(out)["tasks"]["sync"]["late"] is False
    page = out / "tasks" / "sync" / "index.html"
    run_pages = sorted((out / "tasks" / "sync" / "runs").rglob("index.html"))
    mtimes = [p.stat().st_mtime_ns for p in run_pages]
    # Well within the 30 s rescan: the watcher wakes when the grace runs out.
    wait_for(lambda: status_json(out)["tasks"]["sync"]["late"], timeout=12, what="the task late")
    assert time.time() >= due - 0.5
    assert status_json(out)["tasks"]["sync"]["missed"] == 1
    assert "1 run missed" in page.read_text()
    assert [p.stat().st_mtime_ns for p in run_pages] == mtimes  # no run page rewritten
