"""The healthchecks notifier: pings a Healthchecks-compatible check for every run.

Follows the documented ping API: `<url>/start` when the job starts,
`<url>` on success, `<url>/<exit code>` (or `<url>/fail`) on failure, with
the tail of the output as the request body, and a `rid` so that the start
and the end of one run pair up. Healthchecks then raises its own alerts
for runs that never happen, which a wrapper alone cannot see.
Pings are about the moment: one that fails is recorded, not retried.
"""

from __future__ import annotations

import os

from runwrap.store.manifest import FAILING, SKIPPED, SUCCESS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.notify.notifiers import Notifier
    from runwrap.notify.sending import Notice

_BODY_MAX = 100_000  # Healthchecks keeps the first 100 kB of a ping body


def new_rid() -> str:
    """A random UUID (version 4) in text form, without importing uuid."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def ping_suffix(manifest: dict) -> str:
    """The ping URL's suffix for a finished run."""
    status = manifest.get("status")
    if status == SUCCESS:
        return ""
    if status == SKIPPED:
        return "/log"  # logged in the check's events, without changing its state
    code = manifest.get("exit_code")
    if status in FAILING and isinstance(code, int) and 0 < code <= 255:
        return f"/{code}"
    return "/fail"


def ping(url: str, suffix: str, body: str, rid: str | None, timeout: float) -> None:
    """POST one ping; raise unless the server answers 2xx."""
    from runwrap.notify.webhook import post

    target = url + suffix + (f"?rid={rid}" if rid else "")
    data = body.encode("utf-8", "replace")[:_BODY_MAX]
    post(target, data, {"Content-Type": "text/plain; charset=utf-8"}, timeout)


def send(notifier: Notifier, notice: Notice, timeout: float) -> None:
    """The start ping, or the end-of-run ping for the notice's run."""
    rid = notice.item.get("rid")
    if notice.event == "start":
        ping(notifier.fields["url"], "/start", "", rid, timeout)
        return
    c = notice.context
    body = c["summary"] + (f"\n\n{c['output']}" if c["output"] else "")
    suffix = notice.item.get("suffix")  # decided with the task's state (ledger._ping)
    if not isinstance(suffix, str):
        suffix = ping_suffix(notice.manifest)
    ping(notifier.fields["url"], suffix, body, rid, timeout)
