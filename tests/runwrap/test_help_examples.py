"""Each subcommand's --help ends with examples (as git's and kubectl's do) that parse and fit 80 columns."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from runwrap.cli import SUBCOMMANDS
from runwrap.commands.parser import build_parser

from helpers.runs import RUNWRAP


def _examples(*argv: str) -> list[str]:
    env = {"COLUMNS": "80", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([RUNWRAP, *argv], capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 0, result.stderr
    text = result.stdout.rstrip("\n")
    assert "\nexamples:\n" in text, f"runwrap {' '.join(argv)} has no examples"
    # The examples are the end of the help: nothing after them.
    return text.rsplit("\nexamples:\n", 1)[1].splitlines()


@pytest.mark.parametrize("subcommand", SUBCOMMANDS)
def test_help_ends_with_examples_that_parse(subcommand: str) -> None:
    lines = _examples(subcommand, "--help")
    assert 2 <= len(lines) <= 3, lines
    parser = build_parser()
    for line in lines:
        assert len(line) <= 80, line
        words = shlex.split(line.partition("#")[0])
        words = words[: words.index("|")] if "|" in words else words
        words = words[: words.index(">")] if ">" in words else words
        assert words[0] == "runwrap" and subcommand in words, line
        if subcommand == "run":  # the run form's TASK is taken before argparse
            continue
        args, extra = parser.parse_known_args(
            [subcommand, *(w for w in words[1:] if w != subcommand)]
        )
        assert args.subcommand == subcommand and extra == [], line


@pytest.mark.parametrize("argv", [["--help"], ["-n", "x", "--help", "--", "true"]])
def test_the_run_forms_help_ends_with_examples_that_parse(argv: list[str]) -> None:
    from runwrap.runform import parse_run_args

    lines = _examples(*argv)
    assert 2 <= len(lines) <= 3, lines
    for line in lines:
        assert len(line) <= 80, line
        words = shlex.split(line)
        assert words[0] == "runwrap" and "--" in words, line
        _given, command = parse_run_args(words[1:])
        assert command == words[words.index("--") + 1 :], line
