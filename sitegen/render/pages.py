"""Each page's context from runs and manifests, rendered through the theme."""

from __future__ import annotations

import os
import shlex
from types import SimpleNamespace

import jinja2

from runwrap.store import query
from runwrap.store import siteurls as urls
from runwrap.store.durations import describe, flag_of
from runwrap.store.layout import STDERR, STDOUT
from runwrap.store.logtail import Tail, Tails
from runwrap.store.manifest import FAILING, MAX_ARTIFACTS, RECORD, RUNNING, TRACKING
from runwrap.store.whatchanged import READ_BYTES, compare
from runwrap.timefmt import iso, parse_iso
from runwrap.units import format_duration, format_size
from sitegen.config import SiteConfig
from sitegen.publish import names
from sitegen.publish.names import shown
from sitegen.read import files
from sitegen.read.values import as_dict, as_int, as_num, as_str
from sitegen.render.chart import chart
from sitegen.render.model import progress_of, shown_time

REPORT = "report.md"

# The manifest's fields in the order a person reads them, with how to show each; the
# first group leads the record, the second (how runwrap tracked the run) folds away.
# Status, run id and liveness are not among them: the heading and the live line say them.
TAIL_LINES = 12  # the last lines of a log a failed or running run's page opens with
TAIL_CHARS = 3000


def human(kind: str, value: object) -> str:
    """A manifest value as text a person reads (untrusted input: never raises)."""
    if value is None or value == "" or value == [] or value == {}:
        return "-"
    if kind == "time" and (when := shown_time(value, millis=True)) != "-":
        return when
    if kind == "duration" and as_num(value) is not None:
        return format_duration(as_num(value))
    if kind == "size" and as_int(value) is not None:
        return format_size(as_int(value))
    if kind == "bool":
        return "yes" if value is True else "no" if value is False else as_str(value) or "-"
    if kind == "argv" and isinstance(value, list):
        return as_str(shlex.join(str(a) for a in value), 4000) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in as_dict(value).items())[:4000]
    if isinstance(value, list):
        return "; ".join(human("dict", v) for v in value[:50])[:4000]
    return as_str(value, 4000) or "-"


def run_fields(manifest: dict, sizes: dict[str, int | None]) -> dict[str, list]:
    """The record: {"fields": [(label, text)] worth reading first, "more": [(label, text)]
    of how runwrap tracked the run, "unset": [labels] without a value}.

    `sizes` stand in for the log sizes a running run's manifest does not have yet.
    """
    first: list = []
    more: list = []
    unset: list = []
    get = manifest.get
    for group, fields in ((first, RECORD), (more, TRACKING)):
        for key, label, kind in fields:
            value = get(key)
            if value is None:
                value = sizes.get(key)
            if value is None:  # most of a run's fields: said once, at the end
                unset.append(label)
            else:
                # A plain number or word said as it is (human's answer, without its tests).
                plain = kind == "text" and (type(value) is int or type(value) is str)
                text = (as_str(value, 4000) or "-") if plain else human(kind, value)
                if text == "-":
                    unset.append(label)
                else:
                    # "Output truncated: no" says nothing unusual: it folds away.
                    (more if value is False else group).append((label, text))
            if key == "duration_s" and isinstance(get("duration_check"), dict):
                check = describe(manifest["duration_check"])  # against the task's usual
                first.append(("Duration check", as_str(check, 400) or "-"))
    return {"fields": first, "more": more, "unset": unset}


def _tail(text: str | None) -> str:
    """A log's last lines, as many as a screen shows above the fold."""
    lines = (text or "").rstrip().splitlines()[-TAIL_LINES:]
    return "\n".join(lines)[-TAIL_CHARS:]


def _artifacts(rf: files.RunFiles, out_run: str, manifest: dict, keep: set[str]) -> list:
    """The artifact rows of a run page; publishes each file under its escaped name."""
    listed = manifest.get("artifacts")
    rows = []
    for item in listed[:MAX_ARTIFACTS] if isinstance(listed, list) else []:
        if not isinstance(item, dict):
            continue
        raw = item.get("name")
        row = {"name": shown(raw) if isinstance(raw, str) else "?"}
        row.update(size=as_int(item.get("size")), href=None, why=None)
        name = files.safe_rel(raw)
        published = names.publish_name(name) if name is not None else None
        if item.get("symlink"):
            row["why"] = "a symbolic link, not published"
        elif name is None:
            row["why"] = "an unsafe name, not published"
        elif published is None:
            row["why"] = "a name too long to publish"
        elif rf.publish(name, os.path.join(out_run, urls.FILES, published)):
            row["href"] = urls.artifact(published)
            keep.add(f"{urls.FILES}/{published}")
        else:
            row["why"] = "not a regular file in the run directory, not published"
        rows.append(row)
    return rows


def _notifications(attempts: list | None, run_id: str) -> list[dict]:
    """The rows of a run page's notifications: what each notifier was told, and if it got it."""
    rows = []
    for item in (attempts or [])[:200]:
        if not isinstance(item, dict):
            continue
        about = as_str(item.get("run_id"), 100)
        rows.append(
            {
                "notifier": as_str(item.get("notifier"), 200) or "?",
                "type": as_str(item.get("type"), 50),
                "event": as_str(item.get("event"), 50) or "?",
                # A retried notice is about an older run.
                "about": about if about and about != run_id else None,
                "ok": item.get("ok") is True,
                "error": as_str(item.get("error"), 1000),
                "at": as_str(item.get("at"), 40),
            }
        )
    return rows


def run_context(
    task: str,
    run_id: str,
    manifest: dict,
    status: str,
    rf: files.RunFiles,
    out_run: str,
    new: bool = False,
    compared: bool = False,
) -> tuple[SimpleNamespace, set[str]]:
    """The run page's data; publishes its logs and artifacts; returns the files it keeps
    (`new`: out_run was just made, empty; `compared`: a failed run after it says what
    changed since it, so its stderr is read as far as that reads, into rf.tails)."""
    keep = {urls.INDEX}
    failed = status in FAILING
    running = status == RUNNING
    logs = []
    # A failed run's page reads stderr first: that is where a job says what went wrong.
    for name in (STDERR, STDOUT) if failed else (STDOUT, STDERR):
        # A failed run's stderr: read as far as what changed reads it, once (logtail.py).
        reach = READ_BYTES if (failed or compared) and name == STDERR else 0
        tail = rf.tail_and_publish(name, os.path.join(out_run, name), new=new, keep=reach)
        log = {"name": name, "text": None, "size": None, "truncated": False, "href": None}
        if tail is not None:
            log["text"], log["size"], log["truncated"], published = tail
            log["shown"] = len(tail[0].encode("utf-8", "replace"))
            if published:
                log["href"] = urls.in_run(name)
                keep.add(name)
        logs.append(log)
    size = {log["name"]: log["size"] for log in logs}
    sizes = {"stdout_bytes": size[STDOUT], "stderr_bytes": size[STDERR]}
    feedback = as_dict(manifest.get("feedback"))
    run = {
        "task": task,
        "id": run_id,
        "status": status,
        "failed": failed,
        "reason": as_str(manifest.get("reason"), 4000),
        "liveness": as_str(manifest.get("liveness"), 20),
        "progress": progress_of(feedback),
        "duration_flag": flag_of(manifest.get("duration_check")),
        **run_fields(manifest, sizes),
        "tail": None,
        "live": _live(manifest, logs, rf) if running else None,
        "feedback": feedback,
        "labels": as_dict(manifest.get("labels")),
        "logs": logs,
        "artifacts": _artifacts(rf, out_run, manifest, keep),
        "report": rf.read_small(REPORT),
        "notifications": _notifications(rf.notifications(), run_id),
        "changes": None,  # a failed run's: what_changed()
    }
    if failed or running:
        # The first log with something in it: stderr for a failure, stdout while running.
        shown = next((log for log in logs if (log["text"] or "").strip()), None)
        if shown is not None:
            run["tail"] = {**shown, "text": _tail(shown["text"])}
    return _attributes(run), keep


def what_changed(
    runs: files.RunsDir,
    run_id: str,
    manifest: dict,
    against: str | None,
    kept: dict[str, dict],
    base: dict | None = None,
    was: dict | None = None,
    tails: tuple[Tail | None, Tails | None] = (None, None),
) -> dict | None:
    """What changed in a failed run since `against`, the last success before it
    (runwrap/store/whatchanged.py), computed once per run: `kept` is the task's what
    changed by run id, as the build cache holds it (tasks/<task>.pack, not a file per
    run in OUT: a full build would write a thousand more files), and is updated here;
    computed again only when the run or its last success is another.
    `was`: against's manifest if the build read it already; `tails`: the run's stderr as
    its page read it, and the logs read already (whatchanged.compare)."""
    if against is None:
        kept.pop(run_id, None)
        return None
    # The stderrs' sizes as they are, not the manifests' stderr_bytes: a job's detached
    # child may write on after runwrap recorded the run, and a page rendered again (a
    # neighbour came) shows those lines in its tail; against's may say the same lines
    # later, no longer news. A full build says either. (The manifests stand for the
    # rest: a finished run's is never rewritten.)
    now = tails[0]
    size = manifest.get("stderr_bytes") if now is None else now.size
    key = [run_id, against, manifest.get("ended_at"), size, base, _size_of(runs, against)]
    cached = kept.get(run_id)
    if type(cached) is dict and cached.get("key") == key:
        return cached
    if was is None:
        was = runs.manifest(against)
    if was is None:
        kept.pop(run_id, None)
        return None
    changes = compare(
        {**manifest, "run_id": run_id},
        os.path.join(runs.path, run_id),
        {**was, "run_id": against},
        os.path.join(runs.path, against),
        base,
        tails,
    )
    changes["key"] = key
    kept[run_id] = changes
    return changes


def _size_of(runs: files.RunsDir, run_id: str) -> int | None:
    """The size of a run's stderr as it is now (None: there is none)."""
    try:
        return os.lstat(os.path.join(runs.path, run_id, STDERR)).st_size
    except OSError:
        return None


def _attributes(run: dict) -> SimpleNamespace:
    """The run page's data as attributes: Jinja reads `run.status` as an attribute first,
    and on a dict each miss is an AttributeError raised and caught (a third of the render).
    Feedback and labels stay dicts: the page lists their items."""
    ns = SimpleNamespace
    return ns(
        **{
            **run,
            "live": ns(**run["live"]) if run["live"] else None,
            "tail": ns(**run["tail"]) if run["tail"] else None,
            "logs": [ns(**log) for log in run["logs"]],
            "artifacts": [ns(**a) for a in run["artifacts"]],
            "notifications": [ns(**n) for n in run["notifications"]],
        }
    )


def _live(manifest: dict, logs: list[dict], rf: files.RunFiles) -> dict:
    """A running run: how long it has run, as of its last sign of life, and its logs' sizes.

    Not as of the build: a page must be the same whenever it is built from the same
    files (an incremental build renders it only when they change). Its last output or
    heartbeat is when they last changed; a script can count on from `started`.
    """
    started = as_str(manifest.get("started_at"), 40)
    began = parse_iso(started)
    seen = [t for t in (began, parse_iso(manifest.get("heartbeat_at"))) if t is not None]
    for name in (STDOUT, STDERR) if rf.dfd is not None else ():
        try:
            seen.append(os.stat(name, dir_fd=rf.dfd, follow_symlinks=False).st_mtime)
        except OSError:
            pass
    as_of = max(seen, default=None)
    return {
        "started": started if began is not None else None,
        "elapsed": max(0.0, as_of - began) if began is not None and as_of is not None else None,
        "as_of": iso(as_of) if as_of is not None else None,
        "sizes": [(log["name"], log["size"]) for log in logs],
    }


def paginate(runs: list[dict], size: int) -> dict[int, list[dict]]:
    """History pages, numbered from the oldest: {page: its runs, newest first}.

    Runs numbered by runwrap (`seq`, never reused) stay on page
    (seq - 1) // size + 1 for good, even when retention removes older runs;
    without those numbers (older or foreign manifests), by position.
    """
    seqs = [r.get("seq") for r in runs]
    numbered = all(isinstance(n, int) and n >= 1 for n in seqs) and len(set(seqs)) == len(seqs)
    numbers = seqs if numbered else range(1, len(runs) + 1)
    paged: dict[int, list[dict]] = {}
    for number, run in zip(numbers, runs):
        paged.setdefault((number - 1) // size + 1, []).append(run)
    return {page: list(reversed(rows)) for page, rows in paged.items()} or {1: []}


def neighbours(pages: list[int], page: int) -> tuple[int | None, int | None]:
    """(newer, older) page numbers around `page` among the existing `pages` (sorted)."""
    i = pages.index(page)
    return (pages[i + 1] if i + 1 < len(pages) else None, pages[i - 1] if i > 0 else None)


def task_context(cfg: SiteConfig, summary: dict, runs: list[dict], latest: dict | None) -> dict:
    """The task page's data: state, command, labels, description, chart, newest history page."""
    paged = paginate(runs, cfg.page_size)
    newest = max(paged)
    latest = latest or {}
    command = latest.get("command")
    return {
        "task": summary,
        "description": cfg.description(summary["name"]),
        "command": human("argv", command) if isinstance(command, list) else None,
        "labels": as_dict(latest.get("labels")),
        "chart": chart(runs),
        "rows": paged[newest],
        "page": newest,
        "older": neighbours(sorted(paged), newest)[1],
    }


def badge(env: jinja2.Environment, name: str, state: str) -> str:
    """A shields-style SVG badge: task name and state."""
    colours = {"ok": "#1a7f37", "failing": "#cf222e", "running": "#0969da", "late": "#9a6700"}
    label = name if len(name) <= 40 else name[:39] + "…"
    return env.get_template("badge.svg").render(
        label=label,
        value=state,
        colour=colours.get(state, "#6e7781"),
        w1=10 + 7 * len(label),
        w2=10 + 7 * len(state),
    )


def counts(summaries: list[dict]) -> dict:
    """Counts for the dashboard's header line and status.json (the store's rule: the
    buckets partition the tasks, running and late are counted beside them)."""
    return query.totals(
        {"state": s["bucket"], "running": s["running_ids"], "late": s["late"]} for s in summaries
    )


def host_lines(summaries: list[dict], silent: list[dict]) -> list[dict]:
    """Each host's line (the dashboard's "is cron running?" and status.json's `hosts`):
    the store's per-host facts (runwrap.store.hosts.hosts_overview) over the tasks as the
    dashboard shows them; `silent`: the hosts sitegen.read.late.silent() names."""
    from runwrap.store.hosts import hosts_overview

    tasks = [
        (s["host"], parse_iso(s["newest_started"]), s["late"] if s.get("lateness") else None)
        for s in summaries
    ]
    samples = [(c["host"], c["offset_s"], c["at"]) for s in summaries for c in s["clocks"]]
    starts = [(h, parse_iso(t)) for s in summaries for h, t in s["host_starts"].items()]
    lines = hosts_overview(tasks, samples, [h["host"] for h in silent], starts)
    for line in lines:
        line["last_started"] = iso(line["last_started"])
        if line["clock"] is not None:
            line["clock"] = {**line["clock"], "at": iso(line["clock"]["at"])}
    return lines


def status_json(
    cfg: SiteConfig,
    summaries: list[dict],
    hosts: list[dict] | None = None,
    generated_at: str | None = None,
    host_facts: list[dict] | None = None,
) -> dict:
    """The machine-readable state of every task (documented in docs/sitegen.md);
    `generated_at` is when it was written (the dashboard's script polls it)."""
    tasks = {}
    for s in summaries:
        name = s["name"]
        last = s["last"]
        running = s["running"]
        lateness = s.get("lateness")
        tasks[s["name"]] = {
            "state": s["bucket"],
            "shown": s["state"],
            "late": s["late"],
            "late_since": lateness["late_since"] if lateness else None,
            "missed": lateness["missed"] if lateness else 0,
            "next_expected": lateness["next_expected"] if lateness else None,
            "schedule": lateness["schedule"] if lateness else None,
            "last_status": s["last_status"],
            "since": s["since"],
            "runs": s["runs"],
            "success_rate": s["rate"],
            "url": urls.task_page(name),
            "badge": urls.badge(name),
            "host": s["host"],
            "labels": s["labels"],
            "duration": s["duration"],
            "muted": s.get("muted"),  # runwrap mute, or a recurring window in force
            "ack": s.get("ack"),  # runwrap ack of the current failure
            "notes": s.get("notes") or [],
            "last_run": None
            if last is None
            else {
                "run_id": last["id"],
                "status": last["status"],
                "started_at": last["started"],
                "duration_s": last["duration"],
                "duration_flag": last["flag"],
                "stopped_by": last["stopped_by"],  # an operator's kill: who
                "url": urls.run_page(name, last["id"]),
            },
            "running": s["running_ids"],
            "lost": s["lost_ids"],
            "live": None
            if running is None
            else {
                "run_id": running["id"],
                "started_at": running["started"],
                "liveness": running["liveness"],
                "progress": running["progress"],
                "info": running["info"],
            },
        }
    return {
        "schema": 2,
        "generated_at": generated_at,
        "title": cfg.title,
        "totals": counts(summaries),
        "failing": sorted(s["name"] for s in summaries if s["bucket"] == "failing"),
        "late": sorted(n for n, t in tasks.items() if t["late"]),
        "silent_hosts": [h["line"] for h in hosts or ()],
        "hosts": host_facts or [],
        "tasks": tasks,
    }
