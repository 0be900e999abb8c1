"""Fixtures for sitegen: run directories written exactly per the on-disk contract."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from runwrap.manifest import new_manifest, scan_artifacts, write_manifest
from runwrap.paths import STDERR, STDOUT, ensure_task_dirs, run_dir
from runwrap.procs import owner_identity
from runwrap.timefmt import iso
from sitegen.config import SiteConfig

BASE = 1_795_000_000.0  # a fixed start time (2026-11), so pages are reproducible


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
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started)) + f"-{n % 65536:04x}"
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
    write_manifest(path, manifest)
    return run_id


def site_config(root: Path, out: Path, **kw: object) -> SiteConfig:
    """A SiteConfig for a test root and output."""
    return SiteConfig(root=str(root), out=str(out), **kw)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty run root."""
    path = tmp_path / "root"
    (path / "tasks").mkdir(parents=True)
    return path


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """The output directory."""
    return tmp_path / "site"
