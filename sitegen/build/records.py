"""The build cache's records: what an update knows of one run, and of one task.

A `RunRecord` is kept per run in the task cache (tasks/<task>.pack) and, for the
runs not settled yet, in summary.pack; a `TaskEntry` is summary.pack's entry
for a task. site.py makes and reads them, cache.py writes and loads them (as
objects with the keys below, packed; checked on the way in when not packed by
sitegen), stamp.py copies what
the no-change check needs out of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sitegen.render.model import TASK_SUMMARY, is_run_summary, is_task_summary

RUN_KEYS = frozenset({"sig", "sum", "settled", "bad"})
ENTRY_KEYS = frozenset({"sig", "pending", "summary", "record"})


def _ints(value: object) -> bool:
    return value is None or (type(value) is list and all(type(i) is int for i in value))


@dataclass(slots=True)
class RunRecord:
    """One run as the last update read it."""

    sig: list[int] | None  # the run directory's signature (sigs.py); None: no manifest yet
    summary: dict | None  # model.summarize() of its manifest; None: no usable manifest
    settled: bool  # final and recorded by runwrap: never looked at again
    bad: list[int] | None = None  # the signature of an unusable manifest, warned about once

    @property
    def running(self) -> bool:
        """Whether the run was running when read."""
        return self.summary is not None and self.summary["status"] == "running"

    def to_json(self) -> dict:
        """The cache file's form: {"sig", "sum", "settled"[, "bad"]}."""
        data = {"sig": self.sig, "sum": self.summary, "settled": self.settled}
        if self.bad is not None:
            data["bad"] = self.bad
        return data

    @classmethod
    def from_json(cls, run_id: str, data: object) -> RunRecord | None:
        """The record a cache file holds for run_id, or None when sitegen did not write it."""
        if type(data) is not dict or not {"sig", "sum", "settled"} <= data.keys() <= RUN_KEYS:
            return None
        run_sum, bad = data["sum"], data.get("bad")
        if not (
            type(data["settled"]) is bool
            and _ints(data["sig"])
            and _ints(bad)
            and (run_sum is None or (_is_run_sum(run_sum) and run_sum["id"] == run_id))
        ):
            return None
        return cls(data["sig"], run_sum, data["settled"], bad)


def _is_run_sum(run_sum: object) -> bool:
    """model.summarize()'s shape: RUN_SUMMARY's keys, and "job" besides for a run retried
    until it succeeded (its last attempt's seconds, a number or null)."""
    if type(run_sum) is dict and "job" in run_sum:
        if type(run_sum["job"]) not in (float, type(None)):
            return False
        run_sum = {k: v for k, v in run_sum.items() if k != "job"}
    return is_run_summary(run_sum)


def runs_from_json(runs: object, trusted: bool = False) -> dict[str, RunRecord] | None:
    """{run_id: RunRecord} from a cache file's {run_id: record}, None if one is not ours;
    `trusted`: the file is sealed as sitegen wrote it (cache.py), not checked again."""
    if type(runs) is not dict:
        return None
    if trusted:
        return {
            run_id: RunRecord(d["sig"], d["sum"], d["settled"], d.get("bad"))
            for run_id, d in runs.items()
        }
    records = {}
    for run_id, data in runs.items():
        rec = RunRecord.from_json(run_id, data)
        if rec is None:
            return None
        records[run_id] = rec
    return records


def runs_to_json(runs: dict[str, RunRecord]) -> dict[str, dict]:
    """The cache file's form of {run_id: RunRecord}."""
    return {run_id: rec.to_json() for run_id, rec in runs.items()}


@dataclass(slots=True)
class TaskEntry:
    """A task as the last update left it (summary.pack keeps one per task)."""

    sig: list[int] | None  # its runs/ directory's signature when read
    pending: dict[str, RunRecord]  # the runs not settled yet: the only ones looked at again
    summary: dict  # model.task_summary(): what the dashboard shows of it
    record: list  # what of the read model's record its pages show (site._record_key)

    @property
    def busy(self) -> bool:
        """Whether one of its runs was running."""
        return any(rec.running for rec in self.pending.values())

    @classmethod
    def trusted(cls, task: str, data: dict) -> TaskEntry:
        """summary.pack's entry for a task, from a file sealed as sitegen wrote it.

        The seal is a digest, not a secret (a script can pack a file with a valid one):
        its shape is still asked, cheaply (each part's type, the summary's keys), or a
        TypeError sends the caller to from_json's checks, which reject it."""
        pending = runs_from_json(data["pending"], trusted=True)
        summary = data["summary"]
        if not (
            pending is not None
            and type(summary) is dict
            and summary.keys() == TASK_SUMMARY.keys()
            and summary["name"] == task
            and type(data["record"]) is list
        ):
            raise TypeError("not the shape sitegen writes")
        return cls(data["sig"], pending, data["summary"], data["record"])  # type: ignore[arg-type]

    @classmethod
    def from_json(cls, task: str, data: object) -> TaskEntry | None:
        """summary.pack's entry for a task, or None when sitegen did not write it."""
        if type(data) is not dict or data.keys() != ENTRY_KEYS:
            return None
        pending = runs_from_json(data["pending"])
        summary, record = data["summary"], data["record"]
        if (
            pending is None
            or type(record) is not list
            or not _ints(data["sig"])
            or not is_task_summary(summary)
            or summary["name"] != task
        ):
            return None
        return cls(data["sig"], pending, summary, record)
