"""The build cache's typed records (sitegen/build/records.py): what is written reads back
the same, and anything sitegen did not write reads as nothing (the cache is rebuilt)."""

from __future__ import annotations

from runwrap.store.query import record_of
from sitegen.build.records import RunRecord, TaskEntry, runs_from_json, runs_to_json
from sitegen.render.model import summarize, task_summary

MANIFEST = {
    "run_id": "20260101T000000Z-0001",
    "task": "job",
    "status": "running",
    "started_at": "2026-01-01T00:00:00.000Z",
}


def test_a_run_record_reads_back_as_written():
    run_sum = summarize(MANIFEST["run_id"], MANIFEST)
    rec = RunRecord([1, 2, 3], run_sum, False)
    data = runs_to_json({MANIFEST["run_id"]: rec})
    assert data == {MANIFEST["run_id"]: {"sig": [1, 2, 3], "sum": run_sum, "settled": False}}
    assert runs_from_json(data) == {MANIFEST["run_id"]: rec}
    assert rec.running
    bad = RunRecord(None, None, False, [4, 5])
    assert RunRecord.from_json("x", bad.to_json()) == bad
    assert not bad.running


def test_a_record_sitegen_did_not_write_reads_as_none():
    run_sum = summarize(MANIFEST["run_id"], MANIFEST)
    good = {"sig": [1], "sum": run_sum, "settled": True}
    assert RunRecord.from_json(MANIFEST["run_id"], good) is not None
    for broken in (
        {**good, "settled": "yes"},
        {**good, "sig": ["1"]},
        {**good, "extra": 1},
        {"sig": [1], "sum": None},
        {**good, "bad": "x"},
        [1, 2],
    ):
        assert RunRecord.from_json(MANIFEST["run_id"], broken) is None, broken
    assert RunRecord.from_json("another-run", good) is None  # a summary of another run
    assert runs_from_json({"a": good}) is None
    assert runs_from_json([good]) is None


def test_a_task_entry_reads_back_as_written_and_knows_it_is_busy():
    run_sum = summarize(MANIFEST["run_id"], MANIFEST)
    summary = task_summary("job", [run_sum], record_of("job", {}, []))
    data = {
        "sig": [7, 8],
        "pending": runs_to_json({MANIFEST["run_id"]: RunRecord([1], run_sum, False)}),
        "summary": summary,
        "record": [],
    }
    entry = TaskEntry.from_json("job", data)
    assert entry is not None and entry.busy
    assert entry.pending[MANIFEST["run_id"]].summary == run_sum
    assert TaskEntry.from_json("other", data) is None  # the summary of another task
    assert TaskEntry.from_json("job", {**data, "record": {}}) is None
    assert TaskEntry.from_json("job", {**data, "pending": {"r": 1}}) is None
