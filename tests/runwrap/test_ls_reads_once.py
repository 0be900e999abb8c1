"""runwrap ls looks at each file of a task once: the list every operator types is paid on
every task (issue 21: ls no slower than before issues 21 and 22 added to every row).

Counted with strace on the real command: every system call that names a path.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from helpers.runs import RUNWRAP, Root

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")

TASKS = ("alpha", "beta", "gamma")


def traced_ls(root: Root, tmp_path: Path, *args: str) -> list[str]:
    """The system calls of `runwrap ls ARGS` that name a file (one line each)."""
    trace = tmp_path / "ls.strace"
    done = subprocess.run(
        ["strace", "-f", "-e", "trace=%file,%desc", "-o", str(trace), RUNWRAP, "ls", *args],
        env=root.env, cwd=root.cwd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return trace.read_text().splitlines()


def naming(lines: list[str], name: str) -> list[str]:
    return [line for line in lines if f'"{name}"' in line or f'/{name}"' in line]


@pytest.fixture
def listed(root: Root) -> Root:
    """Three tasks: one failing, one labelled, one plain, all finished."""
    assert root.run("-n", "alpha", "--", "true").returncode == 0
    assert root.run("-n", "beta", "--", "false").returncode == 1
    assert root.run("-n", "gamma", "-l", "team=db", "--", "true").returncode == 0
    return root


def test_each_state_json_is_opened_once(listed: Root, tmp_path: Path) -> None:
    lines = traced_ls(listed, tmp_path)
    opened = [line for line in naming(lines, "state.json") if "open" in line]
    assert len(opened) == len(TASKS), "\n".join(opened)


def test_each_retired_mark_is_looked_at_once(listed: Root, tmp_path: Path) -> None:
    lines = traced_ls(listed, tmp_path)
    looks = naming(lines, "retired.json")
    assert len(looks) == len(TASKS), "\n".join(looks)


def test_the_silences_directory_is_looked_at_once_per_list(listed: Root, tmp_path: Path) -> None:
    lines = traced_ls(listed, tmp_path)
    looks = naming(lines, "silences")
    assert len(looks) == 1, "\n".join(looks)


def test_a_retired_task_is_still_left_out_and_shown_when_named(
    listed: Root, tmp_path: Path
) -> None:
    assert listed.run("retire", "gamma").returncode == 0
    out = listed.run("ls").stdout
    assert "gamma" not in out and "alpha" in out
    named = listed.run("ls", "gamma").stdout
    assert "retired by" in named
    assert listed.run("-n", "gamma", "--", "true").returncode == 0  # its next run
    assert "gamma" in listed.run("ls").stdout
