"""chunks.append never waits on what stands at a log's path: a FIFO put there after
load_task read the log (no reader: an open for writing would wait for one for ever) is
refused at once, as a link or a directory is, and save_task writes the cache whole."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sitegen.build import chunks

pytestmark = pytest.mark.unit


def test_a_fifo_in_a_logs_place_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "a.log"
    os.mkfifo(fifo)
    code = (
        "import sys\nfrom sitegen.build import chunks\n"
        "try:\n    chunks.append(sys.argv[1], chunks.encode('t', 'a', {}))\n"
        "except OSError:\n    sys.exit(3)\n"
    )
    try:
        done = subprocess.run([sys.executable, "-c", code, str(fifo)], timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("chunks.append waited on a FIFO")
    assert done.returncode == 3


def test_a_regular_log_is_still_appended_to(tmp_path):
    log = tmp_path / "a.log"
    chunks.append(str(log), chunks.encode("t", "a", {"n": 1}))
    chunks.append(str(log), chunks.encode("t", "a", {"n": 2}))
    assert chunks.decode(log.read_bytes(), "t", "a") == [{"n": 1}, {"n": 2}]
