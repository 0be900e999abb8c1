"""Links a job makes in its own run directory never lead runwrap outside it.

A feedback.log replaced by a symlink to a file outside ROOT must not bring
that file's lines into the manifest; a stdout.log or stderr.log replaced by
a symlink must not make runwrap read or truncate the link's target.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers.faults import figure, kill_marked, mark_env, new_mark, wait_gone
from helpers.runs import Root

SECRET = b"[secret]the-outside-file\n[progress]99\n"


def test_feedback_symlink_is_not_followed(root: Root, tmp_path: Path) -> None:
    outside = tmp_path / "outside-feedback"
    outside.write_bytes(SECRET)
    mark = new_mark()
    root.env = mark_env(root.env, mark)
    job = f'echo "[progress]1" > "$RUNWRAP_FEEDBACK"; sleep 0.3; ln -sf {outside} "$RUNWRAP_FEEDBACK"; sleep 1.5; : {mark}'
    try:
        result = root.run("-n", "t", "--", "sh", "-c", job)
        wait_gone(mark)
    finally:
        kill_marked(mark)
    assert result.returncode == 0
    manifest = (root.run_dir("t") / "manifest.json").read_text()
    assert "the-outside-file" not in manifest
    assert outside.read_bytes() == SECRET
    figure("job-made links: a feedback.log symlinked outside ROOT is not read into the manifest")


def test_feedback_fifo_never_blocks(root: Root) -> None:
    mark = new_mark()
    root.env = mark_env(root.env, mark)
    job = f'rm -f "$RUNWRAP_FEEDBACK"; mkfifo "$RUNWRAP_FEEDBACK"; sleep 1.5; : {mark}'
    try:
        result = root.run("-n", "t", "--timeout", "10", "--", "sh", "-c", job, timeout=30)
        wait_gone(mark)
    finally:
        kill_marked(mark)
    assert (result.returncode, result.stderr) == (0, "")
    assert root.manifest("t")["status"] == "success"
    figure("job-made links: a feedback.log replaced by a FIFO never blocks runwrap")


@pytest.mark.parametrize("log", ["stdout.log", "stderr.log"])
@pytest.mark.parametrize("over_limit", [False, True])
def test_log_symlink_target_is_never_touched(
    root: Root, tmp_path: Path, log: str, over_limit: bool
) -> None:
    outside = tmp_path / "outside-log"
    content = b"precious\n" * 400_000  # 3.6 MB, over the limit itself
    outside.write_bytes(content)
    before = os.stat(outside)
    mark = new_mark()
    root.env = mark_env(root.env, mark)
    fd = 1 if log == "stdout.log" else 2
    size = 3_000_000 if over_limit else 1000
    job = f"head -c {size} /dev/zero >&{fd}; rm {log}; ln -s {outside} {log}; : {mark}"
    try:
        result = root.run("-n", "t", "--max-output", "1M", "--", "sh", "-c", job)
        wait_gone(mark)
    finally:
        kill_marked(mark)
    assert result.returncode == 0, result.stderr
    assert outside.read_bytes() == content
    after = os.stat(outside)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    manifest = root.manifest("t")
    assert manifest["status"] == "success"
    figure(
        f"job-made links: {log} replaced by a symlink to a file outside ROOT "
        f"({'over' if over_limit else 'under'} --max-output): the target is neither read "
        "nor truncated"
    )
