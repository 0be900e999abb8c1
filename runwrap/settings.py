"""The settings of one run: every option declared once with its default, then
merged as defaults, the config file, the command line (runform.py parses it).

`None` always means "not given". The overlap policies live here too.
"""

from __future__ import annotations

import os

from runwrap.config import find_config_file, load_config_file, resolve_root
from runwrap.errors import RunwrapError
from runwrap.names import check_task_name
from runwrap.units import parse_count, parse_duration, parse_size

# The overlap policies: what a run does when the task is already running.
SKIP = "skip"
WAIT = "wait"
ALLOW = "allow"
POLICIES = (SKIP, WAIT, ALLOW)

# name -> (default, kind). Kinds say how a value from argv or YAML is read.
OPTIONS: dict[str, tuple[object, str]] = {
    "name": (None, "name"),
    "root": (None, "path"),
    "config": (None, "path"),
    "timeout": (None, "duration"),
    "kill_grace": (10.0, "duration"),
    "overlap": (SKIP, "overlap"),
    "wait_timeout": (None, "duration"),
    "labels": ({}, "labels"),
    "retries": (0, "count"),
    "retry_delay": (10.0, "duration"),
    "fail_on_stderr": (False, "flag"),
    "max_output": (256 * 1024 * 1024, "size"),
    "keep": (500, "count"),
    "keep_days": (None, "duration_days"),
    "keep_size": (None, "size"),
    "heartbeat_timeout": (None, "duration"),
    "heartbeat_on_output": (False, "flag"),
    "notify": ([], "list"),
    "schedule": (None, "schedule"),
    "grace": (None, "duration"),
    "timezone": (None, "text"),
}
# Options that only make sense on the command line or at the top of the config.
_NOT_PER_TASK = frozenset({"name", "config", "root"})


class RunOptions:
    """The options in force for one run (read-only once built)."""

    __slots__ = (*tuple(OPTIONS), "command", "config_data", "task_config")

    def __init__(self, **values: object) -> None:
        for key, (default, _kind) in OPTIONS.items():
            value = values.get(key)
            if value is None:
                value = default.copy() if isinstance(default, (dict, list)) else default
            object.__setattr__(self, key, value)
        object.__setattr__(self, "command", values.get("command") or [])
        object.__setattr__(self, "config_data", values.get("config_data") or {})
        object.__setattr__(self, "task_config", values.get("task_config") or {})

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"RunOptions is read-only ({key})")

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={getattr(self, k)!r}" for k in OPTIONS)
        return f"RunOptions({shown}, command={self.command!r})"


def convert(key: str, value: object, where: str) -> object:
    """An option value from the command line or YAML, checked; one-line errors."""
    kind = OPTIONS[key][1]
    what = f"{where}{key.replace('_', '-')}"
    if kind == "duration":
        return parse_duration(value, what)
    if kind == "duration_days":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return parse_duration(value * 86400, what)
        text = str(value).strip()
        return parse_duration(text + "d" if text.replace(".", "", 1).isdigit() else text, what)
    if kind == "size":
        return parse_size(value, what)
    if kind == "count":
        return parse_count(value, what)
    if kind == "flag":
        if not isinstance(value, bool):
            raise RunwrapError(f"bad {what} {value!r}: use true or false")
        return value
    if kind == "overlap":
        if value not in POLICIES:
            raise RunwrapError(f"bad {what} {value!r}: use skip, wait or allow")
        return value
    if kind == "name":
        return check_task_name(str(value))
    if kind in ("schedule", "text"):
        # A schedule is checked against cron's grammar once per change, in the run
        # (schedule.py costs imports that a tick without a new schedule must not pay).
        if not isinstance(value, str) or not value.strip():
            example = "'0 2 * * *' or @daily" if kind == "schedule" else "Europe/Berlin"
            raise RunwrapError(f"bad {what} {value!r}: use something like {example}")
        return " ".join(value.split())
    if kind == "labels":
        if not isinstance(value, dict):
            raise RunwrapError(f"bad {what}: use a mapping of KEY: VALUE")
        return {str(k): str(v) for k, v in value.items()}
    if kind == "list":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise RunwrapError(f"bad {what} {value!r}: use a name or a list of names")
        return list(items)
    if not isinstance(value, str):
        raise RunwrapError(f"bad {what} {value!r}: use a path")
    return value


def _section(data: dict, where: str) -> dict:
    out: dict[str, object] = {}
    for raw_key, value in data.items():
        key = str(raw_key).replace("-", "_")
        if key == "description":
            continue  # for sitegen
        if key not in OPTIONS or key in _NOT_PER_TASK:
            raise RunwrapError(f"unknown option {raw_key!r} in {where} of the config file")
        if value is not None:
            out[key] = convert(key, value, f"{where} ")
    return out


def resolve(given: dict, command: list[str]) -> RunOptions:
    """Merge defaults, the config file and the command line into RunOptions."""
    config_file = find_config_file(given.get("config"))
    data = load_config_file(config_file)
    name = given.get("name") or check_task_name(
        os.path.basename(command[0]) or command[0], "name the task with -n NAME"
    )
    defaults = _section(data.get("defaults") or {}, "defaults")
    tasks = data.get("tasks") or {}
    task_data = tasks.get(name) or {}
    if not isinstance(task_data, dict):
        raise RunwrapError(f"malformed config file {config_file}: tasks.{name} must be a mapping")
    per_task = _section(task_data, f"tasks.{name}")
    merged = {**defaults, **per_task, **given}
    # Labels merge key by key: a crontab line adds to the config's labels.
    merged["labels"] = {
        **defaults.get("labels", {}),
        **per_task.get("labels", {}),
        **given.get("labels", {}),
    }
    merged["root"] = resolve_root(given.get("root"), data)
    merged["name"] = name
    merged["config"] = config_file
    return RunOptions(command=command, config_data=data, task_config=task_data, **merged)
