"""Attack on issue 18's watcher mail (sitegen/live/notices.py, runwrap/notify/sendmail.py).

A sendmail that takes the mail and exits 0 but leaves a child holding its stdout (an
MTA that forks its delivery in the background without closing what it inherited)
is read as a failure: sendmail.send() captures stdout and stderr, so communicate()
waits for EOF until the notifier's timeout, the notice is recorded as not sent, and
the next update mails it again. The person gets the same LATE twice (or more).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from helpers.clock import needs_libfaketime
from helpers.polling import wait_for
from helpers.runs import BIN
from helpers.sendmail import (
    mail_env,
    mails_filed,
    needs_namespaces,
    watch_in_namespace,
    watch_with_sendmail,
)
from helpers.sites import runwrap, status_json, turning_late_soon


@needs_libfaketime
@needs_namespaces
def test_a_mail_sendmail_took_is_not_sent_again(run_root, out, tmp_path):
    env = mail_env(tmp_path)
    turning_late_soon(run_root, "sync", 2.0, env=env)
    # Takes the mail, exits 0 at once; its "delivery agent" keeps the inherited stdout.
    proc, log, mails = watch_with_sendmail(
        run_root, out, env, tmp_path, then="sleep 40 &\nexit 0\n"
    )
    try:
        wait_for(lambda: mails_filed(mails), timeout=20, what="the watcher's mail")
        wait_for(lambda: status_json(out).get("tasks", {}).get("sync", {}).get("late"), what="late")
        # The mail was taken: the notice is recorded delivered (not pending, to be sent
        # again at every update), though the mail program left a child behind.
        ledger = Path(run_root, "tasks", "sync", "notify.json")

        def delivered() -> bool:
            record = json.loads(ledger.read_text()).get("sitegen-mail", {})
            return record.get("late_since") is not None and not record.get("pending")

        wait_for(delivered, timeout=30, what="the mail recorded as delivered")
        for name in ("other", "third"):  # two more updates: nothing more goes out
            assert runwrap(run_root, name, "true", env=env).returncode == 0
            wait_for(lambda n=name: n in status_json(out).get("tasks", {}), what=name)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    late = [m for m in mails_filed(mails) if "LATE" in m.upper()]
    assert len(late) == 1, f"{len(late)} LATE mails for one lateness\n{log.read_text()}"


@needs_libfaketime
@needs_namespaces
def test_no_sendmail_installed_is_said_in_the_watchers_log(run_root, out, tmp_path):
    """A machine without an MTA (a stock cloud image has none): the watcher's mail fails
    at every update, recorded in notify.json only. The journal must say that the late
    notice did not go out: else nobody hears of the lateness, and nobody knows why."""
    env = mail_env(tmp_path)
    turning_late_soon(run_root, "sync", 2.0, env=env)
    # No /usr/sbin/sendmail in this namespace.
    proc, log = watch_in_namespace("mount -t tmpfs tmpfs /usr/sbin", run_root, out, env, tmp_path)
    ledger = Path(run_root, "tasks", "sync", "notify.json")
    try:
        wait_for(lambda: status_json(out).get("tasks", {}).get("sync", {}).get("late"), what="late")
        wait_for(lambda: ledger.exists() and "sendmail" in ledger.read_text(), what="the try")
        assert runwrap(run_root, "other", "true", env=env).returncode == 0
        wait_for(lambda: "other" in status_json(out).get("tasks", {}), what="another update")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
    text = log.read_text().replace(str(tmp_path), "TMP")  # the test's name says sendmail
    assert "sendmail" in text or "late notice" in text, text


@needs_libfaketime
@needs_namespaces
def test_root_hears_of_one_lateness_once_with_cron_alive_and_no_mailto(run_root, out, tmp_path):
    """The defaults: no `site: mail_to` (the watcher mails root) and a crontab without a
    MAILTO line (`runwrap crontab` writes none; cron mails a system crontab's output to
    root). With cron alive, `runwrap check --quiet` prints the console's LATE, which cron
    mails to root, and the watcher mailed root the same LATE: docs/notifications.md's
    "two mailboxes, one notice each" is one mailbox, two notices."""

    env = mail_env(tmp_path)
    due = turning_late_soon(run_root, "sync", 2.0, env=env)

    def check() -> str:
        done = subprocess.run(
            [str(BIN / "runwrap"), "--root", str(run_root), "check", "--quiet", "sync"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        return done.stdout  # cron mails any output to MAILTO, unset: the owner, root

    to_root = [check()]  # cron alive: the check of the crontab runs (on time: silent)
    proc, log, mails = watch_with_sendmail(run_root, out, env, tmp_path)
    try:
        wait_for(lambda: status_json(out).get("tasks", {}).get("sync", {}).get("late"), what="late")
        assert time.time() > due
        to_root.append(check())  # the next check: LATE, on cron's mail
        runwrap(run_root, "other", "true", env=env)  # another update of the watcher
        wait_for(lambda: "other" in status_json(out).get("tasks", {}), what="the other task")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, log.read_text()
    to_root += [m for m in mails_filed(mails) if "To: root" in m and "LATE" in m.upper()]
    to_root = [m for m in to_root if m.strip()]
    assert len(to_root) == 1 and "LATE" in to_root[0].upper(), to_root
