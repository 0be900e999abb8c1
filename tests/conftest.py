"""The suite's one set-up: its helpers registered, the CI rule on skips, the fast tier.

Helpers live in tests/helpers/, one module per concept (docs/testing.md): a test
imports what it uses from there (`from helpers.runs import Root`), and the
fixtures those modules define are registered here, once, for every test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Before the helpers are imported: their asserts report like a test's own.
pytest.register_assert_rewrite("helpers")

pytest_plugins = [
    "helpers.runs",  # root, rw
    "helpers.receivers",  # receiver, mailbox
    "helpers.sites",  # run_root, out, served
    "helpers.serving",  # nginx, browser, artifacts_dir
]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skip is a failure: CI installs every tool the suite drives, so a
    test that skips there (a missing nginx, faketime, namespace) hides a missing install."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where every tool must be there: {reason}"


# The fast tier (`make test-fast`): tests that run in this process, no daemon, no browser,
# (folds, queries, rules, option and doc checks), well under a minute. tests/unit/ is all
# of it; these modules elsewhere are too. `make test` runs both tiers.
UNIT_MODULES = {
    "tests/notify/test_notify_config.py",
    "tests/notify/test_notify_docs.py",
    "tests/notify/test_notify_events.py",
    "tests/notify/test_notify_nospam_property.py",
    "tests/runwrap/test_display_times.py",
    "tests/runwrap/test_feedback_parser.py",
    "tests/runwrap/test_timefmt.py",
    "tests/schedules/test_crontab_grammar.py",
    "tests/schedules/test_dst_table.py",
    "tests/schedules/test_late_monotone.py",
    "tests/schedules/test_lateness_query.py",
    "tests/schedules/test_schedule_rule.py",
    "tests/schedules/test_zones.py",
    "tests/test_architecture.py",
    "tests/test_docs.py",
}
_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    for item in items:
        rel = Path(str(item.fspath)).resolve().relative_to(_TESTS.parent).as_posix()
        if rel.startswith("tests/unit/") or rel in UNIT_MODULES:
            item.add_marker(pytest.mark.unit)
