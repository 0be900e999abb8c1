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

from sitegen.build.site import Site
from sitegen.publish.packed import unpack

from helpers.polling import removed, wait_for
from helpers.runs import BIN
from helpers.sites import BUILT, ENV, crawl, runwrap, site_config, sitegen, snapshot, write_run

# The fixtures (run_root, out, ...) come from one plugin module, for every sitegen test.
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


# -- 1. file names of any bytes ---------------------------------------------------

# The bytes a job names a file with, and how the run page shows that name.
ODD_NAMES = {
    b"bad\xff.txt": "bad\\xff.txt",
    b"bad%ff.txt": "bad%ff.txt",  # looks like an escaped name: must not collide with it
    b"nl\nname.txt": "nl\\nname.txt",
    b"esc\x1b[31m.txt": "esc\\x1b[31m.txt",
    b"-rf": "-rf",
    b"100%.txt": "100%.txt",
    b"\x01" * 200: "\\x01" * 200,  # 200 bytes on disk, three times more once escaped
    "é".encode() * 127: "é" * 127,  # 254 bytes: as long as a name gets
    b"sub/\xff": "sub/\\xff",
}


def test_file_names_of_any_bytes_are_published_escaped(run_root, out, tmp_path):
    maker = tmp_path / "make_files.py"
    maker.write_text(
        "import os, sys\n"
        "for i, name in enumerate(bytes.fromhex(h) for h in sys.argv[1:]):\n"
        "    os.makedirs(os.path.dirname(name) or b'.', exist_ok=True)\n"
        "    with open(name, 'wb') as f:\n"
        "        f.write(b'content %d' % i)\n"
    )
    names = list(ODD_NAMES)
    job = f"{sys.executable} {maker} " + " ".join(n.hex() for n in names)
    assert runwrap(run_root, "odd", job).returncode == 0
    assert runwrap(run_root, "plain", "echo fine").returncode == 0
    result = sitegen("--root", str(run_root), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    run = next((out / "tasks" / "odd" / "runs").iterdir())
    links = anchors(run / "index.html")
    for i, name in enumerate(names):
        href = links[ODD_NAMES[name]]
        assert href.startswith("files/"), href
        assert (run / unquote(href)).read_bytes() == b"content %d" % i, name
    assert (out / "tasks" / "plain" / "index.html").exists()
    out_names_are_tame(out)
    assert crawl(out)[1] == []


def test_undecodable_task_and_run_names_are_skipped_with_one_warning(run_root, out):
    write_run(run_root, "bad\udcff", 1)  # a task directory whose name is not UTF-8
    write_run(run_root, "good", 1)
    good_run = next((run_root / "tasks" / "good" / "runs").iterdir())
    odd_run = good_run.parent / "20991231T235959.000Z-\udcff"
    shutil.copytree(good_run, odd_run)
    manifest = json.loads((odd_run / "manifest.json").read_text())
    manifest["run_id"] = odd_run.name
    (odd_run / "manifest.json").write_text(json.dumps(manifest))
    result = sitegen("--root", str(run_root), "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert all(line.startswith("sitegen: ") and "\\xff" in line for line in lines), lines
    status = json.loads((out / "status.json").read_text())
    assert list(status["tasks"]) == ["good"] and status["tasks"]["good"]["runs"] == 1
    out_names_are_tame(out)
    again = sitegen("--root", str(run_root), "--out", str(out))
    assert again.returncode == 0 and again.stderr == ""  # warned once, not on every build


def test_strings_no_encoder_accepts_are_shown_not_fatal(run_root, out):
    rid = write_run(
        run_root,
        "job",
        1,
        "failed",
        reason="lone \ud800 and \udcff, bell \x07, escape \x1b[31m",
        feedback={"info": "\udfff", "\ud800key": "v"},
        labels={"info1": "\udcfe"},
    )
    path = run_root / "tasks" / "job" / "runs" / rid / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(command=["sh", "-c", "\ud800"], host="\udcff", user="\x00")
    path.write_text(json.dumps(manifest))  # JSON escapes: "\ud800" is valid JSON
    Site(site_config(run_root, out)).update()
    page = out / "tasks" / "job" / "runs" / rid / "index.html"
    assert "lone" in page.read_text("utf-8")  # strict UTF-8
    # The whole task is built, its search index too (a lone surrogate once dropped it).
    index = json.loads((out / "tasks" / "job" / "search.json").read_text("utf-8"))
    assert any("lone" in text for text in index["texts"]), index
    assert json.loads((out / "status.json").read_text("utf-8"))["tasks"]["job"]["runs"] == 1
    for path in out.rglob("*"):
        if path.suffix in (".html", ".atom", ".svg", ".json"):
            path.read_text("utf-8")
    ET.parse(out / "feed.atom")
    ET.parse(out / "tasks" / "job" / "feed.atom")


# -- 2. every reader survives every file -----------------------------------------


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _edit(**change: object):
    def edit(path: Path, good: bytes, outside: Path) -> None:
        path.write_text(json.dumps({**json.loads(good), **change}))

    return edit


def _outside_link(path: Path, good: bytes, outside: Path) -> None:
    # A link to a manifest that would be valid, outside ROOT, with a secret in it.
    target = outside / "elsewhere.json"
    target.write_text(json.dumps({**json.loads(good), "reason": SECRET}))
    path.symlink_to(target)


def _huge(path: Path, good: bytes, outside: Path) -> None:
    # Valid, but over the 16 MiB a manifest may have.
    path.write_text(json.dumps({**json.loads(good), "reason": "x" * (17 << 20)}))


MANIFEST_BREAKS = {
    "cut": lambda p, good, o: p.write_bytes(good[:40]),
    "garbage": lambda p, good, o: p.write_bytes(b"\x00\xff{{ not json"),
    "empty": lambda p, good, o: p.write_bytes(b""),
    "deeply-nested": lambda p, good, o: p.write_bytes(b"[" * 200_000),
    "a-list": lambda p, good, o: p.write_text("[1, 2]"),
    "status-5": _edit(status=5),
    "artifacts-x": _edit(artifacts="x"),
    "artifact-items": _edit(artifacts=[1, {"name": 5}]),
    "feedback-list": _edit(feedback=[1]),
    "labels-null": _edit(labels=None),
    "duration-abc": _edit(duration_s="abc"),
    "started-7": _edit(started_at=7),
    "seq-text": _edit(seq="3"),
    "other-run-id": _edit(run_id="20200101T000000.000Z-0000"),
    "directory": lambda p, good, o: p.mkdir(),
    "symlink": _outside_link,
    "fifo": lambda p, good, o: _fifo(p),
    "huge": _huge,
}


@pytest.mark.timeout(30)  # a FIFO must not hang the build
@pytest.mark.parametrize("case", sorted(MANIFEST_BREAKS))
def test_an_unreadable_manifest_is_skipped_with_one_warning(run_root, out, tmp_path, caplog, case):
    write_run(run_root, "job", 1)
    bad = write_run(run_root, "job", 2, "failed")
    write_run(run_root, "job", 3)
    cfg = site_config(run_root, out)
    site = Site(cfg)
    site.update()
    path = run_root / "tasks" / "job" / "runs" / bad / "manifest.json"
    good = path.read_bytes()
    path.unlink()
    MANIFEST_BREAKS[case](path, good, tmp_path)
    write_run(run_root, "other", 1)  # the rest of ROOT moves on
    caplog.clear()
    site.update(hints={"job": {bad}})
    status = json.loads((out / "status.json").read_text())
    assert status["tasks"]["job"]["runs"] == 2
    assert status["tasks"]["other"]["runs"] == 1
    assert not (out / "tasks" / "job" / "runs" / bad).exists()
    warned = warnings_of(caplog)
    assert len(warned) == 1 and bad in warned[0], warned
    site.update(hints={"job": {bad}})  # a watcher's next event in that run
    Site(cfg).update()  # the next one-shot build
    assert warnings_of(caplog) == warned
    for file in out.rglob("*"):
        if file.is_file():
            assert SECRET.encode() not in file.read_bytes(), file


def test_a_manifest_that_is_not_utf8_is_read_as_every_reader_reads_it(run_root, out):
    """One safe reader (runwrap.store.jsonio): bytes that are not UTF-8 are kept as lone
    surrogates by runwrap's CLI and sitegen alike, and shown replaced, never raw."""
    write_run(run_root, "job", 1)
    odd = write_run(run_root, "job", 2, "failed")
    path = run_root / "tasks" / "job" / "runs" / odd / "manifest.json"
    path.write_bytes(path.read_bytes().replace(b'"tester"', b'"te\xffster"'))
    Site(site_config(run_root, out)).update()
    status = json.loads((out / "status.json").read_text())
    assert status["tasks"]["job"]["runs"] == 2
    page = (out / "tasks" / "job" / "runs" / odd / "index.html").read_bytes()
    assert b"\xff" not in page and "te\ufffdster".encode() in page


def test_a_run_unreadable_after_it_was_shown_leaves_the_site_a_full_build_makes(
    run_root, out, tmp_path
):
    ids = [write_run(run_root, "job", n, files={"a.txt": b"a"}) for n in range(4)]
    site = Site(site_config(run_root, out))
    site.update()
    (run_root / "tasks" / "job" / "runs" / ids[2] / "manifest.json").write_text('{"status": "succ')
    (run_root / "tasks" / "job" / "runs" / ids[3] / "manifest.json").unlink()
    site.update(hints={"job": set(ids)})
    fresh = tmp_path / "fresh"
    Site(site_config(run_root, fresh)).update()
    assert snapshot(out) == snapshot(fresh)


def test_a_broken_state_file_does_not_matter(run_root, out):
    (run_root.parent / "secret.json").write_text(json.dumps({"status": SECRET}))
    breaks = {
        "garbage": lambda p: p.write_bytes(b"\xff garbage"),
        "directory": lambda p: p.mkdir(),
        "fifo": _fifo,
        "symlink": lambda p: p.symlink_to(run_root.parent / "secret.json"),
    }
    for task, make in breaks.items():
        write_run(run_root, task, 1)
        state = run_root / "tasks" / task / "state.json"
        state.unlink(missing_ok=True)
        make(state)
    result = sitegen("--root", str(run_root), "--out", str(out))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    status = json.loads((out / "status.json").read_text())
    assert sorted(status["tasks"]) == sorted(breaks)
    assert SECRET not in json.dumps(status)


def _cache_typo(path: Path) -> None:
    data = unpack(path.read_bytes())[0]  # packed (summary.pack) or JSON (a task's cache)
    if "tasks" in data:
        data["tasks"]["job"]["summary"]["state"] = 7
        data["tasks"]["ghost"] = 5
    else:
        rid = next(iter(data["runs"]))
        data["runs"][rid]["sum"]["status"] = ["x"]
        data["runs"]["20990101T000000.000Z-0000"] = 5
    path.write_text(json.dumps(data))


def _cache_link(path: Path) -> None:
    copy = path.parent / "copy.json"
    shutil.copy(path, copy)
    path.unlink()
    path.symlink_to(copy)  # valid content, but a link: not ours to follow


CACHE_BREAKS = {
    "cut": lambda p: p.write_bytes(p.read_bytes()[:40]),
    "garbage": lambda p: p.write_bytes(b"\x00\xff{{ not json"),
    "empty": lambda p: p.write_bytes(b""),
    "wrong-types": _cache_typo,
    "directory": lambda p: (p.unlink(), p.mkdir(), (p / "x").write_text("x")),
    "symlink": _cache_link,
    "fifo": lambda p: (p.unlink(), os.mkfifo(p)),
}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", sorted(CACHE_BREAKS))
@pytest.mark.parametrize("name", ["summary.pack", "tasks/job.pack"])
def test_an_unreadable_cache_file_means_a_rebuild_with_one_warning(
    run_root, out, tmp_path, caplog, name, case
):
    for n in range(3):
        write_run(run_root, "job", n)
    cfg = site_config(run_root, out)
    Site(cfg).update()
    write_run(run_root, "job", 5)  # ROOT moves on: a stale cache would show
    CACHE_BREAKS[case](out / ".sitegen" / name)
    caplog.clear()
    Site(cfg).update()  # the next one-shot build
    warned = warnings_of(caplog)
    assert len(warned) == 1 and "cache" in warned[0], warned
    fresh = tmp_path / "fresh"
    Site(site_config(run_root, fresh)).update()
    assert snapshot(out) == snapshot(fresh)
    Site(cfg).update()
    assert warnings_of(caplog) == warned


@pytest.mark.timeout(30)
def test_a_broken_compiled_template_cache_is_ignored(run_root, out, tmp_path):
    write_run(run_root, "job", 1)
    cfg = site_config(run_root, out)
    Site(cfg).update()
    compiled = sorted((out / ".sitegen" / "jinja").iterdir())
    assert len(compiled) >= 5
    data = {path: path.read_bytes() for path in compiled}
    for path, make in zip(
        compiled,
        [
            os.mkfifo,
            Path.mkdir,
            lambda p: p.symlink_to("/dev/zero"),
            lambda p: p.write_bytes(b"\0"),
            lambda p: p.write_bytes(data[p][:20]),  # Jinja's header, then cut short
        ],
    ):
        path.unlink()
        make(path)
    Site(cfg).update(full=True)
    fresh = tmp_path / "fresh"
    Site(site_config(run_root, fresh)).update()
    assert snapshot(out) == snapshot(fresh)


@pytest.mark.timeout(60)
def _put_in_the_way(page_dir: Path) -> bool:
    """A file where the watcher writes a task's pages; False while the watcher, still
    busy with the last update, writes into the directory as it is removed."""
    if not removed(page_dir):
        return False
    try:
        page_dir.write_text("in the way")
    except OSError:
        return False
    return True


def test_watch_keeps_every_task_up_to_date_despite_hostile_files(run_root, out, tmp_path):
    log = tmp_path / "watch.log"
    with open(log, "w") as f:
        proc = subprocess.Popen(
            [str(BIN / "sitegen"), "--root", str(run_root), "--out", str(out), "--watch"],
            env=ENV,
            stdout=f,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: (out / "index.html").exists(), what="the first build")
        assert runwrap(run_root, "odd", "printf x > \"$(printf 'bad\\377.txt')\"").returncode == 0
        stuck = run_root / "tasks" / "odd" / "runs" / "20991231T235959.000Z-f1f0"
        stuck.mkdir()
        os.mkfifo(stuck / "manifest.json")
        assert runwrap(run_root, "plain", "true").returncode == 0

        def state(task: str) -> dict:
            try:
                return json.loads((out / "status.json").read_text())["tasks"][task]
            except (OSError, ValueError, KeyError):
                return {}

        wait_for(lambda: state("plain").get("state") == "ok", what="the plain task")
        wait_for(lambda: state("odd").get("runs") == 1, what="the odd task")
        assert runwrap(run_root, "plain", "exit 3").returncode == 3
        wait_for(lambda: state("plain").get("state") == "failing", what="the next run")
        run = next((out / "tasks" / "odd" / "runs").iterdir())
        assert "bad\\xff.txt" in anchors(run / "index.html")
        # An update that fails (OUT in the way) is one line, and the watcher goes on.
        wait_for(lambda: _put_in_the_way(out / "tasks" / "plain"), what="OUT in the way")
        assert runwrap(run_root, "plain", "true").returncode == 0
        wait_for(lambda: "update failed" in log.read_text(), what="the failed update")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    text = log.read_text()
    assert "Traceback" not in text, text
    ours = [line for line in text.splitlines() if line.startswith("sitegen: ")]
    assert sum("f1f0" in line for line in ours) == 1, text  # the FIFO manifest: one warning


# -- 3. links are never followed -----------------------------------------------------


TREE_RUN = "20261130T000000.000Z-5ec7"


def _plant_links(run_root: Path, outside: Path) -> None:
    """Every way a job can point sitegen at the secret, or at a tree holding it."""
    secret = outside / "secret.txt"
    rid = write_run(run_root, "job", 1, files={"ok.txt": b"fine"})
    run = run_root / "tasks" / "job" / "runs" / rid
    for name in ("stdout.log", "stderr.log", "feedback.log", "report.md"):
        (run / name).unlink(missing_ok=True)
        (run / name).symlink_to(secret)
    (run / "leak.txt").symlink_to(secret)
    (run / "dir").symlink_to(outside)
    (run / "sub").mkdir()
    (run / "sub" / "leak.txt").symlink_to(secret)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["artifacts"] = [
        {"name": n, "size": 1}
        for n in (
            "ok.txt",
            "leak.txt",
            "dir/secret.txt",
            "sub/leak.txt",
            "feedback.log",
            "../../../../../outside/secret.txt",
            str(secret),
        )
    ]
    (run / "manifest.json").write_text(json.dumps(manifest))
    # A manifest that is a link to a manifest outside, holding the secret.
    linked = run_root / "tasks" / "job" / "runs" / "20261201T000000.000Z-aaaa"
    linked.mkdir()
    (linked / "manifest.json").symlink_to(
        outside / "tree" / "tasks" / "t" / "runs" / TREE_RUN / "manifest.json"
    )
    # Links to a whole tree outside ROOT: a task, a runs/ directory, a run.
    tree = outside / "tree" / "tasks" / "t"
    (run_root / "tasks" / "linked-task").symlink_to(tree)
    (run_root / "tasks" / "linked-runs").mkdir()
    (run_root / "tasks" / "linked-runs" / "runs").symlink_to(tree / "runs")
    (run_root / "tasks" / "job" / "runs" / "20261202T000000.000Z-bbbb").symlink_to(
        tree / "runs" / TREE_RUN
    )


def _outside_tree(outside: Path) -> None:
    """A directory outside ROOT holding the secret, and a whole run made of it."""
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "secret.txt").write_text(SECRET)
    tree = outside / "tree"
    write_run(tree, "t", 2, stdout=SECRET.encode(), reason=SECRET, files={"s.txt": SECRET.encode()})
    made = next((tree / "tasks" / "t" / "runs").iterdir())
    made.rename(made.parent / TREE_RUN)
    manifest = json.loads((made.parent / TREE_RUN / "manifest.json").read_text())
    manifest["run_id"] = TREE_RUN
    (made.parent / TREE_RUN / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("mode", ["link", "copy"])
def test_nothing_outside_root_reaches_out_through_any_link(run_root, out, tmp_path, mode):
    outside = tmp_path / "outside"
    _outside_tree(outside)
    _plant_links(run_root, outside)
    result = sitegen("--root", str(run_root), "--out", str(out), "--publish", mode)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for path in out.rglob("*"):
        assert not path.is_symlink(), path
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    status = json.loads((out / "status.json").read_text())
    assert status["tasks"]["job"]["runs"] == 1
    run = out / "tasks" / "job" / "runs" / next(iter(os.listdir(out / "tasks" / "job" / "runs")))
    assert (run / "files" / "ok.txt").read_bytes() == b"fine"


def test_a_symlinked_tasks_directory_is_not_followed(tmp_path, out):
    outside = tmp_path / "outside"
    _outside_tree(outside)
    run_root = tmp_path / "root"
    run_root.mkdir()
    (run_root / "tasks").symlink_to(outside / "tree" / "tasks")
    result = sitegen("--root", str(run_root), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "symbolic link" in result.stderr and len(result.stderr.splitlines()) == 1
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert json.loads((out / "status.json").read_text())["tasks"] == {}


# -- 4. --serve serves the site, nothing else --------------------------------------


def test_serve_hides_the_cache_and_listings_and_survives_odd_requests(run_root, out, tmp_path):
    write_run(run_root, "job", 1)
    err = tmp_path / "serve.err"
    with open(err, "w") as f:
        proc = subprocess.Popen(
            [str(BIN / "sitegen"), "--root", str(run_root), "--out", str(out), "--serve", "0"],
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
            "/.sitegen/summary.pack",
            "/.sitegen/",
            "/%2esitegen/summary.pack",
            "/tasks/job/../../.sitegen/summary.pack",
            "/tasks/..%2f.sitegen/summary.pack",
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


# -- 5. a build killed anywhere ------------------------------------------------------

# Imports done before the build is started, so that a kill lands in the build itself.
DRIVER = (
    "import sys\n"
    "import sitegen.cli, sitegen.dispatch\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n"
    "sys.exit(sitegen.cli.main(sys.argv[1:]))\n"
)


def _group_gone(pgid: int) -> bool:
    """No live process left in the group (the build's forked workers included)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return False
    return True


def _build(run_root: Path, out: Path, kill_after: float | None) -> tuple[bool, float]:
    """One sitegen build, SIGKILLed `kill_after` seconds in; (killed, seconds it ran)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, "--root", str(run_root), "--out", str(out)],
        env=ENV,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout.readline() == "ready\n"
    start = time.monotonic()
    proc.stdin.write("\n")
    proc.stdin.flush()
    deadline = start + (kill_after if kill_after is not None else 60)
    wait_for(
        lambda: proc.poll() is not None or time.monotonic() >= deadline,
        timeout=90,
        interval=0.001,
        what="the build",
    )
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)  # the main process only: its workers must follow
    rc = proc.wait(timeout=15)
    ran = time.monotonic() - start
    wait_for(lambda: _group_gone(proc.pid), what="the build's workers to die")
    stderr = proc.stderr.read()
    proc.stdin.close(), proc.stdout.close(), proc.stderr.close()
    assert killed or rc == 0, stderr
    assert "Traceback" not in stderr, stderr
    return killed, ran


def tree(out: Path) -> dict[str, object]:
    """Every directory and file of a site (not the cache): contents, and which are hard links."""
    found: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(out):
        rel = os.path.relpath(dirpath, out)
        if rel == ".":
            dirnames[:] = [d for d in dirnames if d != ".sitegen"]
        for name in dirnames:
            found[os.path.join(rel, name)] = "dir"
        for name in filenames:
            path = os.path.join(dirpath, name)
            if rel == "." and name == "watch.json":
                continue  # sitegen --watch's heartbeat, or when a one-off build ran
            st = os.lstat(path)
            with open(path, "rb") as f:
                # A published file must be the same inode as in a full build, not a copy.
                data = BUILT.sub(b"BUILT", f.read())  # but for when each page was built
                found[os.path.join(rel, name)] = (data, st.st_ino if st.st_nlink > 1 else None)
    return found


def _mutate(run_root: Path, rng: random.Random, counter) -> None:
    """What happens to ROOT between builds: new runs, retention, tasks coming and going."""
    tasks = sorted(os.listdir(run_root / "tasks"))
    for _ in range(rng.randint(2, 6)):
        task = rng.choice(tasks)
        status = rng.choice(["success", "success", "failed", "skipped", "timeout"])
        write_run(run_root, task, next(counter), status, files={"a/b.txt": b"b", "c.txt": b"c"})
    if rng.random() < 0.5:
        runs = run_root / "tasks" / rng.choice(tasks) / "runs"
        for old in sorted(runs.iterdir())[: rng.randint(1, 2)]:
            shutil.rmtree(old)
    if rng.random() < 0.25 and len(tasks) > 2:
        shutil.rmtree(run_root / "tasks" / rng.choice(tasks))
    if rng.random() < 0.25:
        for _ in range(3):
            write_run(run_root, f"task {next(counter)}", next(counter))


@pytest.mark.timeout(120)
def test_builds_killed_anywhere_then_an_incremental_one_equal_a_full_build(tmp_path):
    seed = int(os.environ.get("SITEGEN_KILL_SEED") or random.SystemRandom().randrange(2**32))
    rng = random.Random(seed)
    replay = f"replay with SITEGEN_KILL_SEED={seed}"
    run_root, out, calibration = tmp_path / "root", tmp_path / "out", tmp_path / "calibration"
    counter = itertools.count()
    for task in ("alpha", "beta", "gamma delta"):
        for _ in range(10):
            write_run(run_root, task, next(counter), files={"a/b.txt": b"b"}, stdout=b"x\n" * 100)
    write_run(run_root, "alpha", next(counter), "running", feedback={"progress": "40"})
    # How long a full build and an incremental one take here: kills land within those.
    _, full_s = _build(run_root, calibration, None)
    _mutate(run_root, rng, counter)
    _, update_s = _build(run_root, calibration, None)
    killed, _ = _build(run_root, out, rng.uniform(0, full_s))  # the first build: a full one
    _build(run_root, out, None)
    kills, updates_killed = int(killed), 0
    # Until enough kills landed: the machine's speed changes under load, so a build that
    # ended before its kill times the next kill's range.
    for _ in range(40):
        _mutate(run_root, rng, counter)
        # Incremental builds, and the ones recovering from the build killed before.
        killed, ran = _build(run_root, out, rng.uniform(0, 1.5 * update_s))
        kills += killed
        updates_killed += killed
        if not killed:
            update_s = ran
        if kills >= 5 and updates_killed >= 2:
            break
    assert updates_killed >= 2, replay
    _build(run_root, out, None)
    fresh = tmp_path / "fresh"
    _build(run_root, fresh, None)
    got, want = tree(out), tree(fresh)
    differ = sorted(k for k in got.keys() | want.keys() if got.get(k) != want.get(k))
    assert not differ, f"{replay}: {differ[:10]}"
