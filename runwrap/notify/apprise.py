"""The apprise notifier: Apprise URLs (an optional extra, `runwrap[apprise]`).

Apprise reaches many services from one URL each; it reports only whether
every URL was reached, so the recorded error cannot say more than that.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.notify.notifiers import Notifier
    from runwrap.notify.sending import Notice


def send(notifier: Notifier, notice: Notice, timeout: float) -> None:
    """Notify every URL; raise if any of them failed."""
    import apprise

    client = apprise.Apprise()
    for url in notifier.fields["urls"]:
        if not client.add(url):
            raise RuntimeError("apprise does not understand one of the URLs")
    if not client.notify(title=notice.subject, body=notice.body):
        raise RuntimeError("apprise could not deliver to every URL")
