"""Process escapes: however a job's processes detach, none outlives its run.

Job trees that leave the job's process group or session (setsid, setpgid,
a double fork, nohup), a grandchild ignoring SIGTERM, a process with its
stdout and stderr closed, and all of them at once; each stopped by
--timeout, --heartbeat-timeout, `runwrap kill TASK`, a SIGTERM to runwrap,
or left running in the background by a job that exits normally. When
runwrap exits, no process of the job (nor runwrap's watcher) is alive.
"""

from __future__ import annotations

import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from helpers.faults import figure, kill_marked, mark_env, marked, new_mark, scale, seeded
from helpers.polling import wait_for
from helpers.runs import Root

# Each line starts one escaping process that writes its pid to {p}/<kind> and sleeps
# with the marker in its argv.
TREES = {
    "setsid": "setsid sh -c 'echo $$ > {p}/setsid; exec sleep {m}' &",
    "setpgid": (
        "python3 -c 'import os, sys, time; os.setpgid(0, 0); "
        'open(sys.argv[1], "w").write(str(os.getpid())); time.sleep(1000)\' {p}/setpgid {m} &'
    ),
    "double-fork": "(sh -c 'echo $$ > {p}/double-fork; exec sleep {m}' &)",
    "nohup": "nohup sh -c 'echo $$ > {p}/nohup; exec sleep {m}' >/dev/null 2>&1 &",
    "ignores-term": "(trap '' TERM; sh -c 'echo $$ > {p}/ignores-term; exec sleep {m}') &",
    "closed-stdio": "sh -c 'exec >&- 2>&- <&-; echo $$ > {p}/closed-stdio; exec sleep {m}' &",
}
TREES_ALL = "all"
MODES = ("timeout", "heartbeat", "kill", "sigterm", "exit")
LIMIT = "1.5"  # seconds: the tree is up long before (the job waits for it), the test stays short
EXPECTED = {  # mode: (runwrap's exit status, the run's status)
    "timeout": (124, "timeout"),
    "heartbeat": (124, "timeout"),
    "kill": (143, "killed"),
    "sigterm": (143, "killed"),
    "exit": (7, "failed"),
}


def _job(kinds: list[str], pids: Path, mark: str, mode: str) -> str:
    lines = [TREES[k].format(p=pids, m=mark) for k in kinds]
    # The job goes on only once every escaping process is up.
    lines += [f"until [ -s {pids}/{k} ]; do sleep 0.01; done" for k in kinds]
    lines.append("exit 7" if mode == "exit" else f"sleep {mark}")
    return "\n".join(lines)


def _case(base: Path, tree: str, mode: str) -> list[str]:
    """One tree under one way of ending; the problems found."""
    kinds = sorted(TREES) if tree == TREES_ALL else [tree]
    (base / "cwd").mkdir(parents=True)
    pids = base / "pids"
    pids.mkdir()
    root = Root(base / "root", base / "cwd")
    mark = new_mark()
    root.env = mark_env(root.env, mark)
    options = ["-n", "t", "--kill-grace", "0.3"]
    if mode == "timeout":
        options += ["--timeout", LIMIT]
    elif mode == "heartbeat":
        options += ["--heartbeat-timeout", LIMIT]
    problems = []
    try:
        proc = root.start(*options, "--", "sh", "-c", _job(kinds, pids, mark, mode))
        if mode in ("kill", "sigterm"):
            wait_for(lambda: all((pids / k).exists() for k in kinds), what=f"{tree} up")
            if mode == "kill":
                done = root.run("kill", "t")
                if done.returncode != 0:
                    problems.append(f"runwrap kill: {done.returncode} {done.stderr.strip()}")
            else:
                proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            return ["runwrap did not end"]
        left = marked(mark, runwraps=True)  # at once: runwrap waits for the whole tree
        if left:
            problems.append(f"alive after runwrap exited: {sorted(left.values())}")
        missing = [k for k in kinds if not (pids / k).exists()]
        if missing:
            problems.append(f"never started (the test proves nothing): {missing}")
        status = root.manifest("t")["status"]
        if (code, status) != EXPECTED[mode]:
            problems.append(f"exit {code}, status {status}; expected {EXPECTED[mode]}")
    finally:
        kill_marked(mark)
        root.stop_all()
    return problems


def test_no_process_escapes(tmp_path: Path) -> None:
    rng = seeded("escape")
    cases = [(tree, mode) for tree in [*sorted(TREES), TREES_ALL] for mode in MODES]
    cases = cases * scale()
    rng.shuffle(cases)

    def one(item: tuple[int, tuple[str, str]]) -> list[str]:
        i, (tree, mode) = item
        found = _case(tmp_path / f"{i}-{tree}-{mode}", tree, mode)
        return [f"{tree} under {mode}: {p}" for p in found]

    with ThreadPoolExecutor(max_workers=12) as pool:
        problems = [p for found in pool.map(one, enumerate(cases)) for p in found]
    assert problems == [], "\n".join(problems)
    figure(
        f"escape: {len(cases)} job trees ({', '.join(sorted(TREES))}, and all at once) "
        f"under {', '.join(MODES)}: 0 processes alive when runwrap exited, exit status and "
        "run status as expected every time"
    )
