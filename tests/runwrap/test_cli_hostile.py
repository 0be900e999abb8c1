"""The command line against bad input: one line on stderr, exit 125, nothing left behind."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from helpers.runs import RUNWRAP, Root, assert_one_line_error


def nothing_recorded(root: Root) -> bool:
    """True if no task directory (let alone a run) exists under the root."""
    tasks = root.path / "tasks"
    return not tasks.exists() or not any(tasks.iterdir())


# ---- 1. an empty command ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-n", "t", "--", ""], "empty command"),
        (["--", ""], "empty command"),
        (["-n", "t", "--", "  "], "empty command"),
        (["-n", "t", "--", "", "arg"], "empty command"),
        (["-n", "t", "--"], "no command after '--'"),
    ],
)
def test_an_empty_command_is_refused_before_anything_is_created(
    root: Root, args: list[str], fragment: str
) -> None:
    assert_one_line_error(root.run(*args), fragment)
    assert nothing_recorded(root)


def test_an_empty_argument_after_the_command_is_fine(root: Root) -> None:
    assert root.run("-n", "t", "--", "sh", "-c", 'test -z "$1"', "sh", "").returncode == 0
    assert root.manifest("t")["status"] == "success"


# ---- 2. task names that could never be named again --------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("-dash", "starts with a dash"),
        ("--", "starts with a dash"),
        (".", "starts with a dot"),
        ("..", "starts with a dot"),
        ("/", "path separator"),
        ("a\nb", "control character"),
        ("a\x1b[31mb", "control character"),
        ("a\u0085b", "control character"),  # C1 NEL: not printable either
        ("a\u2028b", "control character"),
        ("a\u202eb", "control character"),  # right-to-left override hides the real name
        ("20261122T043733.123Z-3f9a", "looks like a run id"),
        ("backup@web01", "contains '@'"),  # a gathered host's task: never written into
        ("\u00e9" * 41, "longer than 80 bytes"),
        ("x" * 65, "longer than 64 characters"),
    ],
)
def test_task_names_that_cannot_be_addressed_later_are_refused(
    root: Root, name: str, problem: str
) -> None:
    result = root.run(f"--name={name}", "--", "true")
    assert_one_line_error(result, "bad task name", problem)
    assert nothing_recorded(root)


def test_a_task_name_that_is_not_utf8_is_refused(root: Root) -> None:
    result = subprocess.run(
        [RUNWRAP.encode(), b"-n", b"caf\xe9", b"--", b"true"],
        env=root.env,
        cwd=root.cwd,
        capture_output=True,
        text=True,
        errors="replace",
    )
    assert_one_line_error(result, "bad task name", "not valid UTF-8")
    assert nothing_recorded(root)


def test_a_default_name_from_the_command_says_to_use_dash_n(root: Root) -> None:
    tool = root.cwd / "-tool"
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)
    assert_one_line_error(root.run("--", "./-tool"), "bad task name", "-n NAME")
    assert nothing_recorded(root)
    assert root.run("-n", "tool", "--", "./-tool").returncode == 0


def test_a_bad_name_in_a_subcommand_is_one_line(root: Root) -> None:
    root.path.mkdir()
    for args in (["show", "--", "-dash"], ["history", "a/b"], ["tail", ".."]):
        assert_one_line_error(root.run(*args), "bad task name")


@pytest.mark.parametrize("name", ["caf\u00e9", "a b", "x" * 64, "a.b-c_d"])
def test_unusual_but_addressable_names_still_work(root: Root, name: str) -> None:
    assert root.run("-n", name, "--", "echo", "hi").returncode == 0
    assert root.run("tail", name).stdout == "hi\n"
    assert name in root.run("ls").stdout


# ---- 4. common options before the subcommand ---------------------------------


def test_root_and_config_before_the_subcommand(root: Root, tmp_path: Path) -> None:
    other = tmp_path / "other"
    env = {k: v for k, v in root.env.items() if k != "RUNWRAP_ROOT"}
    assert root.run("--root", str(other), "-n", "o", "--", "true", env=env).returncode == 0
    for args in (
        ["--root", str(other), "ls"],
        [f"--root={other}", "ls"],
        ["--root", str(other), "--config", "/dev/null", "history", "o"],
        ["--config=/dev/null", "--root", str(other), "show", "o", "--json"],
    ):
        result = root.run(*args, env=env)
        assert result.returncode == 0, (args, result.stderr)
        assert ("success" if "history" in args else "o") in result.stdout


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--json", "ls"], ["--json", "after the subcommand", "runwrap ls --json"]),
        (["-n", "t", "ls"], ["-n", "cannot come before", "only --root and --config"]),
        (["--root", "/x", "--limit", "3", "history"], ["--limit", "runwrap history --limit"]),
        (["--root", "/x"], ["missing subcommand"]),
        (["--root"], ["--root needs a value"]),
        (["--root", "/x", "sleep", "1"], ["put '--' before it: runwrap --root /x -- sleep"]),
        (["-n", "t", "sleep", "1"], ["put '--' before the command"]),
    ],
)
def test_options_before_the_subcommand_errors_say_what_to_do(
    root: Root, args: list[str], fragments: list[str]
) -> None:
    assert_one_line_error(root.run(*args), *fragments)
    assert nothing_recorded(root)


@pytest.mark.parametrize(
    "args",
    [
        ["history", "t", "--limit", "-1"],
        ["history", "t", "--limit", "x"],
        ["tail", "t", "-n", "-5"],
        ["tail", "t", "--lines=-1"],
    ],
)
def test_negative_counts_are_refused(root: Root, args: list[str]) -> None:
    assert root.run("-n", "t", "--", "echo", "hi").returncode == 0
    assert_one_line_error(root.run(*args), "whole number >= 0")
