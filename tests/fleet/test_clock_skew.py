"""A host whose clock runs 5 minutes ahead (issue 21): flagged, and no false lost or late.

The host is a namespace whose processes see a clock 5 minutes ahead through
libfaketime (preloaded; Debian's `faketime` wrapper is never used: it leaks a
semaphore per killed process). Its manifests carry its clock (`written`),
their mtimes the storage's: every reader measures it 5 minutes ahead. As a
reader itself (its `ls`, a run of a task another host's run holds), its
clock must not make the other hosts' live runs lost or their tasks late.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess

import pytest

from helpers.clock import LIBFAKETIME
from helpers.hosts import (
    GRACE,
    LEASE,
    Host,
    fleet_env,
    ls_task,
    on_host,
    require_namespaces,
    site_status,
)
from helpers.polling import wait_for
from helpers.runs import RUNWRAP

AHEAD_S = 300.0


def ahead(env: dict[str, str]) -> dict[str, str]:
    """The environment of a host whose clock runs AHEAD_S ahead (monotonic left alone).

    FAKE_UTIME=1 keeps libfaketime off utime(NULL): by default it stamps such a
    utime with the fake clock too, a whole world moved (storage included), which
    is what the schedule tests want. A host on shared storage has its renewals
    stamped by the storage (NFS sends SET_TO_SERVER_TIME): its own clock only is off.
    """
    return {
        **env,
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME": f"+{int(AHEAD_S // 60)}m",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKE_UTIME": "1",
    }


def ls_all(env: dict[str, str], host: str = "") -> tuple[dict, str]:
    """({task: view} of `ls --json`, the `ls` table), here or on a new host."""
    args = [RUNWRAP, "ls"]

    def run(more: list[str]) -> subprocess.CompletedProcess:
        if host:
            return on_host(host, [*args, *more], env)
        return subprocess.run([*args, *more], env=env, capture_output=True, text=True, timeout=60)

    listed, table = run(["--json"]), run([])
    assert listed.returncode == 0 and table.returncode == 0, listed.stderr + table.stderr
    return {v["task"]: v for v in json.loads(listed.stdout)}, table.stdout


@pytest.mark.skipif(LIBFAKETIME is None, reason="libfaketime is not installed")
def test_a_host_ahead_is_flagged_and_judges_nothing_lost_or_late(tmp_path):
    require_namespaces()
    env, _notices = fleet_env(tmp_path)
    fast = ahead(env)
    every = ["--schedule", "* * * * *", "--lease", f"{LEASE:g}s"]
    done = on_host("fast", [RUNWRAP, "-n", "fast-done", *every, "--", "true"], fast)
    assert done.returncode == 0, done.stderr
    done = on_host("steady", [RUNWRAP, "-n", "steady-done", *every, "--", "true"], env)
    assert done.returncode == 0, done.stderr
    fast_run = Host("fast", f"{RUNWRAP} -n fast-job {shlex.join(every)} -- sleep 300", fast)
    steady_run = Host("steady", f"{RUNWRAP} -n steady-job {shlex.join(every)} -- sleep 300", env)
    try:
        for task in ("fast-job", "steady-job"):
            wait_for(lambda task=task: ls_task(env, task)["running"], what=f"{task} running")
        # Past the lease and its grace, by either clock's renewals.
        wait_for(
            lambda: all(
                (ls_task(env, t)["running_runs"] or [{}])[0].get("lease_age_s") is not None
                for t in ("fast-job", "steady-job")
            ),
            what="leases seen",
        )
        subprocess.run(["sleep", str(2 * LEASE)], check=True)

        # Seen from a host with the storage's clock: the fast host flagged, nothing lost or late.
        views, table = ls_all(env)
        assert views["fast-done"]["clock_skew_s"] == pytest.approx(AHEAD_S, abs=10)
        # A run still going gives no sample: its manifest is its job's to rewrite
        # (tests/attack/test_forged_clock_sample.py); its host is flagged by its other runs.
        assert views["fast-job"]["clock_skew_s"] is None
        assert views["steady-done"]["clock_skew_s"] is None
        for task, view in views.items():
            assert view["lost"] == [] and not view["late"], (task, view)
        assert views["fast-job"]["running"] and views["steady-job"]["running"]
        flagged = [line for line in table.splitlines() if line.startswith("clock?")]
        assert len(flagged) == 1 and "fast runs 5m" in flagged[0], table
        assert "ahead of" in flagged[0]

        # Seen from a host 5 minutes ahead: the same flags (one reference clock, the
        # storage's), and the other host's live run neither lost nor its task late.
        views_fast, table_fast = ls_all(fast, host="fast-reader")
        for task, view in views_fast.items():
            assert view["lost"] == [] and not view["late"], (task, view)
        assert views_fast["steady-job"]["running"] == views["steady-job"]["running"]
        # Its lease's age shown less the reader's lead: renewed lately, not 5 min ago.
        assert views_fast["steady-job"]["running_runs"][0]["lease_age_s"] <= LEASE + GRACE
        assert views_fast["fast-done"]["clock_skew_s"] == pytest.approx(AHEAD_S, abs=10)
        assert views_fast["steady-done"]["clock_skew_s"] is None
        assert [ln for ln in table_fast.splitlines() if ln.startswith("clock?")] == flagged

        # A run on the fast host of the task the steady host's live run holds does not
        # take that run over as lost.
        run_id = views["steady-job"]["running"][0]
        allow = [RUNWRAP, "-n", "steady-job", "--overlap", "allow", *every, "--", "true"]
        assert on_host("fast", allow, fast).returncode == 0
        opened = os.listdir(tmp_path / "root" / "tasks" / "steady-job" / "open")
        assert opened == [run_id], opened
        assert ls_task(env, "steady-job")["running"] == [run_id]

        # sitegen: the host's line on the dashboard and in status.json; nothing lost or late.
        out = tmp_path / "out"
        status = site_status(env, out)
        hosts = {h["host"]: h for h in status["hosts"]}
        assert hosts["fast"]["clock"]["skewed"] is True
        assert hosts["fast"]["clock"]["offset_s"] == pytest.approx(AHEAD_S, abs=10)
        assert hosts["steady"]["clock"]["skewed"] is False
        assert status["late"] == [] and all(not t["lost"] for t in status["tasks"].values())
        page = (out / "index.html").read_text()
        assert "host-clock" in page and "5 min" in page.split('id="hosts"')[1], page
    finally:
        fast_run.stop()
        steady_run.stop()
