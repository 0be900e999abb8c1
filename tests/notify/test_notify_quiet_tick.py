"""The default console's quiet tick: a run with nothing to tell imports no runwrap.notify
and leaves notify.json as it was, while the nospam rules still hold around it."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from runwrap.notify.events import decide
from runwrap.notify.notifiers import IMPLICIT_ON, parse_notifier
from runwrap.run.record import nothing_to_tell

from helpers.runs import RUNWRAP


def stamp(path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns


def notify_modules(rw, *args: str) -> set[str]:
    """The runwrap.notify modules the installed command imports for one run."""
    result = subprocess.run(
        [RUNWRAP, "--root", str(rw.root), "-n", "job", *args],
        env={**rw.env, "PYTHONPROFILEIMPORTTIME": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("import time:")]
    return {
        m for m in (ln.split("|")[-1].strip() for ln in lines) if m.startswith("runwrap.notify")
    }


def test_failure_told_once_recovery_once_and_a_quiet_success_touches_nothing(rw):
    assert rw.ok().stdout == ""
    ledger = rw.task_dir() / "notify.json"
    assert ledger.exists()  # the first run writes the console's (empty) record
    first = rw.fail()
    assert first.stdout.startswith("[runwrap] FAILED: job on ")
    before = stamp(ledger)
    assert rw.fail().stdout == ""  # still failing: nothing to say, nothing to remember anew
    assert stamp(ledger) == before
    healed = rw.ok()
    assert healed.stdout.startswith("[runwrap] RECOVERED: job on ")
    after_recovery = stamp(ledger)
    assert after_recovery != before
    assert notify_modules(rw, "--", "true") == set()
    assert rw.ok().stdout == ""
    assert stamp(ledger) == after_recovery  # neither rewritten nor replaced
    assert rw.state()["status"] == "success"
    # And the next failure is news again.
    assert rw.fail().stdout.startswith("[runwrap] FAILED: job on ")


def test_a_failing_run_still_goes_through_the_notifiers(rw):
    rw.ok()
    assert "runwrap.notify" in notify_modules(rw, "--", "false")


def test_a_console_the_config_defines_is_not_the_builtin_one(rw):
    # notify.json is quiet, but this console is told every run: no shortcut may skip it.
    rw.config({"notifiers": {"console": {"type": "console", "on": ["always"]}}})
    assert rw.ok().stdout.startswith("[runwrap]")
    assert rw.ok().stdout.startswith("[runwrap]")


def test_a_pending_notice_is_retried_on_a_success(rw):
    rw.ok()
    ledger = rw.task_dir() / "notify.json"
    item = {"id": "x/failure", "event": "failure", "run_id": "x", "attempts": 1}
    ledger.write_text(json.dumps({"console": {"pending": [item]}}))
    assert rw.ok().stdout.startswith("[runwrap] FAILED")  # the notice owed, sent at last
    assert rw.ledger()["console"]["pending"] == []


# The memory events.py and ledger.py keep per notifier (see events.py's docstring).
@pytest.mark.parametrize("key", ["failing", "told", "since", "last_notice_at", "late_since"])
def test_any_memory_in_the_record_is_not_quiet(key):
    assert nothing_to_tell({"console": {"pending": []}})
    assert not nothing_to_tell({"console": {"pending": [], key: "x"}})
    assert not nothing_to_tell({"console": {"pending": [{"id": "x/failure"}]}})
    assert not nothing_to_tell(None) and not nothing_to_tell([])


@pytest.mark.parametrize("status", ["success", "skipped"])
def test_what_the_shortcut_skips_is_what_decide_would_do(status):
    """Kept in step with events.py: for a quiet record, decide() says and changes nothing."""
    console = parse_notifier("console", {"on": list(IMPLICIT_ON)}, {})
    record = {"pending": [], "last_sent_at": "2026-01-01T00:00:00.000Z", "last_error": None}
    assert nothing_to_tell({"console": record})
    state = {"status": "success", "consecutive_failures": 0, "consecutive_skips": 3}
    events, told = decide(console, record, state, {"status": status}, 1e9)
    assert events == [] and told == record
