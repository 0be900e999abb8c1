"""The job cannot steer `runwrap kill`: a job running as an unprivileged user
rewrites what it can write (its manifest's pid, pgid and owner, its open
marker) to name a process of root's; root's `runwrap kill` must stop the real
job, or refuse in one line, and never signal the victim."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from runwrap.store.owner import start_ticks

from helpers.faults import figure, runwrap_for, shared_dir, unprivileged_user
from helpers.polling import wait_for
from helpers.runs import RUNWRAP, pid_alive

# The job: once its run is on record, it rewrites its files to name the victim,
# again and again (runwrap may rewrite its manifest), until it is stopped.
FORGER = r"""
import json, os, sys, time
victim, start, what = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(",")
run_dir = os.environ["RUNWRAP_RUN_DIR"]
marker = os.path.join(os.environ["RUNWRAP_ROOT"], "tasks", os.environ["RUNWRAP_TASK"],
                      "open", os.environ["RUNWRAP_RUN_ID"])

def forge(path, owner_key):
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return
    owner = data.get(owner_key) if owner_key else data
    if isinstance(owner, dict):
        owner.update(pid=victim, start=start)
    if "manifest" in path:
        data.update(pid=victim, pgid=victim)
    with open(path + ".forged", "w") as f:
        json.dump(data, f)
    os.replace(path + ".forged", path)

while True:
    if "manifest" in what:
        forge(os.path.join(run_dir, "manifest.json"), "owner")
    if "marker" in what:
        forge(marker, "owner")
    open(os.path.join(run_dir, "forged"), "w").close()
    time.sleep(0.05)
"""


@pytest.fixture
def user() -> tuple[str, list[str], dict[str, str]]:
    name = unprivileged_user()
    if name is None:
        pytest.skip("needs root, to make an unprivileged user with useradd")
    runner = runwrap_for(name)
    if runner is None:
        pytest.skip(f"this checkout's runwrap cannot be run as {name}")
    return name, *runner


@pytest.fixture
def place(user):
    path = shared_dir("runwrap-forgery-")
    shutil.chown(path, user[0])
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def victim():
    proc = subprocess.Popen(["sleep", "600"], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


CASES = {
    "manifest forged, TERM": ("manifest", "TERM"),
    "manifest forged, KILL": ("manifest", "KILL"),
    "manifest and open marker forged, TERM": ("manifest,marker", "TERM"),
    "manifest and open marker forged, KILL": ("manifest,marker", "KILL"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_forged_run_never_steers_roots_kill(user, place: Path, victim, case: str) -> None:
    name, argv, extra = user
    what, signame = CASES[case]
    (place / "forger.py").write_text(FORGER)
    root = place / "root"
    env = {**extra, "RUNWRAP_ROOT": str(root), "RUNWRAP_CONFIG": "/dev/null"}
    start = start_ticks(victim.pid)
    job = subprocess.Popen(
        [*argv, "-n", "t", "--kill-grace", "0.5", "--",
         "/usr/bin/python3", str(place / "forger.py"), str(victim.pid), str(start), what],
        env=env, cwd=place, user=name, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        runs = root / "tasks" / "t" / "runs"
        wait_for(lambda: job.poll() is not None or any(runs.glob("*/forged")), what="the forgery")
        assert job.poll() is None, job.stderr.read()
        kill = subprocess.run(
            [RUNWRAP, "kill", "t", "--signal", signame],
            env={**os.environ, "RUNWRAP_ROOT": str(root), "RUNWRAP_CONFIG": "/dev/null"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "Traceback" not in kill.stderr
        if "marker" in what:
            # Nothing runwrap holds names the run any more: refused, in one line.
            assert kill.returncode == 1, kill
            lines = kill.stderr.strip().splitlines()
            assert len(lines) == 1 and "not signalled" in lines[0], lines
            assert pid_alive(victim.pid)
            job.send_signal(signal.SIGTERM)  # the test's own way to end it
            outcome = f"refused: {lines[0]}"
        else:
            assert kill.returncode == 0, kill.stderr
            outcome = "the real job stopped"
        assert job.wait(timeout=30) in (128 + signal.SIGTERM, 128 + signal.SIGKILL, 137), (
            job.stderr.read()
        )
        assert pid_alive(victim.pid), "the victim was signalled"
        assert victim.poll() is None
        figure(f"forgery ({case}) by user {name}: victim untouched, {outcome}")
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()


# ---- the forgery matrix: every file a job can write in its run directory -------------
#
# Each job forges one file of its run directory (every field of its manifest at once,
# again and again while it runs; or the file replaced), then fails (exit 1). Against:
# the outcome runwrap records, the notices, `ls`, the pages and status.json, and the
# next run's retention. Nothing it wrote may turn the failure into something else,
# reach outside ROOT, or put live markup on a page.

HOSTILE = "<script>alert(1)</script>"
FORGED_FIELDS = {
    "schema": 999,
    "status": "success",
    "exit_code": 0,
    "signal": None,
    "seq": 10**9,
    "run_id": "20991231T000000.000Z-ffff",
    "task": "other",
    "host": HOSTILE,
    "user": HOSTILE,
    "command": [HOSTILE],
    "started_at": "2099-12-31T00:00:00.000Z",
    "ended_at": "1970-01-01T00:00:00.000Z",
    "duration_s": -5,
    "pid": 1,
    "pgid": 1,
    "owner": {"pid": 1, "start": 1, "host": "elsewhere", "boot": "x"},
    "reason": HOSTILE,
    "labels": {HOSTILE: HOSTILE},
    "feedback": {"status": "success", "progress": "100", "info": HOSTILE},
    "artifacts": [{"name": "../../../../canary", "size": 1}, {"name": "/etc/passwd"}],
    "stdout_bytes": 10**15,
    "stderr_bytes": -1,
    "attempts": [{"exit_code": 0}],
}

MATRIX_JOB = r"""
import json, os, sys, time
case, canary = sys.argv[1], sys.argv[2]
run_dir = os.environ["RUNWRAP_RUN_DIR"]
manifest = os.path.join(run_dir, "manifest.json")
fields = json.loads(os.environ["FORGED"])
print("<script>alert(1)</script></pre>", flush=True)
print("\x1b]52;c;Zm9yZ2Vk\x07 stderr", file=sys.stderr, flush=True)
if case == "manifest fields":
    for _ in range(10):
        with open(manifest + ".f", "w") as f:
            json.dump(fields, f)
        os.replace(manifest + ".f", manifest)
        time.sleep(0.03)
elif case == "manifest a symlink out of ROOT":
    os.remove(manifest); os.symlink(canary, manifest)
elif case == "manifest a directory":
    os.remove(manifest); os.mkdir(manifest)
elif case == "manifest removed":
    os.remove(manifest)
elif case == "manifest garbage":
    with open(manifest, "w") as f:
        f.write('{"status": "success", ' + "[" * 100000)
elif case == "feedback.log":
    with open(os.environ["RUNWRAP_FEEDBACK"], "w") as f:
        f.write("[status]success\n[progress]1e999\n[info]<script>alert(1)</script>\n")
        f.write("[exit_code]0\n[" + "x" * 100000 + "]y\n")
elif case == "logs":
    for name in ("stdout.log", "stderr.log"):
        os.remove(os.path.join(run_dir, name))
        os.symlink(canary, os.path.join(run_dir, name))
elif case == "artifacts":
    for name in ("index.html", "manifest.json.tmp", "<script>alert(1)</script>.html",
                 "state.json", ".new-x", "notifications.json"):
        with open(os.path.join(run_dir, name), "w") as f:
            f.write("<script>alert(1)</script>")
    os.symlink(canary, os.path.join(run_dir, "canary-link"))
    os.mkfifo(os.path.join(run_dir, "fifo"))
    os.link(canary, os.path.join(run_dir, "hardlinked"))
if len(sys.argv) > 3:  # hold: forged, wait to be killed (the fields forged again meanwhile)
    open(os.path.join(run_dir, "forged"), "w").close()
    while True:
        if case == "manifest fields":
            with open(manifest + ".f", "w") as f:
                json.dump(fields, f)
            os.replace(manifest + ".f", manifest)
        time.sleep(0.05)
sys.exit(1)
"""

MATRIX_CASES = [
    "manifest fields",
    "manifest a symlink out of ROOT",
    "manifest a directory",
    "manifest removed",
    "manifest garbage",
    "feedback.log",
    "logs",
    "artifacts",
]


@pytest.mark.parametrize("case", MATRIX_CASES)
def test_a_forged_run_dir_changes_no_outcome_notice_page_or_removal(
    tmp_path: Path, case: str
) -> None:
    import json
    import re
    import sys

    from helpers.faults import launcher
    from helpers.runs import Root

    (tmp_path / "cwd").mkdir()
    root = Root(tmp_path / "root", tmp_path / "cwd")
    canary = tmp_path / "canary"
    canary.write_text("canary\n")
    (tmp_path / "job.py").write_text(MATRIX_JOB)
    root.env = {**root.env, "FORGED": json.dumps(FORGED_FIELDS)}
    done = root.run("-n", "t", "--", sys.executable, str(tmp_path / "job.py"), case, str(canary))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert re.findall(r"^\[runwrap\] (\w+):", done.stdout, re.M) == ["FAILED"], done.stdout
    (run_id,) = root.run_ids("t")
    m = root.manifest("t", run_id)
    assert (m["status"], m["exit_code"], m["seq"]) == ("failed", 1, 1), m
    assert (m["run_id"], m["task"]) == (run_id, "t"), m
    assert m["started_at"].startswith(run_id[:4]) and 0 <= m["duration_s"] < 60, m
    ls = root.run("ls", "--json")
    (v,) = json.loads(ls.stdout)
    assert (v["state"], v["consecutive_failures"]) == ("failing", 1), v
    out = tmp_path / "out"
    site = subprocess.run(
        [sys.executable, launcher("sitegen"), "--root", str(root.path), "--out", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert site.returncode == 0 and "Traceback" not in site.stderr, site.stderr
    status = json.loads((out / "status.json").read_text())
    assert status["tasks"]["t"]["state"] == "failing", status["tasks"]["t"]
    assert list(status["tasks"]) == ["t"]
    for page in out.rglob("*"):
        assert not page.is_symlink(), page
        if page.suffix in (".html", ".json", ".atom", ".svg") and "files" not in page.parts:
            assert HOSTILE not in page.read_text(errors="replace"), page
    run_page = (out / "tasks" / "t" / "runs" / run_id / "index.html").read_text()
    assert "failed" in run_page
    # The next runs' retention: the forged run goes (by its seq), nothing outside ROOT.
    still = root.run("-n", "t", "--", "false")
    assert still.returncode == 1 and "[runwrap]" not in still.stdout, still.stdout
    again = root.run("-n", "t", "--keep", "1", "--", "true")
    assert again.returncode == 0, again.stderr
    assert re.findall(r"^\[runwrap\] (\w+):", again.stdout, re.M) == ["RECOVERED"], again.stdout
    left = root.run_ids("t")
    assert run_id not in left and len(left) == 2, left  # the last failure stays
    assert canary.read_text() == "canary\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "canary", "cwd", "job.py",
                                                         "out", "root"]  # fmt: skip
    figure(f"forgery matrix: {case}: recorded failed (exit 1, seq 1), one FAILED notice, "
           f"pages failing and inert, retention by seq, nothing outside ROOT")  # fmt: skip


@pytest.mark.parametrize("case", [c for c in MATRIX_CASES if c.startswith("manifest")])
def test_a_forged_manifest_does_not_hide_the_run_from_kill(tmp_path: Path, case: str) -> None:
    """`runwrap kill TASK` finds the run by its open marker and its processes, whatever the
    job made of its manifest, and stops it (recorded killed)."""
    import json
    import sys

    from helpers.runs import Root

    (tmp_path / "cwd").mkdir()
    root = Root(tmp_path / "root", tmp_path / "cwd")
    canary = tmp_path / "canary"
    canary.write_text("canary\n")
    (tmp_path / "job.py").write_text(MATRIX_JOB)
    root.env = {**root.env, "FORGED": json.dumps(FORGED_FIELDS)}
    job = root.start(
        "-n", "t", "--kill-grace", "0.5", "--",
        sys.executable, str(tmp_path / "job.py"), case, str(canary), "hold",
    )  # fmt: skip
    runs = root.task_dir("t") / "runs"
    wait_for(lambda: job.poll() is not None or any(runs.glob("*/forged")), what="the forgery")
    assert job.poll() is None, job.stderr.read()
    kill = root.run("kill", "t")
    assert kill.returncode == 0 and "Traceback" not in kill.stderr, kill.stderr
    assert job.wait(timeout=30) == 128 + signal.SIGTERM, job.stderr.read()
    (run_id,) = root.run_ids("t")
    m = root.manifest("t", run_id)
    assert (m["status"], m["run_id"], m["seq"]) == ("killed", run_id, 1), m
    assert canary.read_text() == "canary\n"
    figure(f"forgery matrix: {case}, then runwrap kill TASK: the real job stopped, killed")
