"""The build cache's seal (sitegen/build/cache.py): summary.json and a task's cache end
with the digest of what they hold, so an update takes their records as they are; a
file changed behind sitegen's back is checked record by record again, as before."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from sitegen.build.site import Site

from helpers.sites import site_config, snapshot, write_run


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def built(root: Path, out: Path) -> Site:
    for n in range(3):
        write_run(root, "job", n)
    site = Site(site_config(root, out))
    site.update()
    return site


@pytest.mark.parametrize("name", ["summary.json", "tasks/job.json"])
def test_a_cache_file_reads_back_sealed_and_a_later_update_equals_a_full_build(
    run_root, out, tmp_path, caplog, name
):
    built(run_root, out)
    raw = (out / ".sitegen" / name).read_bytes()
    assert raw.endswith(b'"}\n') and b', "check": "' in raw[-60:]
    assert "fingerprint" in json.loads(raw)  # still plain JSON
    write_run(run_root, "job", 5)
    caplog.clear()
    Site(site_config(run_root, out)).update()  # the next one-shot build
    assert warnings_of(caplog) == []
    fresh = tmp_path / "fresh"
    Site(site_config(run_root, fresh)).update()
    assert snapshot(out) == snapshot(fresh)


@pytest.mark.parametrize("name", ["summary.json", "tasks/job.json"])
def test_a_cache_file_changed_behind_sitegens_back_is_checked_again(
    run_root, out, tmp_path, caplog, name
):
    built(run_root, out)
    path = out / ".sitegen" / name
    data = json.loads(path.read_bytes())
    if name == "summary.json":
        data["tasks"]["job"]["summary"]["runs"] = "many"  # a wrong type, the seal kept
    else:
        next(iter(data["runs"].values()))["settled"] = "yes"
    path.write_text(json.dumps(data) + "\n")  # its digest no longer matches
    write_run(run_root, "job", 5)
    caplog.clear()
    Site(site_config(run_root, out)).update()
    warned = warnings_of(caplog)
    assert len(warned) == 1 and "does not hold what sitegen wrote" in warned[0], warned
    fresh = tmp_path / "fresh"
    Site(site_config(run_root, fresh)).update()
    assert snapshot(out) == snapshot(fresh)


def test_a_new_process_writes_back_the_cache_a_full_build_writes(run_root, out, tmp_path, caplog):
    # A new process takes the unchanged tasks' summaries and rows back as the text it
    # read (a line each), and serialises only what changed: the files say the same.
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
        return json.loads((site / ".sitegen" / name).read_bytes())

    assert cache(out, "summary.json")["tasks"] == cache(full, "summary.json")["tasks"]
    for part in ("rows", "lanes"):
        assert cache(out, "rows.json")[part] == cache(full, "rows.json")[part]
    assert snapshot(out) == snapshot(full)


def test_saving_a_large_summary_makes_no_copy_after_copy_of_it(out):
    """At 20,000 runs summary.json and rows.json are MBs, written at the end of a full
    build, its peak memory: the file is joined once and encoded once, not copied at
    each step of putting it together."""
    import tracemalloc

    from sitegen.build.cache import Cache
    from sitegen.build.records import TaskEntry
    from sitegen.publish.scratch import Scratch

    cache = Cache(str(out), "fp", Scratch())
    tasks = {
        f"task-{i:03d}": TaskEntry(None, {}, {"blob": f"{i}" * 200_000}, []) for i in range(20)
    }
    cache.save_summary(tasks, [])  # each summary serialised once, and kept
    size = (out / ".sitegen" / "summary.json").stat().st_size
    tracemalloc.start()
    try:
        cache.save_summary(tasks, [])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2.5 * size, (peak, size)
    raw = (out / ".sitegen" / "summary.json").read_bytes()
    assert raw.endswith(b'"}\n') and b', "check": "' in raw[-60:]
    assert json.loads(raw)["tasks"].keys() == tasks.keys()
