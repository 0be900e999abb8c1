"""A task cache's log (sitegen/build/chunks.py, cache.py): an update appends what it changed
as a sealed chunk instead of writing the task's whole cache again; a log cut short,
changed, forged, of another task or too large is never taken: the task is rebuilt (one
warning, no traceback) and the site equals a full build."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from runwrap.store.jsonio import Unreadable
from sitegen.build import cache as cache_mod
from sitegen.build import chunks
from sitegen.build.site import Site
from sitegen.publish.packed import unpack

from helpers.sites import site_config, snapshot, write_run


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def tasks_dir(out: Path) -> Path:
    return out / ".sitegen" / "tasks"


def built(root: Path, out: Path, runs: int = 3) -> None:
    for n in range(1, runs + 1):
        write_run(root, "job", n, "failed" if n % 2 else "success", stderr=b"boom %d\n" % n)
        write_run(root, "other", n)
    Site(site_config(root, out)).update()


def one_more(root: Path, out: Path, n: int, **kw) -> None:
    """A new run of job, and a one-shot update (a new process's Site) after it."""
    write_run(root, "job", n, **kw)
    Site(site_config(root, out)).update()


def full_build(root: Path, tmp_path: Path) -> dict[str, bytes]:
    fresh = tmp_path / "fresh"
    shutil.rmtree(fresh, ignore_errors=True)
    Site(site_config(root, fresh)).update()
    return snapshot(fresh)


def loaded(root: Path, out: Path, task: str = "job"):
    """What the cache holds for a task, base and log, as the next update loads it."""
    found = Site(site_config(root, out)).cache.load_task(task)
    assert found is not None
    return found


def test_an_update_after_one_run_appends_a_chunk_and_leaves_the_base(run_root, out, tmp_path):
    built(run_root, out)
    base = (tasks_dir(out) / "job.pack").read_bytes()
    assert not (tasks_dir(out) / "job.log").exists()  # a whole build writes bases only
    one_more(run_root, out, 4)
    one_more(run_root, out, 5, status="failed", stderr=b"boom 5\n")
    assert (tasks_dir(out) / "job.pack").read_bytes() == base
    log = (tasks_dir(out) / "job.log").read_bytes()
    data = unpack(base)[0]
    found = chunks.decode(log, data["token"], "job")  # type: ignore[index]
    assert len(found) == 2 and len(found[0]["runs"]) == 1  # type: ignore[index]
    assert snapshot(out) == full_build(run_root, tmp_path)
    # What the next update loads, base and log, is what a full build's cache holds.
    runs, pages, _changes = loaded(run_root, out)
    fresh_runs, fresh_pages, _ = loaded(run_root, tmp_path / "fresh")
    assert runs == fresh_runs and pages == fresh_pages


def test_the_log_is_compacted_into_a_new_base(run_root, out, tmp_path, monkeypatch):
    monkeypatch.setattr(cache_mod, "COMPACT_MIN", 2)
    built(run_root, out)
    for n in (4, 5):
        one_more(run_root, out, n)
    assert len((tasks_dir(out) / "job.log").read_bytes()) > 0
    base = (tasks_dir(out) / "job.pack").read_bytes()
    one_more(run_root, out, 6)  # a third chunk would pass COMPACT_MIN: written whole
    assert not (tasks_dir(out) / "job.log").exists()
    assert (tasks_dir(out) / "job.pack").read_bytes() != base
    assert snapshot(out) == full_build(run_root, tmp_path)


def _cut(raw: bytes) -> bytes:
    return raw[:-1]


def _cut_in_header(raw: bytes) -> bytes:
    return raw[: len(raw) - len(raw) // 2 - 1][:10]


def _flip_payload(raw: bytes) -> bytes:
    return raw[:-3] + bytes([raw[-3] ^ 0x10]) + raw[-2:]


def _flip_header(raw: bytes) -> bytes:
    return raw[:8] + bytes([raw[8] ^ 1]) + raw[9:]  # the length


def _garbage_after(raw: bytes) -> bytes:
    return raw + b"\0" * 40


DAMAGE = {
    "cut off": _cut,
    "cut in its header": _cut_in_header,
    "a payload byte flipped": _flip_payload,
    "a header byte flipped": _flip_header,
    "bytes after the last chunk": _garbage_after,
}


def _update_after_run(run_root, out, caplog, n: int = 5) -> list[str]:
    """Run `n` of task job recorded, then one update in a new Site: the warnings it gave."""
    write_run(run_root, "job", n)
    caplog.clear()
    Site(site_config(run_root, out)).update()
    return warnings_of(caplog)


@pytest.mark.parametrize("how", sorted(DAMAGE))
def test_a_damaged_log_is_detected_and_the_task_rebuilt(run_root, out, tmp_path, caplog, how):
    built(run_root, out)
    one_more(run_root, out, 4)
    log = tasks_dir(out) / "job.log"
    log.write_bytes(DAMAGE[how](log.read_bytes()))
    warned = _update_after_run(run_root, out, caplog)
    assert len(warned) == 1 and "job.log is unreadable" in warned[0], warned
    assert snapshot(out) == full_build(run_root, tmp_path)
    assert not log.exists()  # rebuilt whole: a new base, no log


def _sealed(out: Path, task: str = "job") -> str:
    return unpack((tasks_dir(out) / f"{task}.pack").read_bytes())[0]["token"]  # type: ignore[index]


WRONG = {
    "a record's wrong type": {"runs": {"x": {"sig": None, "sum": None, "settled": "yes"}}},
    "a summary not of its run": {"runs": {"x": {"sig": None, "sum": {"id": "y"}, "settled": True}}},
    "a page digest not a string": {"pages": {"1": 5}},
    "gone not a list": {"gone": "x"},
    "a key too many": {"more": 1},
    "changes not of dicts": {"changes": {"x": 1}},
}


@pytest.mark.parametrize("how", sorted(WRONG))
def test_a_forged_chunk_of_the_wrong_shape_is_rebuilt_not_taken(
    run_root, out, tmp_path, caplog, how
):
    """Sealed with the right digest (the seal is not a secret), holding what sitegen does
    not write: checked record by record, and refused."""
    built(run_root, out)
    one_more(run_root, out, 4)
    value = {"runs": {}, "gone": [], "pages": {}, "changes": None, **WRONG[how]}
    chunks.append(str(tasks_dir(out) / "job.log"), chunks.encode(_sealed(out), "job", value))
    warned = _update_after_run(run_root, out, caplog)
    assert len(warned) == 1 and "does not hold what sitegen wrote" in warned[0], warned
    assert snapshot(out) == full_build(run_root, tmp_path)


def test_a_chunk_of_another_task_or_another_base_is_not_taken(run_root, out, tmp_path, caplog):
    built(run_root, out)
    one_more(run_root, out, 4)
    write_run(run_root, "other", 4)
    Site(site_config(run_root, out)).update()
    mine, theirs = tasks_dir(out) / "job.log", tasks_dir(out) / "other.log"
    # Another task's chunk, sealed with this task's token but for its own name:
    value = chunks.decode(theirs.read_bytes(), _sealed(out, "other"), "other")[0]
    forged = chunks.encode(_sealed(out), "other", value)
    mine.write_bytes(mine.read_bytes() + forged)
    warned = _update_after_run(run_root, out, caplog)
    assert any("job.log is unreadable" in w for w in warned), warned
    # Another task's whole log (sealed for its own base) in place of this one's:
    one_more(run_root, out, 6)
    write_run(run_root, "other", 5)
    Site(site_config(run_root, out)).update()
    shutil.copy(theirs, mine)
    warned = _update_after_run(run_root, out, caplog, 7)
    assert any("job.log is unreadable" in w for w in warned), warned
    assert snapshot(out) == full_build(run_root, tmp_path)


def test_a_log_left_from_before_a_compaction_is_not_taken(run_root, out, tmp_path, caplog):
    """A kill between writing the new base and removing the log: the log is sealed for the
    old base's token."""
    built(run_root, out)
    one_more(run_root, out, 4)
    old_log = (tasks_dir(out) / "job.log").read_bytes()
    shutil.rmtree(out / ".sitegen" / "tasks")  # the next update writes every base anew
    (out / ".sitegen" / "summary.pack").unlink()
    Site(site_config(run_root, out)).update()
    (tasks_dir(out) / "job.log").write_bytes(old_log)
    warned = _update_after_run(run_root, out, caplog)
    assert any("job.log is unreadable" in w for w in warned), warned
    assert snapshot(out) == full_build(run_root, tmp_path)


@pytest.mark.parametrize("what", ["huge", "directory", "link"])
def test_a_huge_log_or_something_else_in_its_place_is_rebuilt(
    run_root, out, tmp_path, caplog, what
):
    built(run_root, out)
    one_more(run_root, out, 4)
    log = tasks_dir(out) / "job.log"
    if what == "huge":
        with open(log, "r+b") as f:
            f.truncate(cache_mod.CACHE_MAX + 1)  # sparse: never read
    elif what == "directory":
        log.unlink()
        (log / "sub").mkdir(parents=True)
    else:
        target = tmp_path / "elsewhere"
        target.write_bytes(log.read_bytes())
        log.unlink()
        os.symlink(target, log)
    warned = _update_after_run(run_root, out, caplog)
    assert len(warned) == 1 and "job.log is unreadable" in warned[0], warned
    assert snapshot(out) == full_build(run_root, tmp_path)
    assert not os.path.lexists(log)


@pytest.mark.unit
def test_every_prefix_of_a_log_short_of_a_whole_chunk_does_not_read_back():
    """What a kill mid-append leaves: the old chunks and part of a new one."""
    token, value = "00ff", {"runs": {}, "gone": ["a" * 50], "pages": {"1": "d"}, "changes": None}
    first = chunks.encode(token, "job", value)
    both = first + chunks.encode(token, "job", {**value, "gone": []})
    assert chunks.decode(first, token, "job") == [value]
    assert len(chunks.decode(both, token, "job")) == 2
    for cut in range(len(first) + 1, len(both)):
        with pytest.raises(Unreadable):
            chunks.decode(both[:cut], token, "job")
    with pytest.raises(Unreadable):
        chunks.decode(first, "00fe", "job")  # another base's
    with pytest.raises(Unreadable):
        chunks.decode(first, token, "jobs")  # another task's


def test_out_of_order_pruned_and_finishing_runs_leave_the_cache_a_full_build_writes(
    run_root, out, tmp_path
):
    """Not only a run after every other: a run numbered before others, a run pruned, a run
    that finishes; each update's chunk, loaded back, is the cache a full build makes."""
    built(run_root, out, runs=6)
    running = write_run(run_root, "job", 9, "running")
    steps = [
        lambda: write_run(run_root, "job", 8),  # before the running run
        lambda: shutil.rmtree(
            run_root
            / "tasks"
            / "job"
            / "runs"
            / sorted(os.listdir(run_root / "tasks" / "job" / "runs"))[0]
        ),  # pruned
        lambda: write_run(run_root, "job", 9, "failed", stderr=b"late\n"),  # finished
        lambda: write_run(run_root, "job", 7, "failed", stderr=b"x\n"),  # before others
    ]
    site = Site(site_config(run_root, out))  # kept, as --watch keeps it
    site.update()
    for step in steps:
        step()
        site.update()
        assert snapshot(out) == full_build(run_root, tmp_path)
        runs, pages, _ = loaded(run_root, out)
        fresh_runs, fresh_pages, _ = loaded(run_root, tmp_path / "fresh")
        assert runs == fresh_runs and pages == fresh_pages
    assert running in runs


# -- the search index appended to ---------------------------------------------------------


def test_a_run_after_every_other_is_appended_to_search_json_as_a_whole_write_writes_it(
    run_root, out, tmp_path, monkeypatch
):
    """Its entry is spliced onto the file's bytes (only the texts parsed), and the file is
    byte for byte what a full build writes: texts shared and new, markup characters, a
    text that looks like the file's own structure, a lone surrogate."""
    from sitegen.publish import search

    built(run_root, out)
    whole = []
    monkeypatch.setattr(search, "_old_entries", lambda raw: whole.append(1) or None)
    odd = [b'x],"runs":[', b"<b>&amp;</b>", b"\xff\xfe not utf-8", b"boom 1"]
    for n, line in enumerate(odd, start=4):
        one_more(run_root, out, n, status="failed", stderr=line + b"\n", labels={"k": "v"})
    one_more(run_root, out, 8)  # nothing to find: the file stays
    assert whole == []  # never parsed whole
    assert snapshot(out) == full_build(run_root, tmp_path)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{}",
        b'{"v":1,"task":"job","texts":["a"],"runs":[]}x',
        b'{"v":1,"task":"job","texts":[',
    ],
)
def test_a_search_json_not_laid_out_as_written_is_written_whole(run_root, out, tmp_path, content):
    built(run_root, out)
    (out / "tasks" / "job" / "search.json").write_bytes(content)
    one_more(run_root, out, 4, status="failed", stderr=b"again\n")
    assert snapshot(out) == full_build(run_root, tmp_path)
