"""Corrupt files under ROOT: runwrap still runs the job, and its readers never crash.

Each file runwrap keeps for a task (state.json, seq, notify.json, a final and
a running run's manifest.json, an open/ marker, lock, state.lock) is made, in
turn: cut off, garbage, wrong-typed JSON, empty, a directory, a symlink to a
file outside ROOT, a FIFO (which must never block), huge, and deeply nested.
After each, `runwrap ls` and `runwrap history t` exit 0 without a traceback,
and `runwrap -n t -- JOB` runs its job and exits 0.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from helpers.faults import (
    check_task,
    figure,
    final_manifests,
    kill_marked,
    mark_env,
    new_mark,
    open_markers,
    scale,
    seeded,
)
from helpers.polling import wait_for
from helpers.runs import Root

CONFIG = """
notifiers:
  n: {type: command, command: "true"}
defaults:
  notify: [n]
"""

KINDS = (
    "cut",
    "garbage",
    "wrong-types",
    "empty",
    "directory",
    "symlink",
    "dangling-symlink",
    "fifo",
    "huge",
    "deep",
)

WRONG_TYPES = {
    "state.json": {
        "last_run_id": 5,
        "last_status": [],
        "status": {},
        "since": 7,
        "consecutive_failures": "3",
        "last_success_id": True,
    },
    "seq": "3.5\n",
    "notify.json": {
        "n": {"pending": [1, "x", {"id": 5, "event": []}], "failing": "yes", "told": 3},
        "x": 5,
    },
    "final manifest": {
        "run_id": 5,
        "status": ["failed"],
        "started_at": 7,
        "ended_at": {},
        "seq": "1",
        "owner": "me",
        "artifacts": "none",
        "feedback": [],
        "labels": 3,
        "command": 7,
        "duration_s": "x",
        "exit_code": "1",
    },
    "running manifest": {
        "status": "running",
        "owner": {"host": 5, "pid": "1", "boot_id": [], "start": "x"},
        "started_at": 7,
        "heartbeat_at": [],
        "feedback": 3,
        "pid": "12",
        "pgid": [],
    },
    "open marker": {"owner": {"host": 5, "pid": "x", "start": [], "boot_id": 3}},
    "lock": {"pid": "x"},
    "state.lock": {"pid": "x"},
}
TARGETS = tuple(WRONG_TYPES)


class Template:
    """A task with a success, a failure, and a run whose runwrap was SIGKILLed (still open)."""

    def __init__(self, path: Path, config: Path) -> None:
        self.path = path
        self.config = config
        self.final_id = self.running_id = ""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    base = tmp_path_factory.mktemp("corrupt-template")
    (base / "cwd").mkdir()
    config = base / "config.yaml"
    config.write_text(CONFIG)
    root = Root(base / "root", base / "cwd")
    root.env["RUNWRAP_CONFIG"] = str(config)
    mark = new_mark()
    root.env = mark_env(root.env, mark)
    try:
        assert root.run("-n", "t", "--", "true").returncode == 0
        assert root.run("-n", "t", "--", "sh", "-c", "exit 1").returncode == 1
        proc = root.start("-n", "t", "--", "sleep", mark)
        wait_for(lambda: len(root.manifests_so_far("t")) == 3, what="the third run")
        proc.kill()
        proc.wait(timeout=30)
    finally:
        kill_marked(mark)
    made = Template(root.path, config)
    made.final_id, _failed, made.running_id = root.run_ids("t")
    assert open_markers(root.task_dir("t")) == [made.running_id]
    return made


def _target_path(task: Path, template: Template, target: str) -> Path:
    return {
        "state.json": task / "state.json",
        "seq": task / "seq",
        "notify.json": task / "notify.json",
        "final manifest": task / "runs" / template.final_id / "manifest.json",
        "running manifest": task / "runs" / template.running_id / "manifest.json",
        "open marker": task / "open" / template.running_id,
        "lock": task / "lock",
        "state.lock": task / "state.lock",
    }[target]


def _corrupt(path: Path, target: str, kind: str, rng, outside: Path) -> None:
    sample = path.read_bytes() if path.is_file() else b""
    sample = sample or json.dumps(WRONG_TYPES[target]).encode()
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    if kind == "cut":
        path.write_bytes(sample[:40])
    elif kind == "garbage":
        path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randint(1, 400))))
    elif kind == "wrong-types":
        value = WRONG_TYPES[target]
        path.write_text(value if isinstance(value, str) else json.dumps(value))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "directory":
        path.mkdir()
        (path / "inside").write_text("x")
    elif kind == "symlink":
        outside.write_bytes(sample)
        path.symlink_to(outside)
    elif kind == "dangling-symlink":
        path.symlink_to(outside)  # nothing may appear there
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "huge":
        with open(path, "wb") as f:
            f.write(sample[:1])
            f.truncate(64 * 1024 * 1024)  # sparse: huge to read, cheap to make
    elif kind == "deep":
        path.write_bytes(b"[" * 200_000 + b"]" * 200_000)


def _case(template: Template, base: Path, target: str, kind: str, rng) -> list[str]:
    """One corruption; the problems found (an empty list when all is well)."""
    problems: list[str] = []
    (base / "cwd").mkdir(parents=True)
    root = Root(base / "root", base / "cwd")
    root.env["RUNWRAP_CONFIG"] = str(template.config)
    mark = new_mark()
    root.env = mark_env(root.env, mark)
    shutil.copytree(template.path, root.path, symlinks=True)
    task = root.task_dir("t")
    outside = base / "outside"
    path = _target_path(task, template, target)
    _corrupt(path, target, kind, rng, outside)
    before = outside.read_bytes() if outside.exists() else None
    ran = base / "ran"
    try:
        readers = [root.start("ls"), root.start("history", "t")]
        for proc in readers:
            try:
                _out, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                problems.append(f"runwrap {proc.args[1]} blocked")
                continue
            if proc.returncode != 0 or "Traceback" in err or "internal error" in err:
                problems.append(f"runwrap {proc.args[1]} exit {proc.returncode}: {err.strip()}")
        try:
            job = f"echo ran >> {ran}; : {mark}"
            result = root.run("-n", "t", "--kill-grace", "0.2", "--", "sh", "-c", job, timeout=30)
        except subprocess.TimeoutExpired:
            return [*problems, "runwrap blocked"]
        if result.returncode != 0 or result.stderr:
            problems.append(f"run exit {result.returncode}: {result.stderr.strip()}")
        if not ran.exists():
            problems.append("the job did not run")
        if before is not None and outside.read_bytes() != before:
            problems.append("the file outside ROOT was changed")
        if before is None and os.path.lexists(outside):
            problems.append("a file was created outside ROOT")
        try:
            if target == "final manifest":
                # That run's record is gone for good; the rest must hold.
                path.parent.rename(path.parent.parent / ".corrupted")
                final_manifests(task)
                assert open_markers(task) == [], open_markers(task)
            else:
                check_task(task)
        except AssertionError as e:
            problems.append(f"invariant: {e}")
    finally:
        kill_marked(mark)
        root.stop_all()
    return problems


@pytest.mark.parametrize("target", TARGETS)
def test_corrupt_file(template: Template, tmp_path: Path, target: str) -> None:
    rng = seeded(f"corrupt {target}")
    seeds = {kind: rng.randrange(2**32) for kind in KINDS}
    # The whole matrix from FAULTS_SCALE 2 (make faults); a different third of it each time
    # below, the FIFO (the one that could block) always.
    kinds = KINDS if scale() > 1 else sorted({"fifo", *rng.sample(KINDS, 3)})

    def one(kind: str) -> list[str]:
        import random

        found = _case(template, tmp_path / kind, target, kind, random.Random(seeds[kind]))
        return [f"{target} {kind}: {p}" for p in found]

    with ThreadPoolExecutor(max_workers=3) as pool:
        problems = [p for found in pool.map(one, kinds) for p in found]
    assert problems == [], "\n".join(problems)
    figure(
        f"corrupt {target}: {len(kinds)} corruptions ({', '.join(kinds)}): the job ran and "
        "runwrap exited 0 each time, ls and history exited 0 without a traceback, nothing "
        "blocked, invariants held afterwards"
    )
