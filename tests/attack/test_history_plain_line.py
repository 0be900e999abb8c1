"""Attack on `runwrap history`'s own parser (history.plain_args, the path taken without
argparse): where its words are not argparse's, the command must still answer as argparse
would. It checked only the last --limit and --color, and took `--limit '5\\x1f'` for a
number (str.strip() takes \\x1f off, int() does not): an internal error, and a line that
argparse refuses run as if it were right."""

from __future__ import annotations

from helpers.runs import Root, assert_one_line_error


def test_a_limit_argparse_refuses_is_refused_in_one_line(root: Root) -> None:
    assert root.run("-n", "t", "--", "true").returncode == 0
    for words in (
        ["--limit", "5\x1f"],
        ["--limit", "x", "--limit", "1"],
        ["--limit=", "--limit=1"],
    ):
        result = root.run("history", "t", *words)
        assert_one_line_error(result, "--limit", code=125)
        assert result.stdout == "", (words, result)
    result = root.run("history", "t", "--color", "blue", "--color", "never")
    assert_one_line_error(result, "--color", code=125)
    assert root.run("history", "t", "--limit", "1", "--color", "never").returncode == 0
