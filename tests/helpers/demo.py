"""`make demo` on a fresh machine: the demo's script and sample tasks copied into a repository
of their own, and the environment a new user's shell would have."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def demo_copy(tmp_path: Path) -> Path:
    """scripts/demo.py and sample_tasks/ in a repository of their own (demo-root/ goes there)."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "demo.py", repo / "scripts" / "demo.py")
    shutil.copytree(REPO / "sample_tasks", repo / "sample_tasks")
    return repo


def demo_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a fresh shell: no RUNWRAP_* of ours, a cache of its own, no colour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNWRAP_")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), NO_COLOR="1", COLUMNS="200")
    return env
