"""A long-lived reader whose clock is stepped must not call another host's live run lost.

store/hosts.py measures a reader's offset from the storage's clock once per process
(own_offset) and takes it off a lease's age only when the raw clocks say "expired".
`sitegen --watch` is a reader that lives for days: here its clock is right when it
starts and steps 5 minutes ahead later (a VM resumed, NTP stepping it). Every lease
then looks 5 minutes old by its clock, and the offset it measured at start (0) takes
nothing off: the other host's live run is published as lost, while a `runwrap ls`
started on the same clock at the same moment (which measures its offset then) says
it is running. (The watcher has measured its offset before the step because a dead
host's run made a lease look expired in its first build. --poll is not used: under
libfaketime a stepped FAKETIME_TIMESTAMP_FILE makes its time.sleep fail with EINVAL,
an artefact of the preload.)
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import datetime

from helpers.clock import LIBFAKETIME, needs_libfaketime
from helpers.hosts import LEASE, SLACK, Host, fleet_env, ls_task, require_namespaces
from helpers.polling import wait_for
from helpers.runs import RUNWRAP, SITEGEN

AHEAD_S = 300


def _status(out) -> dict | None:
    try:
        return json.loads((out / "status.json").read_text())
    except (OSError, ValueError):
        return None


@needs_libfaketime
def test_a_watcher_whose_clock_steps_ahead_calls_no_live_run_lost(tmp_path):
    require_namespaces()
    env, _notices = fleet_env(tmp_path)
    offset = tmp_path / "faketime.rc"
    offset.write_text("+0.000\n")
    stepped = {
        **env,
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME_TIMESTAMP_FILE": str(offset),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKE_UTIME": "1",  # utime(NULL) stamped by the storage (the kernel), as on NFS
    }
    job = Host("steady", f"{RUNWRAP} -n job --lease {LEASE:g}s -- sleep 300", env)
    gone = Host("gone", f"{RUNWRAP} -n dead --lease {LEASE:g}s -- sleep 300", env)
    out = tmp_path / "out"
    watcher = None
    try:
        wait_for(lambda: ls_task(env, "job")["running"], what="job running", timeout=SLACK)
        # A host that died: its run's lease lapses, so the watcher's first build has
        # a lease that looks expired, and measures its own offset (0, then) for it.
        wait_for(lambda: ls_task(env, "dead")["running"], what="dead running", timeout=SLACK)
        gone.kill()
        wait_for(lambda: ls_task(env, "dead")["lost"], what="dead lost", timeout=SLACK)
        watcher = subprocess.Popen(
            [SITEGEN, "--out", str(out), "--watch", "-q"],
            env=stepped,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_for(
            lambda: ((_status(out) or {}).get("tasks", {}).get("job") or {}).get("running"),
            what="the watcher's first build",
            timeout=SLACK,
        )

        tmp = offset.with_suffix(".tmp")
        tmp.write_text(f"+{AHEAD_S}.000\n")
        os.replace(tmp, offset)
        listed = subprocess.run(
            [RUNWRAP, "ls", "--json"], env=stepped, capture_output=True, text=True, timeout=60
        )
        assert listed.returncode == 0, listed.stderr
        [view] = [v for v in json.loads(listed.stdout) if v["task"] == "job"]
        assert view["running"] and view["lost"] == [], view  # a fresh reader on that clock

        def published_running() -> bool:
            """After a run of another task (something for the watcher to publish), the
            job as the watcher's latest build shows it: running, not lost."""
            poke = subprocess.run(
                [RUNWRAP, "-n", "poke", "--", "true"], env=env, capture_output=True, timeout=60
            )
            assert poke.returncode == 0, poke.stderr
            status = _status(out) or {}
            built = datetime.fromisoformat(status.get("generated_at", "1970-01-01T00:00:00+00:00"))
            if built.timestamp() < time.time() + AHEAD_S / 2:
                return False  # a build from before the step
            shown = (status.get("tasks") or {}).get("job") or {}
            return shown.get("running") == view["running"] and shown.get("lost") == []

        wait_for(published_running, timeout=SLACK, interval=0.5, what="the job shown running")
    finally:
        if watcher is not None:
            watcher.terminate()
            watcher.wait(timeout=30)
        job.stop()
        gone.stop()
