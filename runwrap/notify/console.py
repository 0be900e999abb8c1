"""The console notifier: the notice on runwrap's stdout, which cron mails to MAILTO.

runwrap prints nothing else on stdout (the job's output goes to its run
directory), so cron sends a mail exactly when a notice is printed.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.notify.config import Notifier
    from runwrap.notify.dispatch import Notice


def send(notifier: Notifier, notice: Notice, timeout: float) -> None:
    """Print the subject and the body."""
    sys.stdout.write(f"{notice.subject}\n\n{notice.body.rstrip()}\n\n")
    sys.stdout.flush()
