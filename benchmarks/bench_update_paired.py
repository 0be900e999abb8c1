"""In-process update after one run, two installs paired round by round (issue 24).

    python benchmarks/bench_update_paired.py [--work DIR] [--sizes 20,1000] [--rounds N]
                                             NEW/bin/python BASE/bin/python

Each install's Site lives in a child process of its own (as --watch keeps it), on
its own OUT of the same ROOT (both installs fold state.json alike); each round
records one new run in a random task, then both update, in alternating order.
Each child times Site.update() and its parts (time.perf_counter around them)."""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_update import Root

CHILD = r"""
import json, sys, time, collections
from sitegen.build import site as site_mod, cache as cache_mod
from sitegen.render import writer as writer_mod
from sitegen.publish import search
from sitegen.build.site import Site
from sitegen.config import SiteConfig
T = collections.defaultdict(float)
def wrap(obj, name, label):
    f = getattr(obj, name)
    def w(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            T[label] += time.perf_counter() - t
    setattr(obj, name, w)
wrap(cache_mod.Cache, "load_task", "load")
wrap(cache_mod.Cache, "save_task", "save")
wrap(search, "update_task", "search")
wrap(writer_mod.Writer, "render_history", "history")
wrap(writer_mod.Writer, "render_task", "task page")
wrap(writer_mod.Writer, "render_runs", "run pages")
wrap(site_mod, "task_summary", "task_summary")
wrap(site_mod.Site, "_update_task", "changed task")
site = Site(SiteConfig(root=sys.argv[1], out=sys.argv[2]))
for line in sys.stdin:
    T.clear()
    t = time.perf_counter()
    stats = site.update()
    total = time.perf_counter() - t
    print(json.dumps({"total": total, "pages": stats.run_pages, **T}), flush=True)
"""


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--work", default=str(Path(__file__).parent / ".work"))
    p.add_argument("--sizes", default="20,1000")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("pythons", nargs=2)
    a = p.parse_args()
    work = Path(a.work)
    for n in map(int, a.sizes.split(",")):
        root = Root(work, n, busy=False)
        kids = []
        for i, py in enumerate(a.pythons):
            out = work / f"paired-{n}-{i}"
            shutil.rmtree(out, ignore_errors=True)
            kids.append(
                subprocess.Popen(
                    [py, "-c", CHILD, str(root.path), str(out)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    cwd="/tmp",
                )
            )

        def ask(k: subprocess.Popen) -> dict:
            k.stdin.write("u\n")
            k.stdin.flush()
            return json.loads(k.stdout.readline())

        try:
            for k in kids:
                ask(k)  # the full build
            for _ in range(2):
                root.new_run()
                for k in kids:
                    ask(k)
            got = [[], []]
            for r in range(a.rounds):
                root.new_run()
                order = [0, 1] if r % 2 else [1, 0]
                for i in order:
                    got[i].append(ask(kids[i]))
        finally:
            for k in kids:
                k.stdin.close()
                k.wait()
            root.clean()
        print(
            f"## {n} runs a task, {a.rounds} rounds, load {os.getloadavg()[0]:.1f},"
            f" {time.strftime('%H:%M:%S', time.gmtime())} UTC"
        )
        for i, py in enumerate(a.pythons):
            rows = got[i]
            keys = [k for k in rows[0] if k != "pages"]
            med = {k: statistics.median(r.get(k, 0) for r in rows) * 1000 for k in keys}
            print(f"{py}: " + ", ".join(f"{k} {v:.2f}" for k, v in med.items()))
        ratio = statistics.median(x["total"] / y["total"] for x, y in zip(got[0], got[1]))
        print(f"paired ratio (first / second) of total: {ratio:.3f}", flush=True)


main()
