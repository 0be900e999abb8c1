"""Shared helpers: run the real `runwrap` command in a temporary root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runwrap.store.layout import run_ids_in

BIN = Path(sys.executable).parent
RUNWRAP = str(BIN / "runwrap")


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.02, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def assert_one_line_error(result, *fragments: str, code: int = 125) -> None:
    """runwrap failed with `code` and said why in one line naming each of `fragments`."""
    assert result.returncode == code, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    # "runwrap: ..." or, for a subcommand's usage error, "runwrap ls: error: ..."
    assert lines[0].startswith("runwrap") and ": " in lines[0], lines[0]
    assert "internal error" not in lines[0], lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


class Root:
    """A runwrap root in tmp_path, with helpers to run runwrap and read what it wrote."""

    def __init__(self, path: Path, cwd: Path) -> None:
        self.path = path
        self.cwd = cwd
        self.procs: list[subprocess.Popen] = []
        self.env = {
            **os.environ,
            "RUNWRAP_ROOT": str(path),
            "RUNWRAP_CONFIG": "/dev/null",
            "XDG_CACHE_HOME": str(cwd.parent / "cache"),
        }

    def run(self, *args: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
        """Run `runwrap ARGS` to completion, capturing its own output."""
        return subprocess.run(
            [RUNWRAP, *args],
            env=kwargs.pop("env", self.env),
            cwd=kwargs.pop("cwd", self.cwd),
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )

    def sitegen(self, out: Path) -> dict:
        """Build the site of this root into `out` with the real sitegen; its status.json."""
        done = subprocess.run(
            [str(BIN / "sitegen"), "--root", str(self.path), "--out", str(out)],
            env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads((out / "status.json").read_text())

    def start(self, *args: str, **kwargs) -> subprocess.Popen:
        """Start `runwrap ARGS` in the background (stopped at the end of the test)."""
        proc = subprocess.Popen(
            [RUNWRAP, *args],
            env=kwargs.pop("env", self.env),
            cwd=kwargs.pop("cwd", self.cwd),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **kwargs,
        )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        """Stop what a test started and left running (a failed test must not leak jobs)."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()  # runwrap passes it on to the job's whole group
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def task_dir(self, task: str) -> Path:
        return self.path / "tasks" / task

    def run_ids(self, task: str) -> list[str]:
        """The task's run ids, oldest first, as every reader lists them."""
        return run_ids_in(str(self.task_dir(task) / "runs"))

    def run_dir(self, task: str, run_id: str | None = None) -> Path:
        run_id = run_id or self.run_ids(task)[-1]
        return self.task_dir(task) / "runs" / run_id

    def manifests(self, task: str) -> list[dict]:
        return [self.manifest(task, r) for r in self.run_ids(task)]

    def manifests_so_far(self, task: str) -> list[dict]:
        """The manifests readable right now (for polling: a run may not have one yet)."""
        found = []
        for run_id in self.run_ids(task):
            try:
                found.append(self.manifest(task, run_id))
            except (OSError, ValueError):
                continue
        return found

    def manifest(self, task: str, run_id: str | None = None) -> dict:
        return json.loads((self.run_dir(task, run_id) / "manifest.json").read_text())

    def state(self, task: str) -> dict:
        return json.loads((self.task_dir(task) / "state.json").read_text())


@pytest.fixture
def root(tmp_path: Path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    root = Root(tmp_path / "root", cwd)
    yield root
    root.stop_all()


# Debian's libfaketime, preloaded directly. Never its `faketime` wrapper program: the
# wrapper creates a POSIX semaphore and shared memory named by its pid, leaks them when
# it is killed, and then refuses to start at random once a pid is reused (it broke CI).
LIBFAKETIME = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))), None)
needs_libfaketime = pytest.mark.skipif(
    LIBFAKETIME is None,
    reason="libfaketime is not installed (Debian's faketime; scripts/install-system-deps)",
)


def shifted(env: dict[str, str], offset: str) -> dict[str, str]:
    """`env` for a process whose wall clock is moved by `offset` (libfaketime's "+30m",
    "-1h", "-600s"); its children inherit the move."""
    return {**env, "LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": offset}


def pid_alive(pid: int) -> bool:
    """True if `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :].split()[0] != b"Z"


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
