"""The theme's templates are compiled once and kept (issue 24): a full build's parent
compiles them before it forks, so no worker reads or compiles a template again, and
Jinja's bytecode cache in OUT/.sitegen/jinja keeps them for the next build, `--full`
or not. Watched from outside with strace: which processes open a template's source,
and which files the build renames into the cache (Jinja writes a compiled template
to a temporary file, then renames it)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from helpers.runs import SITEGEN
from helpers.sites import ENV, make_root, snapshot

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")

THEME = Path(__file__).resolve().parents[2] / "themes" / "default" / "templates"
CACHE_FILE = re.compile(r"__jinja2_[^\"/]*\.cache")


def _traced_build(root: Path, out: Path, trace: Path, *args: str) -> tuple[int, list[str]]:
    """A real `sitegen` build under `strace -f`: (its pid, the trace's lines)."""
    import subprocess

    subprocess.run(
        ["strace", "-f", "-qq", "-o", str(trace), "-e", "trace=openat,rename,renameat,renameat2",
         SITEGEN, "--root", str(root), "--out", str(out), "-q", *args],
        env=ENV, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    lines = trace.read_text().splitlines()
    return int(lines[0].split()[0]), lines


def _sources_opened(lines: list[str]) -> dict[int, list[str]]:
    """Which process opened which template source (successful opens only)."""
    opened: dict[int, list[str]] = {}
    for line in lines:
        m = re.match(r'(\d+) +openat\(AT_FDCWD, "([^"]+)", [^)]*\) = \d+$', line)
        if m and Path(m.group(2)).parent == THEME:
            opened.setdefault(int(m.group(1)), []).append(Path(m.group(2)).name)
    return opened


def _compiled(lines: list[str]) -> list[str]:
    """The compiled templates the build wrote into the cache, one entry a write."""
    names = []
    for line in lines:
        if re.match(r"\d+ +rename", line) and "= 0" in line:
            names += CACHE_FILE.findall(line.split(",", 1)[1])
    return names


def test_templates_are_compiled_once_for_every_worker_and_kept_for_the_next_build(
    run_root: Path, out: Path, tmp_path: Path
) -> None:
    make_root(run_root, tasks=6, runs=3)  # several tasks: a full build forks its workers
    pid, lines = _traced_build(run_root, out, tmp_path / "first.trace")
    opened = _sources_opened(lines)
    # Only the build's own process read the theme; every template it has, once.
    assert set(opened) == {pid}, opened
    assert sorted(opened[pid]) == sorted(p.name for p in THEME.iterdir()), opened
    written = _compiled(lines)
    kept = sorted(p.name for p in (out / ".sitegen" / "jinja").iterdir())
    assert sorted(written) == kept and len(kept) == len(opened[pid]), (written, kept)
    pages = snapshot(out)

    # A full build into the same OUT (the cache cleared, the site made anew) compiles
    # nothing: the templates come back from OUT/.sitegen/jinja, and the pages are the same.
    pid, lines = _traced_build(run_root, out, tmp_path / "again.trace", "--full")
    assert _compiled(lines) == []
    assert set(_sources_opened(lines)) <= {pid}
    assert snapshot(out) == pages
    assert sorted(p.name for p in (out / ".sitegen" / "jinja").iterdir()) == kept
