"""A launch storm: 30-50 runwraps of one task at once, under each overlap policy and a tiny --keep.

Every runwrap exits 0 (its job's status), none with 125 or a traceback;
every job that ran is either recorded or was removed by retention after
it finished (the job checks, at its very end, that its run is still
there); skipped launches are recorded as skipped; state equals manifests.
"""

from __future__ import annotations

import json

import pytest
from conftest import Root

from .faultlib import check_task, figure, kill_marked, mark_env, new_mark, scale, seeded, wait_gone

# The job notes its start, works a little, and at its very end checks that its run
# directory is still there (retention must never remove a run that is not finished).
JOB = (
    'echo "start $RUNWRAP_RUN_ID" >> {log}; sleep {work}; '
    'if [ -f "$RUNWRAP_RUN_DIR/manifest.json" ]; then echo "end $RUNWRAP_RUN_ID" >> {log}; '
    'else echo "gone $RUNWRAP_RUN_ID" >> {log}; fi; : {mark}'
)


@pytest.mark.parametrize("keep", [1, 3])
@pytest.mark.parametrize("overlap", ["skip", "wait", "allow"])
def test_launch_storm(root: Root, tmp_path, overlap: str, keep: int) -> None:
    rng = seeded(f"storm-{overlap}-keep{keep}")
    mark = new_mark()
    root.env = mark_env(root.env, mark)
    task = "storm"
    launched = 0
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
            results = [(p.wait(timeout=90), p.stderr.read()) for p in procs]
            launched += count
            assert [code for code, _ in results] == [0] * count, results
            assert [err for _, err in results] == [""] * count
            lines = log.read_text().split()
            events = list(zip(lines[0::2], lines[1::2]))
            starts = [r for e, r in events if e == "start"]
            ends = [r for e, r in events if e == "end"]
            assert [r for e, r in events if e == "gone"] == [], "a running run was removed"
            assert sorted(starts) == sorted(ends) and len(set(starts)) == len(starts)
            if overlap == "allow":
                assert len(starts) == count, "with allow, every launch runs its job"
            manifests = check_task(root.task_dir(task), retention=True)
            kept = {m["run_id"]: m for m in manifests}
            for run_id in starts:
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
        wait_gone(mark, timeout=10)
    finally:
        kill_marked(mark)
    figure(
        f"storm --overlap {overlap} --keep {keep}: {launched} launches in {scale()} wave(s) of "
        "30-50: all exited 0, no 125, no traceback, no run removed while running, "
        "state.json = manifests"
    )
