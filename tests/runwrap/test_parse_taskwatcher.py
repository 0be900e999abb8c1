"""runwrap parse reads a feedback file as taskwatcher's parse does, and takes its --feedback form."""

from __future__ import annotations

import json

from conftest import assert_one_line_error


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
