"""`make demo`: run the sample tasks through runwrap, then build and serve the dashboard.

Everything lands in demo-root/ (the runs) and demo-site/ (the site), next to
this repository's Makefile; run it again to add more runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ROOT = REPO / "demo-root"
OUT = REPO / "demo-site"
TASKS = REPO / "sample_tasks"
PORT = os.environ.get("DEMO_PORT", "8000")

ENV = {**os.environ, "RUNWRAP_ROOT": str(ROOT), "RUNWRAP_CONFIG": str(TASKS / "demo.yaml")}


def runwrap(*args: str, background: bool = False) -> subprocess.Popen | int:
    cmd = [str(BIN / "runwrap"), *args]
    if background:
        return subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return subprocess.run(cmd, env=ENV).returncode


def main() -> int:
    # Our lines and the runwrap commands' share the terminal (or a pipe): in order.
    sys.stdout.reconfigure(line_buffering=True)
    # Stopped by a signal, the demo still stops what it started (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"demo: running the sample tasks through runwrap into {ROOT}")
    batches = [
        (3, ["-n", "hello", "--", str(TASKS / "hello.sh")]),
        (8, ["-n", "flaky", "--", str(TASKS / "flaky.sh")]),
        (2, ["-n", "weekly-report", "--", str(TASKS / "report.sh")]),
        (1, ["-n", "stuck-sync", "--", str(TASKS / "hang.sh")]),
        (1, ["-n", "ingest", "--", sys.executable, str(TASKS / "long_feedback.py"), "8", "0.1"]),
    ]
    for count, args in batches:
        codes = [runwrap(*args) for _ in range(count)]
        print(f"  {args[1]:<14} {count} run(s), exit codes {codes}")
    # One long run stays in progress while the site is up, to show live progress.
    runs = ROOT / "tasks" / "nightly-import" / "runs"
    before = _run_dirs(runs)
    live = runwrap(
        "-n",
        "nightly-import",
        "--",
        sys.executable,
        str(TASKS / "long_feedback.py"),
        "600",
        "1",
        background=True,
    )
    assert isinstance(live, subprocess.Popen)
    try:
        # `ls` right away could miss it: runwrap is still starting in the background.
        _wait_until_recorded(runs, before, live)
        print()
        runwrap("ls")
        print()
        sitegen = shutil.which("sitegen", path=str(BIN))
        if sitegen is None or subprocess.run([sitegen, "--help"], capture_output=True).returncode:
            print("demo: sitegen is not built yet; the runs above are in", ROOT)
            return 0
        print("demo: to use the README's commands on these runs, paste:")
        print(f"  export RUNWRAP_ROOT={ROOT} PATH={BIN}:$PATH")
        print(f"demo: building {OUT} and serving it at http://127.0.0.1:{PORT}/; stop with Ctrl-C")
        return subprocess.call(
            [
                sitegen,
                "--root",
                str(ROOT),
                "--out",
                str(OUT),
                "--watch",
                "--serve",
                f"127.0.0.1:{PORT}",
            ],
            env=ENV,
        )
    except KeyboardInterrupt:
        return 0
    finally:
        live.terminate()
        live.wait()


def _run_dirs(runs: Path) -> set[str]:
    try:
        return {p.name for p in runs.iterdir()}
    except OSError:
        return set()


def _wait_until_recorded(runs: Path, before: set[str], live: subprocess.Popen) -> None:
    """Until the background run is on disk (its run directory, born with its manifest:
    docs/on-disk.md), so that `ls` lists it; at most 30 s, or until runwrap exits."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and live.poll() is None:
        if any((runs / name / "manifest.json").is_file() for name in _run_dirs(runs) - before):
            return
        time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
