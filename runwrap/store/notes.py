"""What an operator said about a task: who they are, an acknowledgement, a kill's reason.

Each file has one writer (the subcommand that says it) and is replaced
atomically; readers take a missing or unreadable file as "nothing said".

    tasks/<task>/ack.json            runwrap ack: {by, at, reason, failing_since}
    tasks/<task>/kills/<run_id>.json runwrap kill --reason: {by, at, reason}

Both live beside the runs, never inside a run directory: what runwrap acts
on (stopping reminders, calling a kill an operator's) never comes from a
file the job writes in its own run directory.
"""

from __future__ import annotations

import os

from runwrap.store.jsonio import read_json, write_json_atomic
from runwrap.store.layout import ACK, KILLS, RETIRED, SILENCES, task_dir

MAX_REASON = 500  # a reason is a sentence, shown on every surface: not a log


def operator(environ: dict[str, str] | None = None) -> str:
    """Who is acting: the sudo caller first (root's kill names the person), then
    LOGNAME, then the uid (cron and containers may set neither)."""
    env = os.environ if environ is None else environ
    for key in ("SUDO_USER", "LOGNAME"):
        value = (env.get(key) or "").strip()
        if value:
            return value[:64]
    return f"uid {os.getuid()}"


def clean_reason(text: str | None) -> str:
    """A reason as it is kept: one line, bounded (it is shown in one line everywhere)."""
    if not text:
        return ""
    return " ".join(str(text).split())[:MAX_REASON]


def _note(value: object) -> dict | None:
    """A note as readers may show it: strings only, or None."""
    if not isinstance(value, dict):
        return None
    out = {}
    for key in ("by", "at", "reason", "failing_since"):
        item = value.get(key)
        out[key] = item if isinstance(item, str) else None
    return out if out["by"] else None


def write_ack(task_path: str, by: str, at: str, reason: str, failing_since: str) -> dict:
    """Acknowledge the failure that began at `failing_since` (runwrap ack); the note."""
    note = {"by": by, "at": at, "reason": clean_reason(reason), "failing_since": failing_since}
    write_json_atomic(os.path.join(task_path, ACK), note)
    return note


def ack_of(task_path: str, state: dict) -> dict | None:
    """The acknowledgement in force: one made for the task's current failure streak.

    An ack belongs to one streak (dated by failing_since): once the task
    recovers, or a new failure begins, it is over, without anyone removing it.
    """
    since = state.get("failing_since")
    if not since or not state.get("consecutive_failures"):
        return None
    note = _note(read_json(os.path.join(task_path, ACK)))
    return note if note is not None and note["failing_since"] == since else None


def write_kill_note(task_path: str, run_id: str, by: str, at: str, reason: str) -> None:
    """Say who kills run `run_id` and why, before the signal goes (runwrap kill --reason)."""
    directory = os.path.join(task_path, KILLS)
    os.makedirs(directory, exist_ok=True)
    note = {"by": by, "at": at, "reason": clean_reason(reason)}
    write_json_atomic(os.path.join(directory, f"{run_id}.json"), note)


def sweep_kill_notes(task_path: str, unfinished: set[str]) -> None:
    """Remove the kill notes of runs that are not unfinished any more (a run that ended
    by itself just before its signal came never took its note)."""
    directory = os.path.join(task_path, KILLS)
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if name.endswith(".json") and name[: -len(".json")] not in unfinished:
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass


def take_kill_note(task_path: str, run_id: str) -> dict | None:
    """The kill note of run `run_id` ({by, at, reason}) or None; it is removed once read
    (the final manifest keeps it from then on)."""
    path = os.path.join(task_path, KILLS, f"{run_id}.json")
    note = _note(read_json(path))
    if note is not None:
        note.pop("failing_since", None)
        try:
            os.unlink(path)
        except OSError:
            pass
    return note


def stopped_by(manifest: dict) -> dict | None:
    """The operator who killed this run ({by, at, reason}), from its final manifest, or None."""
    note = _note(manifest.get("stopped_by"))
    if note is not None:
        note.pop("failing_since", None)
    return note


def operator_notes(
    root: str,
    task: str,
    state: dict,
    now: float,
    *,
    silences: bool | None = None,
    retired_there: bool | None = None,
) -> dict:
    """{silence, ack, retired}: what operators said of the task that holds at `now` (a
    mute or a window in force, store/silences.py; an ack of the current failure; its
    retirement, store/retired.py: a retired task is listed only when named).

    Asked of every task by every list: without mutes, windows or a failure, it costs
    two system calls that raise nothing and imports nothing. A caller asking of many
    tasks says once whether ROOT/silences is there (`silences`; None: looked at here), and
    one that looked at the task's directory whether retired.json is (`retired_there`)."""
    silence = ack = None
    if silences is None:
        silences = os.path.isdir(os.path.join(root, SILENCES))
    if state.get("mute_windows") or silences:
        from runwrap.store.silences import silence_of

        silence = silence_of(root, task, state, now)
    path = task_dir(root, task)
    if state.get("consecutive_failures"):
        ack = ack_of(path, state)
    retired = None
    if retired_there is None:
        retired_there = os.access(os.path.join(path, RETIRED), os.F_OK, follow_symlinks=False)
    if retired_there:
        from runwrap.store.retired import retired_note

        retired = retired_note(path)
    return {"silence": silence, "ack": ack, "retired": retired}
