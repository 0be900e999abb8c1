"""Attack on issue 18's rule "a skipped tick is never a task's last run", on `runwrap
check`: its late line says "last run" and shows the state's newest_started_at, the
newest run of any kind. When that is a skipped tick, check's "last run" is the tick
while ls --json, show, status.json and the dashboard name the real run before it.
"""

from __future__ import annotations

import json
import re
import subprocess
import time

from helpers.clock import needs_libfaketime, shifted
from helpers.polling import wait_for
from helpers.runs import RUNWRAP, Root

SCHEDULE = ("--schedule", "* * * * *", "--grace", "5s")


@needs_libfaketime
def test_checks_last_run_is_never_a_skipped_tick(root: Root) -> None:
    def past(offset: str, *cmd: str) -> subprocess.Popen:
        return subprocess.Popen(
            [RUNWRAP, "-n", "t", *SCHEDULE, "--", *cmd],
            env=shifted(root.env, offset), cwd=root.cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip

    slow = past("-900s", "sleep", "3")  # a real run 15 minutes back
    wait_for(lambda: any(m.get("pid") for m in root.manifests_so_far("t")), what="the job")
    tick = past("-600s", "true")  # cron's next tick, 10 minutes back: skipped
    assert tick.wait(timeout=60) == 0
    assert slow.wait(timeout=60) == 0
    statuses = sorted(m["status"] for m in root.manifests("t"))
    assert statuses == ["skipped", "success"], statuses

    listing = root.run("ls", "--json")
    (v,) = json.loads(listing.stdout)
    assert v["late"] is True and v["last_run"]["status"] == "success", v
    real_start = v["last_run"]["started_at"]
    check = root.run("check", "t")
    assert check.returncode == 1, check
    shown = re.search(r"last run .*\((\d\d:\d\d)(:\d\d)?\)", check.stdout)
    assert shown, check.stdout
    ts = time.mktime(time.strptime(real_start[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert shown.group(1) == time.strftime("%H:%M", time.localtime(ts)), check.stdout
