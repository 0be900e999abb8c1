"""The webhook notifier: an HTTP POST of JSON, in our format, Slack's or Discord's.

Slack's `{"text": ...}` is also what Mattermost and Rocket.Chat incoming
webhooks take. Error messages never include the URL: for Slack and
Discord the URL is the secret.
"""

from __future__ import annotations

from runwrap import __version__
from runwrap.store.jsonio import dumps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.notify.config import Notifier
    from runwrap.notify.dispatch import Notice

_DISCORD_MAX = 2000  # Discord refuses longer messages


def body_for(fmt: str, notice: Notice) -> dict:
    """The JSON document sent for a notice in format `fmt`."""
    if fmt == "slack":
        return {"text": f"*{notice.subject}*\n```\n{notice.body.rstrip()}\n```"}
    if fmt == "discord":
        text = f"**{notice.subject}**\n```\n{notice.body.rstrip()}\n```"
        if len(text) > _DISCORD_MAX:
            text = text[: _DISCORD_MAX - 5] + "…\n```"
        return {"content": text}
    return notice.payload


def post(url: str, data: bytes, headers: dict, timeout: float) -> None:
    """POST `data`; raise with a short reason, never the URL, unless the server answers 2xx."""
    import http.client
    import urllib.error
    import urllib.request

    try:
        request = urllib.request.Request(url, data=data, method="POST", headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(64 * 1024)
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise RuntimeError(f"cannot reach the server: {e.reason}") from None
    except (ValueError, http.client.InvalidURL):
        # Their messages quote the URL, which may be the secret.
        raise RuntimeError("the URL is not valid (not shown: it may hold a secret)") from None


def post_json(url: str, document: dict, headers: dict, timeout: float) -> None:
    """POST `document`; raise with a short reason unless the server answers 2xx."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"runwrap/{__version__}",
        **headers,
    }
    post(url, dumps(document).encode("utf-8"), headers, timeout)


def send(notifier: Notifier, notice: Notice, timeout: float) -> None:
    """POST the notice."""
    fields = notifier.fields
    post_json(fields["url"], body_for(fields["format"], notice), fields["headers"], timeout)
