"""The subcommands' command line: argparse, and the call of the one named."""

from __future__ import annotations

import argparse
import sys

from runwrap import __version__
from runwrap.cli import COMMON_OPTIONS, SUBCOMMANDS
from runwrap.commands import (
    freeze_imports,
    subcommand_root,
    warn_skipped,
)
from runwrap.commands.ack import cmd_ack
from runwrap.commands.check import cmd_check
from runwrap.commands.crontab import cmd_crontab
from runwrap.commands.diff import cmd_diff
from runwrap.commands.feedback import cmd_feedback, cmd_parse
from runwrap.commands.history import cmd_history
from runwrap.commands.kill import cmd_kill
from runwrap.commands.ls import COLOR_CHOICES, OUTPUTS, cmd_ls, words_of
from runwrap.commands.mute import cmd_mute, cmd_unmute
from runwrap.commands.retire import cmd_retire
from runwrap.commands.show import cmd_show
from runwrap.commands.systemd import cmd_systemd
from runwrap.commands.tail import cmd_tail
from runwrap.configfile import find_config_file, load_config_file
from runwrap.errors import ExitCode, RunwrapError
from runwrap.runform import RUN_HELP
from runwrap.store.manifest import STATUSES
from runwrap.store.query import SHOWN_ORDER

# Each subcommand's --help ends with a few examples, as git's and kubectl's do:
# the quickest way to see what a subcommand is for is one line that uses it.
EXAMPLES = {
    "": """\
  runwrap -n backup --timeout 1h -- /opt/backup/run.sh
  runwrap -n fetch --retries 2 --fail-on-stderr -- curl -sSf https://example.com
  runwrap -n cleanup -- sh -c 'find /tmp -mtime +7 -delete'""",
    "ls": """\
  runwrap ls                          # every task: failing and late first
  runwrap ls --state failing,late     # only what needs a look
  runwrap ls -o wide --label team=db  # every column, of the db team's tasks""",
    "show": """\
  runwrap show backup                      # backup's latest run in full
  runwrap show 20261122T043733Z-3f9a       # one run by its id
  runwrap show backup --json               # for scripts""",
    "history": """\
  runwrap history backup                   # the last 20 runs, newest first
  runwrap history backup --status failed,timeout  # the ones that went wrong
  runwrap history backup --grep 'disk full'       # the runs that said so""",
    "diff": """\
  runwrap diff backup                      # latest run vs the last success
  runwrap diff backup 20261122T043733Z-3f9a --against 20261121T043733Z-1c2d""",
    "feedback": """\
  runwrap feedback import                  # the latest run's feedback values
  runwrap feedback 20261122T043733Z-3f9a   # one run's""",
    "parse": """\
  runwrap parse feedback.log               # a feedback file's values as JSON
  runwrap parse --feedback feedback.log    # the same, as taskwatcher takes it""",
    "run": """\
  runwrap run backup                        # what the config declares
  runwrap --config ./tasks.yaml run backup  # with another config file""",
    "check": """\
  runwrap check                  # exit 1 and one line per late task
  runwrap check backup import    # only these tasks
  runwrap check -q               # notices only: for a crontab line of its own""",
    "crontab": """\
  runwrap crontab | crontab -                          # as your crontab
  runwrap crontab --cron-d root > /etc/cron.d/runwrap  # as a cron.d file
  runwrap crontab --cron-d root --check /etc/cron.d/runwrap  # still the same?""",
    "systemd": """\
  runwrap systemd --out /etc/systemd/system   # then: systemctl daemon-reload
  runwrap systemd --out ~/.config/systemd/user  # as user units""",
    "kill": """\
  runwrap kill import                 # SIGTERM to every running run of import
  runwrap kill import --reason "wrong night"  # who and why, said everywhere
  runwrap kill 20261122T043733Z-3f9a  # one run by its id""",
    "mute": """\
  runwrap mute backup --for 2h --reason "moving the NAS"   # no notices for 2 h
  runwrap mute --label team=db --until 18:00 --reason "db upgrade"
  runwrap mute --all --for 30m --reason maintenance""",
    "unmute": """\
  runwrap unmute backup            # lift backup's mute
  runwrap unmute --all             # lift every mute""",
    "ack": """\
  runwrap ack backup                  # no more reminders for this failure
  runwrap ack backup --reason "NAS down, ticket 123"  # said with who and when""",
    "retire": """\
  runwrap retire old-report                  # gone from the lists, runs kept
  runwrap retire old-report --delete-runs    # and its runs removed""",
    "tail": """\
  runwrap tail backup                  # the last 20 lines of the latest run
  runwrap tail -f import               # follow a running job until it ends
  runwrap tail --stderr -n 100 backup  # the last 100 lines of stderr.log""",
}


class _Parser(argparse.ArgumentParser):
    """argparse's parser, keeping what the checks below ask of it through its public API:
    its subcommands' parsers and the option strings it accepts."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.subcommands: dict[str, _Parser] = {}
        self.options: set[str] = set()  # before argparse adds -h through add_argument
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: object, **kwargs: object) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.options.update(action.option_strings)
        return action

    def error(self, message: str) -> None:  # one line and 125, like every runwrap error
        # self.prog is "runwrap ls" in a subcommand's parser: its help is the one to read.
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(ExitCode.USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The parser of the subcommands; the run form's options are in its description."""
    parser = _Parser(
        prog="runwrap",
        usage="runwrap [OPTIONS] -- COMMAND [ARG...]\n       runwrap SUBCOMMAND [...]",
        description=RUN_HELP.split("\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"examples:\n{EXAMPLES['']}",
    )
    parser.add_argument("--version", action="version", version=f"runwrap {__version__}")
    sub = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", parser_class=_Parser)

    def add(name: str, help_text: str, json_flag: bool = True) -> argparse.ArgumentParser:
        p = parser.subcommands[name] = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            prog=f"runwrap {name}",
            epilog=f"examples:\n{EXAMPLES[name]}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("--root", help="where runs are kept (also $RUNWRAP_ROOT)")
        p.add_argument("--config", help="YAML config file (also $RUNWRAP_CONFIG)")
        if json_flag:
            p.add_argument("--json", action="store_true", help="JSON output for scripts")
        return p

    p = add("ls", "every task, failing and late first, and every running run")
    p.add_argument("tasks", metavar="TASK", nargs="*", help="only these (default: all)")
    p.add_argument(
        "--state",
        action="append",
        type=_words(SHOWN_ORDER),
        metavar="STATE,...",
        help=f"only tasks in these states ({', '.join(SHOWN_ORDER)})",
    )
    p.add_argument(
        "--label",
        action="append",
        type=_label,
        metavar="K=V",
        help="only tasks with this label (repeatable: all must match; K alone: has it)",
    )
    p.add_argument(
        "--host",
        action="append",
        metavar="HOST,...",
        help="only tasks whose newest run is on one of these hosts (a ROOT shared by several)",
    )
    p.add_argument("-o", "--output", choices=OUTPUTS, help="wide: every column, with clock times")
    p.add_argument(
        "--color",
        choices=COLOR_CHOICES,
        default="auto",
        help="colour the states (auto: on a terminal, unless $NO_COLOR or TERM=dumb)",
    )
    p = add("show", "one run in full (a task's latest run)")
    p.add_argument("ref", metavar="TASK|RUN_ID")
    p.add_argument("--color", choices=COLOR_CHOICES, default="auto", help="colour the state line")
    p = add("history", "a task's past runs, newest first")
    p.add_argument("ref", metavar="TASK")
    p.add_argument("--limit", type=_count, default=20, help="at most N runs (default 20; 0: all)")
    p.add_argument(
        "--status",
        action="append",
        type=_words(STATUSES),
        metavar="STATUS,...",
        help=f"only runs with these statuses ({', '.join(STATUSES)})",
    )
    p.add_argument(
        "--since",
        metavar="AGE|DATE",
        help="only runs started since then: 2h, 30m, 1d, or a local 2026-12-04 [09:00]",
    )
    p.add_argument(
        "--grep",
        metavar="TEXT",
        help="only runs whose labels, reason, feedback or (gone wrong) stderr's last lines "
        "contain TEXT, case aside",
    )
    p.add_argument("--color", choices=COLOR_CHOICES, default="auto", help="colour the statuses")
    p = add("diff", "what changed in a run since the last success")
    p.add_argument("ref", metavar="TASK")
    p.add_argument("run", metavar="RUN", nargs="?", help="a run id of TASK (default: its latest)")
    p.add_argument("--against", metavar="RUN", help="compare with this run instead")
    add("feedback", "a run's feedback values as JSON", json_flag=False).add_argument(
        "ref", metavar="TASK|RUN_ID"
    )
    p = add("parse", "a feedback file's values as JSON", json_flag=False)
    p.add_argument("file", nargs="?")
    p.add_argument("--feedback", metavar="FILE", help="the file, as taskwatcher's parse takes it")
    add("run", "run a task the config declares (command:, schedule:)", json_flag=False)
    p = add("check", "exit 1 and notify when a scheduled task is late", json_flag=False)
    p.add_argument("tasks", metavar="TASK", nargs="*", help="only these (default: all)")
    p.add_argument("--notify", action="append", metavar="NAME", help="notifiers (repeatable)")
    p.add_argument("-q", "--quiet", action="store_true", help="print notices only (for cron)")
    p = add("crontab", "crontab lines for the tasks the config declares", json_flag=False)
    p.add_argument("--cron-d", metavar="USER", help="with a user field, for /etc/cron.d/")
    p.add_argument(
        "--check",
        nargs="?",
        const="-",
        metavar="FILE",
        help="compare with the installed crontab (crontab -l, or FILE); exit 1 if it differs",
    )
    p = add("systemd", "a .service and .timer per task the config declares", json_flag=False)
    p.add_argument("--out", required=True, metavar="DIR", help="where to write the units")
    p.add_argument("--user", metavar="USER", help="User= of the services")
    p = add("kill", "stop a running run (all running runs of a task)")
    p.add_argument("ref", metavar="TASK|RUN_ID")
    p.add_argument("--signal", "-s", default="TERM", help="signal to send (default TERM)")
    p.add_argument("--reason", metavar="TEXT", help="why: recorded with who killed it")
    for name, text in (
        ("mute", "no notices from tasks for a while (runs are recorded as always)"),
        ("unmute", "lift a mute"),
    ):
        p = add(name, text)
        p.add_argument("tasks", metavar="TASK", nargs="*", help="these tasks")
        p.add_argument("--label", action="append", metavar="K=V", help="tasks with this label")
        p.add_argument("--all", action="store_true", help="every task")
        if name == "mute":
            p.add_argument("--for", dest="for_", metavar="DURATION", help="for so long: 2h")
            p.add_argument("--until", metavar="TIME", help="until then: 18:00, 2026-12-06 09:00")
            p.add_argument("--reason", metavar="TEXT", help="why (required): shown everywhere")
    p = add("ack", "acknowledge a failing task: no more reminders for this failure")
    p.add_argument("task", metavar="TASK")
    p.add_argument("--reason", metavar="TEXT", help="why: shown with who and when")
    p = add("retire", "a task that is gone: off ls, check, metrics and the dashboard")
    p.add_argument("task", metavar="TASK")
    p.add_argument("--delete-runs", action="store_true", help="remove its runs too")
    p = add("tail", "a run's output; -f follows it until the run ends", json_flag=False)
    p.add_argument("ref", metavar="TASK|RUN_ID")
    p.add_argument("-f", "--follow", action="store_true", help="follow until the run ends")
    streams = p.add_mutually_exclusive_group()
    streams.add_argument(
        "--stderr", dest="stream", action="store_const", const="stderr", help="show stderr.log"
    )
    streams.add_argument(
        "--stdout",
        dest="stream",
        action="store_const",
        const="stdout",
        help="show stdout.log (the default, but for a run that went wrong: stderr.log)",
    )
    p.add_argument("-n", "--lines", type=_count, default=20, help="last N lines first (default 20)")
    return parser


def _words(choices: tuple[str, ...]):
    """An argparse type: 'a,b' as a list of words, each one of `choices`."""

    def parse(text: str) -> list[str]:
        found = words_of([text])
        for word in found:
            if word not in choices:
                raise argparse.ArgumentTypeError(
                    f"invalid choice: {word!r} (choose from {', '.join(choices)})"
                )
        return found

    return parse


def _label(text: str) -> str:
    if not text or text.startswith("="):
        raise argparse.ArgumentTypeError(f"bad label {text!r}: use K=V, or K")
    return text


def _flat(lists: list[list[str]] | None) -> list[str]:
    return [word for words in lists or () for word in words]


# Subcommands that do not need runs to exist (they write, or read only the config).
_WRITERS = frozenset({"crontab", "systemd"})


def control_main(argv: list[str]) -> int:
    """Run a subcommand; return the exit status."""
    parser = build_parser()
    if not argv:
        parser.print_help()
        return ExitCode.OK
    argv = _subcommand_first(argv, parser)
    args, extra = parser.parse_known_args(argv)
    if extra:  # said by the subcommand's parser, whose help is the one to read
        parser.subcommands[args.subcommand].error(f"unrecognized arguments: {' '.join(extra)}")
    if args.subcommand == "parse":
        if (args.file is None) == (args.feedback is None):
            raise RunwrapError("usage: runwrap parse FILE (or taskwatcher's --feedback FILE)")
        return cmd_parse(args.file or args.feedback)
    config_file = find_config_file(args.config)
    config = load_config_file(config_file)
    root = subcommand_root(args.root, config, must_exist=args.subcommand not in _WRITERS)
    freeze_imports()
    handlers = {
        "ls": lambda: cmd_ls(
            root,
            args.json,
            args.color,
            tasks=args.tasks,
            states=_flat(args.state),
            labels=args.label,
            wide=args.output == "wide",
            hosts=words_of(args.host or []),
        ),
        "show": lambda: cmd_show(root, args.ref, args.json, args.color),
        "history": lambda: cmd_history(
            root,
            args.ref,
            args.limit,
            _flat(args.status),
            args.json,
            since=args.since,
            color=args.color,
            grep=args.grep,
        ),
        "diff": lambda: cmd_diff(root, args.ref, args.run, args.against, args.json),
        "feedback": lambda: cmd_feedback(root, args.ref),
        "kill": lambda: cmd_kill(root, args.ref, args.signal, args.json, args.reason),
        "mute": lambda: cmd_mute(
            root,
            args.tasks,
            args.label or [],
            args.all,
            args.for_,
            args.until,
            args.reason,
            args.json,
        ),
        "unmute": lambda: cmd_unmute(root, args.tasks, args.label or [], args.all, args.json),
        "ack": lambda: cmd_ack(root, args.task, args.reason, args.json),
        "retire": lambda: cmd_retire(root, args.task, args.delete_runs, args.json),
        "tail": lambda: cmd_tail(root, args.ref, args.follow, args.stream, args.lines),
        "check": lambda: cmd_check(root, config, args.tasks, args.notify, args.quiet),
        "crontab": lambda: cmd_crontab(root, config, config_file, args.cron_d, args.check),
        "systemd": lambda: cmd_systemd(root, config, config_file, args.out, args.user),
    }
    status = handlers[args.subcommand]()
    warn_skipped()
    return status


def _count(text: str) -> int:
    """A whole number >= 0 for --limit and --lines."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return value


def _leading_common_options(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split off the --root/--config words before the subcommand: (them, the rest)."""
    i = 0
    while i < len(argv) and argv[i].partition("=")[0] in COMMON_OPTIONS:
        if "=" in argv[i]:
            i += 1
        elif i + 1 < len(argv):
            i += 2
        else:
            raise RunwrapError(f"option {argv[i]} needs a value; see runwrap --help")
    return argv[:i], argv[i:]


def _subcommand_first(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """argv with the subcommand first (--root/--config given before it moved after it).

    Anything else before the subcommand is one line that says where it goes.
    """
    common, rest = _leading_common_options(argv)
    if not rest:
        raise RunwrapError(
            f"missing subcommand after {' '.join(common)}: runwrap --root DIR ls, ...; "
            "to run a command: runwrap [OPTIONS] -- COMMAND [ARG...]"
        )
    first = rest[0]
    if first in SUBCOMMANDS:
        return [first, *common, *rest[1:]]
    if first in ("-h", "--help", "--version"):
        return rest
    later = next((word for word in rest[1:] if word in SUBCOMMANDS), None)
    if first.startswith("-") and later:
        option = first.partition("=")[0]
        if option in _options_of(parser, later):
            raise RunwrapError(
                f"option {option} goes after the subcommand: runwrap {later} {option} ... "
                "(only --root and --config may come before it)"
            )
        raise RunwrapError(
            f"option {option} cannot come before the subcommand {later!r} "
            f"(only --root and --config can); see runwrap {later} --help"
        )
    if first.startswith("-"):
        raise RunwrapError(_no_command_or_unknown(rest))
    given = " ".join(common) or "[OPTIONS]"
    raise RunwrapError(
        f"unknown subcommand {first!r}; to run a command, put '--' before it: "
        f"runwrap {given} -- {first} ..."
    )


def _no_command_or_unknown(words: list[str]) -> str:
    """The one line for options without '--': a typo, or run-form options without a command."""
    from runwrap.runform import option_arity

    i = 0
    while i < len(words):
        arity = option_arity(words[i]) if words[i].startswith("-") else None
        if arity is None:
            if words[i].startswith("-"):
                return f"unknown option {words[i].partition('=')[0]}; see runwrap --help"
            return "put '--' before the command: runwrap [OPTIONS] -- COMMAND [ARG...]"
        i += 1 + arity
    return "no command given: runwrap [OPTIONS] -- COMMAND [ARG...]"


def _options_of(parser: _Parser, subcommand: str) -> set[str]:
    """The option strings a subcommand accepts (--json, -n, -h, ...)."""
    return parser.subcommands[subcommand].options


# ---- subcommands ------------------------------------------------------------
