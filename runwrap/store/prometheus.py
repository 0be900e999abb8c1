"""Task states in the Prometheus text exposition format (docs/metrics.md).

One `task` label, base units, no run ids. Used by `runwrap --metrics-dir`
(one `<task>.prom` per task for node_exporter's textfile collector) and by
sitegen (OUT/metrics). Only the store is imported: no client library.

Runs by status (`runwrap_task_runs_total`) must only ever go up, although
retention removes runs. So they are counted once each, by run number
(`seq`, never reused): the previous output carries the counts and the run
number they count through (`runwrap_task_runs_counted_through`); a render
adds the finished runs numbered above it, stopping at a run still going
(it is counted when it ends). Counting starts with the runs kept when a
file is first written.
"""

from __future__ import annotations

import os
import time

from runwrap.store.layout import run_dir, runs_dir, task_dir
from runwrap.store.manifest import FINISHED, RUNNING, SKIPPED, STATUSES, read_manifest

PREFIX = "runwrap_task_"
LAST_STATUSES = tuple(s for s in STATUSES if s not in (RUNNING, SKIPPED))
COUNTED = tuple(s for s in STATUSES if s != RUNNING)

# name -> (type, help). Rendered in this order.
FAMILIES = {
    "unreadable": (
        "gauge",
        "1 when this reader cannot read the task (then nothing else is given).",
    ),
    "last_run_start_timestamp_seconds": ("gauge", "When the last run (not skipped) started."),
    "last_run_end_timestamp_seconds": ("gauge", "When the last run (not skipped) ended."),
    "last_run_duration_seconds": ("gauge", "How long the last run (not skipped) took."),
    "last_run_exit_code": ("gauge", "Exit status of the last run (absent when it had none)."),
    "last_run_status": (
        "gauge",
        "1 for the status of the last run (not skipped), 0 for the others.",
    ),
    "last_success_timestamp_seconds": ("gauge", "When the last successful run ended."),
    "last_run_duration_flag": (
        "gauge",
        "1 for slow or fast when the last run was far from the task's usual duration, else 0.",
    ),
    "duration_median_seconds": ("gauge", "Median duration of the recent successful runs."),
    "duration_p95_seconds": ("gauge", "95th percentile of the recent successful runs."),
    "consecutive_failures": ("gauge", "Failing runs in a row."),
    "consecutive_skips": ("gauge", "Runs refused by the overlap guard in a row."),
    "running": ("gauge", "Runs going on now."),
    "runs_total": ("counter", "Finished runs, by status (counted once each, by run number)."),
    "runs_counted_through": ("gauge", "The run number runs_total has counted through."),
    "scheduled": ("gauge", "1 when the task has a schedule (then the next four are given)."),
    "next_run_expected_timestamp_seconds": ("gauge", "When the next run is due to start."),
    "schedule_grace_seconds": ("gauge", "How late a run may start before the task is late."),
    "late": ("gauge", "1 when a due run has not started within its grace."),
    "missed_runs": ("gauge", "Runs due since the task went late that did not start."),
    "muted": ("gauge", "1 while a mute or a recurring window holds the task's notices."),
    "muted_until_timestamp_seconds": ("gauge", "When the silence in force ends."),
    "acknowledged": ("gauge", "1 when an operator acknowledged the current failure."),
}


def escape(value: str) -> str:
    """A label value as the text format writes it."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\n" if nxt == "n" else nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _labels(text: str) -> dict[str, str]:
    """The labels of a sample we wrote: k="v",k="v" (values escaped)."""
    labels, i = {}, 0
    while i < len(text):
        eq = text.index('="', i)
        key = text[i:eq].strip(", ")
        j = eq + 2
        while text[j] != '"':
            j += 2 if text[j] == "\\" else 1
        labels[key] = _unescape(text[eq + 2 : j])
        i = j + 1
    return labels


def previous_counts(text: str) -> dict[str, tuple[dict[str, int], int]]:
    """{task: (runs by status, run number counted through)} from an earlier output."""
    counts: dict[str, dict[str, int]] = {}
    through: dict[str, int] = {}
    for line in text.splitlines():
        if not line.startswith(PREFIX + "runs_"):
            continue
        try:
            head, value = line.rsplit(" ", 1)
            name, _, rest = head.partition("{")
            labels = _labels(rest.rstrip("}"))
            number = int(float(value))
        except (ValueError, IndexError):
            continue  # not a line of ours: start that count afresh
        task = labels.get("task")
        if task is None:
            continue
        if name == PREFIX + "runs_total" and labels.get("status") in COUNTED:
            counts.setdefault(task, {})[labels["status"]] = number
        elif name == PREFIX + "runs_counted_through":
            through[task] = number
    return {task: (counts.get(task, {}), through.get(task, 0)) for task in through}


def _count_runs(root: str, task: str, counts: dict[str, int], through: int):
    """(counts, through) with the finished runs numbered above `through` added."""
    from runwrap.store.jsonio import read_regular
    from runwrap.store.layout import SEQ, list_run_ids

    raw = read_regular(os.path.join(task_dir(root, task), SEQ), 64)
    if through and raw is not None and raw.strip().isdigit() and int(raw) <= through:
        # No run was numbered since: nothing to count, and no need to list every run
        # (a long-lived sitegen renders the metrics on every update).
        return counts, through
    # The runs numbered since `through`, found newest run id first. Run ids are wall
    # times and a clock may step back, so the walk stops only once every number given
    # out since is seen (the seq file says how many), not at the first older one.
    last = int(raw) if raw is not None and raw.strip().isdigit() else None
    wanted = None if last is None else set(range(through + 1, last + 1))
    newer = []
    for run_id in reversed(list_run_ids(root, task)):
        if wanted is not None and not wanted:
            break
        manifest = read_manifest(run_dir(root, task, run_id))
        seq = manifest.get("seq") if isinstance(manifest, dict) else None
        if not isinstance(seq, int) or isinstance(seq, bool) or seq <= through:
            continue
        if wanted is not None:
            wanted.discard(seq)
        newer.append((seq, manifest.get("status")))
    return add_counts(newer, counts, through)


def add_counts(newer: list[tuple[int, object]], counts: dict[str, int], through: int):
    """(counts, through) with the finished runs in `newer` ((run number, status) of
    each run numbered above `through`) added, up to the first one still going."""
    counts = dict(counts)
    for seq, status in sorted(newer):
        if status not in FINISHED:
            break  # still going (or lost, not finalized yet): counted when it ends
        counts[status] = counts.get(status, 0) + 1
        through = seq
    return counts, through


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def task_samples(root: str, task: str, now: float, previous=None, known=None) -> dict[str, list]:
    """{family: [(extra labels, value)]} for one task; `known`: its (task record,
    lateness) as the caller just read them."""
    from runwrap.store.query import duration_view, last_run, lateness_of, task_record
    from runwrap.timefmt import parse_iso

    item = task_record(root, task) if known is None else known[0]
    state = item["state"]
    out: dict[str, list] = {}

    def put(family: str, value: object, **labels: str) -> None:
        number = _number(value)
        if number is not None:
            out.setdefault(family, []).append((labels, number))

    put("unreadable", 1 if item.get("unreadable") else 0)
    if item.get("unreadable"):
        return out  # a zero of failures there would look healthy
    last = last_run(state)  # the read model's: never a skipped tick, a lost run as lost
    if last is not None:
        put("last_run_start_timestamp_seconds", parse_iso(last["started_at"]))
        put("last_run_end_timestamp_seconds", parse_iso(last["ended_at"]))
        put("last_run_duration_seconds", last["duration_s"])
        put("last_run_exit_code", last["exit_code"])
        for status in LAST_STATUSES:
            put("last_run_status", 1 if last["status"] == status else 0, status=status)
    put("last_success_timestamp_seconds", parse_iso(state.get("last_success_ended_at")))
    durations = duration_view(state)  # the read model's baseline (store/durations.py)
    for flag in ("slow", "fast"):
        put("last_run_duration_flag", 1 if durations["flag"] == flag else 0, flag=flag)
    if durations["baseline"] is not None:
        put("duration_median_seconds", durations["baseline"]["median_s"])
        put("duration_p95_seconds", durations["baseline"]["p95_s"])
    put("consecutive_failures", state.get("consecutive_failures", 0))
    put("consecutive_skips", state.get("consecutive_skips", 0))
    put("running", len(item["running"]))
    counts, through = _count_runs(root, task, *(previous or ({}, 0)))
    for status in COUNTED:
        put("runs_total", counts.get(status, 0), status=status)
    put("runs_counted_through", through)
    lateness = lateness_of(root, item, now)[0] if known is None else known[1]
    put("scheduled", 0 if lateness is None else 1)
    if lateness is not None:
        put("next_run_expected_timestamp_seconds", lateness.next_expected)
        put("schedule_grace_seconds", lateness.grace_s)
        put("late", 1 if lateness.late else 0)
        put("missed_runs", lateness.missed)
    # What operators said (the read model's: runwrap mute, a window, runwrap ack).
    muted = item.get("silence")
    put("muted", 1 if muted else 0)
    if muted:
        put("muted_until_timestamp_seconds", parse_iso(muted.get("until")))
    put("acknowledged", 1 if item.get("ack") else 0)
    return out


def _value(number: float) -> str:
    return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)


def render(
    root: str,
    tasks: list[str],
    now: float | None = None,
    previous: str = "",
    known: dict | None = None,
    counted: dict | None = None,
    memo: dict | None = None,
) -> str:
    """The exposition text for `tasks` (families grouped, as the format requires).

    A caller that renders often (a watching sitegen) may pass what it knows already:
    `known` {task: (task record, lateness)} read just now, `counted` {task: (runs by
    status, run number counted through)} from the manifests it read (what a first count
    would read again), and a `memo` dict it keeps between renders (each task's lines,
    and the previous text's counts).
    """
    now = time.time() if now is None else now
    if memo is not None and memo.get("previous", (None,))[0] == previous:
        before = memo["previous"][1]
    else:
        before = previous_counts(previous)
    known, counted = known or {}, counted or {}
    # A task's lines are kept while what they came from stays: the same `known` (the
    # caller asks again when the task's files change), counts and runs/ (a run's birth).
    kept = memo.get("tasks", {}) if memo is not None else {}
    per_task, lines_of = {}, {}
    for task in tasks:
        previous_count = before.get(task, counted.get(task))
        item = known.get(task)
        key = (previous_count, _dir_sig(runs_dir(root, task)))
        old = kept.get(task)
        if item is not None and old is not None and old[0] is item and old[1] == key:
            per_task[task], lines_of[task] = old[2], old[3]
            continue
        per_task[task] = task_samples(root, task, now, previous_count, item)
        lines_of[task] = _task_lines(task, per_task[task])
        if item is not None:
            kept[task] = (item, key, per_task[task], lines_of[task])
    if memo is not None:
        memo["tasks"] = {t: kept[t] for t in tasks if t in kept}
    lines = []
    for family, (kind, text) in FAMILIES.items():
        samples = [line for task in tasks for line in lines_of[task].get(family, ())]
        if not samples:
            continue
        name = PREFIX + family
        lines.append(f"# HELP {name} {text}")
        lines.append(f"# TYPE {name} {kind}")
        lines += samples
    text = "\n".join(lines) + "\n"
    if memo is not None:
        # The next render's previous text is this one, if it was written: what
        # previous_counts() would read back from it, kept.
        memo["previous"] = (text, _counts_in(per_task))
    return text


def _task_lines(task: str, families: dict[str, list]) -> dict[str, list[str]]:
    """{family: its sample lines} of one task."""
    label = f'task="{escape(task)}"'
    out = {}
    for family, samples in families.items():
        name = PREFIX + family
        lines = out[family] = []
        for labels, value in samples:
            extra = "".join(f',{k}="{escape(v)}"' for k, v in labels.items())  # never "task"
            lines.append(f"{name}{{{label}{extra}}} {_value(value)}")
    return out


def _dir_sig(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_nlink, st.st_ino


def _counts_in(per_task: dict[str, dict[str, list]]) -> dict[str, tuple[dict[str, int], int]]:
    counts = {}
    for task, families in per_task.items():
        through = families.get("runs_counted_through")
        if through:
            by_status = {labels["status"]: int(v) for labels, v in families.get("runs_total", [])}
            counts[task] = (by_status, int(through[0][1]))
    return counts


def write_textfile(metrics_dir: str, root: str, task: str) -> None:
    """Atomically replace METRICS_DIR/<task>.prom (node_exporter reads only *.prom files)."""
    from runwrap.store.jsonio import read_regular, write_atomic
    from runwrap.store.state import locked

    path = os.path.join(metrics_dir, f"{task}.prom")

    def write() -> None:
        old = read_regular(path, 1024 * 1024) or b""
        text = render(root, [task], previous=old.decode("utf-8", "replace"))
        os.makedirs(metrics_dir, exist_ok=True)
        # The temp file is .<task>.prom.<pid>.tmp: not *.prom, so never read half-written.
        write_atomic(path, text.encode("utf-8"), fsync=False)

    locked(task_dir(root, task), write)  # two runs of a task must not count one run twice


def after_run(metrics_dir: str, root: str, task: str) -> None:
    """write_textfile() at the end of a run: a failure is one warning, never the run's."""
    try:
        write_textfile(metrics_dir, root, task)
    except OSError as e:
        from runwrap.say import warn

        warn(f"cannot write the metrics of task {task} in {metrics_dir}: {e.strerror or e}")
