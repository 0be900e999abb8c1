"""A Kubernetes CronJob's life on one shared volume: a new pod per tick, some killed.

Every tick is a new host (its own hostname and PID space), so no pod can
check another's runs by pid: the lease decides. Under `skip`, no two jobs
ever overlap, and at the end no run is left running or open.
"""

from __future__ import annotations

import itertools
import json
import os
import shlex
import subprocess
import time
from pathlib import Path

from helpers.faults import scale
from helpers.hosts import GRACE, LEASE, SLACK, Host, fleet_env, ls_task, on_host, require_namespaces
from helpers.polling import wait_for
from helpers.runs import RUNWRAP

TICK = 0.25  # the schedule: a pod every TICK seconds, its job lasting longer


def _spans(path: Path, killed: dict[str, float]) -> list[tuple[float, float, str]]:
    """(start, end, pod) of every job that started: a killed pod's ends when it died."""
    starts, ends = {}, {}
    for line in path.read_text().splitlines() if path.exists() else []:
        kind, at, pod = line.split()
        (starts if kind == "s" else ends)[pod] = float(at)
    return sorted(
        (at, ends.get(pod, killed.get(pod, float("inf"))), pod) for pod, at in starts.items()
    )


def _ran_or_ended(pod: Host, spans: Path) -> bool:
    """Wait until the pod's job started (True) or the pod ended, skipped (False)."""

    def started() -> bool:
        return spans.exists() and f" {pod.name}\n" in spans.read_text()

    wait_for(lambda: started() or pod.proc.poll() is not None, timeout=60, what=pod.name)
    return pod.proc.poll() is None


def test_a_cronjob_s_pods_some_killed_leave_nothing_running_and_never_overlap(tmp_path):
    require_namespaces()
    env, notices = fleet_env(tmp_path)
    spans = tmp_path / "spans.txt"
    job = (
        f'echo "s $(date +%s.%N) $(hostname)" >> {spans}; sleep 0.6; '
        f'echo "e $(date +%s.%N) $(hostname)" >> {spans}'
    )
    run = f"{RUNWRAP} -n cj --lease {LEASE:g}s --overlap skip --notify log -- sh -c {shlex.quote(job)}"
    ticks = 20 * scale()
    pods: list[Host] = []
    killed: dict[str, float] = {}
    try:
        for i in range(ticks):
            pod = Host(f"pod-{i}", run, env)
            pods.append(pod)
            if i % 4 == 1 and _ran_or_ended(pod, spans):  # evicted mid-run
                killed[pod.name] = pod.kill()
            time.sleep(TICK)  # the next tick of the schedule
        for pod in pods:
            pod.wait()
    finally:
        for pod in pods:
            pod.stop()
    assert killed, "no pod was killed mid-run"

    # The runs of the killed pods read as lost once their leases lapse; the next tick
    # (another pod) finalizes them.
    wait_for(
        lambda: not ls_task(env, "cj")["running"],
        timeout=LEASE + GRACE + SLACK,
        what="no run running",
    )
    assert (
        on_host("pod-last", [RUNWRAP, "-n", "cj", "--notify", "log", "--", "true"], env).returncode
        == 0
    )
    task = ls_task(env, "cj")
    assert task["running"] == [] and task["lost"] == []
    assert os.listdir(tmp_path / "root" / "tasks" / "cj" / "open") == []
    history = subprocess.run(
        [RUNWRAP, "history", "cj", "--json", "--limit", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert history.returncode == 0, history.stderr
    runs = json.loads(history.stdout)
    statuses = [r["status"] for r in runs]
    assert "running" not in statuses
    assert statuses.count("lost") == len(killed), statuses

    # Under skip, no two jobs at once.
    found = _spans(spans, killed)
    overlaps = [(a, b) for a, b in itertools.pairwise(found) if b[0] < a[1]]
    assert overlaps == [], overlaps
    # Every notice is sent once (a lost run's by whoever finalized it; a lost run older
    # than a success that followed it does not make the task failing: none then).
    lines = Path(notices).read_text().splitlines() if os.path.exists(notices) else []
    sent = [tuple(line.split()[:2]) for line in lines]
    assert len(sent) == len(set(sent)), lines
    print(f"{ticks} ticks, {len(found)} jobs ran, {len(killed)} pods killed mid-run, 0 overlaps")
