"""`sitegen --watch` on a fresh machine: ROOT does not exist until cron's first tick.

The shipped systemd unit starts sitegen at boot; refusing to start there
made it restart in a loop. It waits for ROOT, says so once, and builds the
site when the first run makes ROOT.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from helpers.polling import wait_for
from helpers.runs import BIN
from helpers.sites import ENV, runwrap, sitegen


def _status(out: Path) -> dict:
    try:
        return json.loads((out / "status.json").read_text())
    except (OSError, ValueError):
        return {}


def test_watch_waits_for_a_missing_root_then_builds_when_a_run_makes_it(tmp_path) -> None:
    root = tmp_path / "var" / "lib" / "runwrap"  # not even its parent exists yet
    out = tmp_path / "site"
    log = tmp_path / "watch.log"
    with open(log, "w") as f:
        proc = subprocess.Popen(
            [str(BIN / "sitegen"), "--root", str(root), "--out", str(out), "--watch"],
            env=ENV,
            stdout=f,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "waiting for it" in log.read_text(), what="the waiting line")
        assert proc.poll() is None, log.read_text()  # still up: no restart loop
        assert not root.exists()  # waiting, not creating it (runwrap's owner makes it)
        assert runwrap(root, "first", "echo hello").returncode == 0
        state = wait_for(
            lambda: ((_status(out).get("tasks") or {}).get("first") or {}).get("last_run"),
            what="the site built from the first run",
        )
        assert state["status"] == "success"
        assert (out / "index.html").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=15)
    text = log.read_text()
    assert code == 0, text
    assert text.count("does not exist yet") == 1, text  # said once, not on every poll
    assert "Traceback" not in text


def test_watch_stops_cleanly_while_waiting(tmp_path) -> None:
    log = tmp_path / "watch.log"
    missing, out = str(tmp_path / "none"), str(tmp_path / "o")
    with open(log, "w") as f:
        proc = subprocess.Popen(
            [str(BIN / "sitegen"), "--root", missing, "--out", out, "--watch"],
            env=ENV,
            stdout=f,
            stderr=subprocess.STDOUT,
        )
    wait_for(lambda: "waiting for it" in log.read_text(), what="the waiting line")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0, log.read_text()


def test_a_one_shot_build_still_refuses_a_missing_root(tmp_path) -> None:
    result = sitegen("--root", str(tmp_path / "none"), "--out", str(tmp_path / "o"))
    assert result.returncode == 125
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr
