"""An operator's week through the real CLI and real receivers (HTTP, SMTP): mute and
unmute, acknowledge, kill with a reason. Nothing is mocked."""

from __future__ import annotations

import json

from helpers.polling import wait_for
from helpers.runs import Root, assert_one_line_error


def hook(url: str, **more: object) -> dict:
    return {"notifiers": {"hook": {"type": "webhook", "url": url + "/hook", **more}}}


def cli(rw, *args: str, **env: str):
    """A control subcommand (`runwrap mute ...`) as an operator types it."""
    return Root.run(rw, *args, env={**rw.env, "LOGNAME": "alice", **env})


def events(receiver) -> list[str]:
    return [p["event"] for p in receiver.json()]


def view(rw, task: str = "job") -> dict:
    listed = json.loads(cli(rw, "ls", "--json").stdout)
    return next(v for v in listed if v["task"] == task)


HOOK = ("--notify", "hook")


def test_a_muted_failing_task_sends_nothing_and_every_surface_says_why(rw, receiver, mailbox):
    data = hook(receiver.url)
    data["notifiers"]["mail"] = {
        "type": "email", "host": "127.0.0.1", "port": mailbox.port, "security": "none",
        "to": "ops@example.org",
    }  # fmt: skip
    rw.config(data)
    both = ("--notify", "hook", "--notify", "mail")
    rw.ok(extra=both)
    muted = cli(rw, "mute", "job", "--for", "1h", "--reason", "moving the NAS")
    assert muted.returncode == 0, muted.stderr
    assert "muted job until" in muted.stdout and "by alice: moving the NAS" in muted.stdout
    for _ in range(3):
        assert rw.fail(extra=both).returncode == 1  # recorded, exit status as always
    assert receiver.requests == [] and mailbox.messages == []
    assert [m["status"] for m in rw.manifests()] == ["success", "failed", "failed", "failed"]
    v = view(rw)
    assert v["state"] == "failing"
    assert v["muted"]["by"] == "alice" and v["muted"]["reason"] == "moving the NAS"
    assert "job: muted until " in cli(rw, "ls").stdout
    assert "muted until" in cli(rw, "show", "job").stdout
    out = rw.tmp / "out"
    task = rw.sitegen(out)["tasks"]["job"]
    assert task["muted"]["reason"] == "moving the NAS"
    assert "by alice: moving the NAS" in (out / "index.html").read_text()
    assert 'runwrap_task_muted{task="job"} 1' in (out / "metrics").read_text()


def test_a_silence_that_ends_tells_once_when_the_state_changed_under_it(rw, receiver):
    rw.config(hook(receiver.url))
    rw.ok(extra=HOOK)
    cli(rw, "mute", "job", "--for", "1h", "--reason", "maintenance")
    rw.fail(extra=HOOK)
    rw.fail(extra=HOOK)
    assert events(receiver) == []
    assert cli(rw, "unmute", "job").returncode == 0
    assert view(rw)["muted"] is None
    rw.fail(extra=HOOK)
    rw.fail(extra=HOOK)
    assert events(receiver) == ["failure"]  # ok when it began, failing now: one notice
    rw.ok(extra=HOOK)
    assert events(receiver) == ["failure", "recovery"]


def test_a_silence_that_ends_with_the_state_it_began_with_tells_nothing(rw, receiver):
    rw.config(hook(receiver.url))
    rw.fail(extra=HOOK)
    assert events(receiver) == ["failure"]
    cli(rw, "mute", "job", "--for", "1h", "--reason", "fixing it")
    rw.ok(extra=HOOK)  # recovered and failed again while muted
    rw.fail(extra=HOOK)
    cli(rw, "unmute", "job")
    rw.fail(extra=HOOK)
    assert events(receiver) == ["failure"]  # failing then, failing now: nothing new
    rw.ok(extra=HOOK)
    assert events(receiver) == ["failure", "recovery"]


def test_a_mute_ends_by_itself(rw, receiver):
    rw.config(hook(receiver.url))
    rw.ok(extra=HOOK)
    cli(rw, "mute", "job", "--for", "1s", "--reason", "a short one")
    rw.fail(extra=HOOK)
    assert events(receiver) == []
    wait_for(lambda: view(rw)["muted"] is None, what="the mute to end")
    rw.fail(extra=HOOK)
    assert events(receiver) == ["failure"]


def test_a_mute_by_label_mutes_only_the_tasks_with_that_label(rw, receiver):
    rw.config(hook(receiver.url))
    rw.ok(task="db", extra=(*HOOK, "--label", "team=db"))
    rw.ok(task="web", extra=(*HOOK, "--label", "team=web"))
    assert (
        cli(rw, "mute", "--label", "team=db", "--for", "1h", "--reason", "upgrade").returncode == 0
    )
    rw.fail(task="db", extra=(*HOOK, "--label", "team=db"))
    rw.fail(task="web", extra=(*HOOK, "--label", "team=web"))
    assert [(p["event"], p["task"]) for p in receiver.json()] == [("failure", "web")]
    assert view(rw, "db")["muted"]["reason"] == "upgrade"
    assert view(rw, "web")["muted"] is None
    cli(rw, "mute", "--all", "--for", "1h", "--reason", "network")
    assert view(rw, "web")["muted"]["reason"] == "network"
    assert cli(rw, "unmute", "--all").returncode == 0
    assert view(rw, "db")["muted"] is None and view(rw, "web")["muted"] is None


def test_mute_needs_a_reason_a_length_and_an_existing_task(rw):
    rw.ok()
    assert_one_line_error(cli(rw, "mute", "job", "--for", "1h"), "--reason")
    assert_one_line_error(cli(rw, "mute", "job", "--reason", "x"), "--for")
    assert_one_line_error(
        cli(rw, "mute", "job", "--until", "2001-01-01 00:00", "--reason", "x"), "--until"
    )
    result = cli(rw, "mute", "nosuch", "--for", "1h", "--reason", "x")
    assert result.returncode != 0 and "nosuch" in result.stderr and "Traceback" not in result.stderr


def test_an_acknowledged_task_stops_reminding_and_tells_its_recovery(rw, receiver):
    rw.config(hook(receiver.url, on=["failure", "recovery", "still-failing"], remind_every="0.2s"))
    slow_fail = ("--notify", "hook", "--", "sh", "-c", "sleep 0.25; exit 1")
    rw.run(*slow_fail)
    rw.run(*slow_fail)
    assert events(receiver) == ["failure", "still-failing"]
    acked = cli(rw, "ack", "job", "--reason", "ticket 123")
    assert acked.returncode == 0, acked.stderr
    rw.run(*slow_fail)
    rw.run(*slow_fail)
    assert events(receiver) == ["failure", "still-failing"]  # no more reminders
    v = view(rw)
    assert v["ack"]["by"] == "alice" and v["ack"]["reason"] == "ticket 123" and v["ack"]["at"]
    assert "job: acknowledged by alice at" in cli(rw, "ls").stdout
    rw.ok(extra=HOOK)
    assert events(receiver) == ["failure", "still-failing", "recovery"]
    assert view(rw)["ack"] is None  # it belonged to that failure
    rw.run(*slow_fail)
    rw.run(*slow_fail)
    assert events(receiver)[-2:] == ["failure", "still-failing"]  # a new failure reminds


def test_ack_is_refused_for_a_task_that_is_not_failing(rw):
    rw.ok()
    assert_one_line_error(cli(rw, "ack", "job"), "not failing", code=1)


def test_an_operator_kill_is_recorded_with_its_reason_and_pages_nobody(rw, receiver):
    rw.config(hook(receiver.url))
    rw.ok(extra=HOOK)
    proc = rw.start(*HOOK, "--", "sleep", "60")
    wait_for(lambda: view(rw)["running"], what="the run to start")
    killed = cli(rw, "kill", "job", "--reason", "wrong night", SUDO_USER="bob")
    assert killed.returncode == 0, killed.stderr
    assert "by bob: wrong night" in killed.stdout
    proc.wait(timeout=30)
    last = rw.manifests()[-1]
    assert last["status"] == "killed"
    assert last["stopped_by"]["by"] == "bob" and last["stopped_by"]["reason"] == "wrong night"
    assert last["reason"] == "killed by bob: wrong night"
    assert receiver.requests == []  # never a failure
    v = view(rw)
    assert v["state"] == "ok" and v["consecutive_failures"] == 0  # health as it was
    assert v["last_run"]["stopped_by"]["by"] == "bob"
    assert "killed by bob: wrong night" in cli(rw, "ls").stdout
    assert not (rw.task_dir() / "kills" / f"{last['run_id']}.json").exists()
    out = rw.tmp / "out"
    task = rw.sitegen(out)["tasks"]["job"]
    assert task["state"] == "ok" and task["success_rate"] == 100.0  # the kill not counted
    assert task["last_run"]["stopped_by"] == "bob"
    assert "last run killed by bob: wrong night" in " ".join(task["notes"])
    assert "killed by bob: wrong night" in (out / "index.html").read_text()
    assert "<entry>" not in (out / "tasks" / "job" / "feed.atom").read_text()  # no failure
    rw.fail(extra=HOOK)  # the next change of state is told as usual
    assert events(receiver) == ["failure"]


def test_an_operator_kill_tells_healthchecks_the_health_it_left_never_a_failure(rw, receiver):
    rw.config({"notifiers": {"hc": {"type": "healthchecks", "url": receiver.url + "/ping/abc"}}})
    rw.ok(extra=("--notify", "hc"))
    proc = rw.start("--notify", "hc", "--", "sleep", "60")
    wait_for(lambda: view(rw)["running"], what="the run to start")
    assert cli(rw, "kill", "job", "--reason", "by hand").returncode == 0
    proc.wait(timeout=30)
    paths = [r["path"].split("?")[0] for r in receiver.requests]
    # The task was ok and stays ok: the run's /start is closed as such (a /start left
    # open would make Healthchecks call the check down after its grace).
    assert paths == ["/ping/abc/start", "/ping/abc", "/ping/abc/start", "/ping/abc"]
    assert "killed by alice: by hand" in receiver.requests[-1]["body"].decode()


def test_a_kill_note_of_a_run_that_ended_by_itself_is_swept_by_the_next_kill(rw):
    rw.ok()
    kills = rw.task_dir() / "kills"
    kills.mkdir()
    stale = kills / f"{rw.manifests()[0]['run_id']}.json"
    stale.write_text('{"by": "alice", "at": null, "reason": "too late"}')
    proc = rw.start("--", "sleep", "60")
    wait_for(lambda: view(rw)["running"], what="the run to start")
    assert cli(rw, "kill", "job").returncode == 0
    proc.wait(timeout=30)
    assert not stale.exists() and list(kills.iterdir()) == []
    assert rw.manifests()[-1]["stopped_by"]["by"] == "alice"
