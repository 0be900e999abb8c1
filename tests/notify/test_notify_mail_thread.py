"""Mail clients thread a trouble's notices, and notices show the host's time with its offset."""

from __future__ import annotations

import re

from helpers.receivers import Mailbox, mail_config

LOCAL = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0530")
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def test_the_recovery_answers_its_failure(rw, mailbox):
    rw.config(mail_config(mailbox.port))
    rw.fail(extra=("--notify", "mail"))
    assert rw.ledger()["mail"]["thread"] == mailbox.messages[0]["Message-ID"]
    rw.fail(extra=("--notify", "mail"))
    rw.ok(extra=("--notify", "mail"))
    failure, recovery = mailbox.messages
    opened = failure["Message-ID"]
    assert opened and opened.startswith("<") and opened.endswith(">")
    assert failure["In-Reply-To"] is None
    assert recovery["Message-ID"] != opened
    assert recovery["In-Reply-To"] == opened and recovery["References"] == opened
    assert "thread" not in rw.ledger()["mail"]
    # The next trouble is a new thread.
    rw.fail(extra=("--notify", "mail"))
    assert mailbox.messages[2]["In-Reply-To"] is None
    assert mailbox.messages[2]["Message-ID"] not in (opened, recovery["Message-ID"])


def test_a_notice_sent_late_is_the_mail_it_was_when_decided(rw):
    box = Mailbox()
    box.stop()  # down: the failure notice waits in notify.json
    rw.config(mail_config(box.port))
    rw.fail(extra=("--notify", "mail"))
    [pending] = rw.ledger()["mail"]["pending"]
    box = Mailbox(port=box.port)
    try:
        rw.ok(extra=("--notify", "mail"))
    finally:
        box.stop()
    failure, recovery = box.messages
    assert failure["Message-ID"] == pending["message_id"]
    assert recovery["In-Reply-To"] == pending["message_id"]


def test_times_are_the_hosts_with_the_offset(rw, mailbox, receiver):
    rw.config(
        {
            "notifiers": {
                **mail_config(mailbox.port)["notifiers"],
                "hook": {"type": "webhook", "url": receiver.url + "/hook"},
            }
        }
    )
    env = {**rw.env, "TZ": "Asia/Kolkata"}
    rw.run("--notify", "mail", "--notify", "hook", "--", "false", env=env)
    rw.run("--notify", "mail", "--notify", "hook", "--", "true", env=env)
    failure, recovery = (m.get_content() for m in mailbox.messages)
    started = next(ln for ln in failure.splitlines() if ln.startswith("started:"))
    assert LOCAL.search(started), started
    assert LOCAL.search(recovery.split("\n", 1)[0]), recovery  # "... since <local time>"
    assert not ISO_UTC.search(failure + recovery)
    # The JSON payload keeps the times as the files do.
    payload = receiver.json()[0]
    assert ISO_UTC.fullmatch(payload["started_at"]) and ISO_UTC.search(payload["failing_since"])
