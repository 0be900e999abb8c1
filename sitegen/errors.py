"""sitegen's own errors and exit codes."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses of sitegen."""

    OK = 0
    ERROR = 1  # bad input a person can fix (root, out, config)
    USAGE = 2  # argparse's own code for a bad command line
    INTERRUPTED = 130


class SitegenError(Exception):
    """A problem a person can fix, reported as one line."""

    exit_code = ExitCode.ERROR


def one_line(e: BaseException) -> str:
    """An exception as one short line for a person (no traceback)."""
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:300]}" if text else type(e).__name__
