"""A container of this host (same hostname and boot id, its own PID space) owns a run.

Its pids mean nothing here: a reader outside must not judge the run by them
(pid 3 there is some other process, or none, here), only by the lease.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

from helpers.hosts import GRACE, LEASE, SLACK, Host, fleet_env, ls_task, require_namespaces
from helpers.polling import wait_for
from helpers.runs import RUNWRAP


def test_a_container_s_run_is_judged_by_its_lease_not_by_its_pids(tmp_path):
    require_namespaces()
    env, _notices = fleet_env(tmp_path)
    # No --uts: the container shares this host's name, as a pod on one node does.
    job = f"{RUNWRAP} -n job --lease {LEASE:g}s -- sleep 300"
    container = Host("container", job, env, uts=False)
    try:
        running = wait_for(lambda: ls_task(env)["running_runs"], what="the container's run")
        run_id = running[0]["run_id"]
        assert running[0]["owner"]["host"] == os.uname().nodename
        assert running[0]["owner"]["pid"] < 10  # its own PID space
        # Two leases later: still running (the lease is renewed), never judged by a pid.
        started = time.time()
        wait_for(lambda: time.time() > started + 2 * LEASE, what="two leases")
        task = ls_task(env)
        assert task["running"] == [run_id] and task["lost"] == []
        assert task["running_runs"][0]["lease_age_s"] <= LEASE + GRACE
        container.kill()
    finally:
        container.stop()
    wait_for(
        lambda: ls_task(env)["lost"] == [run_id],
        timeout=LEASE + GRACE + SLACK,
        what="the run lost",
    )
    # The next run here (another PID space) finalizes it.
    assert subprocess.run([RUNWRAP, "-n", "job", "--", "true"], env=env).returncode == 0
    manifest = json.loads(
        (tmp_path / "root" / "tasks" / "job" / "runs" / run_id / "manifest.json").read_text()
    )
    assert manifest["status"] == "lost"
