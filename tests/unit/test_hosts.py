"""Hosts as their files show them (runwrap/store/hosts.py), as pure functions: a clock's
offset from the storage's, the flag, each host's "is cron running?" facts; and the
timeline's lanes per host (sitegen/render/timeline.py)."""

from __future__ import annotations

import os
import time

import pytest

from runwrap.store import hosts
from runwrap.store.hosts import SKEW_S, clocks, hosts_overview, lease_lapsed, sample, skewed
from sitegen.render.timeline import bars, dashboard


def test_a_sample_is_the_writers_clock_against_the_files_mtime():
    assert sample({"host": "web1", "at": 1300.0}, 1000.0) == ("web1", 300.0, 1000.0)
    assert sample({"host": "web1", "at": 940}, 1000.0) == ("web1", -60.0, 1000.0)
    # Whatever a file held that is not a writer and a time is no sample.
    for written in (None, {}, {"host": "", "at": 1.0}, {"host": 3, "at": 1.0},
                    {"host": "a", "at": True}, {"host": "a", "at": "1"}, ["a", 1.0],
                    {"host": "a", "at": float("nan")}, {"host": "a", "at": float("inf")},
                    {"host": "a", "at": 10**30}):  # fmt: skip
        assert sample(written, 1000.0) is None, written
    assert sample({"host": "a", "at": 1.0}, None) is None


def test_a_host_further_than_half_the_default_lease_is_flagged():
    assert SKEW_S == 15.0
    assert not skewed(SKEW_S) and not skewed(-SKEW_S)
    assert skewed(SKEW_S + 0.1) and skewed(-300.0)


def test_each_host_is_judged_by_its_newest_sample():
    # web1 was 5 min ahead, then NTP stepped it: its newest write is believed.
    found = clocks([("web1", 300.0, 10.0), ("web1", 0.2, 20.0), ("db1", -40.0, 15.0)])
    assert found == {
        "db1": {"offset_s": -40.0, "at": 15.0, "skewed": True},
        "web1": {"offset_s": 0.2, "at": 20.0, "skewed": False},
    }
    assert clocks([]) == {}


def test_each_hosts_line_counts_its_tasks_and_its_last_start():
    tasks = [
        ("web1", 100.0, False),
        ("web1", 250.0, True),
        ("web1", None, None),  # no schedule, no start known
        ("db1", 50.0, None),
        ("", 10.0, True),  # a run that recorded no host: on no line
    ]
    lines = hosts_overview(tasks, [("web1", 301.0, 5.0), ("batch", 0.0, 3.0)], ["web1"])
    assert [line["host"] for line in lines] == ["batch", "db1", "web1"]
    web1 = lines[2]
    assert web1 == {
        "host": "web1",
        "tasks": 3,
        "last_started": 250.0,
        "scheduled": 2,
        "late": 1,
        "silent": True,
        "clock": {"offset_s": 301.0, "at": 5.0, "skewed": True},
    }
    assert lines[1]["clock"] is None and not lines[1]["silent"] and lines[1]["scheduled"] == 0
    # A host known only by a sample (a taker that finalized another host's run).
    assert lines[0]["tasks"] == 0 and lines[0]["last_started"] is None


def test_a_lease_is_judged_lost_only_after_the_readers_clock_is_allowed_for(tmp_path, monkeypatch):
    owner = {"host": "elsewhere", "lease": 30.0}
    now = 1_000_000.0
    monkeypatch.setattr(hosts.time, "time", lambda: now)
    monkeypatch.setattr(hosts, "_own", [(0.0, time.monotonic())])
    # Renewed within the lease and its grace (45 s): not lost.
    assert not lease_lapsed(owner, now - 40, str(tmp_path))
    assert lease_lapsed(owner, now - 50, str(tmp_path))
    # A reader 5 min ahead of the storage takes its lead off.
    monkeypatch.setattr(hosts, "_own", [(300.0, time.monotonic())])
    assert not lease_lapsed(owner, now - 320, str(tmp_path))
    assert lease_lapsed(owner, now - 350, str(tmp_path))
    # A reader behind is not made harsher: the raw age decides first.
    monkeypatch.setattr(hosts, "_own", [(-300.0, time.monotonic())])
    assert not lease_lapsed(owner, now - 40, str(tmp_path))
    # An owner that recorded no lease (a runwrap from before leases) is never lost by one.
    assert not lease_lapsed({"host": "old"}, now - 10_000, str(tmp_path))


def test_the_own_offset_is_probed_once_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(hosts, "_own", [])
    offset = hosts.own_offset(str(tmp_path))
    assert offset == pytest.approx(0.0, abs=2.0)  # this machine's clock is the storage's
    assert os.listdir(tmp_path) == []
    assert hosts.own_offset("/nonexistent/dir") == offset  # once per process


def test_without_unnamed_files_the_probe_names_one_and_removes_it(tmp_path, monkeypatch):
    monkeypatch.setattr(hosts, "_own", [])
    monkeypatch.delattr(os, "O_TMPFILE", raising=False)  # as on NFS: no unnamed files
    made = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda p, *a, **k: made.append(p) or real_open(p, *a, **k))
    assert hosts.own_offset(str(tmp_path)) == pytest.approx(0.0, abs=2.0)
    assert [os.path.basename(p) for p in made] == [f".clock.{os.getpid()}"]
    assert os.listdir(tmp_path) == []


def test_a_probe_where_nothing_can_be_written_says_no_offset(monkeypatch):
    monkeypatch.setattr(hosts, "_own", [])
    assert hosts.own_offset("/nonexistent/dir") == 0.0


def _run(i: int, host: str | None, status: str = "success") -> dict:
    start = 1_796_000_000 + 300 * i
    iso = __import__("runwrap.timefmt", fromlist=["iso"]).iso
    return {
        "id": f"run{i:03d}",
        "status": status,
        "started": iso(start),
        "ended": iso(start + 30),
        "duration": 30.0,
        "host": host,
    }


def _summary(name: str, runs: list[dict]) -> dict:
    return {"name": name, "bars": bars(runs), "days": [], "runs": len(runs)}


def test_a_task_run_on_several_hosts_gets_a_lane_per_host():
    one = [_run(i, "web1") for i in range(6)]
    several = [_run(i, ("web1", "web2", "db1")[i % 3]) for i in range(9)]
    ctx = dashboard([_summary("alone", one), _summary("spread", several)])
    lanes = [(lane["name"], lane["host"]) for v in ctx["timeline"]["views"] for lane in v["lanes"]]
    assert lanes == [("alone", None), ("spread", "db1"), ("spread", "web1"), ("spread", "web2")]
    day = ctx["timeline"]["views"][0]["lanes"]
    # Each host's runs in its own lane: 15 min apart, they merge (MERGE_GAP_S) per host.
    assert [len(lane["bars"]) for lane in day] == [1, 1, 1, 1]
    assert [b["n"] for b in bars(several)["day"]] == [3, 3, 3]


def test_runs_of_one_host_merge_across_another_hosts_runs_between():
    runs = [_run(0, "web1"), _run(1, "web2", "failed"), _run(2, "web1")]
    found = bars(runs)["day"]
    assert [(b["host"], b["status"], b["n"]) for b in found] == [
        ("web1", "success", 2),
        ("web2", "failed", 1),
    ]
