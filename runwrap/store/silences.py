"""Silences: a task muted by an operator (runwrap mute) or by a recurring window.

While a silence is in force the task's runs are recorded as always, but no
notice of any kind goes out (runwrap/notify/ledger.py asks silence_of()),
and every surface shows "muted until ..., by USER: REASON" (the read
model's view carries it).

A mute is one file in ROOT/silences, one writer (runwrap mute/unmute),
replaced atomically:

    task-<task>.json        runwrap mute TASK
    label-<hash>.json       runwrap mute --label K=V
    all.json                runwrap mute --all

each {match, since, until, by, reason}. A file past its `until` is over
(runwrap mute removes such files when it writes).

A recurring window is in the config (`mute_windows:` per task or under
`defaults:`: a cron expression, a length, a reason), recorded with each
run like its schedule, in the task's time zone, so that every reader sees
the same windows: one starts at each time the expression names (cronsim, as
schedules are walked, DST included) and lasts its length in elapsed time.
"""

from __future__ import annotations

import os

from runwrap.errors import RunwrapError
from runwrap.store.jsonio import read_json, write_json_atomic
from runwrap.store.layout import SILENCES, TASKS
from runwrap.store.notes import clean_reason
from runwrap.timefmt import iso, parse_iso

ALL = "all"
WINDOW_BY = "maintenance window"  # the "by" of a recurring window: the config said it


def silences_dir(root: str) -> str:
    return os.path.join(root, SILENCES)


def file_name(match: dict) -> str:
    """The one file a selector's mute lives in (so muting it again replaces it)."""
    if match.get("task"):
        return f"task-{match['task']}.json"  # task names are safe file names (names.py)
    if match.get("label"):
        import hashlib  # not on `runwrap ls`'s path: only a mute by label needs it

        key, value = match["label"]
        digest = hashlib.sha256(f"{key}={value}".encode("utf-8", "surrogateescape")).hexdigest()
        return f"label-{digest[:20]}.json"
    return f"{ALL}.json"


def write_mute(root: str, match: dict, since: float, until: float, by: str, reason: str) -> dict:
    """Mute what `match` selects ({task}, {label: [K, V]} or {all: true}) until `until`."""
    directory = silences_dir(root)
    os.makedirs(directory, exist_ok=True)
    mute = {
        "match": match,
        "since": iso(since),
        "until": iso(until),
        "by": by,
        "reason": clean_reason(reason),
    }
    write_json_atomic(os.path.join(directory, file_name(match)), mute)
    _remove_expired(root, since)
    _touch(root, match)
    return mute


def remove_mute(root: str, match: dict) -> bool:
    """Lift the mute of exactly this selector; False when there was none."""
    try:
        os.unlink(os.path.join(silences_dir(root), file_name(match)))
    except FileNotFoundError:
        return False
    _touch(root, match)
    return True


def _touch(root: str, match: dict) -> None:
    """Date the directories of the tasks a mute may cover: readers that compare a task's
    signature to decide what to render again (sitegen) see that it changed."""
    tasks = os.path.join(root, TASKS)
    try:
        names = [match["task"]] if match.get("task") else os.listdir(tasks)
    except OSError:
        return
    for name in names:
        try:
            os.utime(os.path.join(tasks, name), follow_symlinks=False)
        except OSError:
            pass


def remove_all(root: str) -> int:
    """Lift every mute (runwrap unmute --all); how many there were."""
    names = _names(root)
    for name in names:
        try:
            os.unlink(os.path.join(silences_dir(root), name))
        except FileNotFoundError:
            pass
    _touch(root, {ALL: True})
    return len(names)


def _names(root: str) -> list[str]:
    try:
        return sorted(
            n for n in os.listdir(silences_dir(root)) if n.endswith(".json") and n[0] != "."
        )
    except OSError:
        return []


def mutes(root: str) -> list[dict]:
    """Every readable mute in ROOT/silences (expired ones too)."""
    found = []
    for name in _names(root):
        value = read_json(os.path.join(silences_dir(root), name))
        if isinstance(value, dict) and isinstance(value.get("match"), dict):
            found.append(value)
    return found


def _remove_expired(root: str, now: float) -> None:
    for name in _names(root):
        path = os.path.join(silences_dir(root), name)
        value = read_json(path)
        until = parse_iso(value.get("until")) if isinstance(value, dict) else None
        if until is not None and until <= now:
            try:
                os.unlink(path)
            except OSError:
                pass


def matches(match: dict, task: str, labels: object) -> bool:
    """Whether a mute's selector takes this task (its newest run's labels)."""
    if match.get(ALL) is True:
        return True
    if match.get("task") is not None:
        return match.get("task") == task
    label = match.get("label")
    if isinstance(label, list) and len(label) == 2 and isinstance(labels, dict):
        return labels.get(label[0]) == label[1]
    return False


def _shown(value: object) -> str | None:
    return value if isinstance(value, str) else None


def silence_of(root: str, task: str, state: dict, now: float) -> dict | None:
    """The silence in force on the task at `now`, or None: {kind, since, until, by, reason}.

    Of several, the one that lasts longest is shown. `state` is the task's
    (labels and recorded windows are its newest run's).
    """
    found = []
    for mute in mutes(root):
        until = parse_iso(mute.get("until"))
        since = parse_iso(mute.get("since"))
        if until is None or until <= now or (since is not None and since > now):
            continue
        if matches(mute["match"], task, state.get("labels")):
            found.append(
                {
                    "kind": "mute",
                    "since": _shown(mute.get("since")),
                    "until": _shown(mute.get("until")),
                    "by": _shown(mute.get("by")),
                    "reason": _shown(mute.get("reason")),
                }
            )
    window = window_of(state.get("mute_windows"), now)
    if window is not None:
        found.append(window)
    return max(found, key=lambda s: parse_iso(s["until"]) or 0) if found else None


def parse_windows(value: object, where: str) -> list[dict]:
    """The config's `mute_windows:` checked: [{schedule, for, reason}] as recorded entries
    {expr, for_s, reason} (a one-line error for a bad one). The zone is added by the run."""
    from runwrap.store.schedule import check, expression
    from runwrap.units import parse_duration

    if not isinstance(value, list):
        raise RunwrapError(f"bad {where}mute_windows: a list of {{schedule, for, reason}}")
    windows = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("schedule"), str):
            raise RunwrapError(f"bad {where}mute_windows entry {item!r}: give schedule: and for:")
        unknown = set(item) - {"schedule", "for", "reason"}
        if unknown:
            raise RunwrapError(f"unknown key {sorted(unknown)[0]!r} in {where}mute_windows")
        expr = item["schedule"]
        if expression(expr) is None:
            raise RunwrapError(f"bad {where}mute_windows schedule {expr!r}: five cron fields")
        try:
            check(expr)
        except RunwrapError as e:
            raise RunwrapError(f"{where}mute_windows: {e}") from None
        length = parse_duration(item.get("for", ""), f"{where}mute_windows for")
        if length <= 0:
            raise RunwrapError(f"bad {where}mute_windows for {item.get('for')!r}: a length > 0")
        reason = clean_reason(item.get("reason") or "") or f"{expr} for {item.get('for')}"
        windows.append({"expr": expr, "for_s": length, "reason": reason})
    return windows


def next_window(windows: object, now: float) -> float | None:
    """When (Unix time) the first of the recorded windows opens next after `now`: what
    silence_of() says changes then with no file changing (a reader that keeps its answer
    asks again; the window in force ends at its `until`)."""
    if not isinstance(windows, list) or not windows:
        return None
    from runwrap.store.schedule import next_opening

    found = []
    for window in windows:
        expr = window.get("expr") if isinstance(window, dict) else None
        if not isinstance(expr, str) or not isinstance(window.get("for_s"), (int, float)):
            continue
        try:
            opens = next_opening(expr, _shown(window.get("timezone")), now)
        except (RunwrapError, ValueError, OverflowError, StopIteration):
            continue  # a record this reader cannot walk mutes nothing (window_of)
        if opens is not None:
            found.append(opens)
    return min(found, default=None)


def window_of(windows: object, now: float) -> dict | None:
    """The recorded window open at `now` (the one closing last), as silence_of() shows it."""
    if not isinstance(windows, list) or not windows:
        return None
    from runwrap.store.schedule import window_at

    best = None
    for window in windows:
        if not isinstance(window, dict):
            continue
        expr, length = window.get("expr"), window.get("for_s")
        if not isinstance(expr, str) or not isinstance(length, (int, float)):
            continue
        try:
            opened = window_at(expr, _shown(window.get("timezone")), float(length), now)
        except (RunwrapError, ValueError, OverflowError, StopIteration):
            continue  # a record this reader cannot walk mutes nothing
        if opened is not None and (best is None or opened[1] > best[0][1]):
            best = (opened, window)
    if best is None:
        return None
    (start, end), window = best
    return {
        "kind": "window",
        "since": iso(start),
        "until": iso(end),
        "by": WINDOW_BY,
        "reason": _shown(window.get("reason")),
    }
