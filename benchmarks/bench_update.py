"""An update after one run, where users wait for it (issue 24): one-shot and in process.

    python benchmarks/bench_update.py [--work DIR] [--rounds N] [--sizes 20,200,1000]
                                      [--against OLD/.venv/bin/sitegen]

Roots of 100 tasks: the busy layout (make_synthetic_root.py --busy: 200 runs a
task, 5 minutes apart, the newest now: every run in the dashboard's 24-hour
timeline) and the scale law's (20, 200 and 1,000 runs a task: 2,000, 20,000 and
100,000 runs), which differ in history only (bench_watch.py's roots: the same
newest 20 runs a task, ten minutes apart, the others a week apart). Each round
records one new run in a random task (as runwrap does: its manifest, then
state.json and seq), then times, in turn:

- the installed `sitegen --root ROOT --out OUT -q` (cron's one-shot path);
- `--against`'s, another install (an older commit's), on its own OUT and its own
  copy of ROOT (hard links, the new run linked in too, its state.json folded by
  that install's code as its runwrap would have): both see the same new run, and
  neither rewrites the other's state.json (a reader folds a state.json of another
  fold version again and writes it back: two versions sharing one ROOT would each
  pay that for every task on every update);
- `python -c pass` of the same venv: the floor.

The ratio is the median of each round's ratio. In process (`Site.update()` of this
checkout, kept between updates as `--watch` keeps it) after one run, per size: the
target is flat in the changed task's history. The new runs are removed at the end.
Prints the markdown for docs/benchmarks.md.
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

from bench_watch import make_watch_root, next_run
from make_synthetic_root import BUSY_EVERY, Layout, busy_layout, make_root, write_run

SITEGEN = str(Path(sys.executable).parent / "sitegen")
ENV = {**os.environ, "RUNWRAP_CONFIG": "/dev/null"}
ENV.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed sitegen has its .pyc files
TASKS = 100


def timed(cmd: list[str]) -> float:
    """Wall seconds of a command run to success."""
    started = time.monotonic()
    subprocess.run(cmd, env=ENV, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


class Root:
    """A synthetic root and how its next run is written."""

    def __init__(self, work: Path, per_task: int, busy: bool) -> None:
        self.per_task, self.busy = per_task, busy
        self.path = work / (f"busy-{per_task}" if busy else f"history-{per_task}")
        self.label = (
            f"busy: {TASKS * per_task:,} runs, all within the last day"
            if busy
            else f"{TASKS * per_task:,} runs ({per_task:,} a task)"
        )
        if busy and self.path.exists() and time.time() - self.path.stat().st_mtime > 3600:
            shutil.rmtree(self.path)  # a busy root's runs are the last day's: made anew
        if not self.path.exists():
            print(f"generating {self.path}", file=sys.stderr)
            if busy:
                make_root(str(self.path), TASKS, per_task, layout=busy_layout(per_task))
            else:
                make_watch_root(self.path, per_task)
        self.mirror: Path | None = None  # `--against`'s copy (mirror_for)
        self.added: list[tuple[str, str]] = []
        self.seqs: dict[str, str] = {}  # each touched task's seq file as it was
        self.rng = random.Random(per_task)

    def mirror_for(self, against: str) -> None:
        """A copy of the root for `against`'s sitegen (hard links: cheap, and every
        file a writer replaces is replaced by a rename, so the copies part then)."""
        self.mirror = self.path.with_name(self.path.name + "-against")
        self.old_python = str(Path(against).parent / "python")
        shutil.rmtree(self.mirror, ignore_errors=True)
        subprocess.run(["cp", "-al", str(self.path), str(self.mirror)], check=True)
        self._fold_in_mirror(*sorted(t.name for t in (self.mirror / "tasks").iterdir()))

    def _fold_in_mirror(self, *tasks: str) -> None:
        """Each task's state.json in the copy, as the other install's runwrap writes it."""
        code = (
            "import sys\n"
            "from runwrap.store.jsonio import write_json_atomic\n"
            "from runwrap.store.state import rebuild_state, state_path\n"
            "for t in sys.argv[1:]:\n"
            "    write_json_atomic(state_path(t), rebuild_state(t), fsync=False)\n"
        )
        paths = [str(self.mirror / "tasks" / task) for task in tasks]
        subprocess.run([self.old_python, "-c", code, *paths], check=True)

    def _copy_to_mirror(self, task: str, run_id: str) -> None:
        src, dst = self.path / "tasks" / task, self.mirror / "tasks" / task
        subprocess.run(["cp", "-al", str(src / "runs" / run_id), str(dst / "runs")], check=True)
        tmp = dst / ".seq.tmp"
        tmp.write_text((src / "seq").read_text())
        tmp.replace(dst / "seq")
        self._fold_in_mirror(task)

    def new_run(self) -> str:
        """Record one more run in a random task, after its newest; return the task."""
        task = f"task-{self.rng.randrange(TASKS):03d}"
        seq = self.path / "tasks" / task / "seq"
        self.seqs.setdefault(task, seq.read_text())
        if self.busy:  # now, as cron's next run
            n = int(seq.read_text())
            layout = Layout(time.time() - BUSY_EVERY * n, BUSY_EVERY)
        else:  # ten minutes after the task's newest
            n, layout = next_run(self.path, task, self.per_task), None
        run_id = write_run(str(self.path), task, n, self.rng, record=True, layout=layout)
        self.added.append((task, run_id))
        if self.mirror is not None:
            self._copy_to_mirror(task, run_id)
        return task

    def clean(self) -> None:
        """Remove the runs this benchmark added (state.json and seq follow them back)."""
        from runwrap.store.jsonio import write_json_atomic
        from runwrap.store.state import rebuild_state, state_path

        for task in {t for t, _ in self.added}:
            for t, run_id in self.added:
                if t == task:
                    shutil.rmtree(self.path / "tasks" / task / "runs" / run_id)
            task_path = str(self.path / "tasks" / task)
            write_json_atomic(state_path(task_path), rebuild_state(task_path), fsync=False)
            (self.path / "tasks" / task / "seq").write_text(self.seqs[task])
        self.added, self.seqs = [], {}
        if self.mirror is not None:
            shutil.rmtree(self.mirror, ignore_errors=True)
            self.mirror = None


def one_shot(root: Root, work: Path, rounds: int, against: str | None) -> dict:
    """The installed one-shot sitegen after one run, against the floor (and --against)."""
    outs = {"new": work / f"out-{root.path.name}", "old": work / f"against-{root.path.name}"}
    cmds = {"new": [SITEGEN, "--root", str(root.path), "--out", str(outs["new"]), "-q"]}
    if against:
        root.mirror_for(against)
        cmds["old"] = [against, "--root", str(root.mirror), "--out", str(outs["old"]), "-q"]
    floor_cmd = [sys.executable, "-c", "pass"]
    for name, cmd in cmds.items():
        shutil.rmtree(outs[name], ignore_errors=True)
        print(f"  full build ({name}) of {root.path.name}", file=sys.stderr)
        timed(cmd)
    for _ in range(2):  # warm-up: the first updates after a full build
        root.new_run()
        for cmd in cmds.values():
            timed(cmd)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    floor: list[float] = []
    for i in range(rounds):
        root.new_run()
        order = list(cmds) if i % 2 else list(reversed(cmds))  # which goes first alternates
        for name in order:
            times[name].append(timed(cmds[name]))
        floor.append(timed(floor_cmd))
    result = {
        "floor_ms": statistics.median(floor) * 1000,
        "ms": statistics.median(times["new"]) * 1000,
        "ratio": statistics.median(t / f for t, f in zip(times["new"], floor)),
    }
    if against:
        result["old_ms"] = statistics.median(times["old"]) * 1000
        result["old_ratio"] = statistics.median(t / f for t, f in zip(times["old"], floor))
        result["new_vs_old"] = statistics.median(n / o for n, o in zip(times["new"], times["old"]))
    return result


def in_process(root: Root, work: Path, rounds: int) -> float:
    """Median seconds of Site.update() after one run, the Site kept between updates."""
    from sitegen.build.site import Site
    from sitegen.config import SiteConfig

    out = work / f"inproc-{root.path.name}"
    shutil.rmtree(out, ignore_errors=True)
    site = Site(SiteConfig(root=str(root.path), out=str(out)))
    site.update()
    for _ in range(2):
        root.new_run()
        site.update()
    times = []
    for _ in range(rounds):
        root.new_run()
        started = time.monotonic()
        stats = site.update()
        if stats.run_pages <= 2:  # not a rebuild because sitegen's code changed meanwhile
            times.append(time.monotonic() - started)
    shutil.rmtree(out, ignore_errors=True)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default=str(Path(__file__).parent / ".work"))
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--sizes", default="20,200,1000", help="runs a task, 100 tasks")
    p.add_argument("--no-busy", action="store_true", help="leave the busy layout out")
    p.add_argument("--against", metavar="SITEGEN", help="another installed sitegen, timed too")
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    roots = [] if args.no_busy else [Root(work, 200, busy=True)]
    roots += [Root(work, int(n), busy=False) for n in args.sizes.split(",")]
    results = []
    for root in roots:
        try:
            shot = one_shot(root, work, args.rounds, args.against)
            inproc = in_process(root, work, args.rounds)
        finally:
            root.clean()
        results.append((root, shot, inproc))
        print(f"  {root.label}: {shot}, in process {inproc * 1000:.1f} ms", file=sys.stderr)
    report(results, args.against is not None)


def report(results: list, against: bool) -> None:
    """The markdown for docs/benchmarks.md."""
    head = "| root (100 tasks) | one-shot after one run | `python -c pass` | ratio |"
    line = "|---|---:|---:|---:|"
    if against:
        head += " `--against` | its ratio | this one / `--against` |"
        line += "---:|---:|---:|"
    print(head + " in process |")
    print(line + "---:|")
    for root, shot, inproc in results:
        row = f"| {root.label} | {shot['ms']:.0f} ms | {shot['floor_ms']:.1f} ms |"
        row += f" {shot['ratio']:.2f}x |"
        if against:
            row += f" {shot['old_ms']:.0f} ms | {shot['old_ratio']:.2f}x |"
            row += f" {shot['new_vs_old']:.2f}x |"
        print(f"{row} {inproc * 1000:.1f} ms |")
    scale = [(r, s, i) for r, s, i in results if not r.busy]
    if len(scale) > 1:
        small = scale[0]
        print()
        for root, shot, inproc in scale[1:]:
            print(
                f"- {root.label} against {small[0].label}: one-shot"
                f" {shot['ratio'] / small[1]['ratio']:.2f}x (ratios to the floor), in process"
                f" {inproc / small[2]:.2f}x"
            )


if __name__ == "__main__":
    main()
