"""Property: one-shot updates (a new process each, reading each task's base and log of
chunks: build/chunks.py) give the site a full build gives, over histories that append
out of order, finish a running run, prune, remove a run by hand and cross compactions."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runwrap.store.layout import task_dir
from runwrap.store.openruns import clear_open
from sitegen.build import cache as cache_mod
from sitegen.build.site import Site

from helpers.sites import site_config, snapshot, write_run

TASKS = ["alpha", "δ"]
STATUSES = ["success", "failed", "running"]

steps = st.lists(
    st.one_of(
        st.tuples(st.just("run"), st.sampled_from(TASKS), st.sampled_from(STATUSES)),
        st.tuples(st.just("older"), st.sampled_from(TASKS), st.sampled_from(STATUSES)),
        st.tuples(st.just("finish"), st.sampled_from(TASKS), st.just("")),
        st.tuples(st.just("prune"), st.sampled_from(TASKS), st.just("")),
        st.tuples(st.just("remove"), st.sampled_from(TASKS), st.just("")),
        st.tuples(st.just("watch"), st.just(""), st.just("")),
    ),
    min_size=1,
    max_size=16,
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_one_shot_updates_through_the_log_equal_a_full_build(ops):
    base = Path(tempfile.mkdtemp(prefix="sitegen-logprop-"))
    keep = cache_mod.COMPACT_MIN
    cache_mod.COMPACT_MIN = 3  # compactions within a short history
    try:
        root, out, fresh = base / "root", base / "out", base / "fresh"
        (root / "tasks").mkdir(parents=True)
        Site(site_config(root, out, page_size=3)).update()
        n, older = 100, 100
        running: dict[str, list[int]] = {t: [] for t in TASKS}
        made: dict[str, list[int]] = {t: [] for t in TASKS}
        watch = None
        for op, task, arg in ops:
            runs = root / "tasks" / task / "runs"
            if op in ("run", "older"):
                if op == "run":
                    n += 1
                    k = n
                else:
                    older -= 1
                    k = older
                write_run(root, task, k, arg)
                made[task].append(k)
                if arg == "running":
                    running[task].append(k)
            elif op == "finish" and running[task]:
                k = running[task].pop()
                run_id = write_run(root, task, k, "success")
                clear_open(task_dir(str(root), task), run_id)
            elif op in ("prune", "remove") and runs.exists():
                names = sorted(runs.iterdir())
                if names:
                    shutil.rmtree(names[0] if op == "prune" else names[len(names) // 2])
            if op == "watch":
                watch = watch or Site(site_config(root, out, page_size=3))
                watch.update()
            else:
                watch = None
                Site(site_config(root, out, page_size=3)).update()  # a new process's
        Site(site_config(root, fresh, page_size=3)).update()
        assert snapshot(out) == snapshot(fresh)
    finally:
        cache_mod.COMPACT_MIN = keep
        shutil.rmtree(base, ignore_errors=True)
