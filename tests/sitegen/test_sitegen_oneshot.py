"""The one-shot sitegen as cron runs it: --version, and the stamp that answers "nothing
changed" before the renderer is imported (sitegen/build/stamp.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from runwrap import __version__
from runwrap.store.layout import list_run_ids, runs_dir
from sitegen.build.records import RunRecord, TaskEntry
from sitegen.build.stamp import stamp_state
from sitegen.read.files import RunsDir
from sitegen.read.sigs import RACY_S, run_sig

from helpers.runs import BIN
from helpers.sites import ENV, real_root, runwrap, sitegen, snapshot

HEAVY = ("jinja2", "markdown", "multiprocessing", "argparse", "logging")
# A plain command line is parsed without argparse. logging is imported by the first
# message given (sitegen/logs.py), or by markdown (a page with a report).
PLAIN = set(HEAVY) - {"argparse"}


def imported(*args: str) -> set[str]:
    """The modules the installed command imports (python -X importtime), run to success."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(BIN / "sitegen"), *args],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert len(lines) == len(result.stderr.splitlines()), result.stderr  # nothing else said
    return {line.rsplit("|", 1)[1].strip() for line in lines[1:]}


def heavy(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules} & set(HEAVY)


def status(out: Path) -> dict:
    return json.loads((out / "status.json").read_text())


def test_version():
    result = sitegen("--version")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout == f"sitegen {__version__}\n"


def test_nothing_changed_imports_no_renderer_and_a_change_is_still_picked_up(run_root, out):
    real_root(run_root)
    args = ("--root", str(run_root), "--out", str(out))
    assert heavy(imported(*args)) == PLAIN  # the first build renders: the control
    assert (out / ".sitegen" / "stamp.json").is_file()
    before = status(out)
    assert heavy(imported(*args)) == set()
    assert heavy(imported(*args, "-q")) == set()

    assert runwrap(run_root, "report", "echo again; exit 3").returncode == 3
    # An update after one run: the renderer, but neither markdown (no page it renders
    # has a report) nor multiprocessing (a full build's workers), nor argparse, nor
    # logging (nothing to say).
    assert heavy(imported(*args)) == {"jinja2"}
    after = status(out)
    assert after["tasks"]["report"]["runs"] == before["tasks"]["report"]["runs"] + 1
    assert after["tasks"]["report"]["last_status"] == "failed"
    assert heavy(imported(*args)) == set()

    assert runwrap(run_root, "brand new", "true").returncode == 0  # a task that was not there
    assert heavy(imported(*args)) == {"jinja2"}
    report = "printf '# Done\\n' > report.md"
    assert runwrap(run_root, "backup", report).returncode == 0
    assert heavy(imported(*args)) == {"jinja2", "markdown", "logging"}  # its page shows it
    assert status(out)["tasks"]["brand new"]["state"] == "ok"


def collecting(*args: str) -> bool:
    """Whether the cyclic garbage collector ran while `sitegen ARGS` (in a process of its
    own, as the installed command runs) built: main() gives it back as it found it on
    return, so its state then says nothing."""
    code = "import gc, sys\nfrom sitegen.cli import main\nran = []\n"
    code += "gc.callbacks.append(lambda phase, info: ran.append(phase))\n"
    code += "assert main(sys.argv[1:]) == 0\nassert gc.isenabled()\nprint(bool(ran))"
    result = subprocess.run(
        [sys.executable, "-c", code, *args], env=ENV, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return {"True\n": True, "False\n": False}[result.stdout]


def test_an_update_after_one_run_goes_without_the_cyclic_collector(run_root, out, tmp_path):
    # A short process over large acyclic data: the collector's scans were about a tenth
    # of it. A full build (every page, perhaps for long) keeps it.
    real_root(run_root)
    args = ("--root", str(run_root), "--out", str(out))
    assert collecting(*args)  # the first build is a full one
    assert runwrap(run_root, "report", "echo again; exit 3").returncode == 3
    assert not collecting(*args)
    assert runwrap(run_root, "report", "true").returncode == 0
    assert collecting(*args, "--full")
    full = tmp_path / "full"
    assert collecting("--root", str(run_root), "--out", str(full))
    assert snapshot(out) == snapshot(full)


def test_another_command_line_or_a_full_build_is_never_answered_by_the_stamp(run_root, out):
    real_root(run_root)
    args = ("--root", str(run_root), "--out", str(out))
    assert sitegen(*args, "--title", "First").returncode == 0
    assert heavy(imported(*args, "--title", "Second")) == PLAIN
    assert "Second" in (out / "index.html").read_text()
    assert heavy(imported(*args, "--title", "Second", "--full")) == set(HEAVY)
    assert heavy(imported(*args, "--title", "Second")) == set()  # --full stamped it
    (out / "index.html").unlink()
    (out / ".sitegen" / "dirty.json").write_text('["backup"]')  # as a killed update leaves it
    assert heavy(imported(*args, "--title", "Second")) == PLAIN
    assert "Second" in (out / "index.html").read_text()


def test_the_stamp_signs_a_run_as_the_build_cache_does(run_root):
    real_root(run_root)
    for task in ("backup", "report"):
        with RunsDir(str(run_root), task) as runs:
            for run_id in list_run_ids(str(run_root), task):
                expected = runs.sig(run_id)
                assert expected is not None
                assert run_sig(str(Path(runs_dir(str(run_root), task)) / run_id)) == expected
    assert run_sig(str(run_root / "tasks" / "backup" / "runs" / "nothing-here")) is None


def test_no_stamp_trusts_a_directory_changed_as_the_update_began():
    at = 1_800_000_000.0
    old, racy = [int((at - 60) * 1e9), 3, 7], [int((at - RACY_S / 2) * 1e9), 3, 7]
    entry = TaskEntry(old, {}, {}, [])
    assert stamp_state(at, old, {"t": [old, None, None, None]}, {"t": entry}, None) is not None
    assert stamp_state(at, racy, {"t": [old, None, None, None]}, {"t": entry}, None) is None
    assert stamp_state(at, old, {"t": [old, racy, None, None]}, {"t": entry}, None) is None
    assert (
        stamp_state(at, old, {"t": [old, None, None, None]}, {"t": replace(entry, sig=racy)}, None)
        is None
    )
    pending = {"r": RunRecord([*racy, 0, 0, 0, 0], None, False)}
    assert (
        stamp_state(
            at, old, {"t": [old, None, None, None]}, {"t": replace(entry, pending=pending)}, None
        )
        is None
    )


def test_a_theme_template_changed_through_a_linked_directory_is_a_rebuild(run_root, out, tmp_path):
    # A theme may link a directory it shares with others; the template loader follows the
    # link, so what says "nothing changed" (the stamp, the cache's fingerprint) must too.
    real_root(run_root)
    shared = tmp_path / "shared" / "templates"
    shared.mkdir(parents=True)
    base = shared / "base.html"
    base.write_text((BIN.parent.parent / "themes/default/templates/base.html").read_text())
    theme = tmp_path / "mytheme"
    theme.mkdir()
    (theme / "templates").symlink_to(shared)
    (shared / "loop").symlink_to(theme)  # a cycle is walked once
    args = ("--root", str(run_root), "--out", str(out), "--theme", str(theme))
    assert sitegen(*args).returncode == 0
    base.write_text(base.read_text().replace("</footer>", "<p>edited</p></footer>"))
    assert sitegen(*args).returncode == 0
    assert "<p>edited</p>" in (out / "index.html").read_text()


def test_a_theme_static_directory_reached_through_a_link_is_published(run_root, out, tmp_path):
    real_root(run_root)
    shared = tmp_path / "shared"
    (shared / "fonts").mkdir(parents=True)
    (shared / "fonts" / "face.woff2").write_bytes(b"font")
    theme = tmp_path / "mytheme"
    (theme / "static").mkdir(parents=True)
    (theme / "static" / "fonts").symlink_to(shared / "fonts")
    (theme / "static" / "nowhere.css").symlink_to(tmp_path / "missing.css")  # dangling: skipped
    built = sitegen("--root", str(run_root), "--out", str(out), "--theme", str(theme))
    assert built.returncode == 0, built.stderr
    assert (out / "static" / "fonts" / "face.woff2").read_bytes() == b"font"
    assert not (out / "static" / "nowhere.css").exists()
    assert (out / "static" / "app.js").is_file()  # the default theme's files beneath


def test_another_time_zone_reads_the_zone_the_run_recorded(run_root, out, tmp_path):
    # The zone a schedule is read in is decided when its run is recorded and stored by
    # name (docs/schedules.md): a build under another TZ, stamped or full, says the same.
    scheduled = ("--schedule", "0 3 * * *", "--timezone", "Asia/Tokyo")
    assert runwrap(run_root, "daily", "true", *scheduled).returncode == 0
    args = ("--root", str(run_root), "--out", str(out))
    utc, tokyo = {**ENV, "TZ": "UTC"}, {**ENV, "TZ": "Asia/Tokyo"}
    for _ in range(2):  # the second stamps what settled, if the first was too close
        assert sitegen(*args, env=utc).returncode == 0
    assert (out / ".sitegen" / "stamp.json").is_file()
    assert sitegen(*args, env=tokyo).returncode == 0
    full = tmp_path / "full"
    assert sitegen("--root", str(run_root), "--out", str(full), "--full", env=tokyo).returncode == 0
    expected = status(full)["tasks"]["daily"]["next_expected"]
    assert expected.endswith("T18:00:00.000Z")
    assert status(out)["tasks"]["daily"]["next_expected"] == expected


def test_an_out_emptied_by_hand_is_built_again_whole(run_root, out, tmp_path):
    """`rm -rf OUT/*` leaves the hidden cache: neither the stamp nor the cache may
    take it for a site that is still there."""
    real_root(run_root)
    args = ("--root", str(run_root), "--out", str(out))
    assert sitegen(*args).returncode == 0
    for path in out.iterdir():
        if path.name != ".sitegen":
            subprocess.run(["rm", "-rf", str(path)], check=True)
    assert sitegen(*args).returncode == 0  # the stamp was there: a build all the same
    full = tmp_path / "full"
    assert sitegen("--root", str(run_root), "--out", str(full)).returncode == 0
    assert snapshot(out) == snapshot(full)

    assert runwrap(run_root, "backup", "true").returncode == 0  # the cache leads, no stamp now
    (out / "index.html").unlink()
    (out / ".sitegen" / "stamp.json").unlink()
    assert sitegen(*args).returncode == 0
    assert (out / "index.html").is_file()


def test_a_directory_in_place_of_the_stamp_is_mended(run_root, out, tmp_path):
    """The stamp is the build cache's file (OUT/.sitegen is sitegen's to mend): a
    directory in its place is removed, as it was when the stamp was written as JSON,
    never an error on every later update ('cannot build the site: ... Is a directory')."""
    real_root(run_root)
    args = ("--root", str(run_root), "--out", str(out))
    assert sitegen(*args).returncode == 0
    path = out / ".sitegen" / "stamp.json"
    path.unlink()
    (path / "inside").mkdir(parents=True)
    assert runwrap(run_root, "report", "exit 3").returncode == 3
    done = sitegen(*args)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert path.is_file()
    full = tmp_path / "full"
    assert sitegen("--root", str(run_root), "--out", str(full)).returncode == 0
    assert snapshot(out) == snapshot(full)
