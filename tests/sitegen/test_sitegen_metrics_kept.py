"""OUT/metrics' lines kept for the next process (sitegen/publish/metrics.py, metrics.pack):
a one-shot update after one run makes that task's lines again and takes the others'
as the last process made them, only while their record and lateness are the same."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sitegen.publish.packed import pack, unpack

from helpers.sites import sitegen, write_run

MARK = "424242"


def build(root: Path, out: Path) -> str:
    result = sitegen("--root", str(root), "--out", str(out), "-q")
    assert result.returncode == 0, result.stderr
    return (out / "metrics").read_text()


def mark_kept_lines(out: Path, packed_back: bool = False) -> None:
    """Give every kept task's consecutive_failures line a value no task has; written back
    as JSON (as by hand) or packed again (as sitegen packs it)."""
    path = out / ".sitegen" / "metrics.pack"
    data, packed = unpack(path.read_bytes())
    assert packed
    for _task, _made_of, _key, _samples, task_lines in data["tasks"]:  # type: ignore[index]
        task_lines["consecutive_failures"] = [
            f"{text.rsplit(' ', 1)[0]} {MARK}" for text in task_lines["consecutive_failures"]
        ]
    if packed_back:
        path.write_bytes(b"".join(pack(data)))
    else:
        path.write_text(json.dumps(data))  # as by hand: JSON, read and compared as JSON


def marked_tasks(text: str) -> set[str]:
    return {
        line.split('task="')[1].split('"')[0]
        for line in text.splitlines()
        if line.endswith(f" {MARK}")
    }


@pytest.mark.parametrize("packed_back", [False, True])
def test_a_one_shot_update_takes_the_metric_lines_of_unchanged_tasks(
    run_root, out, tmp_path, packed_back
):
    for task in ("alpha", "beta", "gamma"):
        for n in range(3):
            write_run(run_root, task, n, "failed" if task == "beta" else "success")
    build(run_root, out)
    write_run(run_root, "gamma", 3, "success")  # the counts now read back from OUT/metrics
    build(run_root, out)
    kept = tmp_path / "kept"
    shutil.copytree(out, kept)
    mark_kept_lines(out, packed_back)
    write_run(run_root, "alpha", 3, "failed")
    assert marked_tasks(build(run_root, out)) == {"beta", "gamma"}
    # Without what it kept, a process makes the same text (the marks aside).
    (kept / ".sitegen" / "metrics.pack").unlink()
    fresh = build(run_root, kept)
    assert build(run_root, out) != fresh  # the marks stay while nothing changes
    (out / ".sitegen" / "metrics.pack").unlink()
    (out / "index.html").unlink()  # a full build: the marks go
    assert build(run_root, out) == fresh


def test_kept_lines_are_made_again_when_a_task_record_changes(run_root, out):
    for task in ("alpha", "beta"):
        write_run(run_root, task, 0, "success")
    build(run_root, out)
    write_run(run_root, "alpha", 1, "success")
    build(run_root, out)
    mark_kept_lines(out)
    state = run_root / "tasks" / "beta" / "state.json"
    data = json.loads(state.read_text())
    data["consecutive_failures"] = 7  # as a run of beta recorded meanwhile would change it
    state.write_text(json.dumps(data))
    write_run(run_root, "alpha", 2, "success")
    text = build(run_root, out)
    assert marked_tasks(text) == set()  # alpha changed; beta's record is not the one kept
    assert 'consecutive_failures{task="beta"} 7\n' in text
