"""`make demo` and `make venv` on a fresh machine: scripts/demo.py and the Makefile, run for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from helpers.demo import REPO, VENV_BIN, demo_copy, demo_env


def test_the_demos_ls_lists_the_run_it_started_in_the_background(tmp_path) -> None:
    """The background run was missing from the table when runwrap was slow to start it."""
    repo = demo_copy(tmp_path)
    bin_dir = tmp_path / "bin"  # the demo finds runwrap next to its python
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    runwrap = bin_dir / "runwrap"
    # A slow start, as on a loaded machine: the background run takes 3 s to begin.
    runwrap.write_text(
        "#!/bin/sh\n"
        'case " $* " in *" nightly-import "*) sleep 3;; esac\n'
        f'exec {VENV_BIN / "runwrap"} "$@"\n'
    )
    runwrap.chmod(0o755)
    # No sitegen beside it: the demo stops after its table instead of serving.
    result = subprocess.run(
        [str(bin_dir / "python"), str(repo / "scripts" / "demo.py")],
        env=demo_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert "sitegen is not built yet" in result.stdout
    table = result.stdout.split("exit codes")[-1]
    assert "nightly-import" in table, result.stdout


def test_make_venv_says_in_one_line_when_python_cannot_make_a_venv(tmp_path) -> None:
    """Stock Debian's python3 has no ensurepip (python3-venv has it): shadowed here the same way."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(REPO / "Makefile", work / "Makefile")
    shutil.copy(REPO / "pyproject.toml", work / "pyproject.toml")
    shadow = tmp_path / "shadow" / "ensurepip"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'ensurepip'\")\n"
    )
    env = {**os.environ, "PYTHONPATH": str(shadow.parent)}
    python = shutil.which("python3", path="/usr/bin:/bin")
    result = subprocess.run(
        ["make", "--no-print-directory", "venv", f"PYTHON={python}", "VENV=.venv"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    said = [line for line in lines if "python3-venv" in line]
    assert len(said) == 1, result.stderr
    assert "apt install python3-venv" in said[0]
    assert not (work / ".venv").exists()  # stopped before making a broken one
