"""The dashboard's rows kept in the build cache (sitegen/render/fragments.py, cache.py rows.pack):
a one-shot update after one run takes the other tasks' rows as the last process
rendered them, and only when they were rendered from what it loaded."""

from __future__ import annotations

import json
import marshal
import shutil
from pathlib import Path

import pytest

from sitegen.publish.packed import pack, unpack

from helpers.sites import ENV, sitegen, snapshot, write_run

MARK = "<!-- kept row -->"


def read_cache(path: Path) -> dict:
    """A cache file's data (packed, or JSON as these tests write it back)."""
    return unpack(path.read_bytes())[0]  # type: ignore[return-value]


def as_json(data: dict) -> str:
    """rows.pack's data as a person would write it in JSON: a lane's items as a list
    (sitegen packs them as one marshal blob a lane)."""
    for views in data.get("lanes", {}).values():
        for view, kept in views.items():
            if type(kept) is bytes:
                views[view] = marshal.loads(kept)
    return json.dumps(data)


def build(root: Path, out: Path, env: dict | None = None) -> None:
    result = sitegen("--root", str(root), "--out", str(out), "-q", env=env)
    assert result.returncode == 0, result.stderr


def mark_kept_rows(out: Path) -> None:
    """Tag every row the cache keeps: a row taken from it shows the tag on the page."""
    path = out / ".sitegen" / "rows.pack"
    data = read_cache(path)
    for rec in data["rows"].values():
        rec[3] += MARK
    path.write_text(as_json(data))


def tagged(out: Path) -> int:
    return (out / "index.html").read_text().count(MARK)


def three_tasks(root: Path) -> None:
    for task in ("alpha", "beta", "gamma"):
        for n in range(3):
            write_run(root, task, n, "failed" if n == 1 and task == "beta" else "success")


def test_a_one_shot_update_takes_the_rows_of_unchanged_tasks_and_equals_a_full_build(
    run_root, out, tmp_path
):
    three_tasks(run_root)
    build(run_root, out)
    summary = read_cache(out / ".sitegen" / "summary.pack")
    rows = read_cache(out / ".sitegen" / "rows.pack")
    assert summary["rows"] == rows["token"] and set(rows["rows"]) == {"alpha", "beta", "gamma"}
    mark_kept_rows(out)
    write_run(run_root, "alpha", 3, "failed")  # a minute after the newest: the same day
    build(run_root, out)
    assert tagged(out) == 2  # beta's and gamma's rows, as the cache kept them
    # Without the tags, the page is the one a full build makes.
    page = (out / "index.html").read_text().replace(MARK, "")
    (out / "index.html").write_text(page)
    full = tmp_path / "full"
    build(run_root, full)
    assert snapshot(out) == snapshot(full)


def test_kept_rows_are_not_taken_in_another_time_zone_or_with_other_summaries(run_root, out):
    three_tasks(run_root)
    build(run_root, out)
    mark_kept_rows(out)
    write_run(run_root, "alpha", 3, "failed")
    build(run_root, out, env={**ENV, "TZ": "Asia/Tokyo"})
    assert tagged(out) == 0  # rendered in another zone: none taken
    mark_kept_rows(out)
    path = out / ".sitegen" / "summary.pack"
    summary = read_cache(path)
    summary["rows"] = "0" * 16  # summaries saved with other rows (a crash between the two)
    path.write_text(json.dumps(summary))
    write_run(run_root, "alpha", 4, "success")
    build(run_root, out)
    assert tagged(out) == 0


LANE_MARK = "<!-- kept lane -->"


def mark_lanes(out: Path, items: bool = True, placed: bool = True) -> None:
    """Tag the kept lanes' bars: their prepared markup (`items`, drawn when a lane is
    placed again) and their rects as last placed (`placed`, drawn while they hold)."""
    path = out / ".sitegen" / "rows.pack"
    data = read_cache(path)
    for views in data["lanes"].values():
        for view, kept in views.items():
            if view == "placed":
                for state in kept.values() if placed else ():
                    state[5] = state[5].replace("</rect>", "</rect>" + LANE_MARK)
                continue
            if type(kept) is bytes:  # packed as one blob a lane (timeline.saved_lanes)
                kept = views[view] = marshal.loads(kept)
            for item in kept if items else ():
                item[2] = item[2].replace("</rect>", "</rect>" + LANE_MARK)
    path.write_text(as_json(data))


def repack(path: Path, data: dict) -> None:
    """Write a cache file back packed as sitegen packs it, its digest right: trusted."""
    path.write_bytes(b"".join(pack(data)))


def marked_lanes(page: str) -> list[str]:
    """The bars drawn with a tag, each as its <rect ...> markup."""
    return [part.rsplit("<rect", 1)[-1] for part in page.split(LANE_MARK)[:-1]]


@pytest.mark.parametrize("part", ["items", "placed"])
def test_a_one_shot_update_takes_the_timeline_lanes_of_unchanged_tasks(
    run_root, out, tmp_path, part
):
    three_tasks(run_root)
    build(run_root, out)
    data = read_cache(out / ".sitegen" / "rows.pack")
    assert set(data["lanes"]) == {"alpha", "beta", "gamma"}
    assert all(set(lanes["placed"]) == {"hour"} for lanes in data["lanes"].values())
    # The rects as placed hold for the next window: taken as they are (`placed`); without
    # them (`items`: the placed rects left out) the lanes are placed from their items.
    mark_lanes(out, items=part == "items", placed=part == "placed")
    if part == "items":
        data = read_cache(out / ".sitegen" / "rows.pack")
        for lanes in data["lanes"].values():
            del lanes["placed"]
        (out / ".sitegen" / "rows.pack").write_text(as_json(data))
    write_run(run_root, "alpha", 3, "failed")  # alpha's bars change, the others' stay
    build(run_root, out)
    page = (out / "index.html").read_text()
    # beta's and gamma's bars as the cache kept them; alpha's drawn again
    bars = marked_lanes(page)
    assert bars and all("beta" in bar or "gamma" in bar for bar in bars), bars
    assert any("beta" in bar for bar in bars) and any("gamma" in bar for bar in bars)
    (out / "index.html").write_text(page.replace(LANE_MARK, ""))
    full = tmp_path / "full"
    build(run_root, full)
    assert snapshot(out) == snapshot(full)


def test_kept_rects_are_placed_again_once_a_bar_leaves_the_window(run_root, out, tmp_path):
    for task in ("alpha", "beta"):
        for n in (0, 1, 2, 600):  # the last 10 hours later: the 24-hour view
            write_run(run_root, task, n)
    build(run_root, out)
    assert all(
        set(lanes["placed"]) == {"day"}
        for lanes in read_cache(out / ".sitegen" / "rows.pack")["lanes"].values()
    )
    mark_lanes(out, items=False)
    write_run(run_root, "alpha", 24 * 60 + 5)  # beta's first bars leave the 24 hours
    build(run_root, out)
    page = (out / "index.html").read_text()
    assert marked_lanes(page) == []  # every lane placed again, none as it was kept
    full = tmp_path / "full"
    build(run_root, full)
    assert snapshot(out) == snapshot(full)


def test_a_theme_reading_the_bars_of_kept_lanes_gets_what_a_full_build_gives(
    run_root, out, tmp_path
):
    # Kept rects are markup only; a theme that reads a lane's bars as data (docs/sitegen.md)
    # gets them made again from the kept items, as a full build makes them.
    theme = tmp_path / "bars-theme"
    (theme / "templates").mkdir(parents=True)
    (theme / "templates" / "dashboard.html").write_text(
        "{% for v in timeline.views %}{% for lane in v.lanes %}{{ lane.name }} "
        "{{ lane.bars|length }}:{% for b in lane.bars %}{{ b.id }},{{ b.x }},{{ b.w }},"
        "{{ b.h }},{{ b.title }};{% endfor %}\n{% endfor %}{% endfor %}"
    )
    three_tasks(run_root)
    args = ("--theme", str(theme), "-q")
    assert sitegen("--root", str(run_root), "--out", str(out), *args).returncode == 0
    placed = read_cache(out / ".sitegen" / "rows.pack")["lanes"]["beta"]["placed"]
    write_run(run_root, "alpha", 3, "failed")
    assert sitegen("--root", str(run_root), "--out", str(out), *args).returncode == 0
    kept = read_cache(out / ".sitegen" / "rows.pack")["lanes"]["beta"]["placed"]
    assert kept == placed  # beta's rects as the first process placed them
    full = tmp_path / "full"
    assert sitegen("--root", str(run_root), "--out", str(full), *args).returncode == 0
    page = (out / "index.html").read_text()
    assert "beta 3:" in page and ",6," in page  # bars with their x, w, height and title
    assert page == (full / "index.html").read_text()


def test_lanes_of_a_view_not_drawn_are_not_kept_for_when_it_is_drawn_again(run_root, out, tmp_path):
    # The hour view's lanes, kept from a first process, must not come back after the
    # task's bars changed while only the 24-hour view was drawn (the same number of bars:
    # the build cache takes a lane whose items fit its bars).
    ids = {}
    for task in ("alpha", "beta"):
        for n, status in ((0, "success"), (20, "failed"), (40, "success")):
            ids[task, n] = write_run(run_root, task, n, status)
    build(run_root, out)  # the last hour: the hour view
    late = write_run(run_root, "beta", 120)  # two hours on: the 24-hour view
    shutil.rmtree(run_root / "tasks" / "alpha" / "runs" / ids["alpha", 40])
    write_run(run_root, "alpha", 41, "failed")  # alpha: three bars still, not the same
    build(run_root, out)
    assert 'class="timeline tl-day"' in (out / "index.html").read_text()
    shutil.rmtree(run_root / "tasks" / "beta" / "runs" / late)  # back within the hour
    build(run_root, out)
    assert 'class="timeline tl-hour"' in (out / "index.html").read_text()
    full = tmp_path / "full"
    build(run_root, full)
    assert snapshot(out) == snapshot(full)


def test_kept_lanes_hold_their_items_as_one_blob_read_only_to_place_the_lane_again(
    run_root, out, tmp_path
):
    # rows.pack keeps each lane's prepared items as one marshal blob: a one-shot update
    # unpacks a lane's only when it places the lane again (most lanes hold their rects).
    three_tasks(run_root)
    build(run_root, out)
    path = out / ".sitegen" / "rows.pack"
    data = read_cache(path)
    blobs = [kept for views in data["lanes"].values() for v, kept in views.items() if v != "placed"]
    assert blobs and all(type(b) is bytes for b in blobs)
    assert all(type(i) is list and len(i) == 3 for b in blobs for i in marshal.loads(b))
    for views in data["lanes"].values():
        del views["placed"]  # every lane placed again, from its blob
    repack(path, data)
    write_run(run_root, "alpha", 3, "failed")
    build(run_root, out)
    full = tmp_path / "full"
    build(run_root, full)
    assert snapshot(out) == snapshot(full)
    # An unchanged lane's blob is written back as it was read, not packed again.
    again = read_cache(path)
    assert again["lanes"]["beta"]["hour"] == data["lanes"]["beta"]["hour"]


FORGED = [
    b"not marshal at all",
    marshal.dumps([["<a>", "", "</a>"]]),  # one item for three bars
    marshal.dumps([[1, 2, 3]] * 3),  # items of the wrong type
]


def test_a_forged_lane_blob_is_prepared_again_never_trusted(run_root, out, tmp_path):
    # A blob in a rows.pack whose digest is right (forged, or a sitegen bug) that does not
    # hold a lane's items for its bars: the lane is prepared again from the summary.
    three_tasks(run_root)
    build(run_root, out)
    path = out / ".sitegen" / "rows.pack"
    data = read_cache(path)
    for (_task, views), blob in zip(sorted(data["lanes"].items()), FORGED):
        del views["placed"]
        for view in [v for v in views if v != "placed"]:
            views[view] = blob
    repack(path, data)
    write_run(run_root, "gamma", 3, "failed")  # alpha's and beta's lanes are kept
    result = sitegen("--root", str(run_root), "--out", str(out), "-q")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    full = tmp_path / "full"
    build(run_root, full)
    assert snapshot(out) == snapshot(full)
