"""sitegen benchmarks: full builds, one-run updates, watch latency, peak memory.

    python benchmarks/bench_sitegen.py [--work DIR] [--quick] [--against SITEGEN]

Synthetic roots come from make_synthetic_root.py (100 tasks x 20 runs and
100 tasks x 200 runs: issue 12's 2,000 and 20,000). Hugo (Debian's `hugo`), when
installed, builds the same number of pages as the anchor of the full build;
a one-process Jinja2 loop over the same runs is the anchor of its CPU.
`--against` times another installed sitegen's full build in the same rounds
(an older commit's, installed in a venv of its own): a before and after whose
ratio this machine's mood touches alike. Prints the markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from make_synthetic_root import make_root, write_run

from sitegen.build.site import Site
from sitegen.config import SiteConfig

SITEGEN = str(Path(sys.executable).parent / "sitegen")
ENV = {**os.environ, "RUNWRAP_CONFIG": "/dev/null"}
ENV.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed sitegen has its .pyc files
LAST_USER = 0.0  # the user CPU seconds of run_measured's last command


def run_measured(cmd: list[str], cwd: str | None = None) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (KiB: the largest of the process and the children it waited
    for) and CPU seconds (user + system, the process and every child it waited for).
    The user seconds alone are left in LAST_USER (issue 24's target is user CPU: system
    time is where this shared VM's load shows most)."""
    global LAST_USER
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=ENV, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} failed")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    LAST_USER = after.ru_utime - before.ru_utime
    return wall, usage.ru_maxrss, cpu


def count_runs(root: Path) -> int:
    return sum(1 for _ in root.glob("tasks/*/runs/*"))


def full_build(root: Path, out: Path, sitegen: str = SITEGEN) -> dict:
    """A full build through the CLI: time, run pages per second, peak RSS, CPU."""
    shutil.rmtree(out, ignore_errors=True)
    seconds, rss, cpu = run_measured([sitegen, "--root", str(root), "--out", str(out), "-q"])
    runs = count_runs(root)
    return {
        "runs": runs,
        "seconds": seconds,
        "pages_per_s": runs / seconds,
        "rss_mb": rss / 1024,
        "cpu": cpu,
        "user": LAST_USER,
    }


# The same per-run file work as a full build, in one process with one Jinja2 template:
# read the manifest, make the run's directory, hard-link its logs, read stderr's tail,
# render and atomically write one escaped page.
JINJA_LOOP = r"""
import json, os, sys, jinja2
root, out = sys.argv[1], sys.argv[2]
env = jinja2.Environment(autoescape=True)
page = env.from_string(
    "<!doctype html><html><head><meta charset=utf-8><title>{{ m.task }} {{ m.run_id }}</title>"
    "<link rel=stylesheet href=../../../style.css></head><body><nav><a href=../../../>all</a>"
    " / <a href=../../>{{ m.task }}</a></nav><main><h1>{{ m.task }}: {{ m.status }}</h1>"
    "{% if m.reason %}<p class=reason>{{ m.reason }}</p>{% endif %}"
    "{% if tail %}<pre>{{ tail }}</pre>{% endif %}<table>"
    "{% for k, v in m.items() %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}"
    "</table><p><a href=stdout.log>stdout</a> <a href=stderr.log>stderr</a></p></main>"
    "</body></html>"
)
for task in sorted(os.listdir(os.path.join(root, "tasks"))):
    runs = os.path.join(root, "tasks", task, "runs")
    for run_id in sorted(os.listdir(runs)):
        src = os.path.join(runs, run_id)
        with open(os.path.join(src, "manifest.json"), "rb") as f:
            m = json.loads(f.read())
        dst = os.path.join(out, "tasks", task, "runs", run_id)
        os.makedirs(dst, exist_ok=True)
        tail = ""
        for name in ("stdout.log", "stderr.log"):
            try:
                os.link(os.path.join(src, name), os.path.join(dst, name))
            except FileNotFoundError:
                continue
        try:
            with open(os.path.join(src, "stderr.log"), "rb") as f:
                tail = "\n".join(f.read()[-4096:].decode("utf-8", "replace").splitlines()[-12:])
        except FileNotFoundError:
            pass
        tmp = os.path.join(dst, ".index.html.tmp")
        with open(tmp, "w") as f:
            f.write(page.render(m=m, tail=tail))
        os.replace(tmp, os.path.join(dst, "index.html"))
"""


def jinja_loop(root: Path, out: Path) -> dict:
    """The baseline of the CPU target: JINJA_LOOP over the same root."""
    shutil.rmtree(out, ignore_errors=True)
    seconds, rss, cpu = run_measured([sys.executable, "-c", JINJA_LOOP, str(root), str(out)])
    return {"seconds": seconds, "cpu": cpu, "user": LAST_USER, "rss_mb": rss / 1024}


HUGO_CONFIG = """baseURL = "http://localhost/"
title = "runs"
disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]
"""
HUGO_SINGLE = """<!doctype html><html><head><meta charset=utf-8><title>{{ .Title }}</title>
<link rel=stylesheet href=/style.css></head><body><nav><a href=/>all</a></nav><main>
<h1>{{ .Title }}: {{ .Params.status }}</h1><table>
{{ range $k, $v := .Params }}<tr><th>{{ $k }}</th><td>{{ $v }}</td></tr>{{ end }}
</table>{{ .Content }}</main></body></html>
"""
HUGO_LIST = """<!doctype html><html><head><meta charset=utf-8><title>{{ .Title }}</title></head>
<body><ul>{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}
</ul></body></html>
"""


def hugo_site(root: Path, site: Path) -> None:
    """A Hugo site with one markdown page per run (its manifest as front matter, its
    stdout as the body) and a minimal layout: the same number of pages as sitegen's."""
    if site.exists():
        return
    layouts = site / "layouts" / "_default"
    layouts.mkdir(parents=True)
    (site / "hugo.toml").write_text(HUGO_CONFIG)
    (layouts / "single.html").write_text(HUGO_SINGLE)
    (layouts / "list.html").write_text(HUGO_LIST)
    for task_dir in sorted((root / "tasks").iterdir()):
        content = site / "content" / task_dir.name
        content.mkdir(parents=True)
        for run in sorted((task_dir / "runs").iterdir()):
            m = json.loads((run / "manifest.json").read_text())
            stdout = run / "stdout.log"
            body = stdout.read_text() if stdout.exists() else ""
            front = {k: m[k] for k in ("status", "exit_code", "started_at", "duration_s")}
            front["title"] = f"{m['task']} {m['run_id']}"
            (content / f"{run.name}.md").write_text(
                f"{json.dumps(front, indent=1)}\n\n```\n{body}```\n"
            )


def hugo_build(site: Path, out: Path) -> dict | None:
    """Hugo building the same number of pages; None when hugo is not installed."""
    hugo = shutil.which("hugo")
    if hugo is None:
        return None
    shutil.rmtree(out, ignore_errors=True)
    seconds, rss, cpu = run_measured([hugo, "--quiet", "-s", str(site), "-d", str(out)])
    return {"seconds": seconds, "rss_mb": rss / 1024, "cpu": cpu}


def no_change(root: Path, out: Path, rounds: int = 40) -> dict:
    """Installed `sitegen` when nothing changed / `python -c pass`, round by round."""
    cmd = [SITEGEN, "--root", str(root), "--out", str(out)]
    subprocess.run(cmd, env=ENV, check=True)  # brought up to date, and stamped
    ratios, ours, floor = [], [], []
    for _ in range(rounds):
        a = run_measured(cmd)[0]
        b = run_measured([sys.executable, "-c", "pass"])[0]
        ours.append(a)
        floor.append(b)
        ratios.append(a / b)
    imports = subprocess.run(
        [sys.executable, "-X", "importtime", *cmd], env=ENV, capture_output=True, text=True
    ).stderr
    heavy = sorted(
        {
            m
            for m in ("jinja2", "markdown", "multiprocessing", "argparse")
            if f" {m}\n" in imports or f" {m}." in imports
        }
    )
    return {
        "ratio": statistics.median(ratios),
        "ms": statistics.median(ours) * 1000,
        "floor_ms": statistics.median(floor) * 1000,
        "heavy": heavy,
    }


def one_run_updates(root: Path, out: Path, repeat: int = 7) -> dict:
    """Median time to bring the site up to date after one new run: in-process and via the CLI.

    Each new run comes 10 minutes after the newest one (as cron's next run does), so it
    is the newest run on the site: the dashboard's timeline moves with it. The runs are
    removed afterwards, so that the root stays as make_root made it.
    """
    rng = random.Random(7)
    cfg = SiteConfig(root=str(root), out=str(out))
    site = Site(cfg)
    site.update()
    inproc, cli = [], []
    # The last run number make_root handed out: the newest runs of every task.
    fresh = max(int((d / "seq").read_text()) for d in (root / "tasks").iterdir())
    added = []
    try:
        for i in range(repeat):
            task = f"task-{rng.randrange(100):03d}"
            added.append((task, write_run(str(root), task, fresh + 2 * i, rng)))
            started = time.monotonic()
            stats = site.update()
            if stats.run_pages <= 2:  # not a rebuild because sitegen's code changed meanwhile
                inproc.append(time.monotonic() - started)
            added.append((task, write_run(str(root), task, fresh + 2 * i + 1, rng)))
            cli.append(run_measured([SITEGEN, "--root", str(root), "--out", str(out), "-q"])[0])
    finally:
        for task, run_id in added:
            shutil.rmtree(root / "tasks" / task / "runs" / run_id, ignore_errors=True)
    return {"inproc": statistics.median(inproc), "cli": statistics.median(cli)}


def watch_latency(root: Path, out: Path, repeat: int = 15) -> dict:
    """Median seconds from a manifest's final rename to the updated dashboard on disk."""
    rng = random.Random(11)
    log = out.parent / "watch.log"
    started = time.monotonic()
    with open(log, "w") as f:
        proc = subprocess.Popen(
            [SITEGEN, "--root", str(root), "--out", str(out), "--watch"],
            env=ENV,
            stderr=f,
        )
    dashboard = out / "index.html"
    added: list[tuple[str, str]] = []
    try:
        # Ready once every directory has its inotify watch (it says so).
        _wait(lambda: "watching" in log.read_text(), 600)
        ready = time.monotonic() - started
        # New runs 10 minutes apart after the newest (as cron's next runs), removed after.
        fresh = max(int((d / "seq").read_text()) for d in (root / "tasks").iterdir())
        probe = write_run(str(root), "task-000", fresh, rng)
        added.append(("task-000", probe))
        _wait(lambda: probe in dashboard.read_text(), 60)
        latencies = []
        for i in range(repeat):
            task = f"task-{rng.randrange(100):03d}"
            before = dashboard.stat().st_mtime_ns
            run_id = write_run(str(root), task, fresh + 1 + i, rng, status="failed")
            added.append((task, run_id))
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
        for task, run_id in added:
            shutil.rmtree(root / "tasks" / task / "runs" / run_id, ignore_errors=True)
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


def median_of(rounds: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rounds)


def measure(work: Path, per_task: int, rounds: int, against: str | None = None) -> dict:
    """Every figure for one root of 100 tasks x per_task runs."""
    root = work / f"root-{per_task}"
    if not root.exists():
        print(f"generating 100 tasks x {per_task} runs in {root}", file=sys.stderr)
        make_root(str(root), 100, per_task)
    hugo_src = work / f"hugo-{per_task}"
    hugo_site(root, hugo_src)
    out = work / f"site-{per_task}"
    ours, hugo, loop, theirs = [], [], [], []
    # `--against` builds from a copy of ROOT (hard links): a reader folds a state.json of
    # another fold version again and writes it back, so two versions sharing one ROOT
    # would each pay that for every task in every build.
    their_root = work / f"root-{per_task}-against"
    if against and not their_root.exists():
        subprocess.run(["cp", "-al", str(root), str(their_root)], check=True)
    for i in range(rounds):  # interleaved, so that the machine's mood touches them all
        print(f"full builds of {per_task * 100} runs, round {i + 1}", file=sys.stderr)
        if against and i % 2:  # which of the two goes first alternates
            theirs.append(full_build(their_root, work / f"against-{per_task}", against))
        ours.append(full_build(root, out))
        if against and not i % 2:
            theirs.append(full_build(their_root, work / f"against-{per_task}", against))
        h = hugo_build(hugo_src, work / f"hugo-out-{per_task}")
        if h is not None:
            hugo.append(h)
        loop.append(jinja_loop(root, work / f"loop-{per_task}"))
    full = {k: median_of(ours, k) for k in ("seconds", "pages_per_s", "rss_mb", "cpu", "user")}
    full["runs"] = ours[0]["runs"]
    result = {"full": full, "loop": {k: median_of(loop, k) for k in ("seconds", "cpu", "user")}}
    result["cpu_ratio"] = statistics.median(o["cpu"] / lp["cpu"] for o, lp in zip(ours, loop))
    result["user_ratio"] = statistics.median(o["user"] / lp["user"] for o, lp in zip(ours, loop))
    if hugo:
        result["hugo"] = {k: median_of(hugo, k) for k in ("seconds", "rss_mb", "cpu")}
        result["hugo"]["pages_per_s"] = full["runs"] / result["hugo"]["seconds"]
    if theirs:
        result["against"] = {k: median_of(theirs, k) for k in ("seconds", "pages_per_s", "cpu")}
        # Each round's pair ran side by side: the median of their ratios, not a ratio of
        # medians that may come from a quiet round and a loaded one.
        result["against"]["ratio"] = statistics.median(
            o["pages_per_s"] / t["pages_per_s"] for o, t in zip(ours, theirs)
        )
        if hugo:
            result["against"]["hugo_ratio"] = (
                result["against"]["pages_per_s"] / result["hugo"]["pages_per_s"]
            )
        shutil.rmtree(work / f"against-{per_task}", ignore_errors=True)
    shutil.rmtree(work / f"hugo-out-{per_task}", ignore_errors=True)
    shutil.rmtree(work / f"loop-{per_task}", ignore_errors=True)
    result["no_change"] = no_change(root, out)
    print(f"  {result}", file=sys.stderr)
    try:
        result["update"] = one_run_updates(root, out)
    except Exception as e:  # sitegen's code changing under the bench: report, go on
        print(f"  updates not measured: {e}", file=sys.stderr)
        result["update"] = None
    print(f"  update after one run: {result['update']}", file=sys.stderr)
    try:
        result["watch"] = watch_latency(root, out)
    except (SystemExit, OSError) as e:  # --watch is another piece of work: report, go on
        print(f"  watch not measured: {e}", file=sys.stderr)
        result["watch"] = None
    print(f"  watch: {result['watch']}", file=sys.stderr)
    return result


def report(results: dict[int, dict]) -> None:
    """The markdown for docs/benchmarks.md."""
    print("| runs | `sitegen` when nothing changed | `python -c pass` | ratio | heavy imports |")
    print("|---:|---:|---:|---:|---|")
    for r in results.values():
        n = r["no_change"]
        print(
            f"| {r['full']['runs']:,} | {n['ms']:.1f} ms | {n['floor_ms']:.1f} ms |"
            f" {n['ratio']:.2f}x | {', '.join(n['heavy']) or 'none'} |"
        )
    print(
        "\n| runs | sitegen full build | run pages/s | peak RSS | CPU |"
        " Hugo | Hugo pages/s | Hugo RSS | sitegen/Hugo pages/s | RSS sitegen/Hugo |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results.values():
        f, h = r["full"], r.get("hugo")
        hugo = (
            f"{h['seconds']:.1f} s | {h['pages_per_s']:,.0f} | {h['rss_mb']:.0f} MB |"
            f" {f['pages_per_s'] / h['pages_per_s']:.2f}x | {f['rss_mb'] / h['rss_mb']:.2f}x"
            if h
            else "not installed | | | | "
        )
        print(
            f"| {f['runs']:,} | {f['seconds']:.1f} s | {f['pages_per_s']:,.0f} |"
            f" {f['rss_mb']:.0f} MB | {f['cpu']:.1f} s | {hugo} |"
        )
    if any("against" in r for r in results.values()):
        print(
            "\n| runs | this sitegen: full build | run pages/s | CPU |"
            " `--against`: full build | run pages/s | CPU | its pages/s against Hugo's |"
            " this one's pages/s against its (median of the rounds' ratios) |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in results.values():
            f, a = r["full"], r["against"]
            print(
                f"| {f['runs']:,} | {f['seconds']:.1f} s | {f['pages_per_s']:,.0f} |"
                f" {f['cpu']:.1f} s | {a['seconds']:.1f} s | {a['pages_per_s']:,.0f} |"
                f" {a['cpu']:.1f} s | {a.get('hugo_ratio', float('nan')):.2f}x |"
                f" {a['ratio']:.2f}x |"
            )
    print(
        "\n| runs | sitegen full build user CPU | one-process Jinja2 loop user CPU | ratio |"
        " sitegen CPU (user + system) | the loop's | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in results.values():
        f, lp = r["full"], r["loop"]
        print(
            f"| {f['runs']:,} | {f['user']:.2f} s | {lp['user']:.2f} s | {r['user_ratio']:.2f}x |"
            f" {f['cpu']:.2f} s | {lp['cpu']:.2f} s | {r['cpu_ratio']:.2f}x |"
        )
    print(
        "\n| runs | update after one run: in process | CLI | `--watch` median latency |"
        " max | watcher peak RSS |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for r in results.values():
        u, w = r["update"] or {"inproc": float("nan"), "cli": float("nan")}, r["watch"]
        watch = (
            f"{w['median'] * 1000:.0f} ms | {w['max'] * 1000:.0f} ms | {w['rss_mb']:.0f} MB"
            if w
            else "not measured | |"
        )
        print(
            f"| {r['full']['runs']:,} | {u['inproc'] * 1000:.0f} ms | {u['cli'] * 1000:.0f} ms |"
            f" {watch} |"
        )
    if len(results) == 2 and results[20]["update"] and results[200]["update"]:
        small, big = results[20], results[200]
        ratio = big["update"]["inproc"] / small["update"]["inproc"]
        print(
            f"\nUpdate after one run, 20,000 / 2,000 runs: {ratio:.2f} in process,"
            f" {big['update']['cli'] / small['update']['cli']:.2f} via the CLI"
        )
        if small["watch"] and big["watch"]:
            print(
                f"`--watch` latency, 20,000 / 2,000 runs:"
                f" {big['watch']['median'] / small['watch']['median']:.2f}"
            )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default=str(Path(__file__).parent / ".work"))
    p.add_argument("--quick", action="store_true", help="only the 2,000-run root")
    p.add_argument("--rounds", type=int, default=3, help="full builds of each kind per root")
    p.add_argument(
        "--against", metavar="SITEGEN", help="another installed sitegen to time full builds of"
    )
    args = p.parse_args()
    work = Path(args.work)
    sizes = [20] if args.quick else [20, 200]
    if shutil.which("hugo") is None:
        print("hugo is not installed (apt-get install hugo): no anchor", file=sys.stderr)
    report({per_task: measure(work, per_task, args.rounds, args.against) for per_task in sizes})


if __name__ == "__main__":
    main()
