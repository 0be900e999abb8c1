"""runwrap's own costs, each against a baseline measured in the same invocation.

The commands measured are the installed ones: the repository is installed
(`pip install .`, not editable) into two fresh venvs, one with the pip that
`python -m venv` bundles (Python 3.11's is 23.2.1, whose console-script
wrappers import `re`) and one with the current pip, so the launcher the
user's pip would write is part of the figure.

- start-up: `runwrap -n t -- true` vs `python -c pass` of the same venv (the
  interpreter floor), under each pip, beside the same file and process work
  written flat in one file (flat_run.py) and the shell idiom
  `flock -n LOCK timeout 60 true`, interleaved;
- `runwrap ls` on 50 tasks vs the same floor;
- `runwrap history TASK --limit 0` on 10,000 runs vs one read of every
  manifest (a Python loop: open, read, json.loads), beside the same table
  drawn flat in that loop;
- capture: a job writing 1 GiB to stdout through runwrap vs the same job
  redirected to a file by the shell, interleaved;
- runwrap's own CPU while its job sleeps, and while its job appends 1,000
  feedback lines a second (read by the job itself from the schedstat of each
  of runwrap's threads, /proc/$PPID/task/*/schedstat: nanoseconds, not ticks);
- runwrap's peak RSS while the job writes 100 MiB and 1 GiB.

Prints a markdown report (paste into docs/benchmarks.md). Medians, and
ratios against the baseline taken round by round: these machines are noisy.
With `--against=VENV` (a venv with another commit of runwrap installed, not
editable), start-up and `ls` also time that install's command in the same
rounds, on a root of its own: a before and after that the machine's mood
touches alike.

Usage: python benchmarks/bench_runwrap.py [--quick]
       [--only=startup|ls|history|capture|peak_rss|cpu] [--against=VENV]
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

REPO = Path(__file__).resolve().parent.parent
QUICK = "--quick" in sys.argv
TICKS = os.sysconf("SC_CLK_TCK")
# Set by main(): the runwrap installed with the current pip (capture, RSS, CPU use it).
RUNWRAP = ""
AGAINST = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--against=")), None)

# The baseline of `runwrap history`: every manifest of the task read once, no more.
ONE_READ = """
import json, os, sys

runs = os.path.join(sys.argv[1], "tasks", sys.argv[2], "runs")
for entry in os.scandir(runs):
    with open(os.path.join(entry.path, "manifest.json"), "rb") as f:
        json.loads(f.read())
"""

# The same table as `runwrap history`, drawn flat in one loop over that read: no checks,
# the simplest formatting of each of the six cells (what the drawing itself costs).
FLAT_TABLE = """
import json, os, sys, time
from datetime import datetime

runs = os.path.join(sys.argv[1], "tasks", sys.argv[2], "runs")
now, rows = time.time(), [["RUN ID", "STATUS", "STARTED", "DURATION", "EXIT", "REASON"]]
for entry in os.scandir(runs):
    with open(os.path.join(entry.path, "manifest.json"), "rb") as f:
        m = json.loads(f.read())
    t = datetime.fromisoformat(m["started_at"]).timestamp()
    ago = f"{(now - t) / 3600:.0f} h ago ({time.strftime('%Y-%m-%d %H:%M', time.localtime(t))})"
    code = m.get("signal") or m.get("exit_code")
    rows.append([entry.name, m["status"], ago, f"{m.get('duration_s') or 0:.1f} s",
                 "-" if code is None else str(code), m.get("reason") or ""])
rows[1:] = sorted(rows[1:], reverse=True)
widths = [max(map(len, column)) for column in zip(*rows)]
line = "  ".join(f"{{:<{w}}}" for w in widths)
print("\\n".join(line.format(*row).rstrip() for row in rows))
"""

# FLAT_TABLE with each manifest read by the system calls runwrap's safe read makes (the run's
# directory opened without following a link, the manifest looked at without following one,
# opened O_NOFOLLOW | O_NONBLOCK, its one fstat): what those calls cost by themselves.
SAFE_READ = """D = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
F = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
runs_fd = os.open(runs, D)
for entry in os.scandir(runs):
    run_fd = os.open(entry.name, D, dir_fd=runs_fd)
    os.stat("manifest.json", dir_fd=run_fd, follow_symlinks=False)
    fd = os.open("manifest.json", F, dir_fd=run_fd)
    os.close(run_fd)
    m = json.loads(os.read(fd, os.fstat(fd).st_size + 1))
    os.close(fd)
"""
FLAT_TABLE_SAFE_READS = FLAT_TABLE.replace(
    """for entry in os.scandir(runs):
    with open(os.path.join(entry.path, "manifest.json"), "rb") as f:
        m = json.loads(f.read())
""",
    SAFE_READ,
)
assert FLAT_TABLE_SAFE_READS != FLAT_TABLE

# The modules `runwrap -n t -- true` imports by name (each imports the rest of the run path).
RUN_PATH = "runwrap.cli, runwrap.runform, runwrap.settings, runwrap.run.execute, runwrap.say"


class Venv:
    """A fresh venv with the repository installed (not editable) by `pip`."""

    def __init__(self, path: Path, upgrade_pip: bool) -> None:
        self.path = path
        quiet = {"check": True, "capture_output": True}
        subprocess.run([sys.executable, "-m", "venv", str(path)], **quiet)
        if upgrade_pip:
            subprocess.run([self.bin("pip"), "install", "-q", "--upgrade", "pip"], **quiet)
        pip = subprocess.run([self.bin("pip"), "--version"], **quiet, text=True).stdout.split()[1]
        self.label = f"pip {pip} ({'current' if upgrade_pip else 'bundled with Python'})"
        subprocess.run([self.bin("pip"), "install", "-q", str(REPO)], **quiet)
        self.python, self.runwrap = self.bin("python"), self.bin("runwrap")

    def bin(self, name: str) -> str:
        return str(self.path / "bin" / name)

    def imports(self, env: dict[str, str]) -> set[str]:
        """The modules the installed `runwrap -n t -- true` imports (its launcher included)."""
        result = subprocess.run(
            [self.runwrap, "-n", "imports", "--", "true"],
            env={**env, "PYTHONPROFILEIMPORTTIME": "1"},
            capture_output=True,
            text=True,
            check=True,
        )
        lines = result.stderr.splitlines()
        return {ln.split("|")[-1].strip() for ln in lines if ln.startswith("import time:")}


class Installed:
    """Another commit's runwrap, installed in a venv of its own (`--against`)."""

    def __init__(self, path: Path) -> None:
        self.label = f"--against ({path.name})"
        self.python, self.runwrap = str(path / "bin" / "python"), str(path / "bin" / "runwrap")


def timed(cmd: list[str], env: dict[str, str], cwd: str | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def interleaved(
    cases: dict[str, list[str]],
    rounds: int,
    env: dict[str, str],
    envs: dict[str, dict[str, str]] | None = None,
) -> dict[str, list[float]]:
    """Wall times of each case, the cases taking turns round after round (warmed up first);
    `envs` gives some cases an environment of their own (another install's root)."""
    envs = envs or {}
    for name, cmd in cases.items():  # warm caches (and the config cache)
        timed(cmd, envs.get(name, env))
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, cmd in cases.items():
            times[name].append(timed(cmd, envs.get(name, env)))
    return times


def ratio(times: dict[str, list[float]], name: str, base: str) -> float:
    """Median of the round-by-round ratios: drift of the machine's speed cancels out."""
    return statistics.median(a / b for a, b in zip(times[name], times[base]))


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} ms"


def empty_modules(where: Path, count: int, python: str) -> str:
    """`count` compiled modules of a package, each with one function: their names, joined."""
    package = where / "pkg"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    for n in range(count - 1):  # the package itself is one of them
        (package / f"m{n}.py").write_text("def f(x: int) -> int:\n    return x\n")
    subprocess.run([python, "-m", "compileall", "-q", str(package)], check=True)
    return ", ".join(f"pkg.m{n}" for n in range(count - 1))


def startup(work: Path, env: dict[str, str], venvs: list[Venv]) -> list[str]:
    lock = work / "lock"
    cases: dict[str, list[str]] = {}
    for venv in venvs:  # both venvs' cases in one round, so that load hits them alike
        for argv in (["-n", "t", "--", "true"], ["-n", "q", "--notify", "none", "--", "true"]):
            cases[f"{venv.label}|runwrap {' '.join(argv)}"] = [venv.runwrap, *argv]
        cases[f"{venv.label}|python -c pass"] = [venv.python, "-c", "pass"]
    # What the run path's imports alone cost, without running anything.
    cases[f"{venvs[-1].label}|python -c 'import {RUN_PATH}'"] = [
        venvs[-1].python,
        "-c",
        f"import {RUN_PATH}",
    ]
    # The same work written flat in one file: what the work itself costs (flat_run.py).
    flat = [venvs[-1].python, str(REPO / "benchmarks" / "flat_run.py"), str(work / "flat-root")]
    cases[f"{venvs[-1].label}|python benchmarks/flat_run.py ROOT"] = flat
    # As many modules as the run path imports of runwrap's own, each empty: the layout's cost.
    venvs[-1].imports(env)  # a task's first run also loads the notifier: count a later one's
    ours = sorted(m for m in venvs[-1].imports(env) if m.split(".")[0] == "runwrap")
    empty = empty_modules(work / "empty", len(ours), venvs[-1].python)
    cases[f"{venvs[-1].label}|python -c 'import' {len(ours)} empty modules"] = [
        venvs[-1].python,
        "-c",
        f"import sys; sys.path.insert(0, {str(work / 'empty')!r}); import {empty}",
    ]
    cases["|flock -n LOCK timeout 60 true"] = ["flock", "-n", str(lock), "timeout", "60", "true"]
    envs = {}
    if AGAINST:  # the other install's runs go to a root of its own
        other = Installed(Path(AGAINST))
        cases[f"{other.label}|runwrap -n t -- true"] = [other.runwrap, "-n", "t", "--", "true"]
        cases[f"{other.label}|python -c pass"] = [other.python, "-c", "pass"]
        envs = {name: {**env, "RUNWRAP_ROOT": str(work / "against-root")} for name in cases}
        envs = {name: e for name, e in envs.items() if name.startswith(other.label)}
    times = interleaved(cases, 20 if QUICK else 100, env, envs)
    rows = [
        "| pip that installed it | command | median | vs `python -c pass` of the same venv |",
        "|---|---|---|---|",
    ]
    for name in cases:
        label, command = name.split("|")
        floor = f"{label or venvs[-1].label}|python -c pass"
        rows.append(
            f"| {label} | `{command}` | {ms(times[name])} | {ratio(times, name, floor):.2f}x |"
        )
    rows.append("")
    for venv in venvs:
        heavy = sorted(venv.imports(env) & {"re", "enum", "functools", "collections"})
        shown = (
            ", ".join(f"`{m}`" for m in heavy) or "none of `re`, `enum`, `functools`, `collections`"
        )
        rows.append(f"- {venv.label}: the installed command imports {shown}")
    ours = f"{venvs[-1].label}|runwrap -n t -- true"
    flat_name = f"{venvs[-1].label}|python benchmarks/flat_run.py ROOT"
    rows.append(
        f"- `runwrap -n t -- true` ({venvs[-1].label}) against `flat_run.py`, round by round:"
        f" {ratio(times, ours, flat_name):.2f}x"
    )
    if AGAINST:
        theirs = f"{Installed(Path(AGAINST)).label}|runwrap -n t -- true"
        rows.append(
            f"- `runwrap -n t -- true` ({venvs[-1].label}) against {theirs.split('|')[0]}'s,"
            f" round by round: {ratio(times, ours, theirs):.2f}x"
        )
    return rows


def ls(work: Path, env: dict[str, str], venvs: list[Venv]) -> list[str]:
    venv = venvs[-1]  # installed with the current pip
    lsenv = {**env, "RUNWRAP_ROOT": str(work / "ls-root")}
    for n in range(50):  # a few failing, half with labels: every column ls can show
        labels = ["-l", f"team=t{n % 5}"] if n % 2 else []
        job = "false" if n % 10 == 3 else "true"
        argv = [venv.runwrap, "-n", f"task-{n:02d}", "--notify", "none", *labels, "--", job]
        subprocess.run(argv, env=lsenv, check=job == "true")
    cases = {"runwrap ls": [venv.runwrap, "ls"], "python -c pass": [venv.python, "-c", "pass"]}
    envs = {}
    if AGAINST:  # the same 50 tasks, run by the other install into a root of its own
        other = Installed(Path(AGAINST))
        theirs = {**env, "RUNWRAP_ROOT": str(work / "against-ls-root")}
        for n in range(50):
            labels = ["-l", f"team=t{n % 5}"] if n % 2 else []
            job = "false" if n % 10 == 3 else "true"
            argv = [other.runwrap, "-n", f"task-{n:02d}", "--notify", "none", *labels, "--", job]
            subprocess.run(argv, env=theirs, check=job == "true")
        cases[f"{other.label} runwrap ls"] = [other.runwrap, "ls"]
        envs[f"{other.label} runwrap ls"] = theirs
    times = interleaved(cases, 10 if QUICK else 50, lsenv, envs)
    rows = [
        "| command (50 tasks) | median | vs `python -c pass` |",
        "|---|---|---|",
        *(f"| `{n}` | {ms(times[n])} | {ratio(times, n, 'python -c pass'):.2f}x |" for n in cases),
    ]
    if AGAINST:
        theirs_name = f"{Installed(Path(AGAINST)).label} runwrap ls"
        rows.append(
            f"\n`runwrap ls` against {theirs_name.removesuffix(' runwrap ls')}'s, round by round:"
            f" {ratio(times, 'runwrap ls', theirs_name):.2f}x"
        )
    return rows


def history(work: Path, env: dict[str, str], venvs: list[Venv]) -> list[str]:
    venv = venvs[-1]  # installed with the current pip
    root = work / "history-root"
    runs = 10_000
    maker = str(REPO / "benchmarks" / "make_synthetic_root.py")
    subprocess.run([venv.python, maker, str(root), "--tasks", "1", "--runs", str(runs)], check=True)
    rw = [venv.runwrap, "--root", str(root)]
    cases = {
        "runwrap history task-000 --limit 0": [*rw, "history", "task-000", "--limit", "0"],
        "one read of every manifest": [venv.python, "-c", ONE_READ, str(root), "task-000"],
        "the same table drawn flat": [venv.python, "-c", FLAT_TABLE, str(root), "task-000"],
        "the same, read by runwrap's safe system calls": [
            venv.python,
            "-c",
            FLAT_TABLE_SAFE_READS,
            str(root),
            "task-000",
        ],
    }
    ours = "runwrap history task-000 --limit 0"
    theirs = f"{Installed(Path(AGAINST)).label} {ours}" if AGAINST else None
    if theirs:  # a reader: the other install reads the same root
        cases[theirs] = [str(Path(AGAINST) / "bin" / "runwrap"), *rw[1:], *cases[ours][3:]]
    times = interleaved(cases, 3 if QUICK else 15, env)
    base = "one read of every manifest"
    drawn = ratio(times, ours, "the same table drawn flat")
    against = (
        [f"Against {theirs} in the same rounds: {ratio(times, ours, theirs):.2f}x"]
        if theirs
        else []
    )
    return [
        f"| {runs:,} runs of one task | median | vs one read of every manifest |",
        "|---|---|---|",
        *(f"| {n} | {ms(times[n])} | {ratio(times, n, base):.2f}x |" for n in cases),
        "",
        f"`{ours}` against the same table drawn flat, round by round: {drawn:.2f}x",
        *against,
        "",
        f"One read of every manifest: `python -c` of this loop (benchmarks/bench_runwrap.py):\n"
        f"```python{ONE_READ}```",
        "",
        f"The same table drawn flat: `python -c` of this loop:\n```python{FLAT_TABLE}```",
        "",
        "The same, read by runwrap's safe system calls: the loop above with its read as:\n"
        f"```python\n{SAFE_READ}```",
    ]


def rusage_of(cmd: list[str], env: dict[str, str], cwd: str) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB of the process tree) of a command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - start, usage.ru_maxrss


def capture(work: Path, env: dict[str, str], venvs: list[Venv]) -> list[str]:
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
    # A round that meets the kernel's writeback of other work takes several times as
    # long, whichever side it falls on: the fastest round shows the data path itself.
    fr, fs = min(times["runwrap"]), min(times["shell"])
    return [
        f"| {mib} MiB to stdout | median | throughput | vs shell redirect | fastest of {rounds} |",
        "|---|---|---|---|---|",
        f"| shell `> file` | {ms:.2f} s | {mib / ms:.0f} MiB/s | 1.00x | {fs:.2f} s |",
        f"| through runwrap | {mr:.2f} s | {mib / mr:.0f} MiB/s | {ms / mr:.2f}x | {fr:.2f} s "
        f"({fs / fr:.2f}x) |",
    ]


def peak_rss(work: Path, env: dict[str, str], venvs: list[Venv]) -> list[str]:
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
# Time on CPU of each of runwrap's threads, in ns (schedstat): /proc/PID/stat counts
# 10 ms ticks, and a figure of one or two ticks cannot carry a ratio.
tasks = f"/proc/{os.getppid()}/task"
ns = sum(int(open(f"{tasks}/{t}/schedstat").read().split()[0]) for t in os.listdir(tasks))
print(ns / 1e9, time.monotonic() - start)
"""


def runwrap_cpu(
    work: Path, env: dict[str, str], seconds: float, rate: int, extra: list[str]
) -> float:
    cmd = [RUNWRAP, "-n", f"cpu{rate}", "--keep", "2", *extra, "--", sys.executable, "-c", CPU_JOB]
    subprocess.run([*cmd, str(seconds), str(rate)], env=env, check=True)
    run_dirs = sorted((work / "root" / "tasks" / f"cpu{rate}" / "runs").iterdir())
    cpu, wall = map(float, (run_dirs[-1] / "stdout.log").read_text().split())
    return cpu / wall


def cpu(work: Path, env: dict[str, str], venvs: list[Venv]) -> list[str]:
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
    global RUNWRAP
    known = ("--quick", "--only=", "--against=")
    unknown = [a for a in sys.argv[1:] if not a.startswith(known)]
    if unknown:  # --help among them: the usage, not a 4-minute run
        asked = unknown in (["--help"], ["-h"])
        usage = "usage: " + __doc__.rsplit("Usage: ", 1)[1].strip()
        print(usage, file=sys.stdout if asked else sys.stderr)
        return 0 if asked else 2
    work = Path(tempfile.mkdtemp(prefix="runwrap-bench-"))
    env = {**os.environ, "RUNWRAP_ROOT": str(work / "root"), "XDG_CONFIG_HOME": str(work)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed runwrap has its .pyc files
    try:
        print(f"# runwrap benchmarks ({'quick' if QUICK else 'full'}), {time.strftime('%Y-%m-%d')}")
        venvs = [
            Venv(work / "venv-bundled-pip", upgrade_pip=False),
            Venv(work / "venv-current-pip", upgrade_pip=True),
        ]
        RUNWRAP = venvs[1].runwrap
        print(f"\n{os.cpu_count()} cores, Python {sys.version.split()[0]}\n")
        parts = (
            ("Start-up", startup),
            ("runwrap ls", ls),
            ("runwrap history", history),
            ("Capture throughput", capture),
            ("Peak RSS", peak_rss),
            ("CPU while the job runs", cpu),
        )
        only = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--only=")]
        for title, part in parts:
            if only and part.__name__ not in only:
                continue
            print(f"## {title}\n")
            print("\n".join(part(work, env, venvs)))
            print()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
