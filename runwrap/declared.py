"""Tasks declared in the config file: a command and a schedule (or an `every:` gap).

`runwrap crontab` and `runwrap systemd` turn them into crontab lines and
timer units that call `runwrap run TASK`, so that the config is the one
source of what runs and when.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from runwrap.errors import RunwrapError
from runwrap.settings import schedule_level, section, task_command


@dataclass(frozen=True)
class DeclaredTask:
    """A task the config declares with its command and when it runs."""

    name: str
    command: list[str]
    schedule: str | None  # a cron expression (or @daily...), None for an `every:` task
    every: float | None  # seconds between the end of a run and the next start
    timezone: str | None


def declared_tasks(config: dict) -> list[DeclaredTask]:
    """Every task of the config with a command and a schedule or an every, by name.

    Its options are checked as a run would check them (one-line errors).
    """
    defaults = section(config.get("defaults") or {}, "defaults")
    found = []
    for name, raw in sorted((config.get("tasks") or {}).items(), key=lambda kv: str(kv[0])):
        if not isinstance(raw, dict):
            raise RunwrapError(f"tasks.{name} must be a mapping")
        name = str(name)
        command = task_command(name, raw)
        options = section(raw, f"tasks.{name}")
        when = schedule_level(options, f"tasks.{name}") or schedule_level(defaults, "defaults")
        if command is None or not when:
            continue
        expr = when["schedule"]
        every = None
        if expr.startswith("@every "):
            every = options.get("every", defaults.get("every"))
            expr = None
        zone = options.get("timezone", defaults.get("timezone"))
        found.append(DeclaredTask(name, command, expr, every, zone))
    return found


def runwrap_argv(root: str, config_file: str, task: str, program: str | None = None) -> list[str]:
    """The command line that runs a declared task: runwrap, ROOT and the config passed on."""
    if program is None:
        script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
        if os.path.basename(script) == "runwrap" and os.access(script, os.X_OK):
            program = script
    head = [program] if program else [sys.executable, "-m", "runwrap"]
    return [*head, "--root", root, "--config", os.path.abspath(config_file), "run", task]
