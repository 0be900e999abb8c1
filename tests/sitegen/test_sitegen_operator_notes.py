"""What operators said, on the dashboard through nginx in Chromium: a muted, acknowledged
task's row says so, and the row follows an unmute live (status.json), without a reload."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from helpers.polling import wait_for
from helpers.runs import BIN
from helpers.serving import nginx_serving
from helpers.sites import ENV, runwrap, sitegen


def operator(root: Path, *args: str) -> None:
    env = {**ENV, "LOGNAME": "alice"}
    done = subprocess.run(
        [str(BIN / "runwrap"), "--root", str(root), *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.fixture
def world():
    base = Path(tempfile.mkdtemp(prefix="sitegen-notes-"))
    base.chmod(0o755)  # nginx's workers read it
    yield base
    shutil.rmtree(base, ignore_errors=True)


def row_text(browser) -> str:
    rows = browser.find_elements("css selector", 'tr.task[data-task="backup"] th')
    return rows[0].text if rows else ""


def test_a_muted_acknowledged_task_says_so_on_the_dashboard_and_follows_an_unmute(world, browser):
    root, out = world / "root", world / "site"
    assert runwrap(root, "backup", "exit 2").returncode == 2
    operator(root, "mute", "backup", "--for", "2h", "--reason", "moving the NAS")
    operator(root, "ack", "backup", "--reason", "ticket 123")
    assert sitegen("--root", str(root), "--out", str(out)).returncode == 0
    os.chmod(out, 0o755)
    with nginx_serving(out, world / "nginx") as url:
        browser.get(url)
        text = wait_for(lambda: row_text(browser), what="the row")
        assert "muted until" in text and "by alice: moving the NAS" in text
        assert "acknowledged by alice at" in text and "ticket 123" in text
        operator(root, "unmute", "backup")
        assert sitegen("--root", str(root), "--out", str(out)).returncode == 0
        # The page polls status.json every 5 s: the row follows without a reload.
        wait_for(lambda: "muted until" not in row_text(browser), 30, 0.2, "the live unmute")
        assert "acknowledged by alice" in row_text(browser)
