"""Runs and tasks as the pages show them, derived from untrusted manifests."""

from __future__ import annotations

import math
from collections.abc import Callable

from runwrap.store import query
from runwrap.store.durations import flag_of, job_duration
from runwrap.store.fold import FAILING_HEALTH, OK, health, periods
from runwrap.store.manifest import RUNNING, STATUSES, effective_status
from runwrap.store.query import view
from runwrap.timefmt import iso, parse_iso
from sitegen.read.values import as_dict, as_int, as_num, as_str
from sitegen.render.timeline import BAR, bars, days

STRIP_RUNS = 30  # cells in the dashboard's strip
RATE_RUNS = 50  # window of the success rate
CHART_RUNS = 100  # bars in a task's duration chart
FEED_ENTRIES = 20  # state changes kept per task
MAX_LABELS = 20  # labels of a run the dashboard can filter by

ICONS = {
    "success": "✓",
    "ok": "✓",
    "failed": "✗",
    "failing": "✗",
    "late": "⚠",
    "timeout": "◷",
    "killed": "☠",
    "lost": "?",
    "running": "▶",
    "skipped": "↷",
    "never": "-",
    "unknown": "?",
    "unreadable": "?",
}


EPOCH = iso(0.0)  # the time of an event that has none (an Atom entry must have one)


def shown_time(value: object, millis: bool = False) -> str:
    """A manifest's time as people read it: 2026-11-22 04:37:33 UTC (.123 with millis);
    '-' for anything that is not a time as runwrap.timefmt writes it."""
    if parse_iso(value) is None:
        return "-"
    text = str(value)
    return f"{text[:10]} {text[11:19]}{text[19:-1] if millis else ''} UTC"


def progress_of(feedback: dict[str, str]) -> float | None:
    """The feedback's progress as 0-100, or None."""
    try:
        value = float(str(feedback.get("progress", "")).strip().rstrip("%"))
    except ValueError:
        return None
    return min(100.0, max(0.0, value)) if math.isfinite(value) else None


_NONE = type(None)

# The shapes of what summarize() and task_summary() return: the build cache holds them,
# and a cache file is only used if it has exactly these (see checker()).
RUN_SUMMARY = {
    "id": (str,),
    "seq": (int, _NONE),
    "status": (str,),
    "started": (str, _NONE),
    "ended": (str, _NONE),
    "duration": (float, _NONE),
    "exit": (int, _NONE),
    "reason": (str, _NONE),
    "liveness": (str, _NONE),
    "progress": (float, _NONE),
    "info": (str, _NONE),
    "host": (str, _NONE),
    "labels": (dict,),
    "flag": (str, _NONE),  # slow or fast (runwrap/store/durations.py)
    "stopped_by": (str, _NONE),  # who killed it (runwrap kill): an operator's kill
}
_CHANGE = {
    "task": (str,),
    "id": (str,),
    "kind": (str,),
    "status": (str,),
    "at": (str, _NONE),
    "reason": (str, _NONE),
}
TASK_SUMMARY = {
    "name": (str,),
    "state": (str,),
    "last_status": (str, _NONE),
    "since": (str, _NONE),
    "runs": (int,),
    "last": (RUN_SUMMARY, _NONE),
    "running": (RUN_SUMMARY, _NONE),
    "running_ids": [(str,)],
    "lost_ids": [(str,)],
    "rate": (float, _NONE),
    "rate_n": (int,),
    "strip": [{"id": (str,), "status": (str,)}],
    "changes": [_CHANGE],
    "host": (str, _NONE),
    "newest_started": (str, _NONE),
    "host_starts": (dict,),
    "clocks": [{"host": (str,), "offset_s": (float,), "at": (float,)}],
    "labels": (dict,),
    "muted": (dict, _NONE),
    "ack": (dict, _NONE),
    "notes": [(str,)],
    "bars": {"day": [BAR], "week": [BAR]},
    "days": [{"day": (str,), "status": (str,), "n": (int,)}],
    "duration": (dict,),
}


def _types_only(shape: object) -> bool:
    return isinstance(shape, tuple) and all(isinstance(t, type) for t in shape)


def checker(shape: object) -> Callable[[object], bool]:
    """A test of whether parsed JSON has a shape: a dict of shapes (exactly those keys),
    a one-item list (a list of that), a tuple (any of them), or a type (exactly it).

    Built once per shape: a task's cache holds a record per run, checked on every load.
    """
    if isinstance(shape, tuple):
        types = tuple(s for s in shape if isinstance(s, type))
        others = tuple(checker(s) for s in shape if not isinstance(s, type))
        return lambda v: type(v) in types or any(c(v) for c in others)
    if isinstance(shape, dict):
        keys = shape.keys()
        if all(_types_only(s) for s in shape.values()):
            flat = tuple(shape.items())  # the common case, kept cheap
            return lambda v: (
                type(v) is dict and v.keys() == keys and all(type(v[k]) in t for k, t in flat)
            )
        checks = tuple((k, checker(s)) for k, s in shape.items())
        return lambda v: type(v) is dict and v.keys() == keys and all(c(v[k]) for k, c in checks)
    if isinstance(shape, list):
        item = checker(shape[0])
        return lambda v: type(v) is list and all(item(x) for x in v)
    return lambda v: type(v) is shape


is_run_summary = checker(RUN_SUMMARY)
is_task_summary = checker(TASK_SUMMARY)


def _iso_or_none(value: object) -> str | None:
    """A manifest's time as written, if it is one (runwrap.timefmt's form), else None."""
    text = as_str(value, 40)
    return text if parse_iso(text) is not None else None


def summarize(run_id: str, manifest: dict) -> dict:
    """The few fields of a run that lists, charts and the dashboard need (cached per run)."""
    status = effective_status(manifest)
    if status not in STATUSES:
        status = "unknown"  # a status from a newer runwrap, or garbage: shown, never trusted
    feedback = as_dict(manifest.get("feedback"))
    return {
        "id": run_id,
        "seq": as_int(manifest.get("seq")),
        "status": status,
        "started": _iso_or_none(manifest.get("started_at")),
        "ended": _iso_or_none(manifest.get("ended_at")),
        "duration": as_num(manifest.get("duration_s")),
        "exit": as_int(manifest.get("exit_code")),
        "reason": as_str(manifest.get("reason"), 300),
        "liveness": as_str(manifest.get("liveness"), 20) if status == RUNNING else None,
        "progress": progress_of(feedback) if status == RUNNING else None,
        "info": as_str(feedback.get("info"), 300) if status == RUNNING else None,
        # What the dashboard filters by: the latest run's are the task's.
        "host": as_str(manifest.get("host"), 200),
        "labels": dict(list(as_dict(manifest.get("labels")).items())[:MAX_LABELS]),
        "flag": flag_of(manifest.get("duration_check")),
        "stopped_by": as_str(as_dict(manifest.get("stopped_by")).get("by"), 64),
        # What the duration baseline counts (durations.job_duration), where it is not
        # `duration`: a run retried until it succeeded (rare: kept out of the others).
        **({"job": as_num(job_duration(manifest))} if manifest.get("attempts") else {}),
    }


def task_summary(task: str, runs: list[dict], record: dict) -> dict:
    """A task at a glance: its state from the store's read model (`record`, from
    runwrap.store.query.task_record: state.json's fold and the unfinished runs), and
    from its runs (summaries, oldest first) the rate, the strip, the feed's changes."""
    v = view(record)
    by_id = {r["id"]: r for r in runs}
    last = v["last_run"]
    running = [summarize(m["run_id"], m) for m in record["running"]]
    # An operator's kill says nothing of the task's health (store/fold.py): not counted.
    window = [
        r for r in runs[-RATE_RUNS:] if health(r["status"]) is not None and not r["stopped_by"]
    ]
    ok = sum(1 for r in window if health(r["status"]) == OK)
    return {
        "name": task,
        "state": v["state"],
        "last_status": v["status"],
        "since": v["since"],
        "runs": len(runs),
        "last": None if last is None else _last_run(last, by_id.get(last["run_id"]), v),
        "running": running[0] if running else None,  # the oldest: the row's live line
        "running_ids": v["running"],
        "lost_ids": v["lost"],
        "rate": (100.0 * ok / len(window)) if window else None,
        "rate_n": len(window),
        "strip": [{"id": r["id"], "status": r["status"]} for r in runs[-STRIP_RUNS:]],
        "changes": _changes(task, runs)[-FEED_ENTRIES:],
        # The host and labels of the newest run (the read model's: by seq, as `runwrap ls`
        # has them, not by a run id a wrong clock may have made).
        "host": as_str(v["host"], 200),
        # When the newest run (of any kind: a skipped tick proves cron fired) started, and
        # the clock samples of the task's hosts: the dashboard's line per host.
        "newest_started": _newest_started(record),
        "host_starts": _host_starts(runs),
        "clocks": [
            {"host": h[:200], "offset_s": float(o), "at": float(a)}
            for h, o, a in record.get("clocks") or ()
        ],
        "labels": dict(list(as_dict(v["labels"]).items())[:MAX_LABELS]),
        # What operators said (runwrap mute, ack, kill --reason): the read model's words.
        "muted": v["muted"],
        "ack": v["ack"],
        "notes": note_lines(v),
        # The dashboard's timeline and calendar: bounded aggregates, never a run each.
        "bars": bars(runs),
        "days": days(runs),
        # The read model's verdict on the last run's duration and the baseline now.
        "duration": v["duration"],
    }


def _utc(text: str | None) -> str:
    """A UTC ISO time as the notes say it: 2026-12-05 14:00 UTC."""
    return f"{text[:10]} {text[11:16]} UTC" if isinstance(text, str) and len(text) >= 16 else "?"


def note_lines(v: dict) -> list[str]:
    """The lines every page shows of what operators said of a task (store/query.py's words)."""
    stopped = query.killed_text((v["last_run"] or {}).get("stopped_by"))
    found = [
        query.muted_text(v["muted"], _utc),
        query.ack_text(v["ack"], _utc),
        f"last run {stopped} (an operator's kill)" if stopped else "",
    ]
    return [line for line in found if line]


MAX_HOSTS = 64  # per task: a manifest may say any host


def _host_starts(runs: list[dict]) -> dict[str, str]:
    """{host: the start of its newest run of the task}, for the hosts that ran it."""
    found: dict[str, str] = {}
    for r in reversed(runs):  # newest first
        host, started = r["host"], r["started"]
        if host and started and host not in found:
            found[host] = started
            if len(found) >= MAX_HOSTS:
                break
    return found


def _newest_started(record: dict) -> str | None:
    """The start of the task's newest run: the state's newest, or a run still going."""
    found = [record["state"].get("newest_started_at")]
    found += [m.get("started_at") for m in (*record["running"], *record["lost"])]
    return max((_iso_or_none(t) for t in found if _iso_or_none(t)), default=None)


def _last_run(last: dict, summary: dict | None, v: dict) -> dict:
    """The task's last run as the state records it (what every surface says of it),
    with the reason its summary has, when sitegen has read it."""
    found = _from_state(last)
    found["flag"] = v["duration"]["flag"]
    if summary is not None:
        found["reason"] = summary["reason"]
    return found


def _from_state(last: dict) -> dict:
    """A run summary from what state.json says of the last run."""
    return {
        "id": last["run_id"],
        "seq": as_int(last["seq"]),
        "status": as_str(last["status"], 20) or "unknown",
        "started": _iso_or_none(last["started_at"]),
        "ended": _iso_or_none(last["ended_at"]),
        "duration": as_num(last["duration_s"]),
        "exit": as_int(last["exit_code"]),
        "reason": None,
        "liveness": None,
        "progress": None,
        "info": None,
        "host": as_str(last["host"], 200),
        "labels": {},
        "flag": None,
        "stopped_by": as_str(as_dict(last.get("stopped_by")).get("by"), 64),
    }


def _as_manifest(run: dict) -> dict:
    found = {"run_id": run["id"], "seq": run["seq"], "status": run["status"]}
    if run["stopped_by"]:
        found["stopped_by"] = {"by": run["stopped_by"]}  # periods() passes over it
    return found


def _changes(task: str, runs: list[dict]) -> list[dict]:
    """The feed's entries: the runs that began a health period (runwrap.store.fold's rule)."""
    by_id = {r["id"]: r for r in runs}
    found = []
    for manifest in periods(_as_manifest(r) for r in runs):
        r = by_id[manifest["run_id"]]
        found.append(
            {
                "task": task,
                "id": r["id"],
                "kind": "failure" if health(r["status"]) == FAILING_HEALTH else "recovery",
                "status": r["status"],
                "at": r["started"],
                "reason": r["reason"],
            }
        )
    return found
