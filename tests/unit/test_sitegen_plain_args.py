"""sitegen's one-shot command line parsed without argparse (cli._plain, cron's path) gives
what argparse gives for it, option for option: a new option's default cannot drift."""

from __future__ import annotations

import pytest

from sitegen import cli
from sitegen.build import stamp

PLAIN = [
    ["--root", "r", "--out", "o"],
    ["--root=r", "--out=o", "-q"],
    ["--out", "o", "--root", "r", "--quiet", "--publish", "copy"],
    ["--root", "r", "--out", "o", "--theme", "t", "--title", "T i", "--site-url", "https://x/"],
    ["--root", "r", "--out", "o", "--config", "c.yaml", "--publish=link"],
    *[[f"--{name}", "copy", "--out", "o"] for name in stamp.VALUED if name != "out"],
]


@pytest.mark.parametrize("argv", PLAIN, ids=" ".join)
def test_a_plain_line_parses_as_argparse_parses_it(argv: list[str]) -> None:
    plain = cli._plain(argv)
    assert plain is not None, argv
    assert vars(plain) == vars(cli.parser().parse_args(argv))


@pytest.mark.parametrize(
    "argv",
    [["--root", "-q"], ["--root"], ["--publish", "hardlink"], ["--full"], ["--watch"], ["x"]],
)
def test_anything_else_is_left_to_argparse(argv: list[str]) -> None:
    assert cli._plain(argv) is None
