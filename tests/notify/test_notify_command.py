"""The command notifier, with a real script: RUNWRAP_* variables, JSON on stdin, failures."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from helpers.polling import wait_for


def group_alive(pgid: int) -> bool:
    """True while a process of the group `pgid` is alive (a zombie is not: it waits for init)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_bytes().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != b"Z" and int(fields[2]) == pgid:
            return True
    return False


def script(tmp_path, body: str) -> str:
    """A small executable Python script."""
    path = tmp_path / "notifier.py"
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)
    return str(path)


RECORDER = """
import json, os, sys
out = os.environ["OUT"]
event = {k: v for k, v in os.environ.items() if k.startswith("RUNWRAP_")}
event["stdin"] = json.load(sys.stdin)
with open(out, "a") as f:
    f.write(json.dumps(event) + "\\n")
"""


def test_command_gets_the_event_in_variables_and_as_json_on_stdin(rw, tmp_path):
    out = tmp_path / "events.jsonl"
    rw.config(
        {"notifiers": {"pager": {"type": "command", "command": [script(tmp_path, RECORDER)]}}}
    )
    env = {**rw.env, "OUT": str(out)}
    rw.run("--notify", "pager", "--", "sh", "-c", "echo bad >&2; exit 4", env=env)
    rw.run("--notify", "pager", "--", "true", env=env)
    failure, recovery = [json.loads(line) for line in out.read_text().splitlines()]
    assert failure["RUNWRAP_EVENT"] == "failure"
    assert failure["RUNWRAP_TASK"] == "job"
    assert failure["RUNWRAP_STATUS"] == "failed"
    assert failure["RUNWRAP_EXIT_CODE"] == "4"
    assert failure["RUNWRAP_FAILURES"] == "1"
    assert failure["RUNWRAP_SUBJECT"].startswith("[runwrap] FAILED: job")
    payload = failure["stdin"]
    assert payload["event"] == "failure"
    assert payload["exit_code"] == 4
    assert payload["output_tail"] == "bad"
    assert payload["run_id"] == failure["RUNWRAP_RUN_ID"]
    assert recovery["RUNWRAP_EVENT"] == "recovery"


def test_shell_command_line(rw, tmp_path):
    out = tmp_path / "line.txt"
    rw.config(
        {
            "notifiers": {
                "log": {
                    "type": "command",
                    "command": f'echo "$RUNWRAP_EVENT $RUNWRAP_TASK" >> {out}',
                }
            }
        }
    )
    rw.fail(extra=("--notify", "log"))
    assert out.read_text() == "failure job\n"


def test_failing_command_is_recorded_and_retried_at_the_next_run(rw, tmp_path):
    flag = tmp_path / "works"
    body = f"import os, sys\nsys.stdin.read()\nif not os.path.exists({str(flag)!r}):\n"
    body += "    print('pager service unavailable', file=sys.stderr)\n    sys.exit(3)\n"
    rw.config({"notifiers": {"pager": {"type": "command", "command": [script(tmp_path, body)]}}})
    assert rw.fail(extra=("--notify", "pager")).returncode == 1
    [attempt] = rw.notifications(0)
    assert attempt["error"] == "exited with status 3: pager service unavailable"
    assert rw.ledger()["pager"]["last_error"] == attempt["error"]
    flag.touch()
    rw.fail(extra=("--notify", "pager"))
    [retry] = rw.notifications(1)
    assert (retry["event"], retry["ok"]) == ("failure", True)
    assert rw.ledger()["pager"]["pending"] == []


def test_command_that_hangs_is_stopped_at_its_timeout(rw, tmp_path):
    pidfile, finished = tmp_path / "notifier.pid", tmp_path / "finished"
    command = f"echo $$ > {pidfile}; sleep 30; touch {finished}"
    rw.config({"notifiers": {"slow": {"type": "command", "command": command, "timeout": 0.3}}})
    result = rw.fail(extra=("--notify", "slow"))
    assert result.returncode == 1
    [attempt] = rw.notifications(0)
    assert attempt["ok"] is False
    assert "timed out" in attempt["error"]
    # Cut short, not waited for, and stopped with all it started (its sleep too).
    assert not finished.exists()
    wait_for(lambda: not group_alive(int(pidfile.read_text())), what="the notifier's group gone")
