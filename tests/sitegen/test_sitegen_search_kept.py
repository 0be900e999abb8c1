"""A task's search.json is mended by the next update of the task, as it was before the
index was appended to (publish/search.py: _appended): one removed or left damaged by hand
is written again even when the new run has nothing to find, so the site equals a full
build (the dashboard's search box reads the file of every task)."""

from __future__ import annotations

import pytest

from helpers.sites import runwrap, sitegen, snapshot


@pytest.mark.parametrize("damage", ["removed", "emptied", "cut off"])
def test_a_search_index_removed_or_damaged_by_hand_is_written_again(
    run_root, out, tmp_path, damage
):
    for _ in range(2):
        assert runwrap(run_root, "job", "echo boom >&2; exit 1").returncode == 1
    assert sitegen("--root", str(run_root), "--out", str(out), "-q").returncode == 0
    index = out / "tasks" / "job" / "search.json"
    assert index.is_file()
    if damage == "removed":
        index.unlink()
    elif damage == "emptied":
        index.write_bytes(b"")
    else:
        index.write_bytes(index.read_bytes()[:-5])
    assert runwrap(run_root, "job", "true").returncode == 0  # nothing to find in it
    assert sitegen("--root", str(run_root), "--out", str(out), "-q").returncode == 0
    fresh = tmp_path / "fresh"
    assert sitegen("--root", str(run_root), "--out", str(fresh), "-q").returncode == 0
    assert index.is_file()
    assert snapshot(out) == snapshot(fresh)


@pytest.mark.xfail(
    strict=True,
    reason="left to flatcache: _appended keeps the runs' bytes unparsed (its point), so a "
    "file damaged inside its runs but laid out as written is appended to, not mended",
)
def test_a_search_index_damaged_inside_its_runs_is_mended(run_root, out, tmp_path):
    for _ in range(2):
        assert runwrap(run_root, "job", "echo boom >&2; exit 1").returncode == 1
    assert sitegen("--root", str(run_root), "--out", str(out), "-q").returncode == 0
    index = out / "tasks" / "job" / "search.json"
    index.write_bytes(index.read_bytes().replace(b"[0,1]", b"[0,}", 1))  # a byte flipped
    assert runwrap(run_root, "job", "echo again >&2; exit 1").returncode == 1
    assert sitegen("--root", str(run_root), "--out", str(out), "-q").returncode == 0
    fresh = tmp_path / "fresh"
    assert sitegen("--root", str(run_root), "--out", str(fresh), "-q").returncode == 0
    assert snapshot(out) == snapshot(fresh)
