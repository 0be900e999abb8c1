"""`sitegen --watch` sends the `late` notice of a task whose cron stopped: once, through
runwrap's notifiers, with the nospam memory `runwrap check` shares (a real HTTP receiver)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import yaml
from notify.notify_helpers import Receiver
from sitegen_helpers import BIN, ENV, runwrap, wait_for
from test_sitegen_late import needs_faketime, status, turning_late_soon

pytest_plugins = ["sitegen_fixtures"]
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


@needs_faketime
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
            assert status(out)["tasks"]["sync"]["late"] is True
            # A later update (a file event) tells nobody again.
            runwrap(run_root, "other", "true")
            wait_for(lambda: "other" in status(out).get("tasks", {}), what="the other task")
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


@needs_faketime
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
            wait_for(lambda: "other" in status(out).get("tasks", {}), timeout=10, what="the run")
            assert hook.requests == [], "the notice was answered: the test proved nothing"
            hook.release.set()
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0, log.read_text()
    finally:
        hook.close()


def _mail_env(tmp_path: Path, mail_to: str | None = None) -> dict[str, str]:
    """No notifier configured (the console, cron's MAILTO); `site: mail_to:` if given."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"site": {"mail_to": mail_to}} if mail_to is not None else {}))
    return {**ENV, "RUNWRAP_CONFIG": str(config)}


def _watch_with_sendmail(
    run_root: Path, out: Path, env: dict, tmp_path: Path, then: str = ""
) -> tuple:
    """sitegen --watch in a private mount namespace whose /usr/sbin/sendmail files each mail
    in a directory (as tests/cron does for cron), then runs `then`; cron is not running."""
    mails, sbin = tmp_path / "mails", tmp_path / "sbin"
    mails.mkdir(parents=True)
    sbin.mkdir()
    sendmail = sbin / "sendmail"
    # Each mail whole or not at all: written aside, then renamed into place.
    sendmail.write_text(
        f'#!/bin/sh\ncat > "{mails}/.part.$$" && mv "{mails}/.part.$$" "{mails}/$(date +%s%N).mail"\n'
        + then
    )
    sendmail.chmod(0o755)
    mount = f"mount -t overlay overlay -o lowerdir={sbin}:/usr/sbin /usr/sbin"
    proc, log = _watch_in_namespace(mount, run_root, out, env, tmp_path)
    return proc, log, mails


def _watch_in_namespace(
    mount: str, run_root: Path, out: Path, env: dict, tmp_path: Path
) -> tuple[subprocess.Popen, Path]:
    """sitegen --watch in a private mount namespace where `mount` was run first."""
    setup = f"{mount} && exec {BIN / 'sitegen'} --root {run_root} --out {out} --watch"
    log = tmp_path / "watch.log"
    with open(log, "w") as f:
        proc = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", setup],
            env=env, stdout=f, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return proc, log


def _mails(mails: Path) -> list[str]:
    return [p.read_text() for p in sorted(mails.glob("*.mail"))]


needs_namespaces = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="needs root and unshare (a private mount namespace for /usr/sbin/sendmail)",
)


@needs_faketime
@needs_namespaces
def test_watch_never_consumes_a_console_notice_and_mails_root_itself(run_root, out, tmp_path):
    env = _mail_env(tmp_path)
    turning_late_soon(run_root, "sync", 3.0, env=env)
    proc, log, mails = _watch_with_sendmail(run_root, out, env, tmp_path)
    try:
        wait_for(lambda: _mails(mails), timeout=20, what="the watcher's mail")
        wait_for(lambda: status(out).get("tasks", {}).get("sync", {}).get("late"), what="late")
        (mail,) = _mails(mails)
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
    proc, log, mails2 = _watch_with_sendmail(run_root, out, env, tmp_path / "again")
    try:
        assert runwrap(run_root, "sync", "true", "--schedule", "* * * * *", env=env).returncode == 0
        wait_for(lambda: _mails(mails2), timeout=20, what="the recovery mail")
        (mail,) = _mails(mails2)
        assert "RECOVERED" in mail.upper() and "To: root" in mail, mail
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, log.read_text()
    assert len(_mails(mails)) == 1  # and the first watcher mailed LATE once


@needs_faketime
@needs_namespaces
def test_mail_to_empty_sends_no_mail(run_root, out, tmp_path):
    env = _mail_env(tmp_path, mail_to="")
    turning_late_soon(run_root, "sync", 1.0, env=env)
    proc, log, mails = _watch_with_sendmail(run_root, out, env, tmp_path)
    try:
        wait_for(lambda: status(out).get("tasks", {}).get("sync", {}).get("late"), what="late")
        # Another update after the late one: had a mail been due, it would be out by now.
        runwrap(run_root, "other", "true", env=env)
        wait_for(lambda: "other" in status(out).get("tasks", {}), what="the other task")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, log.read_text()
    assert _mails(mails) == []
    ledger = Path(run_root, "tasks", "sync", "notify.json")
    assert not ledger.exists() or "late_since" not in ledger.read_text()
