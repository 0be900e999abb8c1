"""The run form's command line: `runwrap [OPTIONS] -- COMMAND`, parsed by hand.

Not argparse: argparse (and the `re` it imports) would double runwrap's
start-up, which is paid on every cron tick. Values are checked by the
settings' converters; merging with the config is settings.resolve's job.
"""

from runwrap.errors import RunwrapError
from runwrap.settings import OPTIONS, convert

_SHORT = {"-n": "name", "-t": "timeout", "-l": "label"}
_FLAGS = frozenset({"fail_on_stderr", "heartbeat_on_output"})

RUN_USAGE = "usage: runwrap [OPTIONS] -- COMMAND [ARG...]\n       runwrap run [OPTIONS] TASK"
RUN_HELP = f"""{RUN_USAGE}

Run COMMAND once, keeping a record of the run, and exit with its status.
`runwrap run TASK` runs the command the config file declares for TASK.

options (each also settable in the config file, per task or under defaults:):
  -n, --name NAME           task name (default: the command's basename)
  --root DIR                where runs are kept (also $RUNWRAP_ROOT)
  --config FILE             YAML config file (also $RUNWRAP_CONFIG)
  -t, --timeout DURATION    stop the job after this long (exit 124)
  --kill-grace DURATION     between SIGTERM and SIGKILL (default 10s)
  --lease DURATION          renewed on ROOT every third of it; readers on other hosts
                            call the run lost once it lapses (default 30s)
  --overlap skip|wait|allow when the task is already running (default skip)
  --wait-timeout DURATION   with --overlap wait: give up after this long
  --lock auto|fcntl|flock|claim
                            how the overlap guard locks across hosts (default auto:
                            by the storage; docs/engines.md)
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
  --notify NAME             a notifier from the config (repeatable); without any,
                            the console (cron mails it); --notify none: silence
  --schedule EXPR           when cron runs the task ('*/5 * * * *', @daily, ...):
                            readers then say when a run is late or missed
  --every DURATION          instead of --schedule: runs a fixed gap after the last
                            one ended (a systemd timer's OnUnitInactiveSec=)
  --grace DURATION          how late a run may start before the task is late
                            (default: a fifth of the gap to the next run, at least 1m)
  --timezone TZ             the zone cron fires in (default $CRON_TZ, $TZ, /etc/localtime;
                            recorded by name with the schedule)
  --expect-duration LOW..HIGH
                            a successful run outside it is flagged slow or fast (2m..20m,
                            ..1h, 30s..); without it, against the task's usual durations
  --metrics-dir DIR         after each run, write DIR/TASK.prom (Prometheus text format)
                            for node_exporter's textfile collector

durations: 90, 90s, 15m, 2h, 1d; sizes: 512, 10K, 256M, 1G.
In the job's arguments, {{run_dir}} and {{feedback}} are replaced by the run
directory and the feedback file path.
"""


def option_arity(word: str) -> int | None:
    """How many words a run-form option takes after it (0 or 1); None if it is not one."""
    if word in ("-h", "--help"):
        return 0
    if word in _SHORT:
        return 1
    if word[:2] in _SHORT and len(word) > 2:
        return 0  # -nNAME
    if not word.startswith("--"):
        return None
    key, eq, _value = word[2:].partition("=")
    key = key.replace("-", "_")
    if key not in OPTIONS and key != "label":
        return None
    return 0 if eq or key in _FLAGS else 1


def parse_run_args(argv: list[str]) -> tuple[dict, list[str]]:
    """Split `OPTIONS -- COMMAND` into given options (converted) and the command."""
    split = argv.index("--")
    words, command = argv[:split], argv[split + 1 :]
    given, _ = parse_options(words)
    if not command:
        raise RunwrapError("no command after '--'; usage: runwrap [OPTIONS] -- COMMAND [ARG...]")
    # Checked before anything is created: an empty program cannot be run, and a
    # run that cannot start must not leave a directory that looks like a run.
    if not command[0].strip():
        raise RunwrapError(
            f"empty command {command[0]!r} after '--'; usage: runwrap [OPTIONS] -- COMMAND [ARG...]"
        )
    return given, command


def parse_task_args(words: list[str]) -> dict:
    """`runwrap run`'s words (OPTIONS and TASK): the given options, the task as `name`."""
    from runwrap.store.tasknames import check_task_name

    given, positional = parse_options(words, positional=True)
    if len(positional) != 1:
        raise RunwrapError("usage: runwrap run [OPTIONS] TASK (one task, declared in the config)")
    if "name" in given:
        raise RunwrapError("runwrap run TASK names the task: leave out -n/--name")
    given["name"] = check_task_name(positional[0])
    return given


def parse_options(words: list[str], positional: bool = False) -> tuple[dict, list[str]]:
    """The options among `words`, converted; bare words too when `positional` allows them."""
    given: dict[str, object] = {}
    bare: list[str] = []
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
        elif positional and not word.startswith("-"):
            bare.append(word)
            continue
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
        given["notify"] = convert("notify", notify, "--")
    return given, bare


class HelpRequested(Exception):
    """--help in the run form."""
