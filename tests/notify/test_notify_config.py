"""A malformed notifier config: one line naming the notifier and the field, exit 125, no job."""

from __future__ import annotations

import pytest

from helpers.runs import assert_one_line_error

CASES = [
    ({"type": "pigeon"}, "notifier 'n': type:"),
    ({"type": "email", "to": "a@b.c", "password": "hunter2"}, "notifier 'n': password:"),
    ({"type": "email", "host": "localhost"}, "notifier 'n': to:"),
    ({"type": "email", "to": ["not-an-address"]}, "notifier 'n': to:"),
    ({"type": "email", "to": "a@b.c", "port": "smtp"}, "notifier 'n': port"),
    ({"type": "email", "to": "a@b.c", "security": "ssl3"}, "notifier 'n': security:"),
    (
        {"type": "email", "to": "a@b.c", "username": "u", "password_env": "NOT_SET_ANYWHERE"},
        "notifier 'n': password_env:",
    ),
    ({"type": "webhook"}, "notifier 'n': url:"),
    ({"type": "webhook", "url": "ftp://x"}, "notifier 'n': url:"),
    ({"type": "webhook", "url": "https://u:secret@x/hook"}, "notifier 'n': url: user:password@"),
    ({"type": "webhook", "url": "http://x", "format": "teams"}, "notifier 'n': format:"),
    ({"type": "command"}, "notifier 'n': command:"),
    ({"type": "console", "on": ["failure", "sometimes"]}, "notifier 'n': on:"),
    ({"type": "console", "on": ["still-failing"]}, "notifier 'n': remind_every:"),
    ({"type": "console", "after": 0}, "notifier 'n': after:"),
    ({"type": "console", "timeout": "soon"}, "notifier 'n': timeout"),
    ({"type": "console", "subject": "{task} {nonsense}"}, "notifier 'n': subject:"),
    ({"type": "console", "colour": "red"}, "notifier 'n': colour:"),
    ({"type": "healthchecks"}, "notifier 'n': url:"),
]


@pytest.mark.parametrize(("spec", "message"), CASES)
def test_malformed_notifier_stops_before_the_job(rw, tmp_path, spec, message):
    marker = tmp_path / "job-ran"
    rw.config({"notifiers": {"n": spec}})
    result = rw.run("--notify", "n", "--", "touch", str(marker))
    assert_one_line_error(result, "runwrap: " + message)
    assert not marker.exists()
    assert not (rw.task_dir() / "runs").exists() or not any((rw.task_dir() / "runs").iterdir())


def test_a_token_in_a_bad_url_is_not_echoed_in_the_error(rw):
    rw.config({"notifiers": {"n": {"type": "webhook", "url": "htps://hooks.example/T0K3N"}}})
    result = rw.run("--notify", "n", "--", "true")
    assert_one_line_error(result, "notifier 'n': url:")
    assert "T0K3N" not in result.stderr


def test_the_password_value_is_not_echoed_in_the_error(rw):
    rw.config({"notifiers": {"n": {"type": "email", "to": "a@b.c", "password": "hunter2"}}})
    result = rw.run("--notify", "n", "--", "true")
    assert_one_line_error(result, "notifier 'n': password:")
    assert "hunter2" not in result.stderr


def test_unknown_notifier_name(rw, tmp_path):
    marker = tmp_path / "job-ran"
    rw.config({"notifiers": {"mail": {"type": "console"}}})
    result = rw.run("--notify", "mial", "--", "touch", str(marker))
    assert result.returncode == 125
    assert result.stderr == (
        "runwrap: notifier 'mial': not defined: add it under notifiers: in the config file\n"
    )
    assert not marker.exists()


def test_bare_on_key_in_yaml_is_understood(rw):
    # YAML 1.1 reads `on:` as true; the notifier must still see its events.
    rw.config_path.write_text("notifiers:\n  c:\n    type: console\n    on: [always]\n")
    assert "SUCCESS: job" in rw.ok(extra=("--notify", "c")).stdout
