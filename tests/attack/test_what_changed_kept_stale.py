"""A failed run's what changed, kept in the build cache (pages.what_changed), is taken
again only while what it was computed from is the same: its page rendered again by an
update says what a full build into an empty OUT says (attack4b)."""

from __future__ import annotations

import re
from pathlib import Path

from helpers.sites import sitegen, write_run


def _history(root: Path) -> list[str]:
    ids = [write_run(root, "t", n, stderr=b"ok\n", labels={"env": "a"}) for n in range(3)]
    return [*ids, write_run(root, "t", 3, "failed", stderr=b"boom\n", labels={"env": "b"})]


def _changes(out: Path, run_id: str) -> str:
    page = (out / "tasks" / "t" / "runs" / run_id / "index.html").read_text()
    found = re.search(r'<section class="changes".*?</section>', page, re.S)
    assert found is not None, page
    return found.group(0)


def _update_and_full(root: Path, out: Path, fresh: Path, failed: str) -> tuple[str, str]:
    for target in (out, fresh):
        built = sitegen("--root", str(root), "--out", str(target))
        assert built.returncode == 0, built.stderr
    return _changes(out, failed), _changes(fresh, failed)


def test_stderr_grown_after_the_run_is_news_when_its_page_is_rendered_again(tmp_path: Path):
    root, out, fresh = tmp_path / "root", tmp_path / "out", tmp_path / "fresh"
    failed = _history(root)[-1]
    assert sitegen("--root", str(root), "--out", str(out)).returncode == 0
    assert "boom" in _changes(out, failed)
    # A job's detached child writes on after runwrap recorded the run (its manifest's
    # stderr_bytes stays 5); the next run makes the failed run's page be rendered again.
    with open(root / "tasks" / "t" / "runs" / failed / "stderr.log", "ab") as f:
        f.write(b"disk full on /var\n")
    write_run(root, "t", 4, "failed", stderr=b"x\n")
    updated, full = _update_and_full(root, out, fresh, failed)
    assert "disk full on /var" in full
    assert updated == full


def test_the_last_successs_stderr_grown_after_its_run_is_seen_when_compared_again(
    tmp_path: Path,
):
    root, out, fresh = tmp_path / "root", tmp_path / "out", tmp_path / "fresh"
    ids = _history(root)
    failed, success = ids[-1], ids[-2]
    assert sitegen("--root", str(root), "--out", str(out)).returncode == 0
    assert "boom" in _changes(out, failed)  # new since the last success: it said only ok
    # The last success's detached child says the same later: no longer news.
    with open(root / "tasks" / "t" / "runs" / success / "stderr.log", "ab") as f:
        f.write(b"boom\n")
    write_run(root, "t", 4, "failed", stderr=b"x\n")
    updated, full = _update_and_full(root, out, fresh, failed)
    assert "boom" not in full
    assert updated == full
