"""sitegen removes under OUT/tasks/ only what it made: a person's files and
directories there (notes, an archive, anything in a gone task's directory)
survive full builds, incremental ones, pruned runs and tasks that go."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers.sites import runwrap, sitegen


def _build(root: Path, out: Path, *extra: str) -> None:
    done = sitegen("--root", str(root), "--out", str(out), *extra)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("full", [False, True], ids=["incremental", "full"])
def test_sitegen_keeps_what_it_did_not_make(run_root: Path, out: Path, full: bool) -> None:
    for task in ("keep", "gone"):
        for _ in range(3):
            assert runwrap(run_root, task, "true", "--keep", "2").returncode == 0
    _build(run_root, out)
    tasks = out / "tasks"
    runs = tasks / "keep" / "runs"
    theirs = {
        tasks / "notes" / "todo.txt": "a person's directory beside the tasks",
        tasks / "README.txt": "a person's file",
        runs / "archive" / "2025.tar": "a directory in a task's runs/",
        tasks / "keep" / "NOTES.md": "a file in a task's directory",
        tasks / "gone" / "NOTES.md": "a file in a task that goes",
        tasks / "gone" / "runs" / "old" / "x.txt": "a directory in the runs of a task that goes",
    }
    for path, text in theirs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    # A run pruned by retention, and a task gone from ROOT.
    assert runwrap(run_root, "keep", "true", "--keep", "2").returncode == 0
    shutil.rmtree(run_root / "tasks" / "gone")
    _build(run_root, out, *(["--full"] if full else []))
    for path, text in theirs.items():
        assert path.exists() and path.read_text() == text, f"{path} was removed"
    # What sitegen made for the gone task and the pruned run went all the same.
    assert not (tasks / "gone" / "index.html").exists()
    assert not (tasks / "gone" / "badge.svg").exists()
    assert sorted(p.name for p in runs.iterdir() if p.name != "archive") == sorted(
        p.name for p in (run_root / "tasks" / "keep" / "runs").iterdir()
    )


@pytest.mark.parametrize("name", ["index.html", "search.json", "feed.atom"])
def test_a_directory_where_a_published_file_goes_stops_the_build_in_one_line(
    run_root: Path, out: Path, name: str
) -> None:
    """docs/sitegen.md: sitegen mends its own cache, but a directory standing among the
    published files was put there by someone: one line naming it, exit 125, the rest of
    OUT as it was; once it is gone, the next build writes the file."""
    assert runwrap(run_root, "t", "false").returncode == 1
    _build(run_root, out)
    page = out / "tasks" / "t" / name
    page.unlink()
    page.mkdir()
    (page / "theirs.txt").write_text("a person's file")
    before = (out / "index.html").read_bytes()
    assert runwrap(run_root, "t", "false").returncode == 1
    done = sitegen("--root", str(run_root), "--out", str(out))
    assert done.returncode == 125, done
    assert done.stderr.count("\n") == 1 and str(page) in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert (page / "theirs.txt").read_text() == "a person's file"
    assert (out / "index.html").read_bytes() == before
    shutil.rmtree(page)
    _build(run_root, out)
    assert page.is_file()
