"""`sitegen --watch` in the background, driven by the real runwrap."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from helpers.polling import removed, wait_for
from helpers.runs import BIN
from helpers.sites import ENV, runwrap, start_runwrap, write_run


# The fixtures (run_root, out, ...) come from one plugin module, for every sitegen test.
@pytest.fixture
def watcher(run_root, out, request):
    """Start `sitegen --watch` (options from the test's `watch_opts` marker) and stop it after."""
    opts = getattr(request, "param", [])
    log = out.parent / "watch.log"
    with open(log, "w") as f:
        proc = subprocess.Popen(
            [str(BIN / "sitegen"), "--root", str(run_root), "--out", str(out), "--watch", *opts],
            env=ENV,
            stdout=f,
            stderr=subprocess.STDOUT,
        )
    wait_for(lambda: (out / "index.html").exists(), what="the first build")
    yield proc
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0, log.read_text()


def status(out: Path) -> dict:
    try:
        return json.loads((out / "status.json").read_text())
    except (OSError, ValueError):
        return {}


def task_state(out: Path, task: str) -> dict:
    return status(out).get("tasks", {}).get(task) or {}


def test_watch_picks_up_a_new_run(run_root, out, watcher):
    runwrap(run_root, "nightly", "echo done")
    # The watcher may have caught the run while it ran: wait for its final state.
    state = wait_for(
        lambda: (
            (task_state(out, "nightly").get("last_run") or {}).get("status") == "success"
            and task_state(out, "nightly")["last_run"]
        ),
        what="the finished run",
    )
    assert (out / state["url"]).exists()
    runwrap(run_root, "nightly", "exit 2")
    wait_for(lambda: task_state(out, "nightly").get("state") == "failing", what="the failure")


@pytest.mark.parametrize("watcher", [[], ["--poll"]], indirect=True)
def test_watch_shows_the_notifications_written_after_the_final_manifest(run_root, out, watcher):
    config = out.parent / "config.yaml"
    config.write_text("notifiers:\n  pager:\n    type: command\n    command: 'true'\n")
    runwrap(run_root, "job", "exit 1", "--config", str(config), "--notify", "pager")
    run = next((run_root / "tasks" / "job" / "runs").iterdir())
    page = out / "tasks" / "job" / "runs" / run.name / "index.html"
    wait_for(
        lambda: page.exists() and "<h2>Notifications</h2>" in page.read_text(),
        what="the notifications on the run page",
    )


def inotify_watches(pid: int) -> int | None:
    """How many directories the process watches, as the kernel counts them (None: no inotify)."""
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:inotify":
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    return sum(1 for line in f if line.startswith("inotify wd:"))
        except FileNotFoundError:
            continue
    return None


@pytest.fixture
def history(run_root):
    """Two tasks with 40 finished runs each, there before the watcher starts."""
    for task in ("alpha", "beta"):
        for n in range(40):
            write_run(run_root, task, n, status="failed" if n % 7 == 0 else "success")


def test_watch_watches_no_finished_run(run_root, out, history, watcher, tmp_path):
    # ROOT, tasks/, and per task its directory and runs/ (open/ once runwrap made one):
    # a number of the tasks, not of the 80 runs.
    base = 2 + 2 * 2
    wait_for(lambda: inotify_watches(watcher.pid) == base, what=f"{base} watches")
    release = tmp_path / "release"
    job = start_runwrap(run_root, "alpha", f"while [ ! -e {release} ]; do sleep 0.05; done")
    try:
        wait_for(lambda: task_state(out, "alpha").get("running"), what="the running run")
        # alpha's open/ and the running run's own directory
        wait_for(lambda: inotify_watches(watcher.pid) == base + 2, what="the running run's watch")
    finally:
        release.touch()
        assert job.wait(timeout=30) == 0
    wait_for(lambda: task_state(out, "alpha").get("runs") == 41, what="the finished run")
    run = max((run_root / "tasks" / "alpha" / "runs").iterdir()).name
    page = out / "tasks" / "alpha" / "runs" / run / "index.html"
    wait_for(lambda: page.exists() and not task_state(out, "alpha").get("running"))
    # Finished and recorded: its directory is watched no more; open/ stays.
    wait_for(lambda: inotify_watches(watcher.pid) == base + 1, what="the run's watch to go")
    for script in ("true", "exit 3"):  # runs that start and finish between two looks
        runwrap(run_root, "beta", script)
    # An update may come while the second run is still running: its end follows.
    wait_for(
        lambda: (
            task_state(out, "beta").get("runs") == 42
            and task_state(out, "beta")["last_run"]["status"] == "failed"
        ),
        what="beta's new runs, the last failed",
    )
    assert (out / task_state(out, "beta")["last_run"]["url"]).exists()
    wait_for(lambda: inotify_watches(watcher.pid) == base + 2, what="beta's open/ alone")


@pytest.fixture
def no_tasks_dir(run_root):
    """A ROOT with no tasks/ yet: runwrap makes it with the first run."""
    (run_root / "tasks").rmdir()


def test_watch_follows_tasks_dir_made_removed_and_made_again(run_root, out, no_tasks_dir, watcher):
    runwrap(run_root, "first", "true")
    wait_for(lambda: task_state(out, "first").get("state") == "ok", what="the first task")
    shutil.rmtree(run_root / "tasks")
    wait_for(lambda: "first" not in status(out).get("tasks", {}), what="the task to go")
    runwrap(run_root, "second", "exit 1")
    wait_for(lambda: task_state(out, "second").get("state") == "failing", what="a new task")
    # Watched again: a run of a task already there, and nothing left over from before.
    runwrap(run_root, "second", "true")
    wait_for(lambda: task_state(out, "second").get("state") == "ok", what="its next run")
    # ROOT, tasks/; second, its runs/ and open/ (its finished runs none)
    wait_for(lambda: inotify_watches(watcher.pid) == 2 + 3, what="5 watches")


def test_watch_through_a_root_that_is_a_symlink(run_root, out, tmp_path):
    # ROOT named by a link (/var/lib/runwrap -> /data/runwrap): the build follows it, and
    # so must the watches (not a 30 s rescan instead).
    link = tmp_path / "link"
    link.symlink_to(run_root)
    runwrap(run_root, "linked", "true")
    proc = subprocess.Popen(
        [str(BIN / "sitegen"), "--root", str(link), "--out", str(out), "--watch"],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: task_state(out, "linked").get("state") == "ok", what="the first build")
        # ROOT, tasks/; linked, its runs/ and open/
        wait_for(lambda: inotify_watches(proc.pid) == 2 + 3, what="5 watches")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_watch_with_polling_picks_up_a_new_run(run_root, out, watcher):
    runwrap(run_root, "polled", "true")
    wait_for(lambda: task_state(out, "polled").get("state") == "ok", what="the polled run")


def test_watch_shows_a_running_runs_progress(run_root, out, watcher, tmp_path):
    release = tmp_path / "release"
    job = start_runwrap(
        run_root,
        "long",
        'echo "[progress]37" >> "$RUNWRAP_FEEDBACK"; echo "[info]step one" >> "$RUNWRAP_FEEDBACK";'
        f" while [ ! -e {release} ]; do sleep 0.05; done;"
        ' echo "[progress]80" >> "$RUNWRAP_FEEDBACK";'
        f" while [ ! -e {release}2 ]; do sleep 0.05; done",
    )
    try:
        wait_for(
            lambda: (task_state(out, "long").get("live") or {}).get("progress") == 37.0,
            what="progress 37",
        )
        dashboard = (out / "index.html").read_text()
        assert '<progress max="100" value="37">' in dashboard and "step one" in dashboard
        release.touch()
        wait_for(
            lambda: (task_state(out, "long").get("live") or {}).get("progress") == 80.0,
            what="progress 80",
        )
        Path(f"{release}2").touch()
        assert job.wait(timeout=30) == 0
        wait_for(lambda: task_state(out, "long").get("state") == "ok", what="the end of the run")
    finally:
        Path(f"{release}2").touch()
        job.wait(timeout=30)


def test_watch_removes_the_pages_of_pruned_runs(run_root, out, watcher):
    for _ in range(3):
        runwrap(run_root, "kept", "true", "--keep", "2")
    wait_for(lambda: task_state(out, "kept").get("runs") == 2, what="two runs")
    pages = sorted((out / "tasks" / "kept" / "runs").iterdir())
    first = pages[0]
    runwrap(run_root, "kept", "true", "--keep", "2")
    wait_for(lambda: not first.exists(), what="the pruned run's page to go")
    assert task_state(out, "kept")["runs"] == 2
    wait_for(lambda: removed(run_root / "tasks" / "kept"), what="the task removed by hand")
    wait_for(lambda: not (out / "tasks" / "kept").exists(), what="the removed task to go")


def test_watch_skips_a_malformed_manifest_and_picks_it_up_when_whole(run_root, out, watcher):
    runwrap(run_root, "job", "true")
    wait_for(lambda: task_state(out, "job").get("runs") == 1, what="the first run")
    good_run = next((run_root / "tasks" / "job" / "runs").iterdir())
    manifest = json.loads((good_run / "manifest.json").read_text())
    bad_run = good_run.parent / "20991231T235959.000Z-beef"
    bad_run.mkdir()
    (bad_run / "manifest.json").write_text('{"status": "succ')
    runwrap(run_root, "other", "true")  # the watcher is still alive and working
    wait_for(lambda: task_state(out, "other").get("runs") == 1, what="the other task")
    assert task_state(out, "job")["runs"] == 1
    manifest.update(run_id=bad_run.name, status="failed", exit_code=1)
    tmp = bad_run / ".manifest.tmp"
    tmp.write_text(json.dumps(manifest))
    tmp.rename(bad_run / "manifest.json")
    wait_for(lambda: task_state(out, "job").get("runs") == 2, what="the repaired manifest")
    assert (out / "tasks" / "job" / "runs" / bad_run.name / "index.html").exists()


def start_serving(run_root: Path, out: Path, listen: str) -> subprocess.Popen:
    """`sitegen --serve LISTEN` in the background; its first line is the address."""
    return subprocess.Popen(
        [str(BIN / "sitegen"), "--root", str(run_root), "--out", str(out), "--serve", listen],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def test_serve_prints_its_address_and_serves_the_site(run_root, out):
    runwrap(run_root, "served", "echo hi")
    proc = start_serving(run_root, out, "127.0.0.1:0")
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving the site at http://127.0.0.1:"), line
        url = line.split()[-1]
        with urllib.request.urlopen(url + "tasks/served/index.html", timeout=10) as r:
            assert r.status == 200 and b"served" in r.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_serve_sandboxes_what_a_job_wrote_but_not_the_pages(run_root, out):
    runwrap(run_root, "job", "echo hi > page.html")
    proc = start_serving(run_root, out, "0")
    try:
        url = proc.stdout.readline().split()[-1]
        run = next((out / "tasks" / "job" / "runs").iterdir()).name
        base = f"{url}tasks/job/runs/{run}/"
        with urllib.request.urlopen(base + "index.html", timeout=10) as r:
            assert r.headers.get("Content-Security-Policy") is None
        for name in (
            "stdout.log",
            "files/page.html",
            "%66iles/page.html",
            "./files/page.html",
            "std%6Fut.log",
        ):
            with urllib.request.urlopen(base + name, timeout=10) as r:
                assert r.headers["Content-Security-Policy"] == "sandbox"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_serving_closes_its_socket_when_stopped(run_root, out):
    import gc
    import threading
    import warnings

    from sitegen.dispatch import run

    from helpers.sites import site_config

    stop = threading.Event()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        run(
            site_config(run_root, out, serve=("127.0.0.1", 0)),
            announce=lambda url: stop.set(),
            stop=stop,
        )
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_a_watch_the_kernel_refuses_falls_back_to_rescans_instead_of_stopping(tmp_path):
    """A refusal other than "not there" (here: a name longer than PATH_MAX) once escaped
    the watch loop and stopped `sitegen --watch`."""
    from sitegen.live.inotify import Inotify

    ino = Inotify()
    try:
        assert ino.add(("root",), str(tmp_path)) and not ino.full  # the control
        assert ino.add(("task", "t"), "/" + "x/" * 3000) is False
        assert ino.full and "too long" in ino.why
    finally:
        ino.close()


def test_polling_looks_only_at_what_can_still_change(run_root):
    """--poll (NFS) stats tasks/, each task's directories and each unsettled run: O(tasks +
    unfinished runs) a pass, not a rescan of every run of the history."""
    from sitegen.live.watch import PollSource

    for n in range(40):
        write_run(run_root, "old", n)
    busy = write_run(run_root, "busy", 1, "running")
    source = PollSource(str(run_root))
    source.unsettled = {"busy": {busy}}
    looked_at = source._sigs()
    assert set(looked_at) == {None, "old", "busy", ("busy", busy)}
    # A new run of the old task shows in its runs/ signature: the task is marked.
    source.sigs = looked_at
    write_run(run_root, "old", 41)
    source.next_poll = 0.0
    source.wait(0.0)
    assert source.burst.take() == {"old": set()}
