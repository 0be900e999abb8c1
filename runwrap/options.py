"""The options of one run: defaults declared once, then config, then command line.

The run form is parsed by hand, not by argparse: argparse (and the `re` it
imports) would double runwrap's start-up, which is paid on every cron tick.
`None` always means "not given".
"""

from __future__ import annotations

import os

from runwrap import lock
from runwrap.configfile import find_config_file, load_config_file, resolve_root
from runwrap.errors import RunwrapError
from runwrap.names import check_task_name
from runwrap.units import parse_count, parse_duration, parse_size

# name -> (default, kind). Kinds say how a value from argv or YAML is read.
OPTIONS: dict[str, tuple[object, str]] = {
    "name": (None, "name"),
    "root": (None, "path"),
    "config": (None, "path"),
    "timeout": (None, "duration"),
    "kill_grace": (10.0, "duration"),
    "overlap": (lock.SKIP, "overlap"),
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

_SHORT = {"-n": "name", "-t": "timeout", "-l": "label"}
_FLAGS = frozenset({"fail_on_stderr", "heartbeat_on_output"})

RUN_USAGE = "usage: runwrap [OPTIONS] -- COMMAND [ARG...]"
RUN_HELP = f"""{RUN_USAGE}

Run COMMAND once, keeping a record of the run, and exit with its status.

options (each also settable in the config file, per task or under defaults:):
  -n, --name NAME           task name (default: the command's basename)
  --root DIR                where runs are kept (also $RUNWRAP_ROOT)
  --config FILE             YAML config file (also $RUNWRAP_CONFIG)
  -t, --timeout DURATION    stop the job after this long (exit 124)
  --kill-grace DURATION     between SIGTERM and SIGKILL (default 10s)
  --overlap skip|wait|allow when the task is already running (default skip)
  --wait-timeout DURATION   with --overlap wait: give up after this long
  -l, --label KEY=VALUE     a label kept with the run (repeatable)
  --retries N               run again up to N times after a failure
  --retry-delay DURATION    before the first retry, doubling (default 10s)
  --fail-on-stderr          any output on stderr makes the run failed
  --max-output SIZE         per log; keeps the start and the last 1 MiB (default 256M)
  --keep N                  runs kept per task (default 500)
  --keep-days D             remove runs older than D days (or a duration: 12h)
  --keep-size SIZE          remove the oldest runs beyond this total size
  --heartbeat-timeout DURATION
                            stop the job when its feedback file is silent this long
  --heartbeat-on-output     growth of stdout/stderr counts as a heartbeat too
  --notify NAME             a notifier from the config (repeatable)
  --schedule EXPR           when cron runs the task ('*/5 * * * *', @daily, ...):
                            readers then say when a run is late or missed
  --grace DURATION          how late a run may start before the task is late
                            (default: a fifth of the period, at least 1m)
  --timezone TZ             the schedule's time zone (default $CRON_TZ, $TZ, the host's)

durations: 90, 90s, 15m, 2h, 1d; sizes: 512, 10K, 256M, 1G.
In the job's arguments, {{run_dir}} and {{feedback}} are replaced by the run
directory and the feedback file path.
"""


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
        if value not in lock.POLICIES:
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


def parse_run_args(argv: list[str]) -> tuple[dict, list[str]]:
    """Split `OPTIONS -- COMMAND` into given options (converted) and the command."""
    split = argv.index("--")
    words, command = argv[:split], argv[split + 1 :]
    given: dict[str, object] = {}
    labels: dict[str, str] = {}
    notify: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word in ("-h", "--help"):
            raise HelpRequested()
        value: str | None = None
        if word.startswith("--"):
            key, eq, inline = word[2:].partition("=")
            key = key.replace("-", "_")
            if eq:
                value = inline
        elif word in _SHORT:
            key = _SHORT[word]
        elif word[:2] in _SHORT and len(word) > 2:
            key, value = _SHORT[word[:2]], word[2:]
        else:
            raise RunwrapError(f"unexpected argument {word!r} before '--'; see runwrap --help")
        if key not in OPTIONS and key != "label":
            raise RunwrapError(f"unknown option {word.split('=')[0]}; see runwrap --help")
        if key in _FLAGS:
            if value is not None:
                raise RunwrapError(f"option --{key.replace('_', '-')} takes no value")
            given[key] = True
            continue
        if value is None:
            if i >= len(words):
                raise RunwrapError(f"option {word} needs a value; see runwrap --help")
            value = words[i]
            i += 1
        if key == "label":
            k, eq, v = value.partition("=")
            if not eq or not k:
                raise RunwrapError(f"bad label {value!r}: use KEY=VALUE")
            labels[k] = v
        elif key == "notify":
            notify.append(value)
        else:
            given[key] = convert(key, value, "--")
    if labels:
        given["labels"] = labels
    if notify:
        given["notify"] = notify
    if not command:
        raise RunwrapError("no command after '--'; usage: runwrap [OPTIONS] -- COMMAND [ARG...]")
    # Checked before anything is created: an empty program cannot be run, and a
    # run that cannot start must not leave a directory that looks like a run.
    if not command[0].strip():
        raise RunwrapError(
            f"empty command {command[0]!r} after '--'; usage: runwrap [OPTIONS] -- COMMAND [ARG...]"
        )
    return given, command


class HelpRequested(Exception):
    """--help in the run form."""


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
