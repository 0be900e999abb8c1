"""A mute written on a host whose clock is ahead of this one's (a shared ROOT) holds from
its `since`, a moment no file changes at: the one-shot's no-change check (stamp.py: its
`due`) and a long-lived sitegen's kept answers (LateView) must not keep showing the task
unmuted once it begins, as for a mute that ends (test_sitegen_silence_ends.py)."""

from __future__ import annotations

import json
import os
import subprocess
import time

from runwrap.timefmt import iso
from sitegen.build.site import Site
from sitegen.read.sigs import RACY_S

from helpers.clock import needs_libfaketime, shifted
from helpers.polling import wait_for
from helpers.sites import BIN, ENV, build_later, past_racy_window, runwrap, site_config, sitegen


def mute_from_ahead(run_root, task: str, ahead: str | None) -> None:
    """`runwrap mute TASK --for 1h` on a host whose clock is `ahead` of this one's (None:
    this host)."""
    result = subprocess.run(
        [str(BIN / "runwrap"), "mute", "--root", str(run_root), task, "--for", "1h",
         "--reason", "from ahead"],
        env=ENV if ahead is None else shifted(ENV, ahead), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def muted(out) -> object:
    return json.loads((out / "status.json").read_text())["tasks"]["a"]["muted"]


@needs_libfaketime
def test_a_one_shot_update_after_a_mute_began_does_not_say_nothing_changed(run_root, out):
    assert runwrap(run_root, "a", "true").returncode == 0
    mute_from_ahead(run_root, "a", "+1m")
    assert sitegen("--root", str(run_root), "--out", str(out), "-q").returncode == 0
    assert muted(out) is None  # not begun here yet
    past_racy_window(run_root)  # the next build may trust the stamp
    assert sitegen("--root", str(run_root), "--out", str(out), "-q").returncode == 0
    build_later(run_root, out, 2)  # two minutes on: the mute holds, no file changed
    assert muted(out)["reason"] == "from ahead"


def test_a_kept_answer_holds_only_until_a_mute_begins(run_root, out):
    assert runwrap(run_root, "a", "true").returncode == 0
    mute_from_ahead(run_root, "a", None)
    # As a host whose clock is a minute ahead writes it (its touch of the task's
    # directory is dated by the file system, here: this host's clock).
    path = next((run_root / "silences").glob("*.json"))
    mute = json.loads(path.read_text())
    since = time.time() + 60
    mute.update(since=iso(since), until=iso(since + 3600))
    path.write_text(json.dumps(mute))
    site = Site(site_config(run_root, out))
    site.update()
    changed = os.stat(run_root / "tasks" / "a").st_mtime
    wait_for(lambda: time.time() > changed + 2 * RACY_S, what="the racy window to pass")
    site.update()
    assert muted(out) is None and "a" in site.late._kept
    assert site.late._kept["a"].until <= since + 0.001  # asked again when it begins
    assert site.late.due is not None and site.late.due <= since + 0.001  # the watcher wakes
