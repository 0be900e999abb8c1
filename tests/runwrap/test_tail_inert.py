"""What a job wrote reaches a terminal inert, and tail says what it shows and how a run ended."""

from __future__ import annotations

import subprocess
from pathlib import Path

from helpers.polling import wait_for
from helpers.runs import RUNWRAP, Root

# The title, the clipboard (OSC 52), a colour, a bell, a CR that overwrites the line,
# a C1 CSI, a bidi override: all of them must arrive as text, none as a control.
HOSTILE = (
    r"printf 'a\033]0;pwned\007b\033]52;c;ZWNobyBwd25lZA==\007c\033[31md\r"
    r"e\302\233" + r"2Jf\342\200\256g\tTAB\r\nCRLF\n'"
)
SHOWN = "a\\x1b]0;pwned\\x07b\\x1b]52;c;ZWNobyBwd25lZA==\\x07c\\x1b[31md\\x0de\\x9b2Jf\\u202eg\tTAB\nCRLF\n"


def _no_controls(text: str) -> None:
    assert not [c for c in text if not c.isprintable() and c not in "\n\t"], repr(text)


def test_tail_shows_control_characters_and_keeps_newlines_and_tabs(root: Root) -> None:
    root.run("-n", "esc", "--", "sh", "-c", HOSTILE)
    out = root.run("tail", "esc").stdout
    _no_controls(out)
    assert out == SHOWN


def test_show_log_tail_has_no_controls(root: Root) -> None:
    root.run("-n", "esc", "--notify", "none", "--", "sh", "-c", HOSTILE + " >&2; exit 1")
    out = root.run("show", "esc").stdout
    _no_controls(out)
    assert "\\x1b]52;c;" in out


def test_tail_f_shows_control_characters_as_they_come(root: Root, tmp_path: Path) -> None:
    release = tmp_path / "release"
    job = f"printf 'x\\033]0;t\\007\\n'; while [ ! -e {release} ]; do sleep 0.02; done; " + HOSTILE
    proc = root.start("-n", "esc", "--", "sh", "-c", job)
    wait_for(lambda: root.run_ids("esc"), what="the run")
    tail = subprocess.Popen(
        [RUNWRAP, "tail", "-f", "esc"],
        env=root.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert tail.stdout.readline() == "x\\x1b]0;t\\x07\n"
        release.touch()
        out, err = tail.communicate(timeout=30)
    finally:
        tail.kill()
        proc.wait(timeout=30)
    assert out == SHOWN
    assert err.splitlines()[-1].startswith("run ended: success after ")


def test_tail_f_ends_with_one_closing_line(root: Root) -> None:
    root.run("-n", "quick", "--timeout", "1", "--", "sh", "-c", "echo hi; sleep 30")
    result = root.run("tail", "-f", "quick")
    assert result.stdout == "hi\n"
    lines = result.stderr.splitlines()
    assert lines[-1].startswith("run ended: timeout after 1"), result.stderr
    assert result.returncode == 0


def test_tail_of_a_quiet_timeout_falls_back_to_stdout(root: Root) -> None:
    root.run(
        "-n", "to", "--notify", "none", "--timeout", "1", "--", "sh", "-c", "echo hi; sleep 30"
    )
    assert root.manifest("to")["status"] == "timeout"
    result = root.run("tail", "to")
    assert result.stdout == "hi\n"
    assert (
        "stdout.log of the timeout run" in result.stderr and "stderr.log is empty" in result.stderr
    )
    # Asked for, stderr is what is shown, even when empty.
    assert root.run("tail", "--stderr", "to").stdout == ""
