"""runwrap history --grep: the runs whose labels, reason, feedback or stderr tail say TEXT."""

from __future__ import annotations

import json

from helpers.runs import Root


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
