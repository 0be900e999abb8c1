"""runwrap's command line: the run form (`runwrap [OPTIONS] -- COMMAND`) and the subcommands.

A thin layer: parse, build options, call one core function, map our errors
to one line on stderr and an exit status. Nothing else is imported until
the form is known, so the run form starts as fast as Python allows.
"""

import os
import sys

from runwrap.errors import ExitCode, RunwrapError

# The subcommands' names, here and not in runwrap/commands/: the run form is told from
# a subcommand by them, and must not pay for importing that package.
SUBCOMMANDS = (
    "run",
    "ls",
    "show",
    "history",
    "diff",
    "feedback",
    "parse",
    "kill",
    "tail",
    "check",
    "crontab",
    "systemd",
    "mute",
    "unmute",
    "ack",
    "retire",
)
# Options every subcommand takes, accepted before the subcommand's name too.
COMMON_OPTIONS = ("--root", "--config")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `runwrap` console script."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        if "--" in argv and not _names_a_subcommand(argv):
            return _run_form(argv)
        run_at = _subcommand_index(argv)
        if run_at is not None and argv[run_at] == "run":
            # A task declared in the config: as lean as the run form (no argparse).
            return _run_task(argv[:run_at] + argv[run_at + 1 :])
        if run_at is not None and argv[run_at] == "ls":
            # The command people type most: without argparse when its words are plain.
            from runwrap.commands.ls import ls_main

            status = ls_main(argv[:run_at] + argv[run_at + 1 :])
            if status is not None:
                return status
        if run_at is not None and argv[run_at] == "history":
            # Its own parser too: argparse and the other subcommands cost more than the reads.
            from runwrap.commands.history import history_main

            status = history_main(argv[:run_at] + argv[run_at + 1 :])
            if status is not None:
                return status
        from runwrap.commands.parser import control_main

        return control_main(argv)
    except RunwrapError as e:
        print(f"runwrap: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return ExitCode.SIGNAL_BASE + 2
    except BrokenPipeError:
        return 1
    except PermissionError as e:  # a ROOT this user may read but not write (ack, mute, retire)
        where = f"{e.filename}: " if e.filename else ""
        print(
            f"runwrap: {where}{e.strerror} (run it as a user who may write ROOT)", file=sys.stderr
        )
        return ExitCode.USAGE
    except Exception as e:  # a bug: still one line, the details on demand
        if os.environ.get("RUNWRAP_DEBUG"):
            raise
        print(
            f"runwrap: internal error: {type(e).__name__}: {e} (set RUNWRAP_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return ExitCode.USAGE


def _subcommand_index(argv: list[str]) -> int | None:
    """Where the subcommand is: the first word after any --root/--config, if it is one."""
    i = 0
    while i < len(argv) and argv[i].partition("=")[0] in COMMON_OPTIONS:
        i += 1 if "=" in argv[i] else 2
    return i if i < len(argv) and argv[i] in SUBCOMMANDS else None


def _names_a_subcommand(argv: list[str]) -> bool:
    """True if the first word after any --root/--config is a subcommand.

    Then a '--' further on belongs to the subcommand (`runwrap show -- NAME`),
    not to the run form.
    """
    return _subcommand_index(argv) is not None


def _print_run_help(text: str, subcommand: str) -> None:
    """The run form's help, ending with its examples as every subcommand's does."""
    from runwrap.commands.parser import EXAMPLES  # only for --help: not on the start-up path

    print(text, end="")
    print(f"\nexamples:\n{EXAMPLES[subcommand]}")


def _load_run_path() -> None:
    """Import what every run needs with the cyclic collector paused, then freeze it.

    What the imports make (functions, classes, module dicts) lives as long as the
    process: collected during the imports, or walked again by the first older-generation
    collection of the run (0.5 ms, about the cost of three of these modules), it is
    work for nothing. Frozen (gc.freeze, as the subcommands do), the collector walks
    only what the run itself makes.
    """
    import gc

    was = gc.isenabled()
    gc.disable()
    try:
        import runwrap.run.execute
        import runwrap.runform
        import runwrap.say
        import runwrap.settings  # noqa: F401
    finally:
        gc.freeze()
        if was:
            gc.enable()


def _run_form(argv: list[str]) -> int:
    _load_run_path()
    from runwrap.runform import RUN_HELP, HelpRequested, parse_run_args
    from runwrap.settings import resolve

    try:
        given, command = parse_run_args(argv)
    except HelpRequested:
        _print_run_help(RUN_HELP, "")
        return ExitCode.OK
    return _execute(resolve(given, command))


def _run_task(words: list[str]) -> int:
    """`runwrap run TASK`: the command the config declares for TASK."""
    _load_run_path()
    from runwrap.runform import RUN_HELP, HelpRequested, parse_task_args
    from runwrap.settings import resolve

    if "--" in words:
        raise RunwrapError(
            "runwrap run TASK runs the command the config declares; "
            "to run another: runwrap -n TASK [OPTIONS] -- COMMAND"
        )
    try:
        given = parse_task_args(words)
    except HelpRequested:
        _print_run_help(RUN_HELP, "run")
        return ExitCode.OK
    return _execute(resolve(given, None))


def _execute(opts) -> int:  # opts: RunOptions (not imported: start-up)
    from runwrap.run.execute import execute
    from runwrap.say import set_sink

    set_sink(lambda message: print(f"runwrap: {message}", file=sys.stderr, flush=True))
    return execute(opts).exit_code
