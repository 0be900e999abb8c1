"""Names a job gives its artifacts: not UTF-8, newlines, control characters, leading dashes.

runwrap records the run (a manifest every JSON parser takes) and `show`,
`history` and `ls` print it without a traceback or a raw control character.
"""

from __future__ import annotations

import json

from helpers.faults import figure, kill_marked, mark_env, new_mark
from helpers.runs import Root

NAMES = [
    b"not-utf8-\xff\xfe",
    b"new\nline",
    b"escape-\x1b[31mred\x1b[0m",
    b"bell-\x07",
    b"carriage\rreturn",
    b"-n",
    b"--help",
    b"-",
    b" leading space",
    b"tab\there",
    b'back\\slash and "quotes"',
    b"surrogate-\xed\xa0\x80",
    b"overlong-\xc0\xaf",
    "unicode-\u202etxt.exe".encode(),
]
JOB = """
import os, sys
names = {names!r}
for name in names:
    with open(name, "wb") as f:
        f.write(b"x")
os.mkdir(b"dir-\\xfe\\nx")
with open(b"dir-\\xfe\\nx/-inner\\x01", "wb") as f:
    f.write(b"y")
with open(os.environ["RUNWRAP_FEEDBACK"], "wb") as f:
    f.write(b"[info]\\x1b]0;title\\x07\\x1b[2J\\xff\\n[progress]50\\n")
"""


def test_hostile_artifact_names(root: Root) -> None:
    mark = new_mark()
    root.env = mark_env(root.env, mark)
    try:
        result = root.run("-n", "t", "--", "python3", "-c", JOB.format(names=NAMES), mark)
    finally:
        kill_marked(mark)
    assert (result.returncode, result.stderr) == (0, "")
    raw = (root.run_dir("t") / "manifest.json").read_bytes()
    raw.decode("ascii")  # escaped: any JSON parser, any terminal
    manifest = json.loads(raw)
    assert manifest["status"] == "success"
    assert len(manifest["artifacts"]) == len(NAMES) + 1
    for args in (["show", "t"], ["history", "t"], ["ls"], ["show", "--json", "t"]):
        shown = root.run(*args)
        assert shown.returncode == 0, (args, shown.stderr)
        assert "Traceback" not in shown.stderr and shown.stderr == ""
        control = [c for c in shown.stdout if (ord(c) < 32 and c != "\n") or ord(c) == 127]
        assert control == [], (args, control)
    json.loads(root.run("show", "--json", "t").stdout)
    figure(
        f"hostile names: {len(NAMES) + 1} artifacts named with bytes that are not UTF-8, "
        "newlines, control and escape characters, leading dashes: recorded (ASCII JSON), "
        "show/history/ls exit 0 with no raw control character"
    )
