"""One run from start to end: status, exit code, logs, environment, artifacts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from helpers.runs import Root


def test_success_is_recorded_and_runwrap_stays_silent(root: Root) -> None:
    result = root.run("-n", "hello", "--", "sh", "-c", "echo out; echo err >&2")
    assert result.returncode == 0
    assert result.stdout == "" and result.stderr == ""
    m = root.manifest("hello")
    assert m["status"] == "success" and m["exit_code"] == 0 and m["signal"] is None
    assert m["command"] == ["sh", "-c", "echo out; echo err >&2"]
    assert m["schema"] == 1 and m["task"] == "hello" and m["run_id"] == root.run_ids("hello")[0]
    assert m["started_at"].endswith("Z") and m["ended_at"] >= m["started_at"]
    assert m["duration_s"] >= 0 and m["pid"] is None
    run = root.run_dir("hello")
    assert (run / "stdout.log").read_text() == "out\n"
    assert (run / "stderr.log").read_text() == "err\n"
    assert m["stdout_bytes"] == 4 and m["stderr_bytes"] == 4


def test_exit_status_is_passed_through(root: Root) -> None:
    result = root.run("-n", "three", "--", "sh", "-c", "exit 3")
    assert result.returncode == 3
    m = root.manifest("three")
    assert m["status"] == "failed" and m["exit_code"] == 3
    assert m["reason"] == "exited with status 3"


def test_job_killed_by_a_signal_exits_128_plus_n(root: Root) -> None:
    result = root.run("-n", "sig", "--", "sh", "-c", "kill -KILL $$")
    assert result.returncode == 128 + 9
    m = root.manifest("sig")
    assert m["status"] == "killed" and m["signal"] == "SIGKILL" and m["exit_code"] is None


def test_default_name_is_the_command_basename(root: Root) -> None:
    assert root.run("--", "/bin/true").returncode == 0
    assert root.manifest("true")["status"] == "success"


def test_job_runs_in_its_run_directory_with_runwrap_variables(root: Root) -> None:
    script = (
        'pwd; echo "$RUNWRAP_TASK|$RUNWRAP_RUN_ID|$RUNWRAP_RUN_DIR|$RUNWRAP_ROOT|$RUNWRAP_FEEDBACK"'
    )
    root.run("-n", "env", "--", "sh", "-c", script)
    m = root.manifest("env")
    run = root.run_dir("env")
    cwd, values = (run / "stdout.log").read_text().splitlines()
    assert Path(cwd).resolve() == run.resolve()
    assert values.split("|") == [
        "env",
        m["run_id"],
        str(run),
        str(root.path),
        str(run / "feedback.log"),
    ]


def test_placeholders_in_arguments_are_replaced(root: Root) -> None:
    root.run(
        "-n", "ph", "--", "sh", "-c", 'echo "$1 $2"', "sh", "{run_dir}", "--feedback={feedback}"
    )
    run = root.run_dir("ph")
    assert (run / "stdout.log").read_text() == f"{run} --feedback={run / 'feedback.log'}\n"


def test_files_left_by_the_job_are_artifacts(root: Root, tmp_path: Path) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("not an artifact")
    script = f"echo hi > a.txt; mkdir sub; printf 12345 > sub/b.bin; ln -s {secret} link"
    root.run("-n", "art", "--", "sh", "-c", script)
    artifacts = root.manifest("art")["artifacts"]
    assert artifacts == [
        {"name": "a.txt", "size": 3},
        {"name": "link", "size": None, "symlink": True},
        {"name": "sub/b.bin", "size": 5},
    ]


def test_a_relative_program_path_means_the_callers_directory(root: Root) -> None:
    script = root.cwd / "job.sh"
    script.write_text("#!/bin/sh\necho ran\n")
    script.chmod(0o755)
    assert root.run("-n", "rel", "--", "./job.sh").returncode == 0
    assert (root.run_dir("rel") / "stdout.log").read_text() == "ran\n"


def test_command_not_found_is_recorded_as_failed_127(root: Root) -> None:
    result = root.run("-n", "typo", "--", "no-such-command-xyz")
    assert result.returncode == 127
    m = root.manifest("typo")
    assert m["status"] == "failed" and m["exit_code"] == 127
    assert m["reason"] == "command not found: no-such-command-xyz"
    assert root.state("typo")["status"] == "failed"


def test_command_not_executable_is_recorded_as_failed_126(root: Root) -> None:
    script = root.cwd / "noexec.sh"
    script.write_text("echo never\n")
    result = root.run("-n", "noexec", "--", str(script))
    assert result.returncode == 126
    m = root.manifest("noexec")
    assert m["status"] == "failed" and m["exit_code"] == 126
    assert m["reason"].startswith("cannot execute ")


def test_labels_are_kept(root: Root) -> None:
    root.run("-n", "lab", "-l", "info1=nightly", "--label", "env=prod", "--", "true")
    assert root.manifest("lab")["labels"] == {"info1": "nightly", "env": "prod"}


def test_fail_on_stderr_makes_a_clean_exit_a_failure(root: Root) -> None:
    result = root.run("-n", "noisy", "--fail-on-stderr", "--", "sh", "-c", "echo oops >&2")
    assert result.returncode == 1
    m = root.manifest("noisy")
    assert m["status"] == "failed" and m["exit_code"] == 0
    assert m["reason"] == "wrote 5 bytes to stderr (--fail-on-stderr)"
    root.run("-n", "terse", "--fail-on-stderr", "--", "sh", "-c", "printf x >&2")
    assert root.manifest("terse")["reason"] == "wrote 1 byte to stderr (--fail-on-stderr)"
    root.run("-n", "quiet", "--fail-on-stderr", "--", "sh", "-c", "echo fine")
    assert root.manifest("quiet")["status"] == "success"


def test_retries_keep_every_attempt(root: Root, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    script = (
        f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; [ $n -ge 3 ]"
    )
    result = root.run(
        "-n", "flaky", "--retries", "3", "--retry-delay", "0.05", "--", "sh", "-c", script
    )
    assert result.returncode == 0
    m = root.manifest("flaky")
    assert m["status"] == "success"
    assert [a["status"] for a in m["attempts"]] == ["failed", "failed", "success"]
    assert [a["attempt"] for a in m["attempts"]] == [1, 2, 3]
    assert len(root.run_ids("flaky")) == 1


def test_retries_give_up_after_n(root: Root) -> None:
    result = root.run(
        "-n", "down", "--retries", "1", "--retry-delay", "0", "--", "sh", "-c", "exit 4"
    )
    assert result.returncode == 4
    m = root.manifest("down")
    assert m["status"] == "failed" and len(m["attempts"]) == 2


def test_max_output_keeps_start_and_end(root: Root) -> None:
    # 3 MiB of numbered lines against a 2 MiB cap: the first and last lines survive.
    job = (
        "import sys\n"
        "for i in range(300000): sys.stdout.write(f'{i:09d}\\n')\n"
        "sys.stdout.write('THE END\\n')\n"
    )
    result = root.run("-n", "big", "--max-output", "2M", "--", sys.executable, "-c", job)
    assert result.returncode == 0
    log = (root.run_dir("big") / "stdout.log").read_bytes()
    assert log.startswith(b"000000000\n")
    assert log.endswith(b"THE END\n")
    assert b"bytes of output dropped here" in log
    assert 2 * 1024 * 1024 <= len(log) < 2 * 1024 * 1024 + 200
    m = root.manifest("big")
    total = 300000 * 10 + 8
    assert m["output_truncated"]["stdout"] == total - 2 * 1024 * 1024
    assert m["stdout_bytes"] == len(log)


def test_state_counts_consecutive_failures(root: Root) -> None:
    root.run("-n", "t", "--", "true")
    first = root.state("t")
    assert first["status"] == "success" and first["consecutive_failures"] == 0
    root.run("-n", "t", "--", "false")
    root.run("-n", "t", "--", "false")
    state = root.state("t")
    assert state["status"] == "failed" and state["consecutive_failures"] == 2
    failed_runs = [m for m in root.manifests("t") if m["status"] == "failed"]
    assert state["since"] == failed_runs[0]["started_at"]
    assert state["last_run_id"] == root.run_ids("t")[-1]


def test_stdin_is_passed_on(root: Root) -> None:
    result = root.run("-n", "cat", "--", "cat", input="piped\n")
    assert result.returncode == 0
    assert (root.run_dir("cat") / "stdout.log").read_text() == "piped\n"


def test_runwrap_can_run_as_a_module(root: Root) -> None:
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "runwrap", "-n", "mod", "--", "true"],
        env=root.env,
        capture_output=True,
        text=True,
        cwd=os.fspath(root.cwd),
    )
    assert result.returncode == 0, result.stderr
    assert root.manifest("mod")["status"] == "success"


def test_an_open_directory_made_a_link_still_records_every_run(root: Root, tmp_path: Path) -> None:
    """open/ made a symlink by someone: the unnamed marker is refused, the named one is
    written through the link as before, and each run is recorded and its marker cleared."""
    assert root.run("-n", "t", "--", "true").returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    opened = root.task_dir("t") / "open"
    opened.rmdir()
    opened.symlink_to(elsewhere)
    for _ in range(2):
        result = root.run("-n", "t", "--", "true")
        assert result.returncode == 0 and result.stderr == "", result.stderr
    assert [m["status"] for m in root.manifests("t")] == ["success"] * 3
    assert list(elsewhere.iterdir()) == []
