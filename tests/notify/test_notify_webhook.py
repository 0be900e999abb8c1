"""Webhooks against a real HTTP server on 127.0.0.1: nospam, formats, a hanging server."""

from __future__ import annotations

import json

import pytest


def hook(url: str, **more: object) -> dict:
    return {"notifiers": {"hook": {"type": "webhook", "url": url + "/hook", **more}}}


def test_fail_fail_fail_success_sends_exactly_failure_and_recovery(rw, receiver):
    rw.config(hook(receiver.url))
    for _ in range(3):
        assert rw.fail(extra=("--notify", "hook")).returncode == 1
    assert rw.ok(extra=("--notify", "hook")).returncode == 0
    events = [p["event"] for p in receiver.json()]
    assert events == ["failure", "recovery"]
    failure, recovery = receiver.json()
    assert failure["task"] == "job"
    assert failure["status"] == "failed"
    assert failure["exit_code"] == 1
    assert failure["failures"] == 1
    assert failure["output_name"] == "stderr"
    assert "it broke" in failure["output_tail"]
    assert recovery["failures"] == 3
    assert recovery["failing_since"] == failure["started_at"]
    assert receiver.requests[0]["headers"]["Content-Type"] == "application/json"


def test_first_run_that_succeeds_notifies_nothing(rw, receiver):
    rw.config(hook(receiver.url))
    assert rw.ok(extra=("--notify", "hook")).returncode == 0
    assert receiver.requests == []
    assert rw.notifications(0) == []


def test_first_run_that_fails_is_a_failure(rw, receiver):
    rw.config(hook(receiver.url))
    rw.fail(extra=("--notify", "hook"))
    assert [p["event"] for p in receiver.json()] == ["failure"]
    [attempt] = rw.notifications(0)
    assert attempt["notifier"] == "hook"
    assert attempt["event"] == "failure"
    assert attempt["ok"] is True
    assert attempt["error"] is None


def test_task_notify_from_config_and_run_link(rw, receiver):
    data = hook(receiver.url)
    data["tasks"] = {"my job": {"notify": ["hook"]}}
    data["site"] = {"site_url": "https://jobs.example/dash/"}
    rw.config(data)
    rw.fail(task="my job")
    [payload] = receiver.json()
    run_id = rw.manifests("my job")[0]["run_id"]
    assert payload["url"] == f"https://jobs.example/dash/tasks/my%20job/runs/{run_id}/"


def test_slack_format_and_custom_headers(rw, receiver):
    rw.config(hook(receiver.url, format="slack", headers={"X-Token": "abc"}))
    rw.fail(extra=("--notify", "hook"))
    [request] = receiver.requests
    assert request["headers"]["X-Token"] == "abc"
    body = json.loads(request["body"])
    assert list(body) == ["text"]
    assert "FAILED: job" in body["text"]
    assert "it broke" in body["text"]


def test_discord_format(rw, receiver):
    rw.config(hook(receiver.url, format="discord"))
    rw.fail(extra=("--notify", "hook"))
    body = receiver.json()[0]
    assert set(body) == {"content", "allowed_mentions"}
    assert "FAILED: job" in body["content"]
    assert len(body["content"]) <= 2000


def test_hanging_webhook_is_bounded_by_its_timeout(rw, receiver):
    receiver.mode = "hang"
    rw.config(hook(receiver.url, timeout="0.3s"))
    result = rw.fail(extra=("--notify", "hook"))
    assert result.returncode == 1  # the job's status, untouched
    # runwrap is done while the server still holds the request: it gave up, it did not wait.
    assert receiver.log == [("arrived", "/hook")]
    [attempt] = rw.notifications(0)
    assert attempt["ok"] is False
    assert "timed out" in attempt["error"]
    [pending] = rw.ledger()["hook"]["pending"]
    assert pending["event"] == "failure"


def test_server_error_is_recorded_and_the_notice_delivered_at_the_next_run(rw, receiver):
    receiver.mode = "error"
    rw.config(hook(receiver.url))
    assert rw.fail(extra=("--notify", "hook")).returncode == 1
    record = rw.ledger()["hook"]
    assert record["last_error"] == "HTTP 500 Internal Server Error"
    assert len(record["pending"]) == 1
    receiver.mode = "ok"
    receiver.requests.clear()
    rw.fail(extra=("--notify", "hook"))
    # The first run's failure notice goes out now; the second run is no news.
    assert [p["event"] for p in receiver.json()] == ["failure"]
    first_run = rw.manifests()[0]["run_id"]
    assert receiver.json()[0]["run_id"] == first_run
    assert rw.ledger()["hook"]["pending"] == []
    assert rw.ledger()["hook"]["last_error"] is None


def test_notifiers_of_one_run_are_sent_concurrently(rw, receiver):
    # The server answers none of the four until all four have arrived.
    receiver.mode, receiver.together = "together", 4
    notifiers = {
        f"h{i}": {"type": "webhook", "url": receiver.url + f"/{i}", "timeout": "30s"}
        for i in range(4)
    }
    rw.config({"notifiers": notifiers})
    rw.fail(extra=tuple(a for i in range(4) for a in ("--notify", f"h{i}")))
    assert [what for what, _path in receiver.log] == ["arrived"] * 4 + ["answered"] * 4
    assert sorted(path for _what, path in receiver.log[:4]) == ["/0", "/1", "/2", "/3"]
    assert [a["ok"] for a in rw.notifications(0)] == [True] * 4


@pytest.mark.parametrize(
    "url",
    [
        "http://robot:s3cret-token@127.0.0.1/hook",
        "http://127.0.0.1/hooks/s3cret-token with-a-space",
        "http://[::1/s3cret-token",
    ],
)
def test_an_unusable_url_is_never_quoted_in_the_error(url):
    from runwrap.notify.healthchecks import ping
    from runwrap.notify.webhook import post_json

    for send in (lambda: post_json(url, {}, {}, 1), lambda: ping(url, "", "", None, 1)):
        with pytest.raises(RuntimeError) as caught:
            send()
        assert "s3cret-token" not in str(caught.value)
