"""Which tasks are late now: the clock's part of the site (runwrap.store.lateness).

Nothing here is cached with the runs: lateness changes while no file does, so
every update asks again and re-renders the dashboard, status.json and the task
pages whose answer changed. A long-lived process asks only the tasks whose answer
may have changed: an answer is kept while the task's directory, open/ and
state.json keep their signatures (runwrap replaces state.json, a run's marker
comes and goes; a state.json edited in place leaves the directory as it was),
the task has no unfinished run (its owner may die, which no file shows) and the
clock has not reached the answer's next change (next_change; and the record's
silence: a mute that ends or a recurring window that opens, silence_change; and a mute
dated ahead of this clock that begins, mute_starts).
"""

from __future__ import annotations

import math
import os
import time

from runwrap.store.gathered import gathered_hosts, next_silence
from runwrap.store.lateness import TaskLateness, newest_run_id, silent_hosts
from runwrap.store.layout import SILENCES
from runwrap.store.lookup import open_tasks
from runwrap.store.query import lateness_of as record_lateness
from runwrap.store.query import shown_state, task_record
from runwrap.timefmt import iso, parse_iso
from sitegen import logs
from sitegen.read.sigs import RACY_S
from sitegen.read.values import as_str

log = logs.getLogger(__name__)


def lateness_of(
    root: str, tasks: list[str], now: float | None = None, items: dict | None = None
) -> dict[str, dict]:
    """{task: lateness as JSON, plus its host ("_obj": the TaskLateness itself,
    "_newest": the task's newest run id) for every scheduled task; `items` gets each
    task's (task record, lateness) read (the metrics use them too)."""
    now = time.time() if now is None else now
    found: dict[str, dict] = {}
    # Asked of many tasks (a full build: all): the list's shared look, as query.task_records
    # does it: ROOT/tasks opened once and ROOT/silences looked for once, not once a task.
    many = len(tasks) > 1
    silences = os.path.isdir(os.path.join(root, SILENCES)) if many else None
    tasks_fd = open_tasks(root) if many else None
    try:
        for task in tasks:
            _ask_one(root, task, now, found, items, silences, tasks_fd)
    finally:
        if tasks_fd is not None:
            os.close(tasks_fd)
    return found


def _ask_one(
    root: str,
    task: str,
    now: float,
    found: dict[str, dict],
    items: dict | None,
    silences: bool | None,
    tasks_fd: int | None,
) -> None:
    """lateness_of() for one task, into `found` (and `items`)."""
    try:
        item = task_record(root, task, silences=silences, tasks_fd=tasks_fd)
        lateness, host = record_lateness(root, item, now)  # the read model's
    except Exception:  # an unreadable state is a task without a schedule here
        log.debug("no lateness for %s", task, exc_info=True)
        return
    if items is not None:
        items[task] = (item, lateness)
    if lateness is None:
        return
    record = lateness.as_json()
    # What a file held, shown on pages and in JSON: printable, bounded.
    record["schedule"] = as_str(record["schedule"], 200)
    record["host"] = as_str(host, 200) or ""
    record["_obj"] = lateness
    record["_newest"] = newest_run_id(item["state"], [*item["running"], *item["lost"]])
    found[task] = record


def next_change(found: dict[str, dict], now: float | None = None) -> float | None:
    """When (Unix time) what a page shows of some task's lateness changes next: at its
    next expected run (the time shown moves on), and that run's grace later (missed)."""
    moments = []
    for record in found.values():
        lateness = record["_obj"]
        if lateness.next_expected is not None:
            moments += [lateness.next_expected, lateness.next_expected + lateness.grace_s]
    now = time.time() if now is None else now
    future = [m for m in moments if m > now]
    return min(future) if future else None


def silence_change(item: dict, now: float) -> float | None:
    """When (Unix time) what a task record (query.task_record) says of its silence changes
    with no file changing: the silence in force ends (`now` if it read as in force and is
    over already), or a recurring window opens. A mute given or lifted dates the task's
    directory (store/silences.py), which its signatures see."""
    moments = []
    silence = item.get("silence")
    if type(silence) is dict:
        until = parse_iso(silence.get("until"))
        if until is not None:
            moments.append(max(until, now))
    state = item.get("state")
    if type(state) is dict and state.get("mute_windows"):
        from runwrap.store.silences import next_window  # only where a task has windows

        opens = next_window(state["mute_windows"], now)
        if opens is not None:
            moments.append(opens)
    return min(moments, default=None)


def mute_starts(root: str, now: float) -> float | None:
    """When (Unix time) the first mute in ROOT/silences dated after `now` begins: one
    written on a host whose clock is ahead of this one's (a shared ROOT) holds from its
    `since` (store/silences.silence_of), a moment at which no file changes."""
    from runwrap.store.silences import mutes  # only where ROOT/silences holds some

    found = []
    for mute in mutes(root):
        since, until = parse_iso(mute.get("since")), parse_iso(mute.get("until"))
        if since is not None and until is not None and now < since < until:
            found.append(since)
    return min(found, default=None)


def _until(record: dict | None, item: dict, now: float) -> float:
    """Until when (Unix time) a task's answer stays what it is, its files unchanged: its
    lateness's next change, and its silence's."""
    moments = [silence_change(item, now)]
    if record is not None:  # else no schedule: one comes with a new state.json
        moments.append(next_change({"": record}, now))
    return min((m for m in moments if m is not None), default=math.inf)


class _Kept:
    """A task's answer as a long-lived process keeps it, and what it holds on."""

    __slots__ = ("asked_at", "item", "record", "sigs", "until")

    def __init__(
        self,
        sigs: object,
        until: float,
        asked_at: float,
        item: tuple,
        record: dict | None,
    ) -> None:
        # The task's read.sigs.task_sigs() when asked: state.json's own signature among
        # them (one edited in place keeps the directory's).
        self.sigs = sigs
        self.until = until  # when the answer next changes with no file changing
        self.asked_at = asked_at
        self.item, self.record = item, record


def public(record: dict | None) -> dict | None:
    """A lateness record without what is not JSON."""
    if record is None:
        return None
    return {k: v for k, v in record.items() if not k.startswith("_")}


def silent(found: dict[str, dict]) -> list[dict]:
    """[{host, since, line}] for each host whose scheduled tasks are all late."""
    pairs: list[tuple[str, TaskLateness]] = [(r["host"], r["_obj"]) for r in found.values()]
    hosts = []
    for host, since in silent_hosts(pairs):
        at = iso(since)
        hosts.append(
            {
                "host": host,
                "since": at,
                "line": f"no runs on {host} since {at[11:16]} UTC: is cron running?",
            }
        )
    return hosts


def silent_pushes(root: str) -> list[dict]:
    """[{host, since, line}] for each gathered host that stopped pushing its ROOT."""
    return [
        {
            "host": h["host"],
            "since": iso(h["pushed_at"]),
            "line": f"no push from {h['host']} since {iso(h['pushed_at'])[11:16]} UTC: "
            "its copy is stale, its running runs read as lost",
        }
        for h in gathered_hosts(root, time.time())
        if h["silent"]
    ]


def with_lateness(summary: dict, record: dict | None) -> dict:
    """A copy of a task summary for the templates: its shown state and lateness, and
    for a late task a feed entry (kind "late", dated when it became late) among its changes."""
    shown = dict(summary)
    late = record is not None and record["late"]
    shown["bucket"] = summary["state"]  # what the totals count: failing, ok, never
    shown["late"] = late
    shown["state"] = shown_state(summary["state"], summary["running"] is not None, late)
    shown["lateness"] = public(record)
    if record is not None and record["late"] and record["late_since"] and record["_newest"]:
        missed = record["missed"]
        shown["changes"] = [
            *summary["changes"],
            {
                "task": summary["name"],
                "id": record["_newest"],  # the entry links the last run that happened
                "kind": "late",
                "status": "late",
                "at": record["late_since"],
                "reason": f"{missed} run{'' if missed == 1 else 's'} missed"
                f" (schedule {record['schedule']})",
            },
        ]
    return shown


class LateView:
    """What the site shows of lateness, asked again on every update."""

    def __init__(self) -> None:
        self.shown: dict[str, dict | None] | None = None  # what the pages show now
        self.records: dict[str, dict] = {}  # the latest answer, per scheduled task
        self.changed: set[str] = set()  # tasks whose pages must show a new answer
        self.due: float | None = None  # when (Unix time) some task's lateness changes next
        self._asked: dict[str, dict | None] = {}
        self.items: dict[str, tuple] = {}  # per task: (task record, lateness) asked
        self._kept: dict[str, _Kept] = {}

    def ask(self, root: str, tasks: list[str], sigs: dict | None = None, at: float = 0.0) -> None:
        """Ask the clock again: which tasks are late now, which pages must change.

        `sigs`: each task's read.sigs.task_sigs(), taken at or after `at` and before this:
        a task whose signatures stayed is not asked again while its answer holds."""
        now = time.time()
        self.items, self.records, ask = {}, {}, []
        for task in tasks:
            kept = self._kept.get(task)
            if (
                sigs is None
                or kept is None
                or kept.sigs != sigs[task]
                or not kept.until > now >= kept.asked_at
            ):
                ask.append(task)
                continue
            self.items[task] = kept.item
            if kept.record is not None:
                self.records[task] = kept.record
        asked = lateness_of(root, ask, now, items=self.items)
        self.records.update(asked)
        self._kept = {}
        # A mute dated ahead of this clock begins with no file changing: every kept answer
        # is asked again then, and the one-shot's no-change check ends then (due).
        starts = mute_starts(root, now) if os.path.isdir(os.path.join(root, SILENCES)) else None
        racy = int((at - RACY_S) * 1e9)  # as for the stamp (stamp.py): a change in the
        for task in tasks if sigs is not None else ():  # same tick would keep its mtime
            item = self.items.get(task)
            if item is None or item[0]["running"] or item[0]["lost"]:
                continue  # an unfinished run's owner may die: asked again every time
            if any(sig is not None and sig[0] >= racy for sig in sigs[task]):
                continue
            record = self.records.get(task)
            until = min(_until(record, item[0], now), math.inf if starts is None else starts)
            self._kept[task] = _Kept(sigs[task], until, now, item, record)
        self.records = {t: self.records[t] for t in tasks if t in self.records}  # in order
        # Gathered hosts that stopped pushing (store/gathered.py) change the dashboard
        # with the clock too: under "", which no task is named; and a silence that ends.
        pushes = gathered_hosts(root, now)
        due = [next_change(self.records), next_silence(pushes), starts]
        due += [silence_change(item[0], now) for item in self.items.values()]
        due = [d for d in due if d is not None]
        self.due = min(due, default=None)
        self._asked = {t: public(self.records.get(t)) for t in tasks}
        if pushes:
            self._asked[""] = [h["host"] for h in pushes if h["silent"]]
        before = self.shown or {}
        self.changed = {t for t in tasks if self.shown is None or before.get(t) != self._asked[t]}

    def site_changed(self) -> bool:
        """Whether the dashboard and status.json must show a new answer."""
        return self._asked != self.shown

    def shown_now(self) -> None:
        """The pages show the latest answer."""
        self.shown = self._asked
