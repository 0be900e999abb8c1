"""Email against a real SMTP server (aiosmtpd) on 127.0.0.1: plain, login, STARTTLS, TLS."""

from __future__ import annotations

import base64
import os

import pytest

from helpers.receivers import (
    SECRET,
    Mailbox,
    accept,
    free_port,
    mail_config,
    make_cert,
    server_context,
)

# These servers have no TLS: logging in to them is allowed only in so many words.
CLEAR = {"allow_plaintext_auth": True}


def test_failure_and_recovery_mails(rw, mailbox):
    rw.config(mail_config(mailbox.port))
    rw.fail(extra=("--notify", "mail"))
    rw.fail(extra=("--notify", "mail"))
    rw.ok(extra=("--notify", "mail"))
    assert len(mailbox.messages) == 2
    failure, recovery = mailbox.messages
    assert failure["Subject"] == "[runwrap] FAILED: job on " + rw.manifests()[0]["host"]
    assert failure["From"] == "cron@example.org"
    assert failure["To"] == "ops@example.org, dev@example.org"
    assert failure["X-Runwrap-Event"] == "failure"
    assert mailbox.envelopes[0].rcpt_tos == ["ops@example.org", "dev@example.org"]
    text = failure.get_content()
    assert "exited with status 1" in text
    assert "it broke" in text
    assert recovery["Subject"].startswith("[runwrap] RECOVERED: job")


def test_subject_and_body_templates(rw, mailbox):
    rw.config(
        mail_config(
            mailbox.port,
            subject="{task} is {status} ({failures}x)",
            body="Exit {exit_code}.\n{output}\n",
        )
    )
    rw.fail(code=3, extra=("--notify", "mail"))
    [msg] = mailbox.messages
    assert msg["Subject"] == "job is failed (1x)"
    assert msg.get_content().replace("\r\n", "\n") == "Exit 3.\nit broke\n"


def test_login_with_password_from_env_never_writes_the_password(rw, tmp_path):
    box = Mailbox(authenticator=accept(b"robot", SECRET.encode()), auth_require_tls=False)
    try:
        rw.config(mail_config(box.port, username="robot", password_env="SMTP_PASSWORD", **CLEAR))
        env = {**rw.env, "SMTP_PASSWORD": SECRET}
        outputs = []
        for args in (("--", "sh", "-c", "exit 1"), ("--", "true")):
            result = rw.run("--notify", "mail", *args, env=env)
            outputs += [result.stdout, result.stderr]
        assert len(box.messages) == 2
    finally:
        box.stop()
    assert all(SECRET not in text for text in outputs)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_wrong_password_is_recorded_and_the_run_keeps_its_status(rw, tmp_path):
    box = Mailbox(authenticator=accept(b"robot", b"right"), auth_require_tls=False)
    try:
        secret_file = tmp_path / "pw"
        secret_file.write_text(SECRET + "\n")
        rw.config(mail_config(box.port, username="robot", password_file=str(secret_file), **CLEAR))
        result = rw.fail(extra=("--notify", "mail"))
    finally:
        box.stop()
    assert result.returncode == 1
    assert box.messages == []
    [attempt] = rw.notifications(0)
    assert attempt["ok"] is False
    assert "535" in attempt["error"], attempt  # the server's refusal, not a timeout
    assert SECRET not in attempt["error"]


def test_password_file_is_used_to_log_in(rw, tmp_path):
    box = Mailbox(authenticator=accept(b"robot", SECRET.encode()), auth_require_tls=False)
    try:
        secret_file = tmp_path / "pw"
        secret_file.write_text(SECRET + "\n")
        rw.config(mail_config(box.port, username="robot", password_file=str(secret_file), **CLEAR))
        rw.fail(extra=("--notify", "mail"))
        assert len(box.messages) == 1
    finally:
        box.stop()


def test_smtp_down_then_up_delivers_the_pending_notice(rw):
    port = free_port()
    rw.config(mail_config(port))
    assert rw.fail(extra=("--notify", "mail")).returncode == 1
    record = rw.ledger()["mail"]
    assert "refused" in record["last_error"].lower()
    assert [p["event"] for p in record["pending"]] == ["failure"]
    box = Mailbox(port=port)
    try:
        assert rw.fail(extra=("--notify", "mail")).returncode == 1
        assert len(box.messages) == 1
        first = rw.manifests()[0]
        assert first["run_id"] in box.messages[0].get_content()
    finally:
        box.stop()
    assert rw.ledger()["mail"]["pending"] == []
    assert [(a["event"], a["ok"], a["run_id"]) for a in rw.notifications(1)] == [
        ("failure", True, first["run_id"])
    ]


def test_starttls_with_login(rw, tmp_path):
    cert, key = make_cert(tmp_path)
    box = Mailbox(
        tls_context=server_context(cert, key),
        require_starttls=True,
        authenticator=accept(b"robot", SECRET.encode()),
    )
    try:
        rw.config(
            mail_config(
                box.port,
                security="starttls",
                ca_file=cert,
                username="robot",
                password_env="SMTP_PASSWORD",
            )
        )
        rw.run("--notify", "mail", "--", "false", env={**rw.env, "SMTP_PASSWORD": SECRET})
        assert len(box.messages) == 1, rw.notifications(0)
    finally:
        box.stop()


def test_starttls_refuses_a_certificate_it_cannot_verify(rw, tmp_path):
    cert, key = make_cert(tmp_path)
    box = Mailbox(tls_context=server_context(cert, key), require_starttls=True)
    try:
        rw.config(mail_config(box.port, security="starttls"))
        rw.fail(extra=("--notify", "mail"))
        assert box.messages == []
    finally:
        box.stop()
    [attempt] = rw.notifications(0)
    assert "certificate" in attempt["error"].lower()


def test_implicit_tls(rw, tmp_path):
    cert, key = make_cert(tmp_path)
    box = Mailbox(ssl_context=server_context(cert, key))
    try:
        rw.config(mail_config(box.port, security="tls", ca_file=cert))
        rw.fail(extra=("--notify", "mail"))
        assert len(box.messages) == 1, rw.notifications(0)
    finally:
        box.stop()


class _EchoingSmtp:
    """A bare SMTP server that refuses every login and quotes the AUTH line it got."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 echo ESMTP\r\n")
            for line in lines:
                verb = line.split(b" ", 1)[0].upper().strip()
                if verb == b"EHLO":
                    conn.sendall(b"250-echo\r\n250 AUTH PLAIN\r\n")
                elif verb == b"AUTH":
                    conn.sendall(b"535 5.7.8 refused: " + line.strip() + b"\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")

    def close(self) -> None:
        self.sock.close()
        self.thread.join(5)


@pytest.mark.parametrize("password", [SECRET, "pässword-" + SECRET])
def test_a_login_error_never_carries_the_password(monkeypatch, password):
    from runwrap.notify import smtp
    from runwrap.notify.notifiers import parse_notifier
    from runwrap.notify.sending import Notice

    monkeypatch.setenv("SMTP_PASSWORD", password)
    server = _EchoingSmtp()
    try:
        spec = mail_config(server.port, username="robot", password_env="SMTP_PASSWORD", **CLEAR)
        notifier = parse_notifier("mail", spec["notifiers"]["mail"], dict(os.environ))
        notice = Notice(notifier, {"event": "failure"}, {"task": "job"}, None, None)
        with pytest.raises(Exception) as caught:
            smtp.send(notifier, notice, 2)
    finally:
        server.close()
    message = str(caught.value)
    for secret in (SECRET, base64.b64encode(f"\0robot\0{password}".encode()).decode()):
        assert secret not in message
    assert "ä" not in message
    assert "robot" in message
