"""runwrap ls as an operator reads it: what needs a look first, colour on a terminal only."""

from __future__ import annotations

import json
import os
import pty
import subprocess

from helpers.polling import wait_for
from helpers.runs import RUNWRAP, Root, assert_one_line_error

RED, GREEN, CYAN = "\x1b[31m", "\x1b[32m", "\x1b[36m"


def names_in_order(out: str) -> list[str]:
    """The TASK column of ls's first table, top to bottom."""
    lines = out.split("\n\n")[0].splitlines()
    return [line.split()[0] for line in lines[1:]]


def on_a_terminal(root: Root, *args: str, env: dict[str, str] | None = None) -> str:
    """What `runwrap ARGS` writes when its stdout is a real terminal (a pty)."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [RUNWRAP, *args],
            env=env or root.env,
            stdout=follower,
            stderr=subprocess.PIPE,
            timeout=60,
        )
        os.close(follower)
        follower = -1
        assert proc.returncode == 0, proc.stderr
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)


def test_failing_then_running_then_ok_by_name_within(root: Root, tmp_path) -> None:
    for task, cmd in (("b-ok", "true"), ("a-ok", "true"), ("z-bad", "false"), ("c-bad", "false")):
        root.run("-n", task, "--notify", "none", "--", cmd)
    release = tmp_path / "release"
    root.start("-n", "m-run", "--", "sh", "-c", f"while [ ! -e {release} ]; do sleep 0.02; done")
    try:
        wait_for(lambda: "running" in root.run("ls").stdout, what="m-run in ls")
        out = root.run("ls").stdout
        assert names_in_order(out) == ["c-bad", "z-bad", "m-run", "a-ok", "b-ok"]
        header, *rows = out.split("\n\n")[0].splitlines()
        running_at = header.index("RUNNING")
        m_run = next(line for line in rows if line.startswith("m-run"))
        assert m_run[running_at:].split()[0][0].isdigit()  # its elapsed time: "150ms"
        # Scripts keep the order by name.
        listed = json.loads(root.run("ls", "--json").stdout)
        assert [item["task"] for item in listed] == ["a-ok", "b-ok", "c-bad", "m-run", "z-bad"]
    finally:
        release.touch()


def test_colour_only_on_a_terminal_and_never_under_no_color(root: Root) -> None:
    root.run("-n", "good", "--notify", "none", "--", "true")
    root.run("-n", "bad", "--notify", "none", "--", "false")
    piped = root.run("ls").stdout
    assert "\x1b[" not in piped
    shown = on_a_terminal(root, "ls")
    bad = next(line for line in shown.splitlines() if line.startswith("bad"))
    good = next(line for line in shown.splitlines() if line.startswith("good"))
    assert f"{RED}failed\x1b[0m" in bad and f"{GREEN}success\x1b[0m" in good
    # The colour codes take no room on screen: the columns still line up.
    header = shown.splitlines()[0]
    since = header.index("SINCE")
    for line in (bad, good):
        seen = line.replace(RED, "").replace(GREEN, "").replace("\x1b[0m", "")
        assert seen[since - 2 : since] == "  " and seen[since] != " ", seen
    assert "\x1b[" not in on_a_terminal(root, "ls", env={**root.env, "NO_COLOR": "1"})
    assert "\x1b[" not in on_a_terminal(root, "ls", env={**root.env, "TERM": "dumb"})
    assert "\x1b[" not in on_a_terminal(root, "ls", "--color", "never")
    assert RED in root.run("ls", "--color=always", env={**root.env, "NO_COLOR": "1"}).stdout
    assert RED in on_a_terminal(root, "ls", "--color", "always", env={**root.env, "TERM": "dumb"})


def test_a_bad_colour_choice_is_the_subcommands_error(root: Root) -> None:
    root.run("-n", "t", "--", "true")
    result = root.run("ls", "--color", "sometimes")
    assert_one_line_error(result, "runwrap ls: error:", "invalid choice", "(see runwrap ls --help)")


def test_labels_column_only_when_a_task_has_labels(root: Root) -> None:
    root.run("-n", "plain", "--", "true")
    assert "LABELS" not in root.run("ls", "-o", "wide").stdout
    root.run("-n", "tagged", "-l", "team=db", "-l", "env=prod", "--", "true")
    assert "LABELS" not in root.run("ls").stdout  # 80 columns have no room for them
    lines = root.run("ls", "-o", "wide").stdout.splitlines()
    assert lines[0].split()[-1] == "LABELS"
    assert lines[2].startswith("tagged") and lines[2].endswith("env=prod,team=db")
    assert lines[1].startswith("plain") and lines[1].endswith("-")


def test_global_options_before_the_subcommand(root: Root, tmp_path) -> None:
    other = tmp_path / "other"
    root.run("-n", "elsewhere", "--root", str(other), "--", "true")
    config = tmp_path / "config.yaml"
    config.write_text(f"root: {other}\n")
    env = {k: v for k, v in root.env.items() if k != "RUNWRAP_ROOT"}
    assert names_in_order(root.run("--root", str(other), "ls", env=env).stdout) == ["elsewhere"]
    env = {k: v for k, v in env.items() if k != "RUNWRAP_CONFIG"}
    env["XDG_CONFIG_HOME"] = str(tmp_path)  # no other config file found by accident
    shown = root.run("--config", str(config), "show", "elsewhere", env=env)
    assert shown.returncode == 0 and "elsewhere" in shown.stdout and "success" in shown.stdout
    missing = root.run("--config", str(config), "show", "nope", env=env)
    assert_one_line_error(missing, "no task 'nope' under", str(other), code=1)


def test_usage_errors_point_to_the_subcommands_help(root: Root) -> None:
    root.run("-n", "t", "--", "true")
    for args, fragment in (
        (["ls", "--jsn"], "unrecognized arguments: --jsn"),
        (["history"], "the following arguments are required: TASK"),
    ):
        sub = args[0]
        result = root.run(*args)
        assert_one_line_error(result, f"runwrap {sub}: error: {fragment}")
        assert result.stderr.rstrip().endswith(f"(see runwrap {sub} --help)")


def test_a_mistyped_root_is_exit_125_before_and_after_the_subcommand(root: Root, tmp_path) -> None:
    for args in (["--root", str(tmp_path / "nope"), "ls"], ["ls", "--root", str(tmp_path / "n")]):
        assert_one_line_error(root.run(*args), "does not exist", code=125)


def test_ls_imports_neither_argparse_nor_json(root: Root) -> None:
    """Its own parser and _json keep the most typed command near the interpreter's floor."""
    root.run("-n", "t", "-l", "team=db", "--", "true")
    env = {**root.env, "PYTHONPROFILEIMPORTTIME": "1"}
    args = [RUNWRAP, "ls", "-o", "wide", "--state", "ok", "--label", "team=db"]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "team=db" in result.stdout, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("import time:")]
    modules = {ln.split("|")[-1].strip() for ln in lines[1:]}
    assert "runwrap.commands.ls" in modules  # the measurement saw ls itself
    heavy = {"argparse", "json", "re", "enum", "dataclasses", "datetime", "runwrap.commands.parser"}
    assert not modules & heavy, sorted(modules & heavy)


def test_labels_a_file_could_hold_are_shown_safely(root: Root) -> None:
    root.run("-n", "t", "--", "true")
    path = root.task_dir("t") / "state.json"
    state = json.loads(path.read_text())
    state["labels"] = {"esc": "\x1b[2Jx\n", "n": [1, {"a": None}]}
    path.write_text(json.dumps(state))
    result = root.run("ls", "-o", "wide")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    row = result.stdout.splitlines()[1]
    assert row.endswith("esc=?[2Jx?,n=[1, {'a': None}]")
