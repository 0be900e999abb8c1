"""The everyday cases where the surfaces used to tell different stories (issue 18), each through
the real commands: a skipped tick is never the last run, totals add up, nothing stale."""

from __future__ import annotations

import json
from pathlib import Path

from helpers.polling import wait_for
from helpers.runs import Root


def _ls(root: Root) -> dict:
    listing = root.run("ls", "--json")
    assert listing.returncode == 0, listing.stderr
    return {v["task"]: v for v in json.loads(listing.stdout)}


def test_a_skipped_tick_is_never_the_last_run_on_any_surface(root: Root, tmp_path: Path) -> None:
    assert root.run("-n", "long", "--", "true").returncode == 0  # a real run before
    long = root.start("-n", "long", "--", "sleep", "30")
    wait_for(lambda: any(m.get("pid") for m in root.manifests_so_far("long")), what="the job")
    assert root.run("-n", "long", "--", "true").returncode == 0  # skipped: it still runs
    first, running, skipped = root.run_ids("long")
    assert root.manifest("long", skipped)["status"] == "skipped"

    v = _ls(root)["long"]
    assert v["status"] == "success" and v["last_run"]["run_id"] == first
    assert v["running"] == [running] and v["consecutive_skips"] == 1
    assert "skipped" not in root.run("ls").stdout
    shown = json.loads(root.run("show", "--json", "long").stdout)
    assert shown["run_id"] == running and shown["status"] == "running"
    t = root.sitegen(tmp_path / "site")["tasks"]["long"]
    assert (t["state"], t["shown"], t["running"]) == ("ok", "running", [running])
    assert t["last_run"]["run_id"] == first and t["last_run"]["duration_s"] is not None

    # Something stops it (a TERM from outside: `runwrap kill` would be an operator's kill,
    # which keeps the health): the killed run, not the 0 ms tick, is the task's last run.
    long.terminate()
    long.wait(timeout=30)
    v = _ls(root)["long"]
    assert v["last_run"]["run_id"] == running and v["status"] == "killed"
    assert v["running"] == [] and v["state"] == "failing"
    t = root.sitegen(tmp_path / "site")["tasks"]["long"]
    assert t["last_run"]["run_id"] == running and t["last_status"] == "killed"
    row = (tmp_path / "site" / "index.html").read_text()
    assert f"{running}" in row and f'runs/{skipped}/index.html">' not in row.split("Last 30")[0]


def test_the_totals_partition_the_tasks_with_running_and_late_beside(
    root: Root, tmp_path: Path
) -> None:
    assert root.run("-n", "good", "--", "true").returncode == 0
    assert root.run("-n", "bad", "--", "false").returncode == 1
    busy = root.start("-n", "busy", "--", "sleep", "30")  # its first run: never told health
    wait_for(lambda: any(m.get("pid") for m in root.manifests_so_far("busy")), what="busy")
    root.run("-n", "also", "--", "true")
    again = root.start("-n", "also", "--", "sleep", "30")  # ok, and running
    wait_for(lambda: len(root.run_ids("also")) == 2 and root.manifest("also").get("pid"))
    status = root.sitegen(tmp_path / "site")
    totals = status["totals"]
    assert totals == {
        "tasks": 4, "failing": 1, "unreadable": 0, "ok": 2, "never": 1, "running": 2, "late": 0
    }  # fmt: skip
    buckets = ("failing", "unreadable", "ok", "never")
    assert sum(totals[b] for b in buckets) == totals["tasks"]
    html = (tmp_path / "site" / "index.html").read_text()
    order = [html.index(f'data-task="{t}"') for t in ("bad", "also", "busy", "good")]
    assert order == sorted(order)  # failing, then running (ok or never), then ok
    busy.terminate()
    again.terminate()
    busy.wait(timeout=30)
    again.wait(timeout=30)


def test_nothing_stale_is_left_in_the_state_after_a_recovery(root: Root) -> None:
    assert root.run("-n", "t", "--", "false").returncode == 1
    assert root.state("t")["failing_since"] is not None
    assert root.run("-n", "t", "--", "true").returncode == 0
    state = root.state("t")
    assert state["failing_since"] is None and state["consecutive_failures"] == 0
    v = _ls(root)["t"]
    assert v["failing_since"] is None and v["state"] == "ok"


def test_a_lost_run_is_the_same_story_before_and_after_it_is_finalized(root: Root) -> None:
    assert root.run("-n", "t", "--", "true").returncode == 0
    proc = root.start("-n", "t", "--", "sleep", "30")
    wait_for(lambda: len(root.run_ids("t")) == 2 and root.manifest("t").get("pid"), what="job")
    lost = root.run_ids("t")[-1]
    proc.kill()  # runwrap SIGKILLed before its watcher: the run is lost, not finalized yet
    proc.wait()
    before = _ls(root)["t"]
    assert before["lost"] == [lost] and before["state"] == "failing"
    assert before["status"] == "lost" and before["last_run"]["run_id"] == lost
    assert root.run("-n", "t", "--", "false").returncode == 1  # finalizes it, then fails
    after = _ls(root)["t"]
    assert after["lost"] == [] and after["since"] == before["since"]
    assert after["consecutive_failures"] == 2


def test_a_task_whose_runs_cannot_be_read_is_unreadable_on_every_surface(
    root: Root, tmp_path: Path
) -> None:
    """runs/ replaced by a symlink (runwrap never follows one, so its runs cannot be read):
    not "success" from a state.json that nothing can check, nor "no runs yet"."""
    assert root.run("-n", "a", "--", "false").returncode == 1
    assert root.run("-n", "b", "--", "true").returncode == 0
    runs = root.task_dir("a") / "runs"
    runs.rename(tmp_path / "elsewhere")
    runs.symlink_to(tmp_path / "elsewhere")

    v = _ls(root)["a"]
    assert (v["state"], v["shown"]) == ("unreadable", "unreadable"), v
    for args in (["show", "a"], ["history", "a"], ["tail", "a"]):
        result = root.run(*args)
        assert result.returncode == 2, (args, result)
        assert result.stdout == "" and len(result.stderr.splitlines()) == 1, (args, result)
        assert "cannot be read" in result.stderr and "runs" in result.stderr, (args, result)
    check = root.run("check")
    assert check.returncode == 2 and "a: cannot be read" in check.stdout, check
    t = root.sitegen(tmp_path / "site")["tasks"]["a"]
    assert t["state"] == "unreadable", t
    assert root.run("show", "b").returncode == 0  # the other task reads as before
