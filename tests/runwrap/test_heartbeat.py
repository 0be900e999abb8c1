"""Heartbeat: silent jobs are stopped on time; live values and liveness reach the manifest."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from runwrap.run.heartbeat import liveness

from helpers.polling import wait_for
from helpers.runs import Root, pid_alive


def live_manifest(root: Root, task: str) -> dict | None:
    found = [m for m in root.manifests_so_far(task) if m["status"] == "running" and m.get("pid")]
    return found[-1] if found else None


def test_a_silent_job_is_killed_after_the_heartbeat_timeout(root: Root, tmp_path: Path) -> None:
    pidfile = tmp_path / "gc.pid"
    # It beats twice, then hangs with a grandchild that ignores SIGTERM.
    job = (
        'echo "[progress]1" >> "$RUNWRAP_FEEDBACK"; echo "[progress]2" >> "$RUNWRAP_FEEDBACK"; '
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
    wait_for(lambda: not pid_alive(int(pidfile.read_text())), what="grandchild gone")


HEARTBEAT_TIMEOUT = "1"  # against a beat every 0.02 s: a wide margin


def race_a_twin(
    root: Root, tmp_path: Path, beat: str, *flags: str, twin_beat: str = ":"
) -> tuple[int, int]:
    """Exit codes of a job looping on `beat` and of a twin looping on `twin_beat`.

    Both have the same heartbeat timeout; the twin gets none of `flags`. The
    twin starts once the job runs, and the job stops only once the twin has
    ended: when the twin is killed for silence, the job has lived longer than
    the timeout too, and only its beats can have kept it alive.
    """
    release = tmp_path / "release"
    loop = "i=0; while [ ! -e {release} ]; do i=$((i+1)); {beat}; sleep 0.02; done"
    timeout = ("--heartbeat-timeout", HEARTBEAT_TIMEOUT)
    job = loop.format(release=release, beat=beat)
    proc = root.start("-n", "job", *timeout, *flags, "--", "sh", "-c", job)
    try:
        wait_for(lambda: live_manifest(root, "job"), what="the job running")
        twin = loop.format(release=release, beat=twin_beat)
        twin_code = root.run("-n", "twin", *timeout, "--", "sh", "-c", twin, timeout=30).returncode
    finally:
        release.touch()
    return proc.wait(timeout=30), twin_code


def test_a_job_that_keeps_beating_outlives_its_heartbeat_timeout(
    root: Root, tmp_path: Path
) -> None:
    beat = 'echo "[progress]$i" >> "$RUNWRAP_FEEDBACK"'
    assert race_a_twin(root, tmp_path, beat) == (0, 124)
    assert root.manifest("twin")["reason"].endswith("without heartbeat")
    job = root.manifest("job")
    assert job["status"] == "success" and int(job["feedback"]["progress"]) > 1


def test_touching_the_file_is_a_heartbeat(root: Root, tmp_path: Path) -> None:
    assert race_a_twin(root, tmp_path, 'touch "$RUNWRAP_FEEDBACK"') == (0, 124)


def test_output_counts_as_heartbeat_only_when_asked(root: Root, tmp_path: Path) -> None:
    # The twin prints just the same, without --heartbeat-on-output: it is killed.
    talk = "echo line $i"
    assert race_a_twin(root, tmp_path, talk, "--heartbeat-on-output", twin_beat=talk) == (0, 124)
    assert root.manifest("job")["heartbeat_at"] is not None
    assert root.manifest("twin")["heartbeat_at"] is None


@pytest.mark.parametrize(
    ("share", "state"),
    [(0.0, "running"), (0.24, "running"), (0.25, "silent"), (0.49, "silent"), (0.5, "stalled")],
)
def test_liveness_is_the_age_of_the_last_beat_as_a_share_of_the_timeout(
    share: float, state: str
) -> None:
    assert liveness(share * 4, 4) == state


def test_without_a_heartbeat_timeout_a_job_is_never_silent() -> None:
    assert liveness(3600.0, None) == "running"


def test_a_running_job_goes_silent_then_stalled_in_its_manifest(root: Root, tmp_path: Path) -> None:
    # The job ends by itself once runwrap has called it stalled, long before the kill at 4 s.
    script = tmp_path / "job.sh"
    script.write_text(
        'until grep -q \'"liveness": *"stalled"\' manifest.json; do sleep 0.02; done\n'
    )
    proc = root.start("-n", "live", "--heartbeat-timeout", "4", "--", "sh", str(script))
    seen: list[str] = []

    def watch() -> bool:
        m = live_manifest(root, "live")
        if m and m["liveness"] not in seen[-1:]:
            seen.append(m["liveness"])
        return proc.poll() is not None

    wait_for(watch, interval=0.05, what="the job to see itself stalled")
    assert proc.returncode == 0
    # Its exit 0 says runwrap wrote "stalled"; of the states this poll caught, none went back.
    assert seen and seen == [s for s in ("running", "silent", "stalled") if s in seen]
    final = root.manifest("live")
    assert final["status"] == "success" and final["liveness"] is None


def test_progress_and_info_are_shown_by_ls_while_the_job_runs(root: Root, tmp_path: Path) -> None:
    release = tmp_path / "release"
    job = f'echo "[progress]40" >> "$RUNWRAP_FEEDBACK"; echo "[info]half way" >> "$RUNWRAP_FEEDBACK"; while [ ! -e {release} ]; do sleep 0.02; done'
    proc = root.start("-n", "prog", "--", "sh", "-c", job)
    try:
        wait_for(lambda: "40%" in root.run("ls").stdout, interval=0.1, what="40% in runwrap ls")
        out = root.run("ls").stdout
        assert "half way" in out and "running" in out
        (task,) = json.loads(root.run("ls", "--json").stdout)
        assert task["running_runs"][0]["feedback"] == {"progress": "40", "info": "half way"}
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
