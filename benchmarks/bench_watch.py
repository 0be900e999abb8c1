"""`sitegen --watch` benchmark: latency, idle CPU and inotify watches at two history sizes.

    python benchmarks/bench_watch.py [--work DIR] [--idle SECONDS] [--repeat N]

Two synthetic roots of 100 tasks (make_synthetic_root.py's runs): 20 runs a
task (2,000 runs) and 200 (20,000). Both end with the same 20 runs a task,
ten minutes apart; the 180 more of the larger root are older, a week apart.
So they differ only in history, which is what is measured, not in what
happened lately (the dashboard's timeline shows the last 24 hours and 7
days of runs, whatever the history). For each, the installed `sitegen --watch`:

- watches: the kernel's count for the process (/proc/PID/fdinfo of its
  inotify descriptor, the `inotify wd:` lines), against the run directories;
- idle CPU: utime+stime (/proc/PID/stat) and time on CPU (/proc/PID/schedstat,
  in ns) over --idle seconds of nothing happening, as a share of wall time:
  first with no recent run, then right after the latency runs;
- latency: a run written (its manifest renamed into place last, as runwrap
  does, then folded into state.json) to its run page and the dashboard
  showing it on disk; median and max of --repeat runs in random tasks.

Both watchers run side by side: idle over the same seconds, timed runs
alternating between the roots, so that other load falls on both alike.

Prints a markdown section for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from make_synthetic_root import write_run

from runwrap.store.jsonio import write_json_atomic
from runwrap.store.layout import SEQ, run_ids_in
from runwrap.store.manifest import read_manifest
from runwrap.store.state import rebuild_state, state_path, update_state

SITEGEN = str(Path(sys.executable).parent / "sitegen")
TASKS = 100
TICK = os.sysconf("SC_CLK_TCK")
RECENT = 20  # runs a task, the same in both roots
LATEST = 1_000_000  # run numbers (10 minutes apart) of the recent runs, then the new ones


def make_watch_root(root: Path, per_task: int) -> None:
    """100 tasks: per_task - RECENT runs a week apart, then RECENT runs ten minutes apart."""
    old_rng, recent_rng = random.Random(per_task), random.Random(1)  # recent: alike in both
    for t in range(TASKS):
        task = f"task-{t:03d}"
        for k in range(per_task - RECENT):
            write_run(str(root), task, k * 1008, old_rng)  # 1008 x 10 minutes: a week
        for j in range(RECENT):
            write_run(str(root), task, LATEST + j, recent_rng)
        task_path = root / "tasks" / task
        write_json_atomic(state_path(str(task_path)), rebuild_state(str(task_path)), fsync=False)
        (task_path / SEQ).write_text(f"{LATEST + RECENT}\n")


def next_run(root: Path, task: str, per_task: int) -> int:
    """The number of the task's next run, just after its latest (the same in both roots)."""
    return LATEST + RECENT + len(run_ids_in(str(root / "tasks" / task / "runs"))) - per_task


def watches(pid: int) -> int:
    """The inotify watches the process holds (0 without an inotify descriptor)."""
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:inotify":
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    return sum(1 for line in f if line.startswith("inotify wd:"))
        except FileNotFoundError:
            continue
    return 0


def cpu(pid: int) -> tuple[float, float]:
    """(utime+stime in seconds, time on CPU in seconds) of the process, all threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    with open(f"/proc/{pid}/schedstat") as f:
        on_cpu = int(f.read().split()[0]) / 1e9
    return (int(fields[11]) + int(fields[12])) / TICK, on_cpu


def quiet(pid: int, timeout: float = 30.0) -> None:
    """Wait until the process used no CPU for a second: the last update has finished
    writing (what follows the dashboard: metrics, the cache) and is not idle time."""
    deadline = time.monotonic() + timeout
    before = cpu(pid)[1]
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = cpu(pid)[1]
        if now - before < 0.001:
            return
        before = now


def idle_both(watchers: list, seconds: float) -> list[tuple[float, float]]:
    """Each process's CPU / wall over the same `seconds` of idleness (stat, schedstat)."""
    for w in watchers:
        quiet(w.proc.pid)
    start, before = time.monotonic(), [cpu(w.proc.pid) for w in watchers]
    time.sleep(seconds)  # the benchmark's idle period: nothing to poll for
    wall = time.monotonic() - start
    after = [cpu(w.proc.pid) for w in watchers]
    return [((a[0] - b[0]) / wall, (a[1] - b[1]) / wall) for a, b in zip(after, before)]


def _wait(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.001)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


class Watcher:
    """One `sitegen --watch` on one root."""

    def __init__(self, root: Path, out: Path, per_task: int) -> None:
        self.root, self.out, self.per_task = root, out, per_task
        self.log = out.parent / f"{out.name}.log"
        with open(self.log, "w") as f:
            self.proc = subprocess.Popen(
                [SITEGEN, "--root", str(root), "--out", str(out), "--watch"],
                env={**os.environ, "RUNWRAP_CONFIG": "/dev/null"},
                stderr=f,
            )
        self.dashboard = out / "index.html"
        self.latencies: list[float] = []
        self.result: dict = {"run_dirs": sum(1 for _ in root.glob("tasks/*/runs/*"))}

    def ready(self) -> None:
        _wait(lambda: "watching" in _read(self.log) and self.dashboard.exists(), 600)
        quiet(self.proc.pid)  # the first update after start is over
        self.result["watches"] = watches(self.proc.pid)

    def one_run(self, rng: random.Random) -> None:
        """A new failed run in a random task: seconds until its page and the dashboard."""
        task = f"task-{rng.randrange(TASKS):03d}"
        n = next_run(self.root, task, self.per_task)
        run_id = write_run(str(self.root), task, n, rng, "failed")
        written = time.monotonic()  # write_run's last step is the manifest's rename
        # Then what runwrap does next (state.json, fsynced, and its run number), as
        # the watcher works: files it never shows, and its events are ignored.
        task_path = self.root / "tasks" / task
        update_state(str(task_path), read_manifest(str(task_path / "runs" / run_id)))
        (task_path / SEQ).write_text(f"{n + 1}\n")
        page = self.out / "tasks" / task / "runs" / run_id / "index.html"
        # The task's link to it: runs of other tasks may have the same run id.
        link = f"tasks/{task}/runs/{run_id}/"
        _wait(lambda: page.exists() and link in _read(self.dashboard), 30)
        self.latencies.append(time.monotonic() - written)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def measure(watchers: list[Watcher], idle_s: float, repeat: int) -> None:
    """Both watchers side by side: idle together, runs alternating, so load falls alike."""
    for w in watchers:
        w.ready()
    for w, idle in zip(watchers, idle_both(watchers, idle_s)):
        w.result["idle_old"] = idle
    rngs = [random.Random(11) for _ in watchers]  # the same tasks in both roots
    for _ in range(repeat):
        for w, rng in zip(watchers, rngs):
            w.one_run(rng)
            time.sleep(0.3)  # one run at a time, as cron starts them
    for w, idle in zip(watchers, idle_both(watchers, idle_s)):
        w.result["idle_recent"] = idle
    for w in watchers:
        w.result["watches_after"] = watches(w.proc.pid)
        w.result["latency"] = statistics.median(w.latencies)
        w.result["latency_max"] = max(w.latencies)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default=str(Path(__file__).parent / ".work"))
    p.add_argument("--idle", type=float, default=30.0, help="seconds of each idle measurement")
    p.add_argument("--repeat", type=int, default=15, help="runs timed for the latency")
    args = p.parse_args()
    work = Path(args.work)
    watchers = []
    try:
        for per_task in (20, 200):
            root = work / f"watch-root-{per_task}"
            if not (root / "tasks").exists():
                print(f"generating {TASKS} tasks x {per_task} runs in {root}", file=sys.stderr)
                make_watch_root(root, per_task)
            watchers.append(Watcher(root, work / f"watch-site-{per_task}", per_task))
        measure(watchers, args.idle, args.repeat)
    finally:
        for w in watchers:
            w.stop()
    results = {w.per_task: w.result for w in watchers}
    print(results, file=sys.stderr)
    print(
        "| runs | inotify watches | run directories | latency median | max |"
        " idle CPU, no recent run | idle CPU, runs just finished |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for per_task, r in results.items():
        idle = [f"{r[k][0]:.3%} ({r[k][1]:.3%})" for k in ("idle_old", "idle_recent")]
        print(
            f"| {per_task * TASKS:,} | {r['watches']} (after: {r['watches_after']}) |"
            f" {r['run_dirs']:,} | {r['latency'] * 1000:.0f} ms |"
            f" {r['latency_max'] * 1000:.0f} ms |"
            f" {idle[0]} | {idle[1]} |"
        )
    small, large = results[20], results[200]
    print(
        f"\nLatency 20,000 / 2,000 runs: {large['latency'] / small['latency']:.2f}"
        f" ({large['latency'] * 1000:.0f} ms / {small['latency'] * 1000:.0f} ms)."
        " Idle CPU: utime+stime from /proc/PID/stat (schedstat's time on CPU in brackets)"
        f" over {args.idle:.0f} s."
    )


if __name__ == "__main__":
    main()
