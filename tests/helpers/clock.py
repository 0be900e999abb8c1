"""Processes on a moved wall clock: Debian's libfaketime preloaded (never its wrapper).

`shifted(env, "+30m")` moves one process (and its children) by a fixed offset;
a `Clock` starts real runwrap processes at chosen instants, its offset read from
a file the test moves, so that a run still going sees the clock move too. A test
that needs libfaketime is marked `@needs_libfaketime`.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from helpers.runs import RUNWRAP

# Debian's libfaketime, preloaded directly. Never its `faketime` wrapper program: the
# wrapper creates a POSIX semaphore and shared memory named by its pid, leaks them when
# it is killed, and then refuses to start at random once a pid is reused (it broke CI).
LIBFAKETIME = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))), None)
needs_libfaketime = pytest.mark.skipif(
    LIBFAKETIME is None,
    reason="libfaketime is not installed (Debian's faketime; scripts/install-system-deps)",
)


def shifted(env: dict[str, str], offset: str) -> dict[str, str]:
    """`env` for a process whose wall clock is moved by `offset` (libfaketime's "+30m",
    "-1h", "-600s"); its children inherit the move."""
    return {**env, "LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": offset}


def instant(text: str) -> float:
    """'2027-11-07 05:00:10' (UTC) as a Unix time."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


class Clock:
    """The fake time of every process started through it (runwrap and its job)."""

    def __init__(self, root, tmp_path: Path) -> None:
        self.root = root
        self.file = tmp_path / "faketime.rc"
        self.set(time.time())

    def set(self, when: float | str) -> None:
        """From now on, it is `when` (a Unix time or a UTC 'YYYY-MM-DD HH:MM:SS')."""
        when = instant(when) if isinstance(when, str) else when
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(f"{when - time.time():+.3f}\n")
        os.replace(tmp, self.file)

    def env(self, tz: str | None = "UTC", **more: str) -> dict[str, str]:
        env = {
            **self.root.env,
            "LD_PRELOAD": str(LIBFAKETIME),
            "FAKETIME_TIMESTAMP_FILE": str(self.file),
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            **more,
        }
        env.pop("TZ", None)
        if tz is not None:
            env["TZ"] = tz
        return env

    def run(self, *args: str, tz: str | None = "UTC", **more: str) -> subprocess.CompletedProcess:
        """`runwrap ARGS` now (by this clock), under `tz` (None: TZ unset)."""
        return subprocess.run(
            [RUNWRAP, *args], env=self.env(tz, **more), capture_output=True, text=True, timeout=60
        )

    def start(self, *args: str, tz: str | None = "UTC", **more: str) -> subprocess.Popen:
        """`runwrap ARGS` in the background, on this clock."""
        return self.root.start(*args, env=self.env(tz, **more))

    def lateness(self, task: str, tz: str | None = "UTC") -> dict | None:
        """The task's lateness as `runwrap ls --json` gives it, read under `tz`."""
        result = self.run("ls", "--json", tz=tz)
        assert result.returncode == 0, result.stderr
        rows = json.loads(result.stdout)
        rows = rows.get("tasks", rows) if isinstance(rows, dict) else rows
        return next(r for r in rows if r.get("task") == task)["lateness"]
