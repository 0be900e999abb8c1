"""Write a synthetic run root: N tasks with M runs each, exactly per the on-disk contract.

    python benchmarks/make_synthetic_root.py ROOT --tasks 100 --runs 1000 [--busy]

The runs are 10 minutes apart from a fixed date in the past; with --busy
(issue 24's busy install: a task run every 5 minutes) they are 5 minutes
apart and the newest ends about now, so the dashboard's 24-hour timeline
holds every one of them. Manifests are written directly (not through runwrap) so that 100,000 runs
take seconds; their shape is runwrap's own (runwrap.store.manifest.new_manifest).
"""

from __future__ import annotations

import argparse
import os
import random
import time

from runwrap.store.jsonio import write_json_atomic
from runwrap.store.layout import MANIFEST, SEQ, STDERR, STDOUT
from runwrap.store.manifest import new_manifest
from runwrap.store.state import rebuild_state, state_path, update_state
from runwrap.timefmt import iso

BASE = 1_790_000_000.0
EVERY = 600  # seconds between two runs of a task
BUSY_EVERY = 300


class Layout:
    """When run n of a task starts: BASE + every * n."""

    def __init__(self, base: float = BASE, every: int = EVERY) -> None:
        self.base, self.every = base, every

    def started(self, n: int) -> float:
        return self.base + self.every * n


def busy_layout(runs: int) -> Layout:
    """Runs every 5 minutes, the newest (run `runs`, the next) due about now."""
    every = BUSY_EVERY
    return Layout(float(int(time.time()) // every * every - every * runs), every)


STATUSES = ["success"] * 17 + ["failed", "timeout", "skipped"]


def run_id_at(started: float, n: int) -> str:
    """A run id for a start time, unique by n."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started)) + f"-{n % 65536:04x}"


def write_run(
    root: str,
    task: str,
    n: int,
    rng: random.Random,
    status: str | None = None,
    record: bool = False,
    layout: Layout | None = None,
) -> str:
    """Write run n of a task (by default one per 10 minutes); return its run id.

    With `record`, fold it into the task's state.json afterwards, as runwrap does.
    """
    started = (layout or Layout()).started(n)
    run_id = run_id_at(started, n)
    path = os.path.join(root, "tasks", task, "runs", run_id)
    os.makedirs(path, exist_ok=True)
    status = status or rng.choice(STATUSES)
    duration = round(rng.uniform(0.5, 120.0), 3)
    out = f"run {n} of {task}\n" * rng.randint(1, 20)
    if status != "skipped":
        with open(os.path.join(path, STDOUT), "w") as f:
            f.write(out)
        with open(os.path.join(path, STDERR), "w") as f:
            f.write("" if status == "success" else "something went wrong\n")
    manifest = new_manifest(
        task=task,
        run_id=run_id,
        host="bench",
        user="bench",
        command=["/usr/local/bin/job", task, "--n", str(n)],
        status=status,
        exit_code=0 if status == "success" else (None if status == "skipped" else 1),
        started_at=iso(started),
        ended_at=iso(started + duration),
        duration_s=duration,
        feedback={"progress": "100", "info": f"processed {n} items"},
        labels={"info1": "synthetic"},
        stdout_bytes=len(out),
        stderr_bytes=0,
        seq=n + 1,  # what runwrap numbers its runs with (the metrics count by it)
        reason=None if status == "success" else f"exited with {status}",
    )
    write_json_atomic(os.path.join(path, MANIFEST), manifest, fsync=False)
    # Old enough to count as settled, like a real history.
    os.utime(os.path.join(path, MANIFEST), (started + duration, started + duration))
    if record:
        update_state(os.path.join(root, "tasks", task), manifest)
        with open(os.path.join(root, "tasks", task, SEQ), "w") as f:
            f.write(f"{n + 1}\n")  # runwrap numbers a run before it starts
    return run_id


def make_root(
    root: str, tasks: int, runs: int, seed: int = 1, layout: Layout | None = None
) -> None:
    """Fill ROOT with `tasks` tasks of `runs` runs each."""
    rng = random.Random(seed)
    for t in range(tasks):
        task = f"task-{t:03d}"
        os.makedirs(os.path.join(root, "tasks", task, "runs"), exist_ok=True)
        for n in range(runs):
            write_run(root, task, n, rng, layout=layout)
        # runwrap's cache of what the manifests imply: without it every reader rebuilds it.
        task_path = os.path.join(root, "tasks", task)
        write_json_atomic(state_path(task_path), rebuild_state(task_path), fsync=False)
        with open(os.path.join(task_path, SEQ), "w") as f:
            f.write(f"{runs}\n")  # the last run number handed out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("root")
    p.add_argument("--tasks", type=int, default=100)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--busy", action="store_true", help="5 minutes apart, the newest now")
    args = p.parse_args()
    layout = busy_layout(args.runs) if args.busy else None
    make_root(args.root, args.tasks, args.runs, layout=layout)


if __name__ == "__main__":
    main()
