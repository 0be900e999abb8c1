"""runwrap parse reads a feedback file as taskwatcher's parse does, and takes its --feedback form."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers.runs import RUNWRAP, assert_one_line_error


def test_parse_takes_the_feedback_option_and_ignores_indentation_and_spaces(root, tmp_path) -> None:
    path = tmp_path / "feedback.log"
    path.write_text(
        "    [progress]40\n\t[ info ]  copying files  \n[status]ok\r\n[gone]x\n  [gone]\n"
    )
    for args in (["parse", str(path)], ["parse", "--feedback", str(path)]):
        result = root.run(*args)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {
            "progress": "40",
            "info": "copying files",
            "status": "ok",
        }


def test_parse_needs_exactly_one_file(root, tmp_path) -> None:
    assert_one_line_error(root.run("parse"), "usage: runwrap parse FILE")
    path = tmp_path / "f"
    path.write_text("")
    result = root.run("parse", str(path), "--feedback", str(path))
    assert_one_line_error(result, "usage: runwrap parse FILE")


# Runs a command and prints the peak RSS (KiB) of that command alone.
PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stderr.write(done.stderr)\n"
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "print(done.stdout, end='')\n"
)


def test_parse_streams_a_huge_line_in_bounded_memory(root, tmp_path) -> None:
    """A 512 MB line (a sparse file: no disk) between values: read in chunks, never held."""
    path = tmp_path / "feedback.log"
    with open(path, "wb") as f:
        f.write(b"[before]1\n  [info] kept \n[huge]")
        f.truncate(512 * 1024 * 1024)
        f.seek(0, 2)
        f.write(b"\n[after]2\n[]\n[last]3\n[tail]partial")
    result = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, RUNWRAP, "parse", str(path)],
        env=root.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    head, _, out = result.stdout.partition("\n")
    code, peak_kib = (int(x) for x in head.split())
    assert code == 0, result.stderr
    assert json.loads(out) == {"last": "3", "tail": "partial"}
    assert peak_kib < 64 * 1024, f"runwrap parse peaked at {peak_kib // 1024} MiB"
