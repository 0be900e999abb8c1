"""runwrap history --grep: the runs whose labels, reason, feedback or stderr tail say TEXT."""

from __future__ import annotations

import json
import subprocess

from helpers.runs import RUNWRAP, Root


def ids(root: Root, *args: str) -> list[str]:
    result = root.run("history", "h", "--json", "--limit", "0", *args)
    assert result.returncode == 0, result.stderr
    return [m["run_id"] for m in json.loads(result.stdout)]


def test_grep_finds_runs_by_stderr_tail_labels_and_feedback(root: Root) -> None:
    # A failed run whose stderr ends with the word, after more than the bytes read.
    noisy = "i=0; while [ $i -lt 400 ]; do echo line $i >&2; i=$((i+1)); done"
    root.run("-n", "h", "--", "sh", "-c", f"echo 'Quota exceeded on /srv' >&2; {noisy}; exit 1")
    root.run("-n", "h", "--", "sh", "-c", f"{noisy}; echo 'disk FULL on /srv' >&2; exit 1")
    root.run("-n", "h", "-l", "env=staging", "--", "true")
    root.run("-n", "h", "--", "sh", "-c", 'echo "[info]nightly rollup" >> "$RUNWRAP_FEEDBACK"')
    # A success's stderr is not searched: it is not what went wrong.
    root.run("-n", "h", "--", "sh", "-c", "echo 'disk full warning' >&2")
    runs = ids(root)  # newest first
    assert ids(root, "--grep", "disk full") == [runs[3]]
    assert ids(root, "--grep", "quota exceeded") == []  # long before the tail: not read
    assert ids(root, "--grep", "env=staging") == [runs[2]]
    assert ids(root, "--grep", "ROLLUP") == [runs[1]]
    assert ids(root, "--grep", "exited with status 1") == runs[3:]
    assert ids(root, "--grep", "h", "--status", "success", "--limit", "1") == [runs[0]]
    shown = root.run("history", "h", "--grep", "nothing like it")
    assert shown.returncode == 0 and "matching 'nothing like it'" in shown.stdout


def test_plain_history_imports_neither_argparse_nor_the_log_search(root: Root) -> None:
    """Its own parser keeps `history TASK --limit 0` near the cost of its reads; the log
    search (typing, re) loads only for a --grep."""
    root.run("-n", "h", "--", "true")
    env = {**root.env, "PYTHONPROFILEIMPORTTIME": "1"}
    args = [RUNWRAP, "history", "h", "--limit", "0", "--status", "success", "--color=never"]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "success" in result.stdout, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("import time:")]
    modules = {ln.split("|")[-1].strip() for ln in lines[1:]}
    assert "runwrap.commands.history" in modules  # the measurement saw history itself
    heavy = {"argparse", "re", "typing", "runwrap.commands.parser", "runwrap.store.findtext"}
    assert not modules & heavy, sorted(modules & heavy)
    # A word it does not know still goes to argparse, with its one-line error.
    bad = root.run("history", "h", "--limit", "x")
    assert bad.returncode == 125 and "not a whole number" in bad.stderr, bad.stderr
    assert "Traceback" not in bad.stderr
