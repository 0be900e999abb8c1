"""runwrap check: is any scheduled task late? One line per late task, exit 1, and notices.

A task this user cannot read (lookup.task_problem) may be failing unseen: one
line for it, and exit 2 (ExitCode.UNREADABLE), whatever else holds.

Meant for a crontab line of its own (on another host, say) or a systemd
timer: the runs of a task cannot notice that they stopped happening.
"""

from __future__ import annotations

import time

from runwrap.commands.display import clean, clock, note_lines, push_lines, silence_lines, when
from runwrap.errors import ExitCode, UnreadableError
from runwrap.store.layout import mark_checked
from runwrap.store.lookup import task_names, unreadable_noted
from runwrap.store.query import find_run, lateness_of, task_record


def cmd_check(
    root: str, config: dict, tasks: list[str], notify: list[str] | None, quiet: bool
) -> int:
    """Check every scheduled task (or those named); exit 1 when one is late."""
    named = bool(tasks)
    if named:
        for task in tasks:
            try:
                find_run(root, task)  # NotFoundError (exit 1) for a task that does not exist
            except UnreadableError:
                pass  # there, but not readable: its line below, and exit 2
    now = time.time()
    mark_checked(root)  # sitegen --watch leaves the late notices to a check that runs
    scheduled = []
    late_found = unread = False
    for task in tasks or task_names(root):
        item = task_record(root, task)
        if item.get("unreadable"):
            unread = True  # named while retired, it is not noted: still exit 2
            if not quiet:
                print(f"{clean(task, 64)}: cannot be read ({clean(item['unreadable'], 200)})")
            continue
        lateness, host = lateness_of(root, item, now)
        if lateness is None:
            if named and not quiet:
                print(f"{clean(task, 64)}: no schedule known (give it --schedule or schedule:)")
            continue
        scheduled.append((host, lateness))
        if lateness.late:
            late_found = True
            if not quiet:
                last = when(item["state"].get("last_started_at"), now)
                print(
                    f"{clean(task, 64)}: late since {clock(lateness.late_since, now)}, "
                    f"{lateness.missed} missed (schedule {clean(lateness.expr)}; last run {last})"
                )
                for line in note_lines({"muted": item.get("silence")}, now):
                    print(f"{clean(task, 64)}: {line} (no notice sent)")
        _notify(root, config, task, lateness, item, notify)
    if not quiet:
        for line in silence_lines(scheduled, now) + push_lines(root, now):
            print(line)
    if unread or unreadable_noted():
        return ExitCode.UNREADABLE
    return ExitCode.ATTENTION if late_found else ExitCode.OK


_loaded: dict[tuple, list] = {}


def _notify(root: str, config: dict, task: str, lateness, item: dict, notify) -> None:
    from runwrap.notify import check_late
    from runwrap.notify.notifiers import load_notifiers
    from runwrap.settings import configured_notify, convert
    from runwrap.store.lateness import newest_run_id

    if notify is not None:
        names, implicit = convert("notify", notify, "--"), False
    else:
        names, implicit = configured_notify(config, task)
    key = (tuple(names), implicit)
    if key not in _loaded:
        _loaded[key] = load_notifiers(names, config, implicit=implicit)
    if not _loaded[key]:
        return
    run_id = newest_run_id(item["state"], [*item["running"], *item["lost"]])
    from runwrap.configfile import site_url  # one rule: only the config's own root has pages there

    check_late(root, task, lateness.as_json(), run_id or "", _loaded[key], site_url(root, config))
