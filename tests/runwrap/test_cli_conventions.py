"""The CLI behaves like the tools it sits beside: precise one-line errors, clean help."""

from __future__ import annotations

from helpers.runs import Root, assert_one_line_error


def test_a_typo_in_an_option_is_called_an_unknown_option(root: Root) -> None:
    assert_one_line_error(root.run("--versoin"), "unknown option --versoin")


def test_options_without_a_command_say_that_the_command_is_missing(root: Root) -> None:
    assert_one_line_error(root.run("-n", "x"), "no command given")
    assert_one_line_error(root.run("-n", "x", "--timeout", "5"), "no command given")


def test_a_command_without_the_separator_is_told_where_the_separator_goes(root: Root) -> None:
    assert_one_line_error(root.run("-n", "x", "sleep", "1"), "put '--' before the command")


def test_subcommand_help_names_the_subcommand(root: Root) -> None:
    result = root.run("tail", "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: runwrap tail [-h]")


def test_a_mistyped_root_is_an_error_not_an_empty_list(root: Root, tmp_path) -> None:
    result = root.run("--root", str(tmp_path / "nope"), "ls")
    assert_one_line_error(result, "does not exist")


def test_show_of_a_failed_run_ends_with_its_stderr(root: Root) -> None:
    root.run("-n", "f", "--notify", "none", "--", "sh", "-c", "echo out; echo boom >&2; exit 3")
    shown = root.run("show", "f").stdout.rstrip().splitlines()
    assert shown[-2:] == ["last lines of stderr.log:", "  boom"]


def test_tail_of_a_failed_run_shows_stderr_and_says_so(root: Root) -> None:
    root.run("-n", "f", "--notify", "none", "--", "sh", "-c", "echo out; echo boom >&2; exit 3")
    tail = root.run("tail", "f")
    assert tail.stdout == "boom\n" and "stderr.log of the failed run" in tail.stderr
    assert root.run("tail", "--stdout", "f").stdout == "out\n"
    ok = root.run("-n", "g", "--", "sh", "-c", "echo fine")
    assert ok.returncode == 0
    quiet = root.run("tail", "g")
    assert quiet.stdout == "fine\n" and quiet.stderr == ""
