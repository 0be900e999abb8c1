"""A password never goes to an SMTP server in clear unless the config says so, in so many words.

Against the real aiosmtpd server: one without STARTTLS, one that offers it.
"""

from __future__ import annotations

from helpers.receivers import SECRET, Mailbox, accept, mail_config, make_cert, server_context
from helpers.runs import assert_one_line_error


def recording(calls: list, login: bytes, password: bytes):
    """accept(), and a note of every login the server saw."""
    check = accept(login, password)

    def authenticator(server, session, envelope, mechanism, auth_data):
        calls.append(mechanism)
        return check(server, session, envelope, mechanism, auth_data)

    return authenticator


def login_config(port: int, **more: object) -> dict:
    config = mail_config(port, username="robot", password_env="SMTP_PASSWORD", **more)
    del config["notifiers"]["mail"]["security"]
    return config


def test_security_none_with_a_login_is_a_config_error(rw):
    rw.config(mail_config(2525, username="robot", password_env="SMTP_PASSWORD"))
    marker = rw.tmp / "ran"
    result = rw.run(
        "--notify", "mail", "--", "touch", str(marker), env={**rw.env, "SMTP_PASSWORD": "x"}
    )
    assert_one_line_error(result, "notifier 'mail'", "in clear", "allow_plaintext_auth")
    assert not marker.exists()


def test_allow_plaintext_auth_must_be_a_boolean(rw):
    rw.config(mail_config(2525, allow_plaintext_auth="yes"))
    assert_one_line_error(
        rw.ok(extra=("--notify", "mail")), "allow_plaintext_auth", "true or false"
    )


def test_another_port_without_starttls_never_logs_in(rw):
    calls: list = []
    box = Mailbox(authenticator=recording(calls, b"robot", SECRET.encode()), auth_require_tls=False)
    try:
        rw.config(login_config(box.port))
        result = rw.run("--notify", "mail", "--", "false", env={**rw.env, "SMTP_PASSWORD": SECRET})
    finally:
        box.stop()
    assert result.returncode == 1
    assert calls == [] and box.messages == []
    [attempt] = rw.notifications(0)
    assert "offers no STARTTLS" in attempt["error"] and "allow_plaintext_auth" in attempt["error"]


def test_another_port_logs_in_after_starttls(rw, tmp_path):
    cert, key = make_cert(tmp_path)
    calls: list = []
    box = Mailbox(
        tls_context=server_context(cert, key),
        authenticator=recording(calls, b"robot", SECRET.encode()),
    )  # aiosmtpd refuses AUTH before STARTTLS: a login in clear would fail here
    try:
        rw.config(login_config(box.port, ca_file=cert))
        rw.run("--notify", "mail", "--", "false", env={**rw.env, "SMTP_PASSWORD": SECRET})
    finally:
        box.stop()
    assert len(box.messages) == 1, rw.notifications(0)
    assert calls


def test_a_login_does_not_trust_a_certificate_it_cannot_verify(rw, tmp_path):
    cert, key = make_cert(tmp_path)
    calls: list = []
    box = Mailbox(
        tls_context=server_context(cert, key),
        authenticator=recording(calls, b"robot", SECRET.encode()),
    )
    try:
        rw.config(login_config(box.port))  # no ca_file: the certificate is unknown
        rw.run("--notify", "mail", "--", "false", env={**rw.env, "SMTP_PASSWORD": SECRET})
    finally:
        box.stop()
    assert calls == [] and box.messages == []
    assert "certificate" in rw.notifications(0)[0]["error"].lower()


def test_another_port_without_login_takes_starttls_when_offered(rw, tmp_path):
    cert, key = make_cert(tmp_path)
    box = Mailbox(tls_context=server_context(cert, key), require_starttls=True)
    try:
        config = mail_config(box.port)
        del config["notifiers"]["mail"]["security"]
        rw.config(config)
        rw.fail(extra=("--notify", "mail"))
    finally:
        box.stop()
    # The server takes mail only after STARTTLS; its certificate (self-signed) is not checked
    # when no password is at stake, as between mail servers.
    assert len(box.messages) == 1, rw.notifications(0)


def test_plaintext_login_when_the_config_says_so(rw):
    calls: list = []
    box = Mailbox(authenticator=recording(calls, b"robot", SECRET.encode()), auth_require_tls=False)
    try:
        rw.config(login_config(box.port, allow_plaintext_auth=True))
        rw.run("--notify", "mail", "--", "false", env={**rw.env, "SMTP_PASSWORD": SECRET})
    finally:
        box.stop()
    assert len(box.messages) == 1 and calls
