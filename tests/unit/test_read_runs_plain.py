"""read_runs reads a plain manifest in one frame and everything else the careful way:
the two must answer as one (the same manifests kept, the same things skipped and said)."""

import json
import os

import pytest

from runwrap.store import lookup
from runwrap.store.jsonio import MAX_JSON

pytestmark = pytest.mark.unit

TASK = "t"


def _manifest(run_id: str, seq: int) -> dict:
    return {"run_id": run_id, "seq": seq, "status": "success", "started_at": None}


@pytest.fixture
def runs(tmp_path):
    """A task whose runs/ holds plain runs and every kind of manifest that is not plain."""
    runs = tmp_path / "tasks" / TASK / "runs"
    runs.mkdir(parents=True)

    def run(n: int, body: object = None, raw: bytes | None = None) -> str:
        run_id = f"20261201T0000{n:02d}Z-{n:04x}"
        (runs / run_id).mkdir()
        text = raw if raw is not None else json.dumps(body or _manifest(run_id, n)).encode()
        (runs / run_id / "manifest.json").write_bytes(text)
        return run_id

    ids = [run(1), run(2)]
    ids.append(run(3, raw=b""))  # empty: not JSON
    ids.append(run(4, raw=b'{"run_id": '))  # cut off
    padded = json.dumps(_manifest("20261201T000005Z-0005", 5)).encode()
    ids.append(run(5, raw=b"  " + padded))  # JSON after blanks: plain all the same
    ids.append(run(6, body={"run_id": "someone-else", "seq": 6, "status": "success"}))
    ids.append(run(7, body={"status": ["not", "a", "string"]}))
    ids.append(run(8, raw=b"[1, 2]"))  # not an object
    whole = json.dumps(_manifest("20261201T000009Z-0009", 9)).encode()
    big = run(9, raw=whole + b" " * MAX_JSON)  # valid JSON, but too large to be read
    ids.append(big)
    link = run(10)
    os.remove(runs / link / "manifest.json")
    os.symlink(runs / ids[0] / "manifest.json", runs / link / "manifest.json")
    ids.append(link)
    fifo = run(11)
    os.remove(runs / fifo / "manifest.json")
    os.mkfifo(runs / fifo / "manifest.json")
    ids.append(fifo)
    folder = run(12)
    os.remove(runs / folder / "manifest.json")
    (runs / folder / "manifest.json").mkdir()
    ids.append(folder)
    missing = run(13)
    os.remove(runs / missing / "manifest.json")
    ids.append(missing)
    linked_run = "20261201T000014Z-000e"
    os.symlink(runs / ids[0], runs / linked_run)
    ids.append(linked_run)
    ids.append("20261201T000015Z-000f")  # listed, then gone
    ids.append("../escape")  # not a plain name
    ids.append(run(16, raw=b'{"run_id": "20261201T000016Z-0010", "seq": 16, "status": "ok"} x'))
    return str(tmp_path), ids


def _careful(root: str, ids: list[str]) -> list[tuple[str, dict]]:
    """Each run read by read_run, the careful reader of one run."""
    found = []
    for run_id in ids:
        try:
            manifest = lookup.read_run(root, TASK, run_id)
        except lookup.Unreadable as e:  # a name that is not plain: read_run raises it
            lookup.note_skipped(str(e))
            continue
        if manifest is not None:
            found.append((run_id, manifest))
    return found


def _notes_of(read) -> tuple[object, list[str]]:
    lookup._skipped.clear()
    try:
        return read(), list(lookup._skipped)
    finally:
        lookup._skipped.clear()


def test_plain_and_careful_reads_keep_and_skip_the_same_runs(runs) -> None:
    root, ids = runs
    fast, fast_notes = _notes_of(lambda: list(lookup.read_runs(root, TASK, ids)))
    careful, careful_notes = _notes_of(lambda: _careful(root, ids))
    assert [run_id for run_id, _m in fast] == [ids[0], ids[1], ids[4]]
    assert fast == careful
    assert fast_notes == careful_notes
    assert len(fast_notes) == len(ids) - 3 - 2  # every run not kept is said, but the missing
