"""The console notifier: the notice on runwrap's stdout, which cron mails to MAILTO.

runwrap prints nothing else on stdout (the job's output goes to its run
directory), so cron sends a mail exactly when a notice is printed.
"""

from __future__ import annotations

import sys

from runwrap.visible import visible

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.notify.notifiers import Notifier
    from runwrap.notify.sending import Notice


def send(notifier: Notifier, notice: Notice, timeout: float) -> None:
    """Print the subject and the body, the job's control characters shown, not obeyed.

    Cron mails this, and mail is often read in a terminal (mutt, mail(1)): an
    escape sequence in the job's stderr must not set its title or clipboard.
    """
    sys.stdout.write(visible(f"{notice.subject}\n\n{notice.body.rstrip()}\n\n"))
    sys.stdout.flush()
