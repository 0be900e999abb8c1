"""Hosts without shared storage (issue 21): each keeps its own ROOT and pushes it with real
rsync, by the crontab line of docs/engines.md, into ROOT/hosts/<host>/ of one gathering
ROOT, which `runwrap ls` and sitegen read as tasks named <task>@<host>.

Hosts are namespaces (their own hostname, PID space and /proc), each with its own ROOT
directory: `$(hostname)` in the documented line names the copy.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers.faults import scale
from helpers.hosts import Host, require_namespaces
from helpers.polling import wait_for
from helpers.runs import RUNWRAP, SITEGEN

DOCS = Path(__file__).resolve().parents[2] / "docs" / "engines.md"
SLACK = 30.0  # a loaded machine: the deadline of a poll, never a timed assertion


def require_rsync() -> None:
    """Skip without rsync (fail under CI=true: scripts/install-system-deps installs it)."""
    if subprocess.run(["sh", "-c", "command -v rsync"], capture_output=True).returncode:
        if os.environ.get("CI") == "true":
            pytest.fail("rsync is missing: scripts/install-system-deps installs it")
        pytest.skip("rsync is missing (scripts/install-system-deps installs it)")


def push_command(root: Path, gather: Path, every: int, host: str = "$(hostname)") -> str:
    """The documented crontab line's command, for this host's ROOT and this gathering ROOT."""
    line = next(
        line for line in DOCS.read_text().splitlines() if re.match(r"\* \* \* \* \* echo ", line)
    )
    command = line.split(" ", 5)[5]
    command = command.replace("echo 60 >", f"echo {every} >")
    command = command.replace("gather.example.com:/srv/runwrap/", f"{gather}/")
    command = command.replace("/var/lib/runwrap", str(root))
    return command.replace("$(hostname)", host)


def host_env(tmp_path: Path, host: str) -> tuple[dict[str, str], Path]:
    root = tmp_path / host
    root.mkdir()
    return {**os.environ, "RUNWRAP_ROOT": str(root)}, root


def gathering(tmp_path: Path) -> tuple[dict[str, str], Path]:
    gather = tmp_path / "gather"
    (gather / "hosts").mkdir(parents=True)
    return {**os.environ, "RUNWRAP_ROOT": str(gather)}, gather


def ls_json(env: dict[str, str]) -> dict[str, dict]:
    result = subprocess.run(
        [RUNWRAP, "ls", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return {t["task"]: t for t in json.loads(result.stdout)}


def sitegen_status(gather: Path, out: Path) -> dict:
    result = subprocess.run(
        [SITEGEN, "--root", str(gather), "--out", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads((out / "status.json").read_text())


def tree(top: Path) -> dict[str, tuple]:
    """Every path under `top` with what a write would change (kind, size, mtime, inode)."""
    found = {}
    for path, dirs, files in os.walk(top):
        for name in dirs + files:
            st = os.lstat(os.path.join(path, name))
            found[os.path.relpath(os.path.join(path, name), top)] = (
                st.st_mode,
                st.st_size,
                st.st_mtime_ns,
                st.st_ino,
            )
    return found


def test_one_dashboard_from_several_hosts_roots(tmp_path):
    require_namespaces()
    require_rsync()
    gather_env, gather = gathering(tmp_path)
    runs = {}
    for host, script in (
        ("web01", "-n backup -- echo one && {rw} -n report -- sh -c 'exit 3'"),
        ("web02", "-n backup -- echo two"),
    ):
        env, root = host_env(tmp_path, host)
        body = f"{RUNWRAP} {script.format(rw=RUNWRAP)}; {push_command(root, gather, 60)}"
        done = Host(host, body, env).wait()
        assert done.returncode == 0, done.stderr
        runs[host] = sorted(os.listdir(root / "tasks" / "backup" / "runs"))
    os.unlink(gather / "hosts" / "web02" / "tasks" / "backup" / "state.json")  # folded anew
    subprocess.run([RUNWRAP, "-n", "local", "--", "true"], env=gather_env, check=True)
    before = tree(gather / "hosts")

    listed = ls_json(gather_env)
    assert sorted(listed) == ["backup@web01", "backup@web02", "local", "report@web01"]
    assert listed["backup@web01"]["shown"] == "ok"
    assert listed["backup@web01"]["last_run"]["run_id"] == runs["web01"][0]
    assert listed["backup@web02"]["last_run"]["run_id"] == runs["web02"][0]
    assert listed["report@web01"]["shown"] == "failing"
    assert listed["backup@web02"]["host"] == "web02"
    by_host = subprocess.run(
        [RUNWRAP, "ls", "--host", "web02"], env=gather_env, capture_output=True, text=True
    )
    assert by_host.returncode == 0 and "backup@web02" in by_host.stdout
    assert "web01" not in by_host.stdout

    out = tmp_path / "site"
    status = sitegen_status(gather, out)
    assert sorted(status["tasks"]) == sorted(listed)
    assert status["tasks"]["report@web01"]["shown"] == "failing"
    assert status["tasks"]["backup@web02"]["host"] == "web02"
    dashboard = (out / "index.html").read_text()
    assert "backup@web01" in dashboard and "backup@web02" in dashboard
    run_page = out / "tasks" / "backup@web02" / "runs" / runs["web02"][0] / "index.html"
    assert "two" in run_page.read_text()
    shown = subprocess.run(
        [RUNWRAP, "show", "backup@web01"], env=gather_env, capture_output=True, text=True
    )
    assert shown.returncode == 0 and runs["web01"][0] in shown.stdout
    # The readers wrote nothing into the copies (rsync's to overwrite): not even the
    # state.json they folded again, nor a lock file.
    assert tree(gather / "hosts") == before


def test_a_host_that_stops_pushing_shows_its_running_run_lost_and_itself_silent(tmp_path):
    require_namespaces()
    require_rsync()
    gather_env, gather = gathering(tmp_path)
    env, root = host_env(tmp_path, "web01")
    lease, every = 1.0, 2
    push = push_command(root, gather, every)
    script = (
        f"{{ {RUNWRAP} -n long --lease {lease:g}s -- sleep 600 & }}; "
        f"while :; do {push}; sleep 0.2; done"
    )
    host = Host("web01", script, env)
    try:

        def running() -> dict | None:
            task = ls_json(gather_env).get("long@web01")
            return task["running_runs"][0] if task and task["running_runs"] else None

        run = wait_for(running, timeout=SLACK, what="the copy of web01's run")
        # A copy of a run still going: running, with its lease's age, never a pid or
        # liveness word from another host; it stays so while its lease keeps arriving.
        assert run["status"] == "running" and run["pid"] is None and run["liveness"] is None
        assert run["lease_age_s"] is not None
        pushed = root / "pushed"
        first = os.stat(pushed).st_mtime
        wait_for(
            lambda: os.stat(pushed).st_mtime > first + lease * 3,
            timeout=SLACK,
            what="pushes over three leases",
        )
        wait_for(
            lambda: os.stat(gather / "hosts" / "web01" / "pushed").st_mtime > first + lease * 3,
            timeout=SLACK,
            what="those pushes to arrive",
        )
        task = ls_json(gather_env)["long@web01"]
        assert task["running"] == [run["run_id"]] and task["lost"] == []
        quiet = subprocess.run([RUNWRAP, "ls"], env=gather_env, capture_output=True, text=True)
        assert "no push from" not in quiet.stdout

        host.kill()  # powered off: its run, its renewals and its pushes stop at once
        last_push = os.stat(gather / "hosts" / "web01" / "pushed").st_mtime
        lost = wait_for(
            lambda: ls_json(gather_env)["long@web01"]["lost"], timeout=SLACK, what="lost"
        )
        assert lost == [run["run_id"]]
        # Not before its lease lapsed (one push interval after the last push, then the
        # lease and a half): the copy is judged as of its push.
        assert time.time() >= last_push + every
        status = sitegen_status(gather, tmp_path / "site")
        assert status["tasks"]["long@web01"]["lost"] == [run["run_id"]]
        assert status["tasks"]["long@web01"]["running"] == []
        line = wait_for(
            lambda: [
                s
                for s in subprocess.run(
                    [RUNWRAP, "ls"], env=gather_env, capture_output=True, text=True
                ).stdout.splitlines()
                if s.startswith("no push from web01 since")
            ],
            timeout=SLACK,
            what="web01 reported silent",
        )
        assert "its running runs read as lost" in line[0]
        status = sitegen_status(gather, tmp_path / "site")
        assert any("no push from web01" in s for s in status["silent_hosts"])
    finally:
        host.stop()


@pytest.mark.parametrize("delay", [True, False], ids=["delay-updates", "plain-rsync"])
def test_a_run_copied_mid_write_is_never_shown_half(tmp_path, delay):
    """A push frozen (SIGSTOP) while it copies a finished run's big log: with the documented
    --delay-updates the copy still shows the run as the last push left it, whole; plain
    `rsync -a` shows it half (its final manifest beside the old log), which is why. The
    documented way is tried FAULTS_SCALE times, frozen after a different share of the log."""
    require_namespaces()
    require_rsync()
    gather_env, gather = gathering(tmp_path)
    env, root = host_env(tmp_path, "web01")
    push = push_command(root, gather, 60, host="web01")
    if not delay:
        push = push.replace(" --delay-updates", "")
    rounds = scale() if delay else 1
    for i in range(rounds):
        frozen_at = 1_000_000 + (i * 7_919_000) % 20_000_000  # bytes of the log copied
        whole, seen = frozen_push(
            tmp_path / f"go{i}", env, root, gather_env, gather, push, frozen_at
        )
        if delay:
            assert whole, seen
        else:
            assert not whole, seen  # the final manifest beside the old log: half a run
            assert seen["status"] == "success" and seen["stdout_bytes"] > seen["log"]
    way = "--delay-updates" if delay else "plain rsync -a"
    print(f"{way}: {rounds} pushes frozen mid-copy, {rounds if delay else 0} showed a whole run")


def frozen_push(go, env, root, gather_env, gather, push, frozen_at) -> tuple[bool, dict]:
    """One round: a run copied while it runs, then finished with a 24 MB log, then pushed
    again and frozen once `frozen_at` bytes of the log are across; (whether the copy
    showed a whole run while frozen, what it showed). The push then completes."""
    job = f"while [ ! -e {go} ]; do sleep 0.05; done; yes 0123456789abcdef | head -c 24000000"
    host = Host("web01", f"{RUNWRAP} -n big -- sh -c {shlex.quote(job)}", env)
    try:
        before = set(ls_json(gather_env).get("big@web01", {}).get("running", []))
        wait_for(
            lambda: list((root / "tasks" / "big" / "open").glob("2*")),
            timeout=SLACK,
            what="the run to start",
        )
        subprocess.run(["sh", "-c", push], check=True, timeout=120)
        copied = ls_json(gather_env)["big@web01"]
        (run_id,) = set(copied["running"]) - before
        go.touch()
        assert host.wait(timeout=120).returncode == 0
    finally:
        host.stop()
    run = gather / "hosts" / "web01" / "tasks" / "big" / "runs" / run_id
    old_log = (run / "stdout.log").read_bytes()
    slow = push.replace("rsync -a", "rsync -a --bwlimit=4000")  # about 6 s for the log
    pusher = subprocess.Popen(["sh", "-c", slow], start_new_session=True)
    try:
        wait_for(
            lambda: any(
                p.name.startswith(".stdout.log.") and p.stat().st_size > frozen_at
                for p in run.iterdir()
            ),
            timeout=SLACK,
            interval=0.005,
            what="the log partly copied",
        )
        os.killpg(pusher.pid, signal.SIGSTOP)
        manifest = json.loads((run / "manifest.json").read_bytes())
        log = (run / "stdout.log").read_bytes()
        listed = ls_json(gather_env)["big@web01"]
        status = sitegen_status(gather, go.parent / "site")["tasks"]["big@web01"]
    finally:
        os.killpg(pusher.pid, signal.SIGCONT)
        pusher.wait(timeout=120)
    assert pusher.returncode == 0
    seen = {
        "status": manifest["status"],
        "stdout_bytes": manifest.get("stdout_bytes"),
        "log": len(log),
        "ls_running": listed["running"],
        "site_running": status["running"],
    }
    # Whole: the last push's run (running, its old log, on every surface), or the final one.
    whole = (
        manifest["status"] == "running"
        and log == old_log
        and listed["running"] == status["running"] == [run_id]
    ) or manifest.get("stdout_bytes") == len(log)
    manifest = json.loads((run / "manifest.json").read_bytes())
    assert manifest["status"] == "success"
    assert manifest["stdout_bytes"] == (run / "stdout.log").stat().st_size
    done = ls_json(gather_env)["big@web01"]
    assert run_id not in done["running"] and done["last_run"]["run_id"] == run_id
    return whole, seen


def test_sitegen_watch_follows_the_pushes(tmp_path):
    """`sitegen --watch` over a gathering ROOT polls the copies (its inotify watches are
    on ROOT/tasks): a push's new run reaches status.json without another command."""
    require_rsync()
    _gather_env, gather = gathering(tmp_path)
    env, root = host_env(tmp_path, "web01")
    push = push_command(root, gather, 60, host="web01")
    subprocess.run([RUNWRAP, "-n", "a", "--", "true"], env=env, check=True)
    subprocess.run(["sh", "-c", push], check=True, timeout=120)
    out = tmp_path / "site"
    watch = subprocess.Popen(
        [SITEGEN, "--root", str(gather), "--out", str(out), "--watch", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:

        def tasks() -> dict:
            try:
                return json.loads((out / "status.json").read_text())["tasks"]
            except (OSError, ValueError):
                return {}

        wait_for(lambda: "a@web01" in tasks(), timeout=SLACK, what="the first build")
        subprocess.run([RUNWRAP, "-n", "b", "--", "false"], env=env, capture_output=True)
        subprocess.run(["sh", "-c", push], check=True, timeout=120)
        seen = wait_for(lambda: tasks().get("b@web01"), timeout=SLACK, what="the pushed run")
        assert seen["shown"] == "failing"
    finally:
        watch.terminate()
        watch.wait(timeout=60)
