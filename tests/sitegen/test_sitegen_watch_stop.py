"""`sitegen --watch` honours SIGTERM during its first build, and one OUT has one watcher."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from helpers.polling import wait_for
from helpers.runs import BIN
from helpers.sites import ENV, make_root

RUNS = 1000


def _pages(out: Path) -> int:
    return sum(1 for _ in (out / "tasks").glob("*/runs/*/index.html"))


@pytest.mark.parametrize("tasks", [1, 2], ids=["one task", "two tasks in workers"])
def test_sigterm_stops_the_first_build_mid_task(tmp_path: Path, tasks: int) -> None:
    root, out = tmp_path / "root", tmp_path / "site"
    make_root(root, tasks, RUNS)
    proc = subprocess.Popen(
        [str(BIN / "sitegen"), "--root", str(root), "--out", str(out), "--watch"],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: proc.poll() is not None or _pages(out) > 0, what="the first pages")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        output = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "stopped before the build was complete" in output, output
    assert "Traceback" not in output
    # Stopped within its task: not every page of it was made.
    assert _pages(out) < tasks * RUNS


def test_a_second_watcher_of_one_out_refuses_to_start(tmp_path: Path) -> None:
    root, out = tmp_path / "root", tmp_path / "site"
    make_root(root, 1, 3)
    argv = [str(BIN / "sitegen"), "--root", str(root), "--out", str(out), "--watch"]
    first = subprocess.Popen(argv, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: (out / "index.html").exists(), what="the first watcher's build")
        second = subprocess.run(argv, env=ENV, capture_output=True, text=True, timeout=60)
        assert second.returncode == 125, second
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert lines[0] == (
            f"sitegen: another sitegen --watch (pid {first.pid}) keeps {out} up to date; "
            "stop it first"
        )
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)
    # Once the first is gone, a watcher starts again.
    again = subprocess.Popen(argv, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(
            lambda: (
                again.poll() is not None
                or (out / ".sitegen" / "watch.lock").read_text() == f"{again.pid}\n"
            ),
            what="the next watcher",
        )
        assert again.poll() is None
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=60)
