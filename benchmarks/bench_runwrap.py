"""runwrap's own costs, each against a baseline measured in the same invocation.

- start-up: `runwrap -- true` vs `python -c pass` (the interpreter floor) vs
  the shell idiom `flock -n LOCK timeout 60 true`, interleaved;
- capture: a job writing 1 GiB to stdout through runwrap vs the same job
  redirected to a file by the shell, interleaved;
- runwrap's own CPU while its job sleeps, and while its job appends 1,000
  feedback lines a second (read by the job itself from /proc/$PPID/stat);
- runwrap's peak RSS while the job writes 100 MiB and 1 GiB.

Prints a markdown report (paste into docs/benchmarks.md). Medians, and
ratios against the baseline: these machines are noisy.
Usage: python benchmarks/bench_runwrap.py [--quick] [--only=startup|capture|peak_rss|cpu]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
RUNWRAP = str(BIN / "runwrap")
QUICK = "--quick" in sys.argv
TICKS = os.sysconf("SC_CLK_TCK")


def timed(cmd: list[str], env: dict[str, str], cwd: str | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def interleaved(cases: dict[str, list[str]], rounds: int, env: dict[str, str]) -> dict[str, float]:
    """Median wall time of each case, the cases taking turns round after round."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, cmd in cases.items():
            times[name].append(timed(cmd, env))
    return {name: statistics.median(values) for name, values in times.items()}


def startup(work: Path, env: dict[str, str]) -> list[str]:
    lock = work / "lock"
    cases = {
        "runwrap -- true": [RUNWRAP, "--keep", "50", "--", "true"],
        "python -c pass": [sys.executable, "-c", "pass"],
        "flock -n LOCK timeout 60 true": ["flock", "-n", str(lock), "timeout", "60", "true"],
    }
    for cmd in cases.values():  # warm caches (and .pyc files)
        timed(cmd, env)
    med = interleaved(cases, 20 if QUICK else 100, env)
    floor = med["python -c pass"]
    rows = ["| command | median | vs python floor |", "|---|---|---|"]
    rows += [f"| `{n}` | {t * 1000:.1f} ms | {t / floor:.2f}x |" for n, t in med.items()]
    return rows


def rusage_of(cmd: list[str], env: dict[str, str], cwd: str) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB of the process tree) of a command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - start, usage.ru_maxrss


def capture(work: Path, env: dict[str, str]) -> list[str]:
    mib = 256 if QUICK else 1024
    job = f"dd if=/dev/zero bs=1M count={mib} status=none"
    rounds = 4 if QUICK else 8
    times: dict[str, list[float]] = {"runwrap": [], "shell": []}
    for i in range(rounds):
        # Both write a new file each round (rewriting an existing file is cheaper for the
        # filesystem); files are removed, and dirty pages written back, outside the timed
        # part; the order alternates (ABBA), as writeback makes a run slow the next one.
        cases = {
            "runwrap": [RUNWRAP, "-n", "cap", "--max-output", "4G", "--", "sh", "-c", job],
            "shell": ["sh", "-c", f"{job} > {work / f'out{i}.log'}"],
        }
        order = ["runwrap", "shell"] if i % 4 in (0, 3) else ["shell", "runwrap"]
        for name in order:
            os.sync()
            times[name].append(rusage_of(cases[name], env, str(work))[0])
        shutil.rmtree(work / "root" / "tasks" / "cap")
        (work / f"out{i}.log").unlink()
    mr, ms = statistics.median(times["runwrap"]), statistics.median(times["shell"])
    return [
        f"| {mib} MiB to stdout | median | throughput | vs shell redirect |",
        "|---|---|---|---|",
        f"| shell `> file` | {ms:.2f} s | {mib / ms:.0f} MiB/s | 1.00x |",
        f"| through runwrap | {mr:.2f} s | {mib / mr:.0f} MiB/s | {ms / mr:.2f}x |",
    ]


def peak_rss(work: Path, env: dict[str, str]) -> list[str]:
    rows = ["| job writes | runwrap peak RSS |", "|---|---|"]
    for mib in (100, 256 if QUICK else 1024):
        job = f"dd if=/dev/zero bs=64K count={mib * 16} status=none"
        cmd = [RUNWRAP, "-n", "rss", "--max-output", "4G", "--keep", "2", "--", "sh", "-c", job]
        _, rss = rusage_of(cmd, env, str(work))
        rows.append(f"| {mib} MiB | {rss / 1024:.1f} MiB |")
    return rows


# The job reads its parent's (runwrap's) CPU time from /proc just before it ends.
CPU_JOB = """
import os, sys, time
seconds, rate = float(sys.argv[1]), int(sys.argv[2])
fb = os.environ["RUNWRAP_FEEDBACK"]
start = time.monotonic()
if rate:
    with open(fb, "a") as f:
        i = 0
        while time.monotonic() - start < seconds:
            i += 1
            f.write(f"[progress]{i % 100}\\n[info]line {i}\\n" if i % 2 else f"[count]{i}\\n")
            f.flush()
            time.sleep(max(0.0, start + i / rate - time.monotonic()))
else:
    time.sleep(seconds)
stat = open(f"/proc/{os.getppid()}/stat").read()
fields = stat[stat.rfind(")") + 2:].split()
print((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), time.monotonic() - start)
"""


def runwrap_cpu(
    work: Path, env: dict[str, str], seconds: float, rate: int, extra: list[str]
) -> float:
    cmd = [RUNWRAP, "-n", f"cpu{rate}", "--keep", "2", *extra, "--", sys.executable, "-c", CPU_JOB]
    subprocess.run([*cmd, str(seconds), str(rate)], env=env, check=True)
    run_dirs = sorted((work / "root" / "tasks" / f"cpu{rate}" / "runs").iterdir())
    cpu, wall = map(float, (run_dirs[-1] / "stdout.log").read_text().split())
    return cpu / wall


def cpu(work: Path, env: dict[str, str]) -> list[str]:
    sleep_s = 3 if QUICK else 10
    feed_s = 5 if QUICK else 30
    idle = runwrap_cpu(work, env, sleep_s, 0, [])
    idle_long = runwrap_cpu(work, env, feed_s, 0, ["--heartbeat-timeout", "60"])
    busy = runwrap_cpu(work, env, feed_s, 1000, ["--heartbeat-timeout", "60"])
    return [
        "| job | runwrap CPU (share of one core) |",
        "|---|---|",
        f"| sleeps {sleep_s} s | {idle * 100:.3f}% |",
        f"| sleeps {feed_s} s, heartbeat timeout set | {idle_long * 100:.3f}% |",
        f"| appends 1,000 feedback lines/s for {feed_s} s | {busy * 100:.3f}% "
        f"({busy / max(idle_long, 1e-9):.1f}x the sleeping job) |",
    ]


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="runwrap-bench-"))
    env = {**os.environ, "RUNWRAP_ROOT": str(work / "root"), "XDG_CONFIG_HOME": str(work)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed runwrap has its .pyc files
    try:
        print(f"# runwrap benchmarks ({'quick' if QUICK else 'full'}), {time.strftime('%Y-%m-%d')}")
        print(f"\n{os.cpu_count()} cores, Python {sys.version.split()[0]}\n")
        parts = (
            ("Start-up", startup),
            ("Capture throughput", capture),
            ("Peak RSS", peak_rss),
            ("CPU while the job runs", cpu),
        )
        only = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--only=")]
        for title, part in parts:
            if only and part.__name__ not in only:
                continue
            print(f"## {title}\n")
            print("\n".join(part(work, env)))
            print()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
