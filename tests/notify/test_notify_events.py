"""When notices go out: console on a change only, reminders, after, always, skipped, stuck."""

from __future__ import annotations

import json
import os
import signal
import time

from helpers.polling import wait_for


def hook(url: str, **more: object) -> dict:
    return {"notifiers": {"hook": {"type": "webhook", "url": url, **more}}}


def events(receiver) -> list[str]:
    return [p["event"] for p in receiver.json()]


def test_console_prints_only_when_the_state_changes(rw):
    outputs = []
    for run in (rw.ok, rw.ok, rw.fail, rw.fail, rw.fail, rw.ok, rw.ok):
        result = run(extra=("--notify", "console"))
        outputs.append(result.stdout)
    printed = [bool(out) for out in outputs]
    assert printed == [False, False, True, False, False, True, False]
    assert outputs[2].startswith("[runwrap] FAILED: job on ")
    assert "it broke" in outputs[2]
    assert outputs[5].startswith("[runwrap] RECOVERED: job on ")
    assert "after 3 failing runs" in outputs[5]


def test_console_needs_no_config_at_all(rw):
    rw.config_path.write_text("")
    result = rw.fail(extra=("--notify", "console"))
    assert "FAILED: job" in result.stdout
    assert result.stderr == ""


def test_reminder_goes_out_when_remind_every_has_passed_since_the_last_notice(rw, receiver):
    rw.config(hook(receiver.url, on=["failure", "recovery", "still-failing"], remind_every="1h"))
    rw.fail(extra=("--notify", "hook"))
    rw.fail(extra=("--notify", "hook"))
    assert events(receiver) == ["failure"]
    # Two hours pass: rewrite the recorded time of the last notice rather than sleep.
    state_file = rw.task_dir() / "notify.json"
    state = json.loads(state_file.read_text())
    last = state["hook"]["last_notice_at"]
    state["hook"]["last_notice_at"] = time.strftime(
        "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 7200)
    )
    state_file.write_text(json.dumps(state))
    rw.fail(extra=("--notify", "hook"))
    rw.fail(extra=("--notify", "hook"))
    assert events(receiver) == ["failure", "still-failing"]
    reminder = receiver.json()[1]
    assert reminder["failures"] == 3
    assert reminder["failing_since"] == receiver.json()[0]["started_at"]
    assert rw.ledger()["hook"]["last_notice_at"] > last
    rw.ok(extra=("--notify", "hook"))
    assert events(receiver) == ["failure", "still-failing", "recovery"]


def test_reminders_with_a_short_remind_every(rw, receiver):
    rw.config(hook(receiver.url, on=["failure", "still-failing"], remind_every="0.2s"))
    # Each run lasts longer than remind_every: every failing run after the first reminds.
    for _ in range(3):
        rw.run("--notify", "hook", "--", "sh", "-c", "sleep 0.25; exit 1")
    assert events(receiver) == ["failure", "still-failing", "still-failing"]


def test_after_n_failing_runs_in_a_row(rw, receiver):
    rw.config(hook(receiver.url, after=3))
    rw.fail(extra=("--notify", "hook"))
    rw.fail(extra=("--notify", "hook"))
    rw.ok(extra=("--notify", "hook"))  # a flake: no failure, so no recovery either
    assert events(receiver) == []
    for _ in range(3):
        rw.fail(extra=("--notify", "hook"))
    assert events(receiver) == ["failure"]
    assert receiver.json()[0]["failures"] == 3
    rw.ok(extra=("--notify", "hook"))
    assert events(receiver) == ["failure", "recovery"]


def test_always_tells_every_run(rw, receiver):
    rw.config(hook(receiver.url, on=["always"]))
    rw.ok(extra=("--notify", "hook"))
    rw.ok(extra=("--notify", "hook"))
    rw.fail(extra=("--notify", "hook"))
    assert events(receiver) == ["always", "always", "always"]
    assert [p["status"] for p in receiver.json()] == ["success", "success", "failed"]


def test_recovery_only_to_a_notifier_told_about_the_failure(rw, receiver):
    rw.config(hook(receiver.url, on=["recovery"]))
    rw.fail(extra=("--notify", "hook"))
    rw.ok(extra=("--notify", "hook"))
    assert events(receiver) == []


def start_holder(rw, tmp_path):
    """A run of the task that holds the overlap guard until the test releases it."""
    release = tmp_path / "release"
    script = f"while [ ! -e {release} ]; do sleep 0.02; done"
    proc = rw.start("--", "sh", "-c", script)
    wait_for(
        lambda: any(m["status"] == "running" for m in rw.manifests()), what="the holder to start"
    )
    return proc, release


def test_skipped_runs(rw, receiver, tmp_path):
    rw.config(hook(receiver.url, on=["skipped"]))
    holder, release = start_holder(rw, tmp_path)
    try:
        result = rw.ok(extra=("--notify", "hook"))
        assert result.returncode == 0
    finally:
        release.touch()
        holder.communicate(timeout=30)
    [payload] = receiver.json()
    assert payload["event"] == "skipped"
    assert payload["status"] == "skipped"


def test_stuck_is_said_once_when_k_runs_in_a_row_were_refused(rw, receiver, tmp_path):
    rw.config(hook(receiver.url, stuck_after=2))
    holder, release = start_holder(rw, tmp_path)
    try:
        for _ in range(4):
            rw.ok(extra=("--notify", "hook"))
    finally:
        release.touch()
        holder.communicate(timeout=30)
    assert events(receiver) == ["stuck"]
    assert receiver.json()[0]["skips"] == 2
    holder_run = rw.manifests()[0]["run_id"]
    assert receiver.json()[0]["holder"].startswith(f"{holder_run}, running for ")


def test_a_lost_run_is_a_failure(rw, receiver, tmp_path):
    rw.config(hook(receiver.url))
    proc = rw.start("--notify", "hook", "--", "sleep", "30")
    running = wait_for(
        lambda: [m for m in rw.manifests() if m["status"] == "running" and m["pgid"]],
        what="the job to start",
    )
    # runwrap dies without a word (kill -9, a crash): its job goes with it here.
    proc.kill()
    proc.communicate(timeout=30)
    os.killpg(running[0]["pgid"], signal.SIGKILL)
    rw.ok(extra=("--notify", "hook"))
    assert events(receiver) == ["failure", "recovery"]
    assert receiver.json()[0]["status"] == "lost"
    lost = rw.manifests()[0]
    assert lost["status"] == "lost"
    assert [(a["event"], a["ok"]) for a in rw.notifications(0)] == [("failure", True)]


def test_a_notifier_left_out_during_a_recovery_hears_about_the_next_failure(rw, receiver):
    rw.config(hook(receiver.url))
    rw.fail(extra=("--notify", "hook"))
    rw.ok()  # this run does not use the notifier: it never hears of the recovery
    rw.fail(extra=("--notify", "hook"))
    assert events(receiver) == ["failure", "failure"]


def test_notices_count_in_english():
    from runwrap.notify.message import context

    def summary(event: str, **info: object) -> str:
        manifest = {"task": "job", "host": "web1", "status": "success"}
        return context(event, manifest, None, info)["summary"]

    since = {"failing_since": "2026-11-22T04:37:33.000Z"}
    assert "after 1 failing run since" in summary("recovery", failures=1, **since)
    assert "after 2 failing runs since" in summary("recovery", failures=2, **since)
    assert ": 1 failing run in a row" in summary("still-failing", failures=1, **since)
    assert ": 1 run in a row was refused" in summary("stuck", skips=1)
    assert ": 3 runs in a row were refused" in summary("stuck", skips=3)
