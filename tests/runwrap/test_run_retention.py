"""Retention removes the oldest runs only, and never the latest success or failure."""

from __future__ import annotations

import os

from runwrap.store.retention import select_removals

from helpers.runs import Root


def test_keep_n_removes_the_oldest_runs(root: Root) -> None:
    for _ in range(6):
        root.run("-n", "r", "--keep", "3", "--", "true")
    ids = root.run_ids("r")
    assert len(ids) == 3
    assert root.state("r")["last_run_id"] == ids[-1]
    # Run numbers go on where the removed runs left off.
    assert [m["seq"] for m in root.manifests("r")] == [4, 5, 6]
    assert not list((root.task_dir("r") / "runs").glob(".removing-*"))


def test_the_latest_failure_survives_retention(root: Root) -> None:
    root.run("-n", "f", "--", "false")
    failure = root.run_ids("f")[0]
    for _ in range(4):
        root.run("-n", "f", "--keep", "2", "--", "true")
    ids = root.run_ids("f")
    assert failure in ids
    assert len(ids) == 2


def test_the_latest_success_survives_retention(root: Root) -> None:
    root.run("-n", "s", "--", "true")
    success = root.run_ids("s")[0]
    for _ in range(4):
        root.run("-n", "s", "--keep", "2", "--", "false")
    assert success in root.run_ids("s")


def test_select_removals_by_age_and_size() -> None:
    ids = [f"2026010{d}T000000.000Z-aaaa" for d in range(1, 8)]
    now = 1767830400.0  # 2026-01-08T00:00Z
    by_age = select_removals(ids, set(), None, 3 * 86400, None, now)
    assert by_age == ids[:4]
    by_size = select_removals(ids, {ids[0]}, None, None, 300, now, size_of=lambda r: 100)
    assert by_size == ids[1:5]
    by_count = select_removals(ids, {ids[1]}, 4, None, None, now)
    assert by_count == [ids[0], ids[2], ids[3]]


def test_keep_size_applies_to_real_runs(root: Root) -> None:
    for _ in range(4):
        root.run("-n", "big", "--keep-size", "100K", "--", "sh", "-c", "head -c 60000 /dev/zero")
    assert len(root.run_ids("big")) <= 2


def test_a_birth_that_never_completed_is_swept_once_stale(root: Root) -> None:
    for _ in range(2):
        assert root.run("-n", "r", "--keep", "1", "--", "true").returncode == 0
    runs = root.task_dir("r") / "runs"
    stale, fresh = runs / ".new-20200101T000000.000Z-dead", runs / ".new-20990101T000000.000Z-born"
    for path in (stale, fresh):
        path.mkdir()
    os.utime(stale, (0, 0))
    assert root.run("-n", "r", "--keep", "1", "--", "true").returncode == 0
    assert not stale.exists() and fresh.exists()
