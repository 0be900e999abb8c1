"""The lease itself: its option, its renewals (one utime each), and what keeps it.

Checked on this host's files; the readers' side is in test_lost_host.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from helpers.hosts import GRACE, LEASE, Host, fleet_env, ls_task, on_host, require_namespaces
from helpers.polling import wait_for
from helpers.runs import RUNWRAP, assert_one_line_error


def _env(tmp_path) -> dict[str, str]:
    (tmp_path / "root").mkdir(exist_ok=True)
    return {**os.environ, "RUNWRAP_ROOT": str(tmp_path / "root")}


@pytest.mark.parametrize("value", ["0.5s", "0", "-3", "soon"])
def test_a_bad_lease_is_one_line(tmp_path, value):
    result = subprocess.run(
        [RUNWRAP, "--lease", value, "--", "true"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert_one_line_error(result, "lease")


def test_the_lease_is_recorded_from_the_option_the_config_or_the_default(tmp_path):
    env = _env(tmp_path)
    config = tmp_path / "runwrap.yaml"
    config.write_text("defaults:\n  lease: 7s\n")

    def lease_of(*args: str, **extra: str) -> float:
        run = subprocess.run([RUNWRAP, *args], env={**env, **extra}, capture_output=True)
        assert run.returncode == 0, run.stderr
        runs = tmp_path / "root" / "tasks" / "job" / "runs"
        newest = sorted(runs.iterdir())[-1]
        return json.loads((newest / "manifest.json").read_text())["owner"]["lease"]

    assert lease_of("-n", "job", "--", "sleep", "0.01") == 30.0
    assert lease_of("-n", "job", "--lease", "2m", "--", "sleep", "0.01") == 120.0
    assert lease_of("-n", "job", "--", "sleep", "0.01", RUNWRAP_CONFIG=str(config)) == 7.0


@pytest.mark.skipif(not shutil.which("strace"), reason="strace is not installed")
def test_one_utime_per_renewal_a_third_of_the_lease_apart(tmp_path):
    """runwrap renews at most once per third of the lease, with one utime of the marker;
    the only other utimes stamp each manifest it writes with the storage's clock (its fd,
    no time given: store/hosts.py measures the host's clock by it)."""
    env = _env(tmp_path)
    log = tmp_path / "strace.txt"
    result = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=utimensat,utime,utimes", "-o", str(log),
         RUNWRAP, "-n", "job", "--lease", "3s", "--", "sleep", "3.5"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    calls = [line for line in log.read_text().splitlines() if " utim" in line]
    renewals = [line for line in calls if "/open/" in line]
    # 3.5 s at one renewal a second: 3 at most (a loaded machine may do fewer), nothing else.
    assert 1 <= len(renewals) <= 3, calls
    stamps = [line for line in calls if line not in renewals]
    # The manifest at the start, once the job's pid is known, and at the end.
    assert 1 <= len(stamps) <= 3, calls
    assert all(re.search(r"utimensat\(\d+, NULL, NULL, 0\)", line) for line in stamps), calls


def test_a_run_whose_lease_was_taken_over_stops_and_leaves_the_record_to_its_taker(tmp_path):
    env = _env(tmp_path)
    proc = subprocess.Popen(
        [RUNWRAP, "-n", "job", "--lease", "1s", "--", "sleep", "60"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    open_dir = tmp_path / "root" / "tasks" / "job" / "open"
    run_id = wait_for(lambda: open_dir.exists() and os.listdir(open_dir), what="the marker")[0]
    # Another host took it over (openruns.take): the marker is renamed away.
    os.rename(open_dir / run_id, open_dir / f"{run_id}~elsewhere.1.1")
    _, err = proc.communicate(timeout=60)
    assert "taken over as lost" in err and "Traceback" not in err, err
    manifest = tmp_path / "root" / "tasks" / "job" / "runs" / run_id / "manifest.json"
    assert json.loads(manifest.read_text())["status"] == "running"  # the taker writes it


def test_a_retry_delay_longer_than_the_lease_keeps_it(tmp_path):
    """Between two attempts nothing supervises a job, but the lease is still renewed."""
    require_namespaces()
    env, _ = fleet_env(tmp_path)
    job = f"{RUNWRAP} -n job --lease {LEASE:g}s --retries 1 --retry-delay 6s -- false"
    container = Host("container", job, env, uts=False)  # its owner is judged by its lease
    try:
        wait_for(lambda: ls_task(env)["running"], what="the run")
        marker = tmp_path / "root" / "tasks" / "job" / "open"
        first = os.lstat(marker / os.listdir(marker)[0]).st_mtime
        # Through the whole delay: never lost, renewed (its mtime moves on).
        wait_for(
            lambda: os.lstat(marker / os.listdir(marker)[0]).st_mtime > first + LEASE + GRACE,
            timeout=60,
            what="renewals past a lease and its grace",
        )
        task = ls_task(env)
        assert task["lost"] == [] and len(task["running"]) == 1
        assert container.wait().returncode == 1
    finally:
        container.stop()
    assert ls_task(env)["last_run"]["status"] == "failed"


def test_a_run_from_before_leases_is_never_called_lost_by_its_lease(tmp_path):
    """An owner that records no lease (a runwrap from before leases, still running its job
    through an upgrade) renews none: a reader elsewhere must not call its run lost."""
    require_namespaces()
    env, _ = fleet_env(tmp_path)
    pod = Host("old-pod", f"{RUNWRAP} -n job -- sleep 300", env)
    try:
        running = wait_for(lambda: ls_task(env)["running_runs"], what="the old pod's run")
        run_id = running[0]["run_id"]
        task = tmp_path / "root" / "tasks" / "job"
        # As the old runwrap wrote them: no lease in the owner (marker and manifest).
        for path in (task / "open" / run_id, task / "runs" / run_id / "manifest.json"):
            record = json.loads(path.read_text())
            del record["owner"]["lease"]
            path.write_text(json.dumps(record))
            os.utime(path, (1, 1))  # and renewed never
        pod.kill()
    finally:
        pod.stop()
    task_now = ls_task(env)
    assert task_now["running"] == [run_id] and task_now["lost"] == []
    assert (
        on_host(
            "new-pod", [RUNWRAP, "-n", "job", "--overlap", "allow", "--", "true"], env
        ).returncode
        == 0
    )
    assert ls_task(env)["running"] == [run_id]  # not taken over either
