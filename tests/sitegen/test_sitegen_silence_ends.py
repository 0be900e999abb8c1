"""A silence that ends, or a recurring mute window that opens, with no file changing:
the pages follow the clock, as for lateness (sitegen/read/late.py). Neither the
one-shot's no-change check (stamp.py: its `due`) nor a long-lived sitegen's kept
answers (LateView) may keep showing a mute that is over."""

from __future__ import annotations

import json
import os
import subprocess
import time

from runwrap.timefmt import iso, parse_iso
from sitegen.build.site import Site
from sitegen.read.late import silence_change
from sitegen.read.sigs import RACY_S

from helpers.clock import needs_libfaketime
from helpers.polling import wait_for
from helpers.sites import BIN, ENV, build_later, past_racy_window, runwrap, site_config, sitegen


def mute(run_root, task: str, length: str) -> None:
    result = subprocess.run(
        [str(BIN / "runwrap"), "mute", "--root", str(run_root), task, "--for", length,
         "--reason", "moving the NAS"],
        env=ENV, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def muted(out) -> object:
    return json.loads((out / "status.json").read_text())["tasks"]["a"]["muted"]


@needs_libfaketime
def test_a_one_shot_update_after_a_mute_ended_does_not_say_nothing_changed(run_root, out):
    assert runwrap(run_root, "a", "true").returncode == 0
    mute(run_root, "a", "1m")
    assert sitegen("--root", str(run_root), "--out", str(out), "-q").returncode == 0
    assert muted(out)["reason"] == "moving the NAS"
    past_racy_window(run_root)  # the next build may trust the stamp
    assert sitegen("--root", str(run_root), "--out", str(out), "-q").returncode == 0
    build_later(run_root, out, 2)  # two minutes on: the mute is over, no file changed
    assert muted(out) is None


@needs_libfaketime
def test_a_one_shot_update_after_a_mute_window_opened_shows_it(run_root, out, tmp_path):
    # A recurring window recorded with the run opens a few minutes from now: no file
    # changes then, and the next one-shot update must not say that nothing changed.
    opens = time.gmtime(time.time() + 180)  # the window's minute, 2 to 3 minutes on
    config = tmp_path / "config.yaml"
    config.write_text(
        "tasks:\n  a:\n    timezone: UTC\n    mute_windows:\n"
        f'      - {{schedule: "{opens.tm_min} {opens.tm_hour} * * *", for: 10m,'
        " reason: backups}\n"
    )
    assert (
        runwrap(run_root, "a", "true", env={**ENV, "RUNWRAP_CONFIG": str(config)}).returncode == 0
    )
    assert sitegen("--root", str(run_root), "--out", str(out), "-q").returncode == 0
    assert muted(out) is None
    past_racy_window(run_root)  # the next build may trust the stamp
    assert sitegen("--root", str(run_root), "--out", str(out), "-q").returncode == 0
    build_later(run_root, out, 5)  # within the window
    assert muted(out)["kind"] == "window" and muted(out)["reason"] == "backups"


def test_a_kept_answer_is_asked_again_once_its_mute_ends(run_root, out):
    assert runwrap(run_root, "a", "true").returncode == 0
    mute(run_root, "a", "1s")
    site = Site(site_config(run_root, out))
    site.update()
    changed = os.stat(run_root / "tasks" / "a").st_mtime
    wait_for(lambda: time.time() > changed + 2 * RACY_S, what="the racy window to pass")
    site.update()
    assert "a" in site.late._kept and muted(out) is not None
    until = parse_iso(muted(out)["until"])
    assert site.late.due is not None and abs(site.late.due - until) < 0.002
    wait_for(lambda: time.time() > site.late.due, what="the mute to end")
    site.update()
    assert muted(out) is None


def test_when_a_tasks_silences_change_next():
    now = 1_800_000_000.0  # 2027-01-15 08:00 UTC
    assert silence_change({"silence": None, "state": {}}, now) is None
    ends = {"kind": "mute", "until": iso(now + 600)}
    assert silence_change({"silence": ends, "state": {}}, now) == now + 600
    over = {"kind": "mute", "until": iso(now - 600)}  # read before it ended: asked again now
    assert silence_change({"silence": over, "state": {}}, now) == now
    window = {"expr": "0 9 * * *", "timezone": None, "for_s": 3600, "reason": "backups"}
    state = {"mute_windows": [window]}
    assert silence_change({"silence": None, "state": state}, now) == now + 3600  # 09:00
    bad = {"mute_windows": [{"expr": "not cron", "for_s": 60}, "junk", None]}
    assert silence_change({"silence": {"until": 5}, "state": bad}, now) is None
