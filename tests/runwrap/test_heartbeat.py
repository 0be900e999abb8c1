"""Heartbeat: silent jobs are stopped on time; live values and liveness reach the manifest."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import Root, pid_alive, wait_for


def live_manifest(root: Root, task: str) -> dict | None:
    found = [m for m in root.manifests_so_far(task) if m["status"] == "running" and m.get("pid")]
    return found[-1] if found else None


def test_a_silent_job_is_killed_after_the_heartbeat_timeout(root: Root, tmp_path: Path) -> None:
    pidfile = tmp_path / "gc.pid"
    # It beats twice, then hangs with a grandchild that ignores SIGTERM.
    job = (
        'echo "[progress]1" >> "$RUNWRAP_FEEDBACK"; sleep 0.1; echo "[progress]2" >> "$RUNWRAP_FEEDBACK"; '
        f"sh -c 'trap \"\" TERM; echo $$ > {pidfile}; while :; do sleep 0.05; done' & wait"
    )
    result = root.run(
        "-n", "hang", "--heartbeat-timeout", "0.6", "--kill-grace", "0.2", "--", "sh", "-c", job
    )
    assert result.returncode == 124
    m = root.manifest("hang")
    assert m["status"] == "timeout"
    assert m["reason"].startswith("killed after ") and m["reason"].endswith("without heartbeat")
    assert m["heartbeat_timeout_s"] == 0.6
    assert m["feedback"] == {"progress": "2"}
    assert m["heartbeat_at"] >= m["started_at"]
    wait_for(lambda: not pid_alive(int(pidfile.read_text())), timeout=5, what="grandchild gone")


def test_a_job_that_keeps_beating_is_not_killed(root: Root) -> None:
    job = 'for i in 1 2 3 4 5 6 7 8; do echo "[progress]$i" >> "$RUNWRAP_FEEDBACK"; sleep 0.1; done'
    result = root.run("-n", "busy", "--heartbeat-timeout", "0.5", "--", "sh", "-c", job)
    assert result.returncode == 0
    assert root.manifest("busy")["feedback"] == {"progress": "8"}


def test_touching_the_file_is_a_heartbeat(root: Root) -> None:
    job = 'for i in 1 2 3 4 5 6 7 8; do touch "$RUNWRAP_FEEDBACK"; sleep 0.1; done'
    assert (
        root.run("-n", "touch", "--heartbeat-timeout", "0.5", "--", "sh", "-c", job).returncode == 0
    )


def test_output_counts_as_heartbeat_only_when_asked(root: Root) -> None:
    job = "for i in 1 2 3 4 5 6 7 8; do echo line $i; sleep 0.1; done"
    assert (
        root.run("-n", "talk", "--heartbeat-timeout", "0.5", "--", "sh", "-c", job).returncode
        == 124
    )
    result = root.run(
        "-n", "talk2", "--heartbeat-timeout", "0.5", "--heartbeat-on-output", "--", "sh", "-c", job
    )
    assert result.returncode == 0
    assert root.manifest("talk2")["heartbeat_at"] is not None


def test_liveness_moves_through_running_silent_stalled(root: Root, tmp_path: Path) -> None:
    release = tmp_path / "release"
    job = f'echo "[info]started" >> "$RUNWRAP_FEEDBACK"; while [ ! -e {release} ]; do sleep 0.02; done'
    proc = root.start("-n", "live", "--heartbeat-timeout", "4", "--", "sh", "-c", job)
    seen: list[str] = []

    def saw(state: str) -> bool:
        m = live_manifest(root, "live")
        if m and (not seen or seen[-1] != m["liveness"]):
            seen.append(m["liveness"])
        return state in seen

    try:
        wait_for(lambda: saw("stalled"), timeout=10, interval=0.05, what="stalled")
    finally:
        release.touch()
        proc.wait(timeout=30)
    assert seen == ["running", "silent", "stalled"]
    final = root.manifest("live")
    assert final["status"] == "success" and final["liveness"] is None


def test_progress_is_seen_by_ls_within_two_seconds(root: Root, tmp_path: Path) -> None:
    release = tmp_path / "release"
    job = f'echo "[progress]40" >> "$RUNWRAP_FEEDBACK"; echo "[info]half way" >> "$RUNWRAP_FEEDBACK"; while [ ! -e {release} ]; do sleep 0.02; done'
    proc = root.start("-n", "prog", "--", "sh", "-c", job)
    try:
        # Polling for 2 seconds: that is the promise to users.
        wait_for(
            lambda: "40%" in root.run("ls").stdout,
            timeout=2.0,
            interval=0.1,
            what="40% in runwrap ls",
        )
        out = root.run("ls").stdout
        assert "half way" in out and "running" in out
        (task,) = json.loads(root.run("ls", "--json").stdout)
        assert task["running"][0]["feedback"] == {"progress": "40", "info": "half way"}
    finally:
        release.touch()
        proc.wait(timeout=30)


def test_the_final_feedback_survives_the_file_being_removed(root: Root) -> None:
    # The job waits until runwrap has put its value in the manifest, then removes the file.
    job = (
        'echo "[progress]100" >> "$RUNWRAP_FEEDBACK"; '
        "until grep -q '\"progress\"' manifest.json; do sleep 0.02; done; "
        'rm "$RUNWRAP_FEEDBACK"'
    )
    assert root.run("-n", "rm", "--", "sh", "-c", job).returncode == 0
    assert not (root.run_dir("rm") / "feedback.log").exists()
    assert root.manifest("rm")["feedback"] == {"progress": "100"}


def test_report_at_the_end_with_clear(root: Root) -> None:
    job = "printf '[progress]50\\n[info]working\\n[]\\n[result]12 rows\\n' > \"$RUNWRAP_FEEDBACK\""
    root.run("-n", "report", "--", "sh", "-c", job)
    assert root.manifest("report")["feedback"] == {"result": "12 rows"}


def test_feedback_placeholder_works_for_taskwatcher_scripts(root: Root) -> None:
    script = "import sys\nopen(sys.argv[2], 'a').write('[progress]77\\n')\n"
    root.run("-n", "tw", "--", sys.executable, "-c", script, "--feedback", "{feedback}")
    assert root.manifest("tw")["feedback"] == {"progress": "77"}
