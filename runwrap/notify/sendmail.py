"""The sendmail notifier: a mail handed to the machine's own mail program, as cron does.

`sitegen --watch` uses it for `late` notices when a task's only notifier is
the console: a console notice belongs to a process whose output cron mails,
and the watcher's output goes to a journal nobody reads. When cron itself
has died, this is the way a person still hears of it (docs/notifications.md).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.notify.notifiers import Notifier
    from runwrap.notify.sending import Notice

SENDMAIL = "/usr/sbin/sendmail"  # where cron finds it too (Debian, RHEL, the BSDs)


def message(notifier: Notifier, notice: Notice) -> bytes:
    """The mail as sendmail -t reads it: headers, then the body."""
    from email.message import EmailMessage

    mail = EmailMessage()
    mail["To"] = notifier.fields["to"]
    mail["From"] = notifier.fields.get("from") or f"runwrap <root@{os.uname().nodename}>"
    mail["Subject"] = notice.subject
    mail.set_content(notice.body)
    return mail.as_bytes()


def send(notifier: Notifier, notice: Notice, timeout: float) -> None:
    """Pipe the mail to sendmail; raise unless it takes it within the timeout.

    Only sendmail's own exit is waited for (as cron does): a mail program that queues
    the mail and leaves a child holding its output has still taken it.
    """
    import subprocess
    import tempfile

    path = notifier.fields.get("path") or SENDMAIL
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                [path, "-oi", "-t"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        except OSError as e:
            raise RuntimeError(f"cannot run {path}: {e.strerror}") from None
        try:
            proc.communicate(message(notifier, notice), timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"{path} timed out after {timeout:g}s") from None
        if proc.returncode != 0:
            err.seek(0)
            lines = err.read().decode("utf-8", "replace").strip().splitlines()
            last = f": {lines[-1][:200]}" if lines else ""
            raise RuntimeError(f"{path} exited with status {proc.returncode}{last}")
