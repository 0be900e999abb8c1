"""sitegen benchmarks: full builds, one-run updates, watch latency, peak memory.

    python benchmarks/bench_sitegen.py [--work DIR] [--quick]

Synthetic roots come from make_synthetic_root.py (100 tasks x 100 runs and
100 tasks x 1,000 runs). Prints a markdown section for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from make_synthetic_root import make_root, write_run

from sitegen.build import Site
from sitegen.config import SiteConfig

SITEGEN = str(Path(sys.executable).parent / "sitegen")


def run_measured(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB, the largest of the process and its workers)."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env={**os.environ, "RUNWRAP_CONFIG": "/dev/null"})
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} failed")
    return time.monotonic() - started, usage.ru_maxrss


def full_build(root: Path, out: Path) -> dict:
    """A full build through the CLI: time, run pages per second, peak RSS."""
    shutil.rmtree(out, ignore_errors=True)
    seconds, rss = run_measured([SITEGEN, "--root", str(root), "--out", str(out), "-q"])
    runs = sum(1 for _ in root.glob("tasks/*/runs/*"))
    return {"runs": runs, "seconds": seconds, "pages_per_s": runs / seconds, "rss_mb": rss / 1024}


def one_run_updates(root: Path, out: Path, repeat: int = 7) -> dict:
    """Median time to bring the site up to date after one new run: in-process and via the CLI."""
    rng = random.Random(7)
    cfg = SiteConfig(root=str(root), out=str(out))
    site = Site(cfg)
    site.update()
    inproc, cli = [], []
    for i in range(repeat):
        task = f"task-{rng.randrange(100):03d}"
        write_run(str(root), task, 100_000 + 2 * i, rng)
        started = time.monotonic()
        stats = site.update()
        inproc.append(time.monotonic() - started)
        assert stats.run_pages <= 2, stats
        write_run(str(root), task, 100_000 + 2 * i + 1, rng)
        cli.append(run_measured([SITEGEN, "--root", str(root), "--out", str(out), "-q"])[0])
    return {"inproc": statistics.median(inproc), "cli": statistics.median(cli)}


def watch_latency(root: Path, out: Path, repeat: int = 15) -> dict:
    """Median seconds from a manifest's final rename to the updated dashboard on disk."""
    rng = random.Random(11)
    log = out.parent / "watch.log"
    started = time.monotonic()
    with open(log, "w") as f:
        proc = subprocess.Popen(
            [SITEGEN, "--root", str(root), "--out", str(out), "--watch"],
            env={**os.environ, "RUNWRAP_CONFIG": "/dev/null"},
            stderr=f,
        )
    dashboard = out / "index.html"
    try:
        # Ready once every directory has its inotify watch (it says so).
        _wait(lambda: "watching" in log.read_text(), 600)
        ready = time.monotonic() - started
        probe = write_run(str(root), "task-000", 300_000, rng)
        _wait(lambda: probe in dashboard.read_text(), 60)
        latencies = []
        for i in range(repeat):
            task = f"task-{rng.randrange(100):03d}"
            before = dashboard.stat().st_mtime_ns
            run_id = write_run(str(root), task, 200_000 + i, rng, status="failed")
            renamed = time.monotonic()  # write_run's last step is the manifest's rename
            _wait(
                lambda rid=run_id, old=before: (
                    dashboard.stat().st_mtime_ns != old and rid in dashboard.read_text()
                ),
                30,
            )
            latencies.append(time.monotonic() - renamed)
            time.sleep(0.3)
    finally:
        proc.terminate()
        _, _, usage = os.wait4(proc.pid, 0)
    return {
        "median": statistics.median(latencies),
        "max": max(latencies),
        "ready": ready,
        "rss_mb": usage.ru_maxrss / 1024,
    }


def _wait(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.002)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default=str(Path(__file__).parent / ".work"))
    p.add_argument("--quick", action="store_true", help="only the 10,000-run root")
    args = p.parse_args()
    work = Path(args.work)
    sizes = [100] if args.quick else [100, 1000]
    results = {}
    for per_task in sizes:
        root = work / f"root-{per_task}"
        if not root.exists():
            print(f"generating 100 tasks x {per_task} runs in {root}", file=sys.stderr)
            make_root(str(root), 100, per_task)
        out = work / f"site-{per_task}"
        print(f"full build of {per_task * 100} runs", file=sys.stderr)
        full = full_build(root, out)
        print(f"  {full}", file=sys.stderr)
        upd = one_run_updates(root, out)
        print(f"  update after one run: {upd}", file=sys.stderr)
        lat = watch_latency(root, out)
        print(f"  watch: {lat}", file=sys.stderr)
        results[per_task] = (full, upd, lat)
    print("| runs | full build | run pages/s | peak RSS | update after one run: in process | CLI |")
    print("|---:|---:|---:|---:|---:|---:|")
    for full, upd, _ in results.values():
        print(
            f"| {full['runs']:,} | {full['seconds']:.1f} s | {full['pages_per_s']:,.0f} |"
            f" {full['rss_mb']:.0f} MB | {upd['inproc'] * 1000:.0f} ms |"
            f" {upd['cli'] * 1000:.0f} ms |"
        )
    if len(results) == 2:
        a, b = results[100][1], results[1000][1]
        ratio = b["inproc"] / a["inproc"]
        print(
            f"\nRatio of update times, 100,000 / 10,000 runs: in process {ratio:.2f},"
            f" CLI {b['cli'] / a['cli']:.2f}"
        )
    for per_task, (_, _, lat) in results.items():
        if lat:
            median = lat["median"] * 1000
            print(
                f"\n`--watch` at {per_task * 100:,} runs: median latency {median:.0f} ms"
                f" (max {lat['max'] * 1000:.0f} ms) from a manifest's rename to the updated"
                f" dashboard; watcher peak RSS {lat['rss_mb']:.0f} MB; ready to watch"
                f" {lat['ready']:.1f} s after start"
            )


if __name__ == "__main__":
    main()
