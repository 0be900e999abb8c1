"""runwrap ls's plain command line, parsed without argparse (ls.ls_args, the path every
`runwrap ls` takes), gives what argparse gives for it, option for option; anything else is
left to argparse, which says what is wrong as for every subcommand."""

from __future__ import annotations

import contextlib
import io
import random

import pytest

from runwrap.commands.ls import ls_args, words_of
from runwrap.commands.parser import _flat, build_parser

pytestmark = pytest.mark.unit


def _argparse(words: list[str]) -> dict | None:
    """What argparse reads, in ls_args's terms (None: it refuses the line)."""
    with contextlib.redirect_stderr(io.StringIO()):
        try:
            args = build_parser().parse_args(["ls", *words])
        except SystemExit:
            return None
    return {
        "root": args.root,
        "config": args.config,
        "as_json": args.json,
        "color": args.color,
        "tasks": args.tasks,
        "states": _flat(args.state),
        "labels": args.label or [],
        "hosts": words_of(args.host or []),
        "wide": args.output == "wide",
    }


@pytest.mark.parametrize(
    "words",
    [
        [],
        ["a", "b", "--json"],
        ["--state", "failing,late", "--state=ok", "-o", "wide"],
        ["-owide", "--label", "team=db", "--label=team", "--host", "a, b", "--host=c"],
        ["--root", "r", "--config=c", "--color", "never", "--color", "always", "t"],
    ],
    ids=" ".join,
)
def test_a_plain_line_parses_as_argparse_parses_it(words: list[str]) -> None:
    plain = ls_args(words)
    assert plain is not None, words
    assert plain == _argparse(words)


@pytest.mark.parametrize(
    "words",
    [
        ["--help"],
        ["--sta", "ok"],
        ["--state", "fine"],
        ["--label", "-x"],  # a value that looks like an option: argparse refuses it
        ["--label", "=v"],
        ["--color", "blue", "--color", "never"],
        ["-o", "narrow"],
        ["--json=1"],
        ["--", "x"],
        [""],
    ],
    ids=repr,
)
def test_anything_else_is_left_to_argparse(words: list[str]) -> None:
    assert ls_args(words) is None


def test_a_random_line_parses_as_argparse_or_is_left_to_it() -> None:
    """Wherever ls_args answers a line of words that trip parsers, argparse answers the same."""
    words = ["t", "u", "--state", "failing, late", "ok,", "fine", "--state=", "--label",
             "k=v", "k", "=v", "-x", "--host", "a,b", "--host=", "-o", "wide", "-owide",
             "--output=wide", "--color", "never", "blue", "--color=", "--json", "--root",
             "r", "--config=c", "--", "-", "", "=", "ls", "\u0665"]  # fmt: skip
    rng = random.Random(7)
    answered = 0
    for _ in range(3000):
        line = [rng.choice(words) for _ in range(rng.randint(1, 6))]
        plain = ls_args(line)
        if plain is None:
            continue
        answered += 1
        assert plain == _argparse(line), line
    assert answered > 100  # the comparison compared something
