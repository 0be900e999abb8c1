"""ROOTs for sitegen to read and the real sitegen reading them: run directories written per
the contract, roots filled by the real runwrap, crawling and snapshots of OUT.

Fixtures: `run_root` (an empty run root; `root` is runwrap's `Root`), `out` (the
output directory) and `served` (one site of the session, payloads planted, built
in a world-readable directory for nginx's workers).
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from runwrap.store.layout import STDERR, STDOUT, ensure_task_dirs, new_run_id, run_dir, task_dir
from runwrap.store.manifest import new_manifest, scan_artifacts, write_manifest
from runwrap.store.openruns import claim_open
from runwrap.store.owner import owner_identity
from runwrap.timefmt import iso
from sitegen.config import SiteConfig

from helpers.clock import shifted
from helpers.polling import wait_for
from helpers.runs import BIN

BASE = 1_795_000_000.0  # a fixed start time (2026-11), so pages are reproducible


def run_id_for(started: float, n: int) -> str:
    """Run n's id, in runwrap's format (20261122T043733.123Z-3f9a), n in place of the random
    part: writing run n again rewrites the same run."""
    return new_run_id(started)[:-4] + f"{n % 65536:04x}"


def write_run(
    root: Path,
    task: str,
    n: int,
    status: str = "success",
    *,
    duration: float = 1.5,
    stdout: bytes = b"hello\n",
    stderr: bytes = b"",
    feedback: dict | None = None,
    labels: dict | None = None,
    files: dict[str, bytes] | None = None,
    reason: str | None = None,
    **fields: object,
) -> str:
    """Write run number n of a task (started n minutes after BASE); return its run id."""
    ensure_task_dirs(str(root), task)
    started = BASE + 60 * n
    run_id = run_id_for(started, n)
    path = run_dir(str(root), task, run_id)
    os.makedirs(path, exist_ok=True)
    if status != "skipped":
        Path(path, STDOUT).write_bytes(stdout)
        Path(path, STDERR).write_bytes(stderr)
    for name, data in (files or {}).items():
        target = Path(path, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    running = status == "running"
    manifest = new_manifest(
        task=task,
        run_id=run_id,
        host=os.uname().nodename,
        user="tester",
        command=["sh", "-c", f"job {n}"],
        status=status,
        exit_code=None if running else (0 if status == "success" else 1),
        started_at=iso(started),
        ended_at=None if running else iso(started + duration),
        duration_s=None if running else duration,
        feedback=feedback or {},
        labels=labels or {},
        stdout_bytes=len(stdout),
        stderr_bytes=len(stderr),
        artifacts=[] if running else scan_artifacts(path),
        reason=reason if reason is not None else (None if status == "success" else f"{status}"),
        owner=owner_identity() if running else None,
        liveness="running" if running else None,
        **fields,
    )
    if running:  # as runwrap does: an unfinished run is marked open (docs/on-disk.md)
        claim_open(task_dir(str(root), task), run_id, manifest["owner"])
    write_manifest(path, manifest, durable=False)  # atomic; a test needs no fsync
    return run_id


def make_root(root: Path, tasks: int, runs: int) -> None:
    """A synthetic history: `tasks` tasks of `runs` finished runs each (a failure every 7th)."""
    for t in range(tasks):
        for n in range(runs):
            status = "failed" if n % 7 == 3 else "success"
            write_run(root, f"task-{t:03d}", n, status, files={"out/data.csv": b"1,2\n"})


def site_config(root: Path, out: Path, **kw: object) -> SiteConfig:
    """A SiteConfig for a test root and output."""
    return SiteConfig(root=str(root), out=str(out), **kw)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def page_links(path: Path) -> list[str]:
    """Every href and src of an HTML or SVG page."""
    parser = _Links()
    parser.feed(path.read_text("utf-8"))
    return parser.links


def _feed_links(path: Path) -> list[str]:
    tree = ET.parse(path)
    return [e.get("href") for e in tree.iter("{http://www.w3.org/2005/Atom}link")]


def crawl(out: Path) -> tuple[set[Path], list[str]]:
    """Follow every link from OUT/index.html; return (files reached, problems).

    A problem is a link that does not resolve to a file in OUT, a link that
    leaves the site, or a page or feed in OUT that no link reaches.
    """
    seen: set[Path] = set()
    broken: list[str] = []
    todo = [(out / "index.html").resolve()]
    while todo:
        page = todo.pop()
        if page in seen:
            continue
        seen.add(page)
        if page.suffix in (".html", ".svg"):
            links = page_links(page)
        elif page.suffix == ".atom":
            links = _feed_links(page)
        else:
            continue
        for link in links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc:
                broken.append(f"{page}: external link {link}")
                continue
            if not parts.path:
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_relative_to(out.resolve()):
                broken.append(f"{page}: link outside the site {link}")
            elif not target.is_file():
                broken.append(f"{page}: broken link {link}")
            else:
                todo.append(target)
    for path in out.resolve().rglob("*"):
        rel = path.relative_to(out.resolve()).as_posix()
        if path.suffix in (".html", ".atom") and not rel.startswith(".") and path not in seen:
            broken.append(f"{rel}: not reached by any link")
    return seen, broken


# When a page or status.json was written: the one thing in OUT that is not a function of ROOT.
BUILT = re.compile(rb'<time class="built" datetime="[^"]*">[^<]*</time>|"generated_at": "[^"]*"')


def snapshot(out: Path) -> dict[str, bytes]:
    """Every file of a site by relative path, without the build cache, OUT/metrics
    (its counters carry what earlier builds saw: history, not a function of ROOT),
    `sitegen --watch`'s heartbeat (watch.json) or the times pages were built."""
    files = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if rel.startswith(".sitegen") or rel in ("metrics", "watch.json") or not path.is_file():
            continue
        files[rel] = BUILT.sub(b"BUILT", path.read_bytes())
    return files


# No user config, and the parsed-config cache kept out of the system's cache directory.
ENV = {
    **os.environ,
    "RUNWRAP_CONFIG": "/dev/null",
    "XDG_CACHE_HOME": os.path.join(tempfile.gettempdir(), "runwrap-tests-cache"),
}


def runwrap(
    root: Path, name: str, script: str, *opts: str, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run `sh -c SCRIPT` under the real runwrap as task `name`."""
    return subprocess.run(
        [str(BIN / "runwrap"), "--root", str(root), "-n", name, *opts, "--", "sh", "-c", script],
        env=ENV if env is None else env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def start_runwrap(root: Path, name: str, script: str, *opts: str) -> subprocess.Popen:
    """Start `sh -c SCRIPT` under runwrap in the background."""
    return subprocess.Popen(
        [str(BIN / "runwrap"), "--root", str(root), "-n", name, *opts, "--", "sh", "-c", script],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def sitegen(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the real sitegen command to completion."""
    return subprocess.run(
        [str(BIN / "sitegen"), *args], env=env or ENV, capture_output=True, text=True, timeout=120
    )


def real_root(root: Path) -> Path:
    """A root filled by the real runwrap: successes, a failure, a timeout, a skipped-free mix."""
    assert (
        runwrap(
            root,
            "backup",
            "echo saving; echo '[progress]100' >> $RUNWRAP_FEEDBACK",
            "-l",
            "info1=nightly",
        ).returncode
        == 0
    )
    assert (
        runwrap(
            root,
            "backup",
            "echo again; mkdir -p out; echo 1,2 > out/data.csv; "
            "printf '# Report\\n\\n| a | b |\\n|---|---|\\n| 1 | 2 |\\n' > report.md",
        ).returncode
        == 0
    )
    assert runwrap(root, "report", "echo broken >&2; exit 3").returncode == 3
    assert runwrap(root, "slow job", "sleep 5", "--timeout", "0.3s").returncode == 124
    return root


# Tasks turning late: runs recorded in the past and builds as if later (libfaketime).


def kept_changes(out: Path, task: str) -> dict[str, dict]:
    """What changed in each failed run of a task, as the build cache keeps it
    (OUT/.sitegen/tasks/<task>.pack, pages.what_changed): {run_id: changes}."""
    from urllib.parse import quote

    from sitegen.build.cache import cache_dir
    from sitegen.publish.packed import unpack

    raw = (Path(cache_dir(str(out))) / "tasks" / (quote(task, safe="") + ".pack")).read_bytes()
    data, trusted = unpack(raw)
    assert trusted and isinstance(data, dict), "not a cache sitegen sealed"
    return data.get("changes") or {}


def status_json(out: Path) -> dict:
    """OUT/status.json as it is now ({} while there is none, or half of one)."""
    try:
        return json.loads((out / "status.json").read_text())
    except (OSError, ValueError):
        return {}


def past_racy_window(root: Path) -> None:
    """Wait until the newest change under `root` is older than an update's racy window
    (sitegen.read.sigs.RACY_S): from then on the stamp and kept answers may trust the
    signatures, so that only the clock can make the next update differ."""
    from sitegen.read.sigs import RACY_S

    changed = max(
        os.lstat(os.path.join(where, name)).st_ctime
        for where, dirs, files in os.walk(root)
        for name in (*dirs, *files, ".")
    )
    wait_for(lambda: time.time() > changed + 2 * RACY_S, what="the racy window to pass")


def build_later(run_root: Path, out: Path, minutes: int) -> None:
    """A one-shot build as if it were `minutes` later than now."""
    result = subprocess.run(
        [str(BIN / "sitegen"), "--root", str(run_root), "--out", str(out)],
        env=shifted(ENV, f"+{minutes}m"), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def run_in_the_past(
    run_root: Path, task: str, seconds_ago: float, *opts: str, env: dict | None = None
) -> None:
    """One successful run of `task`, recorded as if it had run `seconds_ago` seconds ago."""
    result = subprocess.run(
        [str(BIN / "runwrap"), "--root", str(run_root), "-n", task, *opts, "--", "true"],
        env=shifted(env or ENV, f"-{seconds_ago:.3f}s"), capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def turning_late_soon(run_root: Path, task: str, in_s: float, env: dict | None = None) -> float:
    """Record a run of `task` (schedule: every minute) so that it turns late `in_s` seconds
    from now, when its grace after the next minute runs out; return that moment."""
    at = time.time() + in_s
    boundary = math.floor(at / 60) * 60  # the next expected run, in the past or just ahead
    grace = max(1, math.ceil(at - boundary))
    run_in_the_past(run_root, task, time.time() - (boundary - 1), "--schedule", "* * * * *",
                    "--grace", f"{grace}s", env=env)  # fmt: skip
    return boundary + grace


@pytest.fixture
def run_root(tmp_path: Path) -> Path:
    """An empty run root."""
    path = tmp_path / "root"
    (path / "tasks").mkdir(parents=True)
    return path


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """The output directory."""
    return tmp_path / "site"


PAYLOAD = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


@pytest.fixture(scope="session")
def served(tmp_path_factory) -> dict:
    """One site built by the real sitegen from real runwrap runs, with payloads planted.

    Lives in a world-readable directory: nginx's workers (nobody, under root) read it.
    """
    base = Path(tempfile.mkdtemp(prefix="sitegen-served-"))
    base.chmod(0o755)
    root, out = base / "root", base / "site"
    real_root(root)
    quoted = shlex.quote(PAYLOAD)
    script = (
        f"printf '%s\\n' {quoted}; printf '%s\\n' {quoted} >&2;"
        f' echo "[info]"{quoted} >> "$RUNWRAP_FEEDBACK";'
        f" printf '%s\\n' {quoted} > report.md; echo data > {shlex.quote('<img src=x onerror=alert(1)>.txt')};"
        " printf '<script>window.__xss=3</script>' > page.html; exit 1"
    )
    result = runwrap(root, "evil task", script, "-l", f"info1={PAYLOAD}", "-l", f"{PAYLOAD}=x")
    assert result.returncode == 1, result.stderr
    built = sitegen("--root", str(root), "--out", str(out))
    assert built.returncode == 0, built.stderr
    yield {"root": root, "out": out, "base": base}
    shutil.rmtree(base, ignore_errors=True)
