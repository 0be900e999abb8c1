"""Start-up budget: notifications cost nothing on a tick with no notice to send."""

from __future__ import annotations

import subprocess

from helpers.runs import RUNWRAP

HEAVY = ("smtplib", "ssl", "email", "urllib", "threading", "subprocess", "json", "concurrent")


def imported(rw, *args: str) -> set[str]:
    """The modules the installed `runwrap ... -- true` imports, through its own launcher."""
    result = subprocess.run(
        [
            RUNWRAP,
            "--root",
            str(rw.root),
            "--config",
            str(rw.config_path),
            *args,
            "--",
            "true",
        ],
        env={**rw.env, "PYTHONPROFILEIMPORTTIME": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("import time:")]
    return {ln.split("|")[-1].strip() for ln in lines}


def test_a_task_with_notify_none_never_imports_the_notify_package(rw):
    modules = imported(rw, "-n", "plain", "--notify", "none")
    assert not {m for m in modules if m.startswith("runwrap.notify")}
    assert not {m for m in modules if m.split(".")[0] in HEAVY}


def test_the_default_console_imports_no_transport_on_a_quiet_tick(rw):
    modules = imported(rw, "-n", "plain")
    assert not {m for m in modules if m.split(".")[0] in HEAVY}
    assert "runwrap.notify.sending" not in modules
    assert "runwrap.notify.message" not in modules


def test_notifiers_with_nothing_to_say_import_no_transport(rw):
    rw.config(
        {
            "notifiers": {
                "mail": {"type": "email", "to": "ops@example.org", "port": 2525},
                "hook": {"type": "webhook", "url": "http://127.0.0.1:9/"},
                "pager": {"type": "command", "command": "true"},
            }
        }
    )
    args = ("-n", "quiet", "--notify", "mail", "--notify", "hook", "--notify", "pager")
    modules = imported(rw, *args)
    assert "runwrap.notify.notifiers" in modules
    assert not {m for m in modules if m.split(".")[0] in HEAVY}
    assert "runwrap.notify.sending" not in modules
