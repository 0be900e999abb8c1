"""What watching one run directory costs while its job writes its log all the time.

sitegen --watch keeps a watch on each run not settled yet. A chatty job (a log line
per write, thousands a second) is the worst case: this measures the watcher's CPU
and the events it handles over a few seconds of such writing, for sitegen's own
inotify (sitegen/live/inotify.py: creations, renames, deletions and closes after
writing only) against watchdog's inotify observer scheduled the same way (one
non-recursive watch), interleaved, in one invocation.

Usage: python benchmarks/bench_watch_events.py [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _watch(kind: str, path: str) -> list[int]:
    """Start watching `path`; return the event counter the watcher increments."""
    count = [0]
    if kind == "watchdog":
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers.inotify import InotifyObserver

        class Count(FileSystemEventHandler):
            def dispatch(self, event: object) -> None:
                count[0] += 1

        observer = InotifyObserver()
        observer.schedule(Count(), path, recursive=False)
        observer.daemon = True
        observer.start()
    else:
        sys.path.insert(0, str(REPO))
        from sitegen.live.inotify import Inotify

        ino = Inotify()
        ino.add(("run", "t", "r"), path)

        def loop() -> None:
            while True:
                if ino.wait(1.0):
                    count[0] += len(ino.read())

        threading.Thread(target=loop, daemon=True).start()
    return count


def one(kind: str, seconds: float) -> None:
    """In a child process: watch, let a shell append lines for `seconds`, print the cost."""
    path = tempfile.mkdtemp()
    count = _watch(kind, path)
    time.sleep(0.3)
    before = resource.getrusage(resource.RUSAGE_SELF)
    script = (
        f"end=$(( $(date +%s) + {int(seconds)} )); "
        f'while [ $(date +%s) -lt $end ]; do echo line >> "{path}/stdout.log"; done'
    )
    subprocess.run(["sh", "-c", script], check=True)
    time.sleep(0.3)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"{cpu:.4f} {count[0]}", flush=True)
    os._exit(0)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--one", choices=("sitegen", "watchdog"))
    args = p.parse_args()
    if args.one:
        one(args.one, args.seconds)
    results: dict[str, list[tuple[float, int]]] = {"sitegen": [], "watchdog": []}
    for _ in range(args.rounds):
        for kind in results:
            out = subprocess.run(
                [sys.executable, __file__, "--one", kind, "--seconds", str(args.seconds)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            cpu, events = out.stdout.split()
            results[kind].append((float(cpu), int(events)))
    head = f"watcher ({args.seconds:g} s of a job appending lines)"
    print(f"| {head} | CPU, median | share of a CPU | events handled | vs sitegen's |")
    print("|---|---|---|---|---|")
    base = statistics.median(c for c, _ in results["sitegen"])
    for kind, rows in results.items():
        cpu = statistics.median(c for c, _ in rows)
        events = statistics.median(e for _, e in rows)
        share = 100 * cpu / args.seconds
        print(f"| {kind} | {cpu:.3f} s | {share:.1f}% | {events:,.0f} | {cpu / base:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
