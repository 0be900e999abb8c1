"""runwrap retire: a task that is gone leaves ls, check, the metrics and the dashboard; its
runs are kept or deleted; refused while it runs; a retired task that runs again comes back."""

from __future__ import annotations

import json

from helpers.polling import wait_for


def listed(root) -> list[str]:
    result = root.run("ls", "--json")
    assert result.returncode == 0, result.stderr
    return [v["task"] for v in json.loads(result.stdout)]


def test_a_retired_task_is_gone_from_every_list_until_it_runs_again(root, tmp_path):
    out = tmp_path / "out"
    assert root.run("-n", "kept", "--", "true").returncode == 0
    sched = ("--schedule", "* * * * *")
    assert root.run("-n", "old", *sched, "--", "false").returncode == 1
    before = root.sitegen(out)
    assert set(before["tasks"]) == {"kept", "old"}
    assert (out / "tasks" / "old").is_dir()
    retired = root.run("retire", "old")
    assert retired.returncode == 0, retired.stderr
    assert "runs are kept" in retired.stdout
    assert listed(root) == ["kept"]
    assert "old" not in root.run("check", "old").stdout + root.run("check").stdout
    after = root.sitegen(out)  # the same OUT: an update, not a fresh build
    assert set(after["tasks"]) == {"kept"} and after["failing"] == []
    assert not (out / "tasks" / "old").exists()
    assert 'task="old"' not in (out / "metrics").read_text()
    assert len(root.run_ids("old")) == 1  # kept
    assert root.run("show", "old").returncode == 0  # its kept runs are still readable
    named = root.run("ls", "old")  # listed when named, and said to be retired
    assert named.returncode == 0 and "retired by " in named.stdout, named.stdout
    (view,) = json.loads(root.run("ls", "old", "--json").stdout)
    assert view["retired"]["by"] and view["retired"]["at"]
    # It runs again: it is back, with its history.
    assert root.run("-n", "old", *sched, "--", "true").returncode == 0
    assert listed(root) == ["kept", "old"]
    back = root.sitegen(out)
    assert back["tasks"]["old"]["runs"] == 2
    assert 'task="old"' in (out / "metrics").read_text()


def test_retire_delete_runs_removes_them_and_a_new_run_starts_afresh(root):
    for _ in range(3):
        root.run("-n", "gone", "--", "false")
    retired = root.run("retire", "gone", "--delete-runs")
    assert retired.returncode == 0, retired.stderr
    assert root.run_ids("gone") == []
    assert listed(root) == []
    assert root.run("-n", "gone", "--", "true").returncode == 0
    [view] = json.loads(root.run("ls", "--json").stdout)
    assert view["task"] == "gone" and view["state"] == "ok"
    assert view["consecutive_failures"] == 0 and len(root.run_ids("gone")) == 1


def test_retire_is_refused_while_the_task_runs(root):
    proc = root.start("-n", "busy", "--", "sleep", "60")
    wait_for(lambda: json.loads(root.run("ls", "--json").stdout or "[]"), what="the run")
    refused = root.run("retire", "busy")
    assert refused.returncode == 1 and "running" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert listed(root) == ["busy"]
    proc.terminate()
    proc.wait(timeout=30)


def test_a_retired_task_is_back_as_soon_as_it_runs_again(root, tmp_path):
    root.run("-n", "back", "--", "true")
    out = tmp_path / "out"
    root.sitegen(out)
    assert root.run("retire", "back").returncode == 0
    assert "back" not in root.sitegen(out)["tasks"]
    proc = root.start("-n", "back", "--", "sleep", "60")
    wait_for(lambda: listed(root) == ["back"], what="the running task listed again")
    assert root.sitegen(out)["tasks"]["back"]["shown"] == "running"
    proc.terminate()
    proc.wait(timeout=30)
    assert listed(root) == ["back"]
