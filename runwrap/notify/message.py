"""What a notice says: rendered from the run's manifest and the task state.

Subjects and bodies are Python format strings (`{task} failed on {host}`)
over the variables of `context()`: no template engine to import on the run
path, and a user's template is checked against the same variables when the
config is read. The `json` payload (webhooks, a command's stdin) carries the
same facts as data.
"""

from __future__ import annotations

import os
import time

from runwrap import SCHEMA
from runwrap.store import siteurls
from runwrap.store.durations import describe, flag_of
from runwrap.store.layout import STDERR, STDOUT
from runwrap.timefmt import parse_iso
from runwrap.units import count, format_duration

TAIL_LINES = 20
_TAIL_BYTES = 64 * 1024  # enough for 20 long lines; a huge log is never read whole
_LINE_MAX = 500

DEFAULT_SUBJECT = "[runwrap] {title}: {task} on {host}"
DEFAULT_BODY = "{summary}\n\n{details}{changes_block}{output_block}"

TITLES = {
    "failure": "FAILED",
    "recovery": "RECOVERED",
    "still-failing": "STILL FAILING",
    "skipped": "SKIPPED",
    "stuck": "STUCK",
    "late": "LATE",
    "duration": "SLOW",  # or FAST: context() says which
}

# Every variable a template may use, with a sample value for checking templates.
VARIABLES = {
    "event": "failure",
    "title": "FAILED",
    "task": "backup",
    "status": "failed",
    "reason": "exited with status 1",
    "host": "host",
    "user": "user",
    "run_id": "20261122T043733Z-3f9a",
    "command": "backup.sh",
    "started_at": "2026-11-22 05:37:33 +0100",
    "ended_at": "2026-11-22 05:37:34 +0100",
    "duration": "1 s",
    "duration_s": 1.0,
    "duration_flag": "",
    "duration_check": "",
    "exit_code": 1,
    "signal": "",
    "failures": 1,
    "failing_since": "2026-11-22 05:37:33 +0100",
    "skips": 0,
    "holder": "",
    "late_since": "",
    "missed": 0,
    "next_expected": "",
    "schedule": "",
    "url": "",
    "output": "",
    "output_name": "stderr",
    "output_block": "",
    "changes": "",
    "changes_block": "",
    "summary": "",
    "details": "",
}


def check_template(text: str) -> str | None:
    """None if `text` renders with our variables, else what is wrong with it."""
    try:
        text.format_map(VARIABLES)
    except KeyError as e:
        return f"unknown variable {{{e.args[0]}}}; known: {', '.join(VARIABLES)}"
    except (ValueError, IndexError, AttributeError) as e:
        return f"bad template ({e}); write {{task}} for a variable and {{{{ for a brace"
    return None


def _tail(path: str) -> str:
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - _TAIL_BYTES))
            data = f.read()
    except OSError:
        return ""
    lines = data.decode("utf-8", "replace").splitlines()
    if size > _TAIL_BYTES and lines:
        lines = lines[1:]  # the first line read is probably cut
    lines = [ln if len(ln) <= _LINE_MAX else ln[:_LINE_MAX] + "…" for ln in lines]
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines[-TAIL_LINES:])


def output_tail(run_path: str | None) -> tuple[str, str]:
    """(name, last lines): stderr's, or stdout's when stderr is empty."""
    if not run_path:
        return "stderr", ""
    text = _tail(os.path.join(run_path, STDERR))
    if text:
        return "stderr", text
    return "stdout", _tail(os.path.join(run_path, STDOUT))


# The moments a notice shows; the JSON payload keeps them as the files do (ISO, UTC).
_MOMENTS = ("started_at", "ended_at", "failing_since", "late_since", "next_expected")


def local_time(iso_text: object) -> str:
    """'2026-11-22 05:37:33 +0100': a moment from a file in the host's zone, with its offset.

    What a person reading the notice on that host expects; the offset keeps it
    exact. Text that is not a time is shown as it is.
    """
    ts = parse_iso(iso_text)
    if ts is None:
        return iso_text if isinstance(iso_text, str) else ""
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(ts))
    except (OverflowError, OSError, ValueError):  # a year the C library cannot show
        return str(iso_text)


def run_url(site_url: object, task: str, run_id: str) -> str:
    """The run's page on the dashboard (sitegen's URL layout), or '' without a site_url."""
    if not isinstance(site_url, str) or not site_url:
        return ""
    return siteurls.absolute(site_url, siteurls.run_dir(task, run_id))


# A notice is read in a mail or a chat line: a command of 20,000 characters (a long
# argument list) is cut, its whole form being on the run's page and in its manifest.
COMMAND_MAX = 500


def _command_line(command: object) -> str:
    """The argv as a shell would need it typed, as every page shows it (shlex.join),
    cut after COMMAND_MAX characters."""
    if not isinstance(command, list):
        return ""
    import shlex  # here, not at the top: it imports re, and only a notice needs it

    line = shlex.join(str(arg) for arg in command)
    return line if len(line) <= COMMAND_MAX else line[: COMMAND_MAX - 1] + "…"


def _changes(manifest: dict, run_path: str | None, info: dict) -> str:
    """What changed since the last success (store/whatchanged.py), as lines; "" without one."""
    against = info.get("against")
    if not run_path or not isinstance(against, str) or against == manifest.get("run_id"):
        return ""
    from runwrap.store.manifest import read_manifest
    from runwrap.store.whatchanged import compare, describe

    was_path = os.path.join(os.path.dirname(run_path), against)
    was = read_manifest(was_path)
    if not isinstance(was, dict):
        return ""
    base = info.get("baseline") if isinstance(info.get("baseline"), dict) else None
    changes = compare(manifest, run_path, {**was, "run_id": against}, was_path, base)
    return "\n".join(describe(changes))


def _summary(event: str, c: dict) -> str:
    task, host = c["task"], c["host"]
    why = f": {c['reason']}" if c["reason"] else ""
    if event == "failure":
        return f"{task} {c['status']} on {host}{why}"
    if event == "late":
        return (
            f"{task} is late on {host}: its run due at {c['late_since']} has not started "
            f"({c['missed']} missed; last run started {c['started_at']})"
        )
    if event == "duration":
        return f"{task} was unusually {c['duration_flag']} on {host}: {c['duration_check']}"
    if event == "recovery" and c["duration_was"] and not c["failures"] and not c["late_since"]:
        return (
            f"{task} ran in its usual time again on {host} ({c['duration']}), "
            f"after a {c['duration_was']} run"
        )
    if event == "recovery" and c["late_since"] and not c["failures"]:
        return f"{task} runs again on {host}, after being late since {c['late_since']}"
    if event == "recovery":
        return (
            f"{task} succeeded on {host} again, after {count(c['failures'], 'failing run')} "
            f"since {c['failing_since']}"
        )
    if event == "still-failing":
        return (
            f"{task} is still failing on {host}: {count(c['failures'], 'failing run')} in a row "
            f"since {c['failing_since']}{why}"
        )
    if event == "stuck":
        return (
            f"{task} is stuck on {host}: {count(c['skips'], 'run')} in a row "
            f"{'was' if c['skips'] == 1 else 'were'} refused because an earlier run "
            "still holds the lock"
        )
    if event == "skipped":
        return f"{task} was skipped on {host}{why}"
    return f"{task} {c['status']} on {host}{why}"


def context(event: str, manifest: dict, run_path: str | None, info: dict) -> dict:
    """The template variables for one notice.

    `info` holds what the state knew when the notice was decided: failures,
    failing_since, skips, site_url, and for stuck notices the holder's run.
    """
    c = dict.fromkeys(VARIABLES, "")
    status = manifest.get("status") or ""
    exit_code = manifest.get("exit_code")
    command = manifest.get("command")
    c.update(
        event=event,
        title=TITLES.get(event, status.upper()),
        task=manifest.get("task") or "",
        status=status,
        reason=manifest.get("reason") or "",
        host=manifest.get("host") or "",
        user=manifest.get("user") or "",
        run_id=manifest.get("run_id") or "",
        command=_command_line(command),
        started_at=manifest.get("started_at") or "",
        ended_at=manifest.get("ended_at") or "",
        duration=format_duration(manifest.get("duration_s")),
        duration_s=manifest.get("duration_s"),
        exit_code="" if exit_code is None else exit_code,
        signal=manifest.get("signal") or "",
        failures=info.get("failures") or 0,
        failing_since=info.get("failing_since") or "",
        skips=info.get("skips") or 0,
        holder=info.get("holder") or "",
        late_since=info.get("late_since") or "",
        missed=info.get("missed") or 0,
        next_expected=info.get("next_expected") or "",
        schedule=info.get("schedule") or "",
    )
    check = manifest.get("duration_check")
    c["duration_flag"] = flag_of(check) or ""
    c["duration_check"] = describe(check) if isinstance(check, dict) else ""
    c["duration_was"] = info.get("duration_was") or ""  # not a variable: the summary's
    if event == "duration":
        c["title"] = c["duration_flag"].upper() or "DURATION"
    c["utc"] = {k: c[k] for k in _MOMENTS}
    for k in _MOMENTS:
        c[k] = local_time(c[k]) if c[k] else ""
    c["url"] = run_url(info.get("site_url"), c["task"], c["run_id"])
    # A late notice is about a run that did not happen: the last one's output says nothing.
    name, tail = output_tail(None if event == "late" else run_path)
    c["output_name"], c["output"] = name, tail
    c["output_block"] = f"\n\nLast lines of {name}:\n{tail}" if tail else ""
    c["changes"] = (
        _changes(manifest, run_path, info) if event in ("failure", "still-failing") else ""
    )
    c["changes_block"] = f"\n\nWhat changed:\n{c['changes']}" if c["changes"] else ""
    c["summary"] = _summary(event, c)
    rows = [
        ("task", c["task"]),
        ("status", status + (f" ({c['reason']})" if c["reason"] else "")),
        ("host", c["host"]),
        ("started", c["started_at"]),
        ("duration", c["duration"]),
        ("usual", c["duration_check"] if event in ("duration", "failure") else ""),
        ("exit code", c["exit_code"]),
        ("signal", c["signal"]),
        (
            "failures",
            f"{c['failures']} in a row since {c['failing_since']}" if c["failures"] else "",
        ),
        ("holder", c["holder"]),
        ("schedule", c["schedule"]),
        ("late from", c["late_since"]),
        ("missed", c["missed"] if event == "late" else ""),
        ("next due", c["next_expected"]),
        ("command", c["command"]),
        ("run", c["run_id"]),
        ("page", c["url"]),
    ]
    c["details"] = "\n".join(f"{k + ':':<11}{v}" for k, v in rows if v not in ("", None))
    return c


def render(notifier_fields: dict, c: dict) -> tuple[str, str]:
    """(subject, body) from the notifier's templates, or the defaults."""
    subject = notifier_fields.get("subject") or DEFAULT_SUBJECT
    body = notifier_fields.get("body") or DEFAULT_BODY
    # A subject is one line: a template may not smuggle in headers.
    subject = " ".join(subject.format_map(c).split())
    return subject, body.format_map(c)


def payload(c: dict, subject: str, body: str) -> dict:
    """The documented JSON form of a notice (json webhooks, a command's stdin).

    Its times are the files' (ISO 8601, UTC), kept by context() in `utc`.
    """
    utc = c.get("utc") or c
    return {
        "schema": SCHEMA,
        "event": c["event"],
        "task": c["task"],
        "status": c["status"],
        "reason": c["reason"] or None,
        "host": c["host"],
        "user": c["user"],
        "run_id": c["run_id"],
        "command": c["command"],
        "started_at": utc["started_at"] or None,
        "ended_at": utc["ended_at"] or None,
        "duration_s": c["duration_s"],
        "duration_flag": c["duration_flag"] or None,
        "exit_code": None if c["exit_code"] == "" else c["exit_code"],
        "signal": c["signal"] or None,
        "failures": c["failures"],
        "failing_since": utc["failing_since"] or None,
        "skips": c["skips"],
        "holder": c["holder"] or None,
        "late_since": utc["late_since"] or None,
        "missed": c["missed"],
        "url": c["url"] or None,
        "output_name": c["output_name"],
        "output_tail": c["output"],
        "subject": subject,
        "text": body,
    }
