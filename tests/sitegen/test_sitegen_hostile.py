"""Hostile or broken files in ROOT, and in sitegen's own cache: never a crash, a hang or a leak.

Everything a job writes is untrusted: file names of any bytes, manifests of any
shape or file type, links to anywhere. Each case here once broke every build,
hung it, or could leak a file from outside ROOT into OUT.
"""

from __future__ import annotations

import http.client
import itertools
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from sitegen_fixtures import out, root
from sitegen_helpers import (
    BIN,
    ENV,
    crawl,
    runwrap,
    site_config,
    sitegen,
    snapshot,
    wait_for,
    write_run,
)

from sitegen.build import Site

SECRET = "TOP-SECRET-7f3a9c"


class _Anchors(HTMLParser):
    """(href, text) of every link of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href, self._text = dict(attrs).get("href"), []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.found.append((self._href, "".join(self._text)))
            self._href = None


def anchors(page: Path) -> dict[str, str]:
    """{link text: href} of a page."""
    parser = _Anchors()
    parser.feed(page.read_text("utf-8"))
    return {text: href for href, text in parser.found}


def out_names_are_tame(out: Path) -> None:
    """Every name in OUT is UTF-8, free of control characters and leading dashes, and short."""
    for _dirpath, dirnames, filenames in os.walk(os.fsencode(out)):
        for name in dirnames + filenames:
            text = name.decode("utf-8")  # raises on anything else
            assert text.isprintable(), text
            assert not text.startswith("-"), text
            assert len(name) <= 255, text


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# -- compiled templates --------------------------------------------------------------


@pytest.mark.timeout(30)
def test_a_broken_compiled_template_cache_is_ignored(root, out, tmp_path):
    write_run(root, "job", 1)
    cfg = site_config(root, out)
    Site(cfg).update()
    compiled = sorted((out / ".sitegen" / "jinja").iterdir())
    assert len(compiled) >= 4
    for path, make in zip(
        compiled,
        [
            os.mkfifo,
            Path.mkdir,
            lambda p: p.symlink_to("/dev/zero"),
            lambda p: p.write_bytes(b"\0"),
        ],
    ):
        path.unlink()
        make(path)
    Site(cfg).update(full=True)
    fresh = tmp_path / "fresh"
    Site(site_config(root, fresh)).update()
    assert snapshot(out) == snapshot(fresh)


# -- 4. --serve serves the site, nothing else --------------------------------------


def test_serve_hides_the_cache_and_listings_and_survives_odd_requests(root, out, tmp_path):
    write_run(root, "job", 1)
    err = tmp_path / "serve.err"
    with open(err, "w") as f:
        proc = subprocess.Popen(
            [str(BIN / "sitegen"), "--root", str(root), "--out", str(out), "--serve", "0"],
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=f,
            text=True,
        )
    try:
        url = urlsplit(proc.stdout.readline().split()[-1])

        def get(path: str) -> int:
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            try:
                conn.request("GET", path)  # sent as is: no client-side normalising
                return conn.getresponse().status
            finally:
                conn.close()

        assert get("/") == 200 and get("/tasks/job/") == 200 and get("/status.json") == 200
        for path in (
            "/.sitegen/summary.json",
            "/.sitegen/",
            "/%2esitegen/summary.json",
            "/tasks/job/../../.sitegen/summary.json",
            "/tasks/..%2f.sitegen/summary.json",
            "/static/",
            "/tasks/",
            "/tasks/job/runs/",
            "/index.html%00.txt",
            "/%00",
            "/%ff.html",
            "/tasks/%c0%ae%c0%ae/index.html",
        ):
            assert get(path) in (400, 404), path
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    assert "Traceback" not in err.read_text(), err.read_text()
