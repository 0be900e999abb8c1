"""runwrap's command line: the run form (`runwrap [OPTIONS] -- COMMAND`) and control subcommands.

A thin layer: parse, build options, call one core function, map our errors
to one line on stderr and an exit status. Nothing else is imported until
the form is known, so the run form starts as fast as Python allows.
"""

from __future__ import annotations

import os
import sys

from runwrap.errors import ExitCode, RunwrapError


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `runwrap` console script."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        if "--" in argv:
            return _run_form(argv)
        from runwrap.control import control_main

        return control_main(argv)
    except RunwrapError as e:
        print(f"runwrap: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return ExitCode.SIGNAL_BASE + 2
    except BrokenPipeError:
        return 1
    except Exception as e:  # a bug: still one line, the details on demand
        if os.environ.get("RUNWRAP_DEBUG"):
            raise
        print(
            f"runwrap: internal error: {type(e).__name__}: {e} (set RUNWRAP_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return ExitCode.USAGE


def _run_form(argv: list[str]) -> int:
    from runwrap.options import RUN_HELP, HelpRequested, parse_run_args, resolve

    try:
        given, command = parse_run_args(argv)
    except HelpRequested:
        print(RUN_HELP, end="")
        return ExitCode.OK
    opts = resolve(given, command)
    from runwrap.run import execute

    return execute(opts).exit_code
