"""Property: any sequence of incremental updates gives the site a full build gives."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen.build.site import Site

from helpers.sites import site_config, snapshot, write_run

TASKS = ["alpha", "beta gamma", "δ"]
STATUSES = ["success", "failed", "timeout", "skipped", "running"]

steps = st.lists(
    st.one_of(
        st.tuples(st.just("run"), st.sampled_from(TASKS), st.sampled_from(STATUSES)),
        st.tuples(st.just("prune"), st.sampled_from(TASKS), st.integers(1, 3)),
        st.tuples(st.just("drop"), st.sampled_from(TASKS), st.just(0)),
        st.tuples(st.just("update"), st.just(""), st.just(0)),
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_incremental_updates_equal_a_full_build(ops):
    base = Path(tempfile.mkdtemp(prefix="sitegen-prop-"))
    try:
        root, out, fresh = base / "root", base / "out", base / "fresh"
        (root / "tasks").mkdir(parents=True)
        site = Site(site_config(root, out, page_size=3))
        site.update()
        n = 0
        for op, task, arg in ops:
            runs = root / "tasks" / task / "runs"
            if op == "run":
                n += 1
                write_run(root, task, n, arg, feedback={"progress": str(n % 100)})
            elif op == "prune" and runs.exists():
                for old in sorted(runs.iterdir())[:arg]:
                    shutil.rmtree(old)
            elif op == "drop":
                shutil.rmtree(root / "tasks" / task, ignore_errors=True)
            site.update()
        Site(site_config(root, fresh, page_size=3)).update()
        assert snapshot(out) == snapshot(fresh)
    finally:
        shutil.rmtree(base, ignore_errors=True)
