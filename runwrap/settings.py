"""The settings of one run: every option declared once with its default, then
merged as defaults, the config file, the command line (runform.py parses it).

`None` always means "not given". The overlap policies live here too.
"""

import os

from runwrap.configfile import find_config_file, load_config_file, resolve_root
from runwrap.errors import RunwrapError
from runwrap.store.tasknames import check_task_name

# The overlap policies: what a run does when the task is already running.
SKIP = "skip"
WAIT = "wait"
ALLOW = "allow"
POLICIES = (SKIP, WAIT, ALLOW)
# How the overlap guard locks (run/lock.py): `auto` picks by the storage.
LOCK_AUTO, LOCK_FCNTL, LOCK_FLOCK, LOCK_CLAIM = "auto", "fcntl", "flock", "claim"
LOCKS = (LOCK_AUTO, LOCK_FCNTL, LOCK_FLOCK, LOCK_CLAIM)

# A shorter lease could not be renewed in time by a loaded owner (a third of it).
MIN_LEASE_S = 1.0

# name -> (default, kind). Kinds say how a value from argv or YAML is read.
OPTIONS: dict[str, tuple[object, str]] = {
    "name": (None, "name"),
    "root": (None, "path"),
    "config": (None, "path"),
    "timeout": (None, "duration"),
    "kill_grace": (10.0, "duration"),
    # The run's lease on ROOT (store/owner.py); None: owner.DEFAULT_LEASE_S.
    "lease": (None, "lease"),
    "overlap": (SKIP, "overlap"),
    "lock": (LOCK_AUTO, "lock"),
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
    "every": (None, "duration"),
    "grace": (None, "duration"),
    "timezone": (None, "text"),
    "metrics_dir": (None, "path"),
    # LO..HI seconds a successful run should take (store/durations.py); config `duration:`.
    "expect_duration": (None, "duration_range"),
}
# Config keys that name an option by another name.
_ALIASES = {"duration": "expect_duration"}
# Options that only make sense on the command line or at the top of the config.
_NOT_PER_TASK = frozenset({"name", "config", "root"})
# Keys of a task's config section that are not options: the task itself (runwrap run TASK).
TASK_KEYS = frozenset({"command", "shell", "description"})
# Keys of a task's or the defaults' section that a run records as they are, checked
# there (not options: no command-line form): recurring mute windows (store/silences.py).
RECORDED_KEYS = frozenset({"mute_windows"})
# `--notify none` (or `notify: []`): no notifier at all, not even the default console.
NO_NOTIFIER = "none"


class RunOptions:
    """The options in force for one run (read-only once built)."""

    __slots__ = (*tuple(OPTIONS), "command", "config_data", "notify_implicit", "task_config")

    def __init__(self, **values: object) -> None:
        for key, (default, _kind) in OPTIONS.items():
            value = values.get(key)
            if value is None:
                value = default.copy() if isinstance(default, (dict, list)) else default
            object.__setattr__(self, key, value)
        object.__setattr__(self, "command", values.get("command") or [])
        object.__setattr__(self, "config_data", values.get("config_data") or {})
        object.__setattr__(self, "task_config", values.get("task_config") or {})
        # True when no notifier was configured: `notify` is then the default console.
        object.__setattr__(self, "notify_implicit", bool(values.get("notify_implicit")))

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"RunOptions is read-only ({key})")

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={getattr(self, k)!r}" for k in OPTIONS)
        return f"RunOptions({shown}, command={self.command!r})"


def convert(key: str, value: object, where: str) -> object:
    """An option value from the command line or YAML, checked; one-line errors."""
    kind = OPTIONS[key][1]
    what = f"{where}{key.replace('_', '-')}"
    if kind in _QUANTITIES:
        return _quantity(kind, value, what)
    if kind == "flag":
        if not isinstance(value, bool):
            raise RunwrapError(f"bad {what} {value!r}: use true or false")
        return value
    if kind == "overlap":
        if value not in POLICIES:
            raise RunwrapError(f"bad {what} {value!r}: use skip, wait or allow")
        return value
    if kind == "lock":
        if value not in LOCKS:
            raise RunwrapError(f"bad {what} {value!r}: use auto, fcntl, flock or claim")
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
        if NO_NOTIFIER in items:
            if len(set(items)) > 1:
                raise RunwrapError(f"bad {what} {value!r}: 'none' means no notifier at all")
            return []
        return list(items)
    if not isinstance(value, str):
        raise RunwrapError(f"bad {what} {value!r}: use a path")
    return value


_QUANTITIES = frozenset({"duration", "duration_range", "lease", "duration_days", "size", "count"})


def _quantity(kind: str, value: object, what: str) -> object:
    """A duration, size or count (units.py: imported only when one is given)."""
    from runwrap.units import parse_count, parse_duration, parse_size

    if kind == "duration":
        return parse_duration(value, what)
    if kind == "duration_range":
        return _duration_range(value, what)
    if kind == "lease":
        seconds = parse_duration(value, what)
        if seconds < MIN_LEASE_S:
            raise RunwrapError(f"bad {what} {value!r}: at least {MIN_LEASE_S:g}s")
        return seconds
    if kind == "duration_days":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return parse_duration(value * 86400, what)
        text = str(value).strip()
        return parse_duration(text + "d" if text.replace(".", "", 1).isdigit() else text, what)
    if kind == "size":
        return parse_size(value, what)
    return parse_count(value, what)


def _duration_range(value: object, what: str) -> tuple[float | None, float | None]:
    """(low, high) seconds from 'LO..HI', '..HI' or 'LO..' (2m..20m)."""
    text = str(value).strip() if isinstance(value, str) else ""
    low, sep, high = text.partition("..")
    if not sep or not (low.strip() or high.strip()):
        raise RunwrapError(f"bad {what} {value!r}: use LOW..HIGH, LOW.. or ..HIGH (2m..20m)")
    from runwrap.units import parse_duration

    bounds = tuple(parse_duration(b, what) if b.strip() else None for b in (low, high))
    if None not in bounds and bounds[0] > bounds[1]:  # type: ignore[operator]
        raise RunwrapError(f"bad {what} {value!r}: the low bound is above the high one")
    if bounds[1] == 0:
        raise RunwrapError(f"bad {what} {value!r}: a high bound of 0 flags every run")
    if any(b is not None and b > _LONGEST_EXPECTED for b in bounds):
        raise RunwrapError(f"bad {what} {value!r}: a bound is over a year")
    return bounds  # type: ignore[return-value]


# A duration bound beyond this is a typo (and past what the notices can print).
_LONGEST_EXPECTED = 366 * 86400.0


def section(data: dict, where: str) -> dict:
    out: dict[str, object] = {}
    for raw_key, value in data.items():
        key = str(raw_key).replace("-", "_")
        key = _ALIASES.get(key, key)
        if key in TASK_KEYS and where.startswith("tasks."):
            continue  # the task's own command (task_command), and its description for sitegen
        if key in RECORDED_KEYS:
            continue  # read by the run that records it (run/execute.py)
        if key not in OPTIONS or key in _NOT_PER_TASK:
            raise RunwrapError(f"unknown option {raw_key!r} in {where} of the config file")
        if value is not None:
            out[key] = convert(key, value, f"{where} ")
    return out


def task_command(name: str, task_data: dict) -> list[str] | None:
    """The command a task declares in the config (`command:`, `shell:`), or None."""
    command = task_data.get("command")
    shell = task_data.get("shell", False)
    where = f"tasks.{name}"
    if not isinstance(shell, bool):
        raise RunwrapError(f"bad {where} shell {shell!r}: use true or false")
    if command is None:
        if shell:
            raise RunwrapError(f"{where} has shell: true but no command:")
        return None
    if isinstance(command, str):
        if not shell:
            raise RunwrapError(
                f"{where} command is a string: write it as a list ([prog, arg, ...]), "
                "or add shell: true to run it with sh -c"
            )
        if not command.strip():
            raise RunwrapError(f"bad {where} command: it is empty")
        return ["/bin/sh", "-c", command]
    if shell:
        raise RunwrapError(f"{where} has shell: true: write its command as one string")
    if (
        not isinstance(command, list)
        or not command
        or not all(isinstance(w, (str, int, float)) and not isinstance(w, bool) for w in command)
        or not str(command[0]).strip()
    ):
        raise RunwrapError(f"bad {where} command: use a list of words, the program first")
    return [str(w) for w in command]


def configured_notify(data: dict, name: str) -> tuple[list[str], bool]:
    """(notifier names, implicit) the config gives a task, as a run of it resolves them."""
    for section, where in (
        ((data.get("tasks") or {}).get(name), f"tasks.{name}"),
        (data.get("defaults"), "defaults"),
    ):
        if isinstance(section, dict) and section.get("notify") is not None:
            return convert("notify", section["notify"], f"{where} "), False
    return ["console"], True


def schedule_level(section: dict, where: str) -> dict:
    """A level's schedule: `schedule:` or `every:` (recorded as `@every 90s`), not both."""
    if section.get("every") is not None:
        if section.get("schedule") is not None:
            raise RunwrapError(f"{where}: give schedule or every, not both")
        # The state records the gap as a schedule, so readers need no other field.
        return {"schedule": f"@every {section['every']:g}s"}
    if section.get("schedule") is not None:
        return {"schedule": section["schedule"]}
    return {}


def resolve(given: dict, command: list[str] | None) -> "RunOptions":
    """Merge defaults, the config file and the command line into RunOptions.

    Without a command (`runwrap run TASK`), the task's `command:` in the config is run.
    """
    config_file = find_config_file(given.get("config"))
    data = load_config_file(config_file)
    name = given.get("name") or check_task_name(
        os.path.basename(command[0]) or command[0], "name the task with -n NAME"
    )
    defaults = section(data.get("defaults") or {}, "defaults")
    tasks = data.get("tasks") or {}
    task_data = tasks.get(name) or {}
    if not isinstance(task_data, dict):
        raise RunwrapError(f"malformed config file {config_file}: tasks.{name} must be a mapping")
    per_task = section(task_data, f"tasks.{name}")
    if command is None:
        command = task_command(name, task_data)
        if command is None:
            where = f"in {config_file}" if config_file else "(no config file found)"
            raise RunwrapError(
                f"task {name!r} has no command {where}: declare it under tasks: "
                f"with command: [...], or run a command with runwrap -n {name} -- COMMAND"
            )
    merged = {**defaults, **per_task, **given}
    merged.pop("every", None)
    # The most specific level that gives a schedule (or an every) gives it whole.
    levels = ((given, "the command line"), (per_task, f"tasks.{name}"), (defaults, "defaults"))
    for level, where in levels:
        found = schedule_level(level, where)
        if found:
            merged.update(found)
            break
    if "notify" not in merged:
        # No notifier configured: the console, which cron mails to MAILTO (--notify none: silence).
        merged["notify"] = ["console"]
        merged["notify_implicit"] = True
    if merged.get("metrics_dir") is None and data.get("metrics_dir") is not None:
        merged["metrics_dir"] = convert("metrics_dir", data["metrics_dir"], "")
    if merged.get("metrics_dir") is not None:
        merged["metrics_dir"] = os.path.abspath(os.path.expanduser(merged["metrics_dir"]))
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
