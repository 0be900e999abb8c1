"""A failed run's page says what changed since the last success (issue 22)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sitegen.build.cache import KEPT_CHANGES

from helpers.runs import SITEGEN
from helpers.sites import ENV, kept_changes, make_root, runwrap, sitegen, write_run

# Hundreds of lines that differ from run to run only by numbers, hex ids and times.
NOISE = (  # shell builtins only: a fork per line would make the test slow
    "i=0; while [ $i -lt 300 ]; do printf 'step %d of 300 (%d rows) at 2026-11-%02d "
    "10:%02d:%02d id {hx}%d\\n' $i $((i * {k})) {k} $((i % 60)) $((i * {k} % 60)) $i >&2; "
    "i=$((i+1)); done"
)


def test_the_one_new_stderr_line_among_hundreds(run_root: Path, out: Path, tmp_path: Path):
    job = tmp_path / "job.sh"  # the same command every time; the script behind it changes
    job.write_text(NOISE.format(k=3, hx="a1b2c3d4") + "; echo ok > result.txt\n")
    for _ in range(10):  # enough successes for a duration baseline
        assert runwrap(run_root, "etl", f"sh {job}", "-l", "env=prod").returncode == 0
    job.write_text(
        NOISE.format(k=7, hx="ffe0d9c8")
        + "; echo 'FATAL: replica db2 refused the connection' >&2; "
        + NOISE.format(k=5, hx="0badc0de")
        + "; exit 4\n"
    )
    assert runwrap(run_root, "etl", f"sh {job}", "-l", "env=staging").returncode == 4
    built = sitegen("--root", str(run_root), "--out", str(out))
    assert built.returncode == 0, built.stderr
    failed = sorted((run_root / "tasks" / "etl" / "runs").iterdir())[-1].name
    page = (out / "tasks" / "etl" / "runs" / failed / "index.html").read_text()
    section = re.search(r'<section class="changes".*?</section>', page, re.S)
    assert section is not None, page
    text = section.group(0)
    assert "FATAL: replica db2 refused the connection" in text
    assert "step " not in text  # differs by numbers only: not news
    assert "Ended: exit 4 (was exit 0)" in text
    assert "Label env: staging (was prod)" in text
    assert "Missing files: result.txt" in text
    assert "Command" not in text  # the same
    assert "; usually " in text and "95th percentile" in text  # the baseline then
    # Computed once: kept in the build cache (no file a failed run in OUT), and taken
    # from it by the next build, which re-renders this page (a new run is its neighbour).
    assert not (out / "tasks" / "etl" / "runs" / failed / "changes.json").exists()
    kept = kept_changes(out, "etl")
    assert list(kept) == [failed]
    assert kept[failed]["stderr"]["lines"] == ["FATAL: replica db2 refused the connection"]
    assert runwrap(run_root, "etl", "true").returncode == 0
    assert sitegen("--root", str(run_root), "--out", str(out)).returncode == 0
    assert kept_changes(out, "etl") == kept
    assert (
        "FATAL: replica db2" in (out / "tasks" / "etl" / "runs" / failed / "index.html").read_text()
    )


def _opened_by_a_build(run_root: Path, out: Path, tmp_path: Path) -> list[tuple[str, str]]:
    """(directory fd, path) of every openat of a real full build, watched with strace."""
    trace = tmp_path / "build.trace"
    subprocess.run(
        ["strace", "-f", "-qq", "-o", str(trace), "-e", "trace=openat",
         SITEGEN, "--root", str(run_root), "--out", str(out), "-q"],
        env=ENV, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return re.findall(r'openat\(([^,]+), "([^"]+)"', trace.read_text())


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_a_full_build_into_an_empty_out_reads_each_manifest_once(
    run_root: Path, out: Path, tmp_path: Path
):
    """What changed in a failed run is worked out from the last success's manifest the
    build read already, and a run directory the build just made holds no changes.json
    to look for (issue 22's cost on the full build). Watched with strace."""
    make_root(run_root, tasks=3, runs=12)  # failures with a success before them
    opened = _opened_by_a_build(run_root, out, tmp_path)
    # The build reads a run's files through its directory (openat(dirfd, "manifest.json"));
    # the read model, folding a task without a state.json, reads by full paths.
    by_run = [p for fd, p in opened if fd != "AT_FDCWD" and p == "manifest.json"]
    assert len(by_run) == 36, len(by_run)  # 3 x 12 runs, each once
    assert [p for _, p in opened if os.path.basename(p) == "changes.json"] == []
    assert sorted(out.glob("tasks/*/runs/*/changes.json")) == []  # no file a failed run
    for task in ("task-000", "task-001", "task-002"):
        # In the build cache: the what changed of each failed run (after a success) among
        # the task's newest, whose pages an update renders again (cache.KEPT_CHANGES).
        statuses = {
            p.parent.name: json.loads(p.read_text())["status"]
            for p in (run_root / "tasks" / task / "runs").glob("*/manifest.json")
        }
        order = sorted(statuses)
        first_ok = order.index(next(r for r in order if statuses[r] == "success"))
        failed = {r for r in order[first_ok:] if statuses[r] == "failed"}
        wanted = failed & set(order[-KEPT_CHANGES:])
        assert wanted, "the root holds a recent failure to compare"
        assert set(kept_changes(out, task)) == wanted, task


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_a_full_build_reads_each_stderr_once(run_root: Path, out: Path, tmp_path: Path):
    """A failed run's stderr is read once a build, by its page, for the page, what changed
    and the search index alike; the last success before a failing streak once, by its own
    page (it was three reads a failure and one a failure for the success). The answers
    are those of reading each: the new line, the search index's tail."""
    task = "streak"
    write_run(run_root, task, 0, "success", stderr=b"warming up 1\n")
    for n in (1, 2, 3):  # three failures in a row, each compared with run 0
        write_run(run_root, task, n, "failed", stderr=f"warming up {n}\nboom {n}\n".encode())
    write_run(run_root, task, 4, "success", stderr=b"")
    write_run(run_root, task, 5, "failed", stderr=b"x" * 70_000 + b"\nlate boom\n")
    opened = [path for _, path in _opened_by_a_build(run_root, out, tmp_path)]
    assert len([p for p in opened if os.path.basename(p) == "stderr.log"]) == 6  # 6 runs
    runs = sorted((run_root / "tasks" / task / "runs").iterdir())
    # Run 5's stderr, longer than its page shows (64 KiB), whole for what changed (256 KiB).
    for n, lines in ((1, ["boom 1"]), (3, ["boom 3"]), (5, ["x" * 500, "late boom"])):
        changes = kept_changes(out, task)[runs[n].name]
        assert changes["stderr"]["lines"] == lines, n  # "warming up <n>" masked as before
    index = json.loads((out / "tasks" / task / "search.json").read_text())
    found = {run_id: [index["texts"][i] for i in fields] for run_id, _, fields in index["runs"]}
    assert "boom 2" in found[runs[2].name] and "warming up 2" in found[runs[2].name]
    assert "late boom" in found[runs[5].name]
    assert not any(f.startswith("x") for f in found[runs[5].name])  # a line cut by the tail
