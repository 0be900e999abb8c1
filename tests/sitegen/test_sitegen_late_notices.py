"""`sitegen --watch` sends the `late` notice of a task whose cron stopped: once, through
runwrap's notifiers, with the nospam memory `runwrap check` shares (a real HTTP receiver)."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

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
