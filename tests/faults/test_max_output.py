"""--max-output holds for the run's whole life, whoever writes and whenever.

A writer the job leaves behind (after its leader exited), one that ignores
SIGTERM and writes during the kill grace, one detached with setsid: the
log ends at most 1 MiB plus the marker line, and the manifest's
stdout_bytes is the file's real size.
"""

from __future__ import annotations

import os
import re

import pytest

from helpers.faults import figure, kill_marked, mark_env, new_mark, wait_gone
from helpers.runs import Root

LIMIT = 1024 * 1024
TOTAL = 50_000_000
MARKER = re.compile(
    rb"\n\[runwrap: (\d+) bytes of output dropped here \(--max-output 1048576\)\]\n"
)

CASES = {
    # The brief's own: the background writer is stopped with the leftovers, before it writes.
    "background writer": ("(sleep 1; head -c {total} /dev/zero; : {m}) &", 0),
    # It ignores SIGTERM, so it writes 50 MB during the kill grace. The job exits only
    # once the trap is set: a TERM that came first would end the writer (a race of the test).
    "background writer ignoring TERM": (
        "(trap '' TERM; : > trapped; sleep 1; head -c {total} /dev/zero; : {m}) & "
        "while [ ! -e trapped ]; do sleep 0.01; done",
        TOTAL,
    ),
    "writer while the job runs": ("head -c {total} /dev/zero; sleep 1.2; : {m}", TOTAL),
    "detached writer, then a timeout": (
        "setsid sh -c 'trap \"\" TERM; head -c {total} /dev/zero; sleep {m}' & sleep {m}",
        TOTAL,
        ["--timeout", "2", "--kill-grace", "0.5"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_max_output_holds(root: Root, case: str) -> None:
    mark = new_mark()
    root.env = mark_env(root.env, mark)
    job, written, *limits = CASES[case]
    limits = limits[0] if limits else ["--kill-grace", "5", "--timeout", "6"]
    try:
        result = root.run(
            "-n", "t", "--max-output", "1M", *limits, "--",
            "sh", "-c", job.format(total=TOTAL, m=mark),
        )  # fmt: skip
        assert "Traceback" not in result.stderr and result.stderr == ""
        wait_gone(mark, timeout=10)
    finally:
        kill_marked(mark)
    log = root.run_dir("t") / "stdout.log"
    size = os.path.getsize(log)
    manifest = root.manifest("t")
    assert manifest["stdout_bytes"] == size
    data = log.read_bytes()
    if written:
        found = MARKER.search(data)
        assert found, "no marker in the log"
        assert size == LIMIT + len(found.group(0))
        assert int(found.group(1)) == written - LIMIT
        assert manifest["output_truncated"] == {"stdout": written - LIMIT, "stderr": 0}
        assert os.stat(log).st_blocks * 512 <= LIMIT + 64 * 1024  # no hole left unpunched
    else:
        assert size == 0 and manifest["output_truncated"] is None
    figure(
        f"max-output ({case}): {written} bytes written, log {size} bytes "
        f"(limit {LIMIT} + marker), stdout_bytes = file size"
    )
