"""The build cache file a one-shot update reads and writes whole after one run of a task
(OUT/.sitegen/tasks/<task>.pack) grows with the task's history, not with what each failed
run said on stderr (attack4b).

When what changed moved from a changes.json beside each failed run's page into that file,
every update of a task loaded and rewrote every failed run's new stderr lines (up to 50
of 500 characters each, whatchanged.SHOWN_LINES), though it renders a page or two: 5,000
failed runs ending in a 20-line traceback were 11 MB, about 70 ms of marshal and SHA-1
and an 11 MB write at each cron update of that task. Only the newest runs' are kept now.
"""

from __future__ import annotations

from pathlib import Path

from helpers.sites import sitegen, write_run


def _pack(out: Path, task: str) -> int:
    return (out / ".sitegen" / "tasks" / f"{task}.pack").stat().st_size


def _said(n: int) -> bytes:
    """A 20-line traceback of words a mask keeps: new on stderr at every failure."""
    return "".join(
        f"  File handler_{chr(97 + n % 26)}{chr(97 + i)}.py in process_{'q' * 60}\n"
        for i in range(20)
    ).encode()


def test_a_failing_tasks_pack_does_not_carry_every_failures_stderr(tmp_path: Path):
    """What a loud task's failures said costs its pack the same at 20 failures and at 60:
    the what changed of its newest runs only (cache.KEPT_CHANGES), not of every one."""
    root, out = tmp_path / "root", tmp_path / "out"
    for failed in (20, 60):
        for loud in (False, True):
            task = f"{'loud' if loud else 'quiet'}-{failed}"
            for n in range(3):
                write_run(root, task, n, stderr=b"starting\n")
            for n in range(3, 3 + failed):
                write_run(root, task, n, "failed", stderr=_said(n) if loud else b"starting\n")
    built = sitegen("--root", str(root), "--out", str(out))
    assert built.returncode == 0, built.stderr
    last = sorted((out / "tasks" / "loud-60" / "runs").iterdir())[-1] / "index.html"
    assert "New on stderr" in last.read_text()  # what changed holds the lines
    extra = {f: _pack(out, f"loud-{f}") - _pack(out, f"quiet-{f}") for f in (20, 60)}
    assert extra[20] > 0, extra  # the newest failures' lines are there
    # All 60 failures' lines were 3 times all 20's; the newest runs' are the same.
    assert extra[60] < 1.2 * extra[20], extra
