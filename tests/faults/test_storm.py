"""A launch storm: 30-50 runwraps of one task at once, under each overlap policy and a tiny --keep.

Every runwrap exits 0 (its job's status), none with 125 or a traceback;
every job that ran is either recorded or was removed by retention after
it finished (the job checks, at its very end, that its run is still
there); skipped launches are recorded as skipped; state equals manifests.
"""

from __future__ import annotations

import json

import pytest

from helpers.faults import (
    check_task,
    figure,
    kill_marked,
    mark_env,
    new_mark,
    scale,
    seeded,
    wait_gone,
)
from helpers.runs import Root

# The job notes its start, works a little, and at its very end checks that its run
# directory is still there (retention must never remove a run that is not finished).
JOB = (
    'echo "start $RUNWRAP_RUN_ID" >> {log}; sleep {work}; '
    'if [ -f "$RUNWRAP_RUN_DIR/manifest.json" ]; then echo "end $RUNWRAP_RUN_ID" >> {log}; '
    'else echo "gone $RUNWRAP_RUN_ID" >> {log}; fi; : {mark}'
)


@pytest.mark.parametrize("keep", [1, 3, 10000])
@pytest.mark.parametrize("overlap", ["skip", "wait", "allow"])
def test_launch_storm(root: Root, tmp_path, overlap: str, keep: int) -> None:
    rng = seeded(f"storm-{overlap}-keep{keep}")
    mark = new_mark()
    root.env = mark_env(root.env, mark)
    task = "storm"
    launched = skipped = 0
    every_start: list[str] = []
    try:
        for wave in range(scale()):
            log = tmp_path / f"ran-{wave}"
            log.touch()
            count = rng.randint(30, 50)
            job = JOB.format(log=log, work=rng.choice(("0", "0.01", "0.05")), mark=mark)
            options = ["-n", task, "--overlap", overlap, "--keep", str(keep), "--kill-grace", "1"]
            if overlap == "wait":
                options += ["--wait-timeout", rng.choice(("0.5", "1", "3"))]
            procs = [root.start(*options, "--", "sh", "-c", job) for _ in range(count)]
            results = [(p.communicate(timeout=90)[1], p.returncode) for p in procs]
            launched += count
            odd = [(code, err) for err, code in results if code != 0 or err]
            assert odd == [], odd
            lines = log.read_text().split()
            events = list(zip(lines[0::2], lines[1::2]))
            starts = [r for e, r in events if e == "start"]
            ends = [r for e, r in events if e == "end"]
            assert [r for e, r in events if e == "gone"] == [], "a running run was removed"
            assert sorted(starts) == sorted(ends) and len(set(starts)) == len(starts)
            every_start += starts
            if overlap == "allow":
                assert len(starts) == count, "with allow, every launch runs its job"
            manifests = check_task(root.task_dir(task), retention=keep < launched)
            kept = {m["run_id"]: m for m in manifests}
            for run_id in every_start:
                # Recorded as a success, or removed by retention (which needs a final record).
                assert run_id not in kept or kept[run_id]["status"] == "success"
            for m in manifests:
                assert m["status"] in ("success", "skipped"), m
            # Every launch took a number: the skipped ones were recorded (retention aside).
            seq = int((root.task_dir(task) / "seq").read_text())
            assert seq == launched
            assert len(manifests) <= keep + 2
            state = json.loads((root.task_dir(task) / "state.json").read_text())
            assert state["last_success_id"] in kept
            if keep >= launched:
                # Nothing removed (--keep 10000): every launch is there, each job as a success.
                assert len(manifests) == launched
                successes = sorted(r for r, m in kept.items() if m["status"] == "success")
                assert successes == sorted(every_start)
                skipped = sum(m["status"] == "skipped" for m in manifests)
                assert len(every_start) + skipped == launched
        wait_gone(mark, timeout=10)
    finally:
        kill_marked(mark)
    ran = len(every_start)
    counted = f", {skipped} recorded as skipped" if keep >= launched else ""
    figure(
        f"storm --overlap {overlap} --keep {keep}: {launched} launches in {scale()} wave(s) of "
        f"30-50, {ran} jobs ran{counted}: all exited 0, no 125, no traceback, no run removed "
        "while running, every launch numbered, state.json = manifests"
    )
