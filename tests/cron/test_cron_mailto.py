"""Under a real cron daemon (Debian's cron), MAILTO gets one mail per change of state, with no
configuration: one when the job starts failing, none while it keeps failing, one when it recovers.

cron runs in a private mount namespace that holds only this test's crontab
(/etc/cron.d, empty user crontabs and /etc/crontab) and a sendmail stand-in
that files each mail in a directory. Three identical lines fire in the same
minute and queue on the task's lock (--overlap wait); the job fails twice,
then succeeds. cron fires at the top of a minute: its clock (libfaketime, preloaded
into cron alone: the jobs it starts are given the crontab's environment, not cron's)
is moved to a few seconds before one, so that the test does not wait up to a minute.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers.clock import LIBFAKETIME, needs_libfaketime
from helpers.polling import wait_for
from helpers.runs import RUNWRAP

SITEGEN = str(Path(RUNWRAP).parent / "sitegen")

CRON = shutil.which("cron") or "/usr/sbin/cron"


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root (a private mount namespace for cron)"
    if not os.path.exists(CRON):
        return "cron is not installed (Debian's cron; scripts/install-system-deps installs it)"
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        return f"cannot make a mount namespace here: {probe.stderr.decode().strip()}"
    return None


pytestmark = pytest.mark.skipif(_why_not() is not None, reason=_why_not() or "")

JOB = """n=$(cat {count} 2>/dev/null || echo 0)
echo $((n + 1)) > {count}
[ "$n" -ge 2 ] || {{ echo "disk full (attempt $((n + 1)))" >&2; exit 3; }}
"""


@needs_libfaketime
def test_cron_mails_once_on_failure_and_once_on_recovery(tmp_path: Path) -> None:
    mails, cron_d, spool, sbin = (tmp_path / d for d in ("mails", "cron.d", "spool", "sbin"))
    for d in (mails, cron_d, spool, sbin):
        d.mkdir()
    (tmp_path / "crontab").write_text("")
    sendmail = sbin / "sendmail"
    sendmail.write_text(f'#!/bin/sh\ncat > "{mails}/$(date +%s%N).mail"\n')
    sendmail.chmod(0o755)
    job = tmp_path / "job.sh"
    job.write_text(JOB.format(count=tmp_path / "count"))
    root = tmp_path / "root"
    line = f"{RUNWRAP} -n flaky --overlap wait -- sh {job}"
    entry = tmp_path / "cron.d" / "runwrap-test"
    entry.write_text(
        "MAILTO=ops@example.org\n"
        f"RUNWRAP_ROOT={root}\nRUNWRAP_CONFIG=/dev/null\nXDG_CACHE_HOME={tmp_path}/cache\n"
        + "".join(f"* * * * * root {line}\n" for _ in range(3))
    )
    entry.chmod(0o644)
    setup = " && ".join(
        [
            f"mount --bind {cron_d} /etc/cron.d",
            f"mount --bind {spool} /var/spool/cron/crontabs",
            f"mount --bind {tmp_path / 'crontab'} /etc/crontab",
            "mount -t tmpfs tmpfs /run",
            f"mount -t overlay overlay -o lowerdir={sbin}:/usr/sbin /usr/sbin",
            # The dashboard's watcher runs beside cron (as docs/deploy.md has it): it must
            # not take a notice from MAILTO, nor add one (tests/sitegen: late notices).
            f"(RUNWRAP_CONFIG=/dev/null {SITEGEN} --root {root} --out {tmp_path / 'site'}"
            f" --watch > {tmp_path / 'watch.log'} 2>&1 &)",
            # The offset is worked out by the shell at the last moment, whatever the set-up
            # above took: cron's clock then reads 3 to 4 s before a minute.
            "lead=$(( (57 - $(date +%s) % 60 + 60) % 60 ))",
            f"exec env LD_PRELOAD={LIBFAKETIME} FAKETIME_DONT_FAKE_MONOTONIC=1"
            f' FAKETIME="+${{lead}}s" {CRON} -f',
        ]
    )
    daemon = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", setup],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def finished_runs() -> int:
            runs = root / "tasks" / "flaky" / "runs"
            return sum(
                1
                for r in (runs.iterdir() if runs.exists() else [])
                if '"status": "running"' not in (r / "manifest.json").read_text(errors="replace")
            )

        wait_for(lambda: finished_runs() == 3, timeout=75, interval=0.2, what="cron's three runs")
        wait_for(lambda: len(list(mails.iterdir())) >= 2, timeout=15, what="two mails")
        # The three jobs are done; let cron's children finish before counting for good.
        wait_for(lambda: not _children(daemon.pid), timeout=15, what="cron's jobs to end")
        wait_for(
            lambda: (tmp_path / "site" / "tasks" / "flaky" / "index.html").exists(),
            what="the watcher's pages",
        )
        sent = [p.read_text() for p in sorted(mails.iterdir())]
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
        # "--": the pattern starts with a dash (without it, pkill took it for an option,
        # and every run of this test left its watcher behind).
        watcher = ["-f", "--", f"--out {tmp_path / 'site'} --watch"]
        subprocess.run(["pkill", *watcher], check=False)
        wait_for(lambda: subprocess.run(["pgrep", *watcher]).returncode == 1, what="no watcher")
    assert len(sent) == 2, sent
    assert "To: ops@example.org" in sent[0] and "[runwrap] FAILED: flaky on " in sent[0]
    assert "disk full (attempt 1)" in sent[0]
    assert "[runwrap] RECOVERED: flaky on " in sent[1] and "after 2 failing runs" in sent[1]


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (cron's job runners)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            if int(stat[stat.rfind(b")") + 2 :].split()[1]) == pid:
                found.append(int(entry))
    return found
