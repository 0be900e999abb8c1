"""The real `runwrap` in a temporary root: starting it, reading what it wrote, its errors.

Fixtures: `root` (a `Root`: no config file) and `rw` (a `Runwrap`: a config file
in tmp_path, task "job" by default, no proxy).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runwrap.store.layout import run_ids_in

BIN = Path(sys.executable).parent
RUNWRAP = str(BIN / "runwrap")
SITEGEN = str(BIN / "sitegen")


def assert_one_line_error(result, *fragments: str, code: int = 125) -> None:
    """runwrap failed with `code` and said why in one line naming each of `fragments`."""
    assert result.returncode == code, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    # "runwrap: ..." or, for a subcommand's usage error, "runwrap ls: error: ..."
    assert lines[0].startswith("runwrap") and ": " in lines[0], lines[0]
    assert "internal error" not in lines[0], lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


class Root:
    """A runwrap root in tmp_path, with helpers to run runwrap and read what it wrote."""

    def __init__(self, path: Path, cwd: Path) -> None:
        self.path = path
        self.cwd = cwd
        self.procs: list[subprocess.Popen] = []
        self.env = {
            **os.environ,
            "RUNWRAP_ROOT": str(path),
            "RUNWRAP_CONFIG": "/dev/null",
            "XDG_CACHE_HOME": str(cwd.parent / "cache"),
        }

    def run(self, *args: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
        """Run `runwrap ARGS` to completion, capturing its own output."""
        return subprocess.run(
            [RUNWRAP, *args],
            env=kwargs.pop("env", self.env),
            cwd=kwargs.pop("cwd", self.cwd),
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )

    def sitegen(self, out: Path) -> dict:
        """Build the site of this root into `out` with the real sitegen; its status.json."""
        done = subprocess.run(
            [SITEGEN, "--root", str(self.path), "--out", str(out)],
            env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads((out / "status.json").read_text())

    def start(self, *args: str, **kwargs) -> subprocess.Popen:
        """Start `runwrap ARGS` in the background (stopped at the end of the test)."""
        proc = subprocess.Popen(
            [RUNWRAP, *args],
            env=kwargs.pop("env", self.env),
            cwd=kwargs.pop("cwd", self.cwd),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **kwargs,
        )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        """Stop what a test started and left running (a failed test must not leak jobs)."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()  # runwrap passes it on to the job's whole group
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def task_dir(self, task: str) -> Path:
        return self.path / "tasks" / task

    def run_ids(self, task: str) -> list[str]:
        """The task's run ids, oldest first, as every reader lists them."""
        return run_ids_in(str(self.task_dir(task) / "runs"))

    def run_dir(self, task: str, run_id: str | None = None) -> Path:
        run_id = run_id or self.run_ids(task)[-1]
        return self.task_dir(task) / "runs" / run_id

    def manifests(self, task: str) -> list[dict]:
        return [self.manifest(task, r) for r in self.run_ids(task)]

    def manifests_so_far(self, task: str) -> list[dict]:
        """The manifests readable right now (for polling: a run may not have one yet)."""
        found = []
        for run_id in self.run_ids(task):
            try:
                found.append(self.manifest(task, run_id))
            except (OSError, ValueError):
                continue
        return found

    def manifest(self, task: str, run_id: str | None = None) -> dict:
        return json.loads((self.run_dir(task, run_id) / "manifest.json").read_text())

    def state(self, task: str) -> dict:
        return json.loads((self.task_dir(task) / "state.json").read_text())


@pytest.fixture
def root(tmp_path: Path):
    """A `Root` in tmp_path, no config file; what the test started is stopped after it."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    root = Root(tmp_path / "root", cwd)
    yield root
    root.stop_all()


def pid_alive(pid: int) -> bool:
    """True if `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :].split()[0] != b"Z"


_PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


class Runwrap(Root):
    """The real `runwrap` CLI over a root and a config file in tmp_path; task "job" by default."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path / "root", tmp_path)
        self.tmp = tmp_path
        self.root = self.path
        self.config_path = tmp_path / "config.yaml"
        self.config_path.write_text("")
        self.env = {k: v for k, v in self.env.items() if k not in _PROXY_VARS}
        self.env.update(
            NO_PROXY="*",
            RUNWRAP_CONFIG=str(self.config_path),
            XDG_CACHE_HOME=str(tmp_path / "cache"),  # the parsed-config cache
        )

    def config(self, data: dict) -> None:
        """Write the YAML config file."""
        self.config_path.write_text(yaml.safe_dump(data))

    def run(self, *args: str, task: str = "job", **kw) -> subprocess.CompletedProcess:
        """`runwrap -n TASK ARGS`, to completion."""
        return super().run("-n", task, *args, **kw)

    def start(self, *args: str, task: str = "job") -> subprocess.Popen:
        """`runwrap -n TASK ARGS` in the background."""
        return super().start("-n", task, *args)

    def fail(self, task: str = "job", code: int = 1, extra: tuple = ()):
        """One failing run (writes a line on stderr first)."""
        return self.run(*extra, "--", "sh", "-c", f"echo 'it broke' >&2; exit {code}", task=task)

    def ok(self, task: str = "job", extra: tuple = ()):
        """One successful run."""
        return self.run(*extra, "--", "true", task=task)

    def task_dir(self, task: str = "job") -> Path:
        return super().task_dir(task)

    def state(self, task: str = "job") -> dict:
        return super().state(task)

    def manifests(self, task: str = "job") -> list[dict]:
        """Every run's readable manifest, oldest first."""
        return self.manifests_so_far(task)

    def notifications(self, index: int, task: str = "job") -> list[dict]:
        """What the notifiers were told about one run (its notifications.json; [] if none)."""
        run_id = self.manifests(task)[index]["run_id"]
        path = self.task_dir(task) / "runs" / run_id / "notifications.json"
        return json.loads(path.read_text()) if path.exists() else []

    def ledger(self, task: str = "job") -> dict:
        """The notifiers' memory: the task's notify.json."""
        return json.loads((self.task_dir(task) / "notify.json").read_text())


@pytest.fixture
def rw(tmp_path: Path):
    """A `Runwrap`: a root with its config file in tmp_path, task "job" by default."""
    runwrap = Runwrap(tmp_path)
    yield runwrap
    runwrap.stop_all()


def imported(cmd: list[str], env: dict[str, str]) -> set[str]:
    """The modules `cmd` imports, as PYTHONPROFILEIMPORTTIME reports them."""
    result = subprocess.run(
        cmd,
        env={**env, "PYTHONPROFILEIMPORTTIME": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("import time:")]
    return {ln.split("|")[-1].strip() for ln in lines[1:]}  # [0] is the header
