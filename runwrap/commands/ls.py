"""runwrap ls: every task, failing and late first, and every running run.

The command people type most: it has its own small parser (`ls_main`), since
importing argparse and every other subcommand would triple its time.
"""

from __future__ import annotations

import time

from runwrap.commands import plain_root, plain_words, warn_skipped
from runwrap.commands.display import (
    age,
    ago,
    cell,
    clean,
    due,
    duration,
    fit,
    late_text,
    mapping,
    note_lines,
    print_json,
    push_lines,
    short_age,
    short_duration,
    silence_lines,
    skew_lines,
    table,
    terminal_width,
    timestamp,
    use_colour,
    when,
)
from runwrap.errors import ExitCode
from runwrap.store.fold import FAILING_HEALTH, OK
from runwrap.store.query import (
    SHOWN_ORDER,
    UNREADABLE,
    lateness_of,
    rank,
    task_record,
    task_records,
    view,
)

COLOR_CHOICES = ("auto", "always", "never")
OUTPUTS = ("wide",)
_VALUED = ("--root", "--config", "--color", "--state", "--label", "--host", "--output")


def ls_main(words: list[str]) -> int | None:
    """`runwrap ls [TASK...] [--state S,S] [--label K=V] [--host H] [-o wide] [--json]
    [--color WHEN] [--root DIR] [--config FILE]` (words without "ls").

    None for anything else (--help, a typo, a bad value): argparse then says it as
    for every subcommand.
    """
    args = ls_args(words)
    if args is None:
        return None
    root, config = args.pop("root"), args.pop("config")
    status = cmd_ls(plain_root(root, config), **args)
    warn_skipped()
    return status


def ls_args(words: list[str]) -> dict | None:
    """ls's words as its argparse parser reads them (cmd_ls's arguments, and the last
    --root and --config), or None unless every word is plain and valid."""
    plain = plain_words(words, _VALUED, short="-o")
    if plain is None:
        return None
    given, tasks, as_json = plain
    last = {name: values[-1] for name, values in given.items() if values}
    states = words_of(given["--state"])
    if (
        any(color not in COLOR_CHOICES for color in given["--color"])
        or any(state not in SHOWN_ORDER for state in states)
        or any(output not in OUTPUTS for output in given["--output"])
        or any(not label or label.startswith("=") for label in given["--label"])
    ):
        return None
    return {
        "root": last.get("--root"),
        "config": last.get("--config"),
        "as_json": as_json,
        "color": last.get("--color", "auto"),
        "tasks": tasks,
        "states": states,
        "labels": given["--label"],
        "hosts": words_of(given["--host"]),
        "wide": bool(given["--output"]),
    }


def words_of(values: list[str]) -> list[str]:
    """'failing,late' given once or more, as a list of words."""
    return [word.strip() for value in values for word in value.split(",") if word.strip()]


def _labelled(labels: object, wanted: list[str]) -> bool:
    """Whether a task's labels hold every K=V (or key K) asked for."""
    have = mapping(labels)
    for want in wanted:
        key, eq, value = want.partition("=")
        if key not in have or (eq and clean(have[key], 1000) != value):
            return False
    return True


def cmd_ls(
    root: str,
    as_json: bool,
    color: str = "auto",
    tasks: list[str] | None = None,
    states: list[str] | None = None,
    labels: list[str] | None = None,
    wide: bool = False,
    hosts: list[str] | None = None,
) -> int:
    """Every task (or the ones named) with its last status and schedule, and its running runs."""
    now = time.time()
    scheduled = []
    listed = []
    for record in _records(root, tasks):
        lateness, host = lateness_of(root, record, now)
        if lateness is not None:
            scheduled.append((host, lateness))
        shown = view(record, None if lateness is None else lateness.as_json())
        if states and shown["shown"] not in states:
            continue
        if labels and not _labelled(shown["labels"], labels):
            continue
        if hosts and shown["host"] not in hosts:
            continue
        listed.append((shown, record, lateness))
    if as_json:  # by name, as scripts have always had it
        # The view as every surface has it, and each running run's manifest in full.
        print_json([{**v, "running_runs": record["running"]} for v, record, _ in listed])
        return ExitCode.OK
    if not listed:
        asked = tasks or states or labels or hosts
        print("no such tasks" if asked else f"no tasks under {root}")
        return ExitCode.OK
    listed.sort(key=lambda pair: (rank(pair[0]["shown"]), pair[0]["task"]))
    paint = use_colour(color)
    width = terminal_width()
    draw = _wide_rows if wide else _rows
    rows, colours = draw(listed, now)
    if not wide:
        fit(rows, width, ((0, 12),))  # a long task name gives way first
    print(table(rows, colours if paint else None))
    if not (tasks or states or labels or hosts):  # a question about all of the tasks
        for line in silence_lines(scheduled, now) + push_lines(root, now):
            print(line)
    for line in skew_lines([s for _v, record, _l in listed for s in record.get("clocks", ())]):
        print(line)
    for v, _record, _lateness in listed:
        for line in note_lines(v, now):  # muted, acknowledged: said under the table
            print(f"{clean(v['task'], 64)}: {line}")
    running = [m for _v, record, _lateness in listed for m in record["running"]]
    if running:
        print()
        header = _RUNNING_WIDE if wide else _RUNNING_HEADER
        draw_run = _running_wide_row if wide else _running_row
        run_rows = [header] + [draw_run(m, now) for m in running]
        if not wide:
            fit(run_rows, width, ((0, 16), (4, 12), (0, 8), (4, 4)))
        print(table(run_rows))
    return ExitCode.OK


def _records(root: str, tasks: list[str] | None) -> list[dict]:
    """The read model's records of the tasks named (each must exist), else of every task."""
    if not tasks:
        return task_records(root)
    from runwrap.store.lookup import task_exists
    from runwrap.store.tasknames import check_read_name

    for task in tasks:
        task_exists(root, check_read_name(task))
    return [task_record(root, task) for task in dict.fromkeys(tasks)]


_HEADER = ["TASK", "STATUS", "SINCE", "LAST RUN", "DURATION", "RUNNING", "NEXT"]


def _rows(listed: list, now: float) -> tuple[list[list[str]], list[list[str | None]]]:
    """The 80-column table: short relative times, as kubectl and systemctl list-timers."""
    rows = [list(_HEADER)]
    colours: list[list[str | None]] = [[None] * len(_HEADER)]
    for v, record, lateness in listed:
        last = v["last_run"] or {}
        rows.append(
            [
                clean(v["task"], 64),
                cell(v["status"] if v["unreadable"] is None else v["state"], 12),
                ago(v["since"], now),
                ago(last.get("started_at"), now),
                _flagged(v, short_duration(last.get("duration_s"))),
                _running_short(record["running"], now),
                _next_short(lateness, now),
            ]
        )
        colours.append(_paint(v, 1, 5, 6))
    return rows, colours


def _wide_rows(listed: list, now: float) -> tuple[list[list[str]], list[list[str | None]]]:
    """`-o wide`: every column, with clock times, as ls showed before it fitted 80 columns."""
    with_labels = any(mapping(v["labels"]) for v, _record, _lateness in listed)
    header = ["TASK", "STATUS", "SINCE", "LAST RUN", "DURATION", "RUNNING", "NEXT", "LATE"]
    rows = [header + ["LABELS"] * with_labels]
    colours: list[list[str | None]] = [[None] * len(rows[0])]
    for v, record, lateness in listed:
        last = v["last_run"] or {}
        row = [
            clean(v["task"], 64),
            cell(v["status"] if v["unreadable"] is None else v["state"], 20),
            when(v["since"], now),
            when(last.get("started_at"), now),
            _flagged(v, duration(last.get("duration_s"))),
            _running_cell(record["running"], now),
            "-" if lateness is None else due(lateness.next_expected, now),
            "-" if lateness is None else late_text(lateness, now),
        ]
        if with_labels:
            row.append(_labels_cell(v["labels"]))
        rows.append(row)
        colours.append(_paint(v, 1, 5, 7) + [None] * with_labels)
    return rows, colours


# SGR colours: red for failing, yellow for late, cyan for running, green for ok.
_FAILING, _LATE, _RUNNING, _OK = "31", "33", "36", "32"
_STATUS_COLOUR = {FAILING_HEALTH: _FAILING, UNREADABLE: _FAILING, OK: _OK}


def _paint(v: dict, status: int, running: int, late: int) -> list[str | None]:
    """A row's colours: STATUS by the task's state, RUNNING cyan, the lateness yellow."""
    colour: list[str | None] = [None] * (late + 1)
    colour[status] = _STATUS_COLOUR.get(v["state"])
    colour[running] = _RUNNING if v["running"] else None
    colour[late] = _LATE if v["late"] else None
    return colour


def _flagged(v: dict, shown: str) -> str:
    """The last run's duration, with "slow" or "fast" when it was far from the usual."""
    flag = v["duration"]["flag"]
    return f"{shown} {flag}" if flag else shown


def _running_short(runs: list[dict], now: float) -> str:
    """'3m12s' (the oldest run's elapsed time), '2x 5m' for two at once; '-' for none."""
    if not runs:
        return "-"
    started = timestamp(runs[0].get("started_at"))  # oldest first (openruns.py)
    elapsed = "?" if started is None else short_duration(max(0.0, now - started))
    return elapsed if len(runs) == 1 else f"{len(runs)}x {elapsed}"


def _next_short(lateness, now: float) -> str:
    """'in 3m' when on time, 'late 18m' (since the first missed run) when late, '-' unscheduled."""
    if lateness is None:
        return "-"
    if lateness.late and lateness.late_since is not None:
        return f"late {short_age(now - lateness.late_since)}"
    if lateness.next_expected is None:
        return "-"
    if lateness.next_expected < now:  # due this moment, within its grace
        return "due"
    return f"in {short_age(lateness.next_expected - now)}"


def _running_cell(runs: list[dict], now: float) -> str:
    """'running 3 min 12 s' (the oldest run's elapsed time), '2 running, oldest 5 min'."""
    if not runs:
        return "-"
    elapsed = age(runs[0].get("started_at"), now)  # oldest first (openruns.py)
    return f"running {elapsed}" if len(runs) == 1 else f"{len(runs)} running, oldest {elapsed}"


def _labels_cell(labels: object) -> str:
    """env=prod,team=db: a job's config may hold anything, so every part is cleaned."""
    pairs = sorted(mapping(labels).items(), key=lambda pair: pair[0])
    # Each value cleaned first: str() of a deeply nested one would raise (clean() does not).
    return clean(",".join(f"{clean(k)}={clean(v)}" for k, v in pairs), 40) if pairs else "-"


_RUNNING_HEADER = ["RUNNING", "RUN ID", "AGE", "LIVENESS", "INFO"]
_RUNNING_WIDE = ["RUNNING", "RUN ID", "PID", "AGE", "LIVENESS", "HEARTBEAT", "PROGRESS", "INFO"]


def _running_row(m: dict, now: float) -> list[str]:
    """One running run, short: its progress leads its info ('40% half way')."""
    feedback = mapping(m.get("feedback"))
    progress = feedback.get("progress")
    info = [] if progress is None else [f"{clean(progress, 8)}%"]
    if feedback.get("info") is not None:
        info.append(clean(feedback.get("info"), 200))
    started = timestamp(m.get("started_at"))
    return [
        cell(m.get("task"), 64),
        cell(m.get("run_id"), 32),
        "-" if started is None else short_duration(max(0.0, now - started)),
        cell(m.get("liveness") or _lease(m), 12),
        " ".join(info) or "-",
    ]


def _lease(m: dict) -> str | None:
    """For a run whose owner this host cannot check (store/manifest.judge_run): its lease's
    age, where a liveness word would claim what cannot be known."""
    seconds = m.get("lease_age_s")
    return None if seconds is None else f"lease {short_duration(seconds)}"


def _running_wide_row(m: dict, now: float) -> list[str]:
    """One running run in ls -o wide: every field coerced (a job may have written any)."""
    feedback = mapping(m.get("feedback"))
    progress = feedback.get("progress")
    heartbeat = age(m.get("heartbeat_at"), now)
    return [
        cell(m.get("task"), 64),
        cell(m.get("run_id"), 32),
        cell(m.get("pid") or None, 12),
        age(m.get("started_at"), now),
        cell(m.get("liveness") or _lease(m), 12),
        "-" if heartbeat == "-" else f"{heartbeat} ago",
        "-" if progress is None else f"{clean(progress, 8)}%",
        cell(feedback.get("info")),
    ]
