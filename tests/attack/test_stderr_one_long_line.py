"""A failed run whose stderr is one long line with no newline (a JSON error, a Java
message, a progress bar's carriage returns ending in the error) is still found by
what it said last, and its line is still new.

findtext.log_tail and whatchanged._tail_lines read only the end of a log and drop
the first line there as cut by where the reading began: when that line is the only
one, nothing is left. Before: `history --grep "disk full"` found no run (stderr over
4 KiB), `runwrap diff` said "nothing new on stderr" (over 256 KiB) for a run whose
every byte of stderr was new.
"""

from __future__ import annotations

import json

from helpers.runs import Root

WRITE = 'import sys; sys.stderr.write("{fill}" * {n} + " FATAL: disk full"); sys.exit(1)'


def _fail(root: Root, n: int, fill: str = "x"):
    result = root.run("-n", "job", "--", "python3", "-c", WRITE.format(fill=fill, n=n))
    assert result.returncode == 1, result.stderr


def test_history_grep_finds_the_end_of_a_long_single_line(root: Root) -> None:
    assert root.run("-n", "job", "--", "true").returncode == 0
    _fail(root, 5000)
    found = root.run("history", "job", "--grep", "disk full")
    assert found.returncode == 0, found.stderr
    assert "failed" in found.stdout, found.stdout


def test_diff_shows_a_huge_single_line_as_new(root: Root) -> None:
    assert root.run("-n", "job", "--", "true").returncode == 0
    _fail(root, 300_000)
    shown = root.run("diff", "job", "--json")
    assert shown.returncode == 0, shown.stderr
    changes = json.loads(shown.stdout)
    assert changes["stderr"]["lines"], changes["stderr"]
