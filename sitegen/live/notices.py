"""`late` notices from `sitegen --watch`, the process that runs all the time.

A task's runs cannot notice that they stopped happening; `runwrap check`
(from cron or a timer) can, and so can the watcher, which asks the clock on
every update anyway. The notices go through runwrap's own notifier machinery
(runwrap.notify.check_late) with the same nospam memory (the task's
notify.json, under its state lock): one `late` notice per notifier when a task
becomes late, whichever of the watcher and `runwrap check` sees it first.

A console notice is never the watcher's: the console belongs to a process
whose output cron mails (`runwrap`, `runwrap check`), and the watcher's goes
to a journal. So the watcher sends through the task's other notifiers, and
where the console is all a task has (the default), it mails the notice
itself through the machine's sendmail, the way cron mails, to `mail_to`
(`site:` in the config; default `root`, "" for none): when cron has died,
`runwrap check` cannot run, and this is how a person still hears of it.
Whoever told a notifier the task was late tells it the recovery; for the
watcher's mail that is the watcher, when the task is on time again. This
module is the only part of sitegen that imports runwrap.notify
(docs/architecture.md).

The notices go out from a thread of their own: a notifier that takes its
whole timeout (a webhook that does not answer) never holds up the site's
next update.
"""

from __future__ import annotations

import logging
import os
import threading

from runwrap.configfile import load_config_file
from runwrap.store.layout import checked_within
from sitegen.errors import one_line

log = logging.getLogger(__name__)

# Held while a notice is being sent. A full build forks its workers (workers.py):
# a fork waits for the send in flight to end, so that no worker is born holding a
# copy of a task's state lock, or of a lock the sender held mid-send.
_sending = threading.Lock()
_SENDER = "late-notices"  # the sender thread's name


def _before_fork() -> None:
    if threading.current_thread().name != _SENDER:  # the sender's own subprocesses
        _sending.acquire()


def _after_fork() -> None:
    if threading.current_thread().name != _SENDER:
        _sending.release()


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork)


MAILER = "sitegen-mail"  # the watcher's own notifier: its nospam memory in notify.json
# While `runwrap check` runs (from cron), its console notice reaches a person through
# cron's mail: the watcher mails only once no check has run for this long (cron died).
CHECK_FRESH_S = 3600.0


def mail_to(config: dict) -> str:
    """Where the watcher mails late notices of tasks that have only the console."""
    site = config.get("site")
    value = site.get("mail_to", "root") if isinstance(site, dict) else "root"
    return value.strip() if isinstance(value, str) else "root"


def _mailer(to: str):
    from runwrap.notify.notifiers import Notifier

    return Notifier(MAILER, "sendmail", on=("late", "recovery"), fields={"to": to})


class LateNotices:
    """Sends each late task's notices once; its memory is runwrap's notify.json."""

    def __init__(self, root: str, config_file: str | None, site_url: str | None) -> None:
        self.root = root
        self.config = load_config_file(config_file) if config_file else {}
        self.site_url = site_url
        self.mail_to = mail_to(self.config)
        self._notifiers: dict[str, list] = {}
        # The tasks late at the last send (None before the first: then every task is asked,
        # so a recovery a restarted watcher owes is not forgotten).
        self._told_late: set[str] | None = None
        self._told: set[str] = set()  # the tasks a problem was logged for (once each)
        self._wake = threading.Condition()
        self._pending: dict[str, dict] | None = None  # the newest late records not yet handled
        self._closing = False
        self._thread: threading.Thread | None = None

    def _for(self, task: str) -> list:
        """The task's notifiers as `runwrap check` finds them (loaded once per task)."""
        if task not in self._notifiers:
            from runwrap.notify.notifiers import load_notifiers
            from runwrap.settings import configured_notify

            names, implicit = configured_notify(self.config, task)
            notifiers = load_notifiers(names, self.config, implicit=implicit)
            kept = [n for n in notifiers if n.type != "console"]
            if notifiers and not kept and self.mail_to:
                kept = [_mailer(self.mail_to)]
            self._notifiers[task] = kept
        return self._notifiers[task]

    def send(self, records: dict[str, dict]) -> None:
        """Hand the late tasks among `records` (sitegen.read.late's, per task) to the sender.

        Only the newest records wait: the nospam memory makes each notice go once,
        however many updates found the task late meanwhile.
        """
        # Late tasks, and those the watcher told were late that are on time again (their
        # recovery: the run that ended the lateness told only its own notifiers).
        told = self._told_late
        late = {t: dict(r) for t, r in records.items() if r["late"] or told is None or t in told}
        self._told_late = {t for t, r in records.items() if r["late"]}
        if not late:
            return
        with self._wake:
            self._pending = late
            self._wake.notify()
        if self._thread is None:
            self._thread = threading.Thread(target=self._sender, name=_SENDER, daemon=True)
            self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Send what waits, then stop the sender (at most `timeout` seconds)."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def _sender(self) -> None:
        while True:
            with self._wake:
                while self._pending is None and not self._closing:
                    self._wake.wait()
                late, self._pending = self._pending, None
            if late is None:
                return
            self._deliver(late)

    def _deliver(self, late: dict[str, dict]) -> None:
        from runwrap.notify import check_late

        for task, record in sorted(late.items()):
            try:
                lateness = {k: v for k, v in record.items() if not k.startswith("_")}
                notifiers = self._for(task)
                if record["late"] and checked_within(self.root, CHECK_FRESH_S):
                    # (A recovery still goes to the mailer that told the lateness.)
                    notifiers = [n for n in notifiers if n.name != MAILER]
                if notifiers:
                    with _sending:
                        attempts = check_late(
                            self.root,
                            task,
                            lateness,
                            record["_newest"] or "",
                            notifiers,
                            self.site_url,
                        )
                    for failed in (a for a in attempts if not a["ok"]):
                        # Said once per task and notifier (retried at every update, and
                        # recorded in notify.json): no mail program, a receiver down.
                        key = f"{task}:{failed['notifier']}"
                        if key not in self._told:
                            self._told.add(key)
                            log.warning(
                                "cannot send the %s notice of %s through %s: %s",
                                failed["event"],
                                task,
                                failed["notifier"],
                                failed["error"],
                            )
            except Exception as e:  # a bad notifier config, a lock that failed: keep watching
                if task not in self._told:
                    self._told.add(task)
                    log.warning("cannot send the late notice of %s: %s", task, one_line(e))
                log.debug("late notice of %s failed", task, exc_info=True)
