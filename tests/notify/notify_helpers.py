"""Real parts for the notification tests (fixtures in conftest.py): an SMTP server, an HTTP receiver, the real CLI.

Everything listens on 127.0.0.1 on a free port; nothing is mocked.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from conftest import Root

_PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Runwrap(Root):
    """The real `runwrap` CLI over a root and a config file in tmp_path; task "job" by default."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path / "root", tmp_path)
        self.tmp = tmp_path
        self.root = self.path
        self.config_path = tmp_path / "config.yaml"
        self.config_path.write_text("")
        self.env = {k: v for k, v in self.env.items() if k not in _PROXY_VARS}
        self.env.update(
            NO_PROXY="*",
            RUNWRAP_CONFIG=str(self.config_path),
            XDG_CACHE_HOME=str(tmp_path / "cache"),  # the parsed-config cache
        )

    def config(self, data: dict) -> None:
        """Write the YAML config file."""
        self.config_path.write_text(yaml.safe_dump(data))

    def run(self, *args: str, task: str = "job", **kw) -> subprocess.CompletedProcess:
        """`runwrap -n TASK ARGS`, to completion."""
        return super().run("-n", task, *args, **kw)

    def start(self, *args: str, task: str = "job") -> subprocess.Popen:
        """`runwrap -n TASK ARGS` in the background."""
        return super().start("-n", task, *args)

    def fail(self, task: str = "job", code: int = 1, extra: tuple = ()):
        """One failing run (writes a line on stderr first)."""
        return self.run(*extra, "--", "sh", "-c", f"echo 'it broke' >&2; exit {code}", task=task)

    def ok(self, task: str = "job", extra: tuple = ()):
        """One successful run."""
        return self.run(*extra, "--", "true", task=task)

    def task_dir(self, task: str = "job") -> Path:
        return super().task_dir(task)

    def state(self, task: str = "job") -> dict:
        return super().state(task)

    def manifests(self, task: str = "job") -> list[dict]:
        """Every run's readable manifest, oldest first."""
        return self.manifests_so_far(task)

    def notifications(self, index: int, task: str = "job") -> list[dict]:
        """What the notifiers were told about one run (its notifications.json; [] if none)."""
        run_id = self.manifests(task)[index]["run_id"]
        path = self.task_dir(task) / "runs" / run_id / "notifications.json"
        return json.loads(path.read_text()) if path.exists() else []

    def ledger(self, task: str = "job") -> dict:
        """The notifiers' memory: the task's notify.json."""
        return json.loads((self.task_dir(task) / "notify.json").read_text())


@pytest.fixture
def rw(tmp_path: Path):
    runwrap = Runwrap(tmp_path)
    yield runwrap
    runwrap.stop_all()


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
    box = Mailbox()
    yield box
    box.stop()
