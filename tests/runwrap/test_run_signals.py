"""Timeouts and signals: the whole process tree is stopped, and the run says why."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

from helpers.polling import wait_for
from helpers.runs import Root, pid_alive

# A grandchild that ignores SIGTERM and writes its pid where the test can find it.
STUBBORN_TREE = "sh -c 'trap \"\" TERM; echo $$ > {pidfile}; while :; do sleep 0.05; done' & wait"


def running_manifest(root: Root, task: str) -> dict | None:
    ids = root.run_ids(task)
    if not ids:
        return None
    try:
        m = root.manifest(task, ids[-1])
    except (OSError, ValueError):
        return None
    return m if m.get("pid") else None


def test_timeout_kills_a_tree_whose_grandchild_ignores_sigterm(root: Root, tmp_path: Path) -> None:
    pidfile = tmp_path / "gc.pid"
    job = STUBBORN_TREE.format(pidfile=pidfile)
    result = root.run("-n", "tree", "-t", "0.5", "--kill-grace", "0.3", "--", "sh", "-c", job)
    assert result.returncode == 124
    m = root.manifest("tree")
    assert m["status"] == "timeout" and m["reason"] == "timed out after 500 ms"
    assert m["timeout_s"] == 0.5
    grandchild = int(pidfile.read_text())
    wait_for(lambda: not pid_alive(grandchild), what="grandchild gone")


def test_sigterm_to_runwrap_is_passed_on_and_recorded_as_killed(root: Root) -> None:
    job = "trap 'echo got TERM; exit 0' TERM; echo ready; while :; do sleep 0.05; done"
    proc = root.start("-n", "fwd", "--", "sh", "-c", job)
    wait_for(lambda: running_manifest(root, "fwd"), what="job running")
    log = root.run_dir("fwd") / "stdout.log"
    wait_for(lambda: log.exists() and log.read_text() == "ready\n", what="the trap set")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    m = root.manifest("fwd")
    assert m["status"] == "killed"
    assert m["reason"] == "stopped: runwrap received SIGTERM and passed it on to the job"
    assert log.read_text() == "ready\ngot TERM\n"


def test_sigint_and_sighup_are_passed_on_too(root: Root) -> None:
    for signum in (signal.SIGINT, signal.SIGHUP):
        proc = root.start("-n", f"s{signum}", "--", "sleep", "30")
        wait_for(lambda s=signum: running_manifest(root, f"s{s}"), what="job running")
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == 128 + signum
        m = root.manifest(f"s{signum}")
        assert m["status"] == "killed" and m["signal"] == signal.Signals(signum).name


def test_sigkill_of_runwrap_leaves_a_lost_run_that_the_next_run_finalizes(root: Root) -> None:
    proc = root.start("-n", "crash", "--", "sleep", "30")
    m = wait_for(lambda: running_manifest(root, "crash"), what="job running")
    proc.kill()
    proc.wait(timeout=10)
    os.killpg(m["pgid"], signal.SIGKILL)  # the orphaned job itself
    ls = root.run("ls", "--json")
    (task,) = json.loads(ls.stdout)
    assert task["lost"] == [m["run_id"]]
    assert "lost" in root.run("ls").stdout
    assert root.run("-n", "crash", "--", "true").returncode == 0
    lost, ok = root.manifests("crash")
    assert lost["status"] == "lost" and "outcome is unknown" in lost["reason"]
    assert ok["status"] == "success"
    assert root.state("crash")["last_failure_id"] == lost["run_id"]


def test_a_reader_never_sees_a_partial_manifest(root: Root, tmp_path: Path) -> None:
    release = tmp_path / "release"
    job = (
        f"i=0; while [ ! -e {release} ]; do "
        'i=$((i+1)); echo "[progress]$i" >> $RUNWRAP_FEEDBACK; sleep 0.01; done'
    )
    proc = root.start("-n", "reader", "--", "sh", "-c", job)
    seen: list[str] = []
    errors: list[str] = []
    stop = threading.Event()

    def read_loop() -> None:
        while not stop.is_set():
            ids = root.run_ids("reader")
            if not ids:
                continue
            try:
                text = (root.run_dir("reader", ids[-1]) / "manifest.json").read_text()
            except FileNotFoundError:
                continue
            try:
                seen.append(json.loads(text)["status"])
            except ValueError as e:
                errors.append(f"{e}: {text[:80]!r}")

    reader = threading.Thread(target=read_loop)
    reader.start()
    try:
        wait_for(lambda: running_manifest(root, "reader"), what="job running")
        wait_for(lambda: len(seen) > 200, what="many reads")
        release.touch()
        assert proc.wait(timeout=30) == 0
        wait_for(lambda: seen and seen[-1] == "success", what="final manifest read")
    finally:
        stop.set()
        reader.join()
    assert errors == []
    assert "running" in seen
