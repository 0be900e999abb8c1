"""The dashboard per host (issue 21): a line per host ("is cron running?") and, for a task
that runs on several hosts, a timeline lane per host. Hosts are namespaces sharing one
ROOT; the runs and sitegen are the real commands."""

from __future__ import annotations

import re

import pytest

from helpers.clock import needs_libfaketime, shifted
from helpers.hosts import fleet_env, on_host, require_namespaces, site_status
from helpers.runs import RUNWRAP


def _ran(host: str, args: list[str], env: dict[str, str]) -> None:
    done = on_host(host, [RUNWRAP, *args], env)
    assert done.returncode in (0, 1), done.stderr


def _host_line(page: str, host: str) -> str:
    section = page.split('id="hosts"', 1)[1].split("</section>", 1)[0]
    found = re.search(
        rf'<li class="([^"]*)" data-host="{re.escape(host)}">(.*?)</li>', section, re.S
    )
    assert found, section
    return found.group(1) + " " + re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(2)))


@needs_libfaketime
def test_each_host_has_its_line_and_a_shared_task_a_lane_per_host(tmp_path):
    require_namespaces()
    env, _notices = fleet_env(tmp_path)
    # A host whose cron stopped ten minutes ago: the runs it made then (a whole world
    # moved back, storage included: libfaketime's utime too), two tasks every minute.
    past = {**shifted(env, "-10m"), "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    every = ["--schedule", "* * * * *"]
    for task in ("mail-queue", "cache-warm"):
        _ran("old1", ["-n", task, *every, "--", "true"], past)
    # One task that any of two hosts runs, and one host's own task.
    for host in ("web1", "web2", "web1", "web2"):
        _ran(host, ["-n", "backup", "--", "true"], env)
    _ran("web2", ["-n", "logs", *every, "--", "false"], env)

    out = tmp_path / "out"
    status = site_status(env, out)
    hosts = {h["host"]: h for h in status["hosts"]}
    assert sorted(hosts) == ["old1", "web1", "web2"]
    assert hosts["old1"]["silent"] is True
    assert (hosts["old1"]["tasks"], hosts["old1"]["scheduled"], hosts["old1"]["late"]) == (2, 2, 2)
    assert hosts["web2"]["silent"] is False and hosts["web2"]["tasks"] == 2  # backup's newest
    assert hosts["web2"]["scheduled"] == 1 and hosts["web2"]["late"] == 0
    # web1 ran backup before web2's newest run: no task's newest run, its last start known.
    assert hosts["web1"]["tasks"] == 0 and hosts["web1"]["last_started"] is not None
    assert hosts["web2"]["last_started"] > hosts["old1"]["last_started"]
    # Measured where a host wrote a task's newest run; a world moved whole is no skew.
    assert hosts["old1"]["clock"]["skewed"] is False and hosts["web2"]["clock"]["skewed"] is False
    assert hosts["old1"]["clock"]["offset_s"] == pytest.approx(0, abs=5)
    assert hosts["web1"]["clock"] is None

    page = (out / "index.html").read_text()
    old1 = _host_line(page, "old1")
    assert "host-silent" in old1 and "silent" in old1 and "2 tasks last ran here" in old1, old1
    assert "2 of 2 scheduled late" in old1, old1
    web2 = _host_line(page, "web2")
    assert "host-silent" not in web2 and "last started a run" in web2 and "late" not in web2, web2
    assert "host-clock" not in page
    web1 = _host_line(page, "web1")
    assert "last started a run" in web1 and "task" not in web1, web1

    # The timeline: backup ran on web1 and web2, a lane each; logs, on one host, one lane.
    lanes = re.findall(r'<div class="lane" data-task="([^"]+)"(?: data-host="([^"]+)")?>', page)
    assert ("backup", "web1") in lanes and ("backup", "web2") in lanes, lanes
    assert ("logs", "") in lanes and not [lane for lane in lanes if lane[0] == "logs" and lane[1]]
    assert 'backup <span class="lane-host">on web1</span>' in page
