"""Start-up budget: what the installed `runwrap` command imports to run a job.

Measured the way cron runs it: the command in the venv's bin/, through its own
shebang, with PYTHONPROFILEIMPORTTIME set; the interpreter's own imports
(`python -c pass`) are not runwrap's and are left out. Never timed: the modules
are the budget, since each of these costs 1 to 17 ms on every tick.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from helpers.runs import BIN, RUNWRAP, imported

LAUNCHER = Path(__file__).resolve().parents[2] / "launchers" / "runwrap"
# What a pip-generated entry-point wrapper imports (older pips: `re` and, through it,
# enum, functools, collections), and what the run form does without.
HEAVY = {
    "re",
    "enum",
    "functools",
    "collections",
    "argparse",
    "json",
    "subprocess",
    "signal",
    "typing",
    "dataclasses",
    "shutil",
    "threading",
    "ctypes",
    "yaml",
    "jinja2",
    "markdown",
    "watchdog",
    # Not heavy, but one more module on every tick: `from __future__ import annotations`
    # imports it (0.1 to 0.3 ms); the run path's modules quote their forward references.
    "__future__",
}
# Exactly runwrap's modules that a quiet, successful tick needs (33): a new one here is a
# cost on every cron tick, so it goes in its branch (a lazy import) unless every run
# calls it. units.py (a duration or size given), commands/ (a subcommand), notify/ (a
# change to tell), schedule and lateness (a declared schedule), watcher.py (a job that
# outlives its first second), recover.py (a run left open) load only when needed.
RUN_PATH = {
    "runwrap",
    "runwrap.cli",
    "runwrap.configfile",
    "runwrap.errors",
    "runwrap.redact",
    "runwrap.run",
    "runwrap.run.attempts",
    "runwrap.run.child",
    "runwrap.run.contain",
    "runwrap.run.execute",
    "runwrap.run.heartbeat",
    "runwrap.run.lock",
    "runwrap.run.outcome",
    "runwrap.run.outputcap",
    "runwrap.run.record",
    "runwrap.run.reserve",
    "runwrap.run.sig",
    "runwrap.run.supervise",
    "runwrap.runform",
    "runwrap.say",
    "runwrap.settings",
    "runwrap.store",
    "runwrap.store.durations",
    "runwrap.store.fold",
    "runwrap.store.jsonio",
    "runwrap.store.layout",
    "runwrap.store.manifest",
    "runwrap.store.openruns",
    "runwrap.store.owner",
    "runwrap.store.retention",
    "runwrap.store.state",
    "runwrap.store.tasknames",
    "runwrap.timefmt",
}


def test_the_installed_command_is_the_launcher_we_ship():
    installed = Path(RUNWRAP).read_text().splitlines()
    shipped = LAUNCHER.read_text().splitlines()
    # The installer rewrites the first line (the shebang) to its Python, and nothing else.
    assert installed[0].startswith("#!") and "python" in installed[0]
    assert installed[1:] == shipped[1:], "bin/runwrap is not launchers/runwrap: reinstall (make)"


def test_the_run_form_imports_nothing_heavy(root):
    floor = imported([sys.executable, "-c", "pass"], root.env)
    command = [RUNWRAP, "-n", "plain", "--", "true"]
    imported(command, root.env)  # a first tick parses the config (yaml) and caches it
    modules = imported(command, root.env) - floor
    assert "runwrap.cli" in modules  # the measurement saw runwrap itself
    assert not {m for m in modules if m.split(".")[0] in HEAVY}, sorted(modules)
    assert {m for m in modules if m.split(".")[0] == "runwrap"} == RUN_PATH
    # The subcommands' names are cli.py's: not even runwrap.commands itself.
    assert not {m for m in modules if m.startswith("runwrap.commands")}
    # A quiet tick of the default console loads no notifier; a job done within its
    # first second needs no watcher; a task with no run left open, no recovery.
    assert not {m for m in modules if m.startswith("runwrap.notify")}
    assert not {"runwrap.run.watcher", "runwrap.run.recover"} & modules
    # A job that writes no feedback file needs no reader for one; a run whose owner
    # this host can check needs no lease or clock-skew judgement (hosts.py).
    assert not {"runwrap.store.feedbacklog", "runwrap.store.hosts"} & modules


def test_sitegen_is_installed_the_same_way():
    installed = (BIN / "sitegen").read_text().splitlines()
    shipped = (LAUNCHER.parent / "sitegen").read_text().splitlines()
    assert installed[1:] == shipped[1:], "bin/sitegen is not launchers/sitegen: reinstall (make)"
    assert os.access(BIN / "sitegen", os.X_OK)
