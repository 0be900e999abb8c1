"""The overlap guard across hosts: two and three hosts racing for one task.

Hosts are namespaces on one kernel, so flock and fcntl locks reach each
other as they do through an NFS server's lock manager; the claim file
(`--lock claim`, for mounts whose locks stay on each client) is tested the
same way. The job itself detects an overlap: mkdir of one directory fails
while another job of the task is inside.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess

import pytest

from runwrap.run.lock import kind_on_mount

from helpers.faults import scale
from helpers.hosts import Host, fleet_env, ls_task, on_host, require_namespaces
from helpers.polling import wait_for
from helpers.runs import RUNWRAP

LAUNCHES = 100  # per case, over all hosts (more under FAULTS_SCALE)


@pytest.mark.parametrize(
    ("kind", "policy", "hosts"),
    [
        ("claim", "skip", 2),
        ("claim", "skip", 3),
        ("claim", "wait", 2),
        ("claim", "wait", 3),
        ("fcntl", "skip", 3),
        ("fcntl", "wait", 2),
    ],
)
def test_hosts_racing_never_overlap_and_leave_no_claim(tmp_path, kind, policy, hosts):
    require_namespaces()
    env, _ = fleet_env(tmp_path)
    inside, overlaps, done = tmp_path / "inside", tmp_path / "overlaps", tmp_path / "done"
    job = (
        f"mkdir {inside} 2>/dev/null || echo overlap >> {overlaps}; "
        f"echo x >> {done}; sleep 0.02; rmdir {inside}"
    )
    each = LAUNCHES * scale() // hosts
    run = shlex.join(
        [RUNWRAP, "-n", "race", "--lock", kind, "--overlap", policy, "--lease", "2s",
         "--notify", "none", "--", "sh", "-c", job]
    )  # fmt: skip
    loop = f"i=0; while [ $i -lt {each} ]; do {run} || exit 9; i=$((i+1)); done"
    racing = [Host(f"host-{n}", loop, env) for n in range(hosts)]
    try:
        results = [host.wait(timeout=600) for host in racing]
    finally:
        for host in racing:
            host.stop()
    assert [r.returncode for r in results] == [0] * hosts, [r.stderr for r in results]
    assert not overlaps.exists(), overlaps.read_text()
    ran = len(done.read_text().splitlines())
    if policy == "wait":
        assert ran == each * hosts  # every launch ran, one at a time
    else:
        assert 1 <= ran <= each * hosts
    task = tmp_path / "root" / "tasks" / "race"
    left = [name for name in os.listdir(task) if name.startswith("lock.")]
    assert left == [], left  # no claim (nor a spare of one) left behind
    print(f"{kind} {policy} {hosts} hosts: {each * hosts} launches, {ran} ran, 0 overlaps")


MOUNTS = [
    "36 25 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
    "40 25 0:50 / /srv/a rw,relatime - nfs4 srv:/a rw,vers=4.2,local_lock=none,addr=10.0.0.1",
    "41 25 0:51 / /srv/b rw,relatime - nfs srv:/b rw,vers=3,local_lock=flock,addr=10.0.0.1",
    "42 25 0:52 / /srv/c rw,relatime - nfs srv:/c rw,vers=3,nolock,local_lock=all",
    "43 25 0:53 / /srv/d rw,relatime - nfs4 srv:/d rw,vers=4.1,local_lock=all",
    "44 25 0:54 / /tmp rw,nosuid - tmpfs tmpfs rw",
]


@pytest.mark.parametrize(
    ("device", "kind"),
    [("0:50", "flock"), ("0:51", "fcntl"), ("0:52", "claim"), ("0:53", "claim"),
     ("0:54", "flock"), ("0:99", "flock")],
)  # fmt: skip
def test_auto_picks_the_lock_the_mount_carries_to_the_server(device, kind):
    """NFS carries flock to the server (as a POSIX lock) unless local_lock says otherwise."""
    assert kind_on_mount(MOUNTS, device) == kind


def _last_status(env: dict[str, str]) -> str:
    return ls_task(env, "race")["last_run"]["status"]


def test_a_dead_host_s_claim_is_broken_after_its_lease_by_one_other_host(tmp_path):
    require_namespaces()
    env, _ = fleet_env(tmp_path)
    claim = tmp_path / "root" / "tasks" / "race" / "lock.claim"
    args = [RUNWRAP, "-n", "race", "--lock", "claim", "--lease", "2s", "--notify", "none"]
    holder = Host("host-a", shlex.join([*args, "--", "sleep", "300"]), env)
    try:
        wait_for(lambda: ls_task(env, "race")["running"], what="host-a's run")
        assert claim.exists()
        # Held: another host skips (its lease is renewed).
        assert on_host("host-b", [*args, "--", "true"], env).returncode == 0
        runs = subprocess.run([RUNWRAP, "history", "race", "--json"], env=env, capture_output=True)
        assert [r["status"] for r in json.loads(runs.stdout)] == ["skipped", "running"]
        holder.kill()
    finally:
        holder.stop()
    # Its lease lapses: the next host breaks the claim, runs, and finalizes the lost run.
    wait_for(lambda: ls_task(env, "race")["lost"], timeout=30, what="the holder's run lost")
    assert on_host("host-c", [*args, "--", "true"], env).returncode == 0
    assert _last_status(env) == "success"
    statuses = [r["status"] for r in json.loads(
        subprocess.run([RUNWRAP, "history", "race", "--json"], env=env, capture_output=True).stdout
    )]  # fmt: skip
    assert statuses == ["success", "skipped", "lost"], statuses
    left = [n for n in os.listdir(claim.parent) if n.startswith("lock.")]
    assert left == [], left


def test_the_watcher_of_a_killed_runwrap_releases_its_claim(tmp_path):
    """The claim is a name, not a descriptor: the watcher removes it once the run is lost."""
    env, _ = fleet_env(tmp_path)
    claim = tmp_path / "root" / "tasks" / "race" / "lock.claim"
    args = [RUNWRAP, "-n", "race", "--lock", "claim", "--notify", "none", "--kill-grace", "0.2"]
    proc = subprocess.Popen([*args, "--", "sleep", "300"], env=env)
    try:
        # The watcher is forked once the job has run a second.
        wait_for(lambda: _children(proc.pid) >= 2, timeout=30, what="the watcher")
        assert claim.exists()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    wait_for(lambda: not claim.exists(), timeout=30, what="the claim released")
    assert subprocess.run([*args, "--", "true"], env=env).returncode == 0
    assert _last_status(env) == "success"  # ran at once: not skipped for a lease


def _children(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return len(f.read().split())
    except OSError:
        return 0
