"""Serving a built site for real: nginx with the config shipped in docs/, a headless Chromium.

Fixtures (session-wide, over `served` of helpers.sites): `nginx` (its base URL),
`browser` (Selenium driving Debian's Chromium, no downloads) and `artifacts_dir`
(where screenshots go).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from helpers.polling import wait_for
from helpers.receivers import free_port

DOCS = Path(__file__).parents[2] / "docs"


@contextlib.contextmanager
def nginx_serving(out: Path, prefix: Path):
    """A real nginx serving `out` with the config shipped in docs/; yields its base URL.

    `prefix` (created) holds its config, logs and temp files; `out` must be world-readable.
    """
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    prefix.mkdir()
    port = free_port()
    server = (DOCS / "nginx.conf").read_text()
    server = server.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{port};")
    server = server.replace("root /var/www/runwrap;", f"root {out};")
    temp = "\n".join(
        f"  {name}_temp_path {prefix}/{name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (prefix / "nginx.conf").write_text(
        f"worker_processes 1;\ndaemon off;\npid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/error.log;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n  include /etc/nginx/mime.types;\n  access_log {prefix}/access.log;\n"
        f"{temp}\n{server}\n}}\n"
    )
    proc = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def listening() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"nginx exited: {proc.stderr.read().decode()}")
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_for(listening, what="nginx to listen")
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def nginx(served) -> str:
    """A real nginx serving the site with the config shipped in docs/; yields its base URL."""
    with nginx_serving(served["out"], served["base"] / "nginx") as url:
        yield url


@pytest.fixture(scope="session")
def browser(served):
    """One headless Debian Chromium for the session, driven by Selenium without downloads."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        f"--user-data-dir={served['base'] / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where screenshots go (test-artifacts/sitegen, ignored by git)."""
    path = Path(__file__).parents[2] / "test-artifacts" / "sitegen"
    path.mkdir(parents=True, exist_ok=True)
    return path
