"""runwrap history: a task's past runs, newest first in the order they began.

Order is not time (docs/on-disk.md): runs are listed by `seq`, then run id
(fold.order_key), so a host whose clock jumped back does not reorder them.
That order is kept cheap: run ids are read newest first and the reading
stops once the `limit` runs wanted are certain to be the newest by seq
(see _newest_first); with a sane clock that is after `limit` manifests.

A run whose start is more than a few seconds before that of a run earlier in
its order is marked `clock?` (store/wallclock.py, among the runs listed):
its times are not to be believed.

Like ls, it has its own small parser (`history_main`) for a plain command line:
argparse and every other subcommand's module cost more than reading a
thousand manifests.
"""

from __future__ import annotations

import os
import time

from runwrap.commands import plain_root, plain_words, warn_skipped
from runwrap.commands.display import (
    cell,
    clean,
    fit,
    print_json,
    short_duration,
    table,
    terminal_width,
    timestamp,
    timestamp_once,
    use_colour,
)
from runwrap.errors import ExitCode, RunwrapError
from runwrap.store.fold import run_order
from runwrap.store.jsonio import Unreadable
from runwrap.store.layout import SEQ, run_dir, task_dir
from runwrap.store.lookup import open_regular, read_fd, read_runs, task_runs
from runwrap.store.manifest import FAILING, RUNNING, STATUSES, SUCCESS, judge_run
from runwrap.store.wallclock import clock_doubts
from runwrap.units import parse_duration

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

HEADER = ["RUN ID", "STATUS", "STARTED", "DURATION", "EXIT", "REASON"]
_REASON = 5
COLOR_CHOICES = ("auto", "always", "never")  # as ls's (importing ls would load its reads)
_VALUED = ("--root", "--config", "--limit", "--status", "--since", "--grep", "--color")


def history_main(words: list[str]) -> int | None:
    """`runwrap history TASK [--limit N] [--status S,S] [--since WHEN] [--grep TEXT] [--json]
    [--color WHEN] [--root DIR] [--config FILE]` (words without "history"), or None for
    anything else (--help, a typo, a bad value): argparse then says it as for every
    subcommand."""
    args = plain_args(words)
    if args is None:
        return None
    status = cmd_history(
        plain_root(args["root"], args["config"]),
        args["ref"],
        args["limit"],
        args["status"],
        args["json"],
        since=args["since"],
        color=args["color"],
        grep=args["grep"],
    )
    warn_skipped()
    return status


def plain_args(words: list[str]) -> dict | None:
    """history's words as its argparse parser reads them (the last of each option; the
    statuses of every --status, flat), or None unless every word is plain and valid."""
    plain = plain_words(words, _VALUED)
    if plain is None:
        return None
    given, refs, as_json = plain
    last = {name: values[-1] for name, values in given.items() if values}
    statuses = [w.strip() for value in given["--status"] for w in value.split(",") if w.strip()]
    # Every value checked, not just the last: argparse refuses `--limit x --limit 5`.
    limits = [_count_or_none(value) for value in given["--limit"]] or [20]
    if (
        len(refs) != 1
        or None in limits
        or any(color not in COLOR_CHOICES for color in given["--color"])
        or any(status not in STATUSES for status in statuses)
    ):
        return None
    return {
        "root": last.get("--root"),
        "config": last.get("--config"),
        "ref": refs[0],
        "limit": limits[-1],
        "status": statuses,
        "since": last.get("--since"),
        "grep": last.get("--grep"),
        "json": as_json,
        "color": last.get("--color", "auto"),
    }


def _count_or_none(text: str) -> int | None:
    """--limit's value if plainly a whole number (as parser._count takes it), else None: then
    argparse says what is wrong (or takes what is not plain, 1_000 or a sign)."""
    if not (text.isascii() and text.strip().isdigit()):
        return None
    try:
        return int(text)  # str.strip() takes off \x1c-\x1f, int() does not
    except ValueError:
        return None


def cmd_history(
    root: str,
    ref: str,
    limit: int,
    statuses: list[str] | None,
    as_json: bool,
    since: str | None = None,
    color: str = "auto",
    grep: str | None = None,
) -> int:
    """A task's runs, newest first by seq (runs without a readable manifest are skipped)."""
    # The table is drawn with the collector paused too: its rows are as acyclic as the
    # reads, and its 40 young and 3 older collections were 3% of a 10,000-run history.
    return _acyclic(_history, root, ref, limit, statuses, as_json, since, color, grep)


def _history(
    root: str,
    ref: str,
    limit: int,
    statuses: list[str] | None,
    as_json: bool,
    since: str | None,
    color: str,
    grep: str | None,
) -> int:
    now = time.time()
    since_ts = None if since is None else since_time(since, now)
    task, run_ids = task_runs(root, ref)
    if grep is not None:  # it reads logs (typing, re): loaded only for a --grep
        from runwrap.store.findtext import matches, run_text

    def wanted(run_id: str, m: dict) -> bool:
        if statuses and m["status"] not in statuses:
            return False
        if since_ts is not None:
            started = timestamp(m.get("started_at"))
            if started is None or started < since_ts:
                return False
        if grep is None:
            return True
        # What the dashboard's search finds a run by (store/findtext.py).
        return matches(run_text(task, m, run_dir(root, task, run_id)), grep)

    # A table keeps each run's row, not its manifest: thousands of manifests
    # held at once cost the garbage collector more than reading them did.
    year = time.localtime(now).tm_year  # this year: worked out once per table, not per row

    def keep(run_id: str, m: dict) -> tuple:
        at = timestamp_once(m.get("started_at"))  # for the row and the clock? mark
        return m.get("seq"), at, m if as_json else _row(run_id, m, at, year)

    every = not statuses and since_ts is None and grep is None  # then wanted() is not asked
    picked = _newest_first(root, task, run_ids, None if every else wanted, keep, limit)
    found = [item for _seq, _started, item in picked]
    for i in clock_doubts((i, seq, at) for i, (seq, at, _item) in enumerate(picked)):
        if as_json:
            found[i]["clock_doubt"] = True
        else:
            found[i][2] += " clock?"
    if as_json:
        print_json(found)
        return ExitCode.OK
    if not found:
        asked = [f"with status {','.join(statuses)}"] if statuses else []
        asked += [f"since {since}"] if since else []
        asked += [f"matching {grep!r}"] if grep is not None else []
        print(" ".join([f"no runs of {task}", *asked]))
        return ExitCode.OK
    rows = [HEADER, *found]
    fit(rows, terminal_width(), ((_REASON, 12),))
    paint = use_colour(color)
    colours = [[None] * len(HEADER)] + [_colours(row[1]) for row in found] if paint else None
    print(table(rows, colours))
    return ExitCode.OK


def _newest_first(
    root: str,
    task: str,
    run_ids: list[str],
    wanted: Callable[[str, dict], bool] | None,
    keep: Callable[[str, dict], object],
    limit: int,
) -> list:
    """keep(run id, manifest) of the `limit` newest wanted runs (0: all; wanted None: every
    run), by seq then run id.

    Seqs are given out 1, 2, 3, ... and the task's `seq` file holds the last one
    given. Reading newest run id first, once every seq from some k up to that
    last one has been seen, no unread run can be newer than k: if `limit`
    wanted runs are at k or above, the rest need not be read. A gap (a run
    removed by hand, an unreadable manifest) or a seq beyond the file's only
    means reading on, to every run if need be: slower, never wrong.
    """
    last = _last_seq(root, task)  # after listing the run ids: each one's seq is at most this
    task_path = task_dir(root, task)
    found: list[tuple[tuple[int, str], object]] = []
    seen: dict[int, bool] = {}  # seq -> wanted
    frontier = None if last is None else last + 1  # every seq from frontier to last is seen
    counted = 0  # wanted runs at the frontier or above
    for run_id, manifest in read_runs(root, task, reversed(run_ids)):
        judge_run(manifest, task_path, run_id)
        key = run_order(manifest.get("seq"), run_id)
        take = wanted is None or wanted(run_id, manifest)
        if take:
            found.append((key, keep(run_id, manifest)))
        if frontier is None or not limit:
            continue
        seq = manifest.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq > last or seq in seen:
            frontier = None  # not what the seq file promises: read every run
            continue
        seen[seq] = take
        while frontier - 1 in seen:
            frontier -= 1
            counted += seen[frontier]
        if counted >= limit:
            break
    # By key alone: keys never tie (each holds its run id, and a listing's are unique).
    found.sort(reverse=True)
    return [item for _key, item in (found[:limit] if limit else found)]


def _acyclic(read: Callable[..., object], *args: object) -> object:
    """read(*args) with the cyclic collector paused (as sitegen's one-shot update): each
    manifest read makes a dozen containers and a table keeps a list a row, none in a
    cycle, and the collector walked them again and again (3% of a 10,000-run history)."""
    import gc

    was = gc.isenabled()
    gc.disable()
    try:
        return read(*args)
    finally:
        if was:
            gc.enable()


def _last_seq(root: str, task: str) -> int | None:
    """The last seq given out to a run of the task (its `seq` file), or None if unknown."""
    try:
        fd = open_regular(root, task, SEQ)
    except (OSError, Unreadable):
        return None
    try:
        text = read_fd(fd, 64, SEQ)
    except (OSError, Unreadable):
        return None
    finally:
        os.close(fd)
    try:
        value = int(text.strip() or b"x")
    except ValueError:
        return None
    return value if value >= 0 else None


_DATES = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
_CLOCKS = ("%H:%M:%S", "%H:%M")


def since_time(text: str, now: float) -> float:
    """The moment --since names, as journalctl takes it: an age (2h, -2h, '2h ago', 30m, 1d),
    a local date and time (2026-12-04, 2026-12-04 09:00), a time today (09:00), today, yesterday."""
    words = text.strip()
    midnight = _local_midnight(now)
    if words in ("today", "yesterday"):
        return midnight - 86400 * (words == "yesterday")
    age = words.removesuffix(" ago").strip().removeprefix("-")
    if age and (age[0].isdigit() or age[0] == ".") and "-" not in age and ":" not in age:
        return now - parse_duration(age, f"--since {text!r}")
    for shape in _DATES:
        try:
            return time.mktime(time.strptime(words, shape))  # local time, as typed
        except (ValueError, OverflowError):
            continue
    for shape in _CLOCKS:
        try:
            t = time.strptime(words, shape)
        except ValueError:
            continue
        return midnight + t.tm_hour * 3600 + t.tm_min * 60 + t.tm_sec
    raise RunwrapError(
        f"bad --since {text!r}: use an age (2h, 30m, 1d), a date (2026-12-04, "
        "'2026-12-04 09:00'), a time today (09:00), today or yesterday"
    )


def _local_midnight(now: float) -> float:
    t = time.localtime(now)
    return time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0, 0, 0, -1))


def _started(ts: float | None, year: int) -> str:
    """When a run began, in local time as journalctl shows it: Dec 05 09:04 (the year first
    when it is not `year`, this one; the run id has the seconds)."""
    if ts is None:
        return "-"
    try:
        local = time.localtime(ts)
    except (OverflowError, OSError, ValueError):
        return "-"
    if local.tm_year == year:
        return time.strftime("%b %d %H:%M", local)
    return time.strftime("%Y %b %d %H:%M", local)


def _row(run_id: str, m: dict, started: float | None, year: int) -> list[str]:
    return [
        run_id,  # the directory's name: what `show` takes (a manifest could say otherwise)
        cell(m["status"], 20),
        _started(started, year),
        short_duration(m.get("duration_s")),
        cell(m.get("signal") or m.get("exit_code"), 12),
        clean(m.get("reason") or "", 1000),
    ]


# As ls paints a task's state: red for a failing status, green success, cyan running.
_GREEN, _RED, _CYAN = "32", "31", "36"


def _colours(status: str) -> list[str | None]:
    colour = _GREEN if status == SUCCESS else _CYAN if status == RUNNING else None
    if status in FAILING:
        colour = _RED
    return [None, colour, None, None, None, None]
