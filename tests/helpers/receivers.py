"""What notices are sent to, for real: an HTTP receiver and an SMTP server (aiosmtpd).

Everything listens on 127.0.0.1 on a free port; nothing is mocked. Fixtures:
`receiver` (a `Receiver`) and `mailbox` (a `Mailbox`). The mail helpers below
(`mail_config`, `accept`, `make_cert`, `server_context`) set a notifier and the
server up for logins and TLS.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SECRET = "s3cr3t-Pa55word-xyzzy"  # the one password the mail tests log in with


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """An HTTP server in a thread that records every request.

    `mode`: "ok" answers 200, "error" answers 500, "hang" never answers
    (until the test ends), "together" holds each request until `together`
    of them have arrived, then answers 200. `log` keeps ("arrived" or
    "answered", path) in the order it happened.
    """

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.log: list[tuple[str, str]] = []
        self.mode = "ok"
        self.together = 1
        self.release = threading.Event()
        self.all_arrived = threading.Event()
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with lock:
                    receiver.log.append(("arrived", self.path))
                    if sum(e == "arrived" for e, _ in receiver.log) >= receiver.together:
                        receiver.all_arrived.set()
                if receiver.mode == "hang":
                    receiver.release.wait(30)
                    return
                # Sent one at a time, the first would wait here alone: give up after 10 s
                # (and stop holding the others) so that such a failure is quick to see.
                if receiver.mode == "together" and not receiver.all_arrived.wait(10):
                    receiver.all_arrived.set()
                with lock:
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                    receiver.log.append(("answered", self.path))
                code = 500 if receiver.mode == "error" else 200
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def json(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    """A `Receiver` listening for the test, closed after it."""
    r = Receiver()
    yield r
    r.close()


class Mailbox:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""

    def __init__(self, port: int | None = None, **controller_kw: object) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list = []
        self.envelopes: list = []
        box = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                from email import message_from_bytes, policy

                box.envelopes.append(envelope)
                box.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        self.port = port or free_port()
        self.controller = Controller(
            Handler(), hostname="127.0.0.1", port=self.port, **controller_kw
        )
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def mailbox():
    """A `Mailbox` (a real SMTP server) for the test, stopped after it."""
    box = Mailbox()
    yield box
    box.stop()


def mail_config(port: int, **more: object) -> dict:
    """A config whose one notifier, "mail", mails two people through 127.0.0.1:`port`."""
    spec = {
        "type": "email",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from": "cron@example.org",
        "to": ["ops@example.org", "dev@example.org"],
        **more,
    }
    return {"notifiers": {"mail": spec}}


def accept(expected_login: bytes, expected_password: bytes):
    """An aiosmtpd authenticator that accepts one login."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == expected_login
            and auth_data.password == expected_password
        )
        # handled=False: aiosmtpd then answers a refusal itself (535). Its default (True)
        # means "already answered", and the client waited for its timeout instead.
        return AuthResult(success=ok, handled=False)

    return authenticator


def make_cert(tmp_path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return str(cert), str(key)


def server_context(cert: str, key: str) -> ssl.SSLContext:
    """A server-side TLS context for the mailbox, with that certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context
