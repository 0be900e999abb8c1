"""Bad input: one line on stderr naming the problem, exit 125, no traceback, no run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers.runs import Root, assert_one_line_error


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("a/b", "path separator"),
        ("..", "starts with a dot"),
        (".hidden", "starts with a dot"),
        ("tab\there", "control character"),
        ("x" * 65, "longer than 64"),
        ("", "is empty"),
    ],
)
def test_invalid_task_names(root: Root, name: str, problem: str) -> None:
    result = root.run("-n", name, "--", "true")
    assert_one_line_error(result, "bad task name", problem)
    assert not (root.path / "tasks").exists() or not any((root.path / "tasks").iterdir())


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--frobnicate", "--", "true"], "unknown option --frobnicate"),
        (["--timeout", "soon", "--", "true"], "bad --timeout 'soon'"),
        (["--timeout", "--", "true"], "option --timeout needs a value"),
        (["--kill-grace", "-3", "--", "true"], "bad --kill-grace"),
        (["--overlap", "maybe", "--", "true"], "use skip, wait or allow"),
        (["--max-output", "lots", "--", "true"], "bad --max-output"),
        (["--keep", "many", "--", "true"], "bad --keep"),
        (["--label", "novalue", "--", "true"], "bad label 'novalue'"),
        (["--fail-on-stderr=yes", "--", "true"], "takes no value"),
        (["-n"], "no command given"),
        (["--"], "no command after '--'"),
        (["sh", "-c", "true"], "unknown subcommand 'sh'"),
    ],
)
def test_bad_command_lines(root: Root, args: list[str], fragment: str) -> None:
    assert_one_line_error(root.run(*args), fragment)


def test_malformed_config_file(root: Root, tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("defaults:\n  timeout: [1, 2\n")
    result = root.run("--config", str(config), "--", "true")
    assert_one_line_error(result, f"malformed config file {config}", "line")


def test_config_with_a_bad_value_names_the_field(root: Root, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("tasks:\n  job:\n    timeout: forever\n")
    result = root.run("--config", str(config), "-n", "job", "--", "true")
    assert_one_line_error(result, "tasks.job timeout", "forever")


def test_config_with_an_unknown_key(root: Root, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("defaults:\n  timout: 5\n")
    assert_one_line_error(
        root.run("--config", str(config), "--", "true"), "unknown option 'timout'"
    )


def test_unreadable_config_file(root: Root, tmp_path: Path) -> None:
    result = root.run("--config", str(tmp_path / "missing.yaml"), "--", "true")
    assert_one_line_error(result, "cannot read config file")


def test_a_root_that_cannot_be_created_still_runs_the_job(root: Root, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = root.run("--root", str(blocker / "sub"), "--", "sh", "-c", "exit 4")
    assert_one_line_error(result, "cannot create task", "running it unrecorded", "--root", code=4)


def test_config_values_apply_per_task_and_the_command_line_wins(root: Root, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        f"root: {tmp_path / 'from-config'}\n"
        "defaults:\n  timeout: 1h\n  labels: {team: ops}\n"
        "tasks:\n  job:\n    timeout: 30m\n    labels: {kind: backup}\n"
    )
    env = {k: v for k, v in root.env.items() if k != "RUNWRAP_ROOT"}
    env["RUNWRAP_CONFIG"] = str(config)
    cfg_root = Root(tmp_path / "from-config", root.cwd)
    root.run("-n", "job", "--", "true", env=env)
    m = cfg_root.manifest("job")
    assert m["timeout_s"] == 1800 and m["labels"] == {"team": "ops", "kind": "backup"}
    root.run("-n", "job", "-t", "90", "-l", "kind=manual", "--", "true", env=env)
    m = cfg_root.manifest("job")
    assert m["timeout_s"] == 90 and m["labels"] == {"team": "ops", "kind": "manual"}
    root.run("-n", "other", "--", "true", env=env)
    assert cfg_root.manifest("other")["timeout_s"] == 3600


def test_a_changed_config_file_is_read_again(root: Root, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("defaults:\n  timeout: 1h\n")
    env = {**root.env, "RUNWRAP_CONFIG": str(config)}
    root.run("-n", "c", "--", "true", env=env)
    assert root.manifest("c")["timeout_s"] == 3600
    assert list((tmp_path / "cache" / "runwrap").iterdir())  # the parsed form is cached
    root.run("-n", "c", "--", "true", env=env)
    assert root.manifest("c")["timeout_s"] == 3600  # from the cache
    config.write_text("defaults:\n  timeout: 2m\n")
    root.run("-n", "c", "--", "true", env=env)
    assert root.manifest("c")["timeout_s"] == 120
    config.write_text("defaults: [oops\n")
    assert_one_line_error(root.run("-n", "c", "--", "true", env=env), "malformed config file")


def test_help_lists_the_options(root: Root) -> None:
    for args in (["--help"], ["--help", "--", "x"]):
        result = root.run(*args)
        assert result.returncode == 0
        assert "--overlap" in result.stdout and "--max-output" in result.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_full_disk_does_not_lose_the_manifest(root: Root, tmp_path: Path) -> None:
    import subprocess

    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)])
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        small = Root(mnt / "root", root.cwd)
        # The job fills the disk to the last block, then fails.
        result = small.run("-n", "fill", "--", "sh", "-c", "cat /dev/zero > filler")
        assert result.returncode != 0
        m = small.manifest("fill")
        assert m["status"] == "failed" and m["ended_at"]
        assert small.state("fill")["status"] == "failed"
    finally:
        subprocess.run(["umount", "-l", str(mnt)])
