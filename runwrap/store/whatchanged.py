"""What changed: how a run that went wrong differs from the last one that went right.

One rule for `runwrap diff`, the failure notice and the failed run's page:
the exit code or signal, the duration (against the task's baseline too),
the stderr lines that are new, the artifacts added or missing, the labels
and feedback values that changed, and the command if it changed.

stderr lines are compared with numbers, hex ids, UUIDs and times masked
(`mask()`), so that a count or a date that changes every run is not news.
Bounded on logs of any size: only the last READ_BYTES of each stderr are
read, at most READ_LINES lines of it compared, and at most SHOWN_LINES new
lines kept (with how many more there were).
"""

from __future__ import annotations

import os
import re

from runwrap.store.layout import STDERR
from runwrap.store.logtail import Tail, Tails, last_of

READ_BYTES = 256 * 1024
READ_LINES = 5000
SHOWN_LINES = 50
LINE_MAX = 500

_MASKS = (
    # 2026-11-22T04:37:33.123Z, 2026-11-22 04:37, 04:37:33.5
    (r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?", "<time>"),
    (r"\b\d\d:\d\d:\d\d(?:[.,]\d+)?\b", "<time>"),
    (r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<id>"),
    # A hex id: 0x..., or six hex digits or more with at least one digit (not "facade").
    (r"\b(?:0x[0-9a-f]+|(?=[0-9a-f]*\d)[0-9a-f]{6,})\b", "<hex>"),
    (r"\d+(?:\.\d+)?", "<n>"),
)
_compiled: list[tuple[re.Pattern, str]] = []


def mask(line: str) -> str:
    """The line with what changes from run to run replaced: times, ids, hex, numbers."""
    if not _compiled:
        _compiled.extend((re.compile(p, re.IGNORECASE), r) for p, r in _MASKS)
    for pattern, replacement in _compiled:
        line = pattern.sub(replacement, line)
    return " ".join(line.split())


def _tail_lines(path: str, tail: Tail | None = None) -> tuple[list[str], bool]:
    """(the last READ_LINES lines of the last READ_BYTES of a log, whether it was cut);
    `tail`: the log as read already (logtail.py)."""
    tail = last_of(tail, path, READ_BYTES)
    if tail is None:
        return [], False
    start, data = tail.start, tail.data
    lines = data.decode("utf-8", "replace").splitlines()
    if start and len(lines) > 1:
        lines = lines[1:]  # cut by where the reading began
    elif start and lines:
        lines = [lines[0][-LINE_MAX:]]  # one line longer than what is read: its end is news
    cut = bool(start) or len(lines) > READ_LINES
    return [ln[:LINE_MAX] for ln in lines[-READ_LINES:]], cut


def new_lines(
    now_path: str, was_path: str, now_tail: Tail | None = None, was_tail: Tail | None = None
) -> dict:
    """{lines, more, cut}: the stderr lines of `now_path` whose masked form is nowhere in
    `was_path`'s (each once, in order), how many beyond SHOWN_LINES, whether a log was
    only read in part (`*_tail`: a log as read already, logtail.py)."""
    now, cut_now = _tail_lines(now_path, now_tail)
    was, cut_was = _tail_lines(was_path, was_tail)
    seen = {mask(line) for line in was}
    found: list[str] = []
    more = 0
    for line in now:
        if not line.strip():
            continue
        key = mask(line)
        if key in seen:
            continue
        seen.add(key)
        if len(found) < SHOWN_LINES:
            found.append(line)
        else:
            more += 1
    return {"lines": found, "more": more, "cut": cut_now or cut_was}


def _ending(m: dict) -> str:
    signal = m.get("signal")
    if isinstance(signal, str) and signal:
        return f"signal {signal}"
    code = m.get("exit_code")
    return f"exit {code}" if isinstance(code, int) and not isinstance(code, bool) else "-"


def _mapping(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k)[:200]: str(v)[:500] for k, v in list(value.items())[:200]}


def _changed(was: object, now: object) -> dict[str, list]:
    """{key: [was, now]} for keys whose value changed (None: absent)."""
    a, b = _mapping(was), _mapping(now)
    return {k: [a.get(k), b.get(k)] for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)}


def _artifact_names(m: dict) -> set[str]:
    items = m.get("artifacts")
    if not isinstance(items, list):
        return set()
    return {
        i["name"] for i in items[:10000] if isinstance(i, dict) and isinstance(i.get("name"), str)
    }


def _number(value: object) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok else None


def compare(
    now: dict,
    now_path: str,
    was: dict | None,
    was_path: str | None,
    base: dict | None = None,
    tails: tuple[Tail | None, Tails | None] = (None, None),
) -> dict:
    """What changed from run `was` (the last success; None: there is none) to run `now`.

    `base` is the task's duration baseline ({runs, median_s, p95_s}) or None. `tails`:
    now's stderr as read already, and the logs a build read (logtail.py), if any.
    """
    added = sorted(_artifact_names(now) - _artifact_names(was or {}))
    missing = sorted(_artifact_names(was or {}) - _artifact_names(now))
    out: dict = {
        "run_id": now.get("run_id"),
        "against": None if was is None else was.get("run_id"),
        # `runwrap diff --against` may name any run: say what it was.
        "against_status": None if was is None else _text(was.get("status")),
        "ending": {"was": None if was is None else _ending(was), "now": _ending(now)},
        "duration": {
            "was": None if was is None else _number(was.get("duration_s")),
            "now": _number(now.get("duration_s")),
            "median_s": (base or {}).get("median_s"),
            "p95_s": (base or {}).get("p95_s"),
        },
        "stderr": {"lines": [], "more": 0, "cut": False},
        "artifacts": {"added": added[:100], "missing": missing[:100]},
        "labels": {},
        "feedback": {},
        "command": None,
    }
    if was is None or was_path is None:
        return out
    now_tail, memo = tails
    was_stderr = os.path.join(was_path, STDERR)
    was_tail = memo.get(was_stderr, READ_BYTES) if memo is not None else None
    out["stderr"] = new_lines(os.path.join(now_path, STDERR), was_stderr, now_tail, was_tail)
    out["labels"] = _changed(was.get("labels"), now.get("labels"))
    out["feedback"] = _changed(was.get("feedback"), now.get("feedback"))
    if now.get("command") != was.get("command"):
        out["command"] = {"was": _argv(was.get("command")), "now": _argv(now.get("command"))}
    return out


def _text(value: object) -> str | None:
    return value[:100] if isinstance(value, str) else None


def _argv(command: object) -> str:
    if not isinstance(command, list):
        return "-"
    import shlex

    return shlex.join(str(a) for a in command)[:2000]


def describe(changes: dict) -> list[str]:
    """What changed, as lines of text (for the CLI and the notice)."""
    from runwrap.units import format_duration

    if changes.get("against") is None:
        return ["no successful run to compare with"]
    status = changes.get("against_status", "success")  # changes.json from before: a success
    what = "the last success" if status == "success" else f"a run that ended {status or '?'}"
    lines = [f"compared with run {changes['against']}, {what}"]
    ending = changes["ending"]
    if ending["was"] != ending["now"]:
        lines.append(f"ended: {ending['now']} (was {ending['was']})")
    d = changes["duration"]
    if d["now"] is not None:
        text = f"duration: {format_duration(d['now'])} (was {format_duration(d['was'])}"
        if d.get("median_s") is not None:
            text += f"; usually {format_duration(d['median_s'])}, p95 {format_duration(d['p95_s'])}"
        lines.append(text + ")")
    if changes["command"]:
        lines.append(f"command: {changes['command']['now']} (was {changes['command']['was']})")
    for key in ("labels", "feedback"):
        for name, (a, b) in changes[key].items():
            a, b = ("(none)" if v is None else v for v in (a, b))
            lines.append(f"{key[:-1] if key == 'labels' else key} {name}: {b} (was {a})")
    arts = changes["artifacts"]
    if arts["added"]:
        lines.append("new files: " + ", ".join(arts["added"]))
    if arts["missing"]:
        lines.append("missing files: " + ", ".join(arts["missing"]))
    stderr = changes["stderr"]
    if stderr["lines"]:
        lines.append("new on stderr:")
        lines += [f"  {line}" for line in stderr["lines"]]
        if stderr["more"]:
            lines.append(f"  ... and {stderr['more']} more")
    else:
        lines.append("nothing new on stderr")
    if stderr["cut"]:
        lines.append(f"(the last {READ_BYTES // 1024} KiB of each stderr compared)")
    return lines
