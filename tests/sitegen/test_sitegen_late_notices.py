"""`sitegen --watch` sends the `late` notice of a task whose cron stopped: once, through
runwrap's notifiers, with the nospam memory `runwrap check` shares (a real HTTP receiver)."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import yaml

from helpers.clock import needs_libfaketime
from helpers.polling import wait_for
from helpers.receivers import Receiver
from helpers.runs import BIN
from helpers.sendmail import mail_env, mails_filed, needs_namespaces, watch_with_sendmail
from helpers.sites import ENV, runwrap, status_json, turning_late_soon

_PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def _hook_env(tmp_path: Path, hook: Receiver, **webhook: object) -> dict[str, str]:
    """The environment of a runwrap and a sitegen whose config sends sync's notices to `hook`."""
    config = tmp_path / "config.yaml"
    notifier = {"type": "webhook", "url": f"{hook.url}/late", **webhook}
    config.write_text(
        yaml.safe_dump({"tasks": {"sync": {"notify": ["hook"]}}, "notifiers": {"hook": notifier}})
    )
    env = {k: v for k, v in ENV.items() if k not in _PROXY_VARS}
    env.update(NO_PROXY="*", RUNWRAP_CONFIG=str(config))
    return env


def _watch(run_root: Path, out: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "w") as f:
        return subprocess.Popen(
            [str(BIN / "sitegen"), "--root", str(run_root), "--out", str(out), "--watch"],
            env=env, stdout=f, stderr=subprocess.STDOUT,
        )  # fmt: skip


@needs_libfaketime
def test_watch_sends_one_late_notice_that_runwrap_check_does_not_repeat(run_root, out, tmp_path):
    hook = Receiver()
    env = _hook_env(tmp_path, hook)
    log = tmp_path / "watch.log"
    try:
        turning_late_soon(run_root, "sync", 4.0, env=env)
        assert hook.requests == []  # a success on time: nothing to tell
        proc = _watch(run_root, out, env, log)
        try:
            wait_for(lambda: hook.requests, timeout=15, what="the late notice")
            (notice,) = hook.json()
            assert notice["event"] == "late" and notice["task"] == "sync", notice
            assert status_json(out)["tasks"]["sync"]["late"] is True
            # A later update (a file event) tells nobody again.
            runwrap(run_root, "other", "true")
            wait_for(lambda: "other" in status_json(out).get("tasks", {}), what="the other task")
            assert len(hook.requests) == 1, hook.json()
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0, log.read_text()
        check = subprocess.run(
            [str(BIN / "runwrap"), "--root", str(run_root), "check", "sync"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert check.returncode == 1 and "late since" in check.stdout, check
        assert len(hook.requests) == 1  # the same memory: runwrap check knows it was told
        ledger = json.loads(Path(run_root, "tasks", "sync", "notify.json").read_text())
        assert "late" in json.dumps(ledger)
    finally:
        hook.close()


@needs_libfaketime
def test_a_notifier_that_does_not_answer_holds_up_no_update(run_root, out, tmp_path):
    hook = Receiver()
    hook.mode = "hang"  # holds each request until released (30 s at most)
    env = _hook_env(tmp_path, hook, timeout=30)
    log = tmp_path / "watch.log"
    try:
        turning_late_soon(run_root, "sync", 2.0, env=env)
        proc = _watch(run_root, out, env, log)
        try:
            wait_for(lambda: hook.log, timeout=15, what="the late notice to arrive")
            # The webhook holds the notice for 30 s: a run meanwhile is on the site well before.
            runwrap(run_root, "other", "true")
            wait_for(
                lambda: "other" in status_json(out).get("tasks", {}), timeout=10, what="the run"
            )
            assert hook.requests == [], "the notice was answered: the test proved nothing"
            hook.release.set()
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0, log.read_text()
    finally:
        hook.close()


@needs_libfaketime
@needs_namespaces
def test_watch_never_consumes_a_console_notice_and_mails_root_itself(run_root, out, tmp_path):
    env = mail_env(tmp_path)
    turning_late_soon(run_root, "sync", 3.0, env=env)
    proc, log, mails = watch_with_sendmail(run_root, out, env, tmp_path)
    try:
        wait_for(lambda: mails_filed(mails), timeout=20, what="the watcher's mail")
        wait_for(lambda: status_json(out).get("tasks", {}).get("sync", {}).get("late"), what="late")
        (mail,) = mails_filed(mails)
        assert "To: root" in mail and "LATE" in mail.upper() and "sync" in mail, mail
        assert "LATE" not in log.read_text().upper()  # nothing on its own output
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, log.read_text()
    # The console notice is still runwrap check's to print, so cron mails it to MAILTO.
    check = subprocess.run(
        [str(BIN / "runwrap"), "--root", str(run_root), "check", "--quiet", "sync"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert check.returncode == 1
    assert "LATE" in check.stdout.upper() and "sync" in check.stdout, check
    # The next run ends the lateness: the watcher that mailed LATE mails the recovery.
    proc, log, mails2 = watch_with_sendmail(run_root, out, env, tmp_path / "again")
    try:
        assert runwrap(run_root, "sync", "true", "--schedule", "* * * * *", env=env).returncode == 0
        wait_for(lambda: mails_filed(mails2), timeout=20, what="the recovery mail")
        (mail,) = mails_filed(mails2)
        assert "RECOVERED" in mail.upper() and "To: root" in mail, mail
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, log.read_text()
    assert len(mails_filed(mails)) == 1  # and the first watcher mailed LATE once


@needs_libfaketime
@needs_namespaces
def test_mail_to_empty_sends_no_mail(run_root, out, tmp_path):
    env = mail_env(tmp_path, mail_to="")
    turning_late_soon(run_root, "sync", 1.0, env=env)
    proc, log, mails = watch_with_sendmail(run_root, out, env, tmp_path)
    try:
        wait_for(lambda: status_json(out).get("tasks", {}).get("sync", {}).get("late"), what="late")
        # Another update after the late one: had a mail been due, it would be out by now.
        runwrap(run_root, "other", "true", env=env)
        wait_for(lambda: "other" in status_json(out).get("tasks", {}), what="the other task")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, log.read_text()
    assert mails_filed(mails) == []
    ledger = Path(run_root, "tasks", "sync", "notify.json")
    assert not ledger.exists() or "late_since" not in ledger.read_text()
