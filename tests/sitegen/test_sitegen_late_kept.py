"""A long-lived sitegen keeps each task's lateness (and its metrics lines) while the
task's files stay (sitegen/read/late.py): a task whose state changes is asked again."""

from __future__ import annotations

import json
import os
import time

from sitegen.build.site import Site
from sitegen.read.sigs import RACY_S

from helpers.polling import wait_for
from helpers.sites import runwrap, site_config


def test_a_kept_answer_is_asked_again_when_the_tasks_state_changes(run_root, out):
    for task in ("a", "b"):
        assert runwrap(run_root, task, "true", "--schedule", "*/5 * * * *").returncode == 0
    site = Site(site_config(run_root, out))
    site.update()
    # Kept only once the task directories are older than an update's racy window.
    changed = max(os.stat(run_root / "tasks" / t).st_mtime for t in ("a", "b"))
    wait_for(lambda: time.time() > changed + 2 * RACY_S, what="the racy window to pass")
    site.update()
    assert {"a", "b"} <= site.late._kept.keys()  # asked once, kept
    assert runwrap(run_root, "a", "true", "--schedule", "0 3 * * *").returncode == 0
    site.update()
    tasks = json.loads((out / "status.json").read_text())["tasks"]
    assert tasks["a"]["schedule"] == "0 3 * * *" and tasks["a"]["runs"] == 2
    assert tasks["b"]["schedule"] == "*/5 * * * *"
    metrics = (out / "metrics").read_text()
    assert 'runwrap_task_runs_total{task="a",status="success"} 2' in metrics
    assert 'runwrap_task_runs_total{task="b",status="success"} 1' in metrics


def test_a_state_edited_in_place_is_asked_again(run_root, out):
    # An editor that writes a file in place (nano, `>`) leaves its directory's mtime as it
    # was: the answer kept for a task without a schedule (it holds forever) must not stay.
    assert runwrap(run_root, "a", "true").returncode == 0
    site = Site(site_config(run_root, out))
    site.update()
    changed = os.stat(run_root / "tasks" / "a").st_mtime
    wait_for(lambda: time.time() > changed + 2 * RACY_S, what="the racy window to pass")
    site.update()
    assert "a" in site.late._kept
    path = run_root / "tasks" / "a" / "state.json"
    state = json.loads(path.read_text())
    state["schedule"] = {"expr": "0 3 * * *", "timezone": None, "grace_s": None}
    with open(path, "r+") as f:
        f.write(json.dumps(state))
        f.truncate()
    site.update()
    assert json.loads((out / "status.json").read_text())["tasks"]["a"]["schedule"] == "0 3 * * *"
