"""A host that dies mid-run, seen from the others (issue 21): hosts are namespaces.

Its run's owner cannot be checked from any other host (another hostname,
another PID space): the run reads as running with its lease's age, then as
lost once the lease lapses, on every other host and in sitegen's status.json;
the next run of the task on another host finalizes it, and one notice says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from helpers.hosts import (
    GRACE,
    LEASE,
    SLACK,
    Host,
    fleet_env,
    ls_task,
    on_host,
    require_namespaces,
    sitegen_status,
)
from helpers.polling import wait_for
from helpers.runs import RUNWRAP


def test_a_dead_host_s_run_is_lost_everywhere_and_finalized_once_by_the_next(tmp_path):
    require_namespaces()
    env, notices = fleet_env(tmp_path)
    lease = ["--lease", f"{LEASE:g}s", "--notify", "log"]
    pod_a = Host("pod-a", f"{RUNWRAP} -n job {' '.join(lease)} -- sleep 300", env)
    try:
        running = wait_for(lambda: ls_task(env)["running_runs"], what="pod-a's run")
        run_id = running[0]["run_id"]
        # Seen from elsewhere while its host lives: running, no pid or liveness word from
        # another PID space, the lease's age instead (renewed: stays under the lease).
        assert running[0]["status"] == "running"
        assert running[0]["pid"] is None and running[0]["liveness"] is None
        assert running[0]["lease_age_s"] is not None
        wait_for(lambda: time.time() > _started(running[0]) + 2 * LEASE, what="two leases")
        seen = ls_task(env, host="pod-b")
        assert seen["running"] == [run_id] and seen["lost"] == []
        assert seen["running_runs"][0]["lease_age_s"] <= LEASE + GRACE

        table = subprocess.run([RUNWRAP, "ls"], env=env, capture_output=True, text=True)
        row = next(line for line in table.stdout.splitlines() if run_id in line)
        assert "lease " in row and "running" not in row.split(run_id)[1], table.stdout
        shown = subprocess.run([RUNWRAP, "show", run_id], env=env, capture_output=True, text=True)
        assert shown.returncode == 0 and "lease" in shown.stdout.lower(), shown.stdout
        dead_at = pod_a.kill()
    finally:
        pod_a.stop()

    # Every other host, and sitegen, call it lost within the lease and its grace.
    def lost_here() -> bool:
        return ls_task(env)["lost"] == [run_id]

    wait_for(lost_here, timeout=LEASE + GRACE + SLACK, what="the run lost")
    seen_lost_after = time.time() - dead_at
    assert ls_task(env, host="pod-c")["lost"] == [run_id]
    status = sitegen_status(env, str(tmp_path / "out"))
    assert status["lost"] == [run_id] and status["running"] == []
    # Not finalized by any reader: still open, its notice not sent yet.
    assert os.listdir(tmp_path / "root" / "tasks" / "job" / "open") == [run_id]
    assert not os.path.exists(notices)

    # The next run, on another host, proceeds and finalizes it.
    result = on_host("pod-d", [RUNWRAP, "-n", "job", *lease, "--", "echo", "hi"], env)
    assert result.returncode == 0, result.stderr
    manifest = json.loads(
        (tmp_path / "root" / "tasks" / "job" / "runs" / run_id / "manifest.json").read_text()
    )
    assert manifest["status"] == "lost"
    assert "pod-a" in manifest["reason"] and "lease" in manifest["reason"]
    assert os.listdir(tmp_path / "root" / "tasks" / "job" / "open") == []
    after = ls_task(env)
    assert after["lost"] == [] and after["running"] == []
    assert after["last_run"]["status"] == "success" and after["last_run"]["host"] == "pod-d"
    status = sitegen_status(env, str(tmp_path / "out"))
    assert status["lost"] == [] and status["running"] == []
    # Another run on yet another host finds nothing left to do: one notice for the lost run.
    assert on_host("pod-e", [RUNWRAP, "-n", "job", *lease, "--", "true"], env).returncode == 0
    told = [line.split() for line in Path(notices).read_text().splitlines()]
    assert [t for t in told if t[1] == run_id] == [["failure", run_id, "pod-d"]], told
    print(f"lost seen {seen_lost_after:.1f}s after the host died (lease {LEASE}s)")


def _started(manifest: dict) -> float:
    from runwrap.timefmt import parse_iso

    return parse_iso(manifest["started_at"])


def test_hosts_finding_one_lost_run_at_once_finalize_it_once(tmp_path):
    """Without the overlap guard (`allow`), three hosts take the lost run over at the same
    moment: one rename of its marker wins, one record, one notice."""
    require_namespaces()
    env, notices = fleet_env(tmp_path)
    lease = ["--lease", f"{LEASE:g}s", "--notify", "log"]
    pod_a = Host("pod-a", f"{RUNWRAP} -n job {' '.join(lease)} -- sleep 300", env)
    try:
        run_id = wait_for(lambda: ls_task(env)["running"], what="pod-a's run")[0]
        pod_a.kill()
    finally:
        pod_a.stop()
    wait_for(lambda: ls_task(env)["lost"] == [run_id], timeout=LEASE + GRACE + SLACK, what="lost")
    gate = tmp_path / "go"
    wait_gate = f"while [ ! -e {gate} ]; do sleep 0.01; done"
    run = f"{RUNWRAP} -n job --overlap allow {' '.join(lease)} -- true"
    takers = [Host(f"pod-{n}", f"{wait_gate}; {run}", env) for n in "bcd"]
    try:
        gate.touch()  # all three at once
        assert [t.wait().returncode for t in takers] == [0, 0, 0]
    finally:
        for taker in takers:
            taker.stop()
    told = [line.split() for line in Path(notices).read_text().splitlines()]
    assert [t[:2] for t in told if t[1] == run_id] == [["failure", run_id]], told
    history = subprocess.run(
        [RUNWRAP, "history", "job", "--json"], env=env, capture_output=True, text=True
    )
    statuses = sorted(r["status"] for r in json.loads(history.stdout))
    assert statuses == ["lost", "success", "success", "success"], statuses
    assert os.listdir(tmp_path / "root" / "tasks" / "job" / "open") == []
