"""The build cache's seal (sitegen/build/cache.py, sitegen/publish/packed.py): summary.pack,
rows.pack and each task's cache are packed with the digest of what they hold, so an
update takes their records as they are; a file written behind sitegen's back (JSON, by
hand) is checked record by record again, as before."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from runwrap.store.jsonio import Unreadable
from sitegen.build.site import Site
from sitegen.publish.packed import pack, unpack

from helpers.sites import runwrap, site_config, sitegen, snapshot, write_run


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def read_cache(path: Path) -> dict:
    """A cache file's data, packed or JSON."""
    return unpack(path.read_bytes())[0]  # type: ignore[return-value]


def built(root: Path, out: Path) -> Site:
    for n in range(3):
        write_run(root, "job", n)
    site = Site(site_config(root, out))
    site.update()
    return site


@pytest.mark.parametrize("name", ["summary.pack", "tasks/job.pack"])
def test_a_cache_file_reads_back_sealed_and_a_later_update_equals_a_full_build(
    run_root, out, tmp_path, caplog, name
):
    built(run_root, out)
    raw = (out / ".sitegen" / name).read_bytes()
    data, trusted = unpack(raw)
    assert trusted and "fingerprint" in data  # type: ignore[operator]
    damaged = raw[:-1] + bytes([raw[-1] ^ 1])
    with pytest.raises(Unreadable):
        unpack(damaged)
    write_run(run_root, "job", 5)
    caplog.clear()
    Site(site_config(run_root, out)).update()  # the next one-shot build
    assert warnings_of(caplog) == []
    fresh = tmp_path / "fresh"
    Site(site_config(run_root, fresh)).update()
    assert snapshot(out) == snapshot(fresh)


@pytest.mark.parametrize("name", ["summary.pack", "tasks/job.pack"])
def test_a_cache_file_changed_behind_sitegens_back_is_checked_again(
    run_root, out, tmp_path, caplog, name
):
    built(run_root, out)
    path = out / ".sitegen" / name
    data = read_cache(path)
    if name == "summary.pack":
        data["tasks"]["job"]["summary"]["runs"] = "many"  # a wrong type, the seal kept
    else:
        next(iter(data["runs"].values()))["settled"] = "yes"
    path.write_text(json.dumps(data) + "\n")  # JSON, as by hand: no digest
    write_run(run_root, "job", 5)
    caplog.clear()
    Site(site_config(run_root, out)).update()
    warned = warnings_of(caplog)
    assert len(warned) == 1 and "does not hold what sitegen wrote" in warned[0], warned
    fresh = tmp_path / "fresh"
    Site(site_config(run_root, fresh)).update()
    assert snapshot(out) == snapshot(fresh)


def test_a_new_process_writes_back_the_cache_a_full_build_writes(run_root, out, tmp_path, caplog):
    # A new process takes the unchanged tasks' summaries and rows back as it read them:
    # the files say the same as a full build's.
    for task in ("alpha", "beta", "gamma"):
        for n in range(3):
            write_run(run_root, task, n, "failed" if task == "beta" else "success")
    Site(site_config(run_root, out)).update()
    for n in (3, 4):
        write_run(run_root, "alpha", n)
        caplog.clear()
        Site(site_config(run_root, out)).update()  # each a new process, as cron's
        assert warnings_of(caplog) == []
    full = tmp_path / "full"
    Site(site_config(run_root, full)).update()

    def cache(site: Path, name: str) -> dict:
        return read_cache(site / ".sitegen" / name)

    def lanes(site: Path) -> dict:
        """The lanes' markup, without their rects as placed: a lane placed for an earlier
        window that still holds is kept (timeline.py), a full build places it now."""
        saved = cache(site, "rows.pack")["lanes"]
        return {t: {v: i for v, i in views.items() if v != "placed"} for t, views in saved.items()}

    assert cache(out, "summary.pack")["tasks"] == cache(full, "summary.pack")["tasks"]
    assert cache(out, "rows.pack")["rows"] == cache(full, "rows.pack")["rows"]
    assert lanes(out) == lanes(full)
    assert snapshot(out) == snapshot(full)


def test_saving_a_large_summary_makes_no_copy_after_copy_of_it(out):
    """At 20,000 runs summary.pack and rows.pack are MBs, written at the end of a full
    build, its peak memory: the file is packed once and written as it is, not copied
    to join its head to it."""
    import tracemalloc

    from sitegen.build.cache import Cache
    from sitegen.build.records import TaskEntry
    from sitegen.publish.packed import unpack
    from sitegen.publish.scratch import Scratch

    cache = Cache(str(out), "fp", Scratch())
    tasks = {
        f"task-{i:03d}": TaskEntry(None, {}, {"blob": f"{i}" * 200_000}, []) for i in range(20)
    }
    cache.save_summary(tasks, [])
    size = (out / ".sitegen" / "summary.pack").stat().st_size
    tracemalloc.start()
    try:
        cache.save_summary(tasks, [])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * size, (peak, size)  # the packed bytes once, not joined again
    value, trusted = unpack((out / ".sitegen" / "summary.pack").read_bytes())
    assert trusted and value["tasks"].keys() == tasks.keys()


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        *[(field, bad) for field in ("pending", "summary") for bad in (None, "x", 5, [1])],
        ("summary", {}),
        ("summary", {"name": "other"}),
        ("record", None),
        ("record", {}),
    ],
)
def test_a_sealed_summary_holding_the_wrong_types_is_rebuilt_not_a_traceback(
    run_root, out, tmp_path, field, bad
):
    # The seal is a digest, not a secret: a file packed by anything but this sitegen (a
    # script, a hand-made repair) carries a valid one. Its entries' shape is still asked:
    # the real command warns once and rebuilds (it raised AttributeError, TypeError).
    write_run(run_root, "other", 0)  # not run again: its entry is written back as read
    built(run_root, out)
    path = out / ".sitegen" / "summary.pack"
    data = read_cache(path)
    data["tasks"]["other"][field] = bad
    path.write_bytes(b"".join(pack(data)))
    write_run(run_root, "job", 5)
    done = sitegen("--root", str(run_root), "--out", str(out), "-q")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) <= 1, done.stderr
    fresh = tmp_path / "fresh"
    Site(site_config(run_root, fresh)).update()
    assert snapshot(out) == snapshot(fresh)


def test_a_hand_written_task_cache_holding_a_retried_run_is_taken(run_root, out, tmp_path):
    # A run retried until it succeeded keeps its last attempt's duration in its summary
    # ("job", model.summarize): a task cache in JSON (written by hand, checked record by
    # record) holding one was refused ('does not hold what sitegen wrote') at every update.
    flag = tmp_path / "failed-once"
    once = f"test -e {flag} || {{ touch {flag}; exit 1; }}"
    assert runwrap(run_root, "job", once, "--retries", "1", "--retry-delay", "0.1").returncode == 0
    args = ("--root", str(run_root), "--out", str(out))
    assert sitegen(*args).returncode == 0
    path = out / ".sitegen" / "tasks" / "job.pack"
    data = read_cache(path)
    assert any("job" in (r["sum"] or {}) for r in data["runs"].values())  # the retried run
    path.write_text(json.dumps(data) + "\n")  # JSON, as by hand: no digest
    assert runwrap(run_root, "job", "true").returncode == 0
    done = sitegen(*args)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    fresh = tmp_path / "fresh"
    assert sitegen("--root", str(run_root), "--out", str(fresh)).returncode == 0
    assert snapshot(out) == snapshot(fresh)
