"""runwrap history's plain command line, parsed without argparse (history.plain_args, the
path `runwrap history TASK --limit 0` takes), gives what argparse gives for it, option for
option; anything else is left to argparse, which says what is wrong as for every subcommand."""

from __future__ import annotations

import pytest

from runwrap.commands.history import plain_args
from runwrap.commands.parser import _flat, build_parser

pytestmark = pytest.mark.unit

PLAIN = [
    ["t"],
    ["t", "--limit", "0"],
    ["--limit=5", "t", "--json"],
    ["t", "--root", "r", "--config", "c.yaml", "--color", "never"],
    ["t", "--root=r", "--config=c", "--color=always", "--limit", "7", "--limit", "3"],
    ["t", "--status", "failed,timeout", "--status", "success"],
    ["t", "--status=", "--since", "2h", "--grep", "disk full"],
    ["t", "--grep=-x", "--since=2026-12-04 09:00"],
    ["t", "--limit", " 12"],
]


@pytest.mark.parametrize("words", PLAIN, ids=" ".join)
def test_a_plain_line_parses_as_argparse_parses_it(words: list[str]) -> None:
    plain = plain_args(words)
    assert plain is not None, words
    args = build_parser().parse_args(["history", *words])
    wanted = {name: getattr(args, name) for name in plain if name != "status"}
    assert {**wanted, "status": _flat(args.status)} == plain


@pytest.mark.parametrize(
    "words",
    [
        [],
        ["a", "b"],
        ["t", "--help"],
        ["t", "-h"],
        ["t", "--lim", "0"],
        ["t", "--limit"],
        ["t", "--limit", ""],
        ["t", "--limit", "-1"],
        ["t", "--limit", "x"],
        ["t", "--limit", "1_000"],
        ["t", "--limit", "5\x1f"],  # str.strip() takes \x1f off, int() does not
        ["t", "--limit", "x", "--limit", "5"],  # argparse refuses the first, as it must
        ["t", "--limit=", "--limit=5"],
        ["t", "--color", "blue", "--color", "never"],
        ["t", "--color", ""],
        ["t", "--color", "blue"],
        ["t", "--status", "fine"],
        ["t", "--grep", "-x"],
        ["t", "--json=1"],
        ["t", "--", "x"],
        ["-t"],
        [""],
    ],
    ids=repr,
)
def test_anything_else_is_left_to_argparse(words: list[str]) -> None:
    assert plain_args(words) is None


def test_a_random_line_parses_as_argparse_or_is_left_to_it() -> None:
    """Lines made of the words that trip parsers (repeats, '=', odd whitespace, unicode
    digits, values like options): wherever plain_args answers, argparse answers the same."""
    import contextlib
    import io
    import random

    words = ["t", "u", "--limit", "--limit=", "5", " 7", "5\x1f", "\x1c5", "\u0665", "+3",
             "1_0", "x", "--status", "failed, success", ",", "--status=timeout", "--since",
             "2h", "--grep", "--grep=", "-x", "-1", "--json", "--color", "never", "blue",
             "--color=", "--root", "r", "--config=c", "--", "-", "", "--lim", "=", "history"]  # fmt: skip
    parser = build_parser()
    rng = random.Random(4)
    answered = 0
    for _ in range(3000):
        line = [rng.choice(words) for _ in range(rng.randint(1, 6))]
        plain = plain_args(line)
        if plain is None:
            continue
        answered += 1
        with contextlib.redirect_stderr(io.StringIO()):
            try:
                args = parser.parse_args(["history", *line])
            except SystemExit:
                raise AssertionError(f"argparse refuses {line!r}, plain_args: {plain}") from None
        wanted = {name: getattr(args, name) for name in plain if name != "status"}
        assert {**wanted, "status": _flat(args.status)} == plain, line
    assert answered > 100  # the comparison compared something
