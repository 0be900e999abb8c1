"""Healthchecks pings against a real HTTP server; apprise (when installed) likewise."""

from __future__ import annotations

import importlib.util
from urllib.parse import parse_qs, urlsplit

import pytest


def hc(url: str) -> dict:
    return {"notifiers": {"hc": {"type": "healthchecks", "url": url + "/ping/abc"}}}


def split(request: dict) -> tuple[str, str]:
    parts = urlsplit(request["path"])
    return parts.path, parse_qs(parts.query)["rid"][0]


def test_start_then_exit_code_with_the_output_tail(rw, receiver):
    rw.config(hc(receiver.url))
    result = rw.run("--notify", "hc", "--", "sh", "-c", "echo disk full >&2; exit 7")
    assert result.returncode == 7
    start, end = receiver.requests
    start_path, start_rid = split(start)
    end_path, end_rid = split(end)
    assert start_path == "/ping/abc/start"
    assert end_path == "/ping/abc/7"
    assert start_rid == end_rid  # the two pings pair up as one run
    assert b"disk full" in end["body"]
    assert [(a["event"], a["ok"]) for a in rw.notifications(0)] == [
        ("start", True),
        ("failure", True),
    ]


def test_success_pings_the_plain_url_every_run(rw, receiver):
    rw.config(hc(receiver.url))
    rw.ok(extra=("--notify", "hc"))
    rw.ok(extra=("--notify", "hc"))
    paths = [split(r)[0] for r in receiver.requests]
    assert paths == ["/ping/abc/start", "/ping/abc", "/ping/abc/start", "/ping/abc"]


def test_a_ping_that_fails_is_recorded_not_queued(rw, receiver):
    receiver.mode = "error"
    rw.config(hc(receiver.url))
    assert rw.ok(extra=("--notify", "hc")).returncode == 0
    attempts = rw.notifications(0)
    assert [a["ok"] for a in attempts] == [False, False]
    assert rw.ledger().get("hc", {}).get("pending", []) == []


@pytest.mark.skipif(importlib.util.find_spec("apprise") is None, reason="apprise not installed")
def test_apprise_json_url_reaches_a_real_server(rw, receiver):
    host = receiver.url.removeprefix("http://")
    rw.config({"notifiers": {"ap": {"type": "apprise", "urls": f"json://{host}/apprise"}}})
    rw.fail(extra=("--notify", "ap"))
    [request] = receiver.requests
    assert request["path"] == "/apprise"
    body = receiver.json()[0]
    assert body["title"].startswith("[runwrap] FAILED: job")
    assert "it broke" in body["message"]
    assert rw.notifications(0)[0]["ok"] is True
