"""Sending: every notifier of a run at once, each within its timeout, never raising.

One thread per notifier (its own notices go in order: a failure before its
recovery). The caller waits at most for the longest notifier timeout; a
notifier still busy then is recorded as timed out and left behind (the
threads are daemons, so runwrap's exit does not wait for them).
"""

from __future__ import annotations

import time

from runwrap.notify.message import context, payload, render
from runwrap.store.layout import run_dir
from runwrap.store.manifest import read_manifest
from runwrap.timefmt import iso

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.notify.notifiers import Notifier

_GRACE = 0.25  # for a thread to hand back a result right at its deadline
_MODULES = {
    "console": "console",
    "email": "smtp",
    "webhook": "webhook",
    "command": "command",
    "healthchecks": "healthchecks",
    "apprise": "apprise",
    "sendmail": "sendmail",  # sitegen --watch's own (never configured by name)
}


class Notice:
    """One notice, rendered: what every transport needs."""

    __slots__ = ("body", "context", "event", "item", "manifest", "payload", "subject")

    def __init__(
        self, notifier: Notifier, item: dict, manifest: dict, run_path: str | None, site_url: object
    ) -> None:
        self.item = item
        self.manifest = manifest
        self.event = item["event"]
        info = {**item, "site_url": site_url}
        # Secrets the redact: rules find are masked in every value (the command, the
        # output's last lines) and in what the templates make of them.
        mask = notifier.redactor.text
        c = context(self.event, manifest, run_path, info)
        self.context = {k: mask(v) if isinstance(v, str) else v for k, v in c.items()}
        subject, body = render(notifier.fields, self.context)
        self.subject, self.body = mask(subject), mask(body)
        self.payload = payload(self.context, self.subject, self.body)


def transport(kind: str):  # -> the transport module
    """The module that delivers notices of this type (imported on first use)."""
    from importlib import import_module

    return import_module(f"runwrap.notify.{_MODULES[kind]}")


def _describe(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    if isinstance(error, TimeoutError) and "timed out" not in text:
        text = f"timed out ({text})"
    return " ".join(text.split())[:300]


def _subject_run(item: dict, current: dict, current_path: str, root: str) -> tuple[dict, str]:
    """The manifest and run directory a queued notice is about."""
    run_id = item.get("run_id")
    if run_id == current.get("run_id"):
        return current, current_path
    path = run_dir(root, current.get("task") or "", run_id or "")
    manifest = read_manifest(path)
    if manifest is None:
        # The run was pruned since: say what the queue remembers.
        manifest = {
            "task": current.get("task"),
            "run_id": run_id,
            "host": current.get("host"),
            "status": "failed" if item["event"] == "failure" else "unknown",
        }
    return manifest, path


def attempt(notifier: Notifier, item: dict, ok: bool, error: str | None) -> dict:
    """The record of one delivery attempt, as the manifest and the state keep it."""
    return {
        "notifier": notifier.name,
        "type": notifier.type,
        "event": item["event"],
        "run_id": item.get("run_id"),
        "id": item.get("id"),
        "ok": ok,
        "error": error,
        "at": iso(time.time()),
    }


def _holder(root: str, task: str, usual: object) -> str:
    """For a stuck notice: which run holds the lock, and for how long (newest running run)."""
    from runwrap.store.manifest import RUNNING
    from runwrap.store.query import unfinished_runs
    from runwrap.timefmt import parse_iso
    from runwrap.units import format_duration

    for manifest in reversed(unfinished_runs(root, task)):
        if manifest["status"] == RUNNING:
            began = parse_iso(manifest.get("started_at"))
            age = format_duration(time.time() - began) if began else "?"
            usual_text = f" (usually {format_duration(usual)})" if usual else ""
            return f"{manifest.get('run_id')}, running for {age}{usual_text}"
    return ""


class _Job:
    """The notices of one notifier and what came of them."""

    def __init__(self, notifier: Notifier, items: list[dict]) -> None:
        self.notifier = notifier
        self.items = items
        self.results: list[dict] = []
        self.deadline = 0.0

    def record(self, item: dict, ok: bool, error: str | None) -> None:
        self.results.append(attempt(self.notifier, item, ok, error))

    def run(self, current: dict, current_path: str, root: str, site_url: object) -> None:
        """Send each notice in order until done or out of time."""
        try:
            module = transport(self.notifier.type)
        except Exception as e:  # an optional package gone since the config was checked
            for item in self.items:
                self.record(item, False, _describe(e))
            return
        for item in self.items:
            left = self.deadline - time.monotonic()
            if left <= 0:
                self.record(item, False, f"not tried: out of time ({self.notifier.timeout:g}s)")
                continue
            try:
                manifest, path = _subject_run(item, current, current_path, root)
                if item["event"] == "stuck":
                    task = manifest.get("task") or ""
                    item = {**item, "holder": _holder(root, task, item.get("usual_s"))}
                notice = Notice(self.notifier, item, manifest, path, site_url)
                module.send(self.notifier, notice, left)
            except Exception as e:
                self.record(item, False, _describe(e))
            else:
                self.record(item, True, None)


def start(
    queue: list[tuple[Notifier, list[dict]]],
    manifest: dict,
    run_path: str,
    root: str,
    site_url: object,
) -> list[tuple[_Job, object]]:
    """Start sending every queued notice; console notices are printed before this returns."""
    jobs = [_Job(n, items) for n, items in queue if items]
    now = time.monotonic()
    started: list[tuple[_Job, object]] = []
    for job in jobs:
        job.deadline = now + job.notifier.timeout
        if job.notifier.type == "console":
            continue
        import threading

        thread = threading.Thread(
            target=job.run,
            args=(manifest, run_path, root, site_url),
            name=f"notify-{job.notifier.name}",
            daemon=True,
        )
        thread.start()
        started.append((job, thread))
    # The console prints from this thread: its output must not interleave.
    for job in jobs:
        if job.notifier.type == "console":
            job.run(manifest, run_path, root, site_url)
            started.append((job, None))
    return started


def finish(started: list[tuple[_Job, object]]) -> list[dict]:
    """Wait for the notices started, each at most until its deadline; one record per notice."""
    results: list[dict] = []
    for job, thread in started:
        if thread is not None:
            thread.join(max(0.0, job.deadline + _GRACE - time.monotonic()))
        done = list(job.results)  # a snapshot: a late thread may still append
        results.extend(done)
        if thread is not None and thread.is_alive():
            for item in job.items[len(done) :]:
                error = f"timed out after {job.notifier.timeout:g}s"
                results.append(attempt(job.notifier, item, False, error))
    return results
