"""The README's crontab lines and CLI block, run as they are written.

Crontab lines: the command part of each job line through `sh -c` with cron's
environment (PATH=/usr/bin:/bin, HOME, SHELL, LOGNAME) plus the variables the
README's own lines set; only the ROOT is changed (to a temporary one).
runwrap is where the README's PATH= line says it is: /usr/local/bin, bound
there in a private mount namespace (the machine's own stays untouched).

The CLI block: on the demo's runs, after the `export` line the demo prints,
one line at a time in a shell, as a reader would paste them.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.demo import demo_copy, demo_env
from helpers.polling import wait_for

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
VENV_BIN = Path(sys.executable).parent
README_ROOT = "/var/lib/runwrap"


def fenced_blocks(lang: str) -> list[str]:
    """The README's fenced blocks of one language, in order."""
    return re.findall(rf"^```{lang}\n(.*?)^```", README.read_text(), flags=re.M | re.S)


def cron_entries(block: str) -> tuple[dict[str, str], list[str]]:
    """(environment lines, command parts of the job lines) of a crontab block."""
    env, commands = {}, []
    for line in block.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        head = line.split(None, 1)[0]
        if "=" in head and head[0].isalpha():
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
            continue
        fields = line.split(None, 5)
        assert len(fields) == 6, line
        commands.append(fields[5])
    return env, commands


def _in_private_mount_ns() -> list[str] | None:
    """A prefix that runs a command in a mount namespace of its own, or None if none can be had."""
    for prefix in (["unshare", "--mount"], ["unshare", "--mount", "--map-root-user"]):
        try:
            probe = subprocess.run(
                [*prefix, "true"], capture_output=True, timeout=30, env={"PATH": "/usr/bin:/bin"}
            )
        except OSError:
            return None
        if probe.returncode == 0:
            return prefix
    return None


def test_the_readme_lists_each_page_once() -> None:
    text = README.read_text()
    listing = text.split("## Documentation", 1)[1].split("\n## ", 1)[0]
    pages = re.findall(r"^- \[([^\]]+)\]", listing, flags=re.M)
    assert pages and len(pages) == len(set(pages)), pages


def test_the_readmes_crontab_lines_run_as_written_under_crons_path(tmp_path) -> None:
    prefix = _in_private_mount_ns()
    if prefix is None:
        pytest.skip("no mount namespace here to put runwrap in /usr/local/bin")
    blocks = [b for b in fenced_blocks("cron") if "runwrap" in b]
    assert len(blocks) >= 2
    root = tmp_path / "root"
    local_bin = (
        tmp_path / "usr-local-bin"
    )  # what /usr/local/bin holds after `pipx install --global`
    local_bin.mkdir()
    for program in ("runwrap", "sitegen"):
        (local_bin / program).symlink_to(VENV_BIN / program)
    home = tmp_path / "home"
    home.mkdir()
    started = []
    for block in blocks:
        env_lines, commands = cron_entries(block.replace(README_ROOT, str(root)))
        assert commands
        for command in commands:
            env = {
                "PATH": "/usr/bin:/bin",
                "HOME": str(home),
                "SHELL": "/bin/sh",
                "LOGNAME": "root",
                **env_lines,
            }
            # In the namespace: /usr/local/bin is local_bin, then exactly cron's sh -c.
            wrapper = 'mount --bind "$1" /usr/local/bin && shift && exec sh -c "$1"'
            proc = subprocess.Popen(
                [*prefix, "/bin/sh", "-c", wrapper, "sh", str(local_bin), command],
                env=env,
                cwd=home,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,  # a group of its own, to be stopped whole
            )
            started.append((command, proc))
    # What matters is that cron's sh found runwrap and it recorded the run: a line is done
    # once its run's manifest is there (the flaky fetch would wait 5 s and 10 s between its
    # retries: it is stopped then, as an operator would), or once its shell has ended.
    for command, proc in started:
        task = command.split("-n ", 1)[1].split()[0]
        runs = root / "tasks" / task / "runs"
        wait_for(
            lambda proc=proc, runs=runs: proc.poll() is not None or any(runs.glob("*/m*.json")),
            timeout=60,
            what=f"{task}'s run",
        )
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the shells and runwrap (which passes it on)
        output, _ = proc.communicate(timeout=60)
        assert "runwrap: not found" not in output, (command, output)
        assert list(runs.glob("*/manifest.json")), (command, output)  # runwrap ran, recorded


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_readmes_cli_block_runs_on_the_demos_runs(tmp_path) -> None:
    [block] = [b for b in fenced_blocks("sh") if "runwrap ls" in b and "runwrap kill" in b]
    repo = demo_copy(tmp_path)
    env = {**demo_env(tmp_path), "DEMO_PORT": str(_free_port())}
    log = tmp_path / "demo.log"
    with open(log, "w") as f:
        demo = subprocess.Popen(
            [sys.executable, str(repo / "scripts" / "demo.py")],
            env=env,
            stdout=f,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    followers = []
    try:
        export = wait_for(
            lambda: next(
                (ln.strip() for ln in log.read_text().splitlines() if "export RUNWRAP_ROOT=" in ln),
                None,
            ),
            timeout=180,
            what="the demo's export line",
        )
        user_env = demo_env(tmp_path)  # a terminal of the reader's: no RUNWRAP_ROOT yet
        for line in block.strip().splitlines():
            script = f"{export}\n{line}\n"
            if " -f " in line:  # it follows until the run ends: the next line ends it
                out = tmp_path / "follow.log"
                with open(out, "w") as f:
                    follower = subprocess.Popen(
                        ["sh", "-c", script], env=user_env, stdout=f, stderr=subprocess.STDOUT
                    )
                followers.append((follower, out))
                wait_for(lambda out=out: "step" in out.read_text(), what=f"output of {line!r}")
                continue
            result = subprocess.run(
                ["sh", "-c", script], env=user_env, capture_output=True, text=True, timeout=60
            )
            assert result.returncode == 0, (line, result.stdout, result.stderr)
            assert result.stdout.strip(), line
        for follower, out in followers:
            # `kill` ended the run it followed: it ends too.
            follower.wait(timeout=60)
            assert "step" in out.read_text()
    finally:
        for follower, _ in followers:
            if follower.poll() is None:
                follower.kill()
        os.killpg(demo.pid, signal.SIGTERM)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
